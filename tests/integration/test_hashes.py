"""Hash commands of ``aiopool.Client`` and ``Pipeline`` against a real ``redis-server``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from aiopool import Client, ClusterClient, ReplyError
from aiopool._commands import Key, Value
from aiopool.testing import RedisCluster

# -- HSET / HGET ------------------------------------------------------------------------


async def test_hset_counts_only_new_fields(r: Client) -> None:
    assert await r.hset("h", "a", "1") == 1
    assert await r.hset("h", "a", "2") == 0
    assert await r.hset("h", mapping={"a": "3", "b": 4, b"c": b"5"}) == 2
    assert await r.hset("h", "d", 6.5, mapping={"e": "7"}) == 2
    assert await r.hgetall("h") == {b"a": b"3", b"b": b"4", b"c": b"5", b"d": b"6.5", b"e": b"7"}


async def test_hset_mapping_wins_over_the_pair_for_the_same_field(r: Client) -> None:
    assert await r.hset("h", "f", "pair", mapping={"f": "mapping"}) == 1
    assert await r.hget("h", "f") == b"mapping"


async def test_hset_without_anything_to_set_raises_before_sending(r: Client) -> None:
    before = r.pool.stats().acquired
    with pytest.raises(ValueError, match="needs key and value, mapping= or items="):
        await r.hset("h")
    assert r.pool.stats().acquired == before


async def test_hget_returns_bytes_and_none_for_missing_field_or_key(r: Client) -> None:
    await r.hset("h", "f", "héllo")
    assert await r.hget("h", "f") == "héllo".encode()
    assert await r.hget("h", "other") is None
    assert await r.hget("missing", "f") is None


async def test_hget_on_a_string_raises_wrongtype(r: Client) -> None:
    await r.set("s", "v")
    with pytest.raises(ReplyError, match="wrong kind of value") as info:
        await r.hget("s", "f")
    assert info.value.code == "WRONGTYPE"
    assert await r.ping() is True


async def test_hsetnx_sets_only_a_missing_field(r: Client) -> None:
    assert await r.hsetnx("h", "f", "first") is True
    assert await r.hsetnx("h", "f", "second") is False
    assert await r.hget("h", "f") == b"first"


async def test_hmget_returns_values_in_order_with_none_for_missing(r: Client) -> None:
    await r.hset("h", mapping={"a": "1", "c": "3"})
    assert await r.hmget("h", ["a", "b", "c"]) == [b"1", None, b"3"]
    assert await r.hmget("h", "c") == [b"3"]
    assert await r.hmget("missing", ("a", "b")) == [None, None]


async def test_hgetall_returns_a_dict_of_bytes_and_empty_dict_when_missing(r: Client) -> None:
    await r.hset("h", mapping={"a": "1", "b": b"\x00\xff"})
    result = await r.hgetall("h")
    assert result == {b"a": b"1", b"b": b"\x00\xff"}
    assert await r.hgetall("missing") == {}


async def test_hgetall_on_a_list_raises_wrongtype(r: Client) -> None:
    await r.rpush("l", "x")
    with pytest.raises(ReplyError) as info:
        await r.hgetall("l")
    assert info.value.code == "WRONGTYPE"


# -- deleting and inspecting ------------------------------------------------------------


async def test_hdel_counts_the_fields_that_existed(r: Client) -> None:
    await r.hset("h", mapping={"a": 1, "b": 2, "c": 3})
    assert await r.hdel("h", "a", "b", "nope") == 2
    assert await r.hkeys("h") == [b"c"]
    assert await r.hdel("missing", "a") == 0


async def test_hdel_of_the_last_field_deletes_the_key(r: Client) -> None:
    await r.hset("h", "a", 1)
    assert await r.hdel("h", "a") == 1
    assert await r.exists("h") == 0


async def test_hexists_is_a_bool(r: Client) -> None:
    await r.hset("h", "f", "")
    assert await r.hexists("h", "f") is True
    assert await r.hexists("h", "g") is False
    assert await r.hexists("missing", "f") is False


async def test_hlen_hkeys_hvals_describe_the_hash(r: Client) -> None:
    await r.hset("h", mapping={"a": "1", "b": "2", "c": "3"})
    assert await r.hlen("h") == 3
    assert sorted(await r.hkeys("h")) == [b"a", b"b", b"c"]
    assert sorted(await r.hvals("h")) == [b"1", b"2", b"3"]


async def test_hlen_hkeys_hvals_of_a_missing_key_are_empty(r: Client) -> None:
    assert await r.hlen("missing") == 0
    assert await r.hkeys("missing") == []
    assert await r.hvals("missing") == []


async def test_hstrlen_counts_bytes_and_is_zero_when_missing(r: Client) -> None:
    await r.hset("h", "f", "héllo")
    assert await r.hstrlen("h", "f") == 6
    assert await r.hstrlen("h", "other") == 0
    assert await r.hstrlen("missing", "f") == 0


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.hset("s", "f", "v"),
        lambda c: c.hdel("s", "f"),
        lambda c: c.hlen("s"),
        lambda c: c.hkeys("s"),
        lambda c: c.hvals("s"),
        lambda c: c.hexists("s", "f"),
        lambda c: c.hstrlen("s", "f"),
        lambda c: c.hmget("s", ["f"]),
        lambda c: c.hrandfield("s"),
    ],
    ids=["hset", "hdel", "hlen", "hkeys", "hvals", "hexists", "hstrlen", "hmget", "hrandfield"],
)
async def test_hash_commands_on_a_string_raise_wrongtype(
    r: Client, call: Callable[[Client], Awaitable[Any]]
) -> None:
    await r.set("s", "v")
    with pytest.raises(ReplyError) as info:
        await call(r)
    assert info.value.code == "WRONGTYPE"


# -- increments ---------------------------------------------------------------------------


async def test_hincrby_returns_the_new_int_starting_from_zero(r: Client) -> None:
    assert await r.hincrby("h", "n") == 1
    assert await r.hincrby("h", "n", 10) == 11
    assert await r.hincrby("h", "n", -20) == -9
    assert await r.hget("h", "n") == b"-9"


async def test_hincrby_on_a_non_integer_raises_reply_error(r: Client) -> None:
    await r.hset("h", "f", "abc")
    with pytest.raises(ReplyError, match="not an integer") as info:
        await r.hincrby("h", "f")
    assert info.value.code == "ERR"


async def test_hincrbyfloat_returns_a_float(r: Client) -> None:
    result = await r.hincrbyfloat("h", "x", 1.5)
    assert isinstance(result, float)
    assert result == 1.5
    assert await r.hincrbyfloat("h", "x", 1) == 2.5
    await r.hset("h", "n", 10)
    assert await r.hincrbyfloat("h", "n") == 11.0


async def test_hincrbyfloat_on_a_non_number_raises_reply_error(r: Client) -> None:
    await r.hset("h", "f", "abc")
    with pytest.raises(ReplyError, match="not a float"):
        await r.hincrbyfloat("h", "f", 1.0)


# -- HRANDFIELD -------------------------------------------------------------------------


async def test_hrandfield_without_count_returns_one_field_or_none(r: Client) -> None:
    await r.hset("h", mapping={"a": 1, "b": 2})
    assert await r.hrandfield("h") in (b"a", b"b")
    assert await r.hrandfield("missing") is None


async def test_hrandfield_with_count_returns_distinct_fields(r: Client) -> None:
    await r.hset("h", mapping={"a": 1, "b": 2, "c": 3})
    two = await r.hrandfield("h", 2)
    assert isinstance(two, list)
    assert len(two) == 2
    assert len(set(two)) == 2
    assert set(two) <= {b"a", b"b", b"c"}
    assert sorted(await r.hrandfield("h", 10)) == [b"a", b"b", b"c"]
    assert await r.hrandfield("missing", 2) == []


async def test_hrandfield_with_negative_count_may_repeat_fields(r: Client) -> None:
    await r.hset("h", "only", "1")
    assert await r.hrandfield("h", -4) == [b"only"] * 4


async def test_hrandfield_withvalues_returns_redis_py_flat_list(r: Client) -> None:
    await r.hset("h", mapping={"a": "1", "b": "2"})
    flat = await r.hrandfield("h", 5, withvalues=True)
    assert sorted(zip(flat[::2], flat[1::2], strict=True)) == [(b"a", b"1"), (b"b", b"2")]
    assert len(flat) == 4
    assert await r.hrandfield("h", -3, withvalues=True) != []
    assert await r.hrandfield("missing", 2, withvalues=True) == []


# -- HSCAN -------------------------------------------------------------------------------


async def test_hscan_iter_yields_every_field_value_pair(r: Client) -> None:
    # Mapping is invariant in its keys: a dict[bytes, bytes] is not a Mapping[Key, Value].
    mapping: dict[Key, Value] = {f"f{i}".encode(): str(i).encode() for i in range(300)}
    await r.hset("h", mapping=mapping)  # big enough for a hashtable: several batches
    pairs = [pair async for pair in r.hscan_iter("h", count=20)]
    assert all(isinstance(pair, tuple) and len(pair) == 2 for pair in pairs)
    assert dict(pairs) == mapping


async def test_hscan_iter_match_filters_fields(r: Client) -> None:
    await r.hset("h", mapping={**{f"user:{i}": i for i in range(200)}, "other": 0})
    seen = {field async for field, _ in r.hscan_iter("h", match="user:1*")}
    assert seen == {f"user:{i}".encode() for i in range(200) if str(i).startswith("1")}


async def test_hscan_iter_of_a_missing_key_yields_nothing(r: Client) -> None:
    assert [pair async for pair in r.hscan_iter("missing")] == []


async def test_hscan_returns_cursor_and_dict(r: Client) -> None:
    await r.hset("h", mapping={"a": "1"})
    assert await r.hscan("h") == (0, {b"a": b"1"})


# -- pipelines and decode_responses -------------------------------------------------------


async def test_pipeline_transforms_hash_results(r: Client) -> None:
    async with r.pipeline(transaction=False) as p:
        p.hset("h", mapping={"a": "1", "b": "2"}).hsetnx("h", "a", "x").hget("h", "a")
        p.hgetall("h").hexists("h", "b").hincrbyfloat("h", "a", 0.5).hmget("h", ["a", "z"])
        p.hrandfield("h", 5, withvalues=True).hdel("h", "b").hlen("h")
        results = await p.execute()
    assert results[:6] == [2, False, b"1", {b"a": b"1", b"b": b"2"}, True, 1.5]
    assert results[6] == [b"1.5", None]
    assert sorted(zip(results[7][::2], results[7][1::2], strict=True)) == [
        (b"a", b"1.5"),
        (b"b", b"2"),
    ]
    assert results[8:] == [1, 1]


async def test_transaction_transforms_hash_results(r: Client) -> None:
    async with r.pipeline(transaction=True) as p:
        p.hset("h", "f", "v").hexists("h", "f").hgetall("h")
        assert await p.execute() == [1, True, {b"f": b"v"}]


async def test_decode_responses_gives_str_fields_and_values(rs: Client) -> None:
    await rs.hset("h", mapping={"a": "1", "b": "é"})
    assert await rs.hgetall("h") == {"a": "1", "b": "é"}
    assert await rs.hget("h", "b") == "é"
    assert await rs.hmget("h", ["a", "b"]) == ["1", "é"]
    assert sorted(await rs.hkeys("h")) == ["a", "b"]
    flat = await rs.hrandfield("h", 2, withvalues=True)
    assert dict(zip(flat[::2], flat[1::2], strict=True)) == {"a": "1", "b": "é"}
    assert dict([pair async for pair in rs.hscan_iter("h")]) == {"a": "1", "b": "é"}


# -- redis-py's hset(name, key, value, mapping, items) and hmset --------------------------------


async def check_redis_py_hash_shapes(c: Any, h: str) -> None:
    assert await c.hset(h, key="a", value="1") == 1  # redis-py's keywords: key is the field
    assert await c.hset(h, "b", "2") == 1
    assert await c.hset(h, items=["c", "3", "d", "4"]) == 2
    assert await c.hset(h, "e", "5", {"f": "6"}, ["g", "7"]) == 3  # all positional
    assert await c.hset(h, field="a", value="1.5") == 0  # aiopool's field= still works
    assert await c.hmset(h, {"h": "8", "a": "one"}) is True
    assert await c.hgetall(h) == {
        b"a": b"one",
        **{k.encode(): v.encode() for k, v in zip("bcdefgh", "2345678", strict=True)},
    }
    await c.set(h + ":str", "v")
    with pytest.raises(ReplyError, match="WRONGTYPE"):
        await c.hmset(h + ":str", {"a": "1"})
    with pytest.raises(ReplyError, match="WRONGTYPE"):
        await c.hset(h + ":str", items=["a", "1"])


async def test_hset_and_hmset_take_redis_py_arguments(r: Client) -> None:
    await check_redis_py_hash_shapes(r, "h")
    async with r.pipeline() as p:
        p.hmset("p", {"a": "1"}).hset("p", items=["b", "2"]).hset("p", key="c", value="3")
        assert await p.execute() == [True, 1, 1]


async def test_hset_and_hmset_on_the_cluster(redis_cluster: RedisCluster) -> None:
    async with ClusterClient.from_url(redis_cluster.startup_url) as cc:
        await check_redis_py_hash_shapes(cc, "{hashes}:h")


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda c: c.hset("h", items=["a"]), ValueError, "field, value pairs"),
        (lambda c: c.hset("h", items="ab"), TypeError, "items must be a flat list"),
        (lambda c: c.hset("h", key="a", field="b", value="1"), ValueError, "not both"),
        (lambda c: c.hmset("h", {}), ValueError, "non-empty mapping"),
        (lambda c: c.hmset("h", [("a", "1")]), TypeError, "takes a mapping"),
    ],
    ids=["odd-items", "str-items", "key-and-field", "empty-hmset", "hmset-list"],
)
async def test_redis_py_hash_arguments_are_checked_before_sending(
    r: Client, call: Any, error: type[Exception], match: str
) -> None:
    before = r.pool.stats().acquired
    with pytest.raises(error, match=match):
        call(r)
    assert r.pool.stats().acquired == before
