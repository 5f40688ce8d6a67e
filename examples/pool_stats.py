"""Watch a small pool under a burst: 500 tasks share 4 connections.

Two phases, each on a fresh ``Pool(max_size=4)``:

* ``burst``: every task runs a few commands, borrowing a connection for each
  one and giving it straight back. The tasks queue (FIFO) for the four
  connections; nobody should time out, and almost all of the latency is the
  wait in line, not Redis.
* ``overload``: the same, but each task keeps its connection for a few
  milliseconds after every reply (work done while holding a connection: what
  not to do). Tasks at the back of the line wait longer than
  ``acquire_timeout``, get ``PoolTimeout`` and give up; no connection was
  touched for them, so the pool stays healthy.

A sampler prints the pool's counts every 50 ms while a phase runs; each phase
ends with a summary, and the last lines are one-line summaries to quote.
Options: ``--tasks``, ``--ops``, ``--max-size``, ``--acquire-timeout``,
``--hold-ms`` (see ``--help``). Only keys under ``aiopool:example:`` are
touched; they are deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from _support import event_loop_name, redis_url_or_throwaway, run

import aiopool

PREFIX = "aiopool:example:pool_stats:"
SAMPLE_EVERY = 0.05
PHASE_TIME_LIMIT = 60.0


@dataclass(frozen=True, slots=True)
class Settings:
    tasks: int
    ops: int
    max_size: int
    acquire_timeout: float
    hold_ms: float


@dataclass(slots=True)
class Phase:
    """What one phase measured; every latency in seconds."""

    name: str
    hold: float
    total: list[float] = field(default_factory=list)  # asking for a connection -> reply
    wait: list[float] = field(default_factory=list)  # asking -> connection in hand
    round_trip: list[float] = field(default_factory=list)  # command written -> reply
    replies: Counter[str] = field(default_factory=Counter)
    peak_waiting: int = 0
    in_use_samples: list[int] = field(default_factory=list)
    timed_out_tasks: int = 0
    first_timeout: str = ""
    wall: float = 0.0
    before_close: aiopool.PoolStats | None = None
    after_close: aiopool.PoolStats | None = None


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of ``values`` (0.0 when there are none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def commands(task: int, ops: int) -> list[tuple[Any, ...]]:
    """The commands task number ``task`` runs, in order."""
    key = f"{PREFIX}{task}"
    cycle: list[tuple[Any, ...]] = [
        ("SET", key, f"value-{task}", "EX", 60),
        ("GET", key),
        ("INCR", f"{PREFIX}counter"),
        ("STRLEN", key),
    ]
    return [cycle[i % len(cycle)] for i in range(ops)]


async def worker(pool: aiopool.Pool, task: int, ops: int, phase: Phase) -> None:
    clock = time.perf_counter
    for args in commands(task, ops):
        # stats() is a cheap synchronous snapshot: fine to call on the hot path.
        phase.peak_waiting = max(phase.peak_waiting, pool.stats().waiting)
        asked = clock()
        try:
            async with pool.acquire() as conn:
                got = clock()
                await conn.execute(*args)
                replied = clock()
                if phase.hold:
                    await asyncio.sleep(phase.hold)
        except aiopool.PoolTimeout as exc:
            # Nothing was sent and no connection was touched: give up cleanly.
            phase.timed_out_tasks += 1
            phase.first_timeout = phase.first_timeout or str(exc)
            return
        phase.replies[args[0]] += 1
        phase.wait.append(got - asked)
        phase.round_trip.append(replied - got)
        phase.total.append(replied - asked)


async def sampler(pool: aiopool.Pool, started: float, phase: Phase) -> None:
    """Print the pool's counts every SAMPLE_EVERY seconds until cancelled."""
    for _ in range(int(PHASE_TIME_LIMIT / SAMPLE_EVERY) + 1):
        await asyncio.sleep(SAMPLE_EVERY)
        s = pool.stats()
        phase.peak_waiting = max(phase.peak_waiting, s.waiting)
        phase.in_use_samples.append(s.in_use)
        print(
            f"  t={time.perf_counter() - started:6.3f}s  in_use={s.in_use} idle={s.idle} "
            f"size={s.size} waiting={s.waiting:<4d} acquired={s.acquired:<6d} "
            f"timeouts={s.timeouts}"
        )


async def run_phase(url: str, settings: Settings, phase: Phase) -> None:
    pool = aiopool.Pool.from_url(
        url, max_size=settings.max_size, acquire_timeout=settings.acquire_timeout
    )
    print(f"\n== phase {phase.name}: {settings.tasks} tasks x {settings.ops} commands, {pool!r}")
    if phase.hold:
        print(f"   each task holds its connection {phase.hold * 1000:g} ms after every reply")
    async with pool, asyncio.timeout(PHASE_TIME_LIMIT):
        started = time.perf_counter()
        watch = asyncio.create_task(sampler(pool, started, phase))
        try:
            async with asyncio.TaskGroup() as group:
                for task in range(settings.tasks):
                    group.create_task(worker(pool, task, settings.ops, phase))
        finally:
            watch.cancel()
        phase.wall = time.perf_counter() - started
        phase.before_close = pool.stats()
    phase.after_close = pool.stats()


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def report(phase: Phase, settings: Settings) -> str:
    """Print the phase's summary block; return its one-line summary."""
    before, after = phase.before_close, phase.after_close
    assert before is not None
    assert after is not None
    done = len(phase.total)
    rate = done / phase.wall if phase.wall else 0.0
    print(f"\n-- {phase.name} summary --")
    rows = [
        ("commands completed", f"{done} of {settings.tasks * settings.ops} ({_mix(phase)})"),
        ("wall time", f"{phase.wall:.3f} s"),
        ("throughput", f"{rate:,.0f} commands/s"),
        (
            "latency ask->reply",
            f"p50 {ms(percentile(phase.total, 50))}  p99 {ms(percentile(phase.total, 99))}  "
            f"max {ms(max(phase.total, default=0.0))}",
        ),
        (
            "  waiting for a conn",
            f"p50 {ms(percentile(phase.wait, 50))}  p99 {ms(percentile(phase.wait, 99))}",
        ),
        (
            "  round trip on it",
            f"p50 {ms(percentile(phase.round_trip, 50))}  "
            f"p99 {ms(percentile(phase.round_trip, 99))}",
        ),
        ("peak waiting", f"{phase.peak_waiting} tasks"),
        ("mean in_use", f"{_mean_in_use(phase)} of max_size={settings.max_size} (sampled)"),
        (
            "pool timeouts",
            f"{before.timeouts} (tasks that gave up: {phase.timed_out_tasks} of {settings.tasks})",
        ),
        ("acquired", f"{before.acquired}"),
        (
            "connections",
            f"created {before.created}, closed {before.closed} while running, "
            f"{after.closed} after aclose(); connect errors {before.connect_errors}",
        ),
        ("pool at the end", f"size={before.size} in_use={before.in_use} idle={before.idle}"),
    ]
    for label, value in rows:
        print(f"  {label:<20} {value}")
    if phase.first_timeout:
        print(f"  first PoolTimeout:   {phase.first_timeout}")
    return (
        f"{phase.name}: {done} commands in {phase.wall:.3f} s = {rate:,.0f} commands/s; "
        f"ask->reply p50 {ms(percentile(phase.total, 50))}, "
        f"p99 {ms(percentile(phase.total, 99))}; peak waiting {phase.peak_waiting}; "
        f"timeouts {before.timeouts}; connections created {before.created}, "
        f"closed {after.closed}"
    )


def _mean_in_use(phase: Phase) -> str:
    samples = phase.in_use_samples
    return f"{sum(samples) / len(samples):.2f}" if samples else "n/a (no samples)"


def _mix(phase: Phase) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(phase.replies.items()))


async def server_version(url: str) -> str:
    async with aiopool.Client.from_url(url, max_size=1) as client:
        info = await client.info("server")
    return str(info.get("redis_version", "?"))


async def cleanup(url: str, tasks: int) -> int:
    keys = [f"{PREFIX}{task}" for task in range(tasks)] + [f"{PREFIX}counter"]
    async with aiopool.Client.from_url(url, max_size=1) as client:
        removed = 0
        for start in range(0, len(keys), 1000):
            removed += await client.delete(*keys[start : start + 1000])
    return removed


async def main(settings: Settings) -> None:
    async with redis_url_or_throwaway() as url:
        print(
            f"event loop {event_loop_name()}; redis {await server_version(url)}; "
            f"max_size={settings.max_size}, acquire_timeout={settings.acquire_timeout}s"
        )
        phases = [Phase("burst", 0.0), Phase("overload", settings.hold_ms / 1000)]
        try:
            for phase in phases:
                await run_phase(url, settings, phase)
        finally:
            removed = await cleanup(url, settings.tasks)
        lines = [report(phase, settings) for phase in phases]
        print(f"\n(removed {removed} example keys)\n== quotable ==")
        for line in lines:
            print(line)


def parse_args() -> Settings:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--tasks", type=int, default=500, help="concurrent tasks (500)")
    parser.add_argument("--ops", type=int, default=10, help="commands per task (10)")
    parser.add_argument("--max-size", type=int, default=4, help="pool max_size (4)")
    parser.add_argument(
        "--acquire-timeout", type=float, default=0.25, help="pool acquire_timeout, s (0.25)"
    )
    parser.add_argument(
        "--hold-ms",
        type=float,
        default=5.0,
        help="overload phase: ms each task holds its connection after a reply (5)",
    )
    ns = parser.parse_args()
    if not (1 <= ns.tasks <= 100_000 and 1 <= ns.ops <= 1000):
        parser.error("--tasks must be 1..100000 and --ops 1..1000")
    return Settings(ns.tasks, ns.ops, ns.max_size, ns.acquire_timeout, ns.hold_ms)


if __name__ == "__main__":
    settings = parse_args()
    run(lambda: main(settings))
