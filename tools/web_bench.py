"""The real-app benchmark: ``examples/fastapi_app.py`` under uvicorn, aiopool vs redis.asyncio.

Both variants are the same FastAPI app (``fastapi_app.create_app``): the
aiopool one as the example ships it, the redis-py one with the three routes
written here against ``redis.asyncio`` (a ``BlockingConnectionPool`` of the
same size, so both wait for a connection the same way). Each runs as its own
process: uvicorn, one worker, uvloop, httptools, no access log. A load
generator in this process (aiohttp, uvloop) holds ``--connections``
keep-alive connections, each sending its next GET as soon as the last one is
answered, for ``--duration`` seconds per endpoint after a warm-up; it prints
requests/s and p50/p99 latency side by side with the ratio, the median of
``--rounds`` rounds (the two variants alternate which goes first).

Usage::

    python tools/web_bench.py                       # 3 rounds of 5 s per endpoint
    python tools/web_bench.py --duration 10 --connections 64 --max-size 20

It starts a throwaway redis-server (``aiopool.testing.RedisServer``). The
load generator shares the machine with the app and Redis: on a small machine
it caps the figures, the same cap for both variants. Needs the ``web`` extra
and redis-py (both in the ``test`` extra).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, cast

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))

import aiohttp  # noqa: E402
import redis.asyncio  # noqa: E402
import uvicorn  # noqa: E402
from _web import PIPELINE_LENGTH, PREFIX  # noqa: E402
from fastapi import APIRouter, Depends, Request  # noqa: E402
from fastapi_app import create_app  # noqa: E402

from aiopool.testing import RedisServer  # noqa: E402

CLIENTS = ("aiopool", "redis.asyncio")
ENDPOINTS = ("/one", "/five", "/pipeline")

# -- the redis.asyncio variant of the example's three routes -----------------------------------

redis_py_routes = APIRouter()


def get_redis_py(request: Request) -> redis.asyncio.Redis:
    return cast(redis.asyncio.Redis, request.state.redis)


RedisPy = Annotated[redis.asyncio.Redis, Depends(get_redis_py)]


@redis_py_routes.get("/one")
async def one(r: RedisPy) -> dict[str, Any]:
    return {"hits": await r.incr(f"{PREFIX}hits")}


@redis_py_routes.get("/five")
async def five(r: RedisPy) -> dict[str, Any]:
    await r.set(f"{PREFIX}greeting", "hello")
    value = await r.get(f"{PREFIX}greeting")
    count = await r.incr(f"{PREFIX}count")
    await r.expire(f"{PREFIX}count", 3600)
    ttl = await r.ttl(f"{PREFIX}count")
    text = value.decode() if isinstance(value, bytes) else value
    return {"value": text, "count": count, "ttl": ttl}


@redis_py_routes.get("/pipeline")
async def pipeline(r: RedisPy) -> dict[str, Any]:
    async with r.pipeline(transaction=False) as pipe:
        for i in range(PIPELINE_LENGTH):
            pipe.incr(f"{PREFIX}p:{i}")
        replies = await pipe.execute()
    return {"replies": len(replies), "total": sum(replies)}


def serve(client: str, redis_url: str, port: int, max_size: int) -> None:
    """The server process: one uvicorn worker on uvloop (``--serve``)."""
    if client == "aiopool":
        mark = "&" if "?" in redis_url else "?"  # the kits may add ?protocol=3
        app = create_app(f"{redis_url}{mark}max_size={max_size}&min_size={max_size}")
    else:

        def open_redis_py(url: str) -> redis.asyncio.Redis:
            pool = redis.asyncio.BlockingConnectionPool.from_url(
                url, max_connections=max_size, timeout=2.0
            )
            return redis.asyncio.Redis.from_pool(pool)

        app = create_app(redis_url, open_client=open_redis_py, routes=redis_py_routes)
    # uvicorn re-raises SIGTERM after its graceful shutdown; end with status 0 instead.
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        workers=1,
        access_log=False,
        log_level="warning",
    )


# -- the load generator ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Result:
    client: str
    endpoint: str
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


async def load(base: str, endpoint: str, connections: int, seconds: float) -> Result:
    """``connections`` keep-alive connections, each one request at a time, for ``seconds``."""
    latencies: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=connections, force_close=False)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as session:
        started = time.perf_counter()
        deadline = started + seconds

        async def connection() -> None:
            nonlocal errors
            while (now := time.perf_counter()) < deadline:
                async with session.get(endpoint) as response:
                    await response.read()
                    if response.status != 200:
                        errors += 1
                latencies.append(time.perf_counter() - now)

        async with asyncio.TaskGroup() as group:
            for _ in range(connections):
                group.create_task(connection())
        elapsed = time.perf_counter() - started
    latencies.sort()
    count = len(latencies)
    return Result(
        "",
        endpoint,
        count,
        errors,
        elapsed,
        latencies[count // 2] * 1000 if count else 0.0,
        latencies[min(count - 1, count * 99 // 100)] * 1000 if count else 0.0,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def launch(client: str, redis_url: str, port: int, max_size: int) -> subprocess.Popen[bytes]:
    argv = [sys.executable, __file__, "--serve", client, "--port", str(port)]
    return subprocess.Popen([*argv, "--redis-url", redis_url, "--max-size", str(max_size)])


async def start_app(
    client: str, redis_url: str, max_size: int
) -> tuple[subprocess.Popen[bytes], str]:
    """The app in a process of its own, once it answers ``/one``."""
    port = free_port()
    process = launch(client, redis_url, port, max_size)
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession(base) as session:
        for _ in range(300):  # polled: about 15 s at most
            if process.poll() is not None:
                raise SystemExit(f"the {client} app exited at startup ({process.returncode})")
            try:
                async with session.get("/one") as response:
                    if response.status == 200:
                        return process, base
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)
    stop_app(process)
    raise SystemExit(f"the {client} app never answered on {base}")


def stop_app(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


async def run_rounds(args: argparse.Namespace, redis_url: str) -> list[Result]:
    results: list[Result] = []
    for round_ in range(args.rounds):
        order = CLIENTS if round_ % 2 == 0 else CLIENTS[::-1]
        for client in order:
            process, base = await start_app(client, redis_url, args.max_size)
            try:
                for endpoint in ENDPOINTS:
                    await load(base, endpoint, args.connections, args.warmup)
                    result = await load(base, endpoint, args.connections, args.duration)
                    results.append(dataclasses.replace(result, client=client))
                    print(
                        f"  round {round_ + 1} {client:<13} {endpoint:<9} "
                        f"{result.rate:>9,.0f} req/s  p50 {result.p50_ms:6.2f} ms  "
                        f"p99 {result.p99_ms:6.2f} ms  errors {result.errors}",
                        flush=True,
                    )
            finally:
                stop_app(process)
    return results


def report(results: list[Result], rounds: int) -> int:
    """The medians, aiopool and redis.asyncio side by side; non-zero if any request failed."""

    def median(client: str, endpoint: str, figure: str) -> float:
        values = [
            result.rate if figure == "rate" else getattr(result, figure)
            for result in results
            if result.client == client and result.endpoint == endpoint
        ]
        return statistics.median(values)

    print(f"\nmedians of {rounds} round(s); ratio = aiopool / redis.asyncio")
    print(
        f"{'endpoint':<10}{'aiopool req/s':>14}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'redis.asyncio req/s':>21}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'req/s ratio':>13}{'p99 ratio':>11}"
    )
    for endpoint in ENDPOINTS:
        a = [median("aiopool", endpoint, f) for f in ("rate", "p50_ms", "p99_ms")]
        b = [median("redis.asyncio", endpoint, f) for f in ("rate", "p50_ms", "p99_ms")]
        print(
            f"{endpoint:<10}{a[0]:>14,.0f}{a[1]:>8.2f}{a[2]:>8.2f}"
            f"{b[0]:>21,.0f}{b[1]:>8.2f}{b[2]:>8.2f}"
            f"{a[0] / b[0]:>12.2f}x{a[2] / b[2]:>10.2f}x"
        )
    errors = sum(result.errors for result in results)
    if errors:
        print(f"{errors} request(s) failed: the figures are not comparable", file=sys.stderr)
    return 1 if errors else 0


async def bench(args: argparse.Namespace) -> int:
    print(
        f"uvicorn, 1 worker, uvloop; {args.connections} keep-alive connections; "
        f"pool max {args.max_size}; {args.warmup:g} s warm-up + {args.duration:g} s "
        f"per endpoint; python {sys.version.split()[0]}, {os.cpu_count()} CPU(s)",
        flush=True,
    )
    with RedisServer() as server:
        results = await run_rounds(args, server.url)
    return report(results, args.rounds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per endpoint (5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before each (1)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; medians reported (3)")
    parser.add_argument("--connections", type=int, default=50, help="HTTP connections (50)")
    parser.add_argument("--max-size", type=int, default=20, help="each app's pool size (20)")
    parser.add_argument("--serve", choices=CLIENTS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--redis-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.redis_url, args.port, args.max_size)
        return 0
    if not (args.duration > 0 and args.warmup >= 0 and 1 <= args.rounds <= 20):
        parser.error("need --duration > 0, --warmup >= 0 and 1 <= --rounds <= 20")
    if not (1 <= args.connections <= 1000 and 1 <= args.max_size <= 1000):
        parser.error("need 1 <= --connections <= 1000 and 1 <= --max-size <= 1000")
    import uvloop

    return uvloop.run(bench(args))


if __name__ == "__main__":
    raise SystemExit(main())
