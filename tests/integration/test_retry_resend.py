"""A command whose write fails at once provably never left: it is resent, whatever it is.

The proxy resets a connection with RST; the client's event loop has not yet
seen it. The pool's check before it hands the connection out polls the
socket and finds the reset (or, on a connection already borrowed, the write
does): not a byte of the command left the host. Even a command that is not
safe to repeat (``INCR``) runs exactly once, on a fresh connection.
"""

from __future__ import annotations

import asyncio

from aiopool import Client, Connection, ConnectionFailure, OutcomeUnknown
from aiopool.testing import FaultProxy

from .pool_support import assert_balanced, assert_own_replies


async def reset_unseen(proxy: FaultProxy) -> None:
    """Reset every proxied connection; return before the client's loop polls its sockets."""
    proxy.reset_all()
    await asyncio.sleep(0)  # the proxy's sockets close (RST sent); no poll has run since


async def test_an_unsafe_command_whose_write_failed_is_resent_and_runs_once(
    fault_proxy: FaultProxy, redis_url: str
) -> None:
    async with Client.from_url(fault_proxy.url, max_size=1) as client:
        await client.set("resend:counter", 10)
        acquired = client.pool.stats().acquired
        await reset_unseen(fault_proxy)
        async with asyncio.timeout(5):
            assert await client.incr("resend:counter") == 11
        assert fault_proxy.command_count("INCR") == 1  # the first write never reached it
        stats = client.pool.stats()
        # Found at the checkout: the pool opened a fresh one for the one borrow.
        assert stats.acquired == acquired + 1, stats
        assert stats.closed == 1, stats
        assert fault_proxy.accepted == 2
        await assert_own_replies(client)
        assert_balanced(client.pool)


async def test_a_pipeline_whose_write_failed_is_resent_and_runs_once(
    fault_proxy: FaultProxy, redis_url: str
) -> None:
    async with Client.from_url(fault_proxy.url, max_size=1) as client:
        await client.ping()
        await reset_unseen(fault_proxy)
        async with asyncio.timeout(5), client.pipeline(transaction=True) as p:
            assert await p.incr("resend:a").lpush("resend:l", "x").execute() == [1, 1]
        assert fault_proxy.command_count("INCR") == 1
        assert await client.lrange("resend:l", 0, -1) == [b"x"]
        await assert_own_replies(client)
        assert_balanced(client.pool)


async def test_a_reset_the_loop_has_seen_is_found_before_the_write(
    fault_proxy: FaultProxy, redis_url: str
) -> None:
    async with Client.from_url(fault_proxy.url, max_size=1) as client:
        await client.ping()
        fault_proxy.reset_all()
        await asyncio.sleep(0.05)  # the client's loop has read the RST now
        acquired = client.pool.stats().acquired
        assert await client.incr("resend:seen") == 1
        # The dead idle connection was dropped at acquire: one borrow, no resend.
        assert client.pool.stats().acquired == acquired + 1
        assert fault_proxy.command_count("INCR") == 1
        assert_balanced(client.pool)


async def test_resends_are_bounded_and_then_raise_a_plain_connection_failure(
    fault_proxy: FaultProxy, redis_url: str
) -> None:
    # Every connection is reset as it is written to: resent max_size times, then
    # the caller gets a ConnectionFailure that says nothing was sent.
    async with Client.from_url(fault_proxy.url, max_size=2) as client:
        resets = 0

        async def flaky() -> None:
            nonlocal resets
            await reset_unseen(fault_proxy)
            resets += 1

        original = client.pool._acquire

        async def acquire_then_reset() -> Connection:
            conn = await original()
            await flaky()
            return conn

        client.pool._acquire = acquire_then_reset  # type: ignore[method-assign]
        try:
            async with asyncio.timeout(5):
                try:
                    await client.incr("resend:never")
                except ConnectionFailure as exc:
                    error: ConnectionFailure = exc
                else:
                    raise AssertionError("expected a ConnectionFailure")
        finally:
            del client.pool._acquire
        assert not isinstance(error, OutcomeUnknown)
        assert "was not sent" in str(error)
        assert resets == 3  # the first attempt and max_size=2 resends
        assert fault_proxy.command_count("INCR") == 0
        assert await client.get("resend:never") is None
        await assert_own_replies(client)
        assert_balanced(client.pool)
