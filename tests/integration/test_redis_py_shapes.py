"""Code written the way redis-py users write it runs unchanged (issue 15, first part).

Multi-key commands take their keys as varargs or as one list first, as
redis-py's do (``mget(["a", "b"])``, ``delete(keys)``); pub/sub messages read
as redis-py's message dicts (``msg["type"]``, ``msg.get("data")``). On
``Client`` and ``ClusterClient`` (keys in one slot there), against real servers.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from aiopool import Client, ClusterClient, CrossSlotError, Message, ReplyError, ResponseError
from aiopool.testing import RedisCluster


def tag() -> str:
    return uuid.uuid4().hex[:8]


async def check_list_or_varargs(r: Any, keys: list[str]) -> None:
    """The same keys, as varargs and as a list; every multi-key command agrees."""
    a, b, c = keys
    await r.set(a, "1")
    await r.set(b, "2")
    assert await r.mget([a, b, c]) == [b"1", b"2", None]
    assert await r.mget(a, b, c) == [b"1", b"2", None]
    assert await r.mget([a], b) == [b"1", b"2"]  # redis-py's list_or_args: a list, then more
    assert await r.mget((a, b)) == [b"1", b"2"]
    assert await r.exists([a, b, c]) == 2
    assert await r.touch([a, b]) == 2
    await r.sadd(a + ":s1", "x", "y")
    await r.sadd(a + ":s2", "y", "z")
    sets = [a + ":s1", a + ":s2"]
    assert await r.sinter(sets) == {b"y"}
    assert await r.sunion(sets) == {b"x", b"y", b"z"}
    assert await r.sdiff(sets) == {b"x"}
    assert await r.sinterstore(a + ":s3", sets) == 1
    assert await r.sunionstore(a + ":s3", sets) == 3
    assert await r.sdiffstore(a + ":s3", sets) == 1
    assert await r.unlink([a + ":s1"]) == 1
    assert await r.delete([a, b, c, a + ":s2", a + ":s3"]) == 4
    assert await r.exists(keys) == 0


async def test_multi_key_commands_take_a_list_or_varargs(redis_url: str) -> None:
    t = tag()
    async with Client.from_url(redis_url) as r:
        await check_list_or_varargs(r, [f"{t}:a", f"{t}:b", f"{t}:c"])


async def test_a_pipeline_takes_a_list_of_keys_too(redis_url: str) -> None:
    t = tag()
    async with Client.from_url(redis_url) as r:
        pipe = r.pipeline(transaction=False)
        pipe.set(f"{t}:a", "1").mget([f"{t}:a", f"{t}:b"]).delete([f"{t}:a"])
        assert await pipe.execute() == [True, [b"1", None], 1]


async def test_multi_key_commands_take_a_list_on_the_cluster(redis_cluster: RedisCluster) -> None:
    t = tag()
    keys = [f"{{{t}}}:a", f"{{{t}}}:b", f"{{{t}}}:c"]  # one hash tag: one slot
    async with ClusterClient.from_url(redis_cluster.startup_url) as rc:
        await check_list_or_varargs(rc, keys)
        # Keys of two slots in a list are refused before anything is sent, as varargs are.
        with pytest.raises(CrossSlotError):
            await rc.mget([f"{t}:x", f"{t}:y:other"])


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        # redis-py's mget(keys, *args): keys is a required argument.
        (lambda r: r.mget(), TypeError, r"mget\(\) missing 1 required positional argument: 'keys'"),
        (lambda r: r.delete(), ValueError, "needs at least one key"),
        (lambda r: r.mget("a", ["b"]), TypeError, "one list first"),
        (lambda r: r.exists(["a"], ["b"]), TypeError, "position 1"),
    ],
)
async def test_bad_key_lists_are_refused_at_the_call_naming_the_command(
    redis_url: str, call: Any, error: type[Exception], match: str
) -> None:
    async with Client.from_url(redis_url) as r:
        with pytest.raises(error, match=match):
            call(r)  # raised by the call itself, before any await
        assert r.pool.stats().acquired == 0  # nothing was sent


async def test_messages_read_as_redis_py_dicts(redis_url: str) -> None:
    async with Client.from_url(redis_url) as r, r.pubsub() as ps:
        await ps.subscribe("news")
        await ps.psubscribe("n*")
        assert await r.publish("news", "hello") == 2
        got = [await ps.get_message(timeout=5) for _ in range(2)]
        assert all(isinstance(m, Message) for m in got)
        by_type = {m["type"]: m for m in got if m is not None}
        plain, pattern = by_type["message"], by_type["pmessage"]
        assert (plain["channel"], plain["data"], plain["pattern"]) == (b"news", b"hello", None)
        assert plain.get("data") == b"hello"
        assert plain.get("nope", "default") == "default"
        assert pattern["pattern"] == b"n*"
        assert dict(pattern) == {
            "type": "pmessage",
            "pattern": b"n*",
            "channel": b"news",
            "data": b"hello",
        }
        with pytest.raises(KeyError):
            plain["payload"]


async def check_argument_shapes(r: Any, key: str) -> None:
    """Arguments redis-py code passes every day: amount=, number=, _type=, a bool bit."""
    assert await r.incr(key + ":n", amount=5) == 5
    assert await r.incr(key + ":n") == 6
    assert await r.decr(key + ":n", amount=2) == 4
    assert await r.decr(key + ":n") == 3
    assert await r.setbit(key + ":bits", 5, True) == 0
    assert await r.getbit(key + ":bits", 5) == 1
    assert await r.setbit(key + ":bits", 5, False) == 1
    await r.sadd(key + ":set", "a", "b", "c")
    picked = await r.srandmember(key + ":set", number=2)
    assert len(picked) == 2
    assert set(picked) <= {b"a", b"b", b"c"}
    with pytest.raises(ValueError, match="not both"):
        await r.srandmember(key + ":set", 1, number=2)
    await r.hset(key + ":h", mapping={"a": "1", "b": "2"})
    assert await r.hmget(key + ":h", "a", "b", "c") == [b"1", b"2", None]  # fields as varargs
    assert await r.hmget(key + ":h", ["a", "b"], "c") == [b"1", b"2", None]
    assert await r.hmget(key + ":h", ["a", "b"]) == [b"1", b"2"]
    found = {k async for k in r.scan_iter(match=key + ":*", _type="set")}
    assert found == {(key + ":set").encode()}


async def test_redis_py_argument_shapes(redis_url: str) -> None:
    async with Client.from_url(redis_url) as r:
        key = tag()
        await check_argument_shapes(r, key)
        _, keys = await r.scan(0, match=key + ":*", count=1000, _type="string")
        assert set(keys) == {(key + ":n").encode(), (key + ":bits").encode()}
        with pytest.raises(ValueError, match="not both"):
            await r.scan(0, type_="set", _type="set")
        pipe = r.pipeline(transaction=False)
        pipe.incr(key + ":p", amount=3).decr(key + ":p", amount=1)
        assert await pipe.execute() == [3, 2]


async def test_redis_py_argument_shapes_on_the_cluster(redis_cluster: RedisCluster) -> None:
    async with ClusterClient.from_url(redis_cluster.startup_url) as rc:
        await check_argument_shapes(rc, "{" + tag() + "}")


async def test_execute_command_and_response_error_port_from_redis_py(
    redis_url: str, redis_cluster: RedisCluster
) -> None:
    key = "{" + tag() + "}:h"
    async with (
        Client.from_url(redis_url) as r,
        ClusterClient.from_url(redis_cluster.startup_url) as rc,
    ):
        for client in (r, rc):
            assert await client.execute_command("HSET", key, "f", "1") == 1
            assert await client.execute_command("HINCRBY", key, "f", 2) == 3
            pipe = client.pipeline(transaction=False)
            pipe.execute_command("HGET", key, "f").execute_command("DEL", key)
            assert await pipe.execute() == [b"3", 1]
            await client.execute_command("SET", key, "text")
            with pytest.raises(ResponseError) as info:  # redis-py's name for ReplyError
                await client.execute_command("HGET", key, "f")
            assert info.value.code == "WRONGTYPE"
            assert isinstance(info.value, ReplyError)
