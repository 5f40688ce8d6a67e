"""pytest fixtures for code that talks to Redis through aiopool.

Registered through the ``pytest11`` entry point, so installing aiopool is
enough. Without ``redis-server`` on PATH the fixtures skip the test with an
install hint, or fail it when the ``CI`` environment variable is set. The
async ``fault_proxy`` fixture needs pytest-asyncio.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

from ._proxy import FaultProxy
from ._server import INSTALL_HINT, RedisServer, RedisServerUnavailable, find_redis_server

try:
    from pytest_asyncio import fixture as _async_fixture
except ImportError:  # pragma: no cover - pytest then says the async fixture has no plugin
    _async_fixture = pytest.fixture  # type: ignore[assignment]

__all__ = [
    "fault_proxy",
    "private_redis_server",
    "redis_server",
    "redis_url",
    "require_redis_server",
]


def require_redis_server() -> None:
    """Skip the current test without ``redis-server``; fail instead when ``CI`` is set."""
    if find_redis_server() is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {INSTALL_HINT}")
        pytest.skip(INSTALL_HINT)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One ``redis-server`` shared by the whole session; do not kill it."""
    require_redis_server()
    try:
        with RedisServer() as server:
            yield server
    except RedisServerUnavailable as exc:
        pytest.fail(str(exc))


@pytest.fixture
def private_redis_server() -> Iterator[RedisServer]:
    """A ``redis-server`` of the test's own, free to kill, pause and restart."""
    require_redis_server()
    with RedisServer() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The shared server's URL, database 0, flushed before the test."""
    import socket

    with socket.create_connection((redis_server.host, redis_server.port), timeout=5) as sock:
        sock.sendall(b"FLUSHALL\r\n")
        sock.recv(64)
    return redis_server.url


@_async_fixture
async def fault_proxy(redis_server: RedisServer) -> AsyncIterator[FaultProxy]:
    """A started ``FaultProxy`` in front of the shared server, closed after the test.

    Connect through ``fault_proxy.url``; every fault is off at the start. The
    shared server itself is not flushed (request ``redis_url`` as well for
    that).
    """
    async with FaultProxy(redis_server.host, redis_server.port) as proxy:
        yield proxy
