"""Argument building and checks of the hash and list commands; nothing is sent."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest

from aiopool import _commands as cmd
from aiopool._protocol import blocking_timeout

hashes = cmd.hashes
lists = cmd.lists


def _transform(command: cmd.Command[Any]) -> Callable[[Any], Any]:
    assert command[1] is not None
    return command[1]


# -- HSET --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "args"),
    [
        (lambda: hashes.hset("h", "f", "v"), ("HSET", "h", "f", "v")),
        (lambda: hashes.hset("h", mapping={"a": 1, b"b": b"2"}), ("HSET", "h", "a", 1, b"b", b"2")),
        (
            lambda: hashes.hset("h", "f", "v", mapping={"a": 1}),
            ("HSET", "h", "f", "v", "a", 1),
        ),
        (lambda: hashes.hset("h", "f", "v", mapping={}), ("HSET", "h", "f", "v")),
        (lambda: hashes.hset("h", "f", 0), ("HSET", "h", "f", 0)),
    ],
    ids=["pair", "mapping", "pair-then-mapping", "pair-and-empty-mapping", "falsy-value"],
)
def test_hset_sends_the_pair_then_the_mapping(
    call: Callable[[], cmd.Command[int]], args: tuple[Any, ...]
) -> None:
    command = call()
    assert command[0] == args
    assert command[1] is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "needs key and value, mapping= or items="),
        ({"field": "f"}, "value is missing"),
        ({"key": "f"}, "value is missing"),
        ({"value": "v"}, "field \\(key\\) is missing"),
        ({"mapping": {}}, "non-empty mapping of field -> value"),
    ],
    ids=["nothing", "field-only", "key-only", "value-only", "empty-mapping"],
)
def test_hset_without_a_complete_pair_raises_value_error(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        hashes.hset("h", **kwargs)


def test_hset_mapping_of_wrong_type_raises_type_error() -> None:
    with pytest.raises(TypeError, match="takes a mapping, got list"):
        hashes.hset("h", mapping=[("f", "v")])  # type: ignore[arg-type]


# -- other hash commands ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "args"),
    [
        ("f", ("HMGET", "h", "f")),
        (b"f", ("HMGET", "h", b"f")),
        (["a", "b"], ("HMGET", "h", "a", "b")),
        (("a", b"b"), ("HMGET", "h", "a", b"b")),
        ((f for f in ["x", "y"]), ("HMGET", "h", "x", "y")),
    ],
    ids=["str", "bytes", "list", "tuple", "generator"],
)
def test_hmget_takes_one_field_or_an_iterable(fields: Any, args: tuple[Any, ...]) -> None:
    assert hashes.hmget("h", fields)[0] == args


def test_hmget_without_fields_raises_value_error() -> None:
    with pytest.raises(ValueError, match=r"hmget\(\) needs at least one field"):
        hashes.hmget("h", [])


def test_hmget_with_a_non_iterable_raises_type_error_naming_keys() -> None:
    with pytest.raises(TypeError, match="keys must be a field name or an iterable"):
        hashes.hmget("h", 3)  # type: ignore[arg-type]


def test_hdel_needs_a_field() -> None:
    assert hashes.hdel("h", "a", "b")[0] == ("HDEL", "h", "a", "b")
    with pytest.raises(ValueError, match=r"hdel\(\) needs at least one field"):
        hashes.hdel("h")


@pytest.mark.parametrize(
    ("command", "replies"),
    [
        (hashes.hsetnx("h", "f", "v"), {1: True, 0: False}),
        (hashes.hexists("h", "f"), {1: True, 0: False}),
    ],
    ids=["hsetnx", "hexists"],
)
def test_hash_flags_become_bools(command: cmd.Command[bool], replies: dict[int, bool]) -> None:
    transform = _transform(command)
    for reply, expected in replies.items():
        assert transform(reply) is expected


def test_hgetall_pairs_up_bytes_and_str_replies() -> None:
    transform = _transform(hashes.hgetall("h"))
    assert transform([b"a", b"1", b"b", b"2"]) == {b"a": b"1", b"b": b"2"}
    assert transform(["a", "1"]) == {"a": "1"}
    assert transform([]) == {}


def test_hincrby_checks_the_amount_type() -> None:
    assert hashes.hincrby("h", "f")[0] == ("HINCRBY", "h", "f", 1)
    assert hashes.hincrby("h", "f", -5)[0] == ("HINCRBY", "h", "f", -5)
    with pytest.raises(TypeError, match="amount must be an int"):
        hashes.hincrby("h", "f", 1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="amount must be an int"):
        hashes.hincrby("h", "f", True)


def test_hincrbyfloat_returns_a_float() -> None:
    command = hashes.hincrbyfloat("h", "f", 2.5)
    assert command[0] == ("HINCRBYFLOAT", "h", "f", 2.5)
    assert _transform(command)(b"3.5") == 3.5
    assert _transform(command)("3.5") == 3.5
    with pytest.raises(TypeError, match="amount must be an int or float"):
        hashes.hincrbyfloat("h", "f", "2")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "args"),
    [
        ({}, ("HRANDFIELD", "h")),
        ({"count": 3}, ("HRANDFIELD", "h", 3)),
        ({"count": -3}, ("HRANDFIELD", "h", -3)),
        ({"count": 0}, ("HRANDFIELD", "h", 0)),
        ({"count": 2, "withvalues": True}, ("HRANDFIELD", "h", 2, "WITHVALUES")),
    ],
    ids=["one", "count", "negative-count", "zero-count", "withvalues"],
)
def test_hrandfield_options_become_arguments(kwargs: dict[str, Any], args: tuple[Any, ...]) -> None:
    assert hashes.hrandfield("h", **kwargs)[0] == args


def test_hrandfield_withvalues_keeps_redis_py_flat_list_as_plain_count_does() -> None:
    flat = hashes.hrandfield("h", 2, withvalues=True)[1]  # [f1, v1, f2, v2], as redis-py's RESP2
    assert flat is not None
    assert flat([b"a", b"1", b"b", b"2"]) == [b"a", b"1", b"b", b"2"]
    assert flat([[b"a", b"1"], [b"b", b"2"]]) == [b"a", b"1", b"b", b"2"]  # RESP3's pairs
    assert flat([]) == []
    assert hashes.hrandfield("h", 2, True)[0] == ("HRANDFIELD", "h", 2, "WITHVALUES")
    assert hashes.hrandfield("h", 2)[1] is None
    assert hashes.hrandfield("h")[1] is None


def test_hrandfield_withvalues_needs_count() -> None:
    with pytest.raises(ValueError, match="withvalues=True needs count="):
        hashes.hrandfield("h", withvalues=True)
    with pytest.raises(TypeError, match="count must be an int"):
        hashes.hrandfield("h", "2")  # type: ignore[arg-type]


# -- pushes and pops -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "build", [lists.lpush, lists.rpush, lists.lpushx, lists.rpushx], ids=lambda b: b.__name__
)
def test_pushes_send_every_value_and_need_one(build: Callable[..., cmd.Command[int]]) -> None:
    assert build("l", "a", 1, b"c")[0] == (build.__name__.upper(), "l", "a", 1, b"c")
    with pytest.raises(ValueError, match=rf"{build.__name__}\(\) needs at least one value"):
        build("l")


@pytest.mark.parametrize("build", [lists.lpop, lists.rpop], ids=lambda b: b.__name__)
def test_pops_send_count_only_when_given(build: Callable[..., cmd.Command[Any]]) -> None:
    name = build.__name__.upper()
    assert build("l")[0] == (name, "l")
    assert build("l", 3)[0] == (name, "l", 3)
    assert build("l", 0)[0] == (name, "l", 0)
    with pytest.raises(ValueError, match="count must be an int >= 0"):
        build("l", -1)
    with pytest.raises(TypeError, match="count must be an int"):
        build("l", "3")


# -- reading and editing ------------------------------------------------------------------


def test_index_arguments_must_be_ints() -> None:
    assert lists.lrange("l", 0, -1)[0] == ("LRANGE", "l", 0, -1)
    assert lists.lindex("l", -1)[0] == ("LINDEX", "l", -1)
    assert lists.lrem("l", -2, "x")[0] == ("LREM", "l", -2, "x")
    with pytest.raises(TypeError, match="end must be an int"):
        lists.lrange("l", 0, "-1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="index must be an int"):
        lists.lindex("l", 1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="start must be an int"):
        lists.ltrim("l", None, 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="count must be an int"):
        lists.lrem("l", "x", 1)  # type: ignore[arg-type]


def test_lset_and_ltrim_map_ok_to_true() -> None:
    assert _transform(lists.lset("l", 0, "v"))(b"OK") is True
    assert _transform(lists.ltrim("l", 0, 1))("OK") is True


@pytest.mark.parametrize(("where", "sent"), [("BEFORE", "BEFORE"), ("after", "AFTER")])
def test_linsert_where_is_case_insensitive(where: str, sent: str) -> None:
    assert lists.linsert("l", where, "p", "v")[0] == ("LINSERT", "l", sent, "p", "v")


def test_linsert_rejects_an_unknown_where() -> None:
    with pytest.raises(ValueError, match="where must be one of 'BEFORE', 'AFTER', got 'LEFT'"):
        lists.linsert("l", "LEFT", "p", "v")
    with pytest.raises(TypeError, match="where must be one of 'BEFORE', 'AFTER', got bytes"):
        lists.linsert("l", b"BEFORE", "p", "v")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "tail"),
    [
        ({}, ()),
        ({"rank": -1}, ("RANK", -1)),
        ({"count": 0}, ("COUNT", 0)),
        ({"maxlen": 100}, ("MAXLEN", 100)),
        ({"rank": 2, "count": 3, "maxlen": 0}, ("RANK", 2, "COUNT", 3, "MAXLEN", 0)),
    ],
    ids=["plain", "rank", "count-all", "maxlen", "everything"],
)
def test_lpos_options_become_arguments(kwargs: dict[str, Any], tail: tuple[Any, ...]) -> None:
    assert lists.lpos("l", "v", **kwargs)[0] == ("LPOS", "l", "v", *tail)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"rank": 0}, ValueError, "rank must not be 0"),
        ({"count": -1}, ValueError, "count must be an int >= 0"),
        ({"maxlen": -1}, ValueError, "maxlen must be an int >= 0"),
        ({"rank": "1"}, TypeError, "rank must be an int"),
    ],
    ids=["rank-zero", "negative-count", "negative-maxlen", "rank-str"],
)
def test_lpos_rejects_bad_options(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        lists.lpos("l", "v", **kwargs)


# -- moves -------------------------------------------------------------------------------


def test_lmove_defaults_to_head_to_tail_and_uppercases_sides() -> None:
    assert lists.lmove("a", "b")[0] == ("LMOVE", "a", "b", "LEFT", "RIGHT")
    assert lists.lmove("a", "b", "right", "Left")[0] == ("LMOVE", "a", "b", "RIGHT", "LEFT")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"src_side": "TOP"}, ValueError, "src_side must be one of 'LEFT', 'RIGHT', got 'TOP'"),
        ({"dest_side": "BEFORE"}, ValueError, "dest_side must be one of 'LEFT', 'RIGHT'"),
        ({"src_side": 0}, TypeError, "src_side must be one of 'LEFT', 'RIGHT', got int"),
    ],
    ids=["bad-src", "bad-dest", "src-not-str"],
)
def test_moves_reject_bad_side_names(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        lists.lmove("a", "b", **kwargs)
    with pytest.raises(error, match=message):
        lists.blmove("a", "b", 1, **kwargs)


# -- blocking ----------------------------------------------------------------------------


@pytest.mark.parametrize("build", [lists.blpop, lists.brpop], ids=lambda b: b.__name__)
def test_blocking_pops_take_one_key_or_many_and_put_the_timeout_last(
    build: Callable[..., cmd.Command[Any]],
) -> None:
    name = build.__name__.upper()
    assert build("q")[0] == (name, "q", 0)
    assert build(b"q", 2)[0] == (name, b"q", 2)
    assert build(["a", "b"], 0.5)[0] == (name, "a", "b", 0.5)
    assert build(("a",), datetime.timedelta(milliseconds=1500))[0] == (name, "a", 1.5)


@pytest.mark.parametrize("build", [lists.blpop, lists.brpop], ids=lambda b: b.__name__)
def test_blocking_pops_reject_no_keys_and_bad_timeouts(
    build: Callable[..., cmd.Command[Any]],
) -> None:
    with pytest.raises(ValueError, match=rf"{build.__name__}\(\) needs at least one key"):
        build([])
    with pytest.raises(ValueError, match="timeout must be >= 0 seconds"):
        build("q", -1)
    with pytest.raises(TypeError, match="timeout must be an int or float"):
        build("q", "1")


def test_blocking_pop_reply_becomes_a_tuple_or_none() -> None:
    transform = _transform(lists.blpop("q"))
    assert transform([b"q", b"v"]) == (b"q", b"v")
    assert transform(["q", "v"]) == ("q", "v")
    assert transform(None) is None


def test_blmove_puts_the_sides_before_the_timeout() -> None:
    assert lists.blmove("a", "b", 2)[0] == ("BLMOVE", "a", "b", "LEFT", "RIGHT", 2)
    assert lists.blmove("a", "b", 0.25, "RIGHT", "LEFT")[0] == (
        "BLMOVE",
        "a",
        "b",
        "RIGHT",
        "LEFT",
        0.25,
    )
    with pytest.raises(ValueError, match="timeout must be >= 0 seconds"):
        lists.blmove("a", "b", -0.5)


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (lists.blpop("q", 5), 15.0),
        (lists.brpop(["a", "b"], 2.5), 12.5),
        (lists.blmove("a", "b", 3, "RIGHT", "LEFT"), 13.0),
        (lists.blpop("q", 0), None),
        (lists.blmove("a", "b", 0), None),
    ],
    ids=["blpop", "brpop-many-keys", "blmove", "blpop-for-ever", "blmove-for-ever"],
)
def test_connection_reads_the_blocking_time_where_the_commands_put_it(
    command: cmd.Command[Any], expected: float | None
) -> None:
    assert blocking_timeout(command[0], 10.0) == expected


# -- redis-py's shapes: hset(items=), hmset, lindex("0"), LMPOP, BLMPOP, RPOPLPUSH -----------


def test_hset_sends_items_then_the_pair_then_the_mapping_as_redis_py() -> None:
    command = hashes.hset("h", "k", "v", {"m": 1}, ["i", 2])
    assert command[0] == ("HSET", "h", "i", 2, "k", "v", "m", 1)
    assert hashes.hset("h", key="f", value=1)[0] == ("HSET", "h", "f", 1)
    assert hashes.hset("h", field="f", value=1)[0] == ("HSET", "h", "f", 1)
    assert hashes.hmset("h", {"a": 1})[0] == ("HSET", "h", "a", 1)
    assert _transform(hashes.hmset("h", {"a": 1}))(1) is True
    assert _transform(hashes.hmset("h", {"a": 1}))(0) is True  # updated fields count 0


def test_lindex_takes_an_integer_str() -> None:
    assert lists.lindex("l", "0")[0] == ("LINDEX", "l", 0)
    assert lists.lindex("l", "-1")[0] == ("LINDEX", "l", -1)
    with pytest.raises(ValueError, match="index must be an integer, got 'x'"):
        lists.lindex("l", "x")


def test_lmpop_blmpop_and_the_pop_pushes_build_redis_arguments() -> None:
    assert lists.lmpop(2, "a", "b", direction="left") == (("LMPOP", 2, "a", "b", "LEFT"), None)
    assert lists.lmpop(1, "a", direction="RIGHT", count=3)[0] == (
        *("LMPOP", 1, "a", "RIGHT", "COUNT", 3),
    )
    command = lists.blmpop(1.5, 2, "a", "b", direction="LEFT")
    assert command[0] == ("BLMPOP", 1.5, 2, "a", "b", "LEFT", "COUNT", 1)
    assert blocking_timeout(command[0], 1.0) == pytest.approx(2.5)
    assert blocking_timeout(lists.blmpop(0, 1, "a", direction="LEFT")[0], 1.0) is None
    assert lists.rpoplpush("a", "b") == (("RPOPLPUSH", "a", "b"), None)
    command = lists.brpoplpush("a", "b", datetime.timedelta(seconds=2))
    assert command[0] == ("BRPOPLPUSH", "a", "b", 2.0)
    assert blocking_timeout(command[0], 1.0) == pytest.approx(3.0)
    assert lists.brpoplpush("a", "b", None)[0] == ("BRPOPLPUSH", "a", "b", 0)
    assert lists.blpop("a", None)[0] == ("BLPOP", "a", 0)
