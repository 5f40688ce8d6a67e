"""Transactions: ``pipeline(transaction=True)``, ``watch()``, ``Client.transaction()``,
and the guarantee that a connection never goes back to the pool inside
``MULTI`` or with keys still watched, against a real ``redis-server``.

Redis 7.0's ``CLIENT LIST`` shows MULTI (flag ``x``, ``multi=<queued>``) but
not watched keys (the ``watch=`` field came in 7.4), so a leftover WATCH is
detected by its effect: a later write to the key makes an unrelated
transaction on the same connection fail with ``WatchError``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from aiopool import (
    Client,
    PermissionDenied,
    Pipeline,
    ReplyError,
    WatchError,
)
from aiopool.testing import RedisServer

from .pool_support import (
    admin,
    assert_balanced,
    assert_own_replies,
    clients_named,
    unique_name,
    wait_until,
)
from .server_support import IS_VALKEY

# -- helpers -------------------------------------------------------------------------


def command_calls(server: RedisServer) -> dict[str, int]:
    """How often the server ran each command, from ``INFO commandstats``."""
    info: bytes = admin(server, "INFO", "commandstats")
    return {
        name.decode(): int(calls)
        for name, calls in re.findall(rb"^cmdstat_([a-z|_-]+):calls=(\d+)", info, re.MULTILINE)
    }


def calls_since(before: dict[str, int], server: RedisServer, name: str) -> int:
    return command_calls(server).get(name, 0) - before.get(name, 0)


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and check that the cancellation reached its caller."""
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(2):
            await task


def notes(exc: BaseException) -> str:
    return " | ".join(getattr(exc, "__notes__", []))


async def assert_not_watching(client: Client, server: RedisServer, key: str) -> None:
    """``key`` is no longer watched on the client's connection(s).

    Another client writes ``key``; a transaction that watches nothing must
    still run on the pooled connection.
    """
    admin(server, "SET", key, "written-by-someone-else")
    async with client.pipeline(transaction=True) as p:
        p.set(f"proof:{key}", 1).incr(f"proof-count:{key}")
        assert (await p.execute())[0] is True, "an old WATCH aborted an unrelated transaction"


# -- MULTI / EXEC --------------------------------------------------------------------


async def test_transaction_runs_in_multi_exec_and_returns_transformed_results(
    r: Client, redis_server: RedisServer
) -> None:
    before = command_calls(redis_server)
    async with r.pipeline(transaction=True) as p:
        p.set("k", "v").incr("n").incrby("n", 4).get("k").expire("k", 50).ttl("k").get("none")
        results = await p.execute()
    assert results[:5] == [True, 1, 5, b"v", True]
    assert 49 <= results[5] <= 50
    assert results[6] is None
    assert calls_since(before, redis_server, "multi") == 1
    assert calls_since(before, redis_server, "exec") == 1
    assert calls_since(before, redis_server, "incrby") == 1


async def test_transaction_on_a_decode_responses_client_returns_str(rs: Client) -> None:
    async with rs.pipeline(transaction=True) as p:
        p.set("k", "é").get("k").type("k").command("ECHO", "raw").mget("k", "none")
        assert await p.execute() == [True, "é", "string", "raw", ["é", None]]


async def test_transaction_pipeline_is_reusable_after_execute(r: Client) -> None:
    async with r.pipeline(transaction=True) as p:
        p.incr("n")
        assert await p.execute() == [1]
        assert len(p) == 0
        p.incr("n").incr("n")
        assert await p.execute() == [2, 3]


async def test_queuing_error_raises_it_and_nothing_runs(redis_url: str) -> None:
    async with Client.from_url(redis_url, max_size=1) as client:
        async with client.pipeline(transaction=True) as p:
            p.set("a", 1).command("SET", "k").set("b", 2)
            with pytest.raises(ReplyError) as caught:
                await p.execute()
        assert "wrong number of arguments" in caught.value.message
        assert "command 2 of 3 (SET) was refused" in notes(caught.value)
        assert "nothing ran" in notes(caught.value)
        assert await client.exists("a", "b", "k") == 0
        # The server discarded the transaction (EXECABORT): the connection is out of MULTI.
        assert await client.set("c", 3) is True
        stats = assert_balanced(client.pool)
        assert stats.closed == 0


async def test_runtime_error_inside_exec_raises_with_the_other_commands_applied(
    r: Client,
) -> None:
    await r.set("text", "abc")
    async with r.pipeline(transaction=True) as p:
        p.set("a", 1).incr("text").incr("a")
        with pytest.raises(ReplyError) as caught:
            await p.execute()
    assert "not an integer" in caught.value.message
    assert "command 2 of 3 (INCR)" in notes(caught.value)
    assert "the other commands of the transaction ran" in notes(caught.value)
    assert await r.mget("a", "text") == [b"2", b"abc"]


async def test_runtime_error_inside_exec_is_returned_in_place_with_raise_on_error_false(
    r: Client,
) -> None:
    await r.set("text", "abc")
    async with r.pipeline(transaction=True) as p:
        p.set("a", 1).incr("text").incr("a").get("text")
        results = await p.execute(raise_on_error=False)
    assert results[0] is True
    assert type(results[1]) is ReplyError
    assert "not an integer" in results[1].message
    assert results[2:] == [2, b"abc"]


# -- WATCH ---------------------------------------------------------------------------


@pytest.mark.parametrize("writer", ["raw connection", "second client"])
async def test_watched_key_changed_by_another_client_raises_watch_error_and_nothing_runs(
    writer: str, redis_server: RedisServer, redis_url: str
) -> None:
    async with Client.from_url(redis_url) as client, Client.from_url(redis_url) as other:
        await client.set("balance", 10)
        async with client.pipeline(transaction=True) as p:
            await p.watch("balance")
            balance = int(await client.get("balance"))
            if writer == "raw connection":
                admin(redis_server, "SET", "balance", 99)
            else:
                await other.set("balance", 99)
            p.set("balance", balance - 1).set("audit", "debited")
            with pytest.raises(WatchError):
                await p.execute()
            assert len(p) == 0
        assert await client.mget("balance", "audit") == [b"99", None]
        stats = assert_balanced(client.pool)
        assert stats.closed == 0


async def test_watch_without_a_conflict_lets_the_transaction_run(r: Client) -> None:
    await r.set("balance", 10)
    async with r.pipeline(transaction=True) as p:
        await p.watch("balance", "other")
        assert r.pool.stats().in_use == 1, "watch() pins a connection"
        assert "watching=2" in repr(p)
        balance = int(await r.get("balance"))
        p.set("balance", balance - 3).get("balance")
        assert await p.execute() == [True, b"7"]
        assert "watching" not in repr(p)
        assert r.pool.stats().in_use == 0
    assert_balanced(r.pool)


async def test_watch_after_queuing_raises_runtime_error(redis_url: str) -> None:
    async with Client.from_url(redis_url) as client:
        async with client.pipeline(transaction=True) as p:
            p.set("k", "v")
            with pytest.raises(RuntimeError, match="before queuing"):
                await p.watch("k")
        assert client.pool.stats().acquired == 0


async def test_watch_on_a_plain_pipeline_raises_runtime_error(redis_url: str) -> None:
    async with Client.from_url(redis_url) as client:
        async with client.pipeline(transaction=False) as p:
            with pytest.raises(RuntimeError, match="transaction=True"):
                await p.watch("k")
        assert client.pool.stats().acquired == 0


async def test_watch_without_keys_raises_value_error(redis_url: str) -> None:
    async with Client.from_url(redis_url) as client:
        async with client.pipeline(transaction=True) as p:
            with pytest.raises(ValueError, match="at least one key"):
                await p.watch()
        assert client.pool.stats().acquired == 0


async def test_reset_after_watch_releases_the_connection_and_sends_unwatch(
    redis_server: RedisServer, redis_url: str
) -> None:
    async with Client.from_url(redis_url, max_size=1) as client:
        conn_id = await client.execute("CLIENT", "ID")
        p = client.pipeline(transaction=True)
        await p.watch("old")
        p.set("queued", 1)
        assert client.pool.stats().in_use == 1
        before = command_calls(redis_server)
        await p.reset()
        assert calls_since(before, redis_server, "unwatch") == 1
        assert len(p) == 0
        stats = assert_balanced(client.pool)
        assert stats.closed == 0
        await assert_not_watching(client, redis_server, "old")
        assert await client.execute("CLIENT", "ID") == conn_id, "not the connection that watched"
        assert await client.exists("queued") == 0


async def test_leaving_the_block_with_an_exception_after_watch_unwatches(
    redis_server: RedisServer, redis_url: str
) -> None:
    async with Client.from_url(redis_url, max_size=1) as client:
        conn_id = await client.execute("CLIENT", "ID")

        async def give_up_after_watch() -> None:
            async with client.pipeline(transaction=True) as p:
                await p.watch("old")
                p.set("queued", 1)
                raise LookupError("the application gave up")

        with pytest.raises(LookupError):
            await give_up_after_watch()
        stats = assert_balanced(client.pool)
        assert stats.closed == 0
        await assert_not_watching(client, redis_server, "old")
        assert await client.execute("CLIENT", "ID") == conn_id
        assert await client.exists("queued") == 0


async def test_execute_with_nothing_queued_after_watch_releases_and_unwatches(
    redis_server: RedisServer, redis_url: str
) -> None:
    async with Client.from_url(redis_url, max_size=1) as client:
        conn_id = await client.execute("CLIENT", "ID")
        async with client.pipeline(transaction=True) as p:
            await p.watch("old")
            assert await p.execute() == []
            assert client.pool.stats().in_use == 0
        assert_balanced(client.pool)
        await assert_not_watching(client, redis_server, "old")
        assert await client.execute("CLIENT", "ID") == conn_id


async def test_cancelling_watch_discards_the_pinned_connection(
    private_redis_server: RedisServer,
) -> None:
    server = private_redis_server
    async with Client.from_url(server.url, max_size=1, command_timeout=5) as client:
        await client.execute("PING")
        p = client.pipeline(transaction=True)
        server.pause()
        try:
            task = asyncio.create_task(p.watch("k"))
            await wait_until(lambda: client.pool.stats().in_use == 1, "WATCH to be sent")
            await asyncio.sleep(0.01)
            await cancel_and_wait(task)
            stats = assert_balanced(client.pool)
            assert (stats.created, stats.closed) == (1, 1)
            assert "watching" not in repr(p)
        finally:
            server.resume()
        p.set("k", "v")  # the pipeline is usable again, with nothing watched
        assert await p.execute() == [True]
        await assert_own_replies(client)


async def test_cancel_during_exec_never_returns_a_connection_inside_multi(
    private_redis_server: RedisServer,
) -> None:
    server = private_redis_server
    name = unique_name()
    async with Client.from_url(
        server.url, max_size=1, command_timeout=5, client_name=name
    ) as client:
        async with client.pipeline(transaction=True) as p:
            await p.watch("w")
            p.set("a", 1).set("b", 2)
            server.pause()
            try:
                task = asyncio.create_task(p.execute())
                await asyncio.sleep(0.05)
                assert not task.done()
                await cancel_and_wait(task)
                stats = assert_balanced(client.pool)
                assert (stats.created, stats.closed) == (1, 1)
            finally:
                server.resume()
        await wait_until(lambda: clients_named(server, name) == [], "the connection to go")
        await assert_not_watching(client, server, "w")
        await assert_own_replies(client)


# -- Client.transaction() ------------------------------------------------------------


async def test_client_transaction_returns_the_results_of_what_func_queued(
    r: Client,
) -> None:
    await r.set("counter", 41)

    async def func(p: Pipeline) -> None:
        value = int(await r.get("counter"))
        p.set("counter", value + 1).get("counter")

    assert await r.transaction(func, "counter") == [True, b"42"]
    assert_balanced(r.pool)


async def test_client_transaction_without_watch_keys_runs_func_once(r: Client) -> None:
    calls = 0

    async def func(p: Pipeline) -> None:
        nonlocal calls
        calls += 1
        p.incr("n").incr("n")

    assert await r.transaction(func) == [1, 2]
    assert calls == 1


async def test_client_transaction_retries_while_the_watched_key_changes(
    redis_server: RedisServer, r: Client
) -> None:
    await r.set("counter", 10)
    calls = 0

    async def func(p: Pipeline) -> None:
        nonlocal calls
        calls += 1
        value = int(await r.get("counter"))
        if calls == 1:  # another client wins the race once
            admin(redis_server, "INCRBY", "counter", 100)
        p.set("counter", value + 1)

    assert await r.transaction(func, "counter") == [True]
    assert calls == 2
    assert await r.get("counter") == b"111"
    stats = assert_balanced(r.pool)
    assert stats.closed == 0


async def test_client_transaction_raises_watch_error_after_all_attempts_lost(
    redis_server: RedisServer, r: Client
) -> None:
    await r.set("counter", 10)
    calls = 0

    async def func(p: Pipeline) -> None:
        nonlocal calls
        calls += 1
        value = int(await r.get("counter"))
        admin(redis_server, "INCR", "counter")  # always loses the race
        p.set("counter", value * 1000).set("ran", calls)

    with pytest.raises(WatchError, match="3 attempts"):
        await r.transaction(func, "counter", attempts=3)
    assert calls == 3
    assert await r.mget("counter", "ran") == [b"13", None]
    assert_balanced(r.pool)


@pytest.mark.parametrize("attempts", [0, -1, True, 1.5])
async def test_client_transaction_rejects_attempts_below_one(attempts: Any, redis_url: str) -> None:
    calls = 0

    async def func(p: Pipeline) -> None:
        nonlocal calls
        calls += 1

    async with Client.from_url(redis_url) as client:
        with pytest.raises(ValueError, match="attempts"):
            await client.transaction(func, "k", attempts=attempts)
        assert calls == 0
        assert client.pool.stats().acquired == 0


async def test_client_transaction_propagates_an_error_of_func_and_unwatches(
    redis_server: RedisServer, redis_url: str
) -> None:
    async with Client.from_url(redis_url, max_size=1) as client:
        calls = 0

        async def func(p: Pipeline) -> None:
            nonlocal calls
            calls += 1
            p.set("queued", 1)
            raise KeyError("no such account")

        with pytest.raises(KeyError):
            await client.transaction(func, "watched")
        assert calls == 1
        stats = assert_balanced(client.pool)
        assert stats.closed == 0
        await assert_not_watching(client, redis_server, "watched")
        assert await client.exists("queued") == 0


@pytest.mark.parametrize("how", ["cancel", "asyncio.timeout"])
async def test_cancelling_a_task_blocked_in_func_releases_the_pinned_connection(
    how: str, redis_server: RedisServer, redis_url: str
) -> None:
    async with Client.from_url(redis_url, max_size=1) as client:
        conn_id = await client.execute("CLIENT", "ID")
        entered = asyncio.Event()

        async def func(p: Pipeline) -> None:
            p.set("queued", 1)
            entered.set()
            await asyncio.Event().wait()  # e.g. waiting on something slow

        if how == "cancel":
            task = asyncio.create_task(client.transaction(func, "watched"))
            await entered.wait()
            assert client.pool.stats().in_use == 1
            await cancel_and_wait(task)
        else:
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.05):
                    await client.transaction(func, "watched")
        stats = assert_balanced(client.pool)
        assert stats.closed == 0
        await assert_not_watching(client, redis_server, "watched")
        assert await client.execute("CLIENT", "ID") == conn_id
        assert await client.exists("queued") == 0
        await assert_own_replies(client)


# -- never back to the pool inside MULTI or watching ---------------------------------


async def _executed(p: Pipeline, server: RedisServer) -> None:
    p.set("x", 1)
    assert await p.execute() == [True]


async def _watch_error(p: Pipeline, server: RedisServer) -> None:
    admin(server, "SET", "w", "changed")
    p.set("x", 1)
    with pytest.raises(WatchError):
        await p.execute()


async def _queuing_error(p: Pipeline, server: RedisServer) -> None:
    p.set("x", 1).command("INCR")
    with pytest.raises(ReplyError, match="wrong number"):
        await p.execute()


async def _runtime_error(p: Pipeline, server: RedisServer) -> None:
    admin(server, "SET", "text", "abc")
    p.set("x", 1).incr("text")
    with pytest.raises(ReplyError, match="not an integer"):
        await p.execute()


async def _runtime_error_in_place(p: Pipeline, server: RedisServer) -> None:
    admin(server, "SET", "text", "abc")
    p.set("x", 1).incr("text")
    assert isinstance((await p.execute(raise_on_error=False))[1], ReplyError)


async def _nothing_queued(p: Pipeline, server: RedisServer) -> None:
    assert await p.execute() == []


async def _reset(p: Pipeline, server: RedisServer) -> None:
    p.set("x", 1)
    await p.reset()


async def _bad_argument(p: Pipeline, server: RedisServer) -> None:
    with pytest.raises(TypeError):
        p.set("x", None)  # type: ignore[arg-type]


OUTCOMES: dict[str, Callable[[Pipeline, RedisServer], Awaitable[None]]] = {
    "executed": _executed,
    "watch-error": _watch_error,
    "queuing-error": _queuing_error,
    "runtime-error": _runtime_error,
    "runtime-error-in-place": _runtime_error_in_place,
    "nothing-queued": _nothing_queued,
    "reset": _reset,
    "bad-argument": _bad_argument,
}


@pytest.mark.parametrize("outcome", list(OUTCOMES))
async def test_connection_returns_to_the_pool_outside_multi_and_unwatched(
    outcome: str, redis_server: RedisServer, redis_url: str
) -> None:
    name = unique_name()
    async with Client.from_url(redis_url, max_size=1, client_name=name) as client:
        conn_id = await client.execute("CLIENT", "ID")
        async with client.pipeline(transaction=True) as p:
            await p.watch("w", "w2")
            await OUTCOMES[outcome](p, redis_server)
        stats = assert_balanced(client.pool)
        assert (stats.created, stats.closed) == (1, 0)
        (entry,) = clients_named(redis_server, name)
        assert "x" not in entry["flags"], entry
        # Outside MULTI Redis 7.0 shows multi=-1; Valkey 9 shows 0 once the connection ran a
        # transaction (its MULTI state stays allocated). The flag x is the test that holds.
        assert entry["multi"] in (("-1", "0") if IS_VALKEY else ("-1",)), entry
        if "watch" in entry:  # Redis 7.4+ and Valkey 8+ count watched keys
            assert entry["watch"] == "0", entry
        await assert_not_watching(client, redis_server, "w")
        await assert_not_watching(client, redis_server, "w2")
        assert await client.execute("CLIENT", "ID") == conn_id


async def test_a_refused_second_watch_leaves_no_key_watched(
    private_redis_server: RedisServer,
) -> None:
    # BUG (lead, aiopool/_pipeline.py, Pipeline.watch): when a later watch()
    # gets an error reply (here NOPERM from an ACL), watch() calls
    # _unpin(send_unwatch=False), so the keys of the earlier, successful
    # watch() stay watched on a connection that goes back to the pool. The
    # docstring says "on any of them the pinned connection is released ... and
    # the watch is gone". The next, unrelated transaction on that connection
    # then fails with WatchError when someone writes the first key. Fix:
    # send UNWATCH (or discard the connection) when self._watched > 0.
    server = private_redis_server
    admin(server, "ACL", "SETUSER", "limited", "on", ">secret-pw", "~allowed:*", "+@all")
    url = f"redis://limited:secret-pw@{server.host}:{server.port}"
    async with Client.from_url(url, max_size=1) as client:
        async with client.pipeline(transaction=True) as p:
            await p.watch("allowed:first")
            with pytest.raises(PermissionDenied):
                await p.watch("forbidden")
            assert "watching" not in repr(p)
        assert_balanced(client.pool)
        admin(server, "SET", "allowed:first", "changed")
        async with client.pipeline(transaction=True) as p:
            p.set("allowed:other", 1)
            try:
                results = await p.execute()
            except WatchError:
                pytest.fail("a key watched by an earlier pipeline aborted an unrelated transaction")
        assert results == [True]


# -- pipeline.immediate: reads on the watched connection ------------------------------


async def test_immediate_reads_run_on_the_watched_connection_so_a_pool_of_one_suffices(
    redis_url: str,
) -> None:
    async with Client.from_url(redis_url, max_size=1, acquire_timeout=2) as client:
        await client.set("balance", 100)
        async with client.pipeline(transaction=True) as p:
            watched = await p.watch("balance")
            assert watched is p.immediate
            assert await watched.execute("CLIENT", "ID") == await p.immediate.client_id()
            balance = int(await p.immediate.get("balance"))
            p.set("balance", balance - 30)
            assert await p.execute() == [True]
        assert await client.get("balance") == b"70"
        assert_balanced(client.pool)


async def test_immediate_refuses_after_the_pipeline_released_its_connection(
    redis_url: str,
) -> None:
    async with Client.from_url(redis_url, max_size=1) as client:
        p = client.pipeline(transaction=True)
        with pytest.raises(RuntimeError, match="watch"):
            _ = p.immediate
        watched = await p.watch("k")
        p.incr("k")
        await p.execute()
        # The connection went back to the pool and may now be someone else's.
        async with client.pool.acquire():
            with pytest.raises(RuntimeError, match="released"):
                await watched.get("k")
        with pytest.raises(RuntimeError, match="does not own the pool"):
            await watched.aclose()
        assert not client.pool.is_closed()
        assert await client.get("k") == b"1"


async def test_many_concurrent_transactions_on_a_small_pool_do_not_starve_each_other(
    redis_url: str,
) -> None:
    # Reading through the client while every connection is pinned by a
    # watcher would wait for ever; pipeline.immediate needs no second one.
    async with Client.from_url(redis_url, max_size=4, acquire_timeout=10) as client:
        await client.set("counter", 0)

        async def bump(p: Pipeline) -> None:
            value = int(await p.immediate.get("counter"))
            p.set("counter", value + 1)

        async with asyncio.timeout(30):
            await asyncio.gather(
                *(client.transaction(bump, "counter", attempts=10_000) for _ in range(200))
            )
        assert await client.get("counter") == b"200"
        stats = assert_balanced(client.pool)
        assert stats.timeouts == 0
