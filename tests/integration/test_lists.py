"""List commands of ``aiopool.Client`` and ``Pipeline`` against a real ``redis-server``.

Blocking commands are checked from outside too: whether the server sees a
connection blocked comes from CLIENT LIST over a socket outside the pool.
"""

from __future__ import annotations

import asyncio
import datetime
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from aiopool import Client, ClusterClient, CrossSlotError, ReplyError
from aiopool.testing import RedisCluster, RedisServer

from .pool_support import (
    assert_balanced,
    assert_own_replies,
    blocked_ids,
    client_ids,
    unique_name,
    wait_for_blocked_clients,
    wait_until,
)

# -- pushing ------------------------------------------------------------------------------


async def test_lpush_inserts_each_value_at_the_head_and_returns_the_length(r: Client) -> None:
    assert await r.lpush("l", "a") == 1
    assert await r.lpush("l", "b", b"c", 4) == 4
    assert await r.lrange("l", 0, -1) == [b"4", b"c", b"b", b"a"]


async def test_rpush_appends_in_order_and_returns_the_length(r: Client) -> None:
    assert await r.rpush("l", "a", "b") == 2
    assert await r.rpush("l", 1.5) == 3
    assert await r.lrange("l", 0, -1) == [b"a", b"b", b"1.5"]


async def test_pushx_only_pushes_onto_an_existing_list(r: Client) -> None:
    assert await r.lpushx("l", "a") == 0
    assert await r.rpushx("l", "a") == 0
    assert await r.exists("l") == 0
    await r.rpush("l", "m")
    assert await r.lpushx("l", "head") == 2
    assert await r.rpushx("l", "tail", "end") == 4
    assert await r.lrange("l", 0, -1) == [b"head", b"m", b"tail", b"end"]


async def test_push_without_values_raises_before_sending(r: Client) -> None:
    before = r.pool.stats().acquired
    with pytest.raises(ValueError, match=r"rpush\(\) needs at least one value"):
        await r.rpush("l")
    assert r.pool.stats().acquired == before


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.lpush("s", "x"),
        lambda c: c.rpush("s", "x"),
        lambda c: c.lpushx("s", "x"),
        lambda c: c.rpushx("s", "x"),
        lambda c: c.lpop("s"),
        lambda c: c.rpop("s", 2),
        lambda c: c.lrange("s", 0, -1),
        lambda c: c.llen("s"),
        lambda c: c.lindex("s", 0),
        lambda c: c.lset("s", 0, "x"),
        lambda c: c.linsert("s", "BEFORE", "p", "x"),
        lambda c: c.lrem("s", 0, "x"),
        lambda c: c.ltrim("s", 0, 1),
        lambda c: c.lpos("s", "x"),
        lambda c: c.lmove("s", "l"),
        lambda c: c.blpop("s", 0.1),
        lambda c: c.brpop(["s"], 0.1),
        lambda c: c.blmove("s", "l", 0.1),
    ],
    ids=[
        "lpush",
        "rpush",
        "lpushx",
        "rpushx",
        "lpop",
        "rpop",
        "lrange",
        "llen",
        "lindex",
        "lset",
        "linsert",
        "lrem",
        "ltrim",
        "lpos",
        "lmove",
        "blpop",
        "brpop",
        "blmove",
    ],
)
async def test_list_commands_on_a_string_raise_wrongtype(
    r: Client, call: Callable[[Client], Awaitable[Any]]
) -> None:
    await r.set("s", "v")
    with pytest.raises(ReplyError, match="wrong kind of value") as info:
        await call(r)
    assert info.value.code == "WRONGTYPE"
    assert await r.ping() is True


# -- popping -----------------------------------------------------------------------------


async def test_lpop_and_rpop_return_one_element_or_none(r: Client) -> None:
    await r.rpush("l", "a", "b", "c")
    assert await r.lpop("l") == b"a"
    assert await r.rpop("l") == b"c"
    assert await r.lpop("l") == b"b"
    assert await r.lpop("l") is None
    assert await r.rpop("missing") is None


async def test_pop_with_count_returns_a_list_or_none_when_missing(r: Client) -> None:
    await r.rpush("l", "a", "b", "c", "d")
    assert await r.lpop("l", 2) == [b"a", b"b"]
    assert await r.rpop("l", 5) == [b"d", b"c"]
    assert await r.exists("l") == 0
    assert await r.lpop("l", 2) is None
    assert await r.rpop("missing", 1) is None


async def test_pop_with_count_zero_returns_an_empty_list(r: Client) -> None:
    await r.rpush("l", "a")
    assert await r.lpop("l", 0) == []
    assert await r.llen("l") == 1


# -- reading -----------------------------------------------------------------------------


async def test_lrange_takes_inclusive_and_negative_indexes(r: Client) -> None:
    await r.rpush("l", "a", "b", "c", "d")
    assert await r.lrange("l", 1, 2) == [b"b", b"c"]
    assert await r.lrange("l", -2, -1) == [b"c", b"d"]
    assert await r.lrange("l", 5, 10) == []
    assert await r.lrange("missing", 0, -1) == []


async def test_llen_counts_elements_and_is_zero_when_missing(r: Client) -> None:
    await r.rpush("l", "a", "b")
    assert await r.llen("l") == 2
    assert await r.llen("missing") == 0


async def test_lindex_returns_the_element_or_none(r: Client) -> None:
    await r.rpush("l", "a", "b")
    assert await r.lindex("l", 0) == b"a"
    assert await r.lindex("l", -1) == b"b"
    assert await r.lindex("l", 2) is None
    assert await r.lindex("missing", 0) is None


async def test_lpos_finds_an_index_or_none(r: Client) -> None:
    await r.rpush("l", "a", "b", "c", "b", "b")
    assert await r.lpos("l", "b") == 1
    assert await r.lpos("l", "z") is None
    assert await r.lpos("missing", "a") is None


async def test_lpos_rank_picks_the_nth_match_from_either_end(r: Client) -> None:
    await r.rpush("l", "a", "b", "c", "b", "b")
    assert await r.lpos("l", "b", rank=2) == 3
    assert await r.lpos("l", "b", rank=-1) == 4
    assert await r.lpos("l", "b", rank=4) is None


async def test_lpos_count_returns_a_list_of_indexes(r: Client) -> None:
    await r.rpush("l", "a", "b", "c", "b", "b")
    assert await r.lpos("l", "b", count=2) == [1, 3]
    assert await r.lpos("l", "b", count=0) == [1, 3, 4]
    assert await r.lpos("l", "b", rank=-1, count=2) == [4, 3]
    assert await r.lpos("l", "z", count=0) == []
    assert await r.lpos("missing", "b", count=1) == []


async def test_lpos_maxlen_limits_the_scan(r: Client) -> None:
    await r.rpush("l", "a", "b", "c", "b", "b")
    assert await r.lpos("l", "c", maxlen=2) is None
    assert await r.lpos("l", "c", maxlen=3) == 2
    assert await r.lpos("l", "b", count=0, maxlen=4) == [1, 3]


# -- editing -----------------------------------------------------------------------------


async def test_lset_replaces_an_element(r: Client) -> None:
    await r.rpush("l", "a", "b")
    assert await r.lset("l", -1, "z") is True
    assert await r.lrange("l", 0, -1) == [b"a", b"z"]


async def test_lset_out_of_range_or_missing_raises_reply_error(r: Client) -> None:
    await r.rpush("l", "a")
    with pytest.raises(ReplyError, match="index out of range"):
        await r.lset("l", 5, "x")
    with pytest.raises(ReplyError, match="no such key"):
        await r.lset("missing", 0, "x")


async def test_linsert_before_and_after_the_pivot(r: Client) -> None:
    await r.rpush("l", "a", "c")
    assert await r.linsert("l", "BEFORE", "c", "b") == 3
    assert await r.linsert("l", "after", "c", "d") == 4
    assert await r.lrange("l", 0, -1) == [b"a", b"b", b"c", b"d"]


async def test_linsert_reports_a_missing_pivot_or_key(r: Client) -> None:
    await r.rpush("l", "a")
    assert await r.linsert("l", "BEFORE", "zz", "x") == -1
    assert await r.linsert("missing", "AFTER", "a", "x") == 0
    assert await r.exists("missing") == 0


async def test_linsert_bad_where_raises_before_sending(r: Client) -> None:
    await r.rpush("l", "a")
    with pytest.raises(ValueError, match="where must be one of"):
        await r.linsert("l", "AROUND", "a", "x")
    assert await r.llen("l") == 1


async def test_lrem_removes_by_count_and_direction(r: Client) -> None:
    await r.rpush("l", "x", "a", "x", "b", "x")
    assert await r.lrem("l", -1, "x") == 1
    assert await r.lrange("l", 0, -1) == [b"x", b"a", b"x", b"b"]
    assert await r.lrem("l", 1, "x") == 1
    assert await r.lrange("l", 0, -1) == [b"a", b"x", b"b"]
    assert await r.lrem("l", 0, "x") == 1
    assert await r.lrem("l", 0, "x") == 0
    assert await r.lrem("missing", 0, "x") == 0


async def test_ltrim_keeps_the_range(r: Client) -> None:
    await r.rpush("l", "a", "b", "c", "d")
    assert await r.ltrim("l", 1, -2) is True
    assert await r.lrange("l", 0, -1) == [b"b", b"c"]
    assert await r.ltrim("missing", 0, 1) is True


# -- moves -------------------------------------------------------------------------------


async def test_lmove_moves_head_to_tail_by_default(r: Client) -> None:
    await r.rpush("src", "a", "b")
    await r.rpush("dst", "x")
    assert await r.lmove("src", "dst") == b"a"
    assert await r.lrange("src", 0, -1) == [b"b"]
    assert await r.lrange("dst", 0, -1) == [b"x", b"a"]


async def test_lmove_honours_the_sides_and_rotates_one_list(r: Client) -> None:
    await r.rpush("l", "a", "b", "c")
    assert await r.lmove("l", "l", "right", "left") == b"c"
    assert await r.lrange("l", 0, -1) == [b"c", b"a", b"b"]


async def test_lmove_of_a_missing_source_returns_none(r: Client) -> None:
    assert await r.lmove("missing", "dst") is None
    assert await r.exists("dst") == 0


async def test_lmove_bad_side_raises_before_sending(r: Client) -> None:
    await r.rpush("src", "a")
    with pytest.raises(ValueError, match="dest must be one of 'LEFT', 'RIGHT'"):
        await r.lmove("src", "dst", "LEFT", "UP")
    with pytest.raises(ValueError, match="dest_side must be one of 'LEFT', 'RIGHT'"):
        await r.lmove("src", "dst", dest_side="UP")
    assert await r.llen("src") == 1


async def test_blmove_moves_at_once_when_the_source_has_an_element(r: Client) -> None:
    await r.rpush("src", "a", "b")
    assert await r.blmove("src", "dst", 1, "RIGHT", "LEFT") == b"b"
    assert await r.lrange("dst", 0, -1) == [b"b"]


async def test_blmove_times_out_with_none(r: Client) -> None:
    started = time.monotonic()
    assert await r.blmove("src", "dst", 0.1) is None
    assert time.monotonic() - started < 1.0


async def test_blmove_is_woken_by_a_push(r: Client) -> None:
    waiting = asyncio.create_task(r.blmove("src", "dst", 5))
    await wait_for_blocked_clients(r)
    await r.rpush("src", "late")
    async with asyncio.timeout(2):
        assert await waiting == b"late"
    assert await r.lrange("dst", 0, -1) == [b"late"]


# -- blocking pops -------------------------------------------------------------------------


async def test_blpop_returns_none_quickly_on_timeout(r: Client) -> None:
    started = time.monotonic()
    assert await r.blpop("empty", timeout=0.1) is None
    elapsed = time.monotonic() - started
    assert 0.09 <= elapsed < 1.0


async def test_blpop_takes_from_the_first_non_empty_key(r: Client) -> None:
    await r.rpush("second", "x", "y")
    assert await r.blpop(["first", "second"], 1) == (b"second", b"x")
    assert await r.brpop(("first", "second"), 1) == (b"second", b"y")


async def test_brpop_accepts_a_timedelta_and_returns_none_on_timeout(r: Client) -> None:
    assert await r.brpop("empty", datetime.timedelta(milliseconds=100)) is None


async def test_blpop_waiting_in_one_task_is_woken_by_rpush_from_another(r: Client) -> None:
    async def pusher() -> None:
        await wait_for_blocked_clients(r)
        assert await r.rpush("queue", "hello") == 1

    async with asyncio.timeout(5):
        result, _ = await asyncio.gather(r.blpop("queue", timeout=5), pusher())
    assert result == (b"queue", b"hello")
    assert isinstance(result, tuple)
    assert await r.llen("queue") == 0


async def test_brpop_waiting_is_woken_with_the_key_that_got_the_push(r: Client) -> None:
    waiting = asyncio.create_task(r.brpop(["a", "b"], 5))
    await wait_for_blocked_clients(r)
    await r.rpush("b", "first", "last")
    async with asyncio.timeout(2):
        assert await waiting == (b"b", b"last")


async def test_blocking_time_extends_a_short_command_timeout(redis_url: str, r: Client) -> None:
    async with Client.from_url(redis_url, command_timeout=0.5) as short:
        # Without the extension, the reply would be overdue after 0.5 s.
        assert short.pool.connection_options.command_timeout == 0.5

        async def pusher() -> None:
            await wait_for_blocked_clients(r)
            await asyncio.sleep(1.0)  # past command_timeout, inside the blocking time
            await r.rpush("queue", "late")

        started = time.monotonic()
        result, _ = await asyncio.gather(short.blpop("queue", timeout=2), pusher())
        assert result == (b"queue", b"late")
        assert time.monotonic() - started >= 1.0
        assert_balanced(short.pool)


async def test_cancelled_blpop_closes_its_connection_so_a_later_push_is_kept(
    redis_server: RedisServer, redis_url: str
) -> None:
    name = unique_name("blpop")
    async with Client.from_url(redis_url, max_size=1, client_name=name) as client:
        waiting = asyncio.create_task(client.blpop("queue", timeout=0))
        await wait_until(lambda: bool(blocked_ids(redis_server, name)), "BLPOP to block")
        (victim,) = blocked_ids(redis_server, name)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert client.pool.stats().in_use == 0
        # The server sees the blocked connection go away: nobody waits on the list.
        await wait_until(
            lambda: victim not in client_ids(redis_server, name),
            "the cancelled BLPOP's connection to be closed",
        )

        assert await client.rpush("queue", "kept") == 1
        assert await client.llen("queue") == 1
        assert await client.set("k", "v") is True
        assert await client.get("k") == b"v"
        assert await client.lpop("queue") == b"kept"
        await assert_own_replies(client)
        stats = assert_balanced(client.pool)
        assert stats.in_use == 0
        assert stats.closed == 1
        assert (victim,) != tuple(client_ids(redis_server, name))


async def test_blpop_timed_out_by_wait_for_leaves_the_client_usable(redis_url: str) -> None:
    async with Client.from_url(redis_url, max_size=1) as client:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.blpop("queue", timeout=5), 0.1)
        assert client.pool.stats().in_use == 0
        await assert_own_replies(client)
        assert await client.rpush("queue", "x") == 1
        assert await client.llen("queue") == 1
        assert client.pool.stats().in_use == 0


# -- pipelines and decode_responses -------------------------------------------------------


async def test_pipeline_transforms_list_results(r: Client) -> None:
    async with r.pipeline(transaction=False) as p:
        p.rpush("l", "a", "b", "c").lpush("l", "z").lrange("l", 0, -1).lpop("l", 2)
        p.lset("l", 0, "B").ltrim("l", 0, 0).lpos("l", "B", count=0).blpop("l", 0.1)
        p.blpop("l", 0.1).lmove("missing", "l")
        results = await p.execute()
    assert results == [
        3,
        4,
        [b"z", b"a", b"b", b"c"],
        [b"z", b"a"],
        True,
        True,
        [0],
        (b"l", b"B"),
        None,
        None,
    ]


async def test_transaction_transforms_list_results(r: Client) -> None:
    async with r.pipeline(transaction=True) as p:
        p.rpush("l", "a", "b").linsert("l", "BEFORE", "b", "m").ltrim("l", 1, -1)
        p.blpop("l", 0).brpop("empty", 0)  # inside MULTI these never block
        assert await p.execute() == [2, 3, True, (b"l", b"m"), None]


async def test_decode_responses_gives_str_elements_and_keys(rs: Client) -> None:
    await rs.rpush("l", "é", "b")
    assert await rs.lrange("l", 0, -1) == ["é", "b"]
    assert await rs.lindex("l", 0) == "é"
    assert await rs.blpop("l", 1) == ("l", "é")
    assert await rs.lmove("l", "m") == "b"
    assert await rs.rpop("m", 1) == ["b"]


# -- redis-py's list commands: LMPOP, BLMPOP, RPOPLPUSH, BRPOPLPUSH; its argument shapes ---------


async def check_redis_py_list_commands(c: Any, t: str) -> None:
    """redis-py's list commands and argument shapes on ``c`` (keys share the tag ``t``)."""
    a, b, dst = t + "a", t + "b", t + "dst"
    await c.rpush(b, "1", "2", "3")
    assert await c.lmpop(2, a, b, direction="LEFT") == [b.encode(), [b"1"]]
    assert await c.lmpop(2, a, b, direction="right", count=5) == [b.encode(), [b"3", b"2"]]
    assert await c.lmpop(2, a, b, direction="LEFT") is None
    assert await c.blmpop(0.05, 2, a, b, direction="LEFT") is None  # timed out
    await c.rpush(a, "x", "y")
    assert await c.blmpop(1, 1, a, direction="RIGHT", count=2) == [a.encode(), [b"y", b"x"]]
    await c.rpush(a, "1", "2")
    assert await c.rpoplpush(a, dst) == b"2"
    assert await c.brpoplpush(a, dst, 1) == b"1"
    assert await c.lrange(dst, 0, -1) == [b"1", b"2"]
    assert await c.rpoplpush(a, dst) is None
    assert await c.brpoplpush(a, dst, timeout=0.05) is None
    # redis-py's shapes: lindex with a str index, blpop with one key or a list.
    assert await c.lindex(dst, "0") == b"1"
    assert await c.lindex(dst, "-1") == b"2"
    assert await c.blpop(dst, 1) == (dst.encode(), b"1")
    assert await c.blpop([a, dst], timeout=1) == (dst.encode(), b"2")
    # The failure side: a string where a list must be.
    await c.set(t + "str", "v")
    calls: list[Callable[[], Awaitable[Any]]] = [
        lambda: c.lmpop(1, t + "str", direction="LEFT"),
        lambda: c.rpoplpush(t + "str", dst),
        lambda: c.brpoplpush(t + "str", dst, 0.05),
        lambda: c.blmpop(0.05, 1, t + "str", direction="LEFT"),
    ]
    for call in calls:
        with pytest.raises(ReplyError, match="WRONGTYPE"):
            await call()


async def test_redis_py_list_commands_on_a_client(r: Client) -> None:
    await check_redis_py_list_commands(r, "{t}:")


async def test_redis_py_list_commands_on_the_cluster(redis_cluster: RedisCluster) -> None:
    async with ClusterClient.from_url(redis_cluster.startup_url) as cc:
        await check_redis_py_list_commands(cc, "{lists}:")
        calls: list[Callable[[], Awaitable[Any]]] = [
            lambda: cc.lmpop(2, "{a}l", "{b}l", direction="LEFT"),
            lambda: cc.blmpop(0.05, 2, "{a}l", "{b}l", direction="LEFT"),
            lambda: cc.rpoplpush("{a}l", "{b}l"),
            lambda: cc.brpoplpush("{a}l", "{b}l", 0.05),
        ]
        for call in calls:
            with pytest.raises(CrossSlotError):
                await call()


async def test_redis_py_list_commands_in_a_pipeline(r: Client) -> None:
    async with r.pipeline() as p:
        p.rpush("a", "1", "2", "3").lmpop(1, "a", direction="LEFT", count=2)
        p.rpoplpush("a", "b").brpoplpush("b", "a", 0).blmpop(0, 1, "a", direction="RIGHT")
        p.lindex("a", "0")
        assert await p.execute() == [3, [b"a", [b"1", b"2"]], b"3", b"3", [b"a", [b"3"]], None]


async def test_blmpop_waits_for_a_push_from_another_task(r: Client) -> None:
    async def pusher() -> int:
        await wait_for_blocked_clients(r)
        pushed: int = await r.rpush("late", "v")
        return pushed

    async with asyncio.timeout(5):
        popped, _ = await asyncio.gather(
            r.blmpop(0, 2, "early", "late", direction="LEFT"), pusher()
        )
    assert popped == [b"late", [b"v"]]


async def test_brpoplpush_timeout_none_waits_for_ever_as_redis_py(r: Client) -> None:
    async def pusher() -> int:
        await wait_for_blocked_clients(r)
        pushed: int = await r.rpush("src", "v")
        return pushed

    async with asyncio.timeout(5):
        moved, _ = await asyncio.gather(r.brpoplpush("src", "dst", None), pusher())
    assert moved == b"v"
    assert await r.blpop("dst", None) == (b"dst", b"v")


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda c: c.lmpop(2, "a", direction="LEFT"), ValueError, "num_keys is 2 but 1 keys"),
        (lambda c: c.lmpop(1, "a", direction="UP"), ValueError, "direction must be one of"),
        (lambda c: c.lmpop(1, "a"), TypeError, "direction"),
        (lambda c: c.lmpop(0, direction="LEFT"), ValueError, "at least one key"),
        (lambda c: c.lmpop(1, "a", direction="LEFT", count=0), ValueError, "count must be"),
        (lambda c: c.blmpop(-1, 1, "a", direction="LEFT"), ValueError, "timeout must be >= 0"),
        (lambda c: c.blmpop(0, 3, "a", direction="LEFT"), ValueError, "numkeys is 3"),
        (lambda c: c.brpoplpush("a", "b", -1), ValueError, "timeout must be >= 0"),
        (lambda c: c.lindex("a", "first"), ValueError, "index must be an integer"),
        (lambda c: c.lindex("a", 1.5), TypeError, "index must be an int"),
    ],
    ids=[
        "num-keys",
        "direction",
        "no-direction",
        "no-keys",
        "count",
        "timeout",
        "numkeys",
        "brpoplpush-timeout",
        "lindex-word",
        "lindex-float",
    ],
)
async def test_redis_py_list_arguments_are_checked_before_sending(
    r: Client, call: Any, error: type[Exception], match: str
) -> None:
    before = r.pool.stats().acquired
    with pytest.raises(error, match=match):
        call(r)
    assert r.pool.stats().acquired == before


async def test_lmove_and_blmove_take_redis_py_side_keywords(r: Client) -> None:
    await r.rpush("a", "1", "2", "3")
    assert await r.lmove("a", "b", src="RIGHT", dest="LEFT") == b"3"  # redis-py's keywords
    assert await r.lmove(first_list="a", second_list="b", src="LEFT") == b"1"
    assert await r.blmove("a", "b", 1, src="RIGHT", dest="RIGHT") == b"2"
    assert await r.lmove("b", "b", src_side="LEFT", dest_side="RIGHT") == b"3"  # aiopool's names
    assert await r.lrange("b", 0, -1) == [b"1", b"2", b"3"]
    async with r.pipeline() as p:
        p.lmove("b", "a", src="RIGHT").blmove("b", "a", 0, dest="LEFT")
        assert await p.execute() == [b"3", b"1"]
    with pytest.raises(ValueError, match="not both"):
        r.lmove("a", "b", "RIGHT", src_side="LEFT")  # type: ignore[unused-coroutine]
    await r.set("s", "v")
    with pytest.raises(ReplyError, match="WRONGTYPE"):
        await r.blmove("s", "b", 0.05, src="RIGHT")
