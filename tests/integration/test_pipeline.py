"""``Pipeline`` without MULTI: queuing, one write, results in order, errors in
place, cancellation and lost connections, against a real ``redis-server``."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from typing import Any

import pytest

from aiopool import (
    Client,
    ConnectionFailure,
    NoScriptError,
    Pipeline,
    ReplyError,
    SessionCommandError,
)
from aiopool.testing import RedisServer

from .pool_support import (
    RawConnection,
    admin,
    assert_balanced,
    assert_own_replies,
    blocked_ids,
    clients_named,
    unique_name,
    wait_until,
)

# -- helpers -------------------------------------------------------------------------


def info_field(info: bytes, field: str) -> int:
    """One integer field of an ``INFO`` reply."""
    found = re.search(rb"^" + field.encode() + rb":(\d+)\r?$", info, re.MULTILINE)
    assert found is not None, f"no {field} in INFO"
    return int(found.group(1))


def server_stat(server: RedisServer, field: str) -> int:
    """One integer field of the server's ``INFO stats``, read outside the pool."""
    return info_field(admin(server, "INFO", "stats"), field)


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and check that the cancellation reached its caller."""
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(2):
            await task


def notes(exc: BaseException) -> str:
    return " | ".join(getattr(exc, "__notes__", []))


# -- queuing and results -------------------------------------------------------------


async def test_chained_methods_return_the_pipeline_and_execute_returns_transformed_results(
    r: Client,
) -> None:
    async with r.pipeline(transaction=False) as p:
        assert p.set("k", "v") is p
        chained = (
            p.incr("n")
            .incrby("n", 10)
            .expire("k", 100)
            .ttl("k")
            .get("k")
            .get("missing")
            .exists("k", "missing")
            .type("k")
        )
        assert chained is p
        assert len(p) == 9
        results = await p.execute()
    assert results[:4] == [True, 1, 11, True]
    assert [type(result) for result in results[:4]] == [bool, int, int, bool]
    assert 99 <= results[4] <= 100
    assert results[5:] == [b"v", None, 1, b"string"]
    assert await r.get("n") == b"11"


async def test_command_queues_a_raw_command_and_returns_its_raw_reply(r: Client) -> None:
    async with r.pipeline(transaction=False) as p:
        p.command("SET", "k", "v").command("HSET", "h", "f", 1)
        p.command("HGETALL", "h").command("get", "k").command(b"STRLEN", b"k")
        # Raw means as sent: RESP3 sends HGETALL's fields as a map.
        fields = {b"f": b"1"} if r.pool.connection_options.protocol == 3 else [b"f", b"1"]
        assert await p.execute() == [b"OK", 1, fields, b"v", 1]


async def test_typed_and_raw_commands_mix_in_order(r: Client) -> None:
    async with r.pipeline(transaction=False) as p:
        p.set("a", 1).command("INCRBY", "a", 5).get("a").command("LPUSH", "l", "x", "y")
        assert await p.execute() == [True, 6, b"6", 2]


async def test_all_commands_arrive_in_one_write(private_redis_server: RedisServer) -> None:
    server = private_redis_server
    async with Client.from_url(server.url, max_size=1) as client:
        await client.execute("PING")  # the connection is open before counting
        with contextlib.closing(RawConnection(server)) as raw:

            def reads() -> int:
                # One read event of the server is one batch of bytes from one
                # client; this INFO is one, so a one-write pipeline adds one more.
                return info_field(raw.call("INFO", "stats"), "total_reads_processed")

            before = reads()
            async with client.pipeline(transaction=False) as p:
                for i in range(100):
                    p.set(f"k{i}", i)
                results = await p.execute()
            after_pipeline = reads()
            assert results == [True] * 100
            assert after_pipeline - before == 2, "the pipeline took more than one read"
            # The same measure sees one read per command sent one by one.
            for i in range(10):
                await client.set(f"k{i}", i)
            assert reads() - after_pipeline == 11


async def test_empty_pipeline_returns_an_empty_list_without_borrowing(redis_url: str) -> None:
    async with Client.from_url(redis_url) as client:
        for transaction in (False, True):
            async with client.pipeline(transaction=transaction) as p:
                assert await p.execute() == []
        stats = client.pool.stats()
        assert (stats.created, stats.acquired) == (0, 0)


async def test_leaving_the_block_without_execute_sends_nothing(redis_url: str) -> None:
    async with Client.from_url(redis_url) as client:
        async with client.pipeline(transaction=False) as p:
            p.set("never", "sent").incr("counter")
            assert len(p) == 2
        assert len(p) == 0
        stats = client.pool.stats()
        assert (stats.created, stats.acquired) == (0, 0)
        assert await client.exists("never", "counter") == 0


async def test_pipeline_is_empty_and_reusable_after_execute(r: Client) -> None:
    async with r.pipeline(transaction=False) as p:
        p.set("k", "first").get("k")
        assert await p.execute() == [True, b"first"]
        assert len(p) == 0
        p.incr("n").incr("n").get("k")
        assert await p.execute() == [1, 2, b"first"]
        assert await p.execute() == []


async def test_repr_shows_mode_and_queue_length(r: Client) -> None:
    async with r.pipeline(transaction=False) as p:
        p.set("k", "v")
        assert repr(p) == "<Pipeline pipeline queued=1>"
    assert repr(r.pipeline(transaction=True)) == "<Pipeline transaction queued=0>"


# -- error replies -------------------------------------------------------------------


async def test_error_reply_in_the_middle_raises_after_every_command_ran(redis_url: str) -> None:
    async with Client.from_url(redis_url, max_size=1) as client:
        await client.set("text", "not a number")
        conn_id = await client.execute("CLIENT", "ID")
        async with client.pipeline(transaction=False) as p:
            p.set("before", 1).incr("text").set("after", 2).get("before")
            with pytest.raises(ReplyError) as caught:
                await p.execute()
            assert len(p) == 0, "the pipeline must be empty after a failed execute"
        error = caught.value
        assert type(error) is ReplyError
        assert "not an integer" in error.message
        assert "command 2 of 4 (INCR)" in notes(error)
        # The commands after the failing one ran too.
        assert await client.mget("before", "after", "text") == [b"1", b"2", b"not a number"]
        stats = assert_balanced(client.pool)
        assert (stats.created, stats.closed) == (1, 0)
        assert await client.execute("CLIENT", "ID") == conn_id, "a healthy connection was closed"
        await assert_own_replies(client)


async def test_error_reply_keeps_its_type(r: Client) -> None:
    await r.execute("HSET", "hash", "f", "v")
    async with r.pipeline(transaction=False) as p:
        p.get("hash").evalsha("0" * 40).ping()
        results = await p.execute(raise_on_error=False)
    wrongtype, noscript, pong = results
    assert type(wrongtype) is ReplyError
    assert wrongtype.code == "WRONGTYPE"
    assert type(noscript) is NoScriptError
    assert pong is True
    async with r.pipeline(transaction=False) as p:
        p.ping().evalsha("0" * 40)
        with pytest.raises(NoScriptError) as caught:
            await p.execute()
    assert "command 2 of 2 (EVALSHA)" in notes(caught.value)


async def test_first_error_is_raised_when_several_commands_fail(r: Client) -> None:
    await r.set("s", "x")
    async with r.pipeline(transaction=False) as p:
        p.incr("s").set("ok", 1).command("LPUSH", "s", "item")
        with pytest.raises(ReplyError) as caught:
            await p.execute()
    assert "not an integer" in caught.value.message
    assert "command 1 of 3 (INCR)" in notes(caught.value)
    assert await r.get("ok") == b"1"


async def test_raise_on_error_false_returns_the_error_in_place(r: Client) -> None:
    await r.set("text", "abc")
    async with r.pipeline(transaction=False) as p:
        p.set("a", "1").incr("text").incr("a").get("text")
        results = await p.execute(raise_on_error=False)
    assert results[0] is True
    assert isinstance(results[1], ReplyError)
    assert "not an integer" in results[1].message
    assert results[2:] == [2, b"abc"]


# -- validation before anything is sent ---------------------------------------------


async def test_bad_argument_types_raise_type_error_when_queued(redis_url: str) -> None:
    async with Client.from_url(redis_url) as client:
        async with client.pipeline(transaction=False) as p:
            p.set("kept", "yes")
            with pytest.raises(TypeError, match="argument 2 of SET"):
                p.set("k", None)  # type: ignore[arg-type]
            with pytest.raises(TypeError, match="argument 2 of SET"):
                p.command("SET", "k", True)
            with pytest.raises(TypeError, match="amount"):
                p.incrby("k", "1")  # type: ignore[arg-type]
            assert client.pool.stats().acquired == 0
            assert len(p) == 1
            assert await p.execute() == [True]
        assert await client.exists("k") == 0


@pytest.mark.parametrize(
    "args",
    [
        ("SELECT", 1),
        ("select", 1),
        (b"SELECT", 1),
        ("MULTI",),
        ("exec",),
        ("WATCH", "k"),
        ("SUBSCRIBE", "c"),
        ("CLIENT", "REPLY", "OFF"),
        (b"client", b"tracking", b"on"),
        ("MONITOR",),
        ("HELLO", "3"),
        ("AUTH", "x"),
        ("QUIT",),
    ],
)
@pytest.mark.parametrize("transaction", [False, True], ids=["pipeline", "transaction"])
async def test_session_commands_are_refused_when_queued(
    args: tuple[Any, ...], transaction: bool, redis_url: str
) -> None:
    async with Client.from_url(redis_url) as client:
        async with client.pipeline(transaction=transaction) as p:
            p.set("k", "v")
            with pytest.raises(SessionCommandError) as caught:
                p.command(*args)
            assert isinstance(caught.value, ValueError)
            assert "cannot be queued in a pipeline" in str(caught.value)
            assert len(p) == 1
        assert client.pool.stats().acquired == 0


# -- size and encodings --------------------------------------------------------------


async def test_pipeline_of_ten_thousand_commands(r: Client) -> None:
    async with r.pipeline(transaction=False) as p:
        for i in range(10_000):
            p.set(f"key:{i}", i)
        for _ in range(10_000):
            p.incr("counter")
        results = await p.execute()
    assert results[:10_000] == [True] * 10_000
    assert results[10_000:] == list(range(1, 10_001))
    async with r.pipeline(transaction=False) as p:
        for i in range(10_000):
            p.get(f"key:{i}")
        assert await p.execute() == [str(i).encode() for i in range(10_000)]


async def test_pipeline_on_a_decode_responses_client_returns_str(rs: Client) -> None:
    async with rs.pipeline(transaction=False) as p:
        p.set("k", "héllo").get("k").incr("n").type("k").command("ECHO", "raw")
        p.mget("k", "missing").command("HSET", "h", "f", "v").hscan("h")
        results = await p.execute()
    assert results == [True, "héllo", 1, "string", "raw", ["héllo", None], 1, (0, {"f": "v"})]


async def test_concurrent_pipelines_each_get_their_own_results(redis_url: str) -> None:
    async with Client.from_url(redis_url, max_size=4, acquire_timeout=10) as client:

        async def one(i: int) -> list[Any]:
            async with client.pipeline(transaction=False) as p:
                p.set(f"own:{i}", f"v{i}").incrby(f"n:{i}", i).get(f"own:{i}").echo(f"e{i}")
                return await p.execute()

        async with asyncio.timeout(10):
            results = await asyncio.gather(*(one(i) for i in range(50)))
        for i, got in enumerate(results):
            assert got == [True, i, f"v{i}".encode(), f"e{i}".encode()], i
        stats = assert_balanced(client.pool)
        assert stats.created <= 4


# -- cancellation and lost connections -----------------------------------------------


@pytest.mark.parametrize("replies_read", [0, 20], ids=["before-any-reply", "after-20-replies"])
async def test_cancel_execute_discards_the_connection_and_later_callers_get_own_replies(
    replies_read: int, redis_server: RedisServer, redis_url: str
) -> None:
    name = unique_name()
    async with Client.from_url(redis_url, max_size=2, client_name=name) as client:
        pool = client.pool
        big = b"B" * (1 << 20)  # 20 of these overflow the socket buffers: some must be read
        await client.set("big", big)
        pipe = client.pipeline(transaction=False)
        for _ in range(replies_read):
            pipe.get("big")
        pipe.command("BLPOP", "queue", 5).set("after-blpop", 1)  # BLPOP blocks the server's side
        task = asyncio.create_task(pipe.execute())

        def blocked_and_flushed() -> bool:
            entries = [e for e in clients_named(redis_server, name) if "b" in e["flags"]]
            return bool(entries) and entries[0]["oll"] == "0" and entries[0]["obl"] == "0"

        await wait_until(blocked_and_flushed, "BLPOP to block with every earlier reply sent")
        (victim,) = blocked_ids(redis_server, name)
        assert not task.done()
        await cancel_and_wait(task)
        stats = assert_balanced(pool)
        assert stats.closed == 1
        await wait_until(
            lambda: victim not in {int(c["id"]) for c in clients_named(redis_server, name)},
            "the cancelled connection to be closed",
        )
        # Nobody waits on the list any more, and the command after BLPOP never ran.
        assert await client.execute("LPUSH", "queue", "kept") == 1
        assert await client.execute("LRANGE", "queue", 0, -1) == [b"kept"]
        assert await client.exists("after-blpop") == 0
        assert await client.get("big") == big
        await assert_own_replies(client)
        assert_balanced(pool)


async def test_cancel_execute_in_the_middle_of_a_large_reply(
    private_redis_server: RedisServer,
) -> None:
    server = private_redis_server
    async with Client.from_url(server.url, max_size=1, command_timeout=10) as client:
        pool = client.pool
        chunk = b"C" * (512 << 10)
        await client.set("chunk", chunk)
        pipe = client.pipeline(transaction=False)
        for _ in range(100):  # 50 MiB of replies
            pipe.get("chunk")
        sent_before = server_stat(server, "total_net_output_bytes")
        task = asyncio.create_task(pipe.execute())
        # More sent than the socket buffers hold means part was read. The
        # server is frozen right after that check, with no await in between,
        # so the rest of the 50 MiB cannot arrive: the read stops mid-stream.
        await wait_until(
            lambda: server_stat(server, "total_net_output_bytes") - sent_before > 16 << 20,
            "16 MiB of replies to be sent",
        )
        server.pause()
        try:
            await asyncio.sleep(0.05)
            assert not task.done()
            await cancel_and_wait(task)
            stats = assert_balanced(pool)
            assert (stats.created, stats.closed) == (1, 1)
        finally:
            server.resume()
        assert await client.get("chunk") == chunk
        await assert_own_replies(client)
        assert_balanced(pool)


async def test_cancelled_execute_leaves_the_pipeline_empty_and_usable(
    redis_server: RedisServer, redis_url: str
) -> None:
    name = unique_name()
    async with Client.from_url(redis_url, client_name=name) as client:
        async with client.pipeline(transaction=False) as p:
            p.command("BLPOP", "queue", 5)
            task = asyncio.create_task(p.execute())
            await wait_until(lambda: bool(blocked_ids(redis_server, name)), "BLPOP to block")
            await cancel_and_wait(task)
            assert len(p) == 0
            p.set("k", "v").get("k")
            assert await p.execute() == [True, b"v"]
        assert_balanced(client.pool)


async def test_killed_server_during_execute_raises_connection_failure(
    private_redis_server: RedisServer,
) -> None:
    server = private_redis_server
    name = unique_name()
    async with Client.from_url(server.url, client_name=name, acquire_timeout=1) as client:
        pipe = (
            client.pipeline(transaction=False).set("k", "v").command("BLPOP", "queue", 10).get("k")
        )
        task = asyncio.create_task(pipe.execute())
        await wait_until(lambda: bool(blocked_ids(server, name)), "BLPOP to block")
        started = time.monotonic()
        server.kill()
        with pytest.raises(ConnectionFailure) as caught:
            async with asyncio.timeout(5):
                await task
        assert time.monotonic() - started < 2, "the lost connection was not noticed at once"
        assert "pipeline of 3 commands" in str(caught.value)
        stats = assert_balanced(client.pool)
        assert (stats.created, stats.closed) == (1, 1)
        await asyncio.to_thread(server.start)
        assert await client.set("k", "again") is True
        await assert_own_replies(client)


async def test_pipeline_class_is_exported_and_built_by_the_client(r: Client) -> None:
    assert isinstance(r.pipeline(transaction=False), Pipeline)
    assert r.pipeline(transaction=False).transaction is False
    assert r.pipeline(transaction=True).transaction is True
