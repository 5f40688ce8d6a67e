"""Shared by the web examples (``fastapi_app.py``, ``aiohttp_app.py``): options and a self-test.

Both apps take everything from ``$REDIS_URL``; options in its query string
(``redis://host:6379/0?max_size=1&command_timeout=0.5``) override the
defaults below, so one variable configures the app under any server
(uvicorn, gunicorn, ``python examples/x.py --serve``).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

import aiopool

__all__ = [
    "HOST",
    "PIPELINE_LENGTH",
    "PREFIX",
    "client_from_url",
    "redis_url",
    "remove_example_keys",
    "self_test",
]

HOST = "127.0.0.1"
PREFIX = "aiopool:example:web:"
PIPELINE_LENGTH = 20
DEFAULT_URL = "redis://127.0.0.1:6379/0"
# min_size=2 connects at startup: a wrong address or password fails the
# lifespan (the server refuses to start) rather than the first request.
DEFAULTS: dict[str, object] = {
    "min_size": 2,
    "max_size": 20,
    "acquire_timeout": 2.0,
    "command_timeout": 2.0,
    "client_name": "aiopool-web-example",
}


def redis_url() -> str:
    return os.environ.get("REDIS_URL") or DEFAULT_URL


def client_from_url(url: str) -> aiopool.Client:
    """One client for the whole app: ``DEFAULTS``, except where the URL's query says otherwise."""
    given = {name for name, _ in parse_qsl(urlsplit(url).query)}
    if "name" in given:
        given.add("client_name")
    return aiopool.Client.from_url(url, **{k: v for k, v in DEFAULTS.items() if k not in given})


async def remove_example_keys(redis: aiopool.Client) -> int:
    keys = [key async for key in redis.scan_iter(match=f"{PREFIX}*", count=500)]
    return await redis.delete(*keys) if keys else 0


# What each route answers, so the self-test (and the tests) can check bodies.
CHECKS: dict[str, Callable[[Any], bool]] = {
    "/one": lambda body: isinstance(body["hits"], int) and body["hits"] > 0,
    "/five": lambda body: body["value"] == "hello" and body["ttl"] > 0 and body["count"] > 0,
    "/pipeline": lambda body: body["replies"] == PIPELINE_LENGTH and body["total"] >= 1,
    "/healthz": lambda body: body["status"] in ("ok", "saturated") and "in_use" in body["pool"],
}


async def _connection(
    client: httpx.AsyncClient, base: str, requests: int, statuses: Counter[int], ms: list[float]
) -> None:
    paths = list(CHECKS)
    for step in range(requests):
        path = paths[step % len(paths)]
        started = time.perf_counter()
        response = await client.get(base + path)
        ms.append((time.perf_counter() - started) * 1000)
        statuses[response.status_code] += 1
        if response.status_code != 200 or not CHECKS[path](response.json()):
            raise AssertionError(f"GET {path}: {response.status_code} {response.text}")


async def self_test(base: str, total: int = 300, concurrency: int = 20) -> bool:
    """Send ``total`` requests over ``concurrency`` keep-alive connections; print a summary."""
    statuses: Counter[int] = Counter()
    ms: list[float] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=10.0) as client:
        started = time.perf_counter()
        async with asyncio.TaskGroup() as group:
            for worker in range(concurrency):
                share = total // concurrency + (worker < total % concurrency)
                group.create_task(_connection(client, base, share, statuses, ms))
        wall = time.perf_counter() - started
        for path in ("/one", "/healthz", "/nowhere"):
            response = await client.get(base + path)
            print(f"GET {path} -> {response.status_code} {response.text}")
    ms.sort()
    count = sum(statuses.values())
    print(f"-- {count} requests over {concurrency} keep-alive connections in {wall:.2f} s")
    print(
        f"   statuses {dict(statuses)}; p50 {ms[len(ms) // 2]:.1f} ms, p99 {ms[-1 - len(ms) // 100]:.1f} ms"
    )
    return count == total
