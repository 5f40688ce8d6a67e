"""String commands."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._base import (
    Arg,
    Command,
    Deadline,
    Expiry,
    Key,
    Value,
    expiry_args,
    integer,
    keys_or_list,
    number,
    ok,
    ok_or_none,
    one_of,
    pairs,
    to_bool,
    to_float,
)


def get(key: Key) -> Command[Any]:
    """GET: the value at ``key``, or ``None`` when it does not exist."""
    return ("GET", key), None


def set_(
    key: Key,
    value: Value,
    *,
    ex: Expiry | None = None,
    px: Expiry | None = None,
    exat: Deadline | None = None,
    pxat: Deadline | None = None,
    nx: bool = False,
    xx: bool = False,
    keepttl: bool = False,
    get: bool = False,
) -> Command[Any]:
    """SET: store ``value``; ``True``, or ``None`` when ``nx``/``xx`` prevented it.

    ``ex``/``px`` (seconds/milliseconds, int or timedelta) and
    ``exat``/``pxat`` (unix time, int or datetime) set an expiry; give at
    most one, and not with ``keepttl``. With ``get=True`` the old value is
    the result instead. Conflicting options raise ``ValueError`` before
    anything is sent.
    """
    if (
        ex is None
        and px is None
        and exat is None
        and pxat is None
        and not (nx or xx or keepttl or get)
    ):
        return ("SET", key, value), ok_or_none  # the common case, without the checks
    args: list[Arg] = ["SET", key, value]
    args += expiry_args(ex, px, exat, pxat)
    if keepttl:
        if args[3:]:
            raise ValueError("keepttl cannot be combined with ex, px, exat or pxat")
        args.append("KEEPTTL")
    condition = one_of(nx=nx, xx=xx)
    if condition:
        args.append(condition.upper())
    if get:
        args.append("GET")
        return tuple(args), None
    return tuple(args), ok_or_none


def mget(*keys: Key | Sequence[Key]) -> Command[list[Any]]:
    """MGET: the values at ``keys``, ``None`` for each missing one."""
    keys = keys_or_list("mget", keys)
    return ("MGET", *keys), None


def mset(mapping: Mapping[Any, Value]) -> Command[bool]:
    """MSET: set every key of ``mapping`` atomically; ``True``."""
    return ("MSET", *pairs("mset", mapping, "mapping of key -> value")), ok


def msetnx(mapping: Mapping[Any, Value]) -> Command[bool]:
    """MSETNX: set every key of ``mapping`` only if none exists; ``True`` if set."""
    return ("MSETNX", *pairs("msetnx", mapping, "mapping of key -> value")), to_bool


def incr(key: Key, amount: int = 1) -> Command[int]:
    """INCR: add 1 (or ``amount``, as redis-py's ``incr``: INCRBY) to the integer at ``key``."""
    if amount == 1 and not isinstance(amount, bool):
        return ("INCR", key), None
    return ("INCRBY", key, integer("amount", amount)), None


def incrby(key: Key, amount: int = 1) -> Command[int]:
    """INCRBY: add ``amount`` to the integer at ``key``; the new value."""
    return ("INCRBY", key, integer("amount", amount)), None


def incrbyfloat(key: Key, amount: float = 1.0) -> Command[float]:
    """INCRBYFLOAT: add ``amount`` to the number at ``key``; the new value as float."""
    return ("INCRBYFLOAT", key, number("amount", amount)), to_float


def decr(key: Key, amount: int = 1) -> Command[int]:
    """DECR: subtract 1 (or ``amount``, as redis-py's ``decr``: DECRBY) from the integer at ``key``."""
    if amount == 1 and not isinstance(amount, bool):
        return ("DECR", key), None
    return ("DECRBY", key, integer("amount", amount)), None


def decrby(key: Key, amount: int = 1) -> Command[int]:
    """DECRBY: subtract ``amount`` from the integer at ``key``; the new value."""
    return ("DECRBY", key, integer("amount", amount)), None


def append(key: Key, value: Value) -> Command[int]:
    """APPEND: append ``value`` to the string at ``key``; the new length."""
    return ("APPEND", key, value), None


def getdel(key: Key) -> Command[Any]:
    """GETDEL: the value at ``key``, deleting it (``None`` if missing)."""
    return ("GETDEL", key), None


def getex(
    key: Key,
    *,
    ex: Expiry | None = None,
    px: Expiry | None = None,
    exat: Deadline | None = None,
    pxat: Deadline | None = None,
    persist: bool = False,
) -> Command[Any]:
    """GETEX: the value at ``key``, setting (or with ``persist`` dropping) its expiry."""
    args: list[Arg] = ["GETEX", key]
    args += expiry_args(ex, px, exat, pxat)
    if persist:
        if args[2:]:
            raise ValueError("persist cannot be combined with ex, px, exat or pxat")
        args.append("PERSIST")
    return tuple(args), None


def getrange(key: Key, start: int, end: int) -> Command[Any]:
    """GETRANGE: the substring from ``start`` to ``end`` (inclusive, negative from the end)."""
    return ("GETRANGE", key, integer("start", start), integer("end", end)), None


def setrange(key: Key, offset: int, value: Value) -> Command[int]:
    """SETRANGE: overwrite from byte ``offset`` on; the new length."""
    return ("SETRANGE", key, integer("offset", offset), value), None


def strlen(key: Key) -> Command[int]:
    """STRLEN: the length of the string at ``key`` (0 when missing)."""
    return ("STRLEN", key), None
