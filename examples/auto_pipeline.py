"""The same 200 tasks in both client modes: a pool per command, then auto-pipelining.

Each task runs SET then GET on its own key, ``--ops`` times. The plain mode
borrows a connection for every command; with ``auto_pipeline=True`` the
commands of all tasks share two connections and are written together once
per event-loop turn. For each mode the example prints the throughput, how
many connections the server saw, and (auto mode) how many commands went out
per write. Then, in auto mode: a BLPOP that blocks on a connection of its own
while GETs keep flowing, and a cancelled call whose reply never reaches
anyone else. Only keys under ``aiopool:example:auto:`` are touched and they
are deleted at the end. Options: ``--tasks``, ``--ops``.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from _support import event_loop_name, redis_url_or_throwaway, run

import aiopool

PREFIX = "aiopool:example:auto:"
TIME_LIMIT = 60.0
# A script that keeps the server busy for 200 ms (DEBUG SLEEP is off by default).
SPIN_200_MS = """
local t = redis.call('TIME')
local start = t[1] * 1000000 + t[2]
repeat
    t = redis.call('TIME')
until t[1] * 1000000 + t[2] - start > 200000
return 1
"""


async def workload(r: aiopool.Client, tasks: int, ops: int) -> float:
    """Run the tasks; return commands per second. Every reply is checked."""

    async def one(i: int) -> None:
        key, value = f"{PREFIX}{i}", f"value-{i}"
        for _ in range(ops):
            await r.set(key, value)
            reply = await r.get(key)
            assert reply == value.encode(), f"task {i} got {reply!r}, not its own value"

    started = time.perf_counter()
    async with asyncio.timeout(TIME_LIMIT):
        await asyncio.gather(*(one(i) for i in range(tasks)))
    return 2 * tasks * ops / (time.perf_counter() - started)


async def mode(url: str, name: str, tasks: int, ops: int, **options: object) -> float:
    async with aiopool.Client.from_url(url, max_size=50, **options) as r:
        rate = await workload(r, tasks, ops)
        stats = r.pool.stats()
        line = f"{name:>14}: {rate:>9,.0f} commands/s, {stats.created} connection(s) opened"
        auto = r.auto_pipeline_stats()
        if auto is not None:
            line += f", {auto.commands / max(auto.writes, 1):.1f} commands per write"
        print(line)
        return rate


async def auto_mode_tour(url: str) -> None:
    async with aiopool.Client.from_url(url, auto_pipeline=True, max_size=4) as r:
        await r.set(f"{PREFIX}x", "x")
        # A blocking command gets a connection of its own: the GETs flow meanwhile.
        blpop = asyncio.create_task(r.blpop([f"{PREFIX}queue"], timeout=1))
        await asyncio.sleep(0.05)
        started = time.perf_counter()
        replies = await asyncio.gather(*(r.get(f"{PREFIX}x") for _ in range(1000)))
        took = time.perf_counter() - started
        print(f"1000 GETs while BLPOP blocks: {took * 1000:.0f} ms, all b'x': {set(replies)}")
        print("BLPOP after its 1 s timeout ->", await blpop)

        # Cancelled after its command was written: the reply is read and dropped,
        # and the shared connection stays in step (no connection was closed).
        slow = asyncio.create_task(r.eval(SPIN_200_MS))
        await asyncio.sleep(0.05)
        slow.cancel()
        print("GET after a cancelled call ->", await r.get(f"{PREFIX}x"))
        print(r.auto_pipeline_stats())
        print(r.pool.stats())
        await r.delete(*[f"{PREFIX}{i}" for i in range(200)], f"{PREFIX}x")


async def main(url: str, tasks: int, ops: int) -> None:
    print(f"{tasks} tasks x {ops} x (SET + GET) on {event_loop_name()}")
    plain = await mode(url, "pool", tasks, ops)
    auto = await mode(url, "auto_pipeline", tasks, ops, auto_pipeline=True)
    print(f"auto_pipeline / pool: {auto / plain:.2f}x")
    await auto_mode_tour(url)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--ops", type=int, default=100)
    args = parser.parse_args()

    async def start() -> None:
        async with redis_url_or_throwaway() as url:
            await main(url, args.tasks, args.ops)

    run(start)


if __name__ == "__main__":
    cli()
