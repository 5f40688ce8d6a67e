"""Bitmap and HyperLogLog commands of ``aiopool.Client`` and ``Pipeline`` on a real server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from aiopool import Client, ClusterClient, Pipeline, ReplyError
from aiopool.testing import RedisCluster

# -- SETBIT / GETBIT -----------------------------------------------------------------------


async def test_setbit_returns_the_old_bit_and_getbit_reads_it(r: Client) -> None:
    assert await r.setbit("b", 7, 1) == 0
    assert await r.setbit("b", 7, 1) == 1
    assert await r.getbit("b", 7) == 1
    assert await r.getbit("b", 6) == 0
    assert await r.get("b") == b"\x01"  # bit 7 is the lowest bit of the first byte
    assert await r.setbit("b", 7, 0) == 1
    assert await r.get("b") == b"\x00"


async def test_setbit_grows_the_string_with_zero_bytes(r: Client) -> None:
    await r.setbit("b", 23, 1)
    assert await r.get("b") == b"\x00\x00\x01"


async def test_getbit_of_a_missing_key_or_past_the_end_is_zero(r: Client) -> None:
    assert await r.getbit("missing", 0) == 0
    await r.set("b", b"\xff")
    assert await r.getbit("b", 1000) == 0


async def test_setbit_on_a_list_raises_wrongtype(r: Client) -> None:
    await r.execute("RPUSH", "l", "a")
    with pytest.raises(ReplyError) as info:
        await r.setbit("l", 0, 1)
    assert info.value.code == "WRONGTYPE"


async def test_bad_bit_value_raises_value_error_before_borrowing(r: Client) -> None:
    before = r.pool.stats().acquired
    with pytest.raises(ValueError, match="value must be 0 or 1"):
        await r.setbit("b", 0, 2)
    assert r.pool.stats().acquired == before
    assert await r.exists("b") == 0


# -- BITCOUNT / BITPOS ---------------------------------------------------------------------


async def test_bitcount_counts_set_bits_in_byte_and_bit_ranges(r: Client) -> None:
    await r.set("k", "foobar")
    assert await r.bitcount("k") == 26
    assert await r.bitcount("k", 0, 0) == 4
    assert await r.bitcount("k", 1, 1) == 6
    assert await r.bitcount("k", 1, 1, "BYTE") == 6
    assert await r.bitcount("k", 5, 30, "BIT") == 17
    assert await r.bitcount("k", -1, -1) == 4  # "r"


async def test_bitcount_of_a_missing_key_is_zero(r: Client) -> None:
    assert await r.bitcount("missing") == 0


async def test_bitcount_on_a_list_raises_wrongtype(r: Client) -> None:
    await r.execute("RPUSH", "l", "a")
    with pytest.raises(ReplyError) as info:
        await r.bitcount("l")
    assert info.value.code == "WRONGTYPE"


async def test_bitpos_finds_the_first_bit_with_the_given_value(r: Client) -> None:
    await r.set("k", b"\xff\xf0\x00")
    assert await r.bitpos("k", 0) == 12
    assert await r.bitpos("k", 1, 2) == -1  # byte 2 has no set bit
    assert await r.bitpos("k", 0, 0, 0) == -1  # byte 0 is all ones
    assert await r.bitpos("k", 1, 9, 15, "BIT") == 9
    assert await r.bitpos("k", 0, 7, 15, "bit") == 12


async def test_bitpos_of_all_ones_looks_past_the_end_unless_bounded(r: Client) -> None:
    await r.set("k", b"\xff")
    assert await r.bitpos("k", 0) == 8
    assert await r.bitpos("k", 0, 0, -1) == -1


async def test_bitpos_of_a_missing_key(r: Client) -> None:
    assert await r.bitpos("missing", 0) == 0
    assert await r.bitpos("missing", 1) == -1


# -- BITOP --------------------------------------------------------------------------------


async def test_bitop_stores_the_result_and_returns_its_length(r: Client) -> None:
    await r.set("a", b"\x0f\xff")
    await r.set("b", b"\xf0")
    assert await r.bitop("AND", "and", "a", "b") == 2
    assert await r.get("and") == b"\x00\x00"  # b counts as zero-padded
    assert await r.bitop("or", "or", "a", "b") == 2
    assert await r.get("or") == b"\xff\xff"
    assert await r.bitop("XOR", "xor", "a", "b", "missing") == 2
    assert await r.get("xor") == b"\xff\xff"
    assert await r.bitop("NOT", "not", "b") == 1
    assert await r.get("not") == b"\x0f"


async def test_bitop_of_missing_keys_stores_nothing(r: Client) -> None:
    assert await r.bitop("OR", "dest", "missing") == 0
    assert await r.exists("dest") == 0


async def test_bitop_on_a_list_raises_wrongtype(r: Client) -> None:
    await r.execute("RPUSH", "l", "a")
    with pytest.raises(ReplyError) as info:
        await r.bitop("AND", "dest", "l")
    assert info.value.code == "WRONGTYPE"


async def test_bitop_not_with_two_keys_raises_before_borrowing(r: Client) -> None:
    before = r.pool.stats().acquired
    with pytest.raises(ValueError, match="NOT takes exactly one source key"):
        await r.bitop("NOT", "dest", "a", "b")
    assert r.pool.stats().acquired == before


# -- HyperLogLog ----------------------------------------------------------------------------


async def test_pfadd_is_true_only_when_the_estimate_changes(r: Client) -> None:
    assert await r.pfadd("h", "a", "b", "c") is True
    assert await r.pfadd("h", "a", "b") is False
    assert await r.pfadd("h", 1, 2.5, b"bytes") is True


async def test_pfadd_without_elements_creates_the_hyperloglog_once(r: Client) -> None:
    assert await r.pfadd("h") is True
    assert await r.pfadd("h") is False
    assert await r.pfcount("h") == 0


async def test_pfcount_estimates_distinct_elements_of_the_union(r: Client) -> None:
    await r.pfadd("a", *range(100))
    await r.pfadd("b", *range(50, 150))
    assert await r.pfcount("a") == 100  # small sets are counted almost exactly
    assert abs(await r.pfcount("a", "b", "missing") - 150) <= 3
    assert await r.pfcount("missing") == 0


async def test_pfmerge_stores_the_union_and_returns_true(r: Client) -> None:
    await r.pfadd("a", "x", "y")
    await r.pfadd("b", "y", "z")
    await r.pfadd("dest", "w")
    assert await r.pfmerge("dest", "a", "b") is True
    assert await r.pfcount("dest") == 4
    assert await r.pfmerge("empty") is True
    assert await r.pfcount("empty") == 0


async def test_hyperloglog_commands_on_a_plain_string_raise_reply_error(r: Client) -> None:
    await r.set("s", "not a hyperloglog")
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: r.pfadd("s", "a"),
        lambda: r.pfcount("s"),
        lambda: r.pfmerge("dest", "s"),
    ]
    for call in calls:
        with pytest.raises(ReplyError) as info:
            await call()
        assert info.value.code == "WRONGTYPE"
    assert await r.exists("dest") == 0


# -- pipelines and decode_responses --------------------------------------------------------


async def test_pipeline_transforms_bits_results(r: Client) -> None:
    async with r.pipeline(transaction=False) as p:
        p.setbit("b", 1, 1).setbit("b", 1, 0).getbit("b", 1).bitcount("b").bitpos("b", 0)
        p.bitop("NOT", "n", "b").pfadd("h", "a").pfadd("h", "a").pfcount("h").pfmerge("m", "h")
        assert await p.execute() == [0, 1, 0, 0, 0, 1, True, False, 1, True]


async def test_transaction_runs_bits_commands(r: Client) -> None:
    async with r.pipeline(transaction=True) as p:
        p.setbit("b", 0, 1).bitcount("b").pfadd("h", "x").pfcount("h")
        assert await p.execute() == [0, 1, True, 1]


async def test_decode_responses_leaves_integer_results_alone(rs: Client) -> None:
    assert await rs.setbit("b", 1, 1) == 0
    assert await rs.get("b") == "@"
    assert await rs.getbit("b", 1) == 1
    assert await rs.bitcount("b") == 1
    assert await rs.bitop("OR", "c", "b") == 1
    assert await rs.pfadd("h", "é") is True
    assert await rs.pfmerge("m", "h") is True
    assert await rs.pfcount("m") == 1


# -- BITFIELD (redis-py's builder) and BITFIELD_RO --------------------------------------------


async def check_bitfield(c: Any, key: str) -> None:
    """redis-py's ``bitfield(key)`` builder and ``bitfield_ro`` on a client ``c``."""
    op = c.bitfield(key)
    assert op.set("u8", 0, 255).get("u8", 0).incrby("u8", 0, 10).command == [
        "BITFIELD",
        key,
        *("SET", "u8", 0, 255, "GET", "u8", 0, "INCRBY", "u8", 0, 10),
    ]
    assert await op.execute() == [0, 255, 9]  # INCRBY wraps by default
    assert op.operations == []  # execute() resets the builder, as redis-py's
    sat = c.bitfield(key).incrby("u8", 0, 300, overflow="SAT").incrby("u8", "#1", -1)
    assert await sat.execute() == [255, 0]  # "#1" is the second u8; SAT clamps both
    assert await c.bitfield(key).overflow("FAIL").incrby("u8", 0, 1).execute() == [None]
    assert await c.bitfield(key, default_overflow="SAT").incrby("i8", 16, 200).execute() == [127]
    assert await c.bitfield_ro(key, "u8", 0) == [255]
    assert await c.bitfield_ro(key, "u8", 0, items=[("u8", "#1"), ("i8", 16)]) == [255, 0, 127]
    assert await c.bitfield(key).execute() == []  # nothing queued: an empty BITFIELD
    await c.rpush(key + ":list", "a")
    with pytest.raises(ReplyError, match="WRONGTYPE"):
        await c.bitfield(key + ":list").get("u8", 0).execute()
    with pytest.raises(ReplyError, match="WRONGTYPE"):
        await c.bitfield_ro(key + ":list", "u8", 0)
    with pytest.raises(ReplyError, match="Invalid bitfield type"):
        await c.bitfield(key).get("x8", 0).execute()


async def test_bitfield_builder_and_bitfield_ro_on_a_client(r: Client) -> None:
    await check_bitfield(r, "bf")


async def test_bitfield_builder_and_bitfield_ro_on_the_cluster(
    redis_cluster: RedisCluster,
) -> None:
    async with ClusterClient.from_url(redis_cluster.startup_url) as cc:
        await check_bitfield(cc, "{bits}bf")
        pipe = cc.pipeline()
        queued = pipe.bitfield("{bits}p").set("u4", 0, 9).get("u4", 0).execute()
        assert queued is pipe
        pipe.bitfield_ro("{bits}p", "u4", 0)
        assert await pipe.execute() == [[0, 9], [9]]


async def test_bitfield_execute_on_a_pipeline_queues_and_returns_the_pipeline(r: Client) -> None:
    async with r.pipeline() as p:
        op = p.bitfield("bf", default_overflow="FAIL")
        chained = op.set("u8", 0, 200).incrby("u8", 0, 100).execute()
        assert chained is p  # nothing was sent: the pipeline's execute() sends it
        assert isinstance(chained, Pipeline)
        assert len(p) == 1
        assert await r.exists("bf") == 0
        p.bitfield_ro("bf", "u8", 0).bitfield("bf").incrby("u8", 0, 100).execute()
        assert await p.execute() == [[0, None], [200], [44]]
    async with r.pipeline(transaction=True) as tx:
        tx.bitfield("bf").get("u8", 0).execute().get("bf")
        assert await tx.execute() == [[44], b","]


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda c: c.bitfield("k", default_overflow="SATURATE"), ValueError, "overflow must"),
        (lambda c: c.bitfield("k").overflow(1), TypeError, "overflow must"),
        (lambda c: c.bitfield("k").get("u8", "8"), ValueError, "offset must be an int or '#n'"),
        (lambda c: c.bitfield("k").get("u8", -1), ValueError, "offset must be an int >= 0"),
        (lambda c: c.bitfield("k").set("u8", 0, "1"), TypeError, "value must be an int"),
        (lambda c: c.bitfield("k").incrby("u8", 0, 1.5), TypeError, "increment must be an int"),
        (lambda c: c.bitfield("k").get(8, 0), TypeError, "fmt must be an encoding"),
        (lambda c: c.bitfield_ro("k", "u8", "#x"), ValueError, "offset must be"),
    ],
    ids=["default", "overflow", "offset-str", "offset-negative", "value", "incr", "fmt", "ro"],
)
async def test_bitfield_arguments_are_checked_at_the_call(
    r: Client, call: Any, error: type[Exception], match: str
) -> None:
    before = r.pool.stats().acquired
    with pytest.raises(error, match=match):
        call(r)
    assert r.pool.stats().acquired == before
