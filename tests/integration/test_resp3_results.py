"""Every typed method gives the same Python value under protocol 2 and protocol 3.

Two fresh servers get the same sequence of calls (``CALLS`` from
test_redis_py_results.py), one through ``Client(protocol=2)`` and one through
``Client(protocol=3)``; each result (or the error's kind) must be equal and of
the same type, nested values included (a ``dict`` of ``bytes`` to ``float``
is not a ``dict`` of ``bytes`` to ``bytes``). The calls whose results vary run
to run (``SHAPES``) must have the same shape. ``execute()`` is not compared:
under protocol 3 it gives RESP3's own types, as docs/guide/resp3.md says.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

import aiopool
from aiopool.testing import RedisServer

from .test_redis_py_results import CALLS, SHAPES, _call, _shape

# More calls of the families whose transforms RESP3 reaches (maps, pairs,
# doubles): the reply variants CALLS does not make. Deterministic: one-member
# collections where a count picks at random, small encodings for SCAN.
FAMILY_CALLS: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("set", ("a1", "ohmytext"), {}),
    ("set", ("a2", "mynewtext"), {}),
    ("lcs", ("a1", "a2"), {}),
    ("lcs", ("a1", "a2"), {"len": True}),
    ("lcs", ("a1", "a2"), {"idx": True}),
    ("lcs", ("a1", "a2"), {"idx": True, "minmatchlen": 4, "withmatchlen": True}),
    ("getex", ("a1",), {"persist": True}),
    ("expiretime", ("a1",), {}),
    ("pttl", ("a1",), {}),
    ("dump", ("a1",), {}),
    ("object", ("encoding", "a1"), {}),
    ("hset", ("h1", "only", "1"), {}),
    ("hrandfield", ("h1",), {}),
    ("hrandfield", ("h1", 1), {}),
    ("hrandfield", ("h1", -3), {"withvalues": True}),
    ("hrandfield", ("h1", 2), {"withvalues": True}),
    ("hrandfield", ("nope", 2), {"withvalues": True}),
    ("hset", ("h2",), {"mapping": {"a": "1", "b": "2", "c": "3"}}),
    ("hgetall", ("h2",), {}),
    ("hgetall", ("nope",), {}),
    ("hscan", ("h2",), {}),
    ("hscan", ("h2",), {"match": "a*"}),
    ("hincrbyfloat", ("h2", "a", 1e20), {}),
    ("sadd", ("s1", 3, 1, 2), {}),
    ("sscan", ("s1",), {}),
    ("smembers", ("s1",), {}),
    ("smismember", ("s1", [1, 9]), {}),
    ("srandmember", ("s1x",), {}),
    ("sadd", ("s2", "one"), {}),
    ("srandmember", ("s2", -2), {}),
    ("spop", ("s2", 1), {}),
    ("sintercard", (2, ["s1", "s1"]), {"limit": 2}),
    ("zadd", ("z1", {"a": 1.5, "b": 2, "c": float("inf")}), {}),
    ("zadd", ("z1", {"a": 1}), {"incr": True, "gt": True}),
    ("zadd", ("z1", {"a": -1}), {"incr": True, "gt": True}),
    ("zscore", ("z1", "c"), {}),
    ("zmscore", ("z1", ["a", "c", "nope"]), {}),
    ("zincrby", ("z1", 0.25, "b"), {}),
    ("zrange", ("z1", "-inf", "+inf"), {"byscore": True, "withscores": True}),
    ("zrange", ("z1", "[a", "+"), {"bylex": True}),
    ("zrangebyscore", ("z1", 0, 3), {"withscores": True, "score_cast_func": int}),
    ("zrevrangebyscore", ("z1", "+inf", "-inf"), {"withscores": True}),
    ("zrevrangebylex", ("z1", "+", "-"), {}),
    ("zrangestore", ("z2", "z1", 0, 1), {}),
    ("zinter", (["z1", "z2"],), {"withscores": True, "aggregate": "SUM"}),
    ("zinter", ({"z1": 2, "z2": 1},), {"withscores": True}),
    ("zunion", (["z2", "z2"],), {"withscores": True, "score_cast_func": int}),
    ("zdiff", (["z1", "z2"],), {"withscores": True}),
    ("zrank", ("z1", "b"), {"withscore": True}),
    ("zrevrank", ("z1", "nope"), {}),
    ("zscan", ("z1",), {}),
    ("zscan", ("z1",), {"score_cast_func": str}),
    ("zadd", ("z3", {"solo": 4}), {}),
    ("zrandmember", ("z3",), {}),
    ("zrandmember", ("z3", -2), {"withscores": True}),
    ("zrandmember", ("z3", 1), {"withscores": True}),
    ("zrandmember", ("nope", 2), {"withscores": True}),
    ("zpopmin", ("z1", 2), {}),
    ("zpopmax", ("z1",), {}),
    ("zpopmin", ("nope",), {}),
    ("zadd", ("z4", {"a": 1, "b": 2, "c": 3}), {}),
    ("zmpop", (1, ["z4"]), {"min": True, "count": 2}),
    ("bzmpop", (1, 1, ["z4"]), {"max": True}),
    ("zmpop", (1, ["z4"]), {"min": True}),
    ("bzmpop", (0.01, 1, ["z4"]), {"max": True}),
    ("zadd", ("z5", {"x": 2.5}), {}),
    ("bzpopmax", (["z5"], 1), {}),
    ("rpush", ("l1", "a", "b", "a", "c", "a"), {}),
    ("lpos", ("l1", "a"), {"rank": 2}),
    ("lpos", ("l1", "a"), {"count": 0}),
    ("lmpop", (1, "l1"), {"direction": "RIGHT", "count": 2}),
    ("blmpop", (1, 1, "l1"), {"direction": "LEFT"}),
    ("blmpop", (0.01, 1, "nope"), {"direction": "LEFT"}),
    ("blmove", ("l1", "l2", 1, "LEFT", "RIGHT"), {}),
    ("brpoplpush", ("l1", "l2", 1), {}),
    ("rpush", ("l3", "3", "1", "2"), {}),
    ("set", ("w_1", "x"), {}),
    ("set", ("w_2", "y"), {}),
    ("sort", ("l3",), {}),
    ("sort", ("l3",), {"get": ["#", "w_*"], "groups": True}),
    ("sort", ("l3",), {"store": "l4"}),
    ("sort_ro", ("l3",), {"desc": True}),
    ("geoadd", ("g", [13.361389, 38.115556, "P", 15.087269, 37.502669, "C"]), {}),
    ("geopos", ("g", "P", "C", "nope"), {}),
    ("geodist", ("g", "P", "C"), {}),
    ("geodist", ("g", "P", "nope"), {}),
    ("geohash", ("g", "P", "nope"), {}),
    (
        "geosearch",
        ("g",),
        {
            "longitude": 15,
            "latitude": 37,
            "radius": 200,
            "unit": "km",
            "sort": "ASC",
            "withdist": True,
            "withcoord": True,
            "withhash": True,
        },
    ),
    ("geosearch", ("g",), {"member": "P", "width": 400, "height": 400, "unit": "km"}),
    ("georadius", ("g", 15, 37, 200, "km"), {"withdist": True, "sort": "ASC"}),
    ("georadius", ("g", 15, 37, 200, "km"), {"withcoord": True, "count": 1, "sort": "ASC"}),
    ("georadiusbymember", ("g", "P", 300, "km"), {"withhash": True, "sort": "DESC"}),
    ("geosearchstore", ("g2", "g"), {"member": "P", "radius": 300, "unit": "km"}),
    ("georadius", ("g", 15, 37, 200, "km"), {"store_dist": "g3"}),
    ("zrange", ("g3", 0, -1), {"withscores": True}),
    ("setbit", ("b1", 7, 1), {}),
    ("bitcount", ("b1", 0, 0), {}),
    ("bitcount", ("b1", 0, 7), {"mode": "BIT"}),
    ("bitpos", ("b1", 1, 0, -1), {}),
    ("bitfield_ro", ("b1", "u8", 0), {"items": [("u4", 4)]}),
    ("pfadd", ("p1", "a"), {}),
    ("pfcount", ("p1", "hll"), {}),
    ("xadd", ("xs", {"f": "v", "g": "w"}), {"id": "1-1"}),
    ("xadd", ("xs", {"f": "v2"}), {"id": "2-1"}),
    ("xadd", ("xt", {"t": "1"}), {"id": "5-1"}),
    ("xrange", ("xs", "-", "+"), {"count": 1}),
    ("xrevrange", ("xs", "+", "-"), {"count": 1}),
    ("xread", ({"xs": "0", "xt": "0"},), {"count": 1}),
    ("xread", ({"xs": "$", "xt": "$"},), {"block": 10}),
    ("xread", ({"xs": "9-0"},), {}),
    ("xgroup_create", ("xs", "gr", "0"), {}),
    ("xgroup_createconsumer", ("xs", "gr", "c9"), {}),
    ("xreadgroup", ("gr", "c1", {"xs": ">"}), {}),
    ("xreadgroup", ("gr", "c1", {"xs": "0"}), {}),
    ("xreadgroup", ("gr", "c1", {"xs": ">"}), {"block": 10}),
    ("xpending", ("xs", "gr"), {}),
    ("xclaim", ("xs", "gr", "c2", 0, ["1-1"]), {"justid": True}),
    ("xautoclaim", ("xs", "gr", "c3", 0), {"justid": True}),
    ("xdel", ("xs", "2-1"), {}),
    ("xautoclaim", ("xs", "gr", "c3", 0), {"count": 5}),
    ("xgroup_delconsumer", ("xs", "gr", "c9"), {}),
    ("xtrim", ("xs",), {"minid": "2-0"}),
    ("xlen", ("xs",), {}),
]

# Family calls whose results vary run to run (random picks, clocks): the
# same deep shape. Run after SETUP, on the same keys as SHAPES.
FAMILY_SHAPES: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("xinfo_stream", ("x",), {"full": True}),
    ("xinfo_consumers", ("x", "g"), {}),
    ("xpending_range", ("x", "g", "-", "+", 10), {"consumername": "c"}),
    ("xclaim", ("x", "g", "c4", 0, ["1-1"]), {}),
    ("hrandfield", ("h", 2), {"withvalues": True}),
    ("hrandfield", ("h", -5), {"withvalues": True}),
    ("zrandmember", ("z", -5), {"withscores": True}),
    ("srandmember", ("st", 2), {}),
    ("object", ("idletime", "k"), {}),
    ("scan", (0,), {"count": 100}),
    ("spop", ("st",), {}),
]

SETUP: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("xadd", ("x", {"f": "v"}), {"id": "1-1"}),
    ("xgroup_create", ("x", "g", "0"), {}),
    ("xreadgroup", ("g", "c", {"x": ">"}), {}),
    ("hset", ("h",), {"mapping": {"a": 1, "b": 2}}),
    ("sadd", ("st", "a", "b"), {}),
    ("zadd", ("z", {"a": 1, "b": 2}), {}),
    ("geoadd", ("geo", [13.361389, 38.115556, "P"]), {}),
    ("set", ("k", "v"), {}),
]


def typed(value: Any) -> Any:
    """``value`` with the type of every part spelled out, so ``==`` compares types too.

    ``1 == 1.0 == True`` and ``b"1" != "1"`` are not enough: ``typed`` makes
    ``[1]`` and ``[1.0]``, ``(a, b)`` and ``[a, b]`` differ.
    """
    if isinstance(value, dict):
        return ("dict", sorted((repr(typed(k)), typed(v)) for k, v in value.items()))
    if isinstance(value, set | frozenset):
        return (type(value).__name__, sorted(repr(typed(v)) for v in value))
    if isinstance(value, list | tuple):
        return (type(value).__name__, [typed(v) for v in value])
    if isinstance(value, float) and value != value:
        return ("float", "nan")
    return (type(value).__name__, value)


def deep_shape(value: Any) -> Any:
    """The type of every part of ``value``, nested, without the values or the lengths.

    Stricter than test_redis_py_results's ``_shape`` (which looks two items
    and one level of dict keys deep): dict values and every list item count,
    a list's items as the set of their shapes, so a list of three
    ``(bytes, float)`` tuples has the shape of a list of one.
    """
    if isinstance(value, dict):
        return ("dict", sorted((repr(k), repr(deep_shape(v))) for k, v in value.items()))
    if isinstance(value, list | tuple | set | frozenset):
        return (type(value).__name__, sorted({repr(deep_shape(v)) for v in value}))
    return type(value).__name__


def _base_url(server: RedisServer) -> str:
    return server.url.split("?", 1)[0]  # AIOPOOL_TEST_PROTOCOL may have added ?protocol=3


@pytest.fixture(params=[False, True], ids=["bytes", "decoded"])
async def both(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Any, Any]]:
    """A protocol-2 and a protocol-3 client, each on a fresh server of its own."""
    decode = request.param
    with RedisServer() as two, RedisServer() as three:
        async with (
            aiopool.Client.from_url(_base_url(two), protocol=2, decode_responses=decode) as c2,
            aiopool.Client.from_url(_base_url(three), protocol=3, decode_responses=decode) as c3,
        ):
            for client, resp in ((c2, "resp=2"), (c3, "resp=3")):  # each speaks its own
                info = await client.execute("CLIENT", "INFO")
                assert resp in (info.decode() if isinstance(info, bytes) else str(info))
            yield c2, c3


def _compare(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any], two: Any, three: Any
) -> str | None:
    if typed(two) == typed(three):
        return None
    return f"{name}{args}{kwargs or ''}: protocol 2 {two!r:.200}, protocol 3 {three!r:.200}"


async def test_every_typed_call_gives_the_same_value_and_type(both: tuple[Any, Any]) -> None:
    c2, c3 = both
    differences = []
    for name, args, kwargs in CALLS:
        two = await _call(c2, name, args, kwargs)
        three = await _call(c3, name, args, kwargs)
        difference = _compare(name, args, kwargs, two, three)
        if difference is not None:
            differences.append(difference)
    assert not differences, "\n".join(differences)


async def test_varying_results_have_the_same_shape(both: tuple[Any, Any]) -> None:
    c2, c3 = both
    for name, args, kwargs in SETUP:
        await _call(c2, name, args, kwargs)
        await _call(c3, name, args, kwargs)
    differences = []
    for name, args, kwargs in [*SHAPES, *FAMILY_SHAPES]:
        two = await _call(c2, name, args, kwargs)
        three = await _call(c3, name, args, kwargs)
        if name == "info":  # the same fields, in an order of their own
            two, three = sorted(two), sorted(three)
        same = _shape(two) == _shape(three) and deep_shape(two) == deep_shape(three)
        if not same:
            differences.append(f"{name}{args}: protocol 2 {two!r:.160}, protocol 3 {three!r:.160}")
    assert not differences, "\n".join(differences)


async def test_every_family_call_gives_the_same_value_and_type(both: tuple[Any, Any]) -> None:
    c2, c3 = both
    differences = []
    for name, args, kwargs in FAMILY_CALLS:
        two = await _call(c2, name, args, kwargs)
        three = await _call(c3, name, args, kwargs)
        difference = _compare(name, args, kwargs, two, three)
        if difference is not None:
            differences.append(difference)
    assert not differences, "\n".join(differences)


async def _piped(client: Any, calls: list[Any], transaction: bool) -> list[Any]:
    """Each call's result through one pipeline; an error (refused or replied) by its kind."""
    pipe = client.pipeline(transaction=transaction)
    queued: list[Any] = []
    for name, args, kwargs in calls:
        try:
            getattr(pipe, name)(*args, **kwargs)
            queued.append(None)
        except Exception as exc:  # refused before sending: the same on both
            queued.append(f"<{type(exc).__name__}>")
    replies = iter(await pipe.execute(raise_on_error=False))
    results = [next(replies) if kind is None else kind for kind in queued]
    return [f"<{type(r).__name__}>" if isinstance(r, Exception) else r for r in results]


@pytest.mark.parametrize("transaction", [False, True], ids=["pipeline", "transaction"])
async def test_pipelines_give_the_same_values_and_types(
    both: tuple[Any, Any], transaction: bool
) -> None:
    # A pipeline applies the same transforms to replies read in a batch, and
    # a transaction to the items of EXEC's array: the same results too.
    # Left out: DUMP's binary reply (not utf-8: with decode_responses it breaks
    # the whole batch, on both) and ZRANK WITHSCORE (Redis 7.2: refused by
    # 7.0 when queued, which discards the transaction, on both).
    calls = [
        (name, args, kwargs)
        for name, args, kwargs in [*CALLS, *FAMILY_CALLS]
        if name != "dump" and "withscore" not in kwargs
    ]
    two, three = [await _piped(c, calls, transaction) for c in both]
    differences = [
        _compare(name, args, kwargs, a, b)
        for (name, args, kwargs), a, b in zip(calls, two, three, strict=True)
        if typed(a) != typed(b)
    ]
    assert not differences, "\n".join(map(str, differences))
    assert calls[1][0] == "get"
    assert two[1] in (b"v", "v")  # it ran


async def test_a_score_cast_func_is_handed_a_float_under_protocol_3(
    both: tuple[Any, Any],
) -> None:
    # The one documented difference (docs/guide/resp3.md): RESP3 sends a score
    # as a double, so score_cast_func gets a float where RESP2 hands it the
    # text, as redis-py's RESP3 client does. float and int give the same
    # result either way; a cast that reads the text does not (Decimal of
    # "0.10000000000000001" is not Decimal of the float 0.1).
    c2, c3 = both
    for client in (c2, c3):
        await client.zadd("zc", {"a": 2, "b": 0.1})
    seen = [await c.zrange("zc", 0, -1, withscores=True, score_cast_func=type) for c in both]
    assert [type(score) for _, score in seen[0]] == [type] * 2
    assert {score for _, score in seen[0]} in ({bytes}, {str})  # the text, as the reply has it
    assert {score for _, score in seen[1]} == {float}
    for cast in (float, int):
        two, three = [
            await c.zrange("zc", 0, -1, withscores=True, score_cast_func=cast) for c in both
        ]
        assert typed(two) == typed(three), cast


def test_typed_tells_types_apart() -> None:
    # The comparison can fail: the differences RESP3 brings are all visible.
    assert typed({b"a": b"1"}) != typed({b"a": 1.0})
    assert typed([(b"a", 1.0)]) != typed([[b"a", 1.0]])
    assert typed({b"a"}) != typed([b"a"])
    assert typed(1) != typed(True)
    assert typed(None) != typed([])
    assert typed({b"a": [1, 2]}) == typed({b"a": [1, 2]})
    assert deep_shape({"a": [(b"x", 1.0)]}) == deep_shape({"a": [(b"y", 2.0), (b"z", 3.0)]})
    assert deep_shape({"a": [(b"x", 1.0)]}) != deep_shape({"a": [[b"x", 1.0]]})
    assert deep_shape({"a": {b"f": b"v"}}) != deep_shape({"a": [b"f", b"v"]})
