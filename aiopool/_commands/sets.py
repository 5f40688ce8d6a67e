"""Set commands."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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


def sadd(key: Key, *members: Value) -> Command[int]:
    """SADD: add ``members`` to the set at ``key``; how many were not there yet."""
    need_keys("sadd", members, "member")
    return ("SADD", key, *members), None


def srem(key: Key, *members: Value) -> Command[int]:
    """SREM: remove ``members`` from the set at ``key``; how many were there."""
    need_keys("srem", members, "member")
    return ("SREM", key, *members), None


def smembers(key: Key) -> Command[set[Any]]:
    """SMEMBERS: every member of the set at ``key`` as a set (empty when missing)."""
    return ("SMEMBERS", key), to_set


def sismember(key: Key, member: Value) -> Command[bool]:
    """SISMEMBER: ``True`` if ``member`` is in the set at ``key``."""
    return ("SISMEMBER", key, member), to_bool


def smismember(key: Key, *members: Value) -> Command[list[bool]]:
    """SMISMEMBER: for each of ``members``, in order, ``True`` if it is in the set at ``key``."""
    need_keys("smismember", members, "member")
    return ("SMISMEMBER", key, *members), bool_list


def scard(key: Key) -> Command[int]:
    """SCARD: the number of members of the set at ``key`` (0 when missing)."""
    return ("SCARD", key), None


def spop(key: Key, count: int | None = None) -> Command[Any]:
    """SPOP: remove and return a random member, or ``None`` when the set is empty or missing.

    With ``count`` (an int >= 0), up to ``count`` distinct members are
    removed and returned as a list, as redis-py's (empty when the key is missing).
    """
    if count is None:
        return ("SPOP", key), None
    return ("SPOP", key, not_negative("count", count)), None


def srandmember(key: Key, count: int | None = None, *, number: int | None = None) -> Command[Any]:
    """SRANDMEMBER: a random member (not removed), or ``None`` when the set is empty or missing.

    With ``count``, a list instead: up to ``count`` distinct members for a
    positive ``count``; exactly ``-count`` members, possibly repeated, for a
    negative one (empty when the key is missing).
    """
    if number is not None:  # redis-py's name for it
        if count is not None:
            raise ValueError("srandmember() takes count or number (redis-py's name), not both")
        count = number
    if count is None:
        return ("SRANDMEMBER", key), None
    return ("SRANDMEMBER", key, integer("count", count)), None


def sinter(*keys: Key | Sequence[Key]) -> Command[set[Any]]:
    """SINTER: the members common to every set at ``keys``, as a set.

    A missing key counts as an empty set, so the result is then empty.
    """
    keys = keys_or_list("sinter", keys)
    return ("SINTER", *keys), to_set


def sunion(*keys: Key | Sequence[Key]) -> Command[set[Any]]:
    """SUNION: the members of any of the sets at ``keys``, as a set (missing keys are empty)."""
    keys = keys_or_list("sunion", keys)
    return ("SUNION", *keys), to_set


def sdiff(*keys: Key | Sequence[Key]) -> Command[set[Any]]:
    """SDIFF: the members of the first set at ``keys`` that are in none of the others, as a set."""
    keys = keys_or_list("sdiff", keys)
    return ("SDIFF", *keys), to_set


def sinterstore(dest: Key, *keys: Key | Sequence[Key]) -> Command[int]:
    """SINTERSTORE: store the intersection of ``keys`` at ``dest``; its size.

    ``dest`` is overwritten (deleted when the result is empty).
    """
    keys = keys_or_list("sinterstore", keys)
    return ("SINTERSTORE", dest, *keys), None


def sunionstore(dest: Key, *keys: Key | Sequence[Key]) -> Command[int]:
    """SUNIONSTORE: store the union of ``keys`` at ``dest``; its size (``dest`` is overwritten)."""
    keys = keys_or_list("sunionstore", keys)
    return ("SUNIONSTORE", dest, *keys), None


def sdiffstore(dest: Key, *keys: Key | Sequence[Key]) -> Command[int]:
    """SDIFFSTORE: store the first of ``keys`` minus the others at ``dest``; its size.

    ``dest`` is overwritten (deleted when the result is empty).
    """
    keys = keys_or_list("sdiffstore", keys)
    return ("SDIFFSTORE", dest, *keys), None


def smove(src: Key, dst: Key, member: Value) -> Command[bool]:
    """SMOVE: move ``member`` from the set at ``src`` to the set at ``dst``.

    ``True`` if it was moved, ``False`` if it was not in ``src``.
    """
    return ("SMOVE", src, dst, member), to_bool


def sscan(
    key: Key,
    cursor: int = 0,
    match: str | bytes | None = None,
    count: int | None = None,
) -> Command[tuple[int, list[Any]]]:
    """SSCAN: one batch of the set at ``key``, ``(next_cursor, members)``.

    The cursor is 0 when done; most code wants ``sscan_iter``.
    """
    args = scan_args("SSCAN", key, cursor, match, count)
    return tuple(args), cursor_batch


def sintercard(numkeys: int, keys: KeyOrKeys, limit: int = 0) -> Command[int]:
    """SINTERCARD: the size of the intersection of the sets at ``keys``.

    ``numkeys`` is the number of ``keys`` (as redis-py's, and as Redis
    wants it; another number raises ``ValueError``). ``limit`` (0: none)
    stops counting there, which is cheaper when only "at least n" matters.
    """
    names = key_list("sintercard", keys)
    if integer("numkeys", numkeys) != len(names):
        raise ValueError(f"sintercard(): numkeys is {numkeys!r} but {len(names)} keys were given")
    return ("SINTERCARD", numkeys, *names, "LIMIT", not_negative("limit", limit)), None
