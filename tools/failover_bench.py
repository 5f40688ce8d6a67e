"""A Sentinel failover under a write load, through aiopool and through redis-py, side by side.

    python tools/failover_bench.py                      # kill -9 of the primary, 20 writers
    python tools/failover_bench.py --scenario both --tasks 40 --rounds 2

For each client and round: a fresh ``aiopool.testing.RedisSentinel`` (a
primary, 2 replicas, 3 sentinels on loopback; ``down-after-milliseconds``
1000), ``--tasks`` tasks each writing unique keys one after the other, then
``kill -9`` of the primary (``--scenario kill``) or ``SENTINEL FAILOVER``
(``failover``) one second in; the load runs on until two seconds after the
failover is over. Printed per run:

- announce->write: from the first ``+switch-master`` any sentinel published
  to the first write acknowledged after it;
- error window: first to last failed command; errors by type;
- lost: writes the client saw acknowledged that the new primary does not
  have (asynchronous replication, or a demoted primary that went on
  acknowledging writes), read from the servers afterwards.

redis-py is its asyncio ``Sentinel(...).master_for(service)`` with its
defaults (its own retries included), the same timeouts and pool size.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis.asyncio.sentinel as redis_sentinel  # noqa: E402
import redis.exceptions  # noqa: E402

import aiopool  # noqa: E402
from aiopool.testing import RedisSentinel  # noqa: E402
from tests.integration.sentinel_support import SwitchWatcher, WriteLoad, missing_on  # noqa: E402

POOL_SIZE = 20
COMMAND_TIMEOUT = 2.0


@dataclass
class Result:
    client: str
    scenario: str
    acked: int
    failed: int
    kinds: dict[str, int]
    announce_to_write_ms: float | None
    window_ms: float | None
    lost: int
    failover_s: float

    def row(self) -> str:
        a2w = "-" if self.announce_to_write_ms is None else f"{self.announce_to_write_ms:.0f}"
        window = "-" if self.window_ms is None else f"{self.window_ms:.0f}"
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.kinds.items())) or "-"
        return (
            f"{self.client:<9} {self.scenario:<8} {self.failover_s:>8.2f} {a2w:>10} "
            f"{window:>9} {self.acked:>7} {self.failed:>6} {self.lost:>5}  {kinds}"
        )


HEADER = (
    f"{'client':<9} {'scenario':<8} {'failover':>8} {'ann->w ms':>10} {'window ms':>9} "
    f"{'acked':>7} {'failed':>6} {'lost':>5}  errors"
)


async def aiopool_client(kit: RedisSentinel) -> tuple[Any, Any, tuple[type[BaseException], ...]]:
    client = aiopool.Client.from_url(
        kit.url, max_size=POOL_SIZE, command_timeout=COMMAND_TIMEOUT, acquire_timeout=3.0
    )
    return client, client.aclose, (aiopool.RedisError,)


async def redis_py_client(kit: RedisSentinel) -> tuple[Any, Any, tuple[type[BaseException], ...]]:
    sentinel = redis_sentinel.Sentinel(  # type: ignore[no-untyped-call]
        kit.sentinel_addresses, socket_timeout=1.0, socket_connect_timeout=1.0
    )
    client = sentinel.master_for(
        kit.service_name,
        socket_timeout=COMMAND_TIMEOUT,
        socket_connect_timeout=1.0,
        max_connections=POOL_SIZE,
    )

    async def close() -> None:
        await client.aclose()
        for s in sentinel.sentinels:
            await s.aclose()

    # redis-py's pool raises its own ConnectionError when all max_connections are busy.
    return client, close, (redis.exceptions.RedisError, OSError)


async def run(name: str, scenario: str, tasks: int) -> Result:
    kit = RedisSentinel(down_after_ms=1000, failover_timeout_ms=5000)
    await asyncio.to_thread(kit.start)
    try:
        make = aiopool_client if name == "aiopool" else redis_py_client
        client, close, errors = await make(kit)
        try:
            load = WriteLoad(client.set, errors, tasks=tasks, pause=0.01, prefix=name)
            async with SwitchWatcher(kit) as watcher:
                load.start()
                await asyncio.sleep(1.0)
                old = kit.primary
                began = time.monotonic()
                if scenario == "kill":
                    kit.kill(old)
                    await asyncio.to_thread(kit.wait_for_failover, old, 60)
                else:
                    await asyncio.to_thread(kit.failover, 60)
                failover_s = time.monotonic() - began
                announced, _ = await watcher.wait(10)
                await asyncio.sleep(2.0)
                await load.stop()
        finally:
            await close()
        lost = await missing_on(kit, list(load.acked))
    finally:
        await asyncio.to_thread(kit.stop)
    first = load.first_success_after(announced)
    window = load.error_window()
    return Result(
        client=name,
        scenario=scenario,
        acked=len(load.acked),
        failed=len(load.failed),
        kinds=load.error_kinds(),
        announce_to_write_ms=None if first is None else (first - announced) * 1000,
        window_ms=None if window is None else (window[1] - window[0]) * 1000,
        lost=len(lost),
        failover_s=failover_s,
    )


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=["kill", "failover", "both"], default="kill")
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args(argv)
    scenarios = ["kill", "failover"] if args.scenario == "both" else [args.scenario]
    results = []
    for _ in range(args.rounds):
        for scenario in scenarios:
            for name in ("aiopool", "redis-py"):
                result = await run(name, scenario, args.tasks)
                print(result.row(), flush=True)
                results.append(result)
    print(f"\n{args.tasks} writers, pool {POOL_SIZE}, command timeout {COMMAND_TIMEOUT}s")
    print("failover: seconds from the kill (or SENTINEL FAILOVER) to a settled new primary")
    print(HEADER)
    for result in results:
        print(result.row())
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
