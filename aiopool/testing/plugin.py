"""pytest fixtures for code that talks to Redis through aiopool.

Registered through the ``pytest11`` entry point, so installing aiopool is
enough. Without ``redis-server`` on PATH the fixtures skip the test with an
install hint, or fail it when the ``CI`` environment variable is set.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from ._server import INSTALL_HINT, RedisServer, RedisServerUnavailable, find_redis_server

__all__ = ["private_redis_server", "redis_server", "redis_url", "require_redis_server"]


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
