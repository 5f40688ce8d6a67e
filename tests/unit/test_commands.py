"""Argument building in ``aiopool._commands``; nothing is sent."""

from __future__ import annotations

import datetime
from typing import Any, cast

import pytest

from aiopool import _commands as cmd
from aiopool._protocol import blocking_timeout

UTC = datetime.UTC
DEADLINE = datetime.datetime(2030, 1, 1, tzinfo=UTC)
DEADLINE_SECONDS = 1893456000


# -- SET ------------------------------------------------------------------------------


def test_set_without_options_maps_ok_to_true_and_nil_to_none() -> None:
    command = cmd.strings.set_("k", "v")
    assert command[0] == ("SET", "k", "v")
    assert command[1] is not None
    assert command[1](b"OK") is True
    assert command[1](None) is None


@pytest.mark.parametrize(
    ("options", "tail"),
    [
        ({"ex": 10}, ("EX", 10)),
        ({"ex": datetime.timedelta(minutes=2)}, ("EX", 120)),
        ({"px": 1500}, ("PX", 1500)),
        ({"px": datetime.timedelta(seconds=1.5)}, ("PX", 1500)),
        ({"exat": DEADLINE_SECONDS}, ("EXAT", DEADLINE_SECONDS)),
        ({"exat": DEADLINE}, ("EXAT", DEADLINE_SECONDS)),
        ({"pxat": DEADLINE_SECONDS * 1000 + 5}, ("PXAT", DEADLINE_SECONDS * 1000 + 5)),
        ({"pxat": DEADLINE}, ("PXAT", DEADLINE_SECONDS * 1000)),
        ({"keepttl": True}, ("KEEPTTL",)),
        ({"nx": True}, ("NX",)),
        ({"xx": True}, ("XX",)),
        ({"ex": 5, "xx": True}, ("EX", 5, "XX")),
    ],
    ids=[
        "ex-int",
        "ex-timedelta",
        "px-int",
        "px-timedelta",
        "exat-int",
        "exat-datetime",
        "pxat-int",
        "pxat-datetime",
        "keepttl",
        "nx",
        "xx",
        "ex-and-xx",
    ],
)
def test_set_options_become_arguments(options: dict[str, Any], tail: tuple[Any, ...]) -> None:
    assert cmd.strings.set_("k", "v", **options)[0] == ("SET", "k", "v", *tail)


def test_set_with_get_returns_raw_old_value() -> None:
    command = cmd.strings.set_("k", "v", get=True)
    assert command[0] == ("SET", "k", "v", "GET")
    assert command[1] is None


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"ex": 1, "px": 1000}, ("ex", "px")),
        ({"ex": 1, "exat": DEADLINE}, ("ex", "exat")),
        ({"px": 1, "pxat": DEADLINE}, ("px", "pxat")),
        ({"exat": DEADLINE, "pxat": DEADLINE}, ("exat", "pxat")),
        ({"nx": True, "xx": True}, ("nx", "xx")),
    ],
)
def test_set_conflicting_options_raise_value_error_naming_both(
    options: dict[str, Any], named: tuple[str, str]
) -> None:
    with pytest.raises(ValueError, match="give at most one of") as info:
        cmd.strings.set_("k", "v", **options)
    assert f"got {named[0]}, {named[1]}" in str(info.value)


@pytest.mark.parametrize("expiry", [{"ex": 10}, {"px": 10}, {"exat": DEADLINE}, {"pxat": DEADLINE}])
def test_set_keepttl_with_an_expiry_raises_value_error(expiry: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="keepttl cannot be combined with ex, px, exat or pxat"):
        cmd.strings.set_("k", "v", keepttl=True, **expiry)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"ex": 0}, "ex must be positive, got 0"),
        ({"ex": -3}, "ex must be positive, got -3"),
        ({"ex": datetime.timedelta(milliseconds=1500)}, "ex must be whole seconds"),
        ({"px": datetime.timedelta(microseconds=10)}, "px must be whole milliseconds"),
        ({"px": datetime.timedelta(microseconds=1500)}, "px must be whole milliseconds"),
        ({"exat": -1}, "exat must be positive"),
    ],
)
def test_set_invalid_expiry_raises_value_error_naming_it(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        cmd.strings.set_("k", "v", **options)


# -- GETEX, multi-key commands --------------------------------------------------------


def test_getex_options_become_arguments() -> None:
    assert cmd.strings.getex("k")[0] == ("GETEX", "k")
    assert cmd.strings.getex("k", ex=5)[0] == ("GETEX", "k", "EX", 5)
    assert cmd.strings.getex("k", persist=True)[0] == ("GETEX", "k", "PERSIST")


def test_getex_persist_with_expiry_raises_value_error() -> None:
    with pytest.raises(ValueError, match="persist cannot be combined"):
        cmd.strings.getex("k", ex=5, persist=True)


@pytest.mark.parametrize("builder", [cmd.keys.delete, cmd.keys.unlink, cmd.keys.exists])
def test_multi_key_commands_need_a_key(builder: Any) -> None:
    with pytest.raises(ValueError, match=r"needs at least one key"):
        builder()


def test_mget_takes_redis_py_keys_then_args() -> None:
    assert cmd.strings.mget("a")[0] == ("MGET", "a")
    assert cmd.strings.mget(["a", "b"], "c")[0] == ("MGET", "a", "b", "c")
    assert cmd.strings.mget(keys=["a", "b"])[0] == ("MGET", "a", "b")
    with pytest.raises(TypeError, match="keys"):
        cmd.strings.mget()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="position 1"):
        cmd.strings.mget("a", ["b"])


def test_mset_flattens_the_mapping_and_rejects_an_empty_one() -> None:
    assert cmd.strings.mset({"a": 1, "b": "x"})[0] == ("MSET", "a", 1, "b", "x")
    with pytest.raises(ValueError, match="non-empty mapping"):
        cmd.strings.mset({})


def test_scan_options_become_arguments_and_count_must_be_positive() -> None:
    assert cmd.keys.scan(0, "user:*", 100, "hash")[0] == (
        "SCAN",
        0,
        "MATCH",
        "user:*",
        "COUNT",
        100,
        "TYPE",
        "hash",
    )
    with pytest.raises(ValueError, match="count must be a positive int"):
        cmd.keys.scan(0, None, 0, None)


# -- EXPIRE ---------------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["nx", "xx", "gt", "lt"])
def test_expire_condition_becomes_argument(flag: str) -> None:
    assert cmd.keys.expire("k", 10, **{flag: True})[0] == ("EXPIRE", "k", 10, flag.upper())
    assert cmd.keys.pexpire("k", 10, **{flag: True})[0] == ("PEXPIRE", "k", 10, flag.upper())


def test_expire_accepts_timedelta() -> None:
    assert cmd.keys.expire("k", datetime.timedelta(hours=1))[0] == ("EXPIRE", "k", 3600)
    assert cmd.keys.pexpire("k", datetime.timedelta(seconds=2))[0] == ("PEXPIRE", "k", 2000)


@pytest.mark.parametrize(
    "flags",
    [("nx", "xx"), ("nx", "gt"), ("gt", "lt"), ("xx", "lt")],
)
def test_expire_conditions_are_mutually_exclusive(flags: tuple[str, str]) -> None:
    with pytest.raises(ValueError, match=f"got {flags[0]}, {flags[1]}"):
        cmd.keys.expire("k", 10, **dict.fromkeys(flags, True))


def test_expire_reply_becomes_bool() -> None:
    transform = cmd.keys.expire("k", 10)[1]
    assert transform is not None
    assert transform(1) is True
    assert transform(0) is False


# -- blocking_timeout -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("BLPOP", "q", 5), 15.0),
        (("BRPOP", "q1", "q2", 2.5), 12.5),
        (("BLMOVE", "src", "dst", "LEFT", "RIGHT", 3), 13.0),
        (("BZPOPMIN", "z", 1), 11.0),
        (("BLMPOP", 4, 2, "a", "b", "LEFT"), 14.0),
        (("WAIT", 1, 500), 10.5),
        (("XREAD", "COUNT", 10, "BLOCK", 2000, "STREAMS", "s", "$"), 12.0),
        (("XREADGROUP", "GROUP", "g", "c", "BLOCK", 1000, "STREAMS", "s", ">"), 11.0),
        (("BLPOP", "q", "5"), 15.0),
        (("XREAD", b"BLOCK", b"3000", b"STREAMS", b"s", b"$"), 13.0),
    ],
    ids=[
        "blpop",
        "brpop",
        "blmove",
        "bzpopmin",
        "blmpop",
        "wait-millis",
        "xread-block",
        "xreadgroup-block",
        "timeout-as-str",
        "xread-bytes-args",
    ],
)
def test_blocking_command_gets_its_blocking_time_on_top(
    args: tuple[Any, ...], expected: float
) -> None:
    assert blocking_timeout(args, 10.0) == pytest.approx(expected)


@pytest.mark.parametrize(
    "args",
    [
        ("BLPOP", "q", 0),
        ("BRPOP", "q", "0"),
        ("BLMOVE", "a", "b", "LEFT", "LEFT", 0),
        ("BZPOPMIN", "z", 0),
        ("BLMPOP", 0, 1, "a", "LEFT"),
        ("WAIT", 1, 0),
        ("XREAD", "BLOCK", 0, "STREAMS", "s", "$"),
        ("XREADGROUP", "GROUP", "g", "c", "BLOCK", 0, "STREAMS", "s", ">"),
    ],
    ids=["blpop", "brpop", "blmove", "bzpopmin", "blmpop", "wait", "xread", "xreadgroup"],
)
def test_blocking_for_ever_means_no_timeout(args: tuple[Any, ...]) -> None:
    assert blocking_timeout(args, 10.0) is None


@pytest.mark.parametrize(
    "args",
    [
        ("GET", "k"),
        ("BITCOUNT", "k"),
        ("XREAD", "COUNT", 1, "STREAMS", "s", "0"),
        ("XREAD", "STREAMS", "BLOCK", "0"),
        ("BLPOP", "q", "soon"),
        ("BLPOP",),
    ],
    ids=[
        "get",
        "b-but-not-blocking",
        "xread-no-block",
        "stream-named-block",
        "malformed-timeout",
        "missing-timeout",
    ],
)
def test_non_blocking_or_malformed_command_uses_command_timeout(args: tuple[Any, ...]) -> None:
    assert blocking_timeout(args, 10.0) == 10.0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("blpop", "q", 5), 15.0),
        (("bzpopmin", "z", 0), None),
        (("wait", 1, 500), 10.5),
        (("xread", "block", 2000, "streams", "s", "$"), 12.0),
        (("xreadgroup", "group", "g", "c", "block", 0, "streams", "s", ">"), None),
    ],
    ids=["blpop", "bzpopmin", "wait", "xread", "xreadgroup"],
)
def test_blocking_command_names_are_case_insensitive(
    args: tuple[Any, ...], expected: float | None
) -> None:
    assert blocking_timeout(args, 10.0) == expected


def test_blocking_command_name_given_as_bytes_gets_its_blocking_time() -> None:
    # execute(b"BLPOP", "q", 5) is a valid raw command; it must not time out
    # after command_timeout while the server legitimately blocks.
    assert blocking_timeout((b"BLPOP", "q", 5), 10.0) == pytest.approx(15.0)
    assert blocking_timeout((b"XREAD", b"BLOCK", 0, b"STREAMS", b"s", b"$"), 10.0) is None


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("XREADGROUP", "GROUP", "block", "c", "BLOCK", 5000, "STREAMS", "s", ">"), 15.0),
        (("XREADGROUP", "GROUP", "g", "block", "BLOCK", 0, "STREAMS", "s", ">"), None),
    ],
    ids=["group-named-block", "consumer-named-block"],
)
def test_xreadgroup_group_or_consumer_named_block_is_not_taken_for_the_option(
    args: tuple[Any, ...], expected: float | None
) -> None:
    assert blocking_timeout(args, 10.0) == expected


def test_without_command_timeout_every_command_waits_for_ever() -> None:
    assert blocking_timeout(("BLPOP", "q", 5), None) is None
    assert blocking_timeout(("GET", "k"), None) is None


def test_millisecond_timedeltas_are_converted_exactly() -> None:
    # float seconds * 1000 turns 1001 ms into 1000.
    command = cmd.strings.set_("k", "v", px=datetime.timedelta(milliseconds=1001))
    assert command[0] == ("SET", "k", "v", "PX", 1001)
    at = datetime.datetime(2030, 1, 1, 0, 0, 0, 1000, tzinfo=datetime.UTC)
    assert cmd.strings.set_("k", "v", pxat=at)[0][-1] == 1_893_456_000_001


# -- redis-py's string commands ------------------------------------------------------------


def test_redis_py_string_commands_build_their_arguments() -> None:
    strings = cmd.strings
    assert strings.setex("k", 10, "v") == (("SETEX", "k", 10, "v"), cmd._base.ok)
    assert strings.setex("k", datetime.timedelta(minutes=1), "v")[0] == ("SETEX", "k", 60, "v")
    assert strings.psetex("k", datetime.timedelta(seconds=1.5), "v")[0] == (
        "PSETEX",
        "k",
        1500,
        "v",
    )
    assert strings.setnx("k", "v")[0] == ("SETNX", "k", "v")
    assert strings.getset("k", "v") == (("GETSET", "k", "v"), None)
    assert strings.substr("k", 1) == (("GETRANGE", "k", 1, -1), None)
    assert strings.lcs("a", "b") == (("LCS", "a", "b"), None)
    assert strings.lcs("a", "b", len=True)[0] == ("LCS", "a", "b", "LEN")
    assert strings.lcs("a", "b", idx=True, minmatchlen=3, withmatchlen=True)[0] == (
        *("LCS", "a", "b", "IDX", "MINMATCHLEN", 3, "WITHMATCHLEN"),
    )
    # set and getex take redis-py's positional order.
    assert strings.set_("k", "v", 10, None, True)[0] == ("SET", "k", "v", "EX", 10, "NX")
    assert strings.set_("k", "v", None, None, False, False, False, True)[0] == (
        *("SET", "k", "v", "GET"),
    )
    assert strings.getex("k", None, 500)[0] == ("GETEX", "k", "PX", 500)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: cmd.strings.setex("k", -1, "v"), ValueError, "time must be positive"),
        (lambda: cmd.strings.psetex("k", cast(Any, "1"), "v"), TypeError, "time_ms"),
        (lambda: cmd.strings.lcs("a", "b", len=True, idx=True), ValueError, "at most one"),
        (lambda: cmd.strings.lcs("a", "b", minmatchlen=cast(Any, "3")), TypeError, "minmatchlen"),
    ],
    ids=["setex", "psetex", "lcs-len-idx", "lcs-minmatchlen"],
)
def test_redis_py_string_command_errors_name_the_argument(
    call: Any, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        call()
