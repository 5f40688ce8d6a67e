"""Argument building and reply transforms of the stream, bitmap and HyperLogLog commands."""

from __future__ import annotations

import datetime
from typing import Any, cast

import pytest

from aiopool import _commands as cmd
from aiopool._protocol import blocking_timeout

xs = cmd.streams
bits = cmd.bits

UTC = datetime.UTC


def transformed(command: cmd.Command[Any], reply: Any) -> Any:
    assert command[1] is not None
    return command[1](reply)


# -- XADD / XTRIM ----------------------------------------------------------------------


def test_xadd_puts_options_before_the_id_and_fields_after() -> None:
    assert xs.xadd("s", {"a": 1, "b": "x"})[0] == ("XADD", "s", "*", "a", 1, "b", "x")
    assert xs.xadd("s", {"a": 1}, "5-1")[0] == ("XADD", "s", "5-1", "a", 1)
    assert xs.xadd("s", {"a": 1}, maxlen=10, nomkstream=True)[0] == (
        "XADD",
        "s",
        "NOMKSTREAM",
        "MAXLEN",
        "~",
        10,
        "*",
        "a",
        1,
    )


@pytest.mark.parametrize(
    ("options", "trim"),
    [
        ({"maxlen": 10}, ("MAXLEN", "~", 10)),
        ({"maxlen": 10, "approximate": False}, ("MAXLEN", 10)),
        ({"maxlen": 0}, ("MAXLEN", "~", 0)),
        ({"minid": "5-0"}, ("MINID", "~", "5-0")),
        ({"minid": 5, "approximate": False}, ("MINID", 5)),
        ({"maxlen": 10, "limit": 100}, ("MAXLEN", "~", 10, "LIMIT", 100)),
    ],
    ids=["maxlen", "maxlen-exact", "maxlen-zero", "minid", "minid-exact", "limit"],
)
def test_trim_options_become_arguments_of_xadd_and_xtrim(
    options: dict[str, Any], trim: tuple[Any, ...]
) -> None:
    assert xs.xadd("s", {"f": "v"}, **options)[0] == ("XADD", "s", *trim, "*", "f", "v")
    assert xs.xtrim("s", **options)[0] == ("XTRIM", "s", *trim)


def test_xtrim_takes_maxlen_positionally() -> None:
    assert xs.xtrim("s", 5)[0] == ("XTRIM", "s", "MAXLEN", "~", 5)


@pytest.mark.parametrize("builder", [xs.xadd, xs.xtrim])
def test_maxlen_and_minid_are_mutually_exclusive(builder: Any) -> None:
    extra = ({"f": "v"},) if builder is xs.xadd else ()
    with pytest.raises(ValueError, match="got maxlen, minid"):
        builder("s", *extra, maxlen=1, minid="1-0")


@pytest.mark.parametrize("builder", [xs.xadd, xs.xtrim])
def test_limit_with_exact_trimming_raises_value_error(builder: Any) -> None:
    extra = ({"f": "v"},) if builder is xs.xadd else ()
    with pytest.raises(ValueError, match="limit needs approximate=True"):
        builder("s", *extra, maxlen=1, approximate=False, limit=10)


def test_xadd_limit_without_trimming_raises_value_error() -> None:
    with pytest.raises(ValueError, match="limit only applies when trimming"):
        xs.xadd("s", {"f": "v"}, limit=10)


def test_xtrim_without_maxlen_or_minid_raises_value_error() -> None:
    with pytest.raises(ValueError, match=r"xtrim\(\) needs maxlen or minid"):
        xs.xtrim("s")


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"maxlen": -1}, ValueError, "maxlen must be an int >= 0"),
        ({"maxlen": "10"}, TypeError, "maxlen must be an int"),
        ({"maxlen": 1, "limit": -1}, ValueError, "limit must be an int >= 0"),
    ],
)
def test_xadd_bad_trim_values_raise_naming_the_argument(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        xs.xadd("s", {"f": "v"}, **options)


def test_xadd_needs_a_non_empty_mapping_of_fields() -> None:
    with pytest.raises(ValueError, match="non-empty fields mapping"):
        xs.xadd("s", {})
    with pytest.raises(TypeError, match="takes a mapping"):
        xs.xadd("s", [("f", "v")])  # type: ignore[arg-type]


# -- XRANGE / XREVRANGE / XDEL -----------------------------------------------------------


def test_xrange_and_xrevrange_order_their_bounds_as_redis_does() -> None:
    assert xs.xrange("s")[0] == ("XRANGE", "s", "-", "+")
    assert xs.xrange("s", "1-0", "(5-0", count=3)[0] == ("XRANGE", "s", "1-0", "(5-0", "COUNT", 3)
    assert xs.xrevrange("s")[0] == ("XREVRANGE", "s", "+", "-")
    assert xs.xrevrange("s", "5-0", "1-0", 2)[0] == ("XREVRANGE", "s", "5-0", "1-0", "COUNT", 2)


@pytest.mark.parametrize("builder", [xs.xrange, xs.xrevrange])
def test_range_count_must_be_positive(builder: Any) -> None:
    with pytest.raises(ValueError, match="count must be a positive int"):
        builder("s", count=0)


@pytest.mark.parametrize("decoded", [False, True], ids=["bytes", "str"])
def test_xrange_reply_becomes_id_and_fields_dict_pairs(decoded: bool) -> None:
    def b(text: str) -> Any:
        return text if decoded else text.encode()

    reply = [[b("1-0"), [b("a"), b("1"), b("b"), b("2")]], [b("2-0"), [b("c"), b("3")]]]
    assert transformed(xs.xrange("s"), reply) == [
        (b("1-0"), {b("a"): b("1"), b("b"): b("2")}),
        (b("2-0"), {b("c"): b("3")}),
    ]
    assert transformed(xs.xrange("s"), []) == []


def test_xdel_and_xack_need_an_id() -> None:
    assert xs.xdel("s", "1-0", "2-0")[0] == ("XDEL", "s", "1-0", "2-0")
    assert xs.xack("s", "g", "1-0")[0] == ("XACK", "s", "g", "1-0")
    with pytest.raises(ValueError, match=r"xdel\(\) needs at least one entry ID"):
        xs.xdel("s")
    with pytest.raises(ValueError, match=r"xack\(\) needs at least one entry ID"):
        xs.xack("s", "g")


# -- XREAD / XREADGROUP ------------------------------------------------------------------


def test_xread_puts_count_and_block_before_streams_then_keys_then_ids() -> None:
    command = xs.xread({"a": "0", b"b": "$"}, count=5, block=100)
    assert command[0] == ("XREAD", "COUNT", 5, "BLOCK", 100, "STREAMS", "a", b"b", "0", "$")
    assert xs.xread({"a": 0})[0] == ("XREAD", "STREAMS", "a", 0)


def test_xread_block_accepts_a_timedelta_and_zero() -> None:
    assert xs.xread({"a": "$"}, block=datetime.timedelta(seconds=1.5))[0][1:3] == ("BLOCK", 1500)
    assert xs.xread({"a": "$"}, block=0)[0][1:3] == ("BLOCK", 0)


@pytest.mark.parametrize(
    ("delta", "millis"),
    [
        (datetime.timedelta(milliseconds=1001), 1001),
        (datetime.timedelta(microseconds=1), 1),
        (datetime.timedelta(microseconds=1500), 2),
    ],
    ids=["float-inexact", "below-a-millisecond", "fraction"],
)
def test_block_timedelta_is_exact_and_a_sub_millisecond_wait_does_not_block_for_ever(
    delta: datetime.timedelta, millis: int
) -> None:
    assert xs.xread({"a": "$"}, block=delta)[0][1:3] == ("BLOCK", millis)
    assert xs.xclaim("s", "g", "c", delta, "1-0")[0][4] == millis


@pytest.mark.parametrize(
    ("block", "expected"),
    [(2000, 12.0), (0, None), (None, 10.0)],
    ids=["block-2s", "block-for-ever", "no-block"],
)
def test_xread_and_xreadgroup_blocking_time_is_found_by_the_connection(
    block: int | None, expected: float | None
) -> None:
    read = xs.xread({"s": "$"}, count=1, block=block)
    group = xs.xreadgroup("g", "c", {"s": ">"}, count=1, block=block, noack=True)
    assert blocking_timeout(read[0], 10.0) == expected
    assert blocking_timeout(group[0], 10.0) == expected


def test_xreadgroup_arguments_follow_redis_order() -> None:
    command = xs.xreadgroup("g", "c", {"s": ">"}, count=2, block=10, noack=True)
    assert command[0] == (
        "XREADGROUP",
        "GROUP",
        "g",
        "c",
        "COUNT",
        2,
        "BLOCK",
        10,
        "NOACK",
        "STREAMS",
        "s",
        ">",
    )
    assert xs.xreadgroup("g", "c", {"s": "0"})[0] == (
        "XREADGROUP",
        "GROUP",
        "g",
        "c",
        "STREAMS",
        "s",
        "0",
    )


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: xs.xread({}), ValueError, "needs a non-empty streams mapping"),
        (lambda: xs.xread(cast(Any, ["s"])), TypeError, "takes streams as a mapping"),
        (lambda: xs.xread({"s": "$"}, block=-1), ValueError, "block must be >= 0 milliseconds"),
        (
            lambda: xs.xread({"s": "$"}, block=cast(Any, 1.5)),
            TypeError,
            "block must be an int of millis",
        ),
        (lambda: xs.xread({"s": "$"}, count=0), ValueError, "count must be a positive int"),
        (lambda: xs.xreadgroup("g", "c", {}), ValueError, "xreadgroup.. needs a non-empty"),
        (lambda: xs.xreadgroup("g", "c", {"s": ">"}, block=True), TypeError, "block must be"),
    ],
    ids=[
        "empty-streams",
        "streams-list",
        "negative-block",
        "float-block",
        "zero-count",
        "group-empty-streams",
        "bool-block",
    ],
)
def test_read_argument_errors_name_the_argument(
    call: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call()


def test_xread_reply_keeps_redis_py_list_per_stream_and_nil_becomes_empty() -> None:
    command = xs.xread({"s": "0"})
    reply = [[b"s", [[b"1-0", [b"f", b"v"]]]], [b"t", [[b"2-0", [b"g", b"w"]]]]]
    assert transformed(command, reply) == [
        [b"s", [(b"1-0", {b"f": b"v"})]],
        [b"t", [(b"2-0", {b"g": b"w"})]],
    ]
    assert transformed(command, None) == []


def test_xreadgroup_history_entry_with_nil_fields_becomes_none() -> None:
    reply = [["s", [["1-0", None], ["2-0", ["b", "2"]]]]]
    assert transformed(xs.xreadgroup("g", "c", {"s": "0"}), reply) == [
        ["s", [("1-0", None), ("2-0", {"b": "2"})]]
    ]


# -- consumer groups ---------------------------------------------------------------------


def test_xgroup_commands_build_their_subcommands() -> None:
    assert xs.xgroup_create("s", "g")[0] == ("XGROUP", "CREATE", "s", "g", "$")
    assert xs.xgroup_create("s", "g", "0", mkstream=True, entries_read=3)[0] == (
        "XGROUP",
        "CREATE",
        "s",
        "g",
        "0",
        "MKSTREAM",
        "ENTRIESREAD",
        3,
    )
    assert xs.xgroup_destroy("s", "g")[0] == ("XGROUP", "DESTROY", "s", "g")
    assert xs.xgroup_createconsumer("s", "g", "c")[0] == (
        "XGROUP",
        "CREATECONSUMER",
        "s",
        "g",
        "c",
    )
    assert xs.xgroup_delconsumer("s", "g", "c")[0] == ("XGROUP", "DELCONSUMER", "s", "g", "c")
    assert transformed(xs.xgroup_create("s", "g"), b"OK") is True
    assert transformed(xs.xgroup_destroy("s", "g"), 0) is False
    assert transformed(xs.xgroup_createconsumer("s", "g", "c"), 1) is True


def test_xgroup_create_entries_read_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="entries_read must be an int >= 0"):
        xs.xgroup_create("s", "g", entries_read=-1)


def test_xpending_summary_becomes_a_dict_and_an_empty_one_has_none_bounds() -> None:
    command = xs.xpending("s", "g")
    reply = [3, b"1-0", b"3-0", [[b"alice", b"2"], [b"bob", b"1"]]]
    assert transformed(command, reply) == {
        "pending": 3,
        "min": b"1-0",
        "max": b"3-0",
        "consumers": [{"name": b"alice", "pending": 2}, {"name": b"bob", "pending": 1}],
    }
    assert transformed(command, [0, None, None, None]) == {
        "pending": 0,
        "min": None,
        "max": None,
        "consumers": [],
    }


def test_xpending_range_puts_idle_first_and_consumer_last() -> None:
    assert xs.xpending_range("s", "g", "-", "+", 10)[0] == ("XPENDING", "s", "g", "-", "+", 10)
    command = xs.xpending_range("s", "g", "-", "+", 10, consumername="c", idle=500)
    assert command[0] == ("XPENDING", "s", "g", "IDLE", 500, "-", "+", 10, "c")
    assert transformed(command, [["1-0", "c", 1200, 2]]) == [
        {"message_id": "1-0", "consumer": "c", "time_since_delivered": 1200, "times_delivered": 2}
    ]


def test_xpending_range_count_must_be_positive() -> None:
    with pytest.raises(ValueError, match="count must be a positive int"):
        xs.xpending_range("s", "g", "-", "+", 0)


# -- XCLAIM / XAUTOCLAIM -----------------------------------------------------------------


def test_xclaim_options_follow_the_ids() -> None:
    assert xs.xclaim("s", "g", "c", 1000, ["1-0", "2-0"])[0] == (
        "XCLAIM",
        "s",
        "g",
        "c",
        1000,
        "1-0",
        "2-0",
    )
    assert xs.xclaim("s", "g", "c", datetime.timedelta(seconds=2), "1-0")[0] == (
        "XCLAIM",
        "s",
        "g",
        "c",
        2000,
        "1-0",
    )
    command = xs.xclaim("s", "g", "c", 0, ("1-0",), idle=5, retrycount=3, force=True, justid=True)
    assert command[0] == (
        "XCLAIM",
        "s",
        "g",
        "c",
        0,
        "1-0",
        "IDLE",
        5,
        "RETRYCOUNT",
        3,
        "FORCE",
        "JUSTID",
    )
    assert command[1] is None
    deadline = datetime.datetime(2030, 1, 1, tzinfo=UTC)
    assert xs.xclaim("s", "g", "c", 0, "1-0", time=deadline)[0][-2:] == (
        "TIME",
        1893456000000,
    )


def test_xclaim_argument_errors() -> None:
    with pytest.raises(ValueError, match=r"xclaim\(\) needs at least one entry ID"):
        xs.xclaim("s", "g", "c", 0, [])
    with pytest.raises(ValueError, match="got idle, time"):
        xs.xclaim("s", "g", "c", 0, "1-0", idle=1, time=1)
    with pytest.raises(ValueError, match="min_idle_time must be >= 0"):
        xs.xclaim("s", "g", "c", -1, "1-0")


def test_xclaim_reply_tolerates_entries_without_fields() -> None:
    reply = [[b"1-0", None], [b"2-0", [b"f", b"v"]]]
    assert transformed(xs.xclaim("s", "g", "c", 0, ["1-0", "2-0"]), reply) == [
        (b"1-0", None),
        (b"2-0", {b"f": b"v"}),
    ]


def test_xautoclaim_arguments_and_reply() -> None:
    command = xs.xautoclaim("s", "g", "c", 100)
    assert command[0] == ("XAUTOCLAIM", "s", "g", "c", 100, "0-0")
    reply = [b"5-0", [[b"1-0", [b"f", b"v"]], [b"2-0", None]], [b"3-0"]]
    assert transformed(command, reply) == [  # a list, as redis-py's
        b"5-0",
        [(b"1-0", {b"f": b"v"}), (b"2-0", None)],
        [b"3-0"],
    ]
    # Redis 6.2 sends no list of deleted IDs.
    assert transformed(command, [b"0-0", []]) == [b"0-0", [], []]

    ids_only = xs.xautoclaim("s", "g", "c", 100, "1-0", count=5, justid=True)
    assert ids_only[0] == ("XAUTOCLAIM", "s", "g", "c", 100, "1-0", "COUNT", 5, "JUSTID")
    # Only the claimed IDs, as redis-py's justid result.
    assert transformed(ids_only, ["0-0", ["1-0", "2-0"], []]) == ["1-0", "2-0"]


# -- XINFO -----------------------------------------------------------------------------


def test_xinfo_stream_parses_first_and_last_entries_with_str_keys() -> None:
    reply = [
        *(b"length", 2, b"last-generated-id", b"2-0"),
        *(b"first-entry", [b"1-0", [b"a", b"1"]], b"last-entry", [b"2-0", [b"b", b"2"]]),
    ]
    assert transformed(xs.xinfo_stream("s"), reply) == {
        "length": 2,
        "last-generated-id": b"2-0",
        "first-entry": (b"1-0", {b"a": b"1"}),
        "last-entry": (b"2-0", {b"b": b"2"}),
    }
    empty = ["length", 0, "first-entry", None, "last-entry", None]
    assert transformed(xs.xinfo_stream("s"), empty) == {
        "length": 0,
        "first-entry": None,
        "last-entry": None,
    }


def test_xinfo_groups_gives_one_str_keyed_dict_per_group() -> None:
    reply = [[b"name", b"g", b"consumers", 1, b"entries-read", None]]
    assert transformed(xs.xinfo_groups("s"), reply) == [
        {"name": b"g", "consumers": 1, "entries-read": None}
    ]


# -- bitmaps -----------------------------------------------------------------------------


def test_setbit_and_getbit_arguments() -> None:
    assert bits.setbit("k", 7, 1)[0] == ("SETBIT", "k", 7, 1)
    assert bits.getbit("k", 7)[0] == ("GETBIT", "k", 7)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: bits.setbit("k", 0, 2), ValueError, "value must be 0 or 1, got 2"),
        (lambda: bits.setbit("k", 0, 2), ValueError, "value must be 0 or 1"),
        (lambda: bits.setbit("k", -1, 1), ValueError, "offset must be an int >= 0"),
        (lambda: bits.getbit("k", cast(Any, "3")), TypeError, "offset must be an int"),
        (lambda: bits.bitpos("k", 5), ValueError, "bit must be 0 or 1, got 5"),
    ],
    ids=["value-2", "value-bool", "negative-offset", "offset-str", "bitpos-bit-5"],
)
def test_bit_argument_errors_name_the_argument(
    call: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize(
    ("options", "tail"),
    [
        ({}, ()),
        ({"start": 0, "end": -1}, (0, -1)),
        ({"start": 1, "end": 5, "mode": "BIT"}, (1, 5, "BIT")),
        ({"start": 1, "end": 5, "mode": "byte"}, (1, 5, "BYTE")),
    ],
    ids=["whole", "range", "bit-mode", "byte-mode-lowercase"],
)
def test_bitcount_range_arguments(options: dict[str, Any], tail: tuple[Any, ...]) -> None:
    assert bits.bitcount("k", **options)[0] == ("BITCOUNT", "k", *tail)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"start": 1}, "give start and end together"),
        ({"end": 1}, "end needs start"),
        ({"mode": "BIT"}, "mode needs start and end"),
        ({"start": 0, "end": 1, "mode": "WORD"}, "mode must be one of BYTE, BIT"),
    ],
)
def test_bitcount_incomplete_range_raises_value_error(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        bits.bitcount("k", **options)


def test_bitpos_accepts_start_alone_but_mode_needs_end() -> None:
    assert bits.bitpos("k", 1)[0] == ("BITPOS", "k", 1)
    assert bits.bitpos("k", 0, 2)[0] == ("BITPOS", "k", 0, 2)
    assert bits.bitpos("k", 1, 0, 9, "bit")[0] == ("BITPOS", "k", 1, 0, 9, "BIT")
    with pytest.raises(ValueError, match="mode needs start and end"):
        bits.bitpos("k", 1, 2, mode="BIT")
    with pytest.raises(ValueError, match="end needs start"):
        bits.bitpos("k", 1, end=3)


def test_bitop_validates_the_operation_and_its_keys() -> None:
    assert bits.bitop("and", "d", "a", "b")[0] == ("BITOP", "AND", "d", "a", "b")
    assert bits.bitop("NOT", "d", "a")[0] == ("BITOP", "NOT", "d", "a")
    with pytest.raises(ValueError, match="operation must be one of AND, OR, XOR, NOT"):
        bits.bitop("NAND", "d", "a")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="operation must be one of"):
        bits.bitop(1, "d", "a")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="NOT takes exactly one source key, got 2"):
        bits.bitop("NOT", "d", "a", "b")
    with pytest.raises(ValueError, match="needs at least one source key"):
        bits.bitop("OR", "d")


# -- HyperLogLog --------------------------------------------------------------------------


def test_hyperloglog_arguments_and_replies() -> None:
    assert bits.pfadd("h", "a", 1)[0] == ("PFADD", "h", "a", 1)
    assert bits.pfadd("h")[0] == ("PFADD", "h")
    assert transformed(bits.pfadd("h", "a"), 0) is False
    assert bits.pfcount("a", "b")[0] == ("PFCOUNT", "a", "b")
    assert bits.pfmerge("d", "a", "b")[0] == ("PFMERGE", "d", "a", "b")
    assert transformed(bits.pfmerge("d", "a"), "OK") is True
    with pytest.raises(ValueError, match=r"pfcount\(\) needs at least one key"):
        bits.pfcount()


# -- redis-py's XGROUP SETID, XINFO CONSUMERS, XINFO STREAM FULL; BITFIELD -----------------------


def test_xgroup_setid_and_xinfo_consumers_build_their_subcommands() -> None:
    assert xs.xgroup_setid("s", "g", "$")[0] == ("XGROUP", "SETID", "s", "g", "$")
    assert xs.xgroup_setid("s", "g", "0", 4)[0] == (
        "XGROUP",
        "SETID",
        "s",
        "g",
        "0",
        "ENTRIESREAD",
        4,
    )
    command = xs.xinfo_consumers("s", "g")
    assert command[0] == ("XINFO", "CONSUMERS", "s", "g")
    assert transformed(command, [[b"name", b"c", b"pending", 1, b"idle", 5]]) == [
        {"name": b"c", "pending": 1, "idle": 5}
    ]


def test_xinfo_stream_full_parses_entries_groups_and_consumers() -> None:
    command = xs.xinfo_stream("s", full=True)
    assert command[0] == ("XINFO", "STREAM", "s", "FULL")
    consumer = [b"name", b"c", b"pending", []]
    group = [b"name", b"g", b"consumers", [consumer], b"pending", []]
    reply = [b"length", 1, b"entries", [[b"1-0", [b"f", b"v"]]], b"groups", [group]]
    assert transformed(command, reply) == {
        "length": 1,
        "entries": {b"1-0": {b"f": b"v"}},
        "groups": [{"name": b"g", "consumers": [{"name": b"c", "pending": []}], "pending": []}],
    }


def test_xclaim_and_xautoclaim_take_redis_py_positional_options() -> None:
    command = xs.xclaim("s", "g", "c", 10, ["1-0"], 5, None, 2, True, True)
    assert command[0] == (
        *("XCLAIM", "s", "g", "c", 10, "1-0", "IDLE", 5, "RETRYCOUNT", 2, "FORCE", "JUSTID"),
    )
    assert xs.xclaim("s", "g", "c", 10, ids="1-0")[0][-1] == "1-0"
    assert xs.xautoclaim("s", "g", "c", 10, "0-0", 5, True)[0][-1] == "JUSTID"
    assert xs.xtrim("s", 10, False, None, None)[0] == ("XTRIM", "s", "MAXLEN", 10)
    assert xs.xadd("s", {"f": 1}, "*", 5, False)[0] == ("XADD", "s", "MAXLEN", 5, "*", "f", 1)


def test_bitfield_operation_builds_one_command_and_resets() -> None:
    sent: list[cmd.Command[Any]] = []

    def submit(command: cmd.Command[Any]) -> str:
        sent.append(command)
        return "submitted"

    op = bits.BitFieldOperation(submit, "k", default_overflow="sat")
    assert op.operations == [("OVERFLOW", "SAT")]
    op.get("u8", 0).set("i4", "#2", -1).incrby("u8", 8, 3, overflow="FAIL").overflow("FAIL")
    assert op.execute() == "submitted"
    assert sent == [
        (
            (
                *("BITFIELD", "k", "OVERFLOW", "SAT", "GET", "u8", 0, "SET", "i4", "#2", -1),
                *("OVERFLOW", "FAIL", "INCRBY", "u8", 8, 3),
            ),
            None,
        )
    ]
    assert op.operations == [("OVERFLOW", "SAT")]  # back to the default
    plain = bits.BitFieldOperation(submit, "k")
    assert plain.overflow("wrap").operations == []  # WRAP is Redis's default: nothing sent
    assert "BitFieldOperation" in repr(plain)


def test_bitfield_ro_reads_each_item() -> None:
    assert bits.bitfield_ro("k", "u8", 0) == (("BITFIELD_RO", "k", "GET", "u8", 0), None)
    assert bits.bitfield_ro("k", "u8", 0, [("i4", "#1")])[0] == (
        *("BITFIELD_RO", "k", "GET", "u8", 0, "GET", "i4", "#1"),
    )
    with pytest.raises(ValueError, match="offset must be an int or '#n'"):
        bits.bitfield_ro("k", "u8", "#")
