"""Set commands of ``aiopool.Client`` and ``Pipeline`` against a real ``redis-server``."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from aiopool import Client, ClusterClient, CrossSlotError, ReplyError
from aiopool.testing import RedisCluster


async def test_sadd_counts_new_members_and_smembers_returns_a_set_of_bytes(r: Client) -> None:
    assert await r.sadd("s", "a", b"b", 3) == 3
    assert await r.sadd("s", "a", "c") == 1
    members = await r.smembers("s")
    assert isinstance(members, set)
    assert members == {b"a", b"b", b"3", b"c"}


async def test_smembers_of_missing_key_is_an_empty_set(r: Client) -> None:
    assert await r.smembers("missing") == set()


async def test_srem_counts_removed_members(r: Client) -> None:
    await r.sadd("s", "a", "b", "c")
    assert await r.srem("s", "a", "x") == 1
    assert await r.smembers("s") == {b"b", b"c"}
    assert await r.srem("missing", "a") == 0


async def test_sismember_and_smismember_return_bools(r: Client) -> None:
    await r.sadd("s", "a", "b")
    assert await r.sismember("s", "a") is True
    assert await r.sismember("s", "z") is False
    assert await r.sismember("missing", "a") is False
    assert await r.smismember("s", "b", "z", "a") == [True, False, True]
    assert await r.smismember("missing", "a") == [False]


async def test_scard_counts_members_and_is_zero_for_missing_key(r: Client) -> None:
    await r.sadd("s", "a", "b", "c")
    assert await r.scard("s") == 3
    assert await r.scard("missing") == 0


async def test_spop_without_count_removes_one_member_and_returns_it(r: Client) -> None:
    await r.sadd("s", "a", "b")
    popped = await r.spop("s")
    assert popped in {b"a", b"b"}
    assert await r.smembers("s") == {b"a", b"b"} - {popped}
    assert await r.spop("missing") is None


async def test_spop_with_count_returns_a_list_of_removed_members(r: Client) -> None:
    await r.sadd("s", "a", "b", "c")
    popped = await r.spop("s", 2)
    assert isinstance(popped, list)  # as redis-py's
    assert len(set(popped)) == 2
    assert set(popped) <= {b"a", b"b", b"c"}
    assert await r.smembers("s") == {b"a", b"b", b"c"} - set(popped)
    assert await r.spop("s", 5) == list({b"a", b"b", b"c"} - set(popped))
    assert await r.spop("missing", 2) == []


async def test_srandmember_without_count_returns_one_member_and_keeps_it(r: Client) -> None:
    await r.sadd("s", "a", "b")
    assert await r.srandmember("s") in {b"a", b"b"}
    assert await r.scard("s") == 2
    assert await r.srandmember("missing") is None


async def test_srandmember_positive_count_returns_a_list_of_distinct_members(r: Client) -> None:
    await r.sadd("s", "a", "b", "c")
    picked = await r.srandmember("s", 2)
    assert isinstance(picked, list)
    assert len(picked) == len(set(picked)) == 2
    assert set(picked) <= {b"a", b"b", b"c"}
    assert sorted(await r.srandmember("s", 10)) == [b"a", b"b", b"c"]
    assert await r.srandmember("missing", 3) == []


async def test_srandmember_negative_count_repeats_members(r: Client) -> None:
    await r.sadd("s", "only")
    picked = await r.srandmember("s", -5)
    assert picked == [b"only"] * 5


async def test_sinter_sunion_and_sdiff_return_sets(r: Client) -> None:
    await r.sadd("a", "1", "2", "3")
    await r.sadd("b", "2", "3", "4")
    assert await r.sinter("a", "b") == {b"2", b"3"}
    assert await r.sunion("a", "b") == {b"1", b"2", b"3", b"4"}
    assert await r.sdiff("a", "b") == {b"1"}
    assert await r.sdiff("b", "a") == {b"4"}


async def test_set_algebra_treats_a_missing_key_as_empty(r: Client) -> None:
    await r.sadd("a", "1", "2")
    assert await r.sinter("a", "missing") == set()
    assert await r.sunion("a", "missing") == {b"1", b"2"}
    assert await r.sdiff("a", "missing") == {b"1", b"2"}
    assert await r.sdiff("missing", "a") == set()


async def test_store_variants_overwrite_dest_and_return_its_size(r: Client) -> None:
    await r.sadd("a", "1", "2", "3")
    await r.sadd("b", "2", "3", "4")
    await r.sadd("dest", "old")
    assert await r.sinterstore("dest", "a", "b") == 2
    assert await r.smembers("dest") == {b"2", b"3"}
    assert await r.sunionstore("dest", "a", "b") == 4
    assert await r.smembers("dest") == {b"1", b"2", b"3", b"4"}
    assert await r.sdiffstore("dest", "a", "b") == 1
    assert await r.smembers("dest") == {b"1"}


async def test_store_of_an_empty_result_deletes_dest(r: Client) -> None:
    await r.sadd("dest", "old")
    assert await r.sinterstore("dest", "missing", "other") == 0
    assert await r.exists("dest") == 0


async def test_smove_moves_a_member_and_is_false_when_it_is_absent(r: Client) -> None:
    await r.sadd("src", "a", "b")
    assert await r.smove("src", "dst", "a") is True
    assert await r.smembers("src") == {b"b"}
    assert await r.smembers("dst") == {b"a"}
    assert await r.smove("src", "dst", "zzz") is False
    assert await r.smove("missing", "dst", "a") is False


async def test_sscan_iter_yields_every_member_once_per_batch(r: Client) -> None:
    members = {f"m{i}".encode() for i in range(300)}
    await r.sadd("s", *members)
    seen = [member async for member in r.sscan_iter("s", count=20)]
    # SSCAN may repeat a member, but a set that is not modified meanwhile
    # is covered completely.
    assert set(seen) == members


async def test_sscan_iter_match_filters_and_holds_no_connection(r: Client) -> None:
    await r.sadd("s", *(f"user:{i}" for i in range(150)), *(f"item:{i}" for i in range(150)))
    seen = set()
    async for member in r.sscan_iter("s", match="user:*", count=25):
        assert r.pool.stats().in_use == 0
        seen.add(member)
    assert seen == {f"user:{i}".encode() for i in range(150)}


async def test_sscan_iter_of_missing_key_yields_nothing(r: Client) -> None:
    assert [member async for member in r.sscan_iter("missing")] == []


async def test_sscan_returns_cursor_and_members(r: Client) -> None:
    await r.sadd("s", "a", "b")
    cursor, members = await r.sscan("s")
    assert cursor == 0
    assert sorted(members) == [b"a", b"b"]


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.sadd("str", "a"),
        lambda c: c.smembers("str"),
        lambda c: c.sismember("str", "a"),
        lambda c: c.scard("str"),
        lambda c: c.spop("str"),
        lambda c: c.srandmember("str", 2),
        lambda c: c.sinter("str", "s"),
        lambda c: c.sunionstore("dest", "str"),
        lambda c: c.smove("str", "s", "a"),
        lambda c: c.smismember("str", "a"),
    ],
    ids=[
        "sadd",
        "smembers",
        "sismember",
        "scard",
        "spop",
        "srandmember",
        "sinter",
        "sunionstore",
        "smove",
        "smismember",
    ],
)
async def test_set_command_on_a_string_raises_wrongtype(r: Client, call: Any) -> None:
    await r.set("str", "v")
    await r.sadd("s", "a")
    with pytest.raises(ReplyError, match="wrong kind of value") as info:
        await call(r)
    assert info.value.code == "WRONGTYPE"
    assert await r.get("str") == b"v"


async def test_set_commands_with_decode_responses_return_str(rs: Client) -> None:
    await rs.sadd("a", "héllo", "x")
    await rs.sadd("b", "x", "y")
    assert await rs.smembers("a") == {"héllo", "x"}
    assert await rs.sinter("a", "b") == {"x"}
    assert await rs.sunion("a", "b") == {"héllo", "x", "y"}
    picked = await rs.srandmember("b", -2)
    assert len(picked) == 2
    assert set(picked) <= {"x", "y"}
    assert {m async for m in rs.sscan_iter("a")} == {"héllo", "x"}
    assert sorted(await rs.spop("b", 2)) == ["x", "y"]


async def test_set_commands_in_a_pipeline_return_transformed_results(r: Client) -> None:
    async with r.pipeline(transaction=False) as p:
        p.sadd("a", "1", "2", "3").sadd("b", "3").smembers("a").sismember("a", "2")
        p.smismember("a", "1", "9").sinter("a", "b").sunionstore("u", "a", "b")
        p.smove("a", "b", "1").scard("b").spop("missing", 1).srandmember("missing")
        results = await p.execute()
    assert results == [
        3,
        1,
        {b"1", b"2", b"3"},
        True,
        [True, False],
        {b"3"},
        3,
        True,
        2,
        [],
        None,
    ]


async def test_set_commands_in_a_transaction_return_transformed_results(r: Client) -> None:
    async with r.pipeline(transaction=True) as p:
        p.sadd("s", "a", "b").sdiff("s", "missing").sismember("s", "c").srem("s", "a")
        results = await p.execute()
    assert results == [2, {b"a", b"b"}, False, 1]


async def test_srandmember_negative_count_draws_with_replacement(r: Client) -> None:
    await r.sadd("s", "a", "b")
    picked = await r.srandmember("s", -200)
    counts = Counter(picked)
    # 200 draws from two members: both appear, and so some member repeats.
    assert set(counts) == {b"a", b"b"}
    assert sum(counts.values()) == 200


# -- SINTERCARD (redis-py's sintercard(numkeys, keys, limit=0)) ---------------------------------


async def check_sintercard(c: Any, t: str) -> None:
    await c.sadd(t + "a", "1", "2", "3", "4")
    await c.sadd(t + "b", "2", "3", "4", "5")
    assert await c.sintercard(2, [t + "a", t + "b"]) == 3
    assert await c.sintercard(2, [t + "a", t + "b"], limit=2) == 2
    assert await c.sintercard(2, [t + "a", t + "missing"]) == 0
    assert await c.sintercard(1, t + "a") == 4  # one key as a str
    await c.set(t + "str", "v")
    with pytest.raises(ReplyError, match="WRONGTYPE"):
        await c.sintercard(2, [t + "a", t + "str"])


async def test_sintercard_counts_the_intersection_up_to_limit(r: Client) -> None:
    await check_sintercard(r, "{t}:")
    async with r.pipeline() as p:
        p.sintercard(2, ["{t}:a", "{t}:b"], 1).spop("{t}:a", 0)
        assert await p.execute() == [1, []]


async def test_sintercard_on_the_cluster_needs_one_slot(redis_cluster: RedisCluster) -> None:
    async with ClusterClient.from_url(redis_cluster.startup_url) as cc:
        await check_sintercard(cc, "{sets}:")
        with pytest.raises(CrossSlotError):
            await cc.sintercard(2, ["{a}s", "{b}s"])


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda c: c.sintercard(3, ["a", "b"]), ValueError, "numkeys is 3 but 2 keys"),
        (lambda c: c.sintercard(0, []), ValueError, "at least one key"),
        (lambda c: c.sintercard(1, ["a"], limit=-1), ValueError, "limit must be"),
        (lambda c: c.sintercard("1", ["a"]), TypeError, "numkeys must be an int"),
    ],
    ids=["numkeys", "no-keys", "limit", "numkeys-str"],
)
async def test_sintercard_arguments_are_checked_before_sending(
    r: Client, call: Any, error: type[Exception], match: str
) -> None:
    before = r.pool.stats().acquired
    with pytest.raises(error, match=match):
        call(r)
    assert r.pool.stats().acquired == before
