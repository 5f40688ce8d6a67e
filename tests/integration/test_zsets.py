"""Sorted set commands of ``aiopool.Client`` and ``Pipeline`` against a real ``redis-server``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from aiopool import Client, ClusterClient, CrossSlotError, ReplyError, key_slot
from aiopool.testing import RedisCluster

from .pool_support import wait_for_blocked_clients

INF = float("inf")


async def members_with_scores(client: Client, key: str) -> list[tuple[Any, float]]:
    result: list[tuple[Any, float]] = await client.zrange(key, 0, -1, withscores=True)
    return result


# -- ZADD ---------------------------------------------------------------------------------


async def test_zadd_counts_added_members_and_stores_float_scores(r: Client) -> None:
    assert await r.zadd("z", {"a": 1, b"b": 2.5, "c": -3}) == 3
    assert await r.zadd("z", {"a": 10, "d": 4}) == 1
    assert await members_with_scores(r, "z") == [
        (b"c", -3.0),
        (b"b", 2.5),
        (b"d", 4.0),
        (b"a", 10.0),
    ]


async def test_zadd_accepts_infinite_and_large_scores(r: Client) -> None:
    await r.zadd("z", {"low": -INF, "high": INF, "big": 1e20, "tiny": 0.1})
    assert await r.zscore("z", "low") == -INF
    assert await r.zscore("z", "high") == INF
    assert await r.zscore("z", "big") == 1e20
    assert await r.zscore("z", "tiny") == 0.1


async def test_zadd_nx_only_adds_new_members(r: Client) -> None:
    await r.zadd("z", {"a": 1})
    assert await r.zadd("z", {"a": 5, "b": 2}, nx=True) == 1
    assert await members_with_scores(r, "z") == [(b"a", 1.0), (b"b", 2.0)]


async def test_zadd_xx_only_updates_existing_members(r: Client) -> None:
    await r.zadd("z", {"a": 1})
    assert await r.zadd("z", {"a": 5, "b": 2}, xx=True) == 0
    assert await members_with_scores(r, "z") == [(b"a", 5.0)]


async def test_zadd_gt_and_lt_only_move_scores_one_way(r: Client) -> None:
    await r.zadd("z", {"a": 5, "b": 5})
    await r.zadd("z", {"a": 3, "b": 7, "new": 1}, gt=True)
    assert await members_with_scores(r, "z") == [(b"new", 1.0), (b"a", 5.0), (b"b", 7.0)]
    await r.zadd("z", {"a": 4, "b": 9}, lt=True)
    assert await members_with_scores(r, "z") == [(b"new", 1.0), (b"a", 4.0), (b"b", 7.0)]


async def test_zadd_xx_gt_updates_only_existing_members_upwards(r: Client) -> None:
    await r.zadd("z", {"a": 5})
    assert await r.zadd("z", {"a": 6, "b": 1}, xx=True, gt=True, ch=True) == 1
    assert await members_with_scores(r, "z") == [(b"a", 6.0)]


async def test_zadd_ch_counts_changed_scores_too(r: Client) -> None:
    await r.zadd("z", {"a": 1, "b": 2})
    assert await r.zadd("z", {"a": 1, "b": 3, "c": 4}) == 1
    assert await r.zadd("z", {"a": 1, "b": 5, "c": 6, "d": 7}, ch=True) == 3


async def test_zadd_incr_returns_the_new_score_as_float(r: Client) -> None:
    result = await r.zadd("z", {"a": 2}, incr=True)
    assert isinstance(result, float)
    assert result == 2.0
    assert await r.zadd("z", {"a": 0.5}, incr=True) == 2.5


async def test_zadd_incr_returns_none_when_a_condition_prevents_it(r: Client) -> None:
    assert await r.zadd("z", {"a": 1}, incr=True, xx=True) is None
    assert await r.exists("z") == 0
    await r.zadd("z", {"a": 1})
    assert await r.zadd("z", {"a": 1}, incr=True, nx=True) is None
    assert await r.zadd("z", {"a": -1}, incr=True, gt=True) is None
    assert await r.zscore("z", "a") == 1.0


async def test_zadd_refused_combination_raises_before_sending(r: Client) -> None:
    with pytest.raises(ValueError, match="got nx, gt"):
        await r.zadd("z", {"a": 1}, nx=True, gt=True)
    with pytest.raises(ValueError, match="exactly one member"):
        await r.zadd("z", {"a": 1, "b": 2}, incr=True)
    assert await r.exists("z") == 0


# -- scores, counts, ranks ------------------------------------------------------------


async def test_zscore_is_a_float_or_none(r: Client) -> None:
    await r.zadd("z", {"a": 3})
    score = await r.zscore("z", "a")
    assert isinstance(score, float)
    assert score == 3.0
    assert await r.zscore("z", "missing") is None
    assert await r.zscore("missing", "a") is None


async def test_zmscore_lists_scores_with_none_for_missing_members(r: Client) -> None:
    await r.zadd("z", {"a": 1, "b": 2.5})
    assert await r.zmscore("z", "b", "x", "a") == [2.5, None, 1.0]
    assert await r.zmscore("missing", "a") == [None]


async def test_zincrby_returns_the_new_score_and_creates_missing_members(r: Client) -> None:
    result = await r.zincrby("z", 1.5, "a")
    assert isinstance(result, float)
    assert result == 1.5
    assert await r.zincrby("z", -4, "a") == -2.5
    assert await r.zscore("z", "a") == -2.5


async def test_zrem_counts_removed_members(r: Client) -> None:
    await r.zadd("z", {"a": 1, "b": 2})
    assert await r.zrem("z", "a", "x") == 1
    assert await r.zrange("z", 0, -1) == [b"b"]
    assert await r.zrem("missing", "a") == 0


async def test_zcard_counts_members_and_is_zero_for_missing_key(r: Client) -> None:
    await r.zadd("z", {"a": 1, "b": 2})
    assert await r.zcard("z") == 2
    assert await r.zcard("missing") == 0


async def test_zcount_honours_inclusive_exclusive_and_infinite_bounds(r: Client) -> None:
    await r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4})
    assert await r.zcount("z", 2, 3) == 2
    assert await r.zcount("z", "(2", 3) == 1
    assert await r.zcount("z", "(1", "(4") == 2
    assert await r.zcount("z", "-inf", "+inf") == 4
    assert await r.zcount("z", -INF, 2.5) == 2
    assert await r.zcount("missing", "-inf", "+inf") == 0


async def test_zlexcount_honours_lexical_bounds(r: Client) -> None:
    await r.zadd("z", dict.fromkeys(["a", "b", "c", "d"], 0))
    assert await r.zlexcount("z", "-", "+") == 4
    assert await r.zlexcount("z", "[b", "[c") == 2
    assert await r.zlexcount("z", "(b", "+") == 2
    assert await r.zlexcount("missing", "-", "+") == 0


async def test_zrank_and_zrevrank_are_ranks_or_none(r: Client) -> None:
    await r.zadd("z", {"a": 1, "b": 2, "c": 3})
    assert await r.zrank("z", "a") == 0
    assert await r.zrank("z", "c") == 2
    assert await r.zrevrank("z", "c") == 0
    assert await r.zrevrank("z", "a") == 2
    assert await r.zrank("z", "x") is None
    assert await r.zrevrank("missing", "a") is None


# -- ZRANGE and friends -------------------------------------------------------------------


async def test_zrange_by_rank_returns_a_list_of_members(r: Client) -> None:
    await r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4})
    assert await r.zrange("z", 0, -1) == [b"a", b"b", b"c", b"d"]
    assert await r.zrange("z", 1, 2) == [b"b", b"c"]
    assert await r.zrange("z", -2, -1) == [b"c", b"d"]
    assert await r.zrange("z", 0, 1, rev=True) == [b"d", b"c"]
    assert await r.zrange("missing", 0, -1) == []


async def test_zrange_withscores_returns_member_float_pairs(r: Client) -> None:
    await r.zadd("z", {"a": 1, "b": 2.5})
    pairs = await r.zrange("z", 0, -1, withscores=True)
    assert pairs == [(b"a", 1.0), (b"b", 2.5)]
    assert all(isinstance(score, float) for _, score in pairs)
    assert await r.zrange("z", 0, 0, rev=True, withscores=True) == [(b"b", 2.5)]


async def test_zrange_byscore_with_exclusive_infinite_and_reversed_bounds(r: Client) -> None:
    await r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4})
    assert await r.zrange("z", 2, 3, byscore=True) == [b"b", b"c"]
    assert await r.zrange("z", "(2", "+inf", byscore=True) == [b"c", b"d"]
    assert await r.zrange("z", "-inf", "(3", byscore=True) == [b"a", b"b"]
    assert await r.zrange("z", "+inf", 3, byscore=True, rev=True) == [b"d", b"c"]


async def test_zrange_byscore_limit_pages_through_the_range(r: Client) -> None:
    await r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4})
    assert await r.zrange("z", "-inf", "+inf", byscore=True, offset=1, num=2) == [b"b", b"c"]
    assert await r.zrange("z", "-inf", "+inf", byscore=True, offset=2, num=-1) == [b"c", b"d"]
    assert await r.zrange(
        "z", "+inf", "-inf", byscore=True, rev=True, offset=0, num=1, withscores=True
    ) == [(b"d", 4.0)]


async def test_zrange_bylex_returns_members_in_lexical_order(r: Client) -> None:
    await r.zadd("z", dict.fromkeys(["a", "b", "c", "d"], 0))
    assert await r.zrange("z", "[b", "(d", bylex=True) == [b"b", b"c"]
    assert await r.zrange("z", "-", "+", bylex=True, offset=1, num=2) == [b"b", b"c"]
    assert await r.zrange("z", "+", "[c", bylex=True, rev=True) == [b"d", b"c"]


async def test_zrange_limit_without_byscore_raises_before_sending(r: Client) -> None:
    before = r.pool.stats().acquired
    with pytest.raises(ValueError, match="need byscore=True or bylex=True"):
        await r.zrange("z", 0, -1, offset=0, num=1)
    assert r.pool.stats().acquired == before


async def test_zrangestore_stores_the_range_and_returns_its_size(r: Client) -> None:
    await r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4})
    assert await r.zrangestore("dest", "z", 0, 1) == 2
    assert await members_with_scores(r, "dest") == [(b"a", 1.0), (b"b", 2.0)]
    assert await r.zrangestore("dest", "z", "(2", "+inf", byscore=True, offset=0, num=1) == 1
    assert await members_with_scores(r, "dest") == [(b"c", 3.0)]
    assert await r.zrangestore("dest", "z", "+", "[c", bylex=True, rev=True) == 2
    assert await r.zrange("dest", 0, -1) == [b"c", b"d"]
    assert await r.zrangestore("dest", "missing", 0, -1) == 0
    assert await r.exists("dest") == 0


async def test_zremrangebyscore_removes_scores_in_range(r: Client) -> None:
    await r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4})
    assert await r.zremrangebyscore("z", "(1", 3) == 2
    assert await r.zrange("z", 0, -1) == [b"a", b"d"]
    assert await r.zremrangebyscore("missing", "-inf", "+inf") == 0


async def test_zremrangebyrank_removes_ranks_in_range(r: Client) -> None:
    await r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4})
    assert await r.zremrangebyrank("z", 0, 1) == 2
    assert await r.zremrangebyrank("z", -1, -1) == 1
    assert await r.zrange("z", 0, -1) == [b"c"]


async def test_zremrangebylex_removes_members_in_lexical_range(r: Client) -> None:
    await r.zadd("z", dict.fromkeys(["a", "b", "c", "d"], 0))
    assert await r.zremrangebylex("z", "[b", "(d") == 2
    assert await r.zrange("z", 0, -1) == [b"a", b"d"]


# -- popping ------------------------------------------------------------------------------


async def test_zpopmin_and_zpopmax_return_lists_of_member_score_pairs(r: Client) -> None:
    await r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4})
    assert await r.zpopmin("z") == [(b"a", 1.0)]
    assert await r.zpopmax("z") == [(b"d", 4.0)]
    assert await r.zpopmin("z", 5) == [(b"b", 2.0), (b"c", 3.0)]
    assert await r.zpopmax("z") == []
    assert await r.zpopmin("missing", 2) == []


async def test_zpopmax_with_count_pops_highest_first(r: Client) -> None:
    await r.zadd("z", {"a": 1, "b": 2, "c": 3})
    assert await r.zpopmax("z", 2) == [(b"c", 3.0), (b"b", 2.0)]
    assert await r.zrange("z", 0, -1) == [b"a"]


async def test_bzpopmin_pops_at_once_from_the_first_non_empty_key(r: Client) -> None:
    await r.zadd("second", {"a": 1, "b": 2})
    result = await r.bzpopmin(["first", "second"], 1)
    assert result == (b"second", b"a", 1.0)
    assert result is not None
    assert isinstance(result[2], float)
    assert await r.bzpopmax("second", 0.5) == (b"second", b"b", 2.0)


async def test_bzpopmin_on_an_empty_key_returns_none_after_the_timeout(r: Client) -> None:
    started = time.monotonic()
    assert await r.bzpopmin("empty", 0.1) is None
    assert time.monotonic() - started >= 0.09
    assert r.pool.stats().in_use == 0


async def test_bzpopmax_waiting_in_one_task_is_woken_by_a_zadd_in_another(r: Client) -> None:
    waiter = asyncio.create_task(r.bzpopmax(["empty", "z"], 5))
    await wait_for_blocked_clients(r, 1)
    assert not waiter.done()
    assert await r.zadd("z", {"low": 1, "high": 2.5}) == 2
    async with asyncio.timeout(2):
        result = await waiter
    assert result == (b"z", b"high", 2.5)
    assert result is not None
    assert isinstance(result[2], float)
    assert await r.zrange("z", 0, -1) == [b"low"]


async def test_cancelling_a_blocked_bzpopmin_is_safe(redis_url: str, r: Client) -> None:
    async with Client.from_url(redis_url, max_size=1) as client:
        blocked = asyncio.create_task(client.bzpopmin("z", 0))
        await wait_for_blocked_clients(r, 1)
        blocked.cancel()
        with pytest.raises(asyncio.CancelledError):
            async with asyncio.timeout(2):
                await blocked
        assert client.pool.stats().in_use == 0
        # The server notices the closed connection on its own time; until it
        # has, it would still serve the cancelled BZPOPMIN. A connection put
        # back in the pool instead of closed would stay blocked and fail here.
        await wait_for_blocked_clients(r, 0)
        replies = await asyncio.gather(
            client.echo("one"),
            client.zadd("z", {"kept": 7}),
            client.echo("two"),
            client.zcard("other"),
            client.echo("three"),
        )
        assert replies == [b"one", 1, b"two", 0, b"three"]
        assert await client.zrange("z", 0, -1, withscores=True) == [(b"kept", 7.0)]
        assert client.pool.stats().in_use == 0


async def test_bzpopmin_times_out_on_the_server_not_on_command_timeout(redis_url: str) -> None:
    # command_timeout is shorter than the blocking time: the reply must still be awaited.
    async with Client.from_url(redis_url, command_timeout=0.15) as client:
        assert await client.bzpopmin("empty", 0.3) is None
        assert client.pool.stats().closed == 0


# -- random members -------------------------------------------------------------------------


async def test_zrandmember_without_count_returns_one_member_or_none(r: Client) -> None:
    await r.zadd("z", {"a": 1, "b": 2})
    assert await r.zrandmember("z") in {b"a", b"b"}
    assert await r.zcard("z") == 2
    assert await r.zrandmember("missing") is None


async def test_zrandmember_with_count_returns_a_list(r: Client) -> None:
    await r.zadd("z", {"a": 1, "b": 2, "c": 3})
    picked = await r.zrandmember("z", 2)
    assert isinstance(picked, list)
    assert len(set(picked)) == 2
    assert set(picked) <= {b"a", b"b", b"c"}
    assert await r.zrandmember("missing", 2) == []


async def test_zrandmember_negative_count_with_scores_repeats_pairs(r: Client) -> None:
    await r.zadd("z", {"only": 1.5})
    assert await r.zrandmember("z", -3, withscores=True) == [(b"only", 1.5)] * 3


# -- ZUNIONSTORE / ZINTERSTORE ------------------------------------------------------------------


async def test_zunionstore_sums_scores_of_a_key_list(r: Client) -> None:
    await r.zadd("a", {"x": 1, "y": 2})
    await r.zadd("b", {"y": 10, "z": 20})
    assert await r.zunionstore("dest", ["a", "b", "missing"]) == 3
    assert await members_with_scores(r, "dest") == [(b"x", 1.0), (b"y", 12.0), (b"z", 20.0)]


async def test_zunionstore_applies_weights_and_aggregate(r: Client) -> None:
    await r.zadd("a", {"x": 1, "y": 2})
    await r.zadd("b", {"y": 10, "z": 20})
    assert await r.zunionstore("dest", {"a": 2, "b": 0.5}, aggregate="MAX") == 3
    assert await members_with_scores(r, "dest") == [(b"x", 2.0), (b"y", 5.0), (b"z", 10.0)]
    assert await r.zunionstore("dest", ["a", "b"], aggregate="min") == 3
    assert await r.zscore("dest", "y") == 2.0


async def test_zinterstore_keeps_common_members_only(r: Client) -> None:
    await r.zadd("a", {"x": 1, "y": 2})
    await r.zadd("b", {"y": 10, "z": 20})
    assert await r.zinterstore("dest", ["a", "b"]) == 1
    assert await members_with_scores(r, "dest") == [(b"y", 12.0)]
    assert await r.zinterstore("dest", {"a": 3, "b": 1}, aggregate="MIN") == 1
    assert await r.zscore("dest", "y") == 6.0
    assert await r.zinterstore("dest", ["a", "missing"]) == 0
    assert await r.exists("dest") == 0


async def test_zstore_with_a_set_key_treats_it_as_scores_of_one(r: Client) -> None:
    await r.zadd("a", {"x": 5})
    await r.sadd("s", "x", "w")
    assert await r.zunionstore("dest", ["a", "s"]) == 2
    assert await members_with_scores(r, "dest") == [(b"w", 1.0), (b"x", 6.0)]


# -- ZSCAN ------------------------------------------------------------------------------------


async def test_zscan_iter_yields_every_member_with_a_float_score(r: Client) -> None:
    mapping = {f"m{i}": i / 2 for i in range(300)}
    await r.zadd("z", mapping)
    seen = {}
    async for member, score in r.zscan_iter("z", count=25):
        assert isinstance(score, float)
        assert r.pool.stats().in_use == 0
        seen[member] = score
    assert seen == {member.encode(): score for member, score in mapping.items()}


async def test_zscan_iter_match_filters_members(r: Client) -> None:
    await r.zadd("z", {**{f"user:{i}": i for i in range(150)}, **{f"x:{i}": i for i in range(150)}})
    seen = {member async for member, _ in r.zscan_iter("z", match="user:*", count=50)}
    assert seen == {f"user:{i}".encode() for i in range(150)}
    assert [pair async for pair in r.zscan_iter("missing")] == []


async def test_zscan_returns_cursor_and_pairs(r: Client) -> None:
    await r.zadd("z", {"a": 1, "b": 2})
    assert await r.zscan("z") == (0, [(b"a", 1.0), (b"b", 2.0)])


# -- errors, decoding, pipelines ----------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.zadd("str", {"a": 1}),
        lambda c: c.zscore("str", "a"),
        lambda c: c.zmscore("str", "a"),
        lambda c: c.zincrby("str", 1, "a"),
        lambda c: c.zrem("str", "a"),
        lambda c: c.zcard("str"),
        lambda c: c.zcount("str", 0, 1),
        lambda c: c.zlexcount("str", "-", "+"),
        lambda c: c.zrange("str", 0, -1),
        lambda c: c.zrangestore("d", "str", 0, -1),
        lambda c: c.zrank("str", "a"),
        lambda c: c.zrevrank("str", "a"),
        lambda c: c.zpopmin("str"),
        lambda c: c.zpopmax("str"),
        lambda c: c.bzpopmin("str", 0.1),
        lambda c: c.bzpopmax("str", 0.1),
        lambda c: c.zrandmember("str"),
        lambda c: c.zremrangebyscore("str", 0, 1),
        lambda c: c.zremrangebyrank("str", 0, 1),
        lambda c: c.zremrangebylex("str", "-", "+"),
        lambda c: c.zunionstore("d", ["str"]),
        lambda c: c.zinterstore("d", ["str"]),
        lambda c: c.zscan("str"),
        lambda c: c.zrangebyscore("str", 0, 1),
        lambda c: c.zrevrangebyscore("str", 1, 0),
        lambda c: c.zrevrange("str", 0, -1),
        lambda c: c.zrangebylex("str", "-", "+"),
        lambda c: c.zrevrangebylex("str", "+", "-"),
        lambda c: c.zdiff(["str"]),
        lambda c: c.zdiffstore("d", ["str"]),
        lambda c: c.zinter(["str"]),
        lambda c: c.zunion(["str"]),
        lambda c: c.zintercard(1, ["str"]),
        lambda c: c.zmpop(1, ["str"], min=True),
        lambda c: c.bzmpop(0.1, 1, ["str"], max=True),
    ],
    ids=[
        "zadd",
        "zscore",
        "zmscore",
        "zincrby",
        "zrem",
        "zcard",
        "zcount",
        "zlexcount",
        "zrange",
        "zrangestore",
        "zrank",
        "zrevrank",
        "zpopmin",
        "zpopmax",
        "bzpopmin",
        "bzpopmax",
        "zrandmember",
        "zremrangebyscore",
        "zremrangebyrank",
        "zremrangebylex",
        "zunionstore",
        "zinterstore",
        "zscan",
        "zrangebyscore",
        "zrevrangebyscore",
        "zrevrange",
        "zrangebylex",
        "zrevrangebylex",
        "zdiff",
        "zdiffstore",
        "zinter",
        "zunion",
        "zintercard",
        "zmpop",
        "bzmpop",
    ],
)
async def test_sorted_set_command_on_a_string_raises_wrongtype(r: Client, call: Any) -> None:
    await r.set("str", "v")
    with pytest.raises(ReplyError, match="wrong kind of value") as info:
        await call(r)
    assert info.value.code == "WRONGTYPE"
    assert await r.get("str") == b"v"


async def test_zincrby_on_a_non_numeric_score_raises_reply_error(r: Client) -> None:
    await r.zadd("z", {"a": INF})
    with pytest.raises(ReplyError, match="NaN"):
        await r.zincrby("z", -INF, "a")
    assert await r.zscore("z", "a") == INF


async def test_sorted_set_commands_with_decode_responses_return_str(rs: Client) -> None:
    await rs.zadd("z", {"héllo": 1, "b": 2})
    assert await rs.zrange("z", 0, -1) == ["héllo", "b"]
    assert await rs.zrange("z", 0, -1, withscores=True) == [("héllo", 1.0), ("b", 2.0)]
    assert await rs.zscore("z", "héllo") == 1.0
    assert await rs.zrandmember("z", -1, withscores=True) in ([("héllo", 1.0)], [("b", 2.0)])
    assert [pair async for pair in rs.zscan_iter("z")] == [("héllo", 1.0), ("b", 2.0)]
    assert await rs.bzpopmax("z", 1) == ("z", "b", 2.0)
    assert await rs.zpopmin("z") == [("héllo", 1.0)]


async def test_sorted_set_commands_in_a_pipeline_return_transformed_results(r: Client) -> None:
    async with r.pipeline(transaction=False) as p:
        p.zadd("z", {"a": 1, "b": 2, "c": 3}).zadd("z", {"a": 0.5}, incr=True)
        p.zscore("z", "a").zmscore("z", "b", "x").zrange("z", 0, -1, withscores=True)
        p.zrank("z", "x").zcount("z", "(1.5", "+inf").zpopmax("z").bzpopmin("z", 1)
        results = await p.execute()
    assert results == [
        3,
        1.5,
        1.5,
        [2.0, None],
        [(b"a", 1.5), (b"b", 2.0), (b"c", 3.0)],
        None,
        2,
        [(b"c", 3.0)],
        (b"z", b"a", 1.5),
    ]


async def test_sorted_set_commands_in_a_transaction_return_transformed_results(
    r: Client,
) -> None:
    async with r.pipeline(transaction=True) as p:
        p.zadd("z", {"a": 1, "b": 2}).zincrby("z", 5, "a").zrange("z", 0, -1)
        p.zunionstore("u", {"z": 2}).zrange("u", 0, 0, withscores=True).zpopmin("z", 1)
        results = await p.execute()
    assert results == [2, 6.0, [b"b", b"a"], 2, [(b"b", 4.0)], [(b"b", 2.0)]]


# -- redis-py's signatures against the server ------------------------------------------------


async def test_redis_py_positional_calls_run_unchanged(r: Client) -> None:
    # zadd(name, mapping, nx, xx, ch, incr, gt, lt)
    assert await r.zadd("z", {"a": 1, "b": 2, "c": 3}) == 3
    assert await r.zadd("z", {"a": 5, "d": 4}, False, True, True) == 1  # xx, ch
    assert await r.zadd("z", {"b": 1}, False, False, False, True) == 3.0  # incr
    # zrange(name, start, end, desc, withscores, score_cast_func, byscore, bylex, offset, num)
    assert await r.zrange("z", 0, 1, True, True) == [(b"a", 5.0), (b"c", 3.0)]
    assert await r.zrange("z", 0, -1, False, True, int) == [(b"b", 3), (b"c", 3), (b"a", 5)]
    assert await r.zrange("z", "(3", "+inf", False, False, float, True, False, 0, 1) == [b"a"]
    # zrangestore(dest, name, start, end, byscore, bylex, desc, offset, num)
    assert await r.zrangestore("d", "z", "+inf", 4, True, False, True, 0, 1) == 1
    assert await r.zrange("d", 0, -1) == [b"a"]
    # zremrangebyrank(name, min, max), zmscore(key, members), zincrby(name, amount, value)
    assert await r.zmscore("z", ["a", "missing"]) == [5.0, None]
    assert await r.zincrby(name="z", amount=1, value="a") == 6.0
    assert await r.zscore(name="z", value="a") == 6.0
    assert await r.zremrangebyrank(name="z", min=0, max=0) == 1
    assert await r.zcard("z") == 2
    # Scores and weights as numeric strings, as redis-py sends them.
    assert await r.zadd("s", {"a": "1.5", "b": b"+inf"}) == 2
    assert await r.zincrby("s", "-0.5", "a") == 1.0
    assert await r.zunion({"s": "2"}, withscores=True) == [(b"a", 2.0), (b"b", INF)]
    with pytest.raises(ValueError, match="the score of 'c' must be a number"):
        await r.zadd("s", {"c": "many"})


async def test_zrank_withscore_is_rank_and_score_from_redis_7_2_and_refused_before(
    r: Client,
) -> None:
    await r.zadd("z", {"a": 1.5, "b": 3})
    assert await r.zrank("z", "a", withscore=False) == 0
    version = tuple(int(part) for part in (await r.info("server"))["redis_version"].split("."))
    if version >= (7, 2):
        assert await r.zrank("z", "a", withscore=True) == [0, 1.5]
        assert await r.zrevrank("z", "a", True, int) == [1, 1]
        assert await r.zrank("z", "missing", withscore=True) is None
    else:  # WITHSCORE is an argument too many for ZRANK there
        with pytest.raises(ReplyError, match="wrong number of arguments for 'zrank'"):
            await r.zrank("z", "a", withscore=True)
        with pytest.raises(ReplyError, match="wrong number of arguments for 'zrevrank'"):
            await r.zrevrank("z", "a", True)
    assert await r.zrevrank("z", "a") == 1


async def test_score_cast_func_converts_scores_of_every_range_command(r: Client) -> None:
    await r.zadd("z", {"a": 1, "b": 2.5})
    assert await r.zrevrange("z", 0, -1, True, int) == [(b"b", 2), (b"a", 1)]
    # The cast gets the raw score: the reply's text under RESP2, RESP3's double
    # under protocol 3 (as redis-py's RESP3 client; docs/guide/resp3.md).
    raw = [(b"a", "b'1'"), (b"b", "b'2.5'")]
    if r.pool.connection_options.protocol == 3:
        raw = [(b"a", "1.0"), (b"b", "2.5")]
    assert await r.zrangebyscore("z", 0, 10, withscores=True, score_cast_func=str) == raw
    assert await r.zscan("z", score_cast_func=int) == (0, [(b"a", 1), (b"b", 2)])
    assert [pair async for pair in r.zscan_iter("z", score_cast_func=int)] == [(b"a", 1), (b"b", 2)]
    with pytest.raises(TypeError, match="score_cast_func must be callable"):
        await r.zrange("z", 0, -1, withscores=True, score_cast_func=1)  # type: ignore[arg-type]


# -- ZRANGEBYSCORE and the other ranges redis-py has -------------------------------------------


async def test_zrangebyscore_and_zrevrangebyscore_page_through_scores(r: Client) -> None:
    await r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4})
    assert await r.zrangebyscore("z", 2, "+inf") == [b"b", b"c", b"d"]
    assert await r.zrangebyscore("z", "(1", 4, 1, 2) == [b"c", b"d"]
    assert await r.zrangebyscore("z", "-inf", "+inf", 0, 1, True) == [(b"a", 1.0)]
    assert await r.zrevrangebyscore("z", "+inf", "(2") == [b"d", b"c"]
    assert await r.zrevrangebyscore("z", 4, 1, start=1, num=2, withscores=True) == [
        (b"c", 3.0),
        (b"b", 2.0),
    ]
    assert await r.zrangebyscore("missing", 0, 1) == []
    with pytest.raises(ValueError, match="start and num go together"):
        await r.zrangebyscore("z", 0, 1, start=1)
    with pytest.raises(ValueError, match="min must be a score"):
        await r.zrangebyscore("z", "one", 1)


async def test_zrevrange_orders_by_descending_score(r: Client) -> None:
    await r.zadd("z", {"a": 1, "b": 2, "c": 3})
    assert await r.zrevrange("z", 0, 1) == [b"c", b"b"]
    assert await r.zrevrange("z", -1, -1, withscores=True) == [(b"a", 1.0)]
    assert await r.zrevrange("missing", 0, -1) == []
    with pytest.raises(TypeError, match="end must be an int"):
        await r.zrevrange("z", 0, "-1")  # type: ignore[arg-type]


async def test_zrangebylex_and_zrevrangebylex_follow_lexical_bounds(r: Client) -> None:
    await r.zadd("z", dict.fromkeys(["a", "b", "c", "d"], 0))
    assert await r.zrangebylex("z", "[b", "+") == [b"b", b"c", b"d"]
    assert await r.zrangebylex("z", "-", "+", 1, 2) == [b"b", b"c"]
    assert await r.zrevrangebylex("z", "(d", "-") == [b"c", b"b", b"a"]
    assert await r.zrevrangebylex("z", "+", "-", start=0, num=1) == [b"d"]
    with pytest.raises(ValueError, match="max must start with"):
        await r.zrevrangebylex("z", "d", "-")


# -- ZDIFF, ZINTER, ZUNION, ZINTERCARD ---------------------------------------------------------


async def test_zdiff_returns_members_of_the_first_set_only(r: Client) -> None:
    await r.zadd("a", {"x": 1, "y": 2, "z": 3})
    await r.zadd("b", {"y": 10})
    assert await r.zdiff(["a", "b"]) == [b"x", b"z"]
    assert await r.zdiff(["a", "b", "missing"], withscores=True) == [(b"x", 1.0), (b"z", 3.0)]
    assert await r.zdiffstore("d", ["a", "b"]) == 2
    assert await members_with_scores(r, "d") == [(b"x", 1.0), (b"z", 3.0)]
    assert await r.zdiff(["missing", "a"]) == []


async def test_zinter_and_zunion_take_weights_aggregate_and_withscores(r: Client) -> None:
    await r.zadd("a", {"x": 1, "y": 2})
    await r.zadd("b", {"y": 10, "z": 20})
    assert await r.zinter(["a", "b"]) == [b"y"]
    assert await r.zinter(["a", "b"], withscores=True) == [(b"y", 12.0)]
    assert await r.zinter({"a": 3, "b": 1}, "min", True) == [(b"y", 6.0)]
    assert await r.zunion(["a", "b"]) == [b"x", b"y", b"z"]
    assert await r.zunion({"a": 2, "b": 0.5}, aggregate="MAX", withscores=True) == [
        (b"x", 2.0),
        (b"y", 5.0),
        (b"z", 10.0),
    ]
    assert await r.zunion(["a", "b"], withscores=True, score_cast_func=int) == [
        (b"x", 1),
        (b"y", 12),
        (b"z", 20),
    ]
    with pytest.raises(ValueError, match="aggregate must be 'SUM', 'MIN' or 'MAX'"):
        await r.zinter(["a", "b"], aggregate="AVG")


async def test_zintercard_counts_common_members_up_to_a_limit(r: Client) -> None:
    await r.zadd("a", {"x": 1, "y": 2, "z": 3})
    await r.zadd("b", {"x": 1, "y": 2, "w": 3})
    assert await r.zintercard(2, ["a", "b"]) == 2
    assert await r.zintercard(2, ["a", "b"], limit=1) == 1
    assert await r.zintercard(2, ["a", "missing"]) == 0
    with pytest.raises(ValueError, match="numkeys is 3 but 2 key"):
        await r.zintercard(3, ["a", "b"])


# -- ZMPOP, BZMPOP -------------------------------------------------------------------------------


async def test_zmpop_pops_from_the_first_non_empty_key(r: Client) -> None:
    await r.zadd("b", {"x": 1, "y": 2, "z": 3})
    assert await r.zmpop(2, ["a", "b"], min=True) == [b"b", [[b"x", 1.0]]]
    assert await r.zmpop(2, ["a", "b"], max=True, count=5) == [b"b", [[b"z", 3.0], [b"y", 2.0]]]
    assert await r.zmpop(2, ["a", "b"], min=True) is None
    with pytest.raises(ValueError, match="exactly one of min=True"):
        await r.zmpop(1, ["b"], min=True, max=True)


async def test_bzmpop_pops_at_once_or_returns_none_after_its_timeout(r: Client) -> None:
    await r.zadd("b", {"x": 1, "y": 2})
    assert await r.bzmpop(1, 2, ["a", "b"], max=True) == [b"b", [[b"y", 2.0]]]
    started = time.monotonic()
    assert await r.bzmpop(0.1, 1, ["a"], min=True) is None
    assert time.monotonic() - started >= 0.09
    assert r.pool.stats().in_use == 0


async def test_bzmpop_waiting_in_one_task_is_woken_by_a_zadd_in_another(r: Client) -> None:
    waiter = asyncio.create_task(r.bzmpop(5, 2, ["empty", "z"], min=True, count=2))
    await wait_for_blocked_clients(r, 1)
    assert not waiter.done()
    assert await r.zadd("z", {"low": 1, "mid": 2, "high": 3}) == 3
    async with asyncio.timeout(2):
        assert await waiter == [b"z", [[b"low", 1.0], [b"mid", 2.0]]]
    assert await r.zrange("z", 0, -1) == [b"high"]


async def test_bzmpop_times_out_on_the_server_not_on_command_timeout(redis_url: str) -> None:
    async with Client.from_url(redis_url, command_timeout=0.15) as client:
        assert await client.bzmpop(0.3, 1, ["empty"], min=True) is None
        async with client.pipeline() as p:
            p.zadd("z", {"a": 1}).bzmpop(0.3, 1, ["empty"], max=True).zmpop(1, ["z"], max=True)
            assert await p.execute() == [1, None, [b"z", [[b"a", 1.0]]]]
        assert client.pool.stats().closed == 0


async def test_cancelling_a_blocked_bzmpop_is_safe(redis_url: str, r: Client) -> None:
    async with Client.from_url(redis_url, max_size=1) as client:
        blocked = asyncio.create_task(client.bzmpop(0, 1, ["z"], min=True))
        await wait_for_blocked_clients(r, 1)
        blocked.cancel()
        with pytest.raises(asyncio.CancelledError):
            async with asyncio.timeout(2):
                await blocked
        await wait_for_blocked_clients(r, 0)
        assert await client.zadd("z", {"kept": 7}) == 1
        assert await client.zrange("z", 0, -1, withscores=True) == [(b"kept", 7.0)]
        assert client.pool.stats().in_use == 0


# -- the new commands decoded, in pipelines and transactions ------------------------------------


async def test_new_sorted_set_commands_with_decode_responses_return_str(rs: Client) -> None:
    await rs.zadd("{t}a", {"héllo": 1, "b": 2})
    await rs.zadd("{t}b", {"b": 5})
    assert await rs.zrangebyscore("{t}a", 0, 1) == ["héllo"]
    assert await rs.zrevrange("{t}a", 0, -1, withscores=True) == [("b", 2.0), ("héllo", 1.0)]
    assert await rs.zrangebylex("{t}b", "-", "+") == ["b"]
    assert await rs.zdiff(["{t}a", "{t}b"], withscores=True) == [("héllo", 1.0)]
    assert await rs.zinter(["{t}a", "{t}b"], withscores=True) == [("b", 7.0)]
    assert await rs.zunion(["{t}a", "{t}b"]) == ["héllo", "b"]
    assert await rs.zmpop(1, ["{t}b"], max=True) == ["{t}b", [["b", 5.0]]]
    assert await rs.bzmpop(1, 1, ["{t}a"], min=True) == ["{t}a", [["héllo", 1.0]]]


async def test_new_sorted_set_commands_in_a_pipeline_and_a_transaction(r: Client) -> None:
    async with r.pipeline() as p:
        p.zadd("a", {"x": 1, "y": 2}).zadd("b", {"y": 3})
        p.zrangebyscore("a", 0, 5, withscores=True).zrevrangebyscore("a", 5, 0)
        p.zrevrange("a", 0, 0).zrangebylex("a", "-", "+").zrevrangebylex("a", "+", "-")
        p.zdiff(["a", "b"]).zinter({"a": 1, "b": 2}, withscores=True).zunion(["a", "b"])
        p.zintercard(2, ["a", "b"]).zdiffstore("d", ["a", "b"])
        p.zmpop(1, ["d"], min=True).bzmpop(1, 1, ["b"], max=True)
        results = await p.execute()
    assert results == [
        2,
        1,
        [(b"x", 1.0), (b"y", 2.0)],
        [b"y", b"x"],
        [b"y"],
        [b"x", b"y"],
        [b"y", b"x"],
        [b"x"],
        [(b"y", 8.0)],
        [b"x", b"y"],
        1,
        1,
        [b"d", [[b"x", 1.0]]],
        [b"b", [[b"y", 3.0]]],
    ]
    async with r.pipeline(transaction=True) as p:
        p.zadd("a", {"z": 9}).zrevrangebyscore("a", "+inf", 5, withscores=True)
        p.zunion({"a": 2}, withscores=True).zmpop(1, ["a"], max=True)
        assert await p.execute() == [
            1,
            [(b"z", 9.0)],
            [(b"x", 2.0), (b"y", 4.0), (b"z", 18.0)],
            [b"a", [[b"z", 9.0]]],
        ]


# -- on a cluster ---------------------------------------------------------------------------------


def cross_slot_calls(one: str, other: str) -> list[Callable[[Any], Any]]:
    """Every multi-key sorted set command, given keys ``one`` and ``other`` of two slots."""
    return [
        lambda c: c.zdiff([one, other]),
        lambda c: c.zdiffstore(one, [one, other]),
        lambda c: c.zinter({one: 1, other: 2}),
        lambda c: c.zunion([one, other], withscores=True),
        lambda c: c.zintercard(2, [one, other]),
        lambda c: c.zmpop(2, [one, other], min=True),
        lambda c: c.bzmpop(0.1, 2, [one, other], max=True),
        lambda c: c.zrangestore(other, one, 0, -1),
        lambda c: c.zunionstore(other, {one: 1}),
        lambda c: c.bzpopmin([one, other], 0.1),
    ]


async def test_sorted_set_commands_on_a_cluster_run_on_the_slot_of_their_keys(
    redis_cluster: RedisCluster,
) -> None:
    a, b, d = "{t}a", "{t}b", "{t}d"
    async with ClusterClient.from_url(redis_cluster.startup_url) as cc:
        assert await cc.zadd(a, {"x": 1, "y": 2}, False, False, True) == 2
        assert await cc.zadd(b, {"y": 3}) == 1
        assert await cc.zrangebyscore(a, "(1", "+inf", withscores=True) == [(b"y", 2.0)]
        assert await cc.zrevrangebyscore(a, 2, 1, 0, 1) == [b"y"]
        assert await cc.zrevrange(a, 0, -1) == [b"y", b"x"]
        assert await cc.zrangebylex(b, "-", "+") == [b"y"]
        assert await cc.zrevrangebylex(b, "+", "-", 0, 1) == [b"y"]
        assert await cc.zrange(a, 0, 0, True, True, int) == [(b"y", 2)]
        assert await cc.zdiff([a, b], withscores=True) == [(b"x", 1.0)]
        assert await cc.zdiffstore(d, [a, b]) == 1
        assert await cc.zinter({a: 1, b: 2}, withscores=True) == [(b"y", 8.0)]
        assert await cc.zunion([a, b], aggregate="MAX") == [b"x", b"y"]
        assert await cc.zintercard(2, [a, b], 1) == 1
        assert await cc.zmpop(2, [d, a], max=True) == [d.encode(), [[b"x", 1.0]]]
        assert await cc.bzmpop(1, 2, [d, b], min=True, count=2) == [b.encode(), [[b"y", 3.0]]]
        assert await cc.bzmpop(0.1, 1, [d], min=True) is None
        async with cc.pipeline() as p:
            p.zadd(a, {"z": 5}).zrangebyscore(a, 0, 10).zinter([a, b]).zmpop(1, [a], max=True)
            assert await p.execute() == [1, [b"x", b"y", b"z"], [], [a.encode(), [[b"z", 5.0]]]]
        assert await cc.set("{t}str", "v")
        with pytest.raises(ReplyError, match="WRONGTYPE"):
            await cc.zinter(["{t}str", a])
        with pytest.raises(ReplyError, match="WRONGTYPE"):
            await cc.zrevrangebyscore("{t}str", 1, 0)


@pytest.mark.parametrize("index", range(10))
async def test_multi_key_sorted_set_commands_across_slots_raise_cross_slot_error(
    redis_cluster: RedisCluster, index: int
) -> None:
    one, other = "{t}a", "{u}b"
    assert key_slot(one) != key_slot(other)
    call = cross_slot_calls(one, other)[index]
    async with ClusterClient.from_url(redis_cluster.startup_url) as cc:
        await cc.zadd(one, {"x": 1})
        await cc.zadd(other, {"x": 2})
        with pytest.raises(CrossSlotError, match="CROSSSLOT"):
            await call(cc)
        with pytest.raises(CrossSlotError, match="CROSSSLOT"):
            call(cc.pipeline())  # refused as it is queued
        # Nothing was sent: both sets are as they were.
        assert await cc.zrange(one, 0, -1, withscores=True) == [(b"x", 1.0)]
        assert await cc.zrange(other, 0, -1, withscores=True) == [(b"x", 2.0)]
