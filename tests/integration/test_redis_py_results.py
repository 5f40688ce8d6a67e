"""The same calls, on redis-py's asyncio client and on aiopool: the same Python values.

Two fresh servers get the same sequence of calls, one through
``redis.asyncio.Redis(protocol=2)`` and one through ``aiopool.Client``; each
result (or the error's kind) must be equal and of the same type. redis-py is a
test-only reference here (the ``test`` extra installs it). ``BOOL_FLAGS``
lists the deliberate difference: aiopool gives ``bool`` where redis-py gives
``0``/``1`` (they compare equal), as docs/migrating-from-redis-py.md says.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import AsyncIterator
from typing import Any

import pytest

import aiopool
from aiopool.testing import RedisServer

if os.environ.get("CI"):
    import redis.asyncio as redis_py  # the test extra installs it: CI must not skip
else:
    redis_py = pytest.importorskip("redis.asyncio", reason="pip install -e '.[test]'")

# The calls, in order (later ones read what earlier ones wrote); only
# deterministic results (no SCAN order, clocks, ids of connections).
CALLS: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("set", ("s", "v"), {}),
    ("get", ("s",), {}),
    ("set", ("s", "v2"), {"get": True}),
    ("set", ("s", "v3"), {"nx": True}),
    ("getex", ("s",), {"ex": 100}),
    ("ttl", ("s",), {}),
    ("persist", ("s",), {}),
    ("type", ("s",), {}),
    ("strlen", ("s",), {}),
    ("append", ("s", "x"), {}),
    ("setrange", ("s", 0, "V"), {}),
    ("getrange", ("s", 0, 1), {}),
    ("substr", ("s", 0, 1), {}),
    ("incrbyfloat", ("f", 1.5), {}),
    ("incr", ("n",), {}),
    ("incr", ("n",), {"amount": 5}),
    ("decr", ("n",), {}),
    ("mset", ({"a": 1, "b": 2},), {}),
    ("msetnx", ({"a": 1},), {}),
    ("mget", (["a", "b", "zz"],), {}),
    ("mget", ("a", "b"), {}),
    ("mget", ([],), {}),
    ("setnx", ("a", 1), {}),
    ("setex", ("ex", 100, "v"), {}),
    ("psetex", ("pex", 100000, "v"), {}),
    ("getset", ("ex", "w"), {}),
    ("getdel", ("ex",), {}),
    ("lcs", ("s", "s"), {}),
    ("exists", ("a", "b"), {}),
    ("touch", ("a",), {}),
    ("rename", ("a", "a2"), {}),
    ("renamenx", ("a2", "b"), {}),
    ("copy", ("b", "b9"), {}),
    ("expire", ("b9", 100), {}),
    ("expire", ("b9", 100), {"nx": True}),
    ("pexpire", ("b9", 100000), {}),
    ("delete", ("b9", "nope"), {}),
    ("unlink", ("nope",), {}),
    ("hset", ("h",), {"mapping": {"f": 1, "g": 2}}),
    ("hset", ("h", "k", "v"), {}),
    ("hget", ("h", "f"), {}),
    ("hgetall", ("h",), {}),
    ("hmget", ("h", ["f", "x"]), {}),
    ("hmget", ("h", "f", "g"), {}),
    ("hkeys", ("h",), {}),
    ("hvals", ("h",), {}),
    ("hlen", ("h",), {}),
    ("hexists", ("h", "f"), {}),
    ("hincrby", ("h", "f", 2), {}),
    ("hincrbyfloat", ("h", "g", 0.5), {}),
    ("hstrlen", ("h", "f"), {}),
    ("hsetnx", ("h", "f", 1), {}),
    ("hdel", ("h", "g"), {}),
    ("rpush", ("l", "a", "b", "c", "d", "e"), {}),
    ("lrange", ("l", 0, -1), {}),
    ("lpop", ("l",), {}),
    ("lpop", ("l", 2), {}),
    ("rpop", ("l",), {}),
    ("lpos", ("l", "d"), {}),
    ("lpos", ("l", "x"), {}),
    ("linsert", ("l", "BEFORE", "d", "q"), {}),
    ("llen", ("l",), {}),
    ("lindex", ("l", 0), {}),
    ("lindex", ("l", "1"), {}),
    ("lset", ("l", 0, "z"), {}),
    ("lrem", ("l", 0, "z"), {}),
    ("ltrim", ("l", 0, 1), {}),
    ("rpush", ("l2", "x", "y"), {}),
    ("blpop", (["l2"], 1), {}),
    ("brpop", ("l2", 1), {}),
    ("blpop", (["l2"], 0.01), {}),
    ("rpush", ("l2", "x", "y"), {}),
    ("lmove", ("l2", "l3"), {}),
    ("rpoplpush", ("l2", "l3"), {}),
    ("lmpop", (1, "l3"), {"direction": "LEFT"}),
    ("sadd", ("st", "a", "b", "c"), {}),
    ("smembers", ("st",), {}),
    ("sismember", ("st", "a"), {}),
    ("scard", ("st",), {}),
    ("sinter", (["st"],), {}),
    ("sunion", ("st", "nope"), {}),
    ("sdiff", (["st", "nope"],), {}),
    ("smove", ("st", "st2", "a"), {}),
    ("srem", ("st", "b"), {}),
    ("sunionstore", ("st3", ["st2", "st"]), {}),
    ("sintercard", (1, ["st3"]), {}),
    ("zadd", ("z", {"a": 1, "b": 2, "c": 3}), {}),
    ("zadd", ("z", {"a": 5}), {"xx": True, "ch": True}),
    ("zadd", ("z", {"a": 1}), {"incr": True}),
    ("zrange", ("z", 0, -1), {}),
    ("zrange", ("z", 0, -1), {"withscores": True}),
    ("zrange", ("z", 0, -1), {"desc": True, "withscores": True, "score_cast_func": int}),
    ("zrange", ("z", 1, 3), {"byscore": True, "offset": 0, "num": 2}),
    ("zrevrange", ("z", 0, -1, True), {}),
    ("zrangebyscore", ("z", 1, 2), {}),
    ("zrangebyscore", ("z", "-inf", "+inf"), {"withscores": True, "start": 0, "num": 2}),
    ("zrevrangebyscore", ("z", "+inf", 2), {}),
    ("zrangebylex", ("z", "-", "+"), {}),
    ("zscore", ("z", "a"), {}),
    ("zscore", ("z", "nope"), {}),
    ("zmscore", ("z", ["a", "q"]), {}),
    ("zincrby", ("z", 1, "a"), {}),
    ("zcard", ("z",), {}),
    ("zcount", ("z", 0, 10), {}),
    ("zrank", ("z", "b"), {}),
    ("zrevrank", ("z", "b"), {}),
    ("zpopmin", ("z",), {}),
    ("zpopmax", ("z", 1), {}),
    ("zadd", ("z", {"a": 1, "b": 2, "c": 3}), {}),
    ("zunionstore", ("z3", ["z"]), {}),
    ("zinterstore", ("z4", {"z": 2, "z3": 1}), {"aggregate": "MAX"}),
    ("zrange", ("z4", 0, -1), {"withscores": True}),
    ("zinter", (["z", "z3"],), {}),
    ("zunion", (["z", "z3"],), {"withscores": True}),
    ("zdiffstore", ("z5", ["z", "z4"]), {}),
    ("zintercard", (2, ["z", "z3"]), {}),
    ("zremrangebyrank", ("z", 0, 0), {}),
    ("zremrangebyscore", ("z", 0, 1), {}),
    ("zlexcount", ("z", "-", "+"), {}),
    ("zadd", ("z2", {"x": 1}), {}),
    ("bzpopmin", (["z2"], 1), {}),
    ("bzpopmax", (["z2"], 0.01), {}),
    ("xadd", ("x", {"f": "v"}), {"id": "1-1"}),
    ("xadd", ("x", {"g": "w"}), {"id": "2-1"}),
    ("xadd", ("x", {"h": "u"}), {"id": "3-1", "maxlen": 10, "approximate": False}),
    ("xlen", ("x",), {}),
    ("xrange", ("x",), {}),
    ("xrange", ("x", "2-0", "+", 1), {}),
    ("xrevrange", ("x",), {}),
    ("xread", ({"x": "0"},), {}),
    ("xread", ({"x": "$"},), {"block": 10}),
    ("xgroup_create", ("x", "g", "0"), {}),
    ("xreadgroup", ("g", "c", {"x": ">"}), {"count": 1}),
    ("xack", ("x", "g", "1-1"), {}),
    ("xtrim", ("x", 2), {"approximate": False}),
    ("xdel", ("x", "2-1"), {}),
    ("xgroup_setid", ("x", "g", "0"), {}),
    ("xgroup_destroy", ("x", "g"), {}),
    ("setbit", ("bits", 3, 1), {}),
    ("getbit", ("bits", 3), {}),
    ("bitcount", ("bits",), {}),
    ("bitpos", ("bits", 1), {}),
    ("bitop", ("OR", "bits2", "bits"), {}),
    ("pfadd", ("hll", "a", "b"), {}),
    ("pfcount", ("hll",), {}),
    ("pfmerge", ("hll2", "hll"), {}),
    ("geoadd", ("geo", [13.361389, 38.115556, "P", 15.087269, 37.502669, "C"]), {}),
    ("geodist", ("geo", "P", "C"), {"unit": "km"}),
    ("geohash", ("geo", "P", "C"), {}),
    ("geosearch", ("geo",), {"member": "P", "radius": 500, "unit": "km", "sort": "ASC"}),
    ("sort", ("l3",), {"alpha": True}),
    ("sort", ("st3",), {"alpha": True, "desc": True, "start": 0, "num": 1}),
    ("ping", (), {}),
    ("echo", ("hi",), {}),
    ("dbsize", (), {}),
    ("config_get", ("maxmemory",), {}),
    ("config_set", ("maxmemory-policy", "noeviction"), {}),
    ("client_setname", ("me",), {}),
    ("client_getname", (), {}),
    ("object", ("encoding", "h"), {}),
    ("keys", ("zz*",), {}),
    ("script_load", ("return 1",), {}),
    ("script_exists", ("e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0" * 40), {}),
    ("eval", ("return {KEYS[1], ARGV[1]}", 1, "k", "a"), {}),
    ("evalsha", ("e0e1f9fabfc9d4800c877a703b823ac0578ff8db", 0), {}),
    ("pubsub_channels", (), {}),
    ("pubsub_numpat", (), {}),
    ("publish", ("c", "m"), {}),
    ("acl_whoami", (), {}),
    ("acl_users", (), {}),
    ("flushdb", (), {}),
    ("dbsize", (), {}),
    ("lpush", ("s2", "x"), {}),
    ("get", ("s2",), {}),  # WRONGTYPE: an error of the same kind on both
    ("hget", ("s2", "f"), {}),
]

# Replies that are 0/1 in redis-py and bool in aiopool (they compare equal).
BOOL_FLAGS = {"sismember", "hsetnx", "hexists", "pfadd", "setnx", "msetnx", "renamenx"}


async def _call(client: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # redis-py's setex, hmset, ...
            return await getattr(client, name)(*args, **kwargs)
    except Exception as exc:  # the kind of error is compared, not its class's module
        kind = "ResponseError" if isinstance(exc, aiopool.ReplyError) else type(exc).__name__
        return f"<{kind}: {str(exc).split(' ', 1)[0]}>"


@pytest.fixture
async def both() -> AsyncIterator[tuple[Any, aiopool.Client]]:
    with RedisServer() as theirs, RedisServer() as ours:
        reference = redis_py.Redis(port=theirs.port, protocol=2)
        async with aiopool.Client.from_url(ours.url) as client:
            try:
                yield reference, client
            finally:
                await reference.aclose()


async def test_every_call_gives_redis_py_s_value_and_type(both: tuple[Any, Any]) -> None:
    reference, client = both
    differences = []
    for name, args, kwargs in CALLS:
        theirs = await _call(reference, name, args, kwargs)
        ours = await _call(client, name, args, kwargs)
        if name in BOOL_FLAGS and isinstance(ours, bool):
            same = theirs == ours and isinstance(theirs, int)
        else:
            same = theirs == ours and type(theirs) is type(ours)
        if not same:
            differences.append(f"{name}{args}{kwargs or ''}: redis-py {theirs!r}, aiopool {ours!r}")
    assert not differences, "\n".join(differences)


async def test_a_difference_is_reported(both: tuple[Any, Any]) -> None:
    # The comparison can fail: the same call on different data differs.
    reference, client = both
    await reference.set("d", "1")
    await client.set("d", "2")
    assert await _call(reference, "get", ("d",), {}) != await _call(client, "get", ("d",), {})


# Results that differ run to run (clocks, ids, addresses): the same shape.
SHAPES: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("time", (), {}),
    ("lastsave", (), {}),
    ("client_id", (), {}),
    ("client_info", (), {}),
    ("client_list", (), {}),
    ("info", ("server",), {}),
    ("memory_stats", (), {}),
    ("memory_usage", ("x",), {}),
    ("role", (), {}),
    ("slowlog_get", (1,), {}),
    ("slowlog_len", (), {}),
    ("acl_getuser", ("default",), {}),
    ("acl_cat", (), {}),
    ("command_count", (), {}),
    ("xinfo_stream", ("x",), {}),
    ("xinfo_groups", ("x",), {}),
    ("xinfo_consumers", ("x", "g"), {}),
    ("xpending", ("x", "g"), {}),
    ("xpending_range", ("x", "g", "-", "+", 10), {}),
    ("xclaim", ("x", "g", "c2", 0, ["1-1"]), {}),
    ("xautoclaim", ("x", "g", "c3", 0), {}),
    ("scan", (), {}),
    ("hscan", ("h",), {}),
    ("sscan", ("st",), {}),
    ("zscan", ("z",), {}),
    ("srandmember", ("st",), {}),
    ("spop", ("st", 1), {}),
    ("zrandmember", ("z", 2), {"withscores": True}),
    ("hrandfield", ("h", 2), {"withvalues": True}),
    ("randomkey", (), {}),
    ("geopos", ("geo", "P", "nope"), {}),
    ("pubsub_numsub", ("c",), {}),
    ("smismember", ("st", ["a", "z"]), {}),
    ("zdiff", (["z", "nope"],), {"withscores": True}),
    ("zmpop", (1, ["z"]), {"min": True, "count": 2}),
]


# Deliberate, with the reason and aiopool's shape (docs/migrating-from-redis-py.md
# lists them): scores as floats where redis-py's RESP2 default leaves them bytes,
# as zrange(withscores=True) gives them and as redis-py 8 does with
# legacy_responses=False.
PAIRS = ("list", [("tuple", ["bytes", "float"])] * 2)
SHAPE_DIFFERENCES: dict[str, tuple[str, Any]] = {
    "zrandmember": ("(member, float) pairs; redis-py: a flat list, bytes scores", PAIRS),
    "zdiff": ("(member, float) pairs; redis-py: a flat list, bytes scores", PAIRS),
    "zmpop": (
        "[key, [[member, float], ...]]; redis-py: bytes scores",
        ("list", ["bytes", ("list", [("list", ["bytes", "float"])] * 2)]),
    ),
}


def _shape(value: Any) -> Any:
    """Type, and for containers the shape of what is inside (dict keys included)."""
    if isinstance(value, dict):
        return ("dict", sorted(map(str, value)))
    if isinstance(value, list | tuple):
        return (type(value).__name__, [_shape(v) for v in value[:2]])
    if isinstance(value, bool):
        return "int"  # 0/1 flags: see BOOL_FLAGS
    if isinstance(value, float):
        return "float"
    return type(value).__name__


async def test_varying_results_have_redis_py_s_shape(both: tuple[Any, Any]) -> None:
    reference, client = both
    setup: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
        ("xadd", ("x", {"f": "v"}), {"id": "1-1"}),
        ("xgroup_create", ("x", "g", "0"), {}),
        ("xreadgroup", ("g", "c", {"x": ">"}), {}),
        ("hset", ("h",), {"mapping": {"a": 1, "b": 2}}),
        ("sadd", ("st", "a", "b"), {}),
        ("zadd", ("z", {"a": 1, "b": 2}), {}),
        ("geoadd", ("geo", [13.361389, 38.115556, "P"]), {}),
        ("set", ("k", "v"), {}),
    ]
    for name, args, kwargs in setup:
        await _call(reference, name, args, kwargs)
        await _call(client, name, args, kwargs)
    differences = []
    for name, args, kwargs in SHAPES:
        theirs = await _call(reference, name, args, kwargs)
        ours = await _call(client, name, args, kwargs)
        if name == "info":  # two servers' sections have the same fields
            theirs, ours = sorted(theirs), sorted(ours)
        if name in SHAPE_DIFFERENCES:
            assert _shape(ours) == SHAPE_DIFFERENCES[name][1], (name, ours)
            assert _shape(theirs) != _shape(ours), f"{name} now matches redis-py: drop it"
            continue
        if _shape(theirs) != _shape(ours):
            differences.append(f"{name}{args}: redis-py {theirs!r:.160}, aiopool {ours!r:.160}")
    assert not differences, "\n".join(differences)
