"""Faults: killed connections, restarts, a server that is down, frozen, full or
refuses the password. Every test that kills, pauses or reconfigures a server
owns that server.

After each fault the test checks that the failure was typed and bounded in
time, that the same pool then serves every caller its own replies, and that
the pool's counts balance.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import traceback
from typing import Any

import pytest

from aiopool import (
    AuthenticationError,
    Client,
    CommandTimeout,
    ConnectError,
    ConnectionFailure,
    Pool,
    PoolClosed,
    RedisError,
)
from aiopool.testing import FaultProxy, RedisServer

from .pool_support import (
    RawConnection,
    address,
    admin,
    assert_balanced,
    assert_own_replies,
    client_ids,
    free_port,
    unique_name,
    wait_until,
)

# -- killed connections --------------------------------------------------------------


async def test_checkout_replaces_an_idle_connection_killed_server_side_before_the_loop_sees_it(
    private_redis_server: RedisServer,
) -> None:
    server = private_redis_server
    async with Client.from_url(
        server.url, health_check_interval=None, idle_timeout=None, max_size=2
    ) as client:
        async with client.pool.acquire() as conn:
            victim = await conn.execute("CLIENT", "ID")
        assert admin(server, "CLIENT", "KILL", "ID", victim) == 1
        # Nothing awaited since the kill: the loop has not read the EOF. The
        # checkout polls the socket and finds it, without a PING.
        replacement = await client.execute("CLIENT", "ID")
        assert replacement != victim
        stats = assert_balanced(client.pool)
        assert (stats.created, stats.closed, stats.size) == (2, 1, 1)
        await assert_own_replies(client)


async def test_idle_connection_killed_server_side_is_replaced_once_its_eof_is_seen(
    private_redis_server: RedisServer,
) -> None:
    server = private_redis_server
    async with Client.from_url(server.url, health_check_interval=None, max_size=2) as client:
        async with client.pool.acquire() as conn:
            victim = await conn.execute("CLIENT", "ID")
        assert admin(server, "CLIENT", "KILL", "ID", victim) == 1
        await wait_until(lambda: not conn.is_pooled_and_open(), "the pool to see the EOF")
        assert await client.execute("ECHO", "after-kill") == b"after-kill"
        assert await client.execute("CLIENT", "ID") != victim
        stats = assert_balanced(client.pool)
        assert (stats.created, stats.closed) == (2, 1)
        await assert_own_replies(client)


async def test_connection_killed_just_before_a_command_fails_cleanly_and_is_replaced(
    private_redis_server: RedisServer,
) -> None:
    server = private_redis_server
    async with Client.from_url(server.url, health_check_interval=None, max_size=1) as client:
        victim = await client.execute("CLIENT", "ID")
        assert admin(server, "CLIENT", "KILL", "ID", victim) == 1
        # The pool has had no chance to see the EOF: the command may fail, but
        # only as a ConnectionFailure, never with somebody else's reply.
        outcome: object
        try:
            outcome = await client.execute("ECHO", "racing-the-kill")
        except ConnectionFailure as exc:
            outcome = exc
        if isinstance(outcome, ConnectionFailure):
            assert outcome.address == address(server)
            assert "may or may not have run" in str(outcome)
        else:
            assert outcome == b"racing-the-kill"
        assert await client.execute("CLIENT", "ID") != victim
        stats = assert_balanced(client.pool)
        assert stats.closed == 1
        await assert_own_replies(client)


async def test_pool_refills_to_min_size_after_idle_connections_are_killed(
    private_redis_server: RedisServer,
) -> None:
    server = private_redis_server
    name = unique_name()
    async with Pool.from_url(
        server.url, min_size=2, idle_timeout=0.2, health_check_interval=None, client_name=name
    ) as pool:
        old = client_ids(server, name)
        assert len(old) == 2
        for victim in old:
            assert admin(server, "CLIENT", "KILL", "ID", victim) == 1
        await wait_until(
            lambda: pool.stats().created == 4 and pool.stats().idle == 2,
            "the pool to replace both killed connections",
        )
        stats = assert_balanced(pool)
        assert (stats.closed, stats.size) == (2, 2)
        new = client_ids(server, name)
        assert len(new) == 2
        assert not new & old
        await assert_own_replies(Client(pool))


# -- server restarts and outages -----------------------------------------------------


async def test_pool_recovers_by_itself_after_server_restart_under_load(
    private_redis_server: RedisServer,
) -> None:
    server = private_redis_server
    workers = 8
    async with Client.from_url(
        server.url,
        max_size=workers,
        acquire_timeout=0.5,
        connect_timeout=0.5,
        command_timeout=1.0,
        reconnect_backoff=0.02,
        reconnect_backoff_max=0.1,
    ) as client:
        restarted = asyncio.Event()
        failures: list[BaseException] = []
        unexpected: list[BaseException] = []
        wrong: list[tuple[str, object]] = []
        before = [0] * workers
        after = [0] * workers

        async def worker(i: int) -> None:
            deadline = time.monotonic() + 20
            for j in range(100_000):
                if after[i] >= 25 or time.monotonic() > deadline:
                    return
                tag = f"worker-{i}-{j}"
                try:
                    reply = await client.execute("ECHO", tag)
                except (ConnectionFailure, CommandTimeout) as exc:
                    failures.append(exc)
                    continue
                except Exception as exc:
                    unexpected.append(exc)
                    continue
                if reply != tag.encode():
                    wrong.append((tag, reply))
                if restarted.is_set():
                    after[i] += 1
                else:
                    before[i] += 1

        tasks = [asyncio.create_task(worker(i)) for i in range(workers)]
        await wait_until(lambda: min(before) >= 5, "load before the restart")
        await asyncio.to_thread(server.kill)
        await wait_until(lambda: len(failures) >= workers, "the outage to be noticed")
        await asyncio.to_thread(server.restart)
        restarted.set()
        async with asyncio.timeout(25):
            await asyncio.gather(*tasks)

        assert not wrong, f"replies handed to the wrong caller: {wrong[:5]}"
        assert not unexpected, f"errors of the wrong type during the outage: {unexpected[:5]!r}"
        assert all(count >= 25 for count in after), f"did not recover: {after}"
        assert all(getattr(exc, "address", address(server)) == address(server) for exc in failures)
        stats = assert_balanced(client.pool)
        assert stats.connect_errors >= 1
        await assert_own_replies(client)


async def test_connect_error_names_address_and_attempts_when_server_is_down() -> None:
    port = free_port()
    client = Client.from_url(
        f"redis://127.0.0.1:{port}/0",
        acquire_timeout=0.5,
        reconnect_backoff=0.02,
        reconnect_backoff_max=0.1,
    )
    try:
        started = time.monotonic()
        with pytest.raises(ConnectError) as caught:
            await client.execute("PING")
        elapsed = time.monotonic() - started
        stats = client.pool.stats()
    finally:
        await client.aclose()
    assert 0.3 <= elapsed <= 0.7
    error = caught.value
    assert isinstance(error, ConnectionFailure)
    assert isinstance(error, ConnectionError)
    assert error.address == f"127.0.0.1:{port}"
    message = str(error)
    assert f"127.0.0.1:{port}" in message
    assert "acquire_timeout=0.5" in message
    attempts = re.search(r"after (\d+) attempt\(s\)", message)
    assert attempts is not None, message
    assert int(attempts.group(1)) >= 2
    assert stats.connect_errors == int(attempts.group(1))
    assert (stats.size, stats.in_use, stats.waiting, stats.created) == (0, 0, 0, 0)


async def test_acquire_succeeds_when_server_comes_up_during_backoff() -> None:
    server = RedisServer(port=free_port())

    async def start_later() -> None:
        await asyncio.sleep(0.3)  # the outage the pool has to ride out
        await asyncio.to_thread(server.start)

    starter = asyncio.create_task(start_later())
    try:
        async with Client.from_url(
            server.url, acquire_timeout=5, reconnect_backoff=0.02, reconnect_backoff_max=0.1
        ) as client:
            started = time.monotonic()
            assert await client.execute("ECHO", "came-up") == b"came-up"
            elapsed = time.monotonic() - started
            assert 0.2 <= elapsed < 5
            stats = assert_balanced(client.pool)
            assert stats.connect_errors >= 1
            assert stats.created == 1
            await assert_own_replies(client)
    finally:
        await starter
        await asyncio.to_thread(server.stop)


async def test_failed_warm_up_raises_connect_error_and_is_retried_on_the_next_acquire() -> None:
    # Pool.open(): "the pool stays usable and retries on the next acquire".
    server = RedisServer(port=free_port())
    pool = Pool.from_url(
        server.url,
        min_size=2,
        acquire_timeout=0.3,
        idle_timeout=None,
        reconnect_backoff=0.02,
        reconnect_backoff_max=0.05,
    )
    try:
        with pytest.raises(ConnectError) as caught:
            await pool.open()
        assert address(server) in str(caught.value)
        stats = assert_balanced(pool)
        assert stats.size == 0
        await asyncio.to_thread(server.start)
        await assert_own_replies(Client(pool), tasks=1)
        await wait_until(
            lambda: pool.stats().idle == 2, "the pool to warm up to min_size=2 again", timeout=2.0
        )
        assert_balanced(pool)
    finally:
        await pool.aclose()
        await asyncio.to_thread(server.stop)


async def test_connect_error_names_connect_timeout_when_the_handshake_never_answers() -> None:
    with RedisServer(password="handshake-Pa55") as server:
        client = Client.from_url(
            server.url,
            connect_timeout=0.2,
            acquire_timeout=0.5,
            reconnect_backoff=0.02,
            reconnect_backoff_max=0.05,
        )
        try:
            server.pause()  # accepts at the kernel level, never answers AUTH
            try:
                started = time.monotonic()
                with pytest.raises(ConnectError) as caught:
                    await client.execute("PING")
                elapsed = time.monotonic() - started
            finally:
                server.resume()
            assert elapsed < 1.0
            message = str(caught.value)
            assert address(server) in message
            assert "acquire_timeout=0.5s" in message
            # The message names the option to raise, so it must show its value.
            # (The last attempt here only had what was left of acquire_timeout.)
            shown = re.findall(r"connect_timeout=([0-9.]+)s", message)
            assert shown, message
            assert set(shown) == {"0.2"}, message
            attempts = re.search(r"after (\d+) attempt\(s\)", message)
            assert attempts is not None, message
            assert int(attempts.group(1)) >= 2
            assert "handshake-Pa55" not in message
            stats = assert_balanced(client.pool)
            assert stats.size == 0
            await assert_own_replies(client)
        finally:
            await client.aclose()


# -- command timeouts ------------------------------------------------------------------


async def test_command_timeout_discards_the_connection_and_names_the_option(
    private_redis_server: RedisServer,
) -> None:
    server = private_redis_server
    async with Client.from_url(server.url, command_timeout=0.2, max_size=2) as client:
        first = await client.execute("CLIENT", "ID")
        server.pause()  # the server stops answering, like a long DEBUG SLEEP
        try:
            started = time.monotonic()
            with pytest.raises(CommandTimeout) as caught:
                await client.execute("ECHO", "frozen")
            elapsed = time.monotonic() - started
            stats = client.pool.stats()
        finally:
            server.resume()
        assert 0.18 <= elapsed < 0.8
        assert isinstance(caught.value, TimeoutError)
        message = str(caught.value)
        assert address(server) in message
        assert "command_timeout" in message
        assert "0.2s" in message
        assert "ECHO" in message
        assert (stats.closed, stats.size, stats.in_use) == (1, 0, 0)
        assert await client.execute("ECHO", "awake") == b"awake"
        assert await client.execute("CLIENT", "ID") != first
        assert_balanced(client.pool)
        await assert_own_replies(client)


async def test_command_timeout_bounds_a_large_write_to_a_frozen_server(
    private_redis_server: RedisServer,
) -> None:
    server = private_redis_server
    async with Client.from_url(server.url, command_timeout=0.2, max_size=2) as client:
        await client.execute("PING")
        server.pause()  # the kernel buffers fill up and the write has to wait
        try:
            started = time.monotonic()
            try:
                async with asyncio.timeout(1.5):
                    await client.execute("SET", "huge", b"x" * (32 << 20))
            except CommandTimeout as exc:
                error = exc
            except TimeoutError:
                pytest.fail("command_timeout=0.2 did not bound the write: still blocked after 1.5s")
            elapsed = time.monotonic() - started
            stats = client.pool.stats()
        finally:
            server.resume()
        assert elapsed < 1.0
        message = str(error)
        assert address(server) in message
        assert "command_timeout" in message
        assert "SET" in message
        assert (stats.closed, stats.size, stats.in_use) == (1, 0, 0)
        assert await client.execute("EXISTS", "huge") == 0, "a half-sent command ran"
        assert_balanced(client.pool)
        await assert_own_replies(client)


async def test_blocking_command_gets_its_blocking_time_on_top_of_command_timeout(
    redis_url: str,
) -> None:
    async with Client.from_url(redis_url, command_timeout=0.2) as client:
        started = time.monotonic()
        assert await client.execute("BLPOP", "nothing-here", 0.6) is None
        assert time.monotonic() - started >= 0.55
        stats = assert_balanced(client.pool)
        assert stats.closed == 0


async def test_blocking_command_on_a_borrowed_connection_gets_its_blocking_time_too(
    redis_url: str,
) -> None:
    # README: command_timeout is "Bound on the wait for one reply (blocking
    # commands get their blocking time on top)"; Connection.execute uses the
    # same option, so it must honour the same rule.
    async with Pool.from_url(redis_url, command_timeout=0.2) as pool:
        async with pool.acquire() as conn:
            started = time.monotonic()
            assert await conn.execute("BLPOP", "nothing-here", 0.6) is None
            assert time.monotonic() - started >= 0.55
        stats = assert_balanced(pool)
        assert stats.closed == 0


# -- closing while connecting ------------------------------------------------------------


async def test_aclose_fails_an_acquire_that_is_still_connecting() -> None:
    with RedisServer(password="closing-Pa55") as server:
        pool = Pool.from_url(server.url, acquire_timeout=5, connect_timeout=3)
        client = Client(pool)
        server.pause()  # the handshake hangs: the acquire below stays "opening"
        try:
            caller = asyncio.create_task(client.execute("ECHO", "late"))
            await wait_until(lambda: pool.stats().opening == 1, "the connection to be opening")
            async with asyncio.timeout(2):
                await pool.aclose()
        finally:
            server.resume()
        # aclose() has returned: no connection of this pool may be handed out now.
        with pytest.raises(PoolClosed):
            async with asyncio.timeout(4):
                await caller
        stats = pool.stats()
        assert (stats.size, stats.in_use, stats.opening) == (0, 0, 0)


# -- authentication ------------------------------------------------------------------


@pytest.mark.parametrize("how", ["url", "keyword"])
async def test_wrong_password_fails_fast_and_is_never_shown(
    how: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="aiopool")
    right, wrong = "Right-Pa55-q7Zx", "Wrong-Pa55-k3Vb"
    with RedisServer(password=right) as server:
        if how == "url":
            client = Client.from_url(
                f"redis://:{wrong}@127.0.0.1:{server.port}/0", acquire_timeout=5
            )
        else:
            client = Client.from_url(
                f"redis://127.0.0.1:{server.port}/0", password=wrong, acquire_timeout=5
            )
        try:
            started = time.monotonic()
            with pytest.raises(AuthenticationError) as caught:
                await client.execute("PING")
            assert time.monotonic() - started < 1.0, "a refused password must not be retried"
            with pytest.raises(AuthenticationError):
                await client.execute("PING")
            stats = assert_balanced(client.pool)
            assert (stats.size, stats.created, stats.connect_errors) == (0, 0, 2)
            message = str(caught.value)
            assert address(server) in message
            assert "password" in message
            shown = [
                message,
                repr(caught.value),
                "".join(traceback.format_exception(caught.value)),
                repr(client),
                repr(client.pool),
                repr(client.pool.connection_options),
                client.pool.connection_options.url(),
                repr(stats),
                str(stats),
            ]
        finally:
            await client.aclose()
        async with Client.from_url(server.url) as good, good.pool.acquire() as conn:
            assert await conn.execute("PING") == b"PONG"
            shown += [repr(conn), repr(good), repr(good.pool.connection_options)]
        shown.append(caplog.text)
        for text in shown:
            assert wrong not in text
            assert right not in text


@pytest.mark.parametrize(
    "extra", [{}, {"db": 1}, {"client_name": "worker-1"}], ids=["plain", "db", "client_name"]
)
async def test_missing_password_fails_first_command_with_authentication_error(
    extra: dict[str, object],
) -> None:
    with RedisServer(password="needed-Pa55") as server:
        async with Client.from_url(
            f"redis://127.0.0.1:{server.port}/0", acquire_timeout=5, **extra
        ) as client:
            started = time.monotonic()
            with pytest.raises(AuthenticationError) as caught:
                await client.execute("PING")
            assert time.monotonic() - started < 1.0
            message = str(caught.value)
            assert address(server) in message
            assert "NOAUTH" in message
            assert "password" in message, f"the message should point at the password: {message}"
            assert_balanced(client.pool)


# -- maxclients ----------------------------------------------------------------------

_MAXCLIENTS_VARIANTS = [
    pytest.param(None, {}, id="plain"),
    pytest.param("maxc-Pa55", {}, id="password"),
    pytest.param(None, {"client_name": "maxc"}, id="client_name"),
]


@pytest.mark.parametrize(("password", "extra"), _MAXCLIENTS_VARIANTS)
async def test_maxclients_reached_fails_fast_with_a_typed_error_and_the_pool_recovers(
    password: str | None, extra: dict[str, object]
) -> None:
    with RedisServer(password=password, args=["--maxclients", "3"]) as server:
        hogs = [RawConnection(server, password) for _ in range(3)]
        try:
            async with Client.from_url(
                server.url, max_size=2, acquire_timeout=0.5, **extra
            ) as client:
                started = time.monotonic()
                with pytest.raises(RedisError) as caught:
                    async with asyncio.timeout(5):
                        await client.execute("ECHO", "refused")
                assert time.monotonic() - started < 1.0
                assert "max number of clients" in str(caught.value)
                for hog in hogs[1:]:
                    hog.close()
                await wait_until(
                    lambda: hogs[0].connected_clients() == 1, "the other clients to leave"
                )
                await assert_own_replies(client, tasks=10)
                assert_balanced(client.pool)
        finally:
            for hog in hogs:
                hog.close()


@pytest.mark.parametrize(("password", "extra"), _MAXCLIENTS_VARIANTS)
async def test_maxclients_refusal_is_a_connect_error_naming_the_limit(
    password: str | None, extra: dict[str, object]
) -> None:
    # The server refused the connection before any command ran: that is a
    # connection that could not be opened (README: "refused ... ConnectError"),
    # not a reply to the user's command, and certainly not a wrong password.
    with RedisServer(password=password, args=["--maxclients", "2"]) as server:
        hogs = [RawConnection(server, password) for _ in range(2)]
        try:
            async with Client.from_url(
                server.url, acquire_timeout=0.5, reconnect_backoff=0.02, **extra
            ) as client:
                with pytest.raises(RedisError) as caught:
                    async with asyncio.timeout(5):
                        await client.execute("ECHO", "refused")
                error = caught.value
                assert isinstance(error, ConnectError), repr(error)
                assert address(server) in str(error)
                assert "max number of clients" in str(error)
                assert_balanced(client.pool)
        finally:
            for hog in hogs:
                hog.close()


async def test_connection_refused_for_maxclients_is_not_put_back_in_the_pool() -> None:
    with RedisServer(args=["--maxclients", "2"]) as server:
        hogs = [RawConnection(server) for _ in range(2)]
        try:
            async with Client.from_url(server.url, acquire_timeout=0.5) as client:
                with pytest.raises(RedisError, match="max number of clients"):
                    await client.execute("ECHO", "refused")
                # The server closed that socket: it must not wait in the pool
                # for the next caller (whose command would then fail with
                # "may or may not have run" although it never ran).
                stats = client.pool.stats()
                assert (stats.idle, stats.size) == (0, 0), stats
                with pytest.raises(RedisError, match="max number of clients"):
                    await client.execute("ECHO", "refused-again")
        finally:
            for hog in hogs:
                hog.close()


@pytest.mark.parametrize(
    "queue_blocking",
    [
        pytest.param(lambda p: p.blpop("nothing-here", timeout=0.6), id="blpop"),
        pytest.param(lambda p: p.brpop("nothing-here", timeout=0.6), id="brpop"),
        pytest.param(lambda p: p.bzpopmin("nothing-here", timeout=0.6), id="bzpopmin"),
        pytest.param(lambda p: p.xread({"nothing-here": "$"}, block=600), id="xread"),
        pytest.param(lambda p: p.brpoplpush("nothing-here", "x", 0.6), id="brpoplpush"),
        pytest.param(lambda p: p.blmpop(0.6, 1, "nothing-here", direction="LEFT"), id="blmpop"),
        pytest.param(lambda p: p.wait(1, 600), id="wait"),
        pytest.param(lambda p: p.command("BLPOP", "nothing-here", 0.6), id="raw-blpop"),
    ],
)
async def test_typed_blocking_command_in_a_pipeline_gets_its_blocking_time(
    redis_url: str, queue_blocking: Any
) -> None:
    # execute() looks for blocking times only when a blocking command was
    # queued (a flag the typed methods set): this proves each one sets it.
    async with Client.from_url(redis_url, command_timeout=0.2) as client:
        p = client.pipeline(transaction=False).set("before", 1)
        queue_blocking(p)
        started = time.monotonic()
        results = await p.execute()
        assert time.monotonic() - started >= 0.55
        assert results[0] is True
        assert results[1] in (None, 0, [])  # nothing arrived: the blocking time ran out
        assert assert_balanced(client.pool).closed == 0


async def test_pipeline_without_a_blocking_command_times_out_at_command_timeout(
    fault_proxy: FaultProxy,
) -> None:
    # The other side of the flag: plain commands keep the short bound.
    async with Client.from_url(fault_proxy.url, command_timeout=0.2) as client:
        await client.ping()
        fault_proxy.latency(0.8)
        started = time.monotonic()
        with pytest.raises(CommandTimeout):
            await client.pipeline(transaction=False).set("k", 1).get("k").execute()
        assert time.monotonic() - started < 0.6
