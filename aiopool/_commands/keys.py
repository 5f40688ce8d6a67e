"""Commands on keys of any type: deletion, expiry, renaming, scanning."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from ._base import (
    Arg,
    Command,
    Deadline,
    Expiry,
    Key,
    cursor_batch,
    integer,
    keys_or_list,
    not_negative,
    ok,
    one_of,
    scan_args,
    to_bool,
    to_str,
    to_str_or_none,
    unix,
)
from ._base import millis as whole_millis
from ._base import seconds as whole_seconds


def delete(*keys: Key | Sequence[Key]) -> Command[int]:
    """DEL: delete ``keys``; how many existed."""
    keys = keys_or_list("delete", keys)
    return ("DEL", *keys), None


def unlink(*keys: Key | Sequence[Key]) -> Command[int]:
    """UNLINK: delete ``keys``, reclaiming memory in the background; how many existed."""
    keys = keys_or_list("unlink", keys)
    return ("UNLINK", *keys), None


def exists(*keys: Key | Sequence[Key]) -> Command[int]:
    """EXISTS: how many of ``keys`` exist (a key named twice counts twice)."""
    keys = keys_or_list("exists", keys)
    return ("EXISTS", *keys), None


def _expire(
    name: str, key: Key, amount: int, nx: bool, xx: bool, gt: bool, lt: bool
) -> Command[bool]:
    args: list[Arg] = [name, key, amount]
    condition = one_of(nx=nx, xx=xx, gt=gt, lt=lt)
    if condition:
        args.append(condition.upper())
    return tuple(args), to_bool


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
    return ("TTL", key), None


def pttl(key: Key) -> Command[int]:
    """PTTL: milliseconds left to live; -1 without expiry, -2 when missing."""
    return ("PTTL", key), None


def persist(key: Key) -> Command[bool]:
    """PERSIST: remove the expiry; ``True`` if there was one."""
    return ("PERSIST", key), to_bool


def type_(key: Key) -> Command[str]:
    """TYPE: the type name of the value at ``key`` (``"none"`` when missing)."""
    return ("TYPE", key), to_str


def rename(key: Key, new_key: Key) -> Command[bool]:
    """RENAME: rename ``key``; ``True``. A missing key raises ``ReplyError``."""
    return ("RENAME", key, new_key), ok


def renamenx(key: Key, new_key: Key) -> Command[bool]:
    """RENAMENX: rename ``key`` only if ``new_key`` does not exist; ``True`` if renamed."""
    return ("RENAMENX", key, new_key), to_bool


def _one_type(type_: str | None, _type: str | None) -> str | None:
    """``type_``, or redis-py's ``_type`` for it; ``ValueError`` for both."""
    if _type is None:
        return type_
    if type_ is not None:
        raise ValueError("give type_ or _type (redis-py's name), not both")
    return _type


def scan(
    cursor: int = 0,
    match: str | bytes | None = None,
    count: int | None = None,
    type_: str | None = None,
    *,
    _type: str | None = None,
) -> Command[tuple[int, list[Any]]]:
    """SCAN: one batch, ``(next_cursor, keys)``; the cursor is 0 when done.

    Most code wants ``scan_iter``, which runs the batches for you.
    """
    type_ = _one_type(type_, _type)
    args = scan_args("SCAN", None, cursor, match, count)
    if type_ is not None:
        args += ("TYPE", type_)
    return tuple(args), cursor_batch


# -- more expiry -------------------------------------------------------------------------


def expireat(
    key: Key,
    when: Deadline,
    *,
    nx: bool = False,
    xx: bool = False,
    gt: bool = False,
    lt: bool = False,
) -> Command[bool]:
    """EXPIREAT: expire ``key`` at unix time ``when``; ``False`` if missing or a condition failed.

    ``when`` is a positive int of unix seconds or a ``datetime`` (a naive one
    is local time; fractions of a second are dropped); ``nx``, ``xx``, ``gt``
    and ``lt`` (at most one) make it conditional, as for ``expire``.
    """
    return _expire("EXPIREAT", key, unix("when", when, in_millis=False), nx, xx, gt, lt)


def pexpireat(
    key: Key,
    when: Deadline,
    *,
    nx: bool = False,
    xx: bool = False,
    gt: bool = False,
    lt: bool = False,
) -> Command[bool]:
    """PEXPIREAT: expire ``key`` at unix time ``when`` in milliseconds; ``False`` if not set.

    ``when`` is a positive int of unix milliseconds or a ``datetime``.
    """
    return _expire("PEXPIREAT", key, unix("when", when, in_millis=True), nx, xx, gt, lt)


def expiretime(key: Key) -> Command[int]:
    """EXPIRETIME: the unix time in seconds ``key`` expires at; -1 without expiry, -2 if missing.

    A millisecond expiry (``pexpireat``) is rounded to the nearest second.
    """
    return ("EXPIRETIME", key), None


def pexpiretime(key: Key) -> Command[int]:
    """PEXPIRETIME: the unix time in milliseconds ``key`` expires at; -1 / -2 as ``expiretime``."""
    return ("PEXPIRETIME", key), None


def touch(*keys: Key | Sequence[Key]) -> Command[int]:
    """TOUCH: update the last access time of ``keys``; how many exist."""
    keys = keys_or_list("touch", keys)
    return ("TOUCH", *keys), None


# -- copying and serializing ---------------------------------------------------------------


def copy(
    source: Key, destination: Key, destination_db: int | None = None, replace: bool = False
) -> Command[bool]:
    """COPY: copy the value at ``source`` to ``destination``; ``True`` if copied.

    ``False`` when ``source`` is missing or ``destination`` exists (unless
    ``replace=True``). ``destination_db`` copies into another database of
    the same server.
    """
    args: list[Arg] = ["COPY", source, destination]
    if destination_db is not None:
        args += ("DB", not_negative("destination_db", destination_db))
    if replace:
        args.append("REPLACE")
    return tuple(args), to_bool


def dump(key: Key) -> Command[bytes | None]:
    """DUMP: the value at ``key`` serialized for ``restore``; ``None`` when missing.

    The payload is binary (RDB encoding plus a checksum), not text: use a
    client with ``decode_responses=False``. With ``decode_responses=True``
    the reply is decoded as UTF-8, which fails for most payloads with
    ``ProtocolError`` (the connection is closed and replaced).
    """
    return ("DUMP", key), None


def restore(
    key: Key,
    ttl: int | datetime.timedelta | datetime.datetime,
    value: bytes | memoryview,
    replace: bool = False,
    absttl: bool = False,
    idletime: int | None = None,
    frequency: int | None = None,
) -> Command[bool]:
    """RESTORE: create ``key`` from ``value``, a payload from ``dump``; ``True``.

    ``ttl`` is the time to live in milliseconds (int or ``timedelta``; 0
    means no expiry), or with ``absttl=True`` the unix time in milliseconds
    to expire at (int or ``datetime``). An existing ``key`` raises
    ``ReplyError`` (``BUSYKEY``) unless ``replace=True``; a corrupt payload
    raises ``ReplyError`` too. ``idletime`` (seconds) or ``frequency``
    (0-255), not both, set the key's eviction statistics.
    """
    if isinstance(value, str) or not isinstance(value, bytes | memoryview):
        raise TypeError(
            f"value must be the bytes dump() returned (from a client without "
            f"decode_responses), got {type(value).__name__}"
        )
    args: list[Arg] = ["RESTORE", key, _restore_ttl(ttl, absttl), value]
    if replace:
        args.append("REPLACE")
    if absttl:
        args.append("ABSTTL")
    one_of(idletime=idletime is not None, frequency=frequency is not None)
    if idletime is not None:
        args += ("IDLETIME", not_negative("idletime", idletime))
    if frequency is not None:
        if not 0 <= integer("frequency", frequency) <= 255:
            raise ValueError(f"frequency must be between 0 and 255, got {frequency!r}")
        args += ("FREQ", frequency)
    return tuple(args), ok


def _restore_ttl(ttl: object, absttl: bool) -> int:
    if isinstance(ttl, datetime.datetime):
        if not absttl:
            raise ValueError("ttl is a datetime: pass absttl=True to expire at that time")
        return unix("ttl", ttl, in_millis=True)
    if isinstance(ttl, datetime.timedelta):
        if absttl:
            raise ValueError("with absttl=True, ttl is a unix time (int ms or datetime)")
        ttl = -(-ttl // datetime.timedelta(milliseconds=1))  # exact, rounded up
    if isinstance(ttl, bool) or not isinstance(ttl, int):
        raise TypeError(
            f"ttl must be an int of milliseconds, a timedelta or (with absttl) a datetime, "
            f"got {type(ttl).__name__} {ttl!r}"
        )
    if ttl < 0:
        raise ValueError(f"ttl must be >= 0 (0 means no expiry), got {ttl!r}")
    return ttl


# -- introspection --------------------------------------------------------------------------


def object_encoding(key: Key) -> Command[str | None]:
    """OBJECT ENCODING: the value's internal encoding (``"int"``, ...); ``None`` if missing."""
    return ("OBJECT", "ENCODING", key), to_str_or_none


def object_idletime(key: Key) -> Command[int | None]:
    """OBJECT IDLETIME: seconds since ``key`` was last accessed; ``None`` if missing.

    Raises ``ReplyError`` when the server's ``maxmemory-policy`` is an LFU one.
    """
    return ("OBJECT", "IDLETIME", key), None


def object_freq(key: Key) -> Command[int | None]:
    """OBJECT FREQ: the logarithmic access counter of ``key``; ``None`` if missing.

    Only with an LFU ``maxmemory-policy``; otherwise raises ``ReplyError``.
    """
    return ("OBJECT", "FREQ", key), None


def object_refcount(key: Key) -> Command[int | None]:
    """OBJECT REFCOUNT: the reference count of the value at ``key``; ``None`` if missing."""
    return ("OBJECT", "REFCOUNT", key), None


def randomkey() -> Command[Any]:
    """RANDOMKEY: a random key of the current database; ``None`` when it is empty."""
    return ("RANDOMKEY",), None


def keys(pattern: str | bytes = "*") -> Command[list[Any]]:
    """KEYS: every key matching the glob-style ``pattern``, as a list.

    KEYS walks the whole keyspace in one go and blocks the server (every
    other client) meanwhile: on a database of any size use ``scan_iter``.
    """
    return ("KEYS", pattern), None
