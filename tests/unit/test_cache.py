"""The client-side cache as a data structure: LRU, bounds, the in-flight race, ttl."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiopool._cache import CACHEABLE, Cache, CacheOptions, CacheStats
from aiopool._command_table import KEY_POSITIONS, MOVABLE_KEYS, READ_ONLY
from aiopool._keys import command_keys, key_bytes

MISSING = Cache.MISSING


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def read(cache: Cache, key: bytes, keys: tuple[bytes, ...], reply: Any, tag: object = None) -> Any:
    """A miss that completes at once: look up, register, store."""
    assert cache.lookup(key) is MISSING
    pending = cache.begin(key, keys, tag)
    cache.finish(pending, reply)
    return reply


# -- options -------------------------------------------------------------------------------


def test_options_have_the_documented_defaults() -> None:
    options = CacheOptions()
    assert (options.max_entries, options.max_bytes, options.ttl) == (10_000, 64 * 1024**2, 60.0)
    with pytest.raises(AttributeError):
        options.ttl = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_entries", 0),
        ("max_entries", True),
        ("max_entries", 1.5),
        ("max_bytes", -1),
        ("max_bytes", "1"),
        ("ttl", 0),
        ("ttl", -1.0),
        ("ttl", float("nan")),
        ("ttl", float("inf")),
        ("ttl", True),
        ("ttl", "60"),
    ],
)
def test_bad_options_raise_naming_the_option(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=rf"option cache\.{field} must be"):
        CacheOptions(**{field: value})  # type: ignore[arg-type]


def test_ttl_none_is_allowed() -> None:
    assert CacheOptions(ttl=None).ttl is None


# -- what is cacheable -------------------------------------------------------------------


def test_every_cacheable_command_is_readonly_and_has_keys() -> None:
    assert sorted(CACHEABLE - READ_ONLY) == []
    # command_keys knows where each one's keys are (a fixed position, or a numkeys rule)
    for name in sorted(CACHEABLE):
        assert name in KEY_POSITIONS or name in MOVABLE_KEYS, name
        assert command_keys((name, 1, "a", "b")) != [], name


@pytest.mark.parametrize(
    "name",
    [
        "srandmember",
        "hrandfield",
        "zrandmember",
        "randomkey",
        "ttl",
        "pttl",
        "expiretime",
        "object|idletime",
        "object|freq",
        "memory|usage",
        "scan",
        "hscan",
        "keys",
        "dbsize",
        "sort_ro",
        "eval_ro",
        "fcall_ro",
        "xread",
        "blpop",
        "touch",
        "pfcount",
        "set",
        "hset",
    ],
)
def test_reads_that_depend_on_more_than_their_keys_are_not_cacheable(name: str) -> None:
    assert name not in CACHEABLE


def test_multi_key_reads_are_linked_to_every_key() -> None:
    assert command_keys(("SINTER", "a", "b", "c")) == ["a", "b", "c"]
    assert command_keys(("ZINTERCARD", 2, "a", "b")) == ["a", "b"]
    assert command_keys(("MGET", "a", "b")) == ["a", "b"]


def test_key_bytes_matches_the_encoder() -> None:
    assert key_bytes("k") == b"k"
    assert key_bytes("é") == "é".encode()
    assert key_bytes(b"k") == b"k"
    assert key_bytes(memoryview(b"k")) == b"k"
    assert key_bytes(12) == b"12"
    assert key_bytes(1.5) == b"1.5"


# -- hits, misses, copies ----------------------------------------------------------------


def test_a_stored_reply_is_a_hit_and_counts() -> None:
    cache = Cache()
    read(cache, b"GET k", (b"k",), b"v")
    assert cache.lookup(b"GET k") == b"v"
    stats = cache.stats()
    assert isinstance(stats, CacheStats)
    assert (stats.hits, stats.misses, stats.entries, stats.pending) == (1, 1, 1, 0)
    assert stats.bytes > len(b"GET k")
    assert stats.hit_ratio == 0.5
    assert "entries=1/10000" in repr(cache)


def test_commands_differing_in_one_argument_never_share_an_entry() -> None:
    cache = Cache()
    read(cache, b"HGET h f1", (b"h",), b"one")
    assert cache.lookup(b"HGET h f2") is MISSING
    read(cache, b"HGET h f2", (b"h",), b"two")
    assert cache.lookup(b"HGET h f1") == b"one"
    assert cache.lookup(b"HGET h f2") == b"two"


def test_a_hit_hands_out_a_copy_the_caller_may_mutate() -> None:
    cache = Cache()
    reply: list[Any] = [b"a", [b"b", {b"c": [b"d"]}]]
    read(cache, b"X", (b"k",), reply)
    reply.append(b"mutated by the first caller")
    first = cache.lookup(b"X")
    assert first == [b"a", [b"b", {b"c": [b"d"]}]]
    first[1][1][b"c"].append(b"e")
    first.clear()
    assert cache.lookup(b"X") == [b"a", [b"b", {b"c": [b"d"]}]]
    read(cache, b"H", (b"h",), {b"f": b"v"})
    got = cache.lookup(b"H")
    got[b"g"] = b"w"
    assert cache.lookup(b"H") == {b"f": b"v"}
    read(cache, b"S", (b"s",), {b"m"})
    members = cache.lookup(b"S")
    members.add(b"n")
    assert cache.lookup(b"S") == {b"m"}


# -- invalidation --------------------------------------------------------------------------


def test_invalidating_a_key_drops_every_entry_that_read_it() -> None:
    cache = Cache()
    read(cache, b"MGET a b", (b"a", b"b"), [b"1", b"2"])
    read(cache, b"GET a", (b"a",), b"1")
    read(cache, b"GET b", (b"b",), b"2")
    read(cache, b"GET c", (b"c",), b"3")
    cache.on_push([b"invalidate", [b"a"]])
    assert cache.lookup(b"MGET a b") is MISSING
    assert cache.lookup(b"GET a") is MISSING
    assert cache.lookup(b"GET b") == b"2"
    assert cache.lookup(b"GET c") == b"3"
    assert cache.stats().invalidations == 2
    cache.check()


def test_str_keys_under_decode_responses_invalidate_bytes_entries() -> None:
    cache = Cache()
    read(cache, b"GET k\xc3\xa9", ("ké".encode(),), "v")
    cache.on_push(["invalidate", ["ké"]])
    assert cache.lookup(b"GET k\xc3\xa9") is MISSING


def test_a_null_invalidation_flushes_everything() -> None:
    cache = Cache()
    for i in range(5):
        read(cache, b"GET %d" % i, (b"%d" % i,), b"v")
    cache.on_push([b"invalidate", None])
    assert len(cache) == 0
    assert cache.stats().flushes == 1
    cache.check()


def test_other_push_frames_leave_the_cache_alone() -> None:
    cache = Cache()
    read(cache, b"GET k", (b"k",), b"v")
    cache.on_push([b"message", b"chan", b"data"])
    cache.on_push([])
    assert cache.lookup(b"GET k") == b"v"


# -- the race: reads in flight ---------------------------------------------------------------


def test_a_read_invalidated_in_flight_is_returned_but_never_stored() -> None:
    cache = Cache()
    pending = cache.begin(b"GET k", (b"k",))
    cache.on_push([b"invalidate", [b"k"]])  # arrived before our (old) reply was stored
    cache.finish(pending, b"old")
    assert cache.lookup(b"GET k") is MISSING
    assert cache.stats().stale_skips == 1
    assert cache.stats().pending == 0


def test_an_invalidation_of_any_key_of_a_multi_key_read_makes_it_stale() -> None:
    cache = Cache()
    pending = cache.begin(b"MGET a b", (b"a", b"b"))
    cache.invalidate([b"b"])
    cache.finish(pending, [b"1", b"old"])
    assert cache.lookup(b"MGET a b") is MISSING


def test_an_invalidation_of_another_key_does_not_make_a_read_stale() -> None:
    cache = Cache()
    pending = cache.begin(b"GET k", (b"k",))
    cache.invalidate([b"other"])
    cache.finish(pending, b"v")
    assert cache.lookup(b"GET k") == b"v"


@pytest.mark.parametrize("how", ["flush", "lost", "lost_tagged", "clear_push"])
def test_a_flush_or_lost_connection_makes_every_read_in_flight_stale(how: str) -> None:
    cache = Cache()
    first = cache.begin(b"GET a", (b"a",), tag="conn1")
    second = cache.begin(b"GET b", (b"b",), tag="conn2")
    if how == "flush":
        cache.flush()
    elif how == "lost":
        cache.connection_lost()
    elif how == "lost_tagged":
        cache.connection_lost("conn1")
    else:
        cache.on_push([b"invalidate", None])
    cache.finish(first, b"1")
    cache.finish(second, b"2")
    assert len(cache) == 0
    assert cache.stats().stale_skips == 2
    later = cache.begin(b"GET a", (b"a",))
    cache.finish(later, b"1")
    assert cache.lookup(b"GET a") == b"1"


def test_a_lost_connection_drops_what_it_and_unknown_connections_read() -> None:
    cache = Cache()
    read(cache, b"GET a", (b"a",), b"1", tag="conn1")
    read(cache, b"GET b", (b"b",), b"2", tag="conn2")
    read(cache, b"GET c", (b"c",), b"3", tag=None)
    cache.connection_lost("conn1")
    assert cache.lookup(b"GET a") is MISSING
    assert cache.lookup(b"GET c") is MISSING
    assert cache.lookup(b"GET b") == b"2"
    cache.check()


def test_an_abandoned_read_leaves_nothing_behind() -> None:
    cache = Cache()
    pending = cache.begin(b"GET k", (b"k",))
    cache.abandon(pending)  # cancelled or failed
    assert cache.stats().pending == 0
    assert cache._pending == {}
    assert cache.lookup(b"GET k") is MISSING
    again = cache.begin(b"GET k", (b"k",))
    cache.finish(again, b"v")
    assert cache.lookup(b"GET k") == b"v"


def test_concurrent_misses_of_one_command_store_the_last_reply_once() -> None:
    cache = Cache()
    first = cache.begin(b"GET k", (b"k",))
    second = cache.begin(b"GET k", (b"k",))
    cache.finish(first, b"v1")
    cache.finish(second, b"v2")
    assert len(cache) == 1
    assert cache.lookup(b"GET k") == b"v2"
    cache.check()


# -- ttl -------------------------------------------------------------------------------------


def test_an_entry_older_than_ttl_is_never_served() -> None:
    clock = Clock()
    cache = Cache(CacheOptions(ttl=10.0), clock=clock)
    read(cache, b"GET k", (b"k",), b"v")
    clock.now += 9.999
    assert cache.lookup(b"GET k") == b"v"
    clock.now += 0.001
    assert cache.lookup(b"GET k") is MISSING
    assert cache.stats().expirations == 1
    assert len(cache) == 0


def test_ttl_counts_from_when_the_read_was_sent() -> None:
    clock = Clock()
    cache = Cache(CacheOptions(ttl=10.0), clock=clock)
    pending = cache.begin(b"GET k", (b"k",))
    clock.now += 8.0  # a slow reply
    cache.finish(pending, b"v")
    clock.now += 2.0
    assert cache.lookup(b"GET k") is MISSING


def test_ttl_none_keeps_entries_until_invalidated() -> None:
    clock = Clock()
    cache = Cache(CacheOptions(ttl=None), clock=clock)
    read(cache, b"GET k", (b"k",), b"v")
    clock.now += 1e9
    assert cache.lookup(b"GET k") == b"v"


# -- bounds ----------------------------------------------------------------------------------


def test_the_least_recently_used_entry_goes_first() -> None:
    cache = Cache(CacheOptions(max_entries=2))
    read(cache, b"GET a", (b"a",), b"1")
    read(cache, b"GET b", (b"b",), b"2")
    assert cache.lookup(b"GET a") == b"1"  # b is now the least recently used
    read(cache, b"GET c", (b"c",), b"3")
    assert cache.lookup(b"GET b") is MISSING
    assert cache.lookup(b"GET a") == b"1"
    assert cache.lookup(b"GET c") == b"3"
    assert cache.stats().evictions == 1
    cache.check()


def test_max_bytes_evicts_and_a_reply_too_large_alone_is_not_stored() -> None:
    cache = Cache(CacheOptions(max_bytes=200))
    read(cache, b"GET a", (b"a",), b"x" * 100)
    read(cache, b"GET b", (b"b",), b"y" * 100)  # does not fit beside a
    assert cache.lookup(b"GET a") is MISSING
    assert cache.lookup(b"GET b") == b"y" * 100
    read(cache, b"GET c", (b"c",), b"z" * 500)
    assert cache.lookup(b"GET c") is MISSING
    assert cache.lookup(b"GET b") == b"y" * 100
    stats = cache.stats()
    assert (stats.too_large, stats.evictions) == (1, 1)
    assert stats.bytes <= 200
    cache.check()


_KEYS = [b"k%d" % i for i in range(12)]
_op = st.one_of(
    st.tuples(
        st.just("read"),
        st.lists(st.sampled_from(_KEYS), min_size=1, max_size=3),
        st.integers(0, 3),
        st.integers(0, 300),
    ),
    st.tuples(st.just("finish_later"), st.lists(st.sampled_from(_KEYS), min_size=1, max_size=2)),
    st.tuples(st.just("complete"), st.integers(0, 10)),
    st.tuples(st.just("abandon"), st.integers(0, 10)),
    st.tuples(st.just("invalidate"), st.lists(st.sampled_from(_KEYS), max_size=3)),
    st.tuples(st.just("flush")),
    st.tuples(st.just("lost"), st.sampled_from(["c1", "c2", None])),
    st.tuples(st.just("lookup"), st.lists(st.sampled_from(_KEYS), min_size=1, max_size=3)),
    st.tuples(st.just("tick"), st.floats(0, 5)),
)


@settings(max_examples=300, deadline=None)
@given(
    ops=st.lists(_op, max_size=80),
    max_entries=st.integers(1, 8),
    max_bytes=st.integers(1, 600),
)
def test_bounds_index_and_freshness_hold_under_any_sequence(
    ops: list[tuple[Any, ...]], max_entries: int, max_bytes: int
) -> None:
    """A model: the value each key had when the read was sent; no entry may outlive a change."""
    clock = Clock()
    cache = Cache(CacheOptions(max_entries=max_entries, max_bytes=max_bytes, ttl=7.0), clock=clock)
    version = dict.fromkeys(_KEYS, 0)  # the server's value of each key
    in_flight: list[tuple[Any, list[int]]] = []
    for op in ops:
        kind = op[0]
        if kind == "read":
            keys = tuple(dict.fromkeys(op[1]))
            key = b"MGET " + b" ".join(keys) + b" %d" % op[2]
            pending = cache.begin(key, keys, tag=["c1", "c2", None][op[2] % 3])
            cache.finish(pending, [version[k] for k in keys] + [b"p" * op[3]])
        elif kind == "finish_later":
            keys = tuple(dict.fromkeys(op[1]))
            key = b"MGET " + b" ".join(keys)
            in_flight.append((cache.begin(key, keys), [version[k] for k in keys]))
        elif kind in ("complete", "abandon") and in_flight:
            pending, reply = in_flight.pop(op[1] % len(in_flight))
            if kind == "complete":
                cache.finish(pending, reply)
            else:
                cache.abandon(pending)
        elif kind == "invalidate":
            for k in op[1]:
                version[k] += 1  # the server changed it, then pushed the invalidation
            cache.invalidate(op[1])
        elif kind == "flush":
            for k in _KEYS:
                version[k] += 1
            cache.flush()
        elif kind == "lost":
            cache.connection_lost(op[1])
        elif kind == "lookup":
            keys = tuple(dict.fromkeys(op[1]))
            got = cache.lookup(b"MGET " + b" ".join(keys))
            if got is not MISSING:
                assert got[: len(keys)] == [version[k] for k in keys], "a stale value was served"
        elif kind == "tick":
            clock.now += op[1]
        cache.check()
        assert cache.stats().pending == len(in_flight)
    for entry in cache._entries.values():
        assert entry.expires > clock.now - 7.0 - 1e-9
    for pending, _ in in_flight:
        cache.abandon(pending)
    assert cache._pending == {}
    assert cache.stats().pending == 0
