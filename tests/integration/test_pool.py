"""The pool against a real redis-server: sizing, fair waiting, reaping, closing.

Server-side facts (how many connections exist, which connection ran a
command) are read over a plain blocking socket that is not part of the pool
under test, so they do not depend on the code being tested.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import pytest

from aiopool import (
    Client,
    Connection,
    ConnectionFailure,
    Pool,
    PoolClosed,
    PoolTimeout,
    RedisError,
)
from aiopool.testing import RedisServer

from .pool_support import (
    assert_balanced,
    assert_own_replies,
    clients_named,
    unique_name,
    wait_for_waiters,
    wait_until,
)

# -- helpers -------------------------------------------------------------------------


async def borrow_together(pool: Pool, count: int) -> list[int]:
    """Hold ``count`` connections at the same time; return their CLIENT IDs."""
    everyone_in = asyncio.Event()
    held: list[int] = []

    async def one() -> None:
        async with pool.acquire() as conn:
            held.append(await conn.execute("CLIENT", "ID"))
            if len(held) == count:
                everyone_in.set()
            await everyone_in.wait()

    async with asyncio.timeout(10):
        await asyncio.gather(*(one() for _ in range(count)))
    return held


# -- public API ----------------------------------------------------------------------


async def test_client_from_url_runs_commands_and_exposes_its_pool(redis_url: str) -> None:
    async with Client.from_url(redis_url, max_size=3) as client:
        assert isinstance(client.pool, Pool)
        assert client.pool.options.max_size == 3
        assert await client.execute("SET", "greeting", "hello") == b"OK"
        assert await client.execute("GET", "greeting") == b"hello"
        async with client.pool.acquire() as conn:
            assert isinstance(conn, Connection)
            assert await conn.execute("GET", "greeting") == b"hello"
        stats = assert_balanced(client.pool)
        assert stats.acquired == 3
    assert client.pool.is_closed()


async def test_client_wraps_a_pool_and_closing_the_client_closes_the_pool(redis_url: str) -> None:
    pool = Pool.from_url(redis_url, max_size=2)
    client = Client(pool)
    assert client.pool is pool
    try:
        assert await client.execute("ECHO", "wrapped") == b"wrapped"
    finally:
        await client.aclose()
    assert pool.is_closed()
    with pytest.raises(PoolClosed, match="closed"):
        await client.execute("PING")


async def test_pool_opens_no_connection_until_first_use_when_min_size_is_zero(
    redis_server: RedisServer, redis_url: str
) -> None:
    name = unique_name()
    client = Client.from_url(redis_url, client_name=name)
    try:
        assert client.pool.stats().size == 0
        async with client.pool:
            stats = client.pool.stats()
            assert (stats.size, stats.created) == (0, 0)
            assert clients_named(redis_server, name) == []
            assert await client.execute("CLIENT", "GETNAME") == name.encode()
            stats = client.pool.stats()
            assert (stats.size, stats.idle, stats.created, stats.acquired) == (1, 1, 1, 1)
            assert len(clients_named(redis_server, name)) == 1
    finally:
        await client.aclose()


async def test_open_prewarms_min_size_connections(
    redis_server: RedisServer, redis_url: str
) -> None:
    name = unique_name()
    async with Pool.from_url(redis_url, min_size=3, max_size=5, client_name=name) as pool:
        stats = pool.stats()
        assert (stats.size, stats.idle, stats.created, stats.in_use) == (3, 3, 3, 0)
        assert len(clients_named(redis_server, name)) == 3
        # The warm connections are the ones handed out: no new connection is made.
        assert len(set(await borrow_together(pool, 3))) == 3
        assert pool.stats().created == 3

    explicit = Pool.from_url(redis_url, min_size=2, client_name=name + "-explicit")
    try:
        assert await explicit.open() is explicit
        assert explicit.stats().idle == 2
        assert len(clients_named(redis_server, name + "-explicit")) == 2
    finally:
        await explicit.aclose()
    await wait_until(
        lambda: clients_named(redis_server, name + "-explicit") == [],
        "the closed pool's connections to leave the server",
    )


async def test_max_size_is_a_hard_cap_under_200_concurrent_tasks(
    redis_server: RedisServer, redis_url: str
) -> None:
    name = unique_name()
    max_size = 5
    peak_in_use = peak_size = peak_on_server = 0
    done = asyncio.Event()

    async with Client.from_url(
        redis_url, max_size=max_size, acquire_timeout=20, client_name=name
    ) as client:
        pool = client.pool

        async def watch_server() -> None:
            nonlocal peak_on_server
            while not done.is_set():
                peak_on_server = max(peak_on_server, len(clients_named(redis_server, name)))
                await asyncio.sleep(0.002)

        async def worker(i: int) -> None:
            nonlocal peak_in_use, peak_size
            for j in range(3):
                value = f"{i}:{j}"
                async with pool.acquire() as conn:
                    stats = pool.stats()
                    peak_in_use = max(peak_in_use, stats.in_use)
                    peak_size = max(peak_size, stats.size)
                    assert await conn.execute("SET", f"cap:{i}", value) == b"OK"
                    assert await conn.execute("GET", f"cap:{i}") == value.encode()
                assert await client.execute("ECHO", value) == value.encode()

        watcher = asyncio.create_task(watch_server())
        try:
            async with asyncio.timeout(30):
                await asyncio.gather(*(worker(i) for i in range(200)))
        finally:
            done.set()
            await watcher
        stats = assert_balanced(pool)
        assert peak_in_use == max_size, "200 tasks should have saturated the pool"
        assert peak_size <= max_size
        assert stats.created <= max_size
        assert stats.acquired == 200 * 3 * 2
        assert 1 <= peak_on_server <= max_size
        assert len(clients_named(redis_server, name)) <= max_size


# -- exhaustion and fair waiting -----------------------------------------------------


async def test_acquire_times_out_when_pool_exhausted(
    redis_server: RedisServer, redis_url: str
) -> None:
    async with Pool.from_url(redis_url, max_size=1, acquire_timeout=0.2) as pool:
        holding = asyncio.Event()
        release = asyncio.Event()

        async def hold() -> None:
            async with pool.acquire() as conn:
                await conn.execute("PING")
                holding.set()
                await release.wait()

        holder = asyncio.create_task(hold(), name="slow-holder")
        await holding.wait()
        started = time.monotonic()
        with pytest.raises(PoolTimeout) as caught:
            async with pool.acquire():
                pass
        elapsed = time.monotonic() - started
        release.set()
        await holder

        assert 0.18 <= elapsed < 1.0
        assert isinstance(caught.value, TimeoutError)
        message = str(caught.value)
        assert f"{redis_server.host}:{redis_server.port}" in message
        assert "acquire_timeout=0.2" in message
        assert "1 of max_size=1 in use" in message
        assert "'slow-holder'" in message
        held = re.search(r"'slow-holder' for (\d+\.\d+)s", message)
        assert held is not None, message
        assert float(held.group(1)) >= 0.18
        assert pool.stats().timeouts == 1
        assert_balanced(pool)
        await assert_own_replies(Client(pool))


async def test_pool_timeout_counts_the_other_waiting_tasks(redis_url: str) -> None:
    async with Pool.from_url(redis_url, max_size=1, acquire_timeout=0.3) as pool:

        async def try_acquire() -> None:
            async with pool.acquire():
                pass

        async with pool.acquire():
            first = asyncio.create_task(try_acquire())
            await wait_for_waiters(pool, 1)
            second = asyncio.create_task(try_acquire())
            await wait_for_waiters(pool, 2)
            results = await asyncio.gather(first, second, return_exceptions=True)
        assert all(isinstance(result, PoolTimeout) for result in results), results
        others = sorted(
            re.findall(r"; (\d+) other task\(s\) waiting", str(result)) for result in results
        )
        # The first to give up still had the second queued behind it.
        assert others == [["0"], ["1"]], results
        assert pool.stats().timeouts == 2
        assert_balanced(pool)


async def test_waiters_are_served_in_fifo_order(redis_url: str) -> None:
    async with Pool.from_url(redis_url, max_size=1, acquire_timeout=5) as pool:
        order: list[str] = []

        async def waiter(name: str) -> None:
            async with pool.acquire() as conn:
                order.append(name)
                assert await conn.execute("ECHO", name) == name.encode()

        names = [f"waiter-{i}" for i in range(6)]
        tasks = []
        async with pool.acquire():
            for count, name in enumerate(names, start=1):
                tasks.append(asyncio.create_task(waiter(name), name=name))
                await wait_for_waiters(pool, count)
        async with asyncio.timeout(5):
            await asyncio.gather(*tasks)
        assert order == names
        stats = assert_balanced(pool)
        assert stats.created == 1


async def test_newcomer_does_not_overtake_a_woken_waiter(redis_url: str) -> None:
    async with Pool.from_url(redis_url, max_size=1, acquire_timeout=5) as pool:
        order: list[str] = []

        async def waiter() -> None:
            async with pool.acquire() as conn:
                order.append("waiter")
                assert await conn.execute("ECHO", "waiter") == b"waiter"

        async with pool.acquire():
            task = asyncio.create_task(waiter())
            await wait_for_waiters(pool, 1)
        # The slot was just handed to the woken waiter, which has not run yet.
        # Acquiring now, without yielding first, must queue behind it.
        async with pool.acquire() as conn:
            order.append("newcomer")
            assert await conn.execute("ECHO", "newcomer") == b"newcomer"
        async with asyncio.timeout(5):
            await task
        assert order == ["waiter", "newcomer"]
        assert_balanced(pool)


async def test_newcomer_task_queues_behind_waiters_already_woken(redis_url: str) -> None:
    async with Pool.from_url(redis_url, max_size=2, acquire_timeout=5) as pool:
        order: list[str] = []

        async def borrower(name: str) -> None:
            async with pool.acquire() as conn:
                order.append(name)
                assert await conn.execute("ECHO", name) == name.encode()

        release = asyncio.Event()

        async def hold() -> None:
            async with pool.acquire():
                await release.wait()

        holders = [asyncio.create_task(hold()) for _ in range(2)]
        await wait_until(lambda: pool.stats().in_use == 2, "both connections borrowed")
        waiters = [asyncio.create_task(borrower(f"waiter-{i}")) for i in range(3)]
        await wait_for_waiters(pool, 3)
        release.set()
        # Arrives in the same loop iteration as the releases.
        newcomer = asyncio.create_task(borrower("newcomer"))
        async with asyncio.timeout(5):
            await asyncio.gather(*holders, *waiters, newcomer)
        assert order.index("newcomer") == 3, order
        assert_balanced(pool)


# -- reaping and recycling -----------------------------------------------------------


async def test_idle_connections_above_min_size_are_reaped_after_idle_timeout(
    redis_server: RedisServer, redis_url: str
) -> None:
    name = unique_name()
    async with Pool.from_url(
        redis_url, min_size=1, max_size=4, idle_timeout=0.2, client_name=name
    ) as pool:
        await borrow_together(pool, 4)
        released = time.monotonic()
        stats = pool.stats()
        assert (stats.size, stats.idle) == (4, 4)
        await wait_until(lambda: pool.stats().size == 1, "idle connections to be reaped")
        assert time.monotonic() - released >= 0.19, "reaped before idle_timeout"
        stats = assert_balanced(pool)
        assert (stats.idle, stats.created, stats.closed) == (1, 4, 3)
        await wait_until(
            lambda: len(clients_named(redis_server, name)) == 1,
            "the reaped connections to leave the server",
        )
        # The survivor is kept at min_size however long it idles.
        await asyncio.sleep(0.3)
        assert pool.stats().size == 1
        await assert_own_replies(Client(pool))


async def test_idle_connections_are_all_reaped_when_min_size_is_zero(redis_url: str) -> None:
    async with Pool.from_url(redis_url, max_size=3, idle_timeout=0.1) as pool:
        await borrow_together(pool, 3)
        await wait_until(lambda: pool.stats().size == 0, "every idle connection reaped")
        stats = assert_balanced(pool)
        assert stats.closed == 3
        assert await Client(pool).execute("ECHO", "again") == b"again"


async def test_connections_are_recycled_after_max_lifetime(redis_url: str) -> None:
    async with Pool.from_url(
        redis_url, max_lifetime=0.3, idle_timeout=None, health_check_interval=None
    ) as pool:
        async with pool.acquire() as conn:
            first = await conn.execute("CLIENT", "ID")
        born = time.monotonic()
        await wait_until(lambda: pool.stats().closed == 1, "the old connection to be retired")
        assert time.monotonic() - born >= 0.2, "retired before max_lifetime"
        async with pool.acquire() as conn:
            second = await conn.execute("CLIENT", "ID")
        assert second != first
        stats = assert_balanced(pool)
        assert (stats.created, stats.closed) == (2, 1)


async def test_connection_held_past_max_lifetime_is_closed_on_release(redis_url: str) -> None:
    async with Pool.from_url(
        redis_url, max_lifetime=0.2, idle_timeout=None, health_check_interval=None
    ) as pool:
        async with pool.acquire() as conn:
            first = await conn.execute("CLIENT", "ID")
            await asyncio.sleep(0.25)  # the lifetime runs out while it is borrowed
        stats = assert_balanced(pool)
        assert (stats.size, stats.closed) == (0, 1)
        async with pool.acquire() as conn:
            assert await conn.execute("CLIENT", "ID") != first


# -- closing -------------------------------------------------------------------------


async def test_aclose_waits_for_borrowed_connections(redis_url: str) -> None:
    pool = Pool.from_url(redis_url, close_timeout=5)
    borrowed = asyncio.Event()
    finish = asyncio.Event()

    async def hold() -> bytes:
        async with pool.acquire() as conn:
            borrowed.set()
            await finish.wait()
            reply: bytes = await conn.execute("ECHO", "finished")
            return reply

    holder = asyncio.create_task(hold())
    await borrowed.wait()
    closing = asyncio.create_task(pool.aclose())
    await wait_until(pool.is_closed, "aclose to start")
    await asyncio.sleep(0.05)
    assert not closing.done(), "aclose returned while a connection was still borrowed"
    finish.set()
    async with asyncio.timeout(2):
        assert await holder == b"finished"
        await closing
    stats = pool.stats()
    assert (stats.size, stats.in_use, stats.idle, stats.waiting) == (0, 0, 0, 0)
    assert stats.closed == stats.created == 1


async def test_aclose_aborts_connections_still_borrowed_after_close_timeout(
    redis_server: RedisServer, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    pool = Pool.from_url(redis_url, close_timeout=0.2)
    borrowed = asyncio.Event()

    async def hold() -> None:
        async with pool.acquire() as conn:
            borrowed.set()
            await conn.execute("BLPOP", "never-pushed", 0, timeout=None)

    holder = asyncio.create_task(hold())
    await borrowed.wait()
    started = time.monotonic()
    await pool.aclose()
    elapsed = time.monotonic() - started
    assert 0.18 <= elapsed < 1.0
    with pytest.raises(ConnectionFailure) as caught:
        async with asyncio.timeout(2):
            await holder
    assert caught.value.address == f"{redis_server.host}:{redis_server.port}"
    assert "close_timeout=0.2" in caplog.text
    stats = pool.stats()
    assert (stats.size, stats.in_use, stats.idle) == (0, 0, 0)
    assert stats.closed == 1


async def test_command_aborted_by_aclose_says_the_pool_closed_it(redis_url: str) -> None:
    # The server did nothing wrong here: the message must point at the pool's
    # close_timeout, not say that the server closed the connection.
    pool = Pool.from_url(redis_url, close_timeout=0.1)
    borrowed = asyncio.Event()

    async def hold() -> None:
        async with pool.acquire() as conn:
            borrowed.set()
            await conn.execute("BLPOP", "never-pushed", 0, timeout=None)

    holder = asyncio.create_task(hold())
    await borrowed.wait()
    await pool.aclose()
    with pytest.raises(ConnectionFailure) as caught:
        async with asyncio.timeout(2):
            await holder
    message = str(caught.value)
    assert "BLPOP" in message
    assert "close_timeout" in message, message


async def test_waiter_handed_a_connection_as_the_pool_closes_gets_pool_closed(
    redis_url: str,
) -> None:
    pool = Pool.from_url(redis_url, max_size=1, acquire_timeout=5)

    async def borrow() -> Any:
        async with pool.acquire() as conn:
            return await conn.execute("ECHO", "after-close")

    async with pool.acquire() as conn:
        await conn.execute("PING")
        waiter = asyncio.create_task(borrow())
        await wait_for_waiters(pool, 1)
    # The connection has just been handed to the waiter, which has not run
    # yet; it is still a waiter when aclose() starts, and aclose() must not
    # leave a connection of this pool open and borrowed once it has returned.
    await pool.aclose()
    with pytest.raises(PoolClosed):
        async with asyncio.timeout(2):
            await waiter
    stats = pool.stats()
    assert (stats.size, stats.in_use, stats.idle, stats.waiting) == (0, 0, 0, 0)


async def test_waiters_get_pool_closed_at_once_when_the_pool_closes(redis_url: str) -> None:
    pool = Pool.from_url(redis_url, max_size=1, acquire_timeout=10, close_timeout=5)
    finish = asyncio.Event()

    async def hold() -> None:
        async with pool.acquire():
            await finish.wait()

    async def wait_for_slot() -> None:
        async with pool.acquire():
            pass

    holder = asyncio.create_task(hold())
    await wait_until(lambda: pool.stats().in_use == 1, "the holder to borrow")
    waiters = [asyncio.create_task(wait_for_slot()) for _ in range(3)]
    await wait_for_waiters(pool, 3)
    closing = asyncio.create_task(pool.aclose())
    started = time.monotonic()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert time.monotonic() - started < 0.5, "waiters were not failed at once"
    assert all(isinstance(result, PoolClosed) for result in results), results
    assert all("closed" in str(result) for result in results)
    assert not closing.done()
    assert pool.stats().waiting == 0
    finish.set()
    async with asyncio.timeout(2):
        await holder
        await closing
    stats = pool.stats()
    assert (stats.size, stats.in_use, stats.waiting) == (0, 0, 0)


async def test_acquire_after_aclose_raises_pool_closed_and_aclose_is_idempotent(
    redis_url: str,
) -> None:
    client = Client.from_url(redis_url, min_size=2)
    async with client:
        assert await client.execute("ECHO", "open") == b"open"
    pool = client.pool
    assert pool.is_closed()
    with pytest.raises(PoolClosed, match="closed; create a new pool"):
        async with pool.acquire():
            pass
    with pytest.raises(PoolClosed, match="closed"):
        await client.execute("PING")
    with pytest.raises(PoolClosed):
        await pool.open()
    await pool.aclose()
    await asyncio.gather(pool.aclose(), client.aclose())
    stats = pool.stats()
    assert (stats.size, stats.in_use, stats.idle) == (0, 0, 0)
    assert stats.closed == stats.created == 2
    assert "closed" in repr(pool)


# -- event loops ---------------------------------------------------------------------


async def test_pool_used_from_a_second_event_loop_raises_runtime_error(redis_url: str) -> None:
    async with Client.from_url(redis_url) as client:
        assert await client.execute("ECHO", "home") == b"home"

        def use_from_another_loop() -> list[BaseException]:
            errors: list[BaseException] = []

            async def via_client() -> None:
                await client.execute("PING")

            async def via_acquire() -> None:
                async with client.pool.acquire():
                    pass

            for attempt in (via_client, via_acquire):
                try:
                    asyncio.run(attempt())
                except RuntimeError as exc:
                    errors.append(exc)
            return errors

        errors = await asyncio.to_thread(use_from_another_loop)
        assert len(errors) == 2, errors
        for error in errors:
            assert "event loop" in str(error)
            assert "one client per event loop" in str(error)
        # The pool is untouched on its own loop.
        assert_balanced(client.pool)
        await assert_own_replies(client)


def test_pool_first_used_in_one_asyncio_run_fails_in_the_next(redis_url: str) -> None:
    pool = Pool.from_url(redis_url)

    async def first() -> None:
        async with pool.acquire() as conn:
            assert await conn.execute("ECHO", "first") == b"first"
        await pool.aclose()

    async def second() -> None:
        async with pool.acquire():
            pass

    asyncio.run(first())
    with pytest.raises(RuntimeError, match="event loop"):
        asyncio.run(second())


# -- bookkeeping ---------------------------------------------------------------------


async def test_stats_count_acquires_and_track_the_oldest_borrow(redis_url: str) -> None:
    async with Pool.from_url(redis_url, max_size=4, min_size=1) as pool:
        stats = pool.stats()
        assert (stats.max_size, stats.min_size, stats.oldest_held) == (4, 1, 0.0)
        async with pool.acquire() as conn:
            await conn.execute("PING")
            await asyncio.sleep(0.05)
            stats = pool.stats()
            assert (stats.in_use, stats.idle, stats.size) == (1, 0, 1)
            assert stats.oldest_held >= 0.04
            assert "in_use=1" in repr(pool)
        stats = assert_balanced(pool)
        assert (stats.acquired, stats.created, stats.closed, stats.timeouts) == (1, 1, 0, 0)
        assert stats.oldest_held == 0.0


async def test_reply_errors_leave_the_connection_in_the_pool(redis_url: str) -> None:
    async with Client.from_url(redis_url, max_size=1) as client:
        await client.execute("SET", "text", "not a list")
        with pytest.raises(RedisError, match="WRONGTYPE"):
            await client.execute("LPUSH", "text", "x")
        assert await client.execute("GET", "text") == b"not a list"
        stats = assert_balanced(client.pool)
        assert (stats.created, stats.closed) == (1, 0)


async def test_a_custom_checker_decides_which_idle_connections_are_replaced(
    redis_url: str,
) -> None:
    """``Pool(checker=...)`` runs instead of PING on an idle connection due for a check."""
    checked: list[int] = []

    async def checker(conn: Connection, timeout: float) -> BaseException | None:
        checked.append(await conn.execute("CLIENT", "ID", timeout=timeout))
        return (
            ConnectionFailure("the custom check failed", conn.address)
            if len(checked) == 1
            else None
        )

    pool = Pool.from_url(redis_url, health_check_interval=0.001, max_size=1)
    pool = Pool(pool.connection_options, pool.options, checker=checker)
    async with pool:
        async with pool.acquire() as conn:
            first = await conn.execute("CLIENT", "ID")
        await asyncio.sleep(0.01)  # idle past health_check_interval
        async with pool.acquire() as conn:  # checked: fails, so a new connection is opened
            second = await conn.execute("CLIENT", "ID")
        await asyncio.sleep(0.01)
        async with pool.acquire() as conn:  # checked: passes, kept
            assert await conn.execute("CLIENT", "ID") == second
    assert checked == [first, second]
    assert first != second
    stats = pool.stats()
    assert (stats.created, stats.closed) == (2, 2), stats
