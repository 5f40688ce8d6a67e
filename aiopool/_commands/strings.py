"""String commands."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._errors import DataValueError
from ._base import (
    Arg,
    Command,
    Deadline,
    Expiry,
    Key,
    Value,
    expiry_args,
    flat_pairs,
    integer,
    keys_or_list,
    millis,
    number,
    ok,
    ok_or_none,
    one_of,
    pairs,
    seconds,
    to_bool,
    to_float,
)


def get(name: Key) -> Command[Any]:
    """GET: the value at ``name``, or ``None`` when it does not exist."""
    return ("GET", name), None


def set_(
    name: Key,
    value: Value,
    ex: Expiry | None = None,
    px: Expiry | None = None,
    nx: bool = False,
    xx: bool = False,
    keepttl: bool = False,
    get: bool = False,
    exat: Deadline | None = None,
    pxat: Deadline | None = None,
) -> Command[Any]:
    """SET: store ``value``; ``True``, or ``None`` when ``nx``/``xx`` prevented it.

    ``ex``/``px`` (seconds/milliseconds, int or timedelta) and
    ``exat``/``pxat`` (unix time, int or datetime) set an expiry; give at
    most one, and not with ``keepttl``. With ``get=True`` the old value is
    the result instead. Conflicting options raise ``ValueError`` before
    anything is sent. The options take redis-py's positional order too
    (``set(k, v, 10)`` is ``ex=10``).
    """
    if (
        ex is None
        and px is None
        and exat is None
        and pxat is None
        and not (nx or xx or keepttl or get)
    ):
        return ("SET", name, value), ok_or_none  # the common case, without the checks
    args: list[Arg] = ["SET", name, value]
    args += expiry_args(ex, px, exat, pxat)
    if keepttl:
        if args[3:]:
            raise DataValueError("keepttl cannot be combined with ex, px, exat or pxat")
        args.append("KEEPTTL")
    condition = one_of(nx=nx, xx=xx)
    if condition:
        args.append(condition.upper())
    if get:
        args.append("GET")
        return tuple(args), None
    return tuple(args), ok_or_none


def mget(keys: Key | Sequence[Key], *args: Key | Sequence[Key]) -> Command[list[Any]]:
    """MGET: the values at ``keys``, ``None`` for each missing one.

    An empty list, ``mget([])``, gives ``[]`` as redis-py's does (it sends a
    PING, so a pipeline's replies still pair one-to-one with its commands).
    """
    if not args and isinstance(keys, list | tuple) and not keys:
        return ("PING",), _no_values
    return ("MGET", *keys_or_list("mget", (keys, *args))), None


def _no_values(reply: Any) -> list[Any]:
    return []


def mset(mapping: Mapping[Any, Value]) -> Command[bool]:
    """MSET: set every key of ``mapping`` atomically; ``True``."""
    return ("MSET", *pairs("mset", mapping, "mapping of key -> value")), ok


def msetnx(mapping: Mapping[Any, Value]) -> Command[bool]:
    """MSETNX: set every key of ``mapping`` only if none exists; ``True`` if set."""
    return ("MSETNX", *pairs("msetnx", mapping, "mapping of key -> value")), to_bool


def incr(name: Key, amount: int = 1) -> Command[int]:
    """INCR: add 1 (or ``amount``, as redis-py's ``incr``: INCRBY) to the integer at ``name``."""
    if amount == 1 and not isinstance(amount, bool):
        return ("INCR", name), None
    return ("INCRBY", name, integer("amount", amount)), None


def incrby(name: Key, amount: int = 1) -> Command[int]:
    """INCRBY: add ``amount`` to the integer at ``name``; the new value."""
    return ("INCRBY", name, integer("amount", amount)), None


def incrbyfloat(name: Key, amount: float = 1.0) -> Command[float]:
    """INCRBYFLOAT: add ``amount`` to the number at ``name``; the new value as float."""
    return ("INCRBYFLOAT", name, number("amount", amount)), to_float


def decr(name: Key, amount: int = 1) -> Command[int]:
    """DECR: subtract 1 (or ``amount``, as redis-py's ``decr``: DECRBY) from the integer at ``name``."""
    if amount == 1 and not isinstance(amount, bool):
        return ("DECR", name), None
    return ("DECRBY", name, integer("amount", amount)), None


def decrby(name: Key, amount: int = 1) -> Command[int]:
    """DECRBY: subtract ``amount`` from the integer at ``name``; the new value."""
    return ("DECRBY", name, integer("amount", amount)), None


def append(key: Key, value: Value) -> Command[int]:
    """APPEND: append ``value`` to the string at ``key``; the new length."""
    return ("APPEND", key, value), None


def getdel(name: Key) -> Command[Any]:
    """GETDEL: the value at ``name``, deleting it (``None`` if missing)."""
    return ("GETDEL", name), None


def getex(
    name: Key,
    ex: Expiry | None = None,
    px: Expiry | None = None,
    exat: Deadline | None = None,
    pxat: Deadline | None = None,
    persist: bool = False,
) -> Command[Any]:
    """GETEX: the value at ``name``, setting (or with ``persist`` dropping) its expiry.

    The options take redis-py's positional order (``ex, px, exat, pxat, persist``).
    """
    args: list[Arg] = ["GETEX", name]
    args += expiry_args(ex, px, exat, pxat)
    if persist:
        if args[2:]:
            raise DataValueError("persist cannot be combined with ex, px, exat or pxat")
        args.append("PERSIST")
    return tuple(args), None


def getrange(key: Key, start: int, end: int) -> Command[Any]:
    """GETRANGE: the substring from ``start`` to ``end`` (inclusive, negative from the end)."""
    return ("GETRANGE", key, integer("start", start), integer("end", end)), None


def setrange(name: Key, offset: int, value: Value) -> Command[int]:
    """SETRANGE: overwrite from byte ``offset`` on; the new length."""
    return ("SETRANGE", name, integer("offset", offset), value), None


def strlen(name: Key) -> Command[int]:
    """STRLEN: the length of the string at ``name`` (0 when missing)."""
    return ("STRLEN", name), None


def substr(name: Key, start: int, end: int = -1) -> Command[Any]:
    """SUBSTR: the substring from ``start`` to ``end`` (inclusive; to the end by default).

    SUBSTR is GETRANGE's old name; this sends GETRANGE, which every server has.
    """
    return ("GETRANGE", name, integer("start", start), integer("end", end)), None


def setex(name: Key, time: Expiry, value: Value) -> Command[bool]:
    """SETEX: store ``value`` with a time to live of ``time`` seconds (int or timedelta); ``True``."""
    return ("SETEX", name, seconds("time", time), value), ok


def psetex(name: Key, time_ms: Expiry, value: Value) -> Command[bool]:
    """PSETEX: store ``value`` with a time to live of ``time_ms`` milliseconds; ``True``.

    ``time_ms`` is an int of milliseconds or a ``timedelta``.
    """
    return ("PSETEX", name, millis("time_ms", time_ms), value), ok


def setnx(name: Key, value: Value) -> Command[bool]:
    """SETNX: store ``value`` only if ``name`` does not exist; ``True`` if it was set."""
    return ("SETNX", name, value), to_bool


def getset(name: Key, value: Value) -> Command[Any]:
    """GETSET: store ``value`` and return the old value (``None`` when ``name`` was missing).

    Redis deprecates GETSET for ``set(key, value, get=True)``; both work.
    """
    return ("GETSET", name, value), None


def lcs(
    key1: Key,
    key2: Key,
    len: bool = False,
    idx: bool = False,
    minmatchlen: int = 0,
    withmatchlen: bool = False,
) -> Command[Any]:
    """LCS: the longest common subsequence of the strings at ``key1`` and ``key2``.

    The subsequence itself; with ``len=True`` its length (an int); with
    ``idx=True`` Redis's match description as it replies it, a flat list
    ``[b"matches", [[[start1, end1], [start2, end2]], ...], b"len", n]``, as
    redis-py's RESP2 result (``withmatchlen`` adds each match's length,
    ``minmatchlen`` drops shorter matches; without ``idx`` Redis ignores
    both). ``len`` and ``idx`` together raise ``ValueError`` (Redis refuses
    them).
    """
    args: list[Arg] = ["LCS", key1, key2]
    one_of(len=len, idx=idx)
    shortest = 0 if minmatchlen is None else integer("minmatchlen", minmatchlen)
    if shortest < 0:
        raise DataValueError(f"minmatchlen must be an int >= 0, got {minmatchlen!r}")
    if len:
        args.append("LEN")
    if idx:
        args.append("IDX")
    if shortest:
        args += ("MINMATCHLEN", shortest)
    if withmatchlen:
        args.append("WITHMATCHLEN")
    # RESP3 sends the IDX description as a map: flattened to RESP2's list.
    return tuple(args), flat_pairs if idx else None
