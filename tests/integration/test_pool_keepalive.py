"""Half-open connections: keepalive PINGs on idle connections (``keepalive_interval``).

A peer that vanished without a FIN (frozen host, partition) leaves idle
connections that look open. The pool PINGs connections idle for longer than
``keepalive_interval`` in the background and closes those that do not answer
within the health-check timeout, so the next caller never inherits one.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from aiopool import Client
from aiopool.testing import FaultProxy, RedisServer

from .pool_support import assert_balanced, assert_own_replies, wait_until


async def warm(client: Client, count: int) -> list[int]:
    """Open ``count`` connections (held at once) and return their CLIENT IDs."""
    ids: list[int] = []
    gate = asyncio.Event()

    async def hold() -> None:
        async with client.pool.acquire() as conn:
            ids.append(await conn.execute("CLIENT", "ID"))
            if len(ids) == count:
                gate.set()
            await gate.wait()

    async with asyncio.timeout(5):
        await asyncio.gather(*(hold() for _ in range(count)))
    return ids


async def test_idle_connections_are_pinged_and_kept(fault_proxy: FaultProxy) -> None:
    async with Client.from_url(
        fault_proxy.url, keepalive_interval=0.1, idle_timeout=None, max_size=3
    ) as client:
        before = await warm(client, 3)
        pings = fault_proxy.command_count("PING")
        await wait_until(
            lambda: fault_proxy.command_count("PING") >= pings + 6, "two rounds of keepalive PINGs"
        )
        assert fault_proxy.accepted == 3  # pinged, not replaced
        stats = client.pool.stats()
        assert stats.closed == 0, stats
        assert sorted(await warm(client, 3)) == sorted(before)
        await assert_own_replies(client)
        assert fault_proxy.accepted == 3
        assert_balanced(client.pool)


async def test_keepalive_closes_idle_connections_to_a_frozen_server(
    private_redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    server = private_redis_server
    async with Client.from_url(
        server.url,
        keepalive_interval=0.1,
        command_timeout=0.3,
        connect_timeout=0.3,
        idle_timeout=None,
        max_size=2,
    ) as client:
        await warm(client, 2)
        server.pause()
        try:
            with caplog.at_level(logging.INFO, logger="aiopool.pool"):
                started = time.monotonic()
                await wait_until(
                    lambda: client.pool.stats().closed == 2, "both idle connections closed", 3
                )
                found_in = time.monotonic() - started
            # keepalive_interval plus one PING timeout, with slack for a slow machine
            assert found_in < 0.1 + 0.3 + 1.0, found_in
            assert "keepalive PING" in caplog.text
            assert f"{server.host}:{server.port}" in caplog.text
            stats = client.pool.stats()
            assert (stats.idle, stats.in_use) == (0, 0), stats
        finally:
            server.resume()
        await assert_own_replies(client)
        assert_balanced(client.pool)


async def test_keepalive_finds_a_silent_partition_without_any_caller(
    fault_proxy: FaultProxy,
) -> None:
    async with Client.from_url(
        fault_proxy.url,
        keepalive_interval=0.1,
        command_timeout=0.3,
        idle_timeout=None,
        max_size=2,
    ) as client:
        await warm(client, 2)
        fault_proxy.blackhole(drop=True)  # no FIN, no RST: bytes just vanish
        await wait_until(lambda: client.pool.stats().closed == 2, "both connections closed", 3)
        assert client.pool.stats().idle == 0
        fault_proxy.heal()
        assert await client.ping() is True
        await assert_own_replies(client)
        assert_balanced(client.pool)


async def test_keepalive_pings_do_not_keep_idle_connections_from_being_reaped(
    fault_proxy: FaultProxy,
) -> None:
    async with Client.from_url(
        fault_proxy.url, keepalive_interval=0.05, idle_timeout=0.4, max_size=2
    ) as client:
        await warm(client, 2)
        pings = fault_proxy.command_count("PING")
        await wait_until(lambda: fault_proxy.command_count("PING") > pings, "a keepalive PING")
        await wait_until(lambda: client.pool.stats().size == 0, "idle connections reaped", 3)
        assert client.pool.stats().closed == 2
        await assert_own_replies(client)


async def test_a_caller_arriving_during_a_keepalive_ping_gets_that_connection(
    fault_proxy: FaultProxy,
) -> None:
    async with Client.from_url(
        fault_proxy.url, keepalive_interval=0.05, idle_timeout=None, max_size=1
    ) as client:
        (first,) = await warm(client, 1)
        fault_proxy.latency(0.2)  # the keepalive PING now takes 200 ms
        pings = fault_proxy.command_count("PING")
        await wait_until(lambda: fault_proxy.command_count("PING") > pings, "a keepalive PING")
        assert client.pool.stats().opening == 1  # the slot is taken by the check
        async with asyncio.timeout(2):
            assert await client.execute("CLIENT", "ID") == first
        assert fault_proxy.accepted == 1
        fault_proxy.latency(0)
        assert_balanced(client.pool)


async def test_closing_the_pool_during_a_keepalive_ping_leaves_nothing_open(
    fault_proxy: FaultProxy,
) -> None:
    client = Client.from_url(fault_proxy.url, keepalive_interval=0.05, max_size=2)
    await warm(client, 2)
    fault_proxy.blackhole()  # PINGs hang until the pool closes
    await wait_until(lambda: client.pool.stats().opening == 2, "both connections being pinged")
    async with asyncio.timeout(2):
        await client.aclose()
    stats = client.pool.stats()
    assert (stats.size, stats.closed) == (0, 2), stats
    fault_proxy.heal()  # a held proxy keeps its pipes until healed
    await wait_until(lambda: fault_proxy.connections == 0, "the proxy's connections closed")


def test_keepalive_interval_is_validated() -> None:
    with pytest.raises(ValueError, match="keepalive_interval"):
        Client.from_url("redis://127.0.0.1:6379", keepalive_interval=0)
    client = Client.from_url("redis://127.0.0.1:6379?keepalive_interval=none")
    assert client.pool.options.keepalive_interval is None
