"""Commands on keys of any type: deletion, expiry, renaming, scanning."""

from __future__ import annotations

from typing import Any

from ._base import (
    Arg,
    Command,
    Expiry,
    Key,
    need_keys,
    ok,
    one_of,
    positive,
    to_bool,
    to_str,
)
from ._base import millis as whole_millis
from ._base import seconds as whole_seconds

__all__ = [
    "delete",
    "exists",
    "expire",
    "persist",
    "pexpire",
    "pttl",
    "rename",
    "renamenx",
    "scan",
    "ttl",
    "type_",
    "unlink",
]


def delete(*keys: Key) -> Command[int]:
    """DEL: delete ``keys``; how many existed."""
    need_keys("delete", keys)
    return Command(("DEL", *keys))


def unlink(*keys: Key) -> Command[int]:
    """UNLINK: delete ``keys``, reclaiming memory in the background; how many existed."""
    need_keys("unlink", keys)
    return Command(("UNLINK", *keys))


def exists(*keys: Key) -> Command[int]:
    """EXISTS: how many of ``keys`` exist (a key named twice counts twice)."""
    need_keys("exists", keys)
    return Command(("EXISTS", *keys))


def _expire(
    name: str, key: Key, amount: int, nx: bool, xx: bool, gt: bool, lt: bool
) -> Command[bool]:
    args: list[Arg] = [name, key, amount]
    condition = one_of(nx=nx, xx=xx, gt=gt, lt=lt)
    if condition:
        args.append(condition.upper())
    return Command(tuple(args), to_bool)


def expire(
    key: Key,
    seconds: Expiry,
    *,
    nx: bool = False,
    xx: bool = False,
    gt: bool = False,
    lt: bool = False,
) -> Command[bool]:
    """EXPIRE: set a time to live in seconds; ``False`` if the key is missing or a condition failed.

    ``seconds`` is a positive int or a whole-second ``timedelta``; ``nx``,
    ``xx``, ``gt`` and ``lt`` (at most one) make it conditional.
    """
    return _expire("EXPIRE", key, whole_seconds("seconds", seconds), nx, xx, gt, lt)


def pexpire(
    key: Key,
    millis: Expiry,
    *,
    nx: bool = False,
    xx: bool = False,
    gt: bool = False,
    lt: bool = False,
) -> Command[bool]:
    """PEXPIRE: set a time to live in milliseconds; ``False`` if not set."""
    return _expire("PEXPIRE", key, whole_millis("millis", millis), nx, xx, gt, lt)


def ttl(key: Key) -> Command[int]:
    """TTL: seconds left to live; -1 without expiry, -2 when the key is missing."""
    return Command(("TTL", key))


def pttl(key: Key) -> Command[int]:
    """PTTL: milliseconds left to live; -1 without expiry, -2 when missing."""
    return Command(("PTTL", key))


def persist(key: Key) -> Command[bool]:
    """PERSIST: remove the expiry; ``True`` if there was one."""
    return Command(("PERSIST", key), to_bool)


def type_(key: Key) -> Command[str]:
    """TYPE: the type name of the value at ``key`` (``"none"`` when missing)."""
    return Command(("TYPE", key), to_str)


def rename(key: Key, new_key: Key) -> Command[bool]:
    """RENAME: rename ``key``; ``True``. A missing key raises ``ReplyError``."""
    return Command(("RENAME", key, new_key), ok)


def renamenx(key: Key, new_key: Key) -> Command[bool]:
    """RENAMENX: rename ``key`` only if ``new_key`` does not exist; ``True`` if renamed."""
    return Command(("RENAMENX", key, new_key), to_bool)


def scan(
    cursor: int = 0,
    match: str | bytes | None = None,
    count: int | None = None,
    type_: str | None = None,
) -> Command[tuple[int, list[Any]]]:
    """SCAN: one batch, ``(next_cursor, keys)``; the cursor is 0 when done.

    Most code wants ``scan_iter``, which runs the batches for you.
    """
    args: list[Arg] = ["SCAN", cursor]
    if match is not None:
        args += ("MATCH", match)
    if count is not None:
        args += ("COUNT", positive("count", count))
    if type_ is not None:
        args += ("TYPE", type_)
    return Command(tuple(args), cursor_batch)


def cursor_batch(reply: Any) -> tuple[int, list[Any]]:
    """A SCAN-family reply as ``(next_cursor, items)``."""
    return int(reply[0]), reply[1]
