"""Pool logic driven through its ``connector`` hook, with no server.

The connector hands out real ``Connection`` objects over socket pairs whose
far end never speaks, so no Redis is imitated: these tests only exercise what
the pool decides (slots, retries, waiting, refilling), never a command.
Health checks are off, because a health check would send a command.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from aiopool import (
    ConnectError,
    Connection,
    ConnectionOptions,
    Pool,
    PoolOptions,
    PoolTimeout,
)


class SilentPeers:
    """A connector: fails ``failures`` times, optionally waits on ``gate``, then connects."""

    def __init__(self) -> None:
        self.calls = 0
        self.failures = 0
        self.gate: asyncio.Event | None = None
        self.peers: list[socket.socket] = []

    async def __call__(self, timeout: float | None) -> Connection:
        self.calls += 1
        if self.failures:
            self.failures -= 1
            raise ConnectError("could not connect to fake:1: refused", "fake:1")
        if self.gate is not None:
            await self.gate.wait()
        ours, theirs = socket.socketpair()
        self.peers.append(theirs)
        conn = Connection(ConnectionOptions())
        await asyncio.get_running_loop().create_connection(lambda: conn, sock=ours)
        return conn

    def close(self) -> None:
        for peer in self.peers:
            peer.close()


@pytest.fixture
async def peers() -> AsyncIterator[SilentPeers]:
    connector = SilentPeers()
    yield connector
    connector.close()


def make_pool(peers: SilentPeers, **options: Any) -> Pool:
    options.setdefault("health_check_interval", None)
    return Pool(ConnectionOptions(), PoolOptions(**options), connector=peers)


async def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.002)


def assert_balanced(pool: Pool) -> None:
    stats = pool.stats()
    assert (stats.in_use, stats.waiting, stats.opening) == (0, 0, 0), stats
    assert stats.size == stats.idle <= stats.max_size, stats


async def test_connect_error_counts_every_attempt_within_acquire_timeout(
    peers: SilentPeers,
) -> None:
    peers.failures = 10_000
    async with make_pool(
        peers, acquire_timeout=0.3, reconnect_backoff=0.01, reconnect_backoff_max=0.05
    ) as pool:
        started = time.monotonic()
        with pytest.raises(ConnectError) as caught:
            async with pool.acquire():
                pass
        elapsed = time.monotonic() - started
        assert elapsed <= 0.35
        attempts = re.search(r"after (\d+) attempt\(s\)", str(caught.value))
        assert attempts is not None, str(caught.value)
        assert int(attempts.group(1)) == peers.calls == pool.stats().connect_errors >= 3
        assert "acquire_timeout=0.3s" in str(caught.value)
        assert "last error: could not connect to fake:1: refused" in str(caught.value)
        assert_balanced(pool)


async def test_reconnect_backoff_max_caps_the_delay_between_attempts(
    peers: SilentPeers,
) -> None:
    peers.failures = 10_000
    async with make_pool(
        peers, acquire_timeout=0.3, reconnect_backoff=1.0, reconnect_backoff_max=0.01
    ) as pool:
        with pytest.raises(ConnectError):
            async with pool.acquire():
                pass
        # Uncapped, the first delay alone could take the whole 0.3 s; capped at
        # 10 ms, there is time for at least 20 attempts.
        assert peers.calls >= 20
        assert_balanced(pool)


async def test_acquire_timeout_none_makes_a_single_connect_attempt(peers: SilentPeers) -> None:
    peers.failures = 10_000
    async with make_pool(peers, acquire_timeout=None) as pool:
        with pytest.raises(ConnectError):
            async with pool.acquire():
                pass
        assert peers.calls == 1
        assert_balanced(pool)


async def test_acquire_succeeds_once_the_connector_recovers(peers: SilentPeers) -> None:
    peers.failures = 3
    async with make_pool(
        peers, acquire_timeout=5, reconnect_backoff=0.005, reconnect_backoff_max=0.01
    ) as pool:
        async with pool.acquire() as conn:
            assert isinstance(conn, Connection)
        stats = pool.stats()
        assert (stats.created, stats.connect_errors, peers.calls) == (1, 3, 4)
        assert_balanced(pool)


async def test_max_size_bounds_the_connector_calls(peers: SilentPeers) -> None:
    async with make_pool(peers, max_size=3, acquire_timeout=5) as pool:
        peak = 0

        async def borrow() -> None:
            nonlocal peak
            async with pool.acquire():
                peak = max(peak, pool.stats().in_use)
                await asyncio.sleep(0)

        await asyncio.gather(*(borrow() for _ in range(100)))
        assert peak == 3
        assert peers.calls == pool.stats().created == 3
        assert_balanced(pool)


async def test_cancel_while_the_connector_is_pending_returns_the_slot(peers: SilentPeers) -> None:
    peers.gate = asyncio.Event()
    async with make_pool(peers, max_size=1, acquire_timeout=1) as pool:

        async def borrow() -> None:
            async with pool.acquire():
                pass

        task = asyncio.create_task(borrow())
        await wait_until(lambda: pool.stats().opening == 1, "the connect to start")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert_balanced(pool)
        assert pool.stats().size == 0
        peers.gate.set()
        async with asyncio.timeout(0.5), pool.acquire():
            assert pool.stats().size == 1


async def test_waiter_whose_timeout_fires_as_the_slot_arrives_loses_no_slot(
    peers: SilentPeers,
) -> None:
    async with make_pool(peers, max_size=1, acquire_timeout=0.05) as pool:
        outcome: list[str] = []

        async def waiter() -> None:
            try:
                async with pool.acquire():
                    outcome.append("served")
            except PoolTimeout:
                outcome.append("timed out")

        async with pool.acquire():
            task = asyncio.create_task(waiter())
            await wait_until(lambda: pool.stats().waiting == 1, "the waiter to queue")
            # Block the loop past the waiter's deadline, then yield once: the
            # loop runs this task first and the waiter's timeout right after,
            # so the slot released below arrives just as the timeout fires.
            time.sleep(0.08)  # noqa: ASYNC251 - deliberately lines up the race
            await asyncio.sleep(0)
        await task
        assert len(outcome) == 1
        assert pool.stats().waiting == 0
        # Whatever the waiter saw, the slot must still be there.
        async with asyncio.timeout(0.5), pool.acquire():
            pass
        stats = pool.stats()
        assert stats.created == peers.calls == 1
        assert_balanced(pool)


async def test_discarded_connection_is_refilled_to_min_size(peers: SilentPeers) -> None:
    async with make_pool(peers, min_size=2, max_size=4) as pool:
        assert pool.stats().idle == 2
        async with pool.acquire() as conn:
            conn.abort()  # as if its command had been interrupted
        stats = pool.stats()
        assert stats.closed == 1
        await wait_until(lambda: pool.stats().idle == 2, "the background refill")
        assert pool.stats().created == peers.calls == 3
        assert_balanced(pool)


async def test_failing_refill_is_logged_and_the_pool_stays_usable(
    peers: SilentPeers, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="aiopool")
    async with make_pool(
        peers, min_size=1, max_size=2, acquire_timeout=0.1, reconnect_backoff=0.01
    ) as pool:
        peers.failures = 10_000
        async with pool.acquire() as conn:
            conn.abort()
        await wait_until(lambda: "could not keep min_size=1 open" in caplog.text, "the warning")
        assert_balanced(pool)
        assert pool.stats().size == 0
        peers.failures = 0
        async with asyncio.timeout(0.5), pool.acquire():
            pass
        assert_balanced(pool)
