"""redis-py's argument names and call forms, against a real server.

``tools/redis_py_parity.py`` checks the signatures; these tests check that
the calls redis-py code makes (keywords such as ``hget(name=, key=)``,
``mget(keys=[...])``, ``eval(script, numkeys, *keys_and_args)``) do what
they do in redis-py, on a client, in a pipeline and, for the key-routed
forms, on a cluster; and that wrong calls fail before anything is sent.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import pytest

from aiopool import Client, ClusterClient, CrossSlotError, ReplyError, key_slot
from aiopool.testing import RedisCluster

from .cluster_support import unique_tag

ADD_KEY_TO_ARG = "return redis.call('INCRBY', KEYS[1], ARGV[1])"
GET_KEY = "return redis.call('GET', KEYS[1])"


@pytest.fixture(autouse=True)
async def _no_scripts_or_functions(r: Client) -> AsyncIterator[None]:
    """FLUSHALL keeps scripts and functions: drop them before and after each test."""
    await r.script_flush()
    await r.function_flush()
    yield
    await r.script_flush()
    await r.function_flush()


# -- parameter names -----------------------------------------------------------------------


async def test_string_and_hash_commands_take_redis_py_keywords(r: Client) -> None:
    assert await r.set(name="s", value="1") is True
    assert await r.get(name="s") == b"1"
    assert await r.incr(name="s", amount=4) == 5
    assert await r.hset(name="h", key="f", value="v") == 1
    assert await r.hget(name="h", key="f") == b"v"
    assert await r.hincrby(name="h", key="n", amount=2) == 2
    assert await r.hexists(name="h", key="n") is True
    assert await r.hmget(name="h", keys=["f", "n"]) == [b"v", b"2"]
    # A hash command on a string is the server's error, and the client goes on.
    with pytest.raises(ReplyError, match="WRONGTYPE"):
        await r.hget(name="s", key="f")
    assert await r.get("s") == b"5"


async def test_aiopool_earlier_keyword_names_fail_naming_the_argument(r: Client) -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'key'"):
        await r.get(key="s")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'field'"):
        await r.hget("h", field="f")  # type: ignore[call-arg]
    pipe = r.pipeline()
    # A pipeline's method names the parameter it misses.
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'name'"):
        pipe.get(key="s")  # type: ignore[call-arg]
    assert len(pipe) == 0


async def test_key_list_and_set_commands_take_redis_py_keywords(r: Client) -> None:
    await r.rpush("l", "a", "c")
    assert await r.linsert(name="l", where="before", refvalue="c", value="b") == 3
    assert await r.lrange(name="l", start=0, end=-1) == [b"a", b"b", b"c"]
    assert await r.rename(src="l", dst="l2") is True
    assert await r.sadd("set", "x") == 1
    assert await r.sismember(name="set", value="x") is True
    assert await r.smove(src="set", dst="set2", value="x") is True
    assert await r.echo(value="hi") == b"hi"
    assert await r.wait(num_replicas=0, timeout=10) == 0
    with pytest.raises(ValueError, match="num_replicas"):
        await r.wait(num_replicas=-1, timeout=10)
    with pytest.raises(ReplyError, match="no such key"):
        await r.rename(src="missing", dst="other")


async def test_scan_iterators_and_register_script_take_redis_py_keywords(r: Client) -> None:
    await r.hset("h", mapping={"a": "1"})
    await r.sadd("s", "m")
    assert [pair async for pair in r.hscan_iter(name="h")] == [(b"a", b"1")]
    assert [member async for member in r.sscan_iter(name="s")] == [b"m"]
    script = r.register_script(script=ADD_KEY_TO_ARG)
    assert await script(keys=["n"], args=[3]) == 3
    await r.set("str", "x")
    with pytest.raises(ReplyError, match="WRONGTYPE"):
        async for _ in r.sscan_iter(name="str"):
            pass


# -- a list, or arguments: redis-py's list_or_args ----------------------------------------


async def test_mget_and_set_algebra_take_a_list_or_arguments(r: Client) -> None:
    await r.mset({"a": "1", "b": "2", "c": "3"})
    await r.sadd("s1", "x", "y")
    await r.sadd("s2", "y", "z")
    assert await r.mget(keys=["a", "b"]) == [b"1", b"2"]
    assert await r.mget(["a", "b"], "c") == [b"1", b"2", b"3"]
    assert await r.sinter(keys=["s1", "s2"]) == {b"y"}
    assert await r.sunion(["s1"], "s2") == {b"x", b"y", b"z"}
    assert await r.sdiffstore(dest="d", keys=["s1", "s2"]) == 1
    assert await r.smismember(name="s1", values=["x", "z"]) == [True, False]
    assert await r.smismember("s1", "y", "z") == [True, False]
    with pytest.raises(TypeError, match="position 1"):
        await r.mget("a", ["b"])
    with pytest.raises(ValueError, match="at least one member"):
        await r.smismember("s1", [])
    with pytest.raises(ReplyError, match="WRONGTYPE"):
        await r.sinter(["s1", "a"])


async def test_list_or_args_commands_queue_in_a_pipeline(r: Client) -> None:
    await r.set("a", "1")
    await r.sadd("s", "x")
    pipe = r.pipeline(transaction=False)
    pipe.mget(keys=["a", "missing"]).sinter(keys=["s"]).smismember("s", ["x", "y"])
    pipe.info(section="server")
    result = await pipe.execute()
    assert result[:3] == [[b"1", None], {b"x"}, [True, False]]
    assert "redis_version" in result[3]
    assert "connected_clients" not in result[3]


async def test_info_takes_a_section_then_more(r: Client) -> None:
    everything = await r.info()
    server = await r.info(section="server")
    both = await r.info("server", "clients")
    assert "redis_version" in server
    assert "connected_clients" not in server
    assert {"redis_version", "connected_clients"} <= both.keys()
    assert {"redis_version", "connected_clients", "used_memory"} <= everything.keys()
    assert await r.info("no-such-section") == {}


# -- scripts: numkeys and keys_and_args ---------------------------------------------------


async def test_eval_takes_redis_py_numkeys_and_keys_and_args(r: Client) -> None:
    assert await r.eval(ADD_KEY_TO_ARG, 1, "n", 5) == 5
    assert await r.eval("return {KEYS[1], ARGV[1]}", 1, "k", "a") == [b"k", b"a"]
    assert await r.eval("return #ARGV", 0, "a", "b") == 2
    sha = await r.script_load(ADD_KEY_TO_ARG)
    assert await r.evalsha(sha, 1, "n", 2) == 7
    assert await r.evalsha_ro(await r.script_load(GET_KEY), 1, "n") == b"7"
    assert await r.eval_ro(GET_KEY, 1, "n") == b"7"
    with pytest.raises(ValueError, match="numkeys must be between 0 and the 0"):
        await r.eval(script=GET_KEY, numkeys=1)
    # aiopool's lists keep working, by keyword or position.
    assert await r.eval(ADD_KEY_TO_ARG, keys=["n"], args=[1]) == 8
    assert await r.eval(ADD_KEY_TO_ARG, ["n"], [1]) == 9


async def test_eval_refuses_a_count_that_does_not_fit_before_sending(r: Client) -> None:
    with pytest.raises(ValueError, match="numkeys must be between 0 and the 1 keys"):
        await r.eval(ADD_KEY_TO_ARG, 2, "n")
    with pytest.raises(ValueError, match="numkeys and keys_and_args, or keys= and args="):
        await r.eval(ADD_KEY_TO_ARG, 1, "n", keys=["n"])
    with pytest.raises(TypeError, match="numkeys must be an int"):
        await r.eval(ADD_KEY_TO_ARG, "1", "n")
    with pytest.raises(ValueError, match="keys_and_args given without numkeys"):
        await r.eval(ADD_KEY_TO_ARG, None, "n")
    assert await r.exists("n") == 0
    await r.sadd("set", "x")
    with pytest.raises(ReplyError, match="WRONGTYPE"):
        await r.eval(ADD_KEY_TO_ARG, 1, "set", 1)


async def test_fcall_takes_redis_py_numkeys_and_keys_and_args(r: Client) -> None:
    await r.function_load(
        "#!lua name=sig\n"
        "redis.register_function('addto', function(keys, args) "
        "return redis.call('INCRBY', keys[1], args[1]) end)\n"
        "redis.register_function{function_name='peek', callback=function(keys, args) "
        "return redis.call('GET', keys[1]) end, flags={'no-writes'}}",
        replace=True,
    )
    assert await r.fcall("addto", 1, "f", 4) == 4
    assert await r.fcall_ro("peek", 1, "f") == b"4"
    assert await r.fcall("addto", keys=["f"], args=[1]) == 5
    with pytest.raises(ValueError, match="numkeys"):
        await r.fcall("addto", 3, "f", 1)
    with pytest.raises(ReplyError, match=r"Function not found"):
        await r.fcall("nope", 0)


async def test_eval_numkeys_form_queues_in_a_pipeline(r: Client) -> None:
    pipe = r.pipeline()
    pipe.eval(ADD_KEY_TO_ARG, 1, "p", 2).evalsha(
        hashlib.sha1(ADD_KEY_TO_ARG.encode()).hexdigest(), 1, "p", 3
    )
    with pytest.raises(ValueError, match="numkeys"):
        pipe.eval(ADD_KEY_TO_ARG, 5, "p")
    assert len(pipe) == 2
    assert await pipe.execute() == [2, 5]


async def test_cluster_routes_eval_by_the_keys_numkeys_counts(
    redis_cluster: RedisCluster,
) -> None:
    t = unique_tag("ev")
    a, b = f"{t}:a", f"{t}:b"
    assert key_slot(a) != key_slot(b)
    together = f"{{{t}}}:a", f"{{{t}}}:b"
    async with ClusterClient.from_url(redis_cluster.startup_url) as cc:
        assert await cc.eval(ADD_KEY_TO_ARG, 1, a, 3) == 3
        assert await cc.eval("return #KEYS", 2, *together) == 2
        # What follows the counted keys is args: b does not count for the slot.
        assert await cc.eval("return ARGV[1]", 1, a, b) == b.encode()
        with pytest.raises(CrossSlotError):
            await cc.eval("return 1", 2, a, b)
        assert await cc.get(a) == b"3"


# -- flush modes and patterns -------------------------------------------------------------


@pytest.mark.parametrize("mode", ["SYNC", "ASYNC", "async"])
async def test_script_flush_takes_redis_py_sync_type(r: Client, mode: str) -> None:
    sha = await r.script_load("return 1")
    assert await r.script_flush(sync_type=mode) is True
    assert await r.script_exists(sha) == [False]


async def test_flush_modes_refuse_other_words_before_sending(r: Client) -> None:
    sha = await r.script_load("return 1")
    with pytest.raises(ValueError, match="sync_type must be 'SYNC', 'ASYNC' or None"):
        await r.script_flush("LATER")
    with pytest.raises(TypeError, match="sync_type"):
        await r.script_flush(1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mode must be 'SYNC', 'ASYNC' or None"):
        await r.function_flush("LATER")
    with pytest.raises(ValueError, match="not both"):
        await r.script_flush("SYNC", asynchronous=True)
    assert await r.script_exists(sha) == [True]


@pytest.mark.parametrize(
    "call",
    [
        lambda r: r.function_flush(),
        lambda r: r.function_flush("ASYNC"),
        lambda r: r.function_flush(mode="SYNC"),
        lambda r: r.function_flush(asynchronous=True),
        lambda r: r.function_flush(True),
    ],
    ids=["default", "ASYNC", "mode=SYNC", "asynchronous=True", "earlier positional bool"],
)
async def test_function_flush_takes_redis_py_mode(r: Client, call: object) -> None:
    await r.function_load("#!lua name=gone\nredis.register_function('f', function() return 1 end)")
    assert await call(r) is True  # type: ignore[operator]
    assert await r.function_list() == []


async def test_function_list_lists_every_library_by_default(r: Client) -> None:
    for name in ("one", "two"):
        await r.function_load(
            f"#!lua name={name}\nredis.register_function('{name}_f', function() return 1 end)"
        )
    assert sorted(lib["library_name"] for lib in await r.function_list()) == [b"one", b"two"]
    assert [lib["library_name"] for lib in await r.function_list("o*")] == [b"one"]
    assert await r.function_list(library="none*") == []
