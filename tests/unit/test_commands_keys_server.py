"""Argument building for the extra KEY and SERVER commands; nothing is sent."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from aiopool import _commands as cmd
from aiopool._protocol import blocking_timeout

UTC = datetime.UTC
DEADLINE = datetime.datetime(2030, 1, 1, tzinfo=UTC)
DEADLINE_SECONDS = 1893456000


# -- EXPIREAT / PEXPIREAT ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "seconds"),
    [(DEADLINE_SECONDS, DEADLINE_SECONDS), (DEADLINE, DEADLINE_SECONDS)],
    ids=["int", "datetime"],
)
def test_expireat_takes_unix_seconds_or_a_datetime(when: Any, seconds: int) -> None:
    command = cmd.keys.expireat("k", when)
    assert command[0] == ("EXPIREAT", "k", seconds)
    assert command[1] is not None
    assert command[1](1) is True
    assert command[1](0) is False


def test_expireat_drops_fractions_of_a_second() -> None:
    when = DEADLINE + datetime.timedelta(milliseconds=900)
    assert cmd.keys.expireat("k", when)[0] == ("EXPIREAT", "k", DEADLINE_SECONDS)


@pytest.mark.parametrize(
    ("when", "millis"),
    [
        (DEADLINE_SECONDS * 1000 + 7, DEADLINE_SECONDS * 1000 + 7),
        (DEADLINE + datetime.timedelta(milliseconds=250), DEADLINE_SECONDS * 1000 + 250),
    ],
    ids=["int", "datetime"],
)
def test_pexpireat_takes_unix_milliseconds_or_a_datetime(when: Any, millis: int) -> None:
    assert cmd.keys.pexpireat("k", when)[0] == ("PEXPIREAT", "k", millis)


@pytest.mark.parametrize("flag", ["nx", "xx", "gt", "lt"])
def test_expireat_and_pexpireat_conditions_become_arguments(flag: str) -> None:
    assert cmd.keys.expireat("k", 5, **{flag: True})[0] == ("EXPIREAT", "k", 5, flag.upper())
    assert cmd.keys.pexpireat("k", 5, **{flag: True})[0] == ("PEXPIREAT", "k", 5, flag.upper())


def test_expireat_conditions_are_mutually_exclusive() -> None:
    with pytest.raises(ValueError, match="nx, xx, gt, lt; got gt, lt"):
        cmd.keys.expireat("k", 5, gt=True, lt=True)


@pytest.mark.parametrize(
    ("when", "error"),
    [("1893456000", TypeError), (1.5, TypeError), (True, TypeError), (0, ValueError)],
    ids=["str", "float", "bool", "zero"],
)
def test_expireat_invalid_when_raises_naming_it(when: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="when"):
        cmd.keys.expireat("k", when)
    with pytest.raises(error, match="when"):
        cmd.keys.pexpireat("k", when)


def test_expiretime_and_pexpiretime_return_raw_integers() -> None:
    assert cmd.keys.expiretime("k") == (("EXPIRETIME", "k"), None)
    assert cmd.keys.pexpiretime("k") == (("PEXPIRETIME", "k"), None)


def test_touch_needs_a_key() -> None:
    assert cmd.keys.touch("a", "b")[0] == ("TOUCH", "a", "b")
    with pytest.raises(ValueError, match="touch"):
        cmd.keys.touch()


# -- COPY / DUMP / RESTORE ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "tail"),
    [
        ({}, ()),
        ({"destination_db": 0}, ("DB", 0)),
        ({"destination_db": 3, "replace": True}, ("DB", 3, "REPLACE")),
        ({"replace": True}, ("REPLACE",)),
    ],
    ids=["plain", "db-0", "db-and-replace", "replace"],
)
def test_copy_options_become_arguments(options: dict[str, Any], tail: tuple[Any, ...]) -> None:
    command = cmd.keys.copy("a", "b", **options)
    assert command[0] == ("COPY", "a", "b", *tail)
    assert command[1] is not None
    assert command[1](1) is True
    assert command[1](0) is False


@pytest.mark.parametrize(
    ("db", "error"), [(-1, ValueError), ("x", ValueError), (True, TypeError), (1.5, TypeError)]
)
def test_copy_invalid_destination_db_raises_naming_it(db: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="destination_db"):
        cmd.keys.copy("a", "b", destination_db=db)


def test_dump_returns_the_raw_payload() -> None:
    assert cmd.keys.dump("k") == (("DUMP", "k"), None)


@pytest.mark.parametrize(
    ("ttl", "options", "tail"),
    [
        (0, {}, (0, b"payload")),
        (1500, {}, (1500, b"payload")),
        (datetime.timedelta(seconds=2.5), {}, (2500, b"payload")),
        (DEADLINE, {"absttl": True}, (DEADLINE_SECONDS * 1000, b"payload", "ABSTTL")),
        (
            DEADLINE_SECONDS * 1000,
            {"absttl": True, "replace": True},
            (DEADLINE_SECONDS * 1000, b"payload", "REPLACE", "ABSTTL"),
        ),
        (0, {"idletime": 30}, (0, b"payload", "IDLETIME", 30)),
        (0, {"frequency": 255}, (0, b"payload", "FREQ", 255)),
    ],
    ids=["no-expiry", "ms", "timedelta", "absttl-datetime", "absttl-int", "idletime", "freq"],
)
def test_restore_options_become_arguments(
    ttl: Any, options: dict[str, Any], tail: tuple[Any, ...]
) -> None:
    command = cmd.keys.restore("k", ttl, b"payload", **options)
    assert command[0] == ("RESTORE", "k", *tail)
    assert command[1] is not None
    assert command[1](b"OK") is True


@pytest.mark.parametrize(
    ("ttl", "options", "error", "match"),
    [
        (-1, {}, ValueError, "ttl must be >= 0"),
        ("100", {}, TypeError, "ttl must be an int"),
        (1.5, {}, TypeError, "ttl must be an int"),
        (True, {}, TypeError, "ttl must be an int"),
        (DEADLINE, {}, ValueError, "absttl=True"),
        (datetime.timedelta(seconds=1), {"absttl": True}, ValueError, "absttl=True"),
        (0, {"idletime": 1, "frequency": 1}, ValueError, "idletime, frequency"),
        (0, {"idletime": -1}, ValueError, "idletime"),
        (0, {"frequency": 256}, ValueError, "frequency"),
        (0, {"frequency": "1"}, TypeError, "frequency"),
    ],
    ids=[
        "negative-ttl",
        "str-ttl",
        "float-ttl",
        "bool-ttl",
        "datetime-without-absttl",
        "timedelta-with-absttl",
        "idletime-and-frequency",
        "negative-idletime",
        "frequency-too-high",
        "str-frequency",
    ],
)
def test_restore_invalid_options_raise_naming_them(
    ttl: Any, options: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        cmd.keys.restore("k", ttl, b"payload", **options)


@pytest.mark.parametrize("value", ["text payload", None, 42])
def test_restore_value_must_be_bytes(value: Any) -> None:
    with pytest.raises(TypeError, match="value must be the bytes dump"):
        cmd.keys.restore("k", 0, value)


def test_restore_accepts_a_memoryview() -> None:
    view = memoryview(b"payload")
    assert cmd.keys.restore("k", 0, view)[0] == ("RESTORE", "k", 0, view)


# -- introspection -------------------------------------------------------------------------------


def test_object_subcommands_build_their_arguments() -> None:
    assert cmd.keys.object_encoding("k")[0] == ("OBJECT", "ENCODING", "k")
    assert cmd.keys.object_idletime("k")[0] == ("OBJECT", "IDLETIME", "k")
    assert cmd.keys.object_freq("k")[0] == ("OBJECT", "FREQ", "k")
    assert cmd.keys.object_refcount("k")[0] == ("OBJECT", "REFCOUNT", "k")


def test_object_encoding_is_str_or_none_whatever_the_reply_type() -> None:
    transform = cmd.keys.object_encoding("k")[1]
    assert transform is not None
    assert transform(b"listpack") == "listpack"
    assert transform("int") == "int"
    assert transform(None) is None


def test_keys_matches_everything_by_default() -> None:
    assert cmd.keys.keys() == (("KEYS", "*"), None)
    assert cmd.keys.keys(b"user:*")[0] == ("KEYS", b"user:*")
    assert cmd.keys.randomkey() == (("RANDOMKEY",), None)


def test_keys_docstring_warns_that_it_blocks_the_server() -> None:
    doc = cmd.keys.keys.__doc__ or ""
    assert "blocks the server" in doc
    assert "scan_iter" in doc


# -- TIME / LASTSAVE ------------------------------------------------------------------------------


@pytest.mark.parametrize("reply", [[b"1700000000", b"123456"], ["1700000000", "123456"]])
def test_time_reply_becomes_a_tuple_of_ints(reply: list[Any]) -> None:
    command = cmd.server.time()
    assert command[0] == ("TIME",)
    assert command[1] is not None
    assert command[1](reply) == (1700000000, 123456)


def test_lastsave_reply_becomes_an_aware_utc_datetime() -> None:
    command = cmd.server.lastsave()
    assert command[0] == ("LASTSAVE",)
    assert command[1] is not None
    result = command[1](DEADLINE_SECONDS)
    assert result == DEADLINE
    assert result.tzinfo is UTC


# -- CONFIG ---------------------------------------------------------------------------------------


def test_config_get_defaults_to_every_parameter() -> None:
    assert cmd.server.config_get()[0] == ("CONFIG", "GET", "*")
    assert cmd.server.config_get("maxmemory", "slowlog-*")[0] == (
        "CONFIG",
        "GET",
        "maxmemory",
        "slowlog-*",
    )


@pytest.mark.parametrize(
    "reply", [[b"maxmemory", b"0", b"hz", b"10"], ["maxmemory", "0", "hz", "10"]]
)
def test_config_get_names_and_values_become_str(reply: list[Any]) -> None:
    transform = cmd.server.config_get()[1]
    assert transform is not None
    result = transform(reply)
    assert result == {"maxmemory": "0", "hz": "10"}  # redis-py's str_if_bytes


def test_config_set_takes_a_name_and_value_or_a_mapping() -> None:
    one = cmd.server.config_set("maxmemory", "10mb")
    assert one[0] == ("CONFIG", "SET", "maxmemory", "10mb")
    assert one[1] is not None
    assert one[1](b"OK") is True
    several = cmd.server.config_set({"hz": 20, "slowlog-max-len": 64})
    assert several[0] == ("CONFIG", "SET", "hz", 20, "slowlog-max-len", 64)
    pairs = cmd.server.config_set("hz", 20, "slowlog-max-len", 64)  # redis-py's *args
    assert pairs[0] == several[0]


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (("maxmemory",), ValueError, "needs a value"),
        (({"hz": 10}, 10), ValueError, "not both"),
        (({},), ValueError, "non-empty"),
        (("appendonly", True), TypeError, "'yes' or 'no'"),
        (({"appendonly": False},), TypeError, "'yes' or 'no'"),
        (("hz", 10, "maxmemory"), ValueError, "name, value pairs"),
        (({"hz": 10}, None, "maxmemory", "1mb"), ValueError, "not both"),
    ],
    ids=[
        "name-without-value",
        "mapping-and-value",
        "empty-mapping",
        "bool",
        "bool-in-mapping",
        "odd-pairs",
        "mapping-and-pairs",
    ],
)
def test_config_set_invalid_arguments_raise(
    args: tuple[Any, ...], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        cmd.server.config_set(*args)


# -- CLIENT ---------------------------------------------------------------------------------------


def test_client_id_setname_getname_build_their_arguments() -> None:
    assert cmd.server.client_id() == (("CLIENT", "ID"), None)
    setname = cmd.server.client_setname("worker")
    assert setname[0] == ("CLIENT", "SETNAME", "worker")
    assert setname[1] is not None
    assert setname[1](b"OK") is True
    getname = cmd.server.client_getname()
    assert getname[0] == ("CLIENT", "GETNAME")
    assert getname[1] is not None
    assert getname[1](b"worker") == "worker"
    assert getname[1](None) is None


def test_client_setname_name_must_be_str() -> None:
    with pytest.raises(TypeError, match="name must be a str"):
        cmd.server.client_setname(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["normal", "master", "replica", "pubsub"])
def test_client_list_type_becomes_argument(kind: str) -> None:
    assert cmd.server.client_list()[0] == ("CLIENT", "LIST")
    assert cmd.server.client_list(kind)[0] == ("CLIENT", "LIST", "TYPE", kind)


def test_client_list_unknown_type_raises_value_error() -> None:
    with pytest.raises(ValueError, match="type_ must be one of"):
        cmd.server.client_list("slave")


@pytest.mark.parametrize("decode", [False, True])
def test_client_list_parses_each_line_into_a_dict_of_str(decode: bool) -> None:
    text = (
        "id=3 addr=127.0.0.1:5000 name= age=1 cmd=client|list\n"
        "id=4 addr=127.0.0.1:5001 name=worker age=0 cmd=get\n"
    )
    transform = cmd.server.client_list()[1]
    assert transform is not None
    clients = transform(text if decode else text.encode())
    assert clients == [
        {"id": "3", "addr": "127.0.0.1:5000", "name": "", "age": "1", "cmd": "client|list"},
        {"id": "4", "addr": "127.0.0.1:5001", "name": "worker", "age": "0", "cmd": "get"},
    ]


# -- MEMORY USAGE / WAIT / FLUSHALL ----------------------------------------------------------------


def test_memory_usage_samples_becomes_argument() -> None:
    assert cmd.server.memory_usage("k") == (("MEMORY", "USAGE", "k"), None)
    assert cmd.server.memory_usage("k", samples=0)[0] == ("MEMORY", "USAGE", "k", "SAMPLES", 0)
    with pytest.raises(ValueError, match="samples"):
        cmd.server.memory_usage("k", samples=-1)


def test_wait_puts_its_timeout_where_the_blocking_timeout_reads_it() -> None:
    command = cmd.server.wait(1, 250)
    assert command[0] == ("WAIT", 1, 250)
    assert blocking_timeout(command[0], 1.0) == pytest.approx(1.25)
    assert blocking_timeout(cmd.server.wait(1, 0)[0], 1.0) is None


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((-1, 10), ValueError, "num_replicas"),
        ((1, -1), ValueError, "timeout"),
        ((1, 0.5), TypeError, "timeout"),
        (("1", 10), TypeError, "num_replicas"),
    ],
)
def test_wait_invalid_arguments_raise_naming_them(
    args: tuple[Any, ...], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        cmd.server.wait(*args)


def test_flushall_can_run_asynchronously() -> None:
    assert cmd.server.flushall()[0] == ("FLUSHALL",)
    assert cmd.server.flushall(asynchronous=True)[0] == ("FLUSHALL", "ASYNC")
    transform = cmd.server.flushall()[1]
    assert transform is not None
    assert transform(b"OK") is True


# -- redis-py's key commands: MOVE, OBJECT, SORT, SORT_RO, MIGRATE; expiry shapes -------------


def test_sort_builds_redis_arguments_in_redis_order() -> None:
    keys = cmd.keys
    assert keys.sort("k") == (("SORT", "k"), None)
    command = keys.sort("k", 0, 5, "w_*", ["#", "n_*"], True, True, "dst")
    assert command[0] == (
        *("SORT", "k", "BY", "w_*", "LIMIT", 0, 5, "GET", "#", "GET", "n_*"),
        *("DESC", "ALPHA", "STORE", "dst"),
    )
    grouped = keys.sort("k", get=["#", "n_*"], groups=True)
    assert grouped[1] is not None
    assert grouped[1]([b"1", b"a", b"2", b"b"]) == [(b"1", b"a"), (b"2", b"b")]
    assert grouped[1]([]) == []
    assert keys.sort_ro("k", get="#", alpha=True) == (("SORT_RO", "k", "GET", "#", "ALPHA"), None)
    with pytest.raises(ValueError, match="groups=True groups"):
        keys.sort("k", get=["#", "n_*"], groups=True, store="dst")


def test_move_object_and_migrate_build_redis_arguments() -> None:
    keys = cmd.keys
    assert keys.move("k", 2)[0] == ("MOVE", "k", 2)
    assert keys.move("k", "2")[0] == ("MOVE", "k", 2)
    assert keys.object_("refcount", "k") == (("OBJECT", "REFCOUNT", "k"), None)
    assert keys.migrate("h", 6380, ["a", "b"], 0, 100, True, True, "pw")[0] == (
        *("MIGRATE", "h", 6380, "", 0, 100, "COPY", "REPLACE", "AUTH", "pw", "KEYS", "a", "b"),
    )
    assert keys.migrate("h", 6380, "a", 1, 100)[0] == (
        "MIGRATE",
        "h",
        6380,
        "",
        1,
        100,
        "KEYS",
        "a",
    )


def test_expire_takes_redis_py_time_and_aiopool_seconds() -> None:
    keys = cmd.keys
    assert keys.expire("k", 10)[0] == ("EXPIRE", "k", 10)
    assert keys.expire("k", time=10, gt=True)[0] == ("EXPIRE", "k", 10, "GT")
    assert keys.expire("k", seconds=datetime.timedelta(minutes=2))[0] == ("EXPIRE", "k", 120)
    assert keys.expire("k", -5)[0] == ("EXPIRE", "k", -5)
    assert keys.pexpire("k", datetime.timedelta(seconds=1), True)[0] == ("PEXPIRE", "k", 1000, "NX")
    assert keys.pexpire("k", millis=7)[0] == ("PEXPIRE", "k", 7)
    assert keys.expireat("k", DEADLINE_SECONDS, False, False, True)[0][-1] == "GT"
    with pytest.raises(TypeError, match="time must be an int of seconds"):
        keys.expire("k", "10")  # type: ignore[arg-type]
    assert cmd.keys.type_("k") == (("TYPE", "k"), None)
