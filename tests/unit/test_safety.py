"""Which commands aiopool may repeat when their outcome is unknown (``_safety``)."""

from __future__ import annotations

import pytest

from aiopool import _command_table as table
from aiopool._protocol import canonical_name
from aiopool._safety import ALSO_SAFE, is_safe_to_repeat


def test_every_reviewed_safe_command_is_one_the_server_knows() -> None:
    assert ALSO_SAFE <= table.KNOWN, sorted(ALSO_SAFE - table.KNOWN)
    assert table.READ_ONLY <= table.KNOWN


def test_reviewed_commands_are_not_already_read_only() -> None:
    # The reviewed list is for what the server's flags cannot tell.
    assert not (ALSO_SAFE & table.READ_ONLY), sorted(ALSO_SAFE & table.READ_ONLY)


@pytest.mark.parametrize(
    ("args", "key"),
    [
        (("GET", "k"), "get"),
        ((b"CONFIG", b"GET", b"maxmemory"), "config|get"),
        (("client", "LIST"), "client|list"),
        (("CONFIG",), "config"),
        ((memoryview(b"xinfo"), "STREAM", "s"), "xinfo|stream"),
    ],
)
def test_canonical_name_names_containers_by_their_subcommand(
    args: tuple[object, ...], key: str
) -> None:
    assert canonical_name(args) == key


@pytest.mark.parametrize(
    "args",
    [
        ("GET", "k"),
        (b"get", b"k"),
        ("MGET", "a", "b"),
        ("HGETALL", "h"),
        ("XREAD", "BLOCK", "100", "STREAMS", "s", "$"),
        ("EVAL_RO", "return 1", "0"),
        ("CONFIG", "GET", "maxmemory"),
        ("PING",),
        ("SCRIPT", "LOAD", "return 1"),
        ("SET", "k", "v"),
        ("SET", "k", "v", "EX", "10"),
        ("SET", "k", "NX"),  # "NX" is the value here, not an option
        ("MSET", "a", "1", "b", "2"),
        ("PEXPIREAT", "k", "1700000000000"),
    ],
)
def test_reads_and_reply_preserving_idempotent_writes_are_safe(args: tuple[object, ...]) -> None:
    assert is_safe_to_repeat(args)


@pytest.mark.parametrize(
    "args",
    [
        ("INCR", "k"),
        ("LPUSH", "l", "x"),
        ("DEL", "k"),  # the repeat answers 0 where the first run deleted
        ("HSET", "h", "f", "v"),  # counts new fields: 1, then 0
        ("SET", "k", "v", "NX"),
        ("SET", "k", "v", "xx"),
        ("SET", "k", "v", "GET"),
        ("EXPIREAT", "k", "1700000000", "GT"),
        ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"),
        ("BLPOP", "l", "0"),
        ("EVAL", "return 1", "0"),
        ("PUBLISH", "ch", "m"),
        ("FLUSHDB",),
        ("CONFIG", "SET", "maxmemory", "0"),
        ("CLIENT", "KILL", "ID", "1"),
        ("NOSUCHCOMMAND",),
        ("",),
        (),
    ],
)
def test_writes_that_change_on_a_repeat_and_unknown_commands_are_not_safe(
    args: tuple[object, ...],
) -> None:
    assert not is_safe_to_repeat(args)
