"""Cancellation at every await point of a borrow: waiting for a slot,
connecting, the reconnect backoff, the health check, writing, mid-read.

After each cancellation the pool must be exactly as before (no slot lost, no
waiter left behind), and no later caller may ever read a reply meant for the
cancelled one (the CVE-2023-28858 scenario).

The tests that cancel a command sent through a ``Client`` run in each mode of
``fault_support.CLIENT_MODES``: the plain pool, and auto-pipelining, where a
caller cancelled before the end-of-turn write leaves its command unwritten
(it never runs) and one cancelled after it leaves its reply to be read and
dropped, on a shared connection that stays open. Blocking commands get a
connection of their own in both modes. The tests of ``Pool.acquire`` itself
(waiting, connecting, backoff, health check, aclose) are about the pool alone.
"""

from __future__ import annotations

import asyncio
import collections
import random
import time
from typing import Any

import pytest

from aiopool import AutoPipelineStats, Client, ConnectionFailure, Pool
from aiopool.testing import FaultProxy, RedisServer

from .fault_support import CLIENT_MODES, build_client, is_auto, settle
from .pool_support import (
    assert_balanced,
    assert_own_replies,
    blocked_ids,
    cancel_and_settle,
    client_ids,
    clients_named,
    connected_clients,
    free_port,
    unique_name,
    wait_for_waiters,
    wait_until,
)

# -- helpers -------------------------------------------------------------------------


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and check that the cancellation reached its caller."""
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(2):
            await task


# -- waiting for a slot --------------------------------------------------------------


@pytest.mark.parametrize("position", [0, 1, 2], ids=["head", "middle", "tail"])
async def test_cancelled_waiter_leaves_the_queue_and_loses_no_slot(
    position: int, redis_url: str
) -> None:
    async with Pool.from_url(redis_url, max_size=2, acquire_timeout=5) as pool:
        release = asyncio.Event()
        served: list[str] = []

        async def hold() -> None:
            async with pool.acquire() as conn:
                await conn.execute("PING")
                await release.wait()

        async def waiter(name: str) -> None:
            async with pool.acquire() as conn:
                served.append(name)
                assert await conn.execute("ECHO", name) == name.encode()

        holders = [asyncio.create_task(hold()) for _ in range(2)]
        await wait_until(lambda: pool.stats().in_use == 2, "both connections borrowed")
        names = ["waiter-0", "waiter-1", "waiter-2"]
        waiters = []
        for count, name in enumerate(names, start=1):
            waiters.append(asyncio.create_task(waiter(name)))
            await wait_for_waiters(pool, count)

        await cancel_and_wait(waiters[position])
        assert pool.stats().waiting == 2
        release.set()
        async with asyncio.timeout(2):
            await asyncio.gather(*holders, *(w for i, w in enumerate(waiters) if i != position))
        assert served == [name for i, name in enumerate(names) if i != position]
        stats = assert_balanced(pool)
        assert stats.size == stats.created == 2
        # Both slots are still there: two borrowers at once, no timeout, no third connection.
        async with asyncio.timeout(2), pool.acquire(), pool.acquire():
            assert pool.stats().in_use == 2
        await assert_own_replies(Client(pool))
        assert pool.stats().created == 2


async def test_cancelling_a_waiter_just_woken_passes_the_slot_to_the_next(redis_url: str) -> None:
    async with Pool.from_url(redis_url, max_size=1, acquire_timeout=5) as pool:
        served: list[str] = []

        async def waiter(name: str) -> None:
            async with pool.acquire() as conn:
                served.append(name)
                assert await conn.execute("ECHO", name) == name.encode()

        async with pool.acquire():
            woken = asyncio.create_task(waiter("woken"))
            await wait_for_waiters(pool, 1)
            following = asyncio.create_task(waiter("following"))
            await wait_for_waiters(pool, 2)
        # The slot was just handed to "woken", which has not run yet.
        await cancel_and_wait(woken)
        async with asyncio.timeout(1):  # well under acquire_timeout: the slot was passed on
            await following
        assert served == ["following"]
        stats = assert_balanced(pool)
        assert stats.size == stats.created == 1
        await assert_own_replies(Client(pool))


# -- connecting ----------------------------------------------------------------------


@pytest.mark.parametrize("how", ["cancel", "asyncio.timeout"])
async def test_cancel_while_connecting_frees_the_slot_and_closes_the_socket(how: str) -> None:
    password = "connect-Pa55"
    with RedisServer(password=password) as server:
        async with Client.from_url(
            server.url, acquire_timeout=5, connect_timeout=5, max_size=2
        ) as client:
            pool = client.pool
            server.pause()  # TCP connects at the kernel level; AUTH is never answered
            try:
                if how == "cancel":
                    task = asyncio.create_task(client.execute("ECHO", "never"))
                    await wait_until(lambda: pool.stats().opening == 1, "the connect to start")
                    await cancel_and_wait(task)
                else:
                    started = time.monotonic()
                    with pytest.raises(TimeoutError) as caught:
                        async with asyncio.timeout(0.2):
                            await client.execute("ECHO", "never")
                    assert type(caught.value) is TimeoutError
                    assert time.monotonic() - started < 1.0
                stats = assert_balanced(pool)
                assert (stats.size, stats.created, stats.connect_errors) == (0, 0, 0)
            finally:
                server.resume()
            await wait_until(
                lambda: connected_clients(server, password) == 1,
                "the half-open connection to be gone from the server",
            )
            await assert_own_replies(client)
            assert_balanced(pool)


async def test_cancel_during_reconnect_backoff_frees_the_slot() -> None:
    port = free_port()
    server = RedisServer(port=port)
    client = Client.from_url(
        server.url, acquire_timeout=5, reconnect_backoff=0.05, reconnect_backoff_max=0.2
    )
    try:
        task = asyncio.create_task(client.execute("ECHO", "never"))
        await wait_until(lambda: client.pool.stats().connect_errors >= 2, "retries to begin")
        await cancel_and_wait(task)
        stats = assert_balanced(client.pool)
        assert (stats.size, stats.created) == (0, 0)
        await asyncio.to_thread(server.start)
        await assert_own_replies(client)
        assert_balanced(client.pool)
    finally:
        await client.aclose()
        await asyncio.to_thread(server.stop)


async def test_cancel_during_the_health_check_discards_the_connection(
    private_redis_server: RedisServer,
) -> None:
    server = private_redis_server
    async with Client.from_url(
        server.url, health_check_interval=0.05, command_timeout=5, connect_timeout=5
    ) as client:
        pool = client.pool
        await client.execute("PING")
        await asyncio.sleep(0.1)  # idle past health_check_interval: the next borrow PINGs first
        server.pause()
        try:
            task = asyncio.create_task(client.execute("ECHO", "never"))
            await wait_until(lambda: pool.stats().opening == 1, "the health check to start")
            await cancel_and_wait(task)
            stats = assert_balanced(pool)
            assert (stats.size, stats.closed) == (0, 1)
        finally:
            server.resume()
        await assert_own_replies(client)
        assert_balanced(pool)


# -- writing and reading -------------------------------------------------------------


@pytest.mark.parametrize("mode", list(CLIENT_MODES))
async def test_cancel_while_writing_a_large_command_never_runs_half_of_it(
    mode: str, private_redis_server: RedisServer
) -> None:
    server = private_redis_server
    async with build_client(mode, server.url, max_size=2) as client:
        pool = client.pool
        await client.execute("PING")
        server.pause()  # the kernel buffers fill up and the write has to wait
        try:
            task = asyncio.create_task(client.execute("SET", "huge", b"x" * (32 << 20)))
            if is_auto(client):
                # Handed to the shared connection's transport in one write; the
                # caller waits for its reply, not for the write.
                await wait_until(
                    lambda: getattr(client.auto_pipeline_stats(), "in_flight", 0) == 1,
                    "the write to start",
                )
            else:
                await wait_until(lambda: pool.stats().in_use == 1, "the write to start")
            await asyncio.sleep(0.05)
            assert not task.done()
            await cancel_and_wait(task)
            if is_auto(client):
                # Written after the cancelled one, on the same connection: it must get
                # its own reply, not the SET's.
                after = asyncio.create_task(client.execute("ECHO", "after"))
            else:
                stats = assert_balanced(pool)
                assert (stats.size, stats.closed) == (0, 1)
        finally:
            server.resume()
        if is_auto(client):
            # The whole command was written (the rest of it waits in the transport),
            # so it runs, and its reply is read and dropped; the connection stays.
            async with asyncio.timeout(10):
                assert await after == b"after"
            stats = await settle(client, timeout=10)
            assert stats.closed == 0, stats
            assert await client.execute("STRLEN", "huge") == 32 << 20, "half a command ran"
        else:
            assert await client.execute("EXISTS", "huge") == 0, "a half-sent command ran"
        await assert_own_replies(client)
        await settle(client)


@pytest.mark.parametrize("mode", list(CLIENT_MODES))
@pytest.mark.parametrize("via", ["client", "connection"])
async def test_cancel_mid_blpop_discards_the_connection(
    via: str, mode: str, redis_server: RedisServer, redis_url: str
) -> None:
    name = unique_name()
    key = f"queue:{name}"
    # Auto-pipelining never shares a blocking command: it gets a connection of its own.
    async with build_client(mode, redis_url, max_size=2, client_name=name) as client:
        pool = client.pool

        async def blpop() -> Any:
            if via == "client":
                return await client.execute("BLPOP", key, 0)
            async with pool.acquire() as conn:
                return await conn.execute("BLPOP", key, 0, timeout=None)

        task = asyncio.create_task(blpop())
        await wait_until(lambda: bool(blocked_ids(redis_server, name)), "BLPOP to block")
        (victim,) = blocked_ids(redis_server, name)
        await cancel_and_wait(task)
        stats = assert_balanced(pool)
        assert (stats.size, stats.closed) == (0, 1)
        await wait_until(
            lambda: victim not in {int(c["id"]) for c in clients_named(redis_server, name)},
            "the cancelled connection to be closed",
        )
        assert await client.execute("CLIENT", "ID") != victim
        # Nobody is blocked on the list any more: a pushed item stays there.
        assert await client.execute("LPUSH", key, "kept") == 1
        assert await client.execute("LRANGE", key, 0, -1) == [b"kept"]
        await assert_own_replies(client)
        await settle(client)


@pytest.mark.parametrize("mode", list(CLIENT_MODES))
async def test_asyncio_timeout_around_a_blocking_command_discards_the_connection(
    mode: str, redis_server: RedisServer, redis_url: str
) -> None:
    name = unique_name()
    # One connection in the plain pool; with auto-pipelining one shared, and the
    # one the blocking command gets for itself.
    max_size = 2 if mode == "auto" else 1
    async with build_client(mode, redis_url, max_size=max_size, client_name=name) as client:
        first = await client.execute("CLIENT", "ID")
        started = time.monotonic()
        with pytest.raises(TimeoutError) as caught:
            async with asyncio.timeout(0.2):
                await client.execute("BLPOP", "empty-list", 0)
        assert type(caught.value) is TimeoutError
        assert time.monotonic() - started < 1.0
        stats = await settle(client)
        if is_auto(client):
            # The BLPOP's own connection was aborted; the shared one is untouched.
            assert (stats.size, stats.closed, stats.shared) == (1, 1, 1), stats
            await wait_until(
                lambda: client_ids(redis_server, name) == {first},
                "the BLPOP's connection to be closed",
            )
            assert await client.execute("CLIENT", "ID") == first
        else:
            assert (stats.size, stats.closed) == (0, 1)
            assert await client.execute("CLIENT", "ID") != first
        await assert_own_replies(client)


async def test_cancelling_aclose_aborts_every_connection(
    redis_server: RedisServer, redis_url: str
) -> None:
    name = unique_name()
    pool = Pool.from_url(redis_url, min_size=2, max_size=3, close_timeout=5, client_name=name)
    await pool.open()
    borrowed = asyncio.Event()

    async def hold() -> None:
        async with pool.acquire() as conn:
            borrowed.set()
            await conn.execute("BLPOP", f"never:{name}", 0, timeout=None)

    holder = asyncio.create_task(hold())
    await borrowed.wait()
    closing = asyncio.create_task(pool.aclose())
    await wait_until(pool.is_closed, "aclose to start")
    await cancel_and_wait(closing)
    with pytest.raises(ConnectionFailure):
        async with asyncio.timeout(2):
            await holder
    await wait_until(
        lambda: clients_named(redis_server, name) == [], "every connection to leave the server"
    )
    async with asyncio.timeout(1):
        await pool.aclose()  # idempotent after a cancelled close
    stats = pool.stats()
    assert (stats.size, stats.in_use, stats.idle, stats.waiting) == (0, 0, 0, 0)


@pytest.mark.parametrize("mode", list(CLIENT_MODES))
async def test_cancelling_at_any_moment_never_hands_a_reply_to_the_wrong_caller(
    mode: str, redis_url: str
) -> None:
    async with build_client(
        mode, redis_url, max_size=4, acquire_timeout=5, command_timeout=5
    ) as client:
        pool = client.pool
        big = "B" * 300_000  # a reply that arrives in several reads
        await client.execute("SET", "sweep:big", big)
        stop = asyncio.Event()
        wrong: list[tuple[str, object, object]] = []

        def check(who: str, got: object, expected: object) -> None:
            if got != expected:
                wrong.append((who, got, expected))

        async def worker(i: int) -> None:
            key = f"sweep:{i}"
            for j in range(100_000):
                if stop.is_set():
                    return
                tag = f"worker-{i}-{j}"
                check(tag, await client.execute("SET", key, tag), b"OK")
                check(tag, await client.execute("GET", key), tag.encode())
                check(tag, await client.execute("ECHO", tag), tag.encode())

        async def victim(n: int) -> None:
            tag = f"victim-{n}"
            kind = n % 4
            if kind == 0:
                check(tag, await client.execute("GET", "sweep:big"), big.encode())
            elif kind == 1:
                check(tag, await client.execute("ECHO", tag), tag.encode())
            elif kind == 3:
                # Still blocked at the server when cancelled: a sure mid-flight case,
                # whatever the timing of the others.
                check(tag, await client.execute("BLPOP", "sweep:never", 2), None)
            else:
                async with pool.acquire() as conn:
                    check(tag, await conn.execute("SET", f"sweep:{tag}", tag), b"OK")
                    check(tag, await conn.execute("GET", f"sweep:{tag}"), tag.encode())

        workers = [asyncio.create_task(worker(i)) for i in range(6)]
        outcomes: collections.Counter[str] = collections.Counter()
        for n in range(150):
            task = asyncio.create_task(victim(n))
            delay = n % 30
            if n < 90:
                for _ in range(delay):  # cancel after 0..29 event-loop iterations
                    await asyncio.sleep(0)
            else:
                await asyncio.sleep(delay * 0.0002)
            outcomes[await cancel_and_settle(task, timeout=5)] += 1
        stop.set()
        async with asyncio.timeout(10):
            await asyncio.gather(*workers)

        assert not wrong, f"replies handed to the wrong caller: {wrong[:3]}"
        assert outcomes["cancelled"] > 0, outcomes
        assert outcomes["completed"] > 0, outcomes
        # Every reply owed to a cancelled caller is read (auto-pipelining) or its
        # connection closed.
        stats = await settle(client)
        # BLPOP (a connection of its own in both modes) is cancelled while blocked.
        assert stats.closed > 0, "no command was ever interrupted mid-flight"
        assert stats.size <= 4
        await assert_own_replies(client, tasks=30)


# -- auto-pipelining: a cancelled caller on a shared connection ------------------------


def _auto_stats(client: Client) -> AutoPipelineStats:
    stats = client.auto_pipeline_stats()
    assert stats is not None, f"{client!r} does not auto-pipeline"
    return stats


@pytest.mark.parametrize("connection", ["open", "opening"])
async def test_auto_pipeline_caller_cancelled_before_the_write_never_runs_its_command(
    connection: str, redis_url: str
) -> None:
    async with build_client("auto", redis_url, max_size=2) as client:
        if connection == "open":
            assert await client.execute("PING") == b"PONG"
        written = _auto_stats(client).commands
        task = asyncio.create_task(client.execute("INCR", "never"))
        await asyncio.sleep(0)  # the task queues its command; the write is at the end of the turn
        assert _auto_stats(client).queued == 1, _auto_stats(client)
        await cancel_and_wait(task)
        # The next command is written on the same connection, after the skipped one.
        assert await client.execute("ECHO", "next") == b"next"
        assert await client.execute("GET", "never") is None, "a command cancelled unwritten ran"
        stats = _auto_stats(client)
        assert stats.commands == written + 2, f"the cancelled INCR was written: {stats}"
        assert (stats.queued, stats.in_flight) == (0, 0), stats
        pool_stats = await settle(client)
        assert (pool_stats.created, pool_stats.closed) == (1, 0), pool_stats


async def test_auto_pipeline_caller_cancelled_after_the_write_leaves_its_reply_to_be_dropped(
    fault_proxy: FaultProxy, redis_url: str
) -> None:
    # One shared connection: the callers after the cancelled one queue behind its reply.
    async with build_client(
        "auto", fault_proxy.url, max_size=2, auto_pipeline_connections=1
    ) as client:
        assert await client.execute("SET", "mine", "mine") == b"OK"
        fault_proxy.latency(0.2)  # the INCR's reply is on its way when its caller gives up
        task = asyncio.create_task(client.execute("INCR", "counter"))
        await fault_proxy.wait_for_command("INCR", timeout=2)
        started = time.monotonic()
        await cancel_and_wait(task)
        assert time.monotonic() - started < 0.2, "the caller waited for its reply"
        assert _auto_stats(client).in_flight == 1, "the reply owed was forgotten"
        # Written while the dropped reply is still owed, on the same connection.
        nexts = [
            asyncio.create_task(client.execute("ECHO", f"next-{i}"))
            if i % 2
            else asyncio.create_task(client.execute("GET", "mine"))
            for i in range(10)
        ]
        async with asyncio.timeout(5):
            replies = await asyncio.gather(*nexts)
        assert replies == [b"mine" if i % 2 == 0 else f"next-{i}".encode() for i in range(10)]
        fault_proxy.latency(0)
        stats = await settle(client)
        assert _auto_stats(client).in_flight == 0
        assert stats.closed == 0, f"the shared connection was aborted: {stats}"
        assert stats.created == 1, stats
        assert await client.execute("GET", "counter") == b"1", "the INCR ran once"
        assert fault_proxy.command_count("INCR") == 1
        await assert_own_replies(client)
        await settle(client, release=True)  # and it goes back to the pool in step
        assert fault_proxy.connections == client.pool.stats().size == 1


@pytest.mark.parametrize("mode", list(CLIENT_MODES))
async def test_cancelling_most_of_200_concurrent_callers_at_random_points_misdelivers_nothing(
    mode: str, redis_url: str
) -> None:
    rng = random.Random(7)
    async with build_client(mode, redis_url, max_size=4, command_timeout=5) as client:
        outcomes: collections.Counter[str] = collections.Counter()
        wrong: list[str] = []

        async def caller(tag: str, n: int) -> None:
            # INCRBY by a number no other caller uses: its reply is this caller's alone.
            for name in ("first", "second"):
                got = await client.execute("INCRBY", f"{name}:{tag}", n)
                if got != n:
                    wrong.append(f"INCRBY {name}:{tag} {n}: {got!r}")

        async def cancel_later(task: asyncio.Task[None], turns: int, delay: float) -> None:
            for _ in range(turns):
                await asyncio.sleep(0)
            if delay:
                await asyncio.sleep(delay)
            task.cancel()

        for round_ in range(3):
            written = _auto_stats(client).commands if is_auto(client) else 0
            tags = [f"r{round_}-{i}" for i in range(200)]
            numbers = [1000 * round_ + i + 1 for i in range(200)]
            tasks = [asyncio.create_task(caller(t, n)) for t, n in zip(tags, numbers, strict=True)]
            # Cancel 70% of them, each at its own point: while queued, as the batch is
            # written, with the reply in flight, between the two commands (0..11
            # event-loop turns, or 0..3 ms).
            cancellers = [
                asyncio.create_task(
                    cancel_later(task, rng.randrange(12), 0.0)
                    if rng.random() < 0.5
                    else cancel_later(task, 0, rng.random() * 0.003)
                )
                for task in tasks
                if rng.random() < 0.7
            ]
            async with asyncio.timeout(10):
                results = await asyncio.gather(*tasks, return_exceptions=True)
                await asyncio.gather(*cancellers)
            for result in results:
                if isinstance(result, asyncio.CancelledError):
                    outcomes["cancelled"] += 1
                elif result is None:
                    outcomes["completed"] += 1
                else:
                    raise AssertionError(f"a caller failed: {result!r}")
            await settle(client, timeout=5)
            ran = 0
            for name in ("first", "second"):
                values = await client.mget(*(f"{name}:{tag}" for tag in tags))
                for i, value in enumerate(values):
                    if value is not None:
                        assert int(value) == numbers[i], f"{name}:{tags[i]} ran twice: {value!r}"
                        ran += 1
                    elif results[i] is None:
                        raise AssertionError(f"{tags[i]} got its replies; {name} never ran")
                    if name == "first" and results[i] is not None:
                        outcomes[
                            "cancelled, ran" if value is not None else "cancelled, not run"
                        ] += 1
            if is_auto(client):
                # A command written on a shared connection ran once, whatever became
                # of its caller, and one cancelled before the write never ran.
                auto = _auto_stats(client)
                assert auto.commands - written - 2 == ran, (auto, written, ran)  # - 2 MGET
        assert not wrong, f"replies handed to the wrong caller: {wrong[:5]}"
        assert outcomes["cancelled"] > 200, outcomes
        assert outcomes["completed"] > 100, outcomes
        # Cancelled before their first command was written, and after.
        assert outcomes["cancelled, not run"] > 0, outcomes
        assert outcomes["cancelled, ran"] > 0, outcomes
        stats = await settle(client)
        if is_auto(client):
            assert stats.closed == 0, f"a shared connection was aborted: {stats}"
        await assert_own_replies(client, tasks=30)
        await settle(client)
