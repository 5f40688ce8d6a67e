"""Stream commands of ``aiopool.Client`` and ``Pipeline`` against a real ``redis-server``.

Whether the server sees a connection blocked in XREAD/XREADGROUP comes from
INFO or CLIENT LIST, never from sleeping.
"""

from __future__ import annotations

import asyncio
import re
import time
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

ID = re.compile(rb"^\d+-\d+$")


async def _stream(r: Client, key: str = "s", count: int = 3) -> list[bytes]:
    """Add entries 1-0, 2-0, ... with field ``n``; their IDs."""
    return [await r.xadd(key, {"n": i}, f"{i}-0") for i in range(1, count + 1)]


# -- XADD / XLEN ------------------------------------------------------------------------


async def test_xadd_returns_the_generated_id_and_xlen_counts_entries(r: Client) -> None:
    assert await r.xlen("s") == 0
    first = await r.xadd("s", {"a": 1, "b": "two"})
    second = await r.xadd("s", {"a": 3})
    assert isinstance(first, bytes)
    assert ID.match(first)
    assert ID.match(second)
    assert first != second
    assert await r.xlen("s") == 2
    assert await r.xrange("s") == [(first, {b"a": b"1", b"b": b"two"}), (second, {b"a": b"3"})]


async def test_xadd_with_an_explicit_id_returns_it_and_a_smaller_one_is_refused(
    r: Client,
) -> None:
    assert await r.xadd("s", {"f": "v"}, "5-1") == b"5-1"
    with pytest.raises(ReplyError, match="equal or smaller") as info:
        await r.xadd("s", {"f": "v"}, "5-0")
    assert info.value.code == "ERR"
    assert await r.xlen("s") == 1


async def test_xadd_nomkstream_on_a_missing_stream_returns_none_and_creates_nothing(
    r: Client,
) -> None:
    assert await r.xadd("s", {"f": "v"}, nomkstream=True) is None
    assert await r.exists("s") == 0
    await r.xadd("s", {"f": "v"})
    assert ID.match(await r.xadd("s", {"f": "w"}, nomkstream=True))
    assert await r.xlen("s") == 2


async def test_xadd_maxlen_exact_keeps_the_newest_entries(r: Client) -> None:
    await _stream(r, count=3)
    await r.xadd("s", {"n": 4}, "4-0", maxlen=2, approximate=False)
    assert [entry_id for entry_id, _ in await r.xrange("s")] == [b"3-0", b"4-0"]


async def test_xadd_minid_exact_drops_older_entries(r: Client) -> None:
    await _stream(r, count=3)
    await r.xadd("s", {"n": 4}, "4-0", minid="3-0", approximate=False)
    assert [entry_id for entry_id, _ in await r.xrange("s")] == [b"3-0", b"4-0"]


async def test_xadd_approximate_maxlen_with_limit_evicts_at_most_limit(r: Client) -> None:
    for i in range(1, 301):
        await r.xadd("s", {"n": i}, f"{i}-0")
    await r.xadd("s", {"n": 301}, "301-0", maxlen=1, limit=100)
    # Whole nodes of 100 entries go; LIMIT stops after one.
    assert await r.xlen("s") == 201


async def test_xadd_on_a_string_raises_wrongtype(r: Client) -> None:
    await r.set("k", "v")
    with pytest.raises(ReplyError) as info:
        await r.xadd("k", {"f": "v"})
    assert info.value.code == "WRONGTYPE"


async def test_xlen_on_a_string_raises_wrongtype(r: Client) -> None:
    await r.set("k", "v")
    with pytest.raises(ReplyError) as info:
        await r.xlen("k")
    assert info.value.code == "WRONGTYPE"


# -- XRANGE / XREVRANGE ---------------------------------------------------------------------


async def test_xrange_returns_id_and_fields_dict_pairs_oldest_first(r: Client) -> None:
    ids = await _stream(r, count=4)
    entries = await r.xrange("s")
    assert entries == [(entry_id, {b"n": str(i).encode()}) for i, entry_id in enumerate(ids, 1)]
    assert all(isinstance(entry, tuple) for entry in entries)
    assert await r.xrange("s", "2-0", "3-0") == [(b"2-0", {b"n": b"2"}), (b"3-0", {b"n": b"3"})]
    assert await r.xrange("s", "(2-0", count=1) == [(b"3-0", {b"n": b"3"})]


async def test_xrevrange_returns_newest_first_from_max_to_min(r: Client) -> None:
    await _stream(r, count=4)
    assert await r.xrevrange("s", count=2) == [(b"4-0", {b"n": b"4"}), (b"3-0", {b"n": b"3"})]
    assert await r.xrevrange("s", "2-0", "1-0") == [(b"2-0", {b"n": b"2"}), (b"1-0", {b"n": b"1"})]


async def test_xrange_and_xrevrange_of_a_missing_stream_are_empty(r: Client) -> None:
    assert await r.xrange("missing") == []
    assert await r.xrevrange("missing") == []


async def test_xrange_with_a_malformed_id_raises_reply_error(r: Client) -> None:
    await _stream(r, count=1)
    with pytest.raises(ReplyError, match="Invalid stream ID"):
        await r.xrange("s", "not-an-id")


# -- XREAD -------------------------------------------------------------------------------


async def test_xread_returns_entries_after_each_id_keyed_by_stream(r: Client) -> None:
    await _stream(r, "a", count=3)
    await _stream(r, "b", count=1)
    result = await r.xread({"a": "1-0", "b": "0", "missing": "0"})
    assert result == [  # redis-py's RESP2 shape: [[stream, entries], ...]
        [b"a", [(b"2-0", {b"n": b"2"}), (b"3-0", {b"n": b"3"})]],
        [b"b", [(b"1-0", {b"n": b"1"})]],
    ]
    for stream, entries in result:  # as redis-py code reads it
        assert stream in (b"a", b"b")
        assert all(isinstance(fields, dict) for _, fields in entries)
    assert await r.xread({"a": "0"}, count=1) == [[b"a", [(b"1-0", {b"n": b"1"})]]]


async def test_xread_with_nothing_new_returns_an_empty_list(r: Client) -> None:
    await _stream(r, count=2)
    assert await r.xread({"s": "2-0"}) == []
    assert await r.xread({"missing": "0"}) == []


async def test_xread_on_a_string_raises_wrongtype(r: Client) -> None:
    await r.set("k", "v")
    with pytest.raises(ReplyError) as info:
        await r.xread({"k": "0"})
    assert info.value.code == "WRONGTYPE"


async def test_xread_block_with_no_new_entries_returns_empty_quickly(r: Client) -> None:
    await _stream(r, count=1)
    started = time.monotonic()
    assert await r.xread({"s": "$"}, block=100) == []
    elapsed = time.monotonic() - started
    assert 0.09 <= elapsed < 1.0
    assert r.pool.stats().in_use == 0


async def test_xread_block_for_ever_is_woken_by_xadd_from_another_task(r: Client) -> None:
    await _stream(r, count=1)

    async def adder() -> bytes:
        await wait_for_blocked_clients(r)
        added: bytes = await r.xadd("s", {"late": "yes"})
        return added

    async with asyncio.timeout(5):
        result, added = await asyncio.gather(r.xread({"s": "$"}, block=0), adder())
    assert result == [[b"s", [(added, {b"late": b"yes"})]]]


async def test_xread_block_extends_a_short_command_timeout(redis_url: str, r: Client) -> None:
    async with Client.from_url(redis_url, command_timeout=0.5) as short:
        # Without the extension, the reply would be overdue after 0.5 s.
        assert short.pool.connection_options.command_timeout == 0.5

        async def adder() -> bytes:
            await wait_for_blocked_clients(r)
            await asyncio.sleep(1.0)  # past command_timeout, inside the blocking time
            added: bytes = await r.xadd("s", {"f": "late"})
            return added

        started = time.monotonic()
        result, added = await asyncio.gather(short.xread({"s": "$"}, block=2000), adder())
        assert result == [[b"s", [(added, {b"f": b"late"})]]]
        assert time.monotonic() - started >= 1.0
        assert_balanced(short.pool)
        assert short.pool.stats().closed == 0


# -- XDEL / XTRIM -----------------------------------------------------------------------------


async def test_xdel_counts_the_entries_that_existed(r: Client) -> None:
    await _stream(r, count=3)
    assert await r.xdel("s", "1-0", "3-0", "9-0") == 2
    assert await r.xrange("s") == [(b"2-0", {b"n": b"2"})]
    assert await r.xdel("missing", "1-0") == 0


async def test_xtrim_maxlen_exact_returns_how_many_were_removed(r: Client) -> None:
    await _stream(r, count=5)
    assert await r.xtrim("s", 2, approximate=False) == 3
    assert [entry_id for entry_id, _ in await r.xrange("s")] == [b"4-0", b"5-0"]
    assert await r.xtrim("missing", 2) == 0


async def test_xtrim_minid_exact_removes_smaller_ids(r: Client) -> None:
    await _stream(r, count=5)
    assert await r.xtrim("s", minid="4-0", approximate=False) == 3
    assert await r.xlen("s") == 2


async def test_xtrim_approximate_trims_whole_nodes_only(r: Client) -> None:
    for i in range(1, 251):
        await r.xadd("s", {"n": i}, f"{i}-0")
    # 250 entries sit in nodes of 100, 100 and 50: keeping at least 120
    # removes only the first whole node; LIMIT allows that much.
    assert await r.xtrim("s", 120, limit=100) == 100
    assert await r.xlen("s") == 150


async def test_xtrim_on_a_string_raises_wrongtype(r: Client) -> None:
    await r.set("k", "v")
    with pytest.raises(ReplyError) as info:
        await r.xtrim("k", 1)
    assert info.value.code == "WRONGTYPE"


# -- consumer groups ---------------------------------------------------------------------------


async def test_xgroup_create_returns_true_and_a_second_create_raises_busygroup(r: Client) -> None:
    await _stream(r, count=1)
    assert await r.xgroup_create("s", "g", "0") is True
    with pytest.raises(ReplyError) as info:
        await r.xgroup_create("s", "g")
    assert info.value.code == "BUSYGROUP"


async def test_xgroup_create_on_a_missing_stream_needs_mkstream(r: Client) -> None:
    with pytest.raises(ReplyError, match="MKSTREAM"):
        await r.xgroup_create("s", "g")
    assert await r.exists("s") == 0
    assert await r.xgroup_create("s", "g", mkstream=True) is True
    assert await r.xlen("s") == 0
    assert [group["name"] for group in await r.xinfo_groups("s")] == [b"g"]


async def test_xgroup_create_entries_read_sets_the_groups_lag(r: Client) -> None:
    await _stream(r, count=5)
    assert await r.xgroup_create("s", "g", "2-0", entries_read=2) is True
    (group,) = await r.xinfo_groups("s")
    assert group["entries-read"] == 2
    assert group["lag"] == 3


async def test_xreadgroup_delivers_new_entries_once_and_makes_them_pending(r: Client) -> None:
    await _stream(r, count=2)
    await r.xgroup_create("s", "g", "0")
    first = await r.xreadgroup("g", "alice", {"s": ">"}, count=1)
    assert first == [[b"s", [(b"1-0", {b"n": b"1"})]]]
    rest = await r.xreadgroup("g", "bob", {"s": ">"})
    assert rest == [[b"s", [(b"2-0", {b"n": b"2"})]]]
    assert await r.xreadgroup("g", "bob", {"s": ">"}) == []
    # With an ID, a consumer reads back only its own pending entries.
    assert await r.xreadgroup("g", "alice", {"s": "0"}) == first
    assert await r.xpending("s", "g") == {
        "pending": 2,
        "min": b"1-0",
        "max": b"2-0",
        "consumers": [{"name": b"alice", "pending": 1}, {"name": b"bob", "pending": 1}],
    }


async def test_xreadgroup_history_shows_a_deleted_pending_entry_with_none_fields(
    r: Client,
) -> None:
    await _stream(r, count=2)
    await r.xgroup_create("s", "g", "0")
    await r.xreadgroup("g", "c", {"s": ">"})
    await r.xdel("s", "1-0")
    assert await r.xreadgroup("g", "c", {"s": "0"}) == [
        [b"s", [(b"1-0", None), (b"2-0", {b"n": b"2"})]]
    ]


async def test_xreadgroup_noack_leaves_nothing_pending(r: Client) -> None:
    await _stream(r, count=2)
    await r.xgroup_create("s", "g", "0")
    result = await r.xreadgroup("g", "c", {"s": ">"}, noack=True)
    assert [entry_id for entry_id, _ in dict(result)[b"s"]] == [b"1-0", b"2-0"]
    assert (await r.xpending("s", "g"))["pending"] == 0


async def test_xreadgroup_of_a_missing_group_raises_nogroup(r: Client) -> None:
    await _stream(r, count=1)
    with pytest.raises(ReplyError) as info:
        await r.xreadgroup("nogroup", "c", {"s": ">"})
    assert info.value.code == "NOGROUP"


async def test_xreadgroup_block_times_out_with_an_empty_list(r: Client) -> None:
    await r.xgroup_create("s", "g", mkstream=True)
    started = time.monotonic()
    assert await r.xreadgroup("g", "c", {"s": ">"}, block=100) == []
    assert 0.09 <= time.monotonic() - started < 1.0


async def test_cancelled_xreadgroup_closes_its_connection_so_a_later_entry_stays_new(
    redis_server: RedisServer, redis_url: str
) -> None:
    name = unique_name("xreadgroup")
    async with Client.from_url(redis_url, max_size=1, client_name=name) as client:
        await client.xgroup_create("s", "g", mkstream=True)
        waiting = asyncio.create_task(client.xreadgroup("g", "victim", {"s": ">"}, block=0))
        await wait_until(lambda: bool(blocked_ids(redis_server, name)), "XREADGROUP to block")
        (victim,) = blocked_ids(redis_server, name)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert client.pool.stats().in_use == 0
        await wait_until(
            lambda: victim not in client_ids(redis_server, name),
            "the cancelled XREADGROUP's connection to be closed",
        )

        added = await client.xadd("s", {"f": "after-cancel"})
        assert await client.set("k", "v") is True
        assert await client.get("k") == b"v"
        await assert_own_replies(client)
        # Had the blocked call's connection lived on, the server would have
        # delivered the entry to "victim" and nobody else would see it as new.
        assert await client.xreadgroup("g", "reader", {"s": ">"}) == [
            [b"s", [(added, {b"f": b"after-cancel"})]]
        ]
        summary = await client.xpending("s", "g")
        assert summary["consumers"] == [{"name": b"reader", "pending": 1}]
        stats = assert_balanced(client.pool)
        assert stats.in_use == 0
        assert stats.closed == 1


async def test_xack_counts_acknowledged_entries(r: Client) -> None:
    await _stream(r, count=3)
    await r.xgroup_create("s", "g", "0")
    await r.xreadgroup("g", "c", {"s": ">"})
    assert await r.xack("s", "g", "1-0", "2-0", "9-0") == 2
    assert await r.xack("s", "g", "1-0") == 0
    assert (await r.xpending("s", "g"))["pending"] == 1
    assert await r.xack("missing", "g", "1-0") == 0


async def test_xgroup_consumers_are_created_and_deleted_with_their_pending_count(
    r: Client,
) -> None:
    await _stream(r, count=2)
    await r.xgroup_create("s", "g", "0")
    assert await r.xgroup_createconsumer("s", "g", "c") is True
    assert await r.xgroup_createconsumer("s", "g", "c") is False
    await r.xreadgroup("g", "c", {"s": ">"})
    assert await r.xgroup_delconsumer("s", "g", "c") == 2
    assert await r.xgroup_delconsumer("s", "g", "c") == 0
    assert (await r.xpending("s", "g"))["pending"] == 0


async def test_xgroup_destroy_is_true_only_for_an_existing_group(r: Client) -> None:
    await r.xgroup_create("s", "g", mkstream=True)
    assert await r.xgroup_destroy("s", "g") is True
    assert await r.xgroup_destroy("s", "g") is False
    assert await r.xinfo_groups("s") == []


async def test_xgroup_commands_on_a_missing_stream_raise_reply_error(r: Client) -> None:
    with pytest.raises(ReplyError):
        await r.xgroup_destroy("missing", "g")
    with pytest.raises(ReplyError):
        await r.xgroup_createconsumer("missing", "g", "c")
    with pytest.raises(ReplyError):
        await r.xgroup_delconsumer("missing", "g", "c")


async def test_xpending_of_a_group_with_nothing_pending_has_none_bounds(r: Client) -> None:
    await r.xgroup_create("s", "g", mkstream=True)
    assert await r.xpending("s", "g") == {"pending": 0, "min": None, "max": None, "consumers": []}


async def test_xpending_of_a_missing_group_raises_nogroup(r: Client) -> None:
    with pytest.raises(ReplyError) as info:
        await r.xpending("missing", "g")
    assert info.value.code == "NOGROUP"


async def test_xpending_range_lists_each_pending_entry(r: Client) -> None:
    await _stream(r, count=3)
    await r.xgroup_create("s", "g", "0")
    await r.xreadgroup("g", "alice", {"s": ">"}, count=2)
    await r.xreadgroup("g", "bob", {"s": ">"})
    details = await r.xpending_range("s", "g", "-", "+", 10)
    assert [(d["message_id"], d["consumer"], d["times_delivered"]) for d in details] == [
        (b"1-0", b"alice", 1),
        (b"2-0", b"alice", 1),
        (b"3-0", b"bob", 1),
    ]
    assert all(isinstance(d["time_since_delivered"], int) for d in details)
    only_bob = await r.xpending_range("s", "g", "-", "+", 10, consumername="bob")
    assert [d["message_id"] for d in only_bob] == [b"3-0"]
    assert len(await r.xpending_range("s", "g", "-", "+", 1)) == 1


async def test_xpending_range_idle_keeps_only_entries_idle_long_enough(r: Client) -> None:
    await _stream(r, count=2)
    await r.xgroup_create("s", "g", "0")
    await r.xreadgroup("g", "c", {"s": ">"})
    # Make 1-0 look idle for a minute without waiting for it.
    await r.xclaim("s", "g", "c", 0, ["1-0"], idle=60_000, justid=True)
    idle = await r.xpending_range("s", "g", "-", "+", 10, idle=30_000)
    assert [d["message_id"] for d in idle] == [b"1-0"]
    assert idle[0]["time_since_delivered"] >= 60_000


async def test_xclaim_moves_idle_entries_to_another_consumer(r: Client) -> None:
    await _stream(r, count=2)
    await r.xgroup_create("s", "g", "0")
    await r.xreadgroup("g", "alice", {"s": ">"})
    assert await r.xclaim("s", "g", "bob", 60_000, ["1-0"]) == []  # not idle long enough
    claimed = await r.xclaim("s", "g", "bob", 0, ["1-0", "2-0"])
    assert claimed == [(b"1-0", {b"n": b"1"}), (b"2-0", {b"n": b"2"})]
    details = await r.xpending_range("s", "g", "-", "+", 10)
    assert [(d["consumer"], d["times_delivered"]) for d in details] == [(b"bob", 2), (b"bob", 2)]


async def test_xclaim_justid_returns_ids_and_leaves_the_delivery_count(r: Client) -> None:
    await _stream(r, count=2)
    await r.xgroup_create("s", "g", "0")
    await r.xreadgroup("g", "alice", {"s": ">"})
    assert await r.xclaim("s", "g", "bob", 0, "2-0", justid=True) == [b"2-0"]
    (detail,) = await r.xpending_range("s", "g", "2-0", "2-0", 1)
    assert (detail["consumer"], detail["times_delivered"]) == (b"bob", 1)


async def test_xclaim_retrycount_and_force(r: Client) -> None:
    await _stream(r, count=2)
    await r.xgroup_create("s", "g", "0")
    await r.xreadgroup("g", "alice", {"s": ">"}, count=1)
    assert await r.xclaim("s", "g", "bob", 0, "1-0", retrycount=7, justid=True) == [b"1-0"]
    # 2-0 was never delivered: only FORCE claims it; Redis counts the new
    # pending entry's creation and the claim as two deliveries.
    assert await r.xclaim("s", "g", "bob", 0, "2-0") == []
    assert await r.xclaim("s", "g", "bob", 0, "2-0", force=True) == [(b"2-0", {b"n": b"2"})]
    details = await r.xpending_range("s", "g", "-", "+", 10)
    assert [(d["message_id"], d["consumer"], d["times_delivered"]) for d in details] == [
        (b"1-0", b"bob", 7),
        (b"2-0", b"bob", 2),
    ]


async def test_xclaim_leaves_out_a_deleted_entry_without_crashing(r: Client) -> None:
    await _stream(r, count=2)
    await r.xgroup_create("s", "g", "0")
    await r.xreadgroup("g", "alice", {"s": ">"})
    await r.xdel("s", "1-0")
    assert await r.xclaim("s", "g", "bob", 0, ["1-0", "2-0"]) == [(b"2-0", {b"n": b"2"})]
    assert (await r.xpending("s", "g"))["pending"] == 1


async def test_xclaim_of_a_missing_group_raises_nogroup(r: Client) -> None:
    await _stream(r, count=1)
    with pytest.raises(ReplyError) as info:
        await r.xclaim("s", "nogroup", "c", 0, "1-0")
    assert info.value.code == "NOGROUP"


async def test_xautoclaim_returns_next_id_entries_and_deleted_ids(r: Client) -> None:
    await _stream(r, count=3)
    await r.xgroup_create("s", "g", "0")
    await r.xreadgroup("g", "alice", {"s": ">"})
    await r.xdel("s", "2-0")
    next_id, claimed, deleted = await r.xautoclaim("s", "g", "bob", 0)
    assert next_id == b"0-0"
    assert claimed == [(b"1-0", {b"n": b"1"}), (b"3-0", {b"n": b"3"})]
    assert deleted == [b"2-0"]
    assert await r.xautoclaim("s", "g", "carol", 60_000) == [b"0-0", [], []]  # redis-py's list


async def test_xautoclaim_count_pages_and_justid_returns_only_ids(r: Client) -> None:
    await _stream(r, count=3)
    await r.xgroup_create("s", "g", "0")
    await r.xreadgroup("g", "alice", {"s": ">"})
    next_id, claimed, deleted = await r.xautoclaim("s", "g", "bob", 0, count=2)
    assert (next_id, [entry_id for entry_id, _ in claimed], deleted) == (
        b"3-0",
        [b"1-0", b"2-0"],
        [],
    )
    # justid: only the claimed IDs, as redis-py's (positional, as redis-py takes it).
    assert await r.xautoclaim("s", "g", "carol", 0, next_id, None, True) == [b"3-0"]


async def test_xautoclaim_of_a_missing_group_raises_nogroup(r: Client) -> None:
    await _stream(r, count=1)
    with pytest.raises(ReplyError) as info:
        await r.xautoclaim("s", "nogroup", "c", 0)
    assert info.value.code == "NOGROUP"


# -- XINFO -------------------------------------------------------------------------------------


async def test_xinfo_stream_has_str_keys_and_parsed_first_and_last_entries(r: Client) -> None:
    await _stream(r, count=3)
    await r.xgroup_create("s", "g", "0")
    info = await r.xinfo_stream("s")
    assert all(isinstance(name, str) for name in info)
    assert info["length"] == 3
    assert info["groups"] == 1
    assert info["last-generated-id"] == b"3-0"
    assert info["first-entry"] == (b"1-0", {b"n": b"1"})
    assert info["last-entry"] == (b"3-0", {b"n": b"3"})


async def test_xinfo_stream_of_an_empty_stream_has_no_first_or_last_entry(r: Client) -> None:
    await r.xgroup_create("s", "g", mkstream=True)
    info = await r.xinfo_stream("s")
    assert info["length"] == 0
    assert info["first-entry"] is None
    assert info["last-entry"] is None


async def test_xinfo_of_a_missing_stream_raises_reply_error(r: Client) -> None:
    with pytest.raises(ReplyError, match="no such key"):
        await r.xinfo_stream("missing")
    with pytest.raises(ReplyError, match="no such key"):
        await r.xinfo_groups("missing")


async def test_xinfo_groups_gives_a_str_keyed_dict_per_group(r: Client) -> None:
    await _stream(r, count=2)
    await r.xgroup_create("s", "g1", "0")
    await r.xgroup_create("s", "g2", "$")
    await r.xreadgroup("g1", "c", {"s": ">"}, count=1)
    g1, g2 = await r.xinfo_groups("s")
    assert all(isinstance(name, str) for name in g1)
    assert (g1["name"], g1["consumers"], g1["pending"]) == (b"g1", 1, 1)
    assert g1["last-delivered-id"] == b"1-0"
    assert g1["lag"] == 1
    assert (g2["name"], g2["consumers"], g2["pending"]) == (b"g2", 0, 0)


# -- pipelines and decode_responses ---------------------------------------------------------------


async def test_pipeline_transforms_stream_results(r: Client) -> None:
    async with r.pipeline(transaction=False) as p:
        p.xadd("s", {"n": 1}, "1-0").xadd("s", {"n": 2}, "2-0").xlen("s")
        p.xrange("s", count=1).xrevrange("s", count=1).xread({"s": "1-0"})
        p.xgroup_create("s", "g", "0").xreadgroup("g", "c", {"s": ">"}, count=1)
        p.xpending("s", "g").xack("s", "g", "1-0").xdel("s", "2-0").xtrim("s", 0, approximate=False)
        p.xinfo_stream("s").xread({"s": "$"}, block=10)
        results = await p.execute()
    info = results[12]
    assert results[:12] == [
        b"1-0",
        b"2-0",
        2,
        [(b"1-0", {b"n": b"1"})],
        [(b"2-0", {b"n": b"2"})],
        [[b"s", [(b"2-0", {b"n": b"2"})]]],
        True,
        [[b"s", [(b"1-0", {b"n": b"1"})]]],
        {"pending": 1, "min": b"1-0", "max": b"1-0", "consumers": [{"name": b"c", "pending": 1}]},
        1,
        1,
        1,
    ]
    assert (info["length"], info["first-entry"]) == (0, None)
    assert results[13] == []


async def test_transaction_runs_stream_commands_atomically(r: Client) -> None:
    async with r.pipeline(transaction=True) as p:
        p.xadd("s", {"f": "v"}, "1-0").xread({"s": "0"}, block=0)  # never blocks in MULTI
        p.xgroup_create("s", "g", "0").xreadgroup("g", "c", {"s": ">"})
        assert await p.execute() == [
            b"1-0",
            [[b"s", [(b"1-0", {b"f": b"v"})]]],
            True,
            [[b"s", [(b"1-0", {b"f": b"v"})]]],
        ]


async def test_decode_responses_gives_str_ids_fields_and_names(rs: Client) -> None:
    entry_id = await rs.xadd("s", {"é": "ü"})
    assert isinstance(entry_id, str)
    assert await rs.xrange("s") == [(entry_id, {"é": "ü"})]
    assert await rs.xread({"s": "0"}) == [["s", [(entry_id, {"é": "ü"})]]]
    await rs.xgroup_create("s", "g", "0")
    assert await rs.xreadgroup("g", "c", {"s": ">"}) == [["s", [(entry_id, {"é": "ü"})]]]
    assert await rs.xpending("s", "g") == {
        "pending": 1,
        "min": entry_id,
        "max": entry_id,
        "consumers": [{"name": "c", "pending": 1}],
    }
    (detail,) = await rs.xpending_range("s", "g", "-", "+", 1)
    assert (detail["message_id"], detail["consumer"]) == (entry_id, "c")
    assert await rs.xclaim("s", "g", "d", 0, entry_id) == [(entry_id, {"é": "ü"})]
    assert await rs.xautoclaim("s", "g", "e", 0, justid=True) == [entry_id]
    info = await rs.xinfo_stream("s")
    assert info["first-entry"] == (entry_id, {"é": "ü"})
    assert (await rs.xinfo_groups("s"))[0]["name"] == "g"


# -- redis-py's XGROUP SETID, XINFO CONSUMERS, XINFO STREAM FULL; its argument shapes -------------


async def check_redis_py_stream_commands(c: Any, s: str) -> None:
    """redis-py's stream calls, positional options included, on ``c``."""
    # xadd(name, fields, id, maxlen, approximate, nomkstream, minid, limit)
    for i in range(1, 5):
        await c.xadd(s, {"n": i}, f"{i}-0", 10, False)
    assert await c.xadd(s + ":none", {"n": 1}, "*", None, True, True) is None  # nomkstream
    assert await c.xtrim(s, 3, False) == 1  # xtrim(name, maxlen, approximate)
    await c.xgroup_create(s, "g", "0", False)  # xgroup_create(name, groupname, id, mkstream)
    read = await c.xreadgroup("g", "alice", {s: ">"}, 1, None, False)
    for stream, entries in read:  # redis-py's [[stream, entries]] shape
        assert stream == s.encode()
        assert entries == [(b"2-0", {b"n": b"2"})]
    await c.xreadgroup("g", "bob", {s: ">"}, None, None, True)  # noack, positionally
    consumers = await c.xinfo_consumers(s, "g")
    assert [(x["name"], x["pending"]) for x in consumers] == [(b"alice", 1), (b"bob", 0)]
    assert all(isinstance(x["idle"], int) for x in consumers)
    claimed = await c.xclaim(s, "g", "bob", 0, message_ids=["2-0"])  # redis-py's name
    assert claimed == [(b"2-0", {b"n": b"2"})]
    assert await c.xclaim(s, "g", "alice", 0, ["2-0"], None, None, None, False, True) == [b"2-0"]
    assert await c.xgroup_setid(s, "g", "0") is True
    assert await c.xgroup_setid(s, "g", "3-0", entries_read=2) is True
    (group,) = await c.xinfo_groups(s)
    assert (group["last-delivered-id"], group["entries-read"], group["lag"]) == (
        b"3-0",
        2,
        2,
    )  # 4 added - 2 read
    full = await c.xinfo_stream(s, full=True)
    assert full["length"] == 3
    assert full["entries"] == {b"2-0": {b"n": b"2"}, b"3-0": {b"n": b"3"}, b"4-0": {b"n": b"4"}}
    (full_group,) = full["groups"]
    assert full_group["name"] == b"g"
    assert {x["name"] for x in full_group["consumers"]} == {b"alice", b"bob"}
    assert (await c.xinfo_stream(s))["first-entry"] == (b"2-0", {b"n": b"2"})
    # The failure side: a missing group, a key of another type.
    with pytest.raises(ReplyError, match="NOGROUP"):
        await c.xgroup_setid(s, "nogroup", "0")
    with pytest.raises(ReplyError, match="NOGROUP"):
        await c.xinfo_consumers(s, "nogroup")
    await c.set(s + ":str", "v")
    with pytest.raises(ReplyError, match="WRONGTYPE"):
        await c.xinfo_stream(s + ":str", full=True)


async def test_redis_py_stream_commands_on_a_client(r: Client) -> None:
    await check_redis_py_stream_commands(r, "s")
    async with r.pipeline() as p:
        p.xgroup_setid("s", "g", "$").xinfo_consumers("s", "g").xinfo_stream("s", True)
        setid, consumers, full = await p.execute()
    assert setid is True
    assert len(consumers) == 2
    assert set(full["entries"]) == {b"2-0", b"3-0", b"4-0"}


async def test_redis_py_stream_commands_on_the_cluster(redis_cluster: RedisCluster) -> None:
    async with ClusterClient.from_url(redis_cluster.startup_url) as cc:
        await check_redis_py_stream_commands(cc, "{streams}s")
        with pytest.raises(CrossSlotError):
            await cc.xread({"{a}s": "0", "{b}s": "0"})


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda c: c.xgroup_setid("s", "g", "0", entries_read=-1), ValueError, "entries_read"),
        (lambda c: c.xclaim("s", "g", "c", 0), TypeError, "missing the argument message_ids"),
        (lambda c: c.xclaim("s", "g", "c", 0, ["1-0"], ids=["1-0"]), ValueError, "not both"),
        (lambda c: c.xadd("s", {"f": "v"}, "*", 10, True, False, "1-0"), ValueError, "maxlen"),
    ],
    ids=["entries-read", "no-ids", "both-ids", "maxlen-and-minid"],
)
async def test_redis_py_stream_arguments_are_checked_before_sending(
    r: Client, call: Any, error: type[Exception], match: str
) -> None:
    before = r.pool.stats().acquired
    with pytest.raises(error, match=match):
        call(r)
    assert r.pool.stats().acquired == before
