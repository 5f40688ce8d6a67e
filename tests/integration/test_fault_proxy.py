"""FaultProxy (aiopool.testing) and aiopool's behaviour behind it.

The first part checks the proxy itself over plain asyncio streams; the second
runs aiopool.Client through the ``fault_proxy`` fixture against the shared
server and checks, for each fault, the exception type, that it came within
the configured time, and that the same pool then serves every caller its own
replies with balanced counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from aiopool import (
    Client,
    CommandTimeout,
    ConnectError,
    ConnectionFailure,
    ProtocolError,
)
from aiopool.testing import FaultProxy, RedisServer, url_query

from .pool_support import admin, assert_balanced, assert_own_replies, free_port, wait_until

PING = b"*1\r\n$4\r\nPING\r\n"


def key(prefix: str = "proxy") -> str:
    return f"{prefix}:{uuid.uuid4().hex[:10]}"


@contextlib.asynccontextmanager
async def raw(
    proxy: FaultProxy,
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """A plain asyncio stream through the proxy, closed on exit."""
    reader, writer = await asyncio.open_connection(proxy.host, proxy.port)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def read_eof(reader: asyncio.StreamReader) -> bytes:
    """Everything until EOF (a reset counts as EOF), within 2 s."""
    async with asyncio.timeout(2):
        try:
            return await reader.read()
        except ConnectionResetError:
            return b""


# -- the proxy itself ----------------------------------------------------------------


async def test_proxy_pipes_bytes_and_counts_connections(redis_server: RedisServer) -> None:
    proxy = FaultProxy(redis_server.host, redis_server.port)
    assert "not started" in repr(proxy)
    async with proxy:
        assert proxy.port != 0
        assert proxy.url == f"redis://127.0.0.1:{proxy.port}/0{url_query()}"
        async with raw(proxy) as (reader, writer):
            writer.write(PING)
            async with asyncio.timeout(2):
                assert await reader.readexactly(7) == b"+PONG\r\n"
            assert (proxy.connections, proxy.accepted) == (1, 1)
            assert proxy.command_count(b"ping") == 1
            assert "new=accept" in repr(proxy)
            assert "connections=1" in repr(proxy)
        await wait_until(lambda: proxy.connections == 0, "the proxy to see the client go")
    assert "closed" in repr(proxy)


async def test_aclose_closes_piped_and_hanging_connections_and_fails_waiters(
    redis_server: RedisServer,
) -> None:
    proxy = await FaultProxy(redis_server.host, redis_server.port).start()
    waiter = asyncio.create_task(proxy.wait_for_command(b"GET", timeout=5))
    async with raw(proxy) as (piped_reader, piped_writer):
        piped_writer.write(PING)
        async with asyncio.timeout(2):
            assert await piped_reader.readexactly(7) == b"+PONG\r\n"
        proxy.hang_new()
        async with raw(proxy) as (hung_reader, _):
            await wait_until(lambda: proxy.hanging == 1, "the hanging connection")
            assert "new=hang" in repr(proxy)
            await proxy.aclose()
            assert await read_eof(piped_reader) == b""
            assert await read_eof(hung_reader) == b""
    assert (proxy.connections, proxy.hanging) == (0, 0)
    with pytest.raises(RuntimeError, match="closed"):
        await waiter
    await proxy.aclose()  # idempotent
    with pytest.raises(RuntimeError, match="only once"):
        await proxy.start()


async def test_client_is_closed_when_the_upstream_cannot_be_reached() -> None:
    async with FaultProxy("127.0.0.1", free_port()) as proxy, raw(proxy) as (reader, writer):
        writer.write(PING)
        assert await read_eof(reader) == b""
        await wait_until(lambda: proxy.connections == 0, "the pipe to close")


async def test_refused_connections_are_closed_at_once_and_counted(
    fault_proxy: FaultProxy,
) -> None:
    fault_proxy.refuse_new()
    async with raw(fault_proxy) as (reader, _):
        assert await read_eof(reader) == b""
    assert (fault_proxy.accepted, fault_proxy.refused, fault_proxy.connections) == (1, 1, 0)
    fault_proxy.accept_new()
    async with raw(fault_proxy) as (reader, writer):
        writer.write(PING)
        async with asyncio.timeout(2):
            assert await reader.readexactly(7) == b"+PONG\r\n"


async def test_wait_for_command_times_out_naming_the_command(fault_proxy: FaultProxy) -> None:
    with pytest.raises(TimeoutError, match="NOPE was forwarded 0 time"):
        await fault_proxy.wait_for_command("nope", timeout=0.05)


async def test_wait_for_command_with_a_count_already_reached_returns_at_once(
    fault_proxy: FaultProxy,
) -> None:
    async with Client.from_url(fault_proxy.url) as client:
        await client.echo("one")
        await client.echo("two")
    assert await fault_proxy.wait_for_command(b"ECHO", count=2, timeout=0) == 2


async def test_switches_reject_bad_values_and_show_in_repr(fault_proxy: FaultProxy) -> None:
    with pytest.raises(ValueError, match="latency"):
        fault_proxy.latency(-1)
    with pytest.raises(ValueError, match="single byte"):
        fault_proxy.garble_next_reply(b"xy")
    with pytest.raises(ValueError, match="after_bytes"):
        fault_proxy.cut_next_reply(-1)
    with pytest.raises(ValueError, match="n_bytes"):
        fault_proxy.close_after(-1)
    fault_proxy.latency(0.25, requests=True)
    fault_proxy.blackhole(drop=True)
    fault_proxy.cut_next_reply(3)
    fault_proxy.garble_next_reply()
    fault_proxy.close_after(10)
    fault_proxy.refuse_new()
    shown = repr(fault_proxy)
    for part in (
        "new=refuse",
        "blackhole=drop",
        "latency=0.25s",
        "request_latency=0.25s",
        "cut_next_reply=3",
        "garble_next_reply",
        "close_after=10",
    ):
        assert part in shown, shown
    fault_proxy.clear_faults()
    assert repr(fault_proxy) == (
        f"<FaultProxy 127.0.0.1:{fault_proxy.port} -> {fault_proxy.upstream_host}:"
        f"{fault_proxy.upstream_port} new=accept connections=0 hanging=0 accepted=0>"
    )


# -- aiopool behind the proxy --------------------------------------------------------


async def test_client_through_the_proxy_gets_its_own_replies(
    fault_proxy: FaultProxy, redis_url: str
) -> None:
    async with Client.from_url(fault_proxy.url, max_size=4) as client:
        name = key()
        assert await client.set(name, "v") is True
        assert await client.get(name) == b"v"
        await assert_own_replies(client)
        stats = assert_balanced(client.pool)
        assert fault_proxy.connections == stats.size
        assert fault_proxy.accepted == stats.created
    await wait_until(lambda: fault_proxy.connections == 0, "the proxy to see the pool close")


async def test_latency_delays_replies(fault_proxy: FaultProxy) -> None:
    async with Client.from_url(fault_proxy.url) as client:
        await client.ping()  # connected before timing
        fault_proxy.latency(0.15)
        started = time.monotonic()
        assert await client.echo("slow") == b"slow"
        assert time.monotonic() - started >= 0.15
        fault_proxy.latency(0.1, requests=True)
        started = time.monotonic()
        assert await client.echo("slower") == b"slower"
        assert time.monotonic() - started >= 0.2
        fault_proxy.latency(0)
        await assert_own_replies(client)
        assert_balanced(client.pool)


async def test_blackhole_times_a_command_out_and_heal_restores_service(
    fault_proxy: FaultProxy, redis_url: str
) -> None:
    name = key()
    async with Client.from_url(fault_proxy.url, command_timeout=0.3) as client:
        await client.set(name, "before")
        fault_proxy.blackhole()
        started = time.monotonic()
        with pytest.raises(CommandTimeout, match="command_timeout"):
            await client.get(name)
        assert 0.3 <= time.monotonic() - started < 1.0
        fault_proxy.heal()
        assert await client.get(name) == b"before"
        stats = assert_balanced(client.pool)
        assert (stats.created, stats.closed) == (2, 1)
        await assert_own_replies(client)


async def test_held_request_of_a_timed_out_command_runs_after_heal(
    fault_proxy: FaultProxy, redis_server: RedisServer, redis_url: str
) -> None:
    counter = key("counter")
    async with Client.from_url(fault_proxy.url, command_timeout=0.2) as client:
        await client.ping()
        fault_proxy.blackhole()
        with pytest.raises(CommandTimeout):
            await client.incr(counter)
        assert fault_proxy.command_count("INCR") == 0
        fault_proxy.heal()
        await fault_proxy.wait_for_command("INCR", count=1, timeout=2)
        await wait_until(lambda: admin(redis_server, "GET", counter) == b"1", "the late INCR")
        assert_balanced(client.pool)


async def test_dropping_blackhole_loses_the_request_of_a_timed_out_command(
    fault_proxy: FaultProxy, redis_server: RedisServer, redis_url: str
) -> None:
    counter = key("counter")
    async with Client.from_url(fault_proxy.url, command_timeout=0.2) as client:
        await client.ping()
        fault_proxy.blackhole(drop=True)
        with pytest.raises(CommandTimeout):
            await client.incr(counter)
        assert fault_proxy.dropped_bytes > 0
        fault_proxy.heal()
        assert await client.incr(counter) == 1  # the first one never ran
        assert fault_proxy.command_count("INCR") == 1
        assert_balanced(client.pool)


async def test_reset_idle_connection_is_replaced_once_the_reset_is_seen(
    fault_proxy: FaultProxy,
) -> None:
    async with Client.from_url(fault_proxy.url, health_check_interval=None) as client:
        async with client.pool.acquire() as conn:
            victim = await conn.execute("CLIENT", "ID")
        fault_proxy.reset_all()
        await wait_until(lambda: not conn.is_pooled_and_open(), "the pool to see the reset")
        assert await client.execute("CLIENT", "ID") != victim
        stats = assert_balanced(client.pool)
        assert (stats.created, stats.closed) == (2, 1)
        await assert_own_replies(client)


async def test_command_written_right_after_a_reset_fails_and_is_not_retried(
    fault_proxy: FaultProxy, redis_url: str
) -> None:
    # reset_all() takes effect when the loop next runs, after the GET was
    # written to the (already doomed) idle connection: aiopool cannot know the
    # GET never arrived, so it reports "may or may not have run" and does not
    # retry (README, "What is retried": the connection broke after the write).
    name = key()
    async with Client.from_url(fault_proxy.url, health_check_interval=None) as client:
        await client.set(name, "v")
        fault_proxy.reset_all()
        with pytest.raises(ConnectionFailure, match="may or may not have run") as failure:
            await client.get(name)
        assert not isinstance(failure.value, ConnectError)
        assert fault_proxy.command_count("GET") == 0
        assert await client.get(name) == b"v"
        stats = assert_balanced(client.pool)
        assert (stats.created, stats.closed) == (2, 1)


async def test_refused_connect_raises_connect_error_within_acquire_timeout(
    fault_proxy: FaultProxy,
) -> None:
    # Without AUTH, SELECT or a client name the handshake sends nothing.
    async with Client.from_url(fault_proxy.url, acquire_timeout=0.5) as client:
        fault_proxy.refuse_new()
        started = time.monotonic()
        with pytest.raises(ConnectError):
            await client.ping()
        assert time.monotonic() - started < 0.9
        fault_proxy.accept_new()
        assert await client.ping() is True
        assert_balanced(client.pool)


async def test_refused_handshake_is_retried_then_raises_connect_error(
    fault_proxy: FaultProxy,
) -> None:
    async with Client.from_url(
        fault_proxy.url, acquire_timeout=0.5, client_name="proxied"
    ) as client:
        fault_proxy.refuse_new()
        started = time.monotonic()
        with pytest.raises(ConnectError, match=r"after \d+ attempt") as failure:
            await client.ping()
        assert time.monotonic() - started < 0.9
        assert f"127.0.0.1:{fault_proxy.port}" in str(failure.value)
        assert fault_proxy.refused >= 2
        fault_proxy.accept_new()
        assert await client.ping() is True
        stats = assert_balanced(client.pool)
        assert stats.connect_errors >= 2


async def test_hanging_connect_raises_connect_error_naming_connect_timeout(
    fault_proxy: FaultProxy,
) -> None:
    # Without AUTH, SELECT or a client name the handshake sends nothing.
    async with Client.from_url(
        fault_proxy.url, connect_timeout=0.2, acquire_timeout=0.5, command_timeout=0.6
    ) as client:
        fault_proxy.hang_new()
        started = time.monotonic()
        with pytest.raises(ConnectError, match="connect_timeout"):
            await client.ping()
        assert time.monotonic() - started < 0.9
        fault_proxy.accept_new()
        assert await client.ping() is True
        assert_balanced(client.pool)


async def test_hanging_handshake_raises_connect_error_naming_connect_timeout(
    fault_proxy: FaultProxy,
) -> None:
    async with Client.from_url(
        fault_proxy.url, connect_timeout=0.2, acquire_timeout=0.5, client_name="proxied"
    ) as client:
        fault_proxy.hang_new()
        started = time.monotonic()
        with pytest.raises(ConnectError, match=r"connect_timeout=0\.2s"):
            await client.ping()
        assert time.monotonic() - started < 0.9
        await wait_until(lambda: fault_proxy.hanging == 0, "the abandoned connects to close")
        fault_proxy.accept_new()
        assert await client.ping() is True
        assert_balanced(client.pool)


async def test_cut_reply_raises_connection_failure_and_the_pool_recovers(
    fault_proxy: FaultProxy, redis_url: str
) -> None:
    name = key()
    async with Client.from_url(fault_proxy.url, max_size=2) as client:
        await client.set(name, "x" * 100)
        fault_proxy.cut_next_reply(5)
        with pytest.raises(ConnectionFailure, match="may or may not have run") as failure:
            await client.get(name)
        assert not isinstance(failure.value, ConnectError)
        assert await client.get(name) == b"x" * 100
        stats = assert_balanced(client.pool)
        assert stats.closed == 1
        await assert_own_replies(client)


async def test_garbled_reply_raises_protocol_error_and_the_pool_recovers(
    fault_proxy: FaultProxy, redis_url: str
) -> None:
    name = key()
    async with Client.from_url(fault_proxy.url, max_size=2) as client:
        await client.set(name, "value")
        fault_proxy.garble_next_reply()
        with pytest.raises(ProtocolError, match="invalid reply to GET"):
            await client.get(name)
        assert await client.get(name) == b"value"
        stats = assert_balanced(client.pool)
        assert stats.closed == 1
        await assert_own_replies(client)


async def test_close_after_cuts_each_connection_at_its_byte_budget(
    fault_proxy: FaultProxy,
) -> None:
    # protocol=2: the budget below counts the RESP2 handshake's reply bytes.
    async with Client.from_url(fault_proxy.url, max_size=1, protocol=2) as client:
        await client.ping()
        # One ECHO reply ("$3\r\nabc\r\n", 9 bytes) fits, and on a new connection
        # so does the handshake's "+PONG\r\n" (7 bytes) before it; two do not.
        fault_proxy.close_after(17)
        assert await client.echo("abc") == b"abc"
        with pytest.raises(ConnectionFailure):
            await client.echo("abc")
        assert await client.echo("abc") == b"abc"  # a new connection, a new budget
        with pytest.raises(ConnectionFailure):
            await client.echo("abc")
        fault_proxy.close_after(None)
        await assert_own_replies(client)
        stats = assert_balanced(client.pool)
        assert (stats.created, stats.closed) == (3, 2)


@pytest.mark.parametrize("reply_latency", [0.0, 0.5], ids=["reply-racing", "reply-in-flight"])
async def test_get_cancelled_after_reaching_the_server_leaves_the_pool_balanced(
    reply_latency: float, fault_proxy: FaultProxy, redis_url: str
) -> None:
    name = key()
    async with Client.from_url(fault_proxy.url, max_size=2) as client:
        await client.set(name, "mine")
        fault_proxy.latency(reply_latency)
        task = asyncio.create_task(client.get(name))
        await fault_proxy.wait_for_command(b"get", timeout=2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            async with asyncio.timeout(2):
                await task
        fault_proxy.latency(0)
        assert client.pool.stats().in_use == 0
        stats = assert_balanced(client.pool)
        assert stats.closed == 1
        await assert_own_replies(client)
        assert await client.get(name) == b"mine"


async def test_incr_cancelled_after_reaching_the_server_has_run(
    fault_proxy: FaultProxy, redis_url: str
) -> None:
    counter = key("counter")
    async with Client.from_url(fault_proxy.url) as client:
        fault_proxy.latency(0.5)
        task = asyncio.create_task(client.incr(counter))
        await fault_proxy.wait_for_command("INCR", timeout=2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            async with asyncio.timeout(2):
                await task
        fault_proxy.latency(0)
        assert await client.get(counter) == b"1"
        assert_balanced(client.pool)


async def test_garbled_handshake_reply_raises_protocol_error_naming_the_server(
    fault_proxy: FaultProxy,
) -> None:
    # CLIENT SETNAME makes the handshake read a reply, and that reply is garbled.
    async with Client.from_url(
        fault_proxy.url, acquire_timeout=0.5, client_name="proxied"
    ) as client:
        fault_proxy.garble_next_reply()
        with pytest.raises(ProtocolError) as failure:
            await client.ping()
        assert f"127.0.0.1:{fault_proxy.port}" in str(failure.value)
        assert await client.ping() is True
        assert_balanced(client.pool)
