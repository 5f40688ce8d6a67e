"""Sorted set commands of ``aiopool.Client`` and ``Pipeline`` against a real ``redis-server``."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from aiopool import Client, ReplyError

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
