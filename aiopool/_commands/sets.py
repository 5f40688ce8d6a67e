"""Set commands."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._errors import DataValueError
from ._base import (
    Command,
    Key,
    KeyOrKeys,
    Value,
    bool_list,
    cursor_batch,
    integer,
    key_list,
    keys_or_list,
    need_keys,
    not_negative,
    scan_args,
    to_bool,
    to_set,
)


def sadd(name: Key, *members: Value) -> Command[int]:
    """SADD: add ``members`` to the set at ``name``; how many were not there yet."""
    need_keys("sadd", members, "member")
    return ("SADD", name, *members), None


def srem(name: Key, *members: Value) -> Command[int]:
    """SREM: remove ``members`` from the set at ``name``; how many were there."""
    need_keys("srem", members, "member")
    return ("SREM", name, *members), None


def smembers(name: Key) -> Command[set[Any]]:
    """SMEMBERS: every member of the set at ``name`` as a set (empty when missing)."""
    return ("SMEMBERS", name), to_set


def sismember(name: Key, value: Value) -> Command[bool]:
    """SISMEMBER: ``True`` if ``value`` is in the set at ``name``."""
    return ("SISMEMBER", name, value), to_bool


def smismember(
    name: Key, values: Value | Sequence[Value], *args: Value | Sequence[Value]
) -> Command[list[bool]]:
    """SMISMEMBER: for each of ``values``, in order, ``True`` if it is in the set at ``name``.

    As redis-py's: ``values`` is one member or a list of them, and more
    members may follow (``smismember("s", ["a", "b"])``, ``smismember("s",
    "a", "b")``).
    """
    members = keys_or_list("smismember", (values, *args), "member")  # type: ignore[arg-type]
    return ("SMISMEMBER", name, *members), bool_list


def scard(name: Key) -> Command[int]:
    """SCARD: the number of members of the set at ``name`` (0 when missing)."""
    return ("SCARD", name), None


def spop(name: Key, count: int | None = None) -> Command[Any]:
    """SPOP: remove and return a random member, or ``None`` when the set is empty or missing.

    With ``count`` (an int >= 0), up to ``count`` distinct members are
    removed and returned as a list, as redis-py's (empty when the key is missing).
    """
    if count is None:
        return ("SPOP", name), None
    return ("SPOP", name, not_negative("count", count)), None


def srandmember(name: Key, count: int | None = None, *, number: int | None = None) -> Command[Any]:
    """SRANDMEMBER: a random member (not removed), or ``None`` when the set is empty or missing.

    With ``count``, a list instead: up to ``count`` distinct members for a
    positive ``count``; exactly ``-count`` members, possibly repeated, for a
    negative one (empty when the key is missing).
    """
    if number is not None:  # redis-py's name for it
        if count is not None:
            raise DataValueError("srandmember() takes count or number (redis-py's name), not both")
        count = number
    if count is None:
        return ("SRANDMEMBER", name), None
    return ("SRANDMEMBER", name, integer("count", count)), None


def sinter(keys: Key | Sequence[Key], *args: Key | Sequence[Key]) -> Command[set[Any]]:
    """SINTER: the members common to every set at ``keys``, as a set.

    A missing key counts as an empty set, so the result is then empty.
    """
    keys = keys_or_list("sinter", (keys, *args))
    return ("SINTER", *keys), to_set


def sunion(keys: Key | Sequence[Key], *args: Key | Sequence[Key]) -> Command[set[Any]]:
    """SUNION: the members of any of the sets at ``keys``, as a set (missing keys are empty)."""
    keys = keys_or_list("sunion", (keys, *args))
    return ("SUNION", *keys), to_set


def sdiff(keys: Key | Sequence[Key], *args: Key | Sequence[Key]) -> Command[set[Any]]:
    """SDIFF: the members of the first set at ``keys`` that are in none of the others, as a set."""
    keys = keys_or_list("sdiff", (keys, *args))
    return ("SDIFF", *keys), to_set


def sinterstore(dest: Key, keys: Key | Sequence[Key], *args: Key | Sequence[Key]) -> Command[int]:
    """SINTERSTORE: store the intersection of ``keys`` at ``dest``; its size.

    ``dest`` is overwritten (deleted when the result is empty).
    """
    keys = keys_or_list("sinterstore", (keys, *args))
    return ("SINTERSTORE", dest, *keys), None


def sunionstore(dest: Key, keys: Key | Sequence[Key], *args: Key | Sequence[Key]) -> Command[int]:
    """SUNIONSTORE: store the union of ``keys`` at ``dest``; its size (``dest`` is overwritten)."""
    keys = keys_or_list("sunionstore", (keys, *args))
    return ("SUNIONSTORE", dest, *keys), None


def sdiffstore(dest: Key, keys: Key | Sequence[Key], *args: Key | Sequence[Key]) -> Command[int]:
    """SDIFFSTORE: store the first of ``keys`` minus the others at ``dest``; its size.

    ``dest`` is overwritten (deleted when the result is empty).
    """
    keys = keys_or_list("sdiffstore", (keys, *args))
    return ("SDIFFSTORE", dest, *keys), None


def smove(src: Key, dst: Key, value: Value) -> Command[bool]:
    """SMOVE: move ``value`` from the set at ``src`` to the set at ``dst``.

    ``True`` if it was moved, ``False`` if it was not in ``src``.
    """
    return ("SMOVE", src, dst, value), to_bool


def sscan(
    name: Key,
    cursor: int = 0,
    match: str | bytes | None = None,
    count: int | None = None,
) -> Command[tuple[int, list[Any]]]:
    """SSCAN: one batch of the set at ``name``, ``(next_cursor, members)``.

    The cursor is 0 when done; most code wants ``sscan_iter``.
    """
    args = scan_args("SSCAN", name, cursor, match, count)
    return tuple(args), cursor_batch


def sintercard(numkeys: int, keys: KeyOrKeys, limit: int = 0) -> Command[int]:
    """SINTERCARD: the size of the intersection of the sets at ``keys``.

    ``numkeys`` is the number of ``keys`` (as redis-py's, and as Redis
    wants it; another number raises ``ValueError``). ``limit`` (0: none)
    stops counting there, which is cheaper when only "at least n" matters.
    """
    names = key_list("sintercard", keys)
    if integer("numkeys", numkeys) != len(names):
        raise DataValueError(
            f"sintercard(): numkeys is {numkeys!r} but {len(names)} keys were given"
        )
    return ("SINTERCARD", numkeys, *names, "LIMIT", not_negative("limit", limit)), None
