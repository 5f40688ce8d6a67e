"""Run N sequential SET/GET pairs on one task, through aiopool or the bare baseline.

For counting instructions per command through the whole client (pool
checkout, connection, read path, reply transform), which stays steady on a
noisy machine where timings do not:

    valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        python tools/command_cost.py aiopool 10000      # minus the same with 0
    ... python tools/command_cost.py bare 10000
    ... python tools/command_cost.py auto 10000         # auto_pipeline=True
    ... python tools/command_cost.py otel 10000         # aiopool.otel.instrument()ed
    ... python tools/command_cost.py aiopool 10000 3    # over RESP3 (protocol=3)
    ... python tools/command_cost.py cached 10000 3     # cache=True: every SET drops, GET misses

(instructions(N) - instructions(0)) / (2 * N) is the cost per command; the
ratio of aiopool's to bare's is the client's CPU overhead per command. The
tool starts its own throwaway ``redis-server`` (callgrind does not follow it)
and runs the default asyncio loop (uvloop's C code would be counted too, but
is the same for every client). The optional third argument is the protocol
(2, the default, or 3; ``bare`` speaks RESP2 only).
"""

from __future__ import annotations

import asyncio
import sys

from aiopool import Client
from aiopool._bench.bare import BareConnection
from aiopool._config import ConnectionOptions
from aiopool.testing import RedisServer


async def run(mode: str, count: int, url: str, protocol: int = 2) -> None:
    value = b"x" * 100
    if mode == "bare":
        conn = await BareConnection.open(ConnectionOptions(host="127.0.0.1", port=port(url)))
        for _ in range(count):
            await conn.set("k", value)
            await conn.get("k")
        return
    # cached: each SET drops the entry, each GET misses: the cache's cost on its worst path.
    cache = {"cache": True} if mode == "cached" else {}
    async with Client.from_url(
        url, max_size=3, auto_pipeline=mode == "auto", protocol=protocol, **cache
    ) as client:
        if mode == "otel":  # metrics to an in-memory reader, as an SDK app would record them
            from opentelemetry.sdk.metrics import MeterProvider
            from opentelemetry.sdk.metrics.export import InMemoryMetricReader

            from aiopool.otel import instrument

            instrument(client, MeterProvider(metric_readers=[InMemoryMetricReader()]))
        await client.ping()
        for _ in range(count):
            await client.set("k", value)
            await client.get("k")


def port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/", 1)[0])


def main(mode: str, count: int, protocol: int = 2) -> None:
    if mode not in ("aiopool", "auto", "bare", "otel", "cached"):
        raise SystemExit(f"mode is aiopool, auto, bare, otel or cached, not {mode!r}")
    if mode == "cached" and protocol != 3:
        raise SystemExit("mode cached needs protocol 3")
    if protocol not in (2, 3) or (mode == "bare" and protocol != 2):
        raise SystemExit(f"protocol is 2 or 3 (bare: 2), not {protocol!r}")
    with RedisServer() as server:
        # The URL without the kit's ?query: the protocol argument decides.
        url = f"redis://127.0.0.1:{server.port}/0"
        asyncio.run(run(mode, count, url, protocol))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 2)
