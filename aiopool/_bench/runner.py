"""Measure: one window of one client on one workload, and rounds of every client in turn.

A measurement sets the client up, starts the workload's tasks, lets them run
through a warm-up, then records for ``duration`` seconds (wall clock and
process CPU read at both edges of that window only), then stops the tasks and
tears the client down. Within each round the clients take turns in a fixed
order (A B C, A B C, ...), so slow drifts of the machine touch them all alike;
the report uses the median of the rounds. A reference program
(``redis-benchmark``) takes its turn like a client but measures itself.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .adapters import (
    DEFAULT_AUTO_CONNECTIONS,
    Adapter,
    AiopoolAdapter,
    AiopoolResp3Adapter,
    AutoPipelineAdapter,
    AutoPipelineResp3Adapter,
    BareAdapter,
    Contender,
    probe,
)
from .bare import BareConnection
from .cached import (
    AiopoolCacheAdapter,
    AutoPipelineCacheAdapter,
    CoredisCacheAdapter,
    GlideCacheAdapter,
)
from .others import CoredisAdapter, GlideAdapter, RedisPyAdapter
from .progress import Progress
from .reference import RedisBenchmarkReference
from .stats import Sample, Summary, cpu_seconds, percentile_us, summarize
from .target import Target
from .workloads import Recorder, Window, Workload, preload, task_loops

__all__ = [
    "ADAPTERS",
    "CONTENDERS",
    "RESP3_VARIANTS",
    "BenchResult",
    "ClientInfo",
    "Row",
    "Settings",
    "factory",
    "measure",
    "run_bench",
    "take_sample",
    "with_protocols",
]

# The order here is the order of turns within a round, and of rows in the table.
ADAPTERS: dict[str, type[Contender]] = {
    cls.name: cls
    for cls in (
        AiopoolAdapter,
        AutoPipelineAdapter,
        AiopoolCacheAdapter,
        AutoPipelineCacheAdapter,
        BareAdapter,
        RedisPyAdapter,
        CoredisAdapter,
        CoredisCacheAdapter,
        GlideAdapter,
        GlideCacheAdapter,
        RedisBenchmarkReference,
    )
}
# ``--protocol both``: each aiopool row of RESP2 gets its RESP3 twin right after it.
RESP3_VARIANTS: dict[str, type[Contender]] = {
    "aiopool": AiopoolResp3Adapter,
    "aiopool-auto": AutoPipelineResp3Adapter,
}
CONTENDERS: dict[str, type[Contender]] = {
    **ADAPTERS,
    **{cls.name: cls for cls in RESP3_VARIANTS.values()},
}

# How long stopped tasks may take to finish their last operation.
_STOP_TIMEOUT = 30.0


@dataclass(frozen=True)
class Settings:
    """How long and how often to measure: ``duration`` and ``warmup`` in seconds."""

    duration: float
    warmup: float
    rounds: int


@dataclass(frozen=True)
class ClientInfo:
    """A client asked for: its version when it can run, else why it cannot."""

    name: str
    version: str | None
    skipped: str | None


@dataclass
class Row:
    """One client on one workload: the summary of its rounds, or why there is none."""

    workload: Workload
    client: str
    status: str = "ok"  # "ok", "skipped" or "error"
    reason: str = ""
    note: str = ""
    hidden: bool = False  # skipped by design, left out of the text table
    samples: list[Sample] = field(default_factory=list)

    @property
    def summary(self) -> Summary | None:
        """The median of the rounds measured so far (None before the first)."""
        return summarize(self.samples) if self.samples and self.status == "ok" else None


@dataclass
class BenchResult:
    """Everything one run produced, in table order (workload, then client)."""

    settings: Settings
    clients: list[ClientInfo]
    rows: list[Row]
    server_version: str
    seconds: float = 0.0


def _first_failure(tasks: Sequence[asyncio.Task[None]]) -> BaseException | None:
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            return task.exception()
    return None


async def _stop(tasks: Sequence[asyncio.Task[None]], window: Window) -> None:
    window.stopped = True
    _, pending = await asyncio.wait(tasks, timeout=_STOP_TIMEOUT)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
    failure = _first_failure(tasks)
    if failure is not None:
        raise failure
    if pending:
        raise TimeoutError(f"{len(pending)} task(s) did not finish within {_STOP_TIMEOUT}s")


async def measure(
    make: Callable[[Target], Adapter], target: Target, workload: Workload, settings: Settings
) -> Sample:
    """Run ``workload`` on a fresh adapter from ``make`` and return the measured window.

    A task that fails stops the measurement and its exception propagates,
    after the other tasks stopped and the client was torn down.
    """
    gc.collect()
    adapter = make(target)
    window = Window()
    out = Recorder(workload.tasks if workload.kind == "checkout" else 0)
    adapter.attach(window, out)
    try:
        await adapter.setup(workload)
        tasks = [asyncio.create_task(loop) for loop in task_loops(workload, adapter, window, out)]
        try:
            await asyncio.sleep(settings.warmup)
            if (failure := _first_failure(tasks)) is not None:
                raise failure
            counts_start = adapter.cache_counts()
            cpu_start, start = cpu_seconds(), time.perf_counter()
            window.recording = True
            await asyncio.sleep(settings.duration)
            window.recording = False
            seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu_start
            counts_end = adapter.cache_counts()
            completed = len(out.latencies)
            out.close(time.perf_counter_ns())
        finally:
            await _stop(tasks, window)
    finally:
        await adapter.teardown()
    latencies = sorted(out.latencies)
    waits = sorted(out.waits)
    return Sample(
        ops=completed * workload.batch,
        seconds=seconds,
        cpu=cpu,
        p50_us=percentile_us(latencies, 0.5),
        p99_us=percentile_us(latencies, 0.99),
        mean_us=sum(latencies) / len(latencies) / 1000 if latencies else 0.0,
        payload=workload.value_size if workload.reports_mb else 0,
        wait_p50_us=percentile_us(waits, 0.5) if waits else None,
        wait_p99_us=percentile_us(waits, 0.99) if waits else None,
        hold_mean_us=(
            sum(out.holds) / len(out.holds) / 1000 if out.holds and adapter.checks_out else None
        ),
        served=out.served if workload.kind == "checkout" else None,
        cache_hit_pct=_hit_pct(counts_start, counts_end),
    )


def _hit_pct(start: tuple[int, int] | None, end: tuple[int, int] | None) -> float | None:
    """Hits per lookup between two ``cache_counts()``, in percent (None: no counts)."""
    if start is None or end is None or end[1] <= start[1]:
        return None
    return (end[0] - start[0]) / (end[1] - start[1]) * 100


async def take_sample(
    make: Callable[[Target], Contender], target: Target, workload: Workload, settings: Settings
) -> Sample:
    """One measurement of ``make``'s contender: the task loops' for an adapter, else its own."""
    contender = make(target)
    if isinstance(contender, RedisBenchmarkReference):
        return await contender.sample(workload, settings.duration, settings.warmup)
    if not isinstance(contender, Adapter):
        raise TypeError(f"{contender!r} is neither an adapter nor a reference program")
    adapter: Adapter = contender
    return await measure(lambda _: adapter, target, workload, settings)


def factory(
    name: str, auto_connections: int = DEFAULT_AUTO_CONNECTIONS, protocol: int = 2
) -> Callable[[Target], Contender]:
    """What makes the contender ``name``: its class, with the options given on the command line.

    ``protocol`` is that of the ``aiopool`` and ``aiopool-auto`` rows; the
    RESP3 twins and the cache rows always speak RESP3.
    """
    cls = CONTENDERS[name]
    options: dict[str, Any] = {}
    if cls in (AutoPipelineAdapter, AutoPipelineResp3Adapter, AutoPipelineCacheAdapter):
        options["connections"] = auto_connections
    if cls in (AiopoolAdapter, AutoPipelineAdapter):
        options["protocol"] = protocol
    return functools.partial(cls, **options) if options else cls


def with_protocols(names: Sequence[str], protocol: str) -> list[str]:
    """``names`` with, for ``protocol == "both"``, the RESP3 twin after each aiopool row."""
    out: list[str] = []
    for name in names:
        out.append(name)
        if protocol == "both" and name in RESP3_VARIANTS:
            out.append(RESP3_VARIANTS[name].name)
    return out


async def prepare_server(target: Target, workloads: Sequence[Workload]) -> str:
    """SET every key the workloads read; return the server's ``redis_version``."""
    conn = await BareConnection.open(target.options)
    try:
        info = await conn.execute("INFO", "server")
        text = info.decode(errors="replace") if isinstance(info, bytes) else str(info)
        version = next(
            (
                line.split(":", 1)[1].strip()
                for line in text.splitlines()
                if "redis_version:" in line
            ),
            "?",
        )
        for key, value in preload(workloads):
            await conn.execute("SET", key, value)
    finally:
        await conn.aclose()
    return version


async def cleanup_server(target: Target, workloads: Sequence[Workload]) -> None:
    """Delete every key the workloads used (the tool never flushes a database)."""
    keys = [key for w in workloads for key in w.all_keys()]
    conn = await BareConnection.open(target.options)
    try:
        for start in range(0, len(keys), 500):
            await conn.execute("DEL", *keys[start : start + 500])
    finally:
        await conn.aclose()


def client_infos(names: Sequence[str]) -> list[ClientInfo]:
    """Probe each named client: version, or why it is skipped (not installed)."""
    infos = []
    for name in names:
        version, why_not = probe(CONTENDERS[name])
        infos.append(ClientInfo(name, version, f"skipped: {why_not}" if why_not else None))
    return infos


async def run_bench(
    target: Target,
    workloads: Sequence[Workload],
    client_names: Sequence[str],
    settings: Settings,
    progress: Progress,
    auto_connections: int = DEFAULT_AUTO_CONNECTIONS,
    protocol: int = 2,
) -> BenchResult:
    """Measure every workload with every client, ``settings.rounds`` times each, in turns.

    ``auto_connections`` is the ``auto_pipeline_connections`` of ``aiopool-auto``
    (and ``aiopool-cache-auto``); ``protocol`` that of ``aiopool`` and ``aiopool-auto``.
    """
    started = time.perf_counter()
    clients = client_infos(client_names)
    server_version = await prepare_server(target, workloads)
    rows: list[Row] = []
    plan: list[tuple[Workload, list[tuple[Callable[[Target], Contender], Row]]]] = []
    for workload in workloads:
        turns: list[tuple[Callable[[Target], Contender], Row]] = []
        for info in clients:
            make = factory(info.name, auto_connections, protocol)
            row = Row(workload, info.name)
            rows.append(row)
            contender = make(target)
            why_not = info.skipped or contender.unsupported(workload)
            if why_not:
                row.status, row.reason = "skipped", why_not
                row.hidden = contender.quiet_skips and not contender.runs(workload)
            else:
                row.note = contender.note(workload)
                turns.append((make, row))
        plan.append((workload, turns))
        progress.add(len(turns) * settings.rounds)
    try:
        for workload, turns in plan:
            for round_ in range(1, settings.rounds + 1):
                for make, row in turns:
                    progress.step(f"{workload.name} round {round_}/{settings.rounds} {row.client}")
                    if row.status != "ok":
                        continue
                    try:
                        row.samples.append(await take_sample(make, target, workload, settings))
                    except Exception as exc:
                        row.status, row.reason = "error", f"error: {type(exc).__name__}: {exc}"
    finally:
        progress.done()
        await cleanup_server(target, workloads)
    return BenchResult(settings, clients, rows, server_version, time.perf_counter() - started)
