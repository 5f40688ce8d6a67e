"""redis-py's exception names and pub/sub reading behaviour, against real servers.

``from aiopool.exceptions import ConnectionError, TimeoutError, DataError``
catch what redis-py's would; ``get_message()`` has redis-py's signature and
defaults; ``pubsub(ignore_subscribe_messages=False)`` buffers the server's
confirmations as redis-py does by default.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from aiopool import (
    Client,
    ClusterClient,
    DataError,
    DataTypeError,
    DataValueError,
    MasterDownError,
    Message,
    OutOfMemoryError,
    Pipeline,
    PoolTimeout,
    ProtocolError,
    exceptions,
)
from aiopool.testing import RedisCluster, RedisServer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- exceptions ----------------------------------------------------------------------------


async def test_bad_input_is_a_data_error_and_a_builtin(redis_url: str) -> None:
    async with Client.from_url(redis_url) as r:
        with pytest.raises(DataError, match="argument 2 of SET is None"):
            await r.set("k", None)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            await r.execute("SET", "k", True)
        with pytest.raises(exceptions.DataError):
            await r.execute()
        with pytest.raises(ValueError, match="at least its name"):
            await r.execute()
        assert await r.get("k") is None  # nothing was sent


async def test_connection_error_catches_a_refused_connection() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    async with Client.from_url(url, acquire_timeout=0.3, connect_timeout=0.2) as r:
        with pytest.raises(exceptions.ConnectionError) as caught:
            await r.get("k")
    assert isinstance(caught.value, ConnectionError)  # the builtin too


async def test_timeout_error_catches_a_frozen_server_and_a_full_pool() -> None:
    with RedisServer() as server:
        async with Client.from_url(
            server.url, command_timeout=0.2, max_size=1, acquire_timeout=0.2
        ) as r:
            await r.ping()
            async with r.pool.acquire():
                with pytest.raises(exceptions.TimeoutError) as caught:
                    await r.get("k")  # PoolTimeout: the one connection is held
                assert isinstance(caught.value, PoolTimeout)
            server.pause()
            try:
                with pytest.raises(exceptions.TimeoutError) as caught:
                    await r.get("k")  # CommandTimeout: written, no reply
                assert isinstance(caught.value, exceptions.TimeoutError)
                assert not isinstance(caught.value, PoolTimeout)
            finally:
                server.resume()


async def test_out_of_memory_is_its_own_reply_error() -> None:
    with RedisServer(args=["--maxmemory-policy", "noeviction"]) as server:
        async with Client.from_url(server.url) as r:
            used = int((await r.info("memory"))["used_memory"])
            await r.config_set("maxmemory", str(used + 2_000_000))
            await r.set("big:0", b"x" * 100_000)
            refused = None
            for i in range(1, 100):  # bounded: 100 x 100 KB is far past 2 MB more
                try:
                    await r.set(f"big:{i}", b"x" * 100_000)
                except OutOfMemoryError as exc:
                    refused = exc
                    break
            assert refused is not None
            assert refused.code == "OOM"
            assert await r.get("big:0") == b"x" * 100_000  # the connection is fine
            with pytest.raises(exceptions.ResponseError):
                await r.set("one-more", b"x" * 100_000)


async def test_a_replica_cut_off_from_its_primary_answers_master_down() -> None:
    gone = free_port()  # nothing listens there: the replica never syncs
    with RedisServer() as replica:
        async with Client.from_url(replica.url) as r:
            await r.config_set("replica-serve-stale-data", "no")
            await r.execute("REPLICAOF", "127.0.0.1", str(gone))
            with pytest.raises(MasterDownError, match="MASTERDOWN"):
                await r.get("k")
            with pytest.raises(exceptions.ClusterDownError):
                await r.get("k")  # redis-py's MasterDownError is a ClusterDownError too


# -- pub/sub -------------------------------------------------------------------------------


async def test_get_message_does_not_wait_by_default(redis_url: str) -> None:
    async with Client.from_url(redis_url) as r, r.pubsub() as ps:
        await ps.subscribe("ch")
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await ps.get_message() is None  # timeout=0.0, as in redis-py
        assert loop.time() - started < 0.5
        await r.publish("ch", "hi")
        message = await ps.get_message(timeout=2)  # confirmations are not buffered
        assert message == Message("message", b"ch", b"hi")


async def test_confirmations_are_messages_when_asked_for(redis_url: str) -> None:
    async with (
        Client.from_url(redis_url, decode_responses=True) as r,
        r.pubsub(ignore_subscribe_messages=False) as ps,
    ):
        await ps.subscribe("ch")
        await ps.psubscribe("news.*")
        first = await ps.get_message(timeout=2)
        assert first is not None
        assert dict(first) == {"type": "subscribe", "pattern": None, "channel": "ch", "data": 1}
        second = await ps.get_message(timeout=2)
        assert second is not None
        assert (second["type"], second["channel"], second["data"]) == ("psubscribe", "news.*", 2)
        await r.publish("ch", "one")
        await ps.unsubscribe("ch")
        await r.publish("news.x", "two")
        seen = []
        for _ in range(3):
            message = await ps.get_message(timeout=2)
            assert message is not None
            seen.append((message["type"], message["data"]))
        assert seen == [("message", "one"), ("unsubscribe", 1), ("pmessage", "two")]


async def test_get_message_can_skip_buffered_confirmations(redis_url: str) -> None:
    async with (
        Client.from_url(redis_url) as r,
        r.pubsub(ignore_subscribe_messages=False) as ps,
    ):
        await ps.subscribe("a", "b")
        await r.publish("b", "x")
        message = await ps.get_message(ignore_subscribe_messages=True, timeout=2)
        assert message == Message("message", b"b", b"x")
        assert await ps.get_message(True) is None  # redis-py's positional form


async def test_listen_yields_confirmations_as_redis_py_does(redis_url: str) -> None:
    async with (
        Client.from_url(redis_url) as r,
        r.pubsub(ignore_subscribe_messages=False) as ps,
    ):
        await ps.subscribe("ch")
        await r.publish("ch", "x")
        kinds = []
        async with asyncio.timeout(5):
            async for message in ps.listen():
                kinds.append(message["type"])
                if message["type"] == "message":
                    break
        assert kinds == ["subscribe", "message"]


async def test_a_timeout_given_first_is_refused_naming_the_fix(redis_url: str) -> None:
    async with Client.from_url(redis_url) as r, r.pubsub() as ps:
        await ps.subscribe("ch")
        with pytest.raises(TypeError, match="pass timeout= by name"):
            await ps.get_message(1.0)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="ignore_subscribe_messages must be a bool"):
            r.pubsub(ignore_subscribe_messages="yes")  # type: ignore[arg-type]


# -- options -------------------------------------------------------------------------------


async def test_encoding_errors_decides_what_bytes_that_do_not_decode_become(
    redis_url: str,
) -> None:
    async with Client.from_url(redis_url) as raw:
        await raw.set("latin", b"caf\xe9")
    async with Client.from_url(
        redis_url, decode_responses=True, encoding_errors="replace"
    ) as replacing:
        assert await replacing.get("latin") == "caf\ufffd"
    join = "&" if "?" in redis_url else "?"
    async with Client.from_url(f"{redis_url}{join}decode_responses=true") as strict:
        with pytest.raises(ProtocolError, match="decode"):
            await strict.get("latin")
        assert await strict.ping()  # a new connection replaced the aborted one


async def test_redis_py_option_names_work_against_a_server(redis_url: str) -> None:
    async with Client.from_url(
        redis_url, max_connections=2, socket_timeout=5, socket_connect_timeout=2
    ) as r:
        assert await r.ping()
        assert r.pool.options.max_size == 2
        assert r.pool.connection_options.command_timeout == 5


# -- pipelines and transactions ------------------------------------------------------------


async def test_a_pipeline_is_a_transaction_by_default(redis_url: str) -> None:
    async with Client.from_url(redis_url) as r:
        pipe = r.pipeline()
        assert pipe.transaction
        assert bool(pipe)  # empty, and still true, as in redis-py
        assert len(pipe) == 0
        # A queuing error discards the whole transaction: nothing ran.
        pipe.set("tx:a", "1").execute_command("SET", "tx:b")  # wrong arity
        with pytest.raises(exceptions.ResponseError, match="wrong number of arguments"):
            await pipe.execute()
        assert await r.get("tx:a") is None
        plain = r.pipeline(transaction=False)
        plain.set("tx:a", "1").execute_command("SET", "tx:b")
        results = await plain.execute(raise_on_error=False)
        assert results[0] is True
        assert isinstance(results[1], exceptions.ResponseError)
        assert await r.get("tx:a") == b"1"  # batched, not atomic: the first one ran


async def test_awaiting_a_queued_command_returns_the_pipeline(redis_url: str) -> None:
    async with Client.from_url(redis_url) as r, r.pipeline() as pipe:
        same = await pipe.set("tx:k", "v")  # redis-py's asyncio pipelines allow this
        assert same is pipe
        assert len(pipe) == 1
        assert await pipe.get("tx:k") is pipe  # not watching: still only queued
        assert await pipe.execute() == [True, b"v"]


async def test_redis_py_watch_read_multi_write(redis_url: str) -> None:
    async with Client.from_url(redis_url) as r:
        await r.set("tx:balance", "100")
        async with r.pipeline() as pipe:
            await pipe.watch("tx:balance")
            balance = int(await pipe.get("tx:balance"))  # runs now
            assert balance == 100
            pipe.multi()
            pipe.set("tx:balance", balance - 30)
            pipe.incrby("tx:spent", 30)
            assert await pipe.execute() == [True, 30]
        assert await r.get("tx:balance") == b"70"


async def test_a_write_between_watch_and_execute_aborts_redis_py_style(redis_url: str) -> None:
    async with Client.from_url(redis_url) as r, Client.from_url(redis_url) as other:
        await r.set("tx:w", "1")
        async with r.pipeline() as pipe:
            await pipe.watch("tx:w")
            value = await pipe.get("tx:w")
            await other.set("tx:w", "changed")
            pipe.multi()
            pipe.set("tx:w", value + b"!")
            with pytest.raises(exceptions.WatchError):
                await pipe.execute()
        assert await r.get("tx:w") == b"changed"


async def test_multi_is_refused_twice_or_after_queuing(redis_url: str) -> None:
    async with Client.from_url(redis_url) as r:
        pipe = r.pipeline(transaction=False)
        pipe.multi()
        assert pipe.transaction  # multi() makes it one, as in redis-py
        with pytest.raises(RuntimeError, match="already called"):
            pipe.multi()
        queued = r.pipeline()
        queued.get("tx:x")
        with pytest.raises(RuntimeError, match="before queuing"):
            queued.multi()


async def test_transaction_takes_redis_py_arguments(redis_url: str) -> None:
    async with Client.from_url(redis_url) as r, Client.from_url(redis_url) as other:
        await r.set("tx:n", "1")
        calls = 0

        async def bump(pipe: Pipeline) -> int:
            nonlocal calls
            calls += 1
            current = int(await pipe.get("tx:n"))
            if calls == 1:
                await other.incr("tx:n")  # lose the first race
            pipe.multi()
            pipe.set("tx:n", current * 10)
            return current * 10

        loop = asyncio.get_running_loop()
        started = loop.time()
        result = await r.transaction(bump, "tx:n", value_from_callable=True, watch_delay=0.2)
        assert result == 20  # what bump returned, in the attempt that ran
        assert calls == 2
        assert loop.time() - started >= 0.2  # the delay before the second attempt
        assert await r.get("tx:n") == b"20"
        assert await r.transaction(bump, "tx:n") == [True]  # EXEC's results by default
        with pytest.raises(ValueError, match="watch_delay"):
            await r.transaction(bump, "tx:n", watch_delay=-1)


async def test_mget_of_an_empty_list_is_an_empty_list(redis_url: str) -> None:
    async with Client.from_url(redis_url) as r:
        assert await r.mget([]) == []
        pipe = r.pipeline(transaction=False)
        pipe.set("e:a", "1").mget([]).mget(["e:a"])
        assert await pipe.execute() == [True, [], [b"1"]]
        with pytest.raises(TypeError, match="keys"):
            await r.mget()  # type: ignore[call-arg]


async def test_eval_takes_redis_py_numkeys_form_and_aiopool_lists(redis_url: str) -> None:
    script = "return {#KEYS, KEYS[1] or false, ARGV[1] or false}"
    async with Client.from_url(redis_url) as r:
        assert await r.eval(script, 1, "key", "arg") == [1, b"key", b"arg"]
        assert await r.eval(script, 0, "arg") == [0, None, b"arg"]
        assert await r.eval(script, ["key"], ["arg"]) == [1, b"key", b"arg"]
        assert await r.eval(script, keys=["key"], args=["arg"]) == [1, b"key", b"arg"]
        assert await r.eval(script) == [0, None, None]
        pipe = r.pipeline(transaction=False)
        pipe.eval(script, 1, "k", "a").evalsha(await r.script_load(script), 0, "b")
        assert await pipe.execute() == [[1, b"k", b"a"], [0, None, b"b"]]
        with pytest.raises(ValueError, match="numkeys must be between 0 and the 1 keys"):
            await r.eval(script, 2, "only-one")
        with pytest.raises(ValueError, match="or keys= and args="):
            await r.eval(script, 1, "k", keys=["k"])
        with pytest.raises(TypeError, match="numkeys must be an int"):
            await r.eval(script, True, "k")
        with pytest.raises(ValueError, match="not both"):
            await r.eval(script, ["k"], ["a"], ["b"])
        with pytest.raises(ValueError, match="not both"):
            await r.eval(script, ["k"], keys=["k"])


async def test_cluster_pipelines_take_redis_py_watch_forms(redis_cluster: RedisCluster) -> None:
    async with ClusterClient.from_url(redis_cluster.startup_url) as rc:
        await rc.set("{w}a", "1")
        async with rc.pipeline(transaction=True) as pipe:
            assert pipe  # always true
            await pipe.watch("{w}a")
            assert await pipe.get("{w}a") == b"1"  # runs now on the slot's primary
            with pytest.raises(exceptions.ClusterCrossSlotError):
                pipe.get("{other}b")  # another slot: refused as it is queued
            pipe.multi()
            with pytest.raises(RuntimeError, match="already called"):
                pipe.multi()
            assert await pipe.set("{w}a", "2") is pipe  # after multi(): queued
            assert await pipe.execute() == [True]
        assert await rc.get("{w}a") == b"2"
        plain = rc.pipeline()
        assert not plain.transaction  # a cluster pipeline batches by default
        assert await plain.get("{w}a") is plain
        assert await plain.execute() == [b"2"]


@pytest.mark.parametrize(
    ("call", "kind"),
    [
        (lambda r: r.set("k", "v", nx=True, xx=True), DataValueError),
        (lambda r: r.expire("k", "soon"), DataTypeError),
        (lambda r: r.zadd("z", {}), DataValueError),
        (lambda r: r.geosearch("g", member="m", radius=1, count=0), DataValueError),
        (lambda r: r.xadd("s", {}), DataValueError),
        (lambda r: r.acl_genpass(0), DataValueError),
        (lambda r: r.eval("return 1", 3, "k"), DataValueError),
        (lambda r: r.hset("h"), DataValueError),
        (lambda r: r.execute("GET", None), DataTypeError),
    ],
)
async def test_every_family_s_bad_arguments_are_data_errors(
    redis_url: str, call: Any, kind: type[Exception]
) -> None:
    async with Client.from_url(redis_url) as r:
        with pytest.raises(kind) as caught:
            await call(r)
        assert isinstance(caught.value, DataError)
        assert isinstance(caught.value, TypeError | ValueError)
        assert r.pool.stats().acquired == 0  # refused before a connection was even borrowed
