"""Commands as values: each function returns the arguments and reply transform.

``Client`` (and later ``Pipeline`` and the cluster client) put thin methods on
top of these; a command's arguments and result type are defined here once.
Argument errors are raised here, before anything is sent.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, NamedTuple, TypeVar

from ._protocol import Arg

__all__ = ["Command", "Key", "Value"]

T = TypeVar("T")

Key = str | bytes | memoryview
Value = str | bytes | int | float | memoryview
Expiry = int | datetime.timedelta
Deadline = int | datetime.datetime


class Command(NamedTuple, Generic[T]):
    """One command: its arguments, and how to turn the raw reply into ``T``.

    ``transform`` is ``None`` when the raw reply is already the result.
    """

    args: tuple[Arg, ...]
    transform: Callable[[Any], T] | None = None


# -- argument helpers ------------------------------------------------------------


def _whole(name: str, value: object, unit: str, alternative: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"{name} must be an int of {unit} or a {alternative}, got {type(value).__name__} "
            f"{value!r}"
        )
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return value


def _seconds(name: str, value: object) -> int:
    if isinstance(value, datetime.timedelta):
        seconds = value.total_seconds()
        if seconds != int(seconds):
            raise ValueError(f"{name} must be whole seconds, got {value!r}; use the ms variant")
        value = int(seconds)
    return _whole(name, value, "seconds", "timedelta")


def _millis(name: str, value: object) -> int:
    if isinstance(value, datetime.timedelta):
        value = int(value.total_seconds() * 1000)
    return _whole(name, value, "milliseconds", "timedelta")


def _unix(name: str, value: object, *, millis: bool) -> int:
    if isinstance(value, datetime.datetime):
        stamp = value.timestamp()
        value = int(stamp * 1000) if millis else int(stamp)
    return _whole(name, value, "unix milliseconds" if millis else "unix seconds", "datetime")


def _one_of(**given: object) -> str | None:
    chosen = [name for name, value in given.items() if value]
    if len(chosen) > 1:
        raise ValueError(f"give at most one of {', '.join(given)}; got {', '.join(chosen)}")
    return chosen[0] if chosen else None


def _need_keys(name: str, keys: tuple[Any, ...]) -> None:
    if not keys:
        raise ValueError(f"{name}() needs at least one key")


def _expiry_args(
    ex: Expiry | None, px: Expiry | None, exat: Deadline | None, pxat: Deadline | None
) -> list[Arg]:
    which = _one_of(
        ex=ex is not None, px=px is not None, exat=exat is not None, pxat=pxat is not None
    )
    if which == "ex":
        return ["EX", _seconds("ex", ex)]
    if which == "px":
        return ["PX", _millis("px", px)]
    if which == "exat":
        return ["EXAT", _unix("exat", exat, millis=False)]
    if which == "pxat":
        return ["PXAT", _unix("pxat", pxat, millis=True)]
    return []


# -- reply transforms --------------------------------------------------------------


def _ok(reply: Any) -> bool:
    return reply in (b"OK", "OK")


def _ok_or_none(reply: Any) -> bool | None:
    return True if reply in (b"OK", "OK") else None


def _bool(reply: Any) -> bool:
    return bool(reply)


def _float(reply: Any) -> float:
    return float(reply)


def _str(reply: Any) -> str:
    return reply.decode() if isinstance(reply, bytes) else str(reply)


def _info_value(text: str) -> Any:
    if "," in text and "=" in text:
        return {k: _info_value(v) for k, _, v in (part.partition("=") for part in text.split(","))}
    try:
        number = int(text)
    except ValueError:
        try:
            return float(text) if text[:1].isdigit() or text[:1] == "-" else text
        except ValueError:
            return text
    # Keep identifiers such as a git sha of "00000000" as text.
    return number if str(number) == text else text


def _info(reply: Any) -> dict[str, Any]:
    text = reply.decode() if isinstance(reply, bytes) else reply
    result: dict[str, Any] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if sep:
            result[key] = _info_value(value)
    return result


# -- strings -------------------------------------------------------------------------


def get(key: Key) -> Command[Any]:
    return Command(("GET", key))


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
    args: list[Arg] = ["SET", key, value]
    args += _expiry_args(ex, px, exat, pxat)
    if keepttl:
        if args[3:]:
            raise ValueError("keepttl cannot be combined with ex, px, exat or pxat")
        args.append("KEEPTTL")
    condition = _one_of(nx=nx, xx=xx)
    if condition:
        args.append(condition.upper())
    if get:
        args.append("GET")
        return Command(tuple(args))
    return Command(tuple(args), _ok_or_none)


def mget(keys: tuple[Key, ...]) -> Command[list[Any]]:
    _need_keys("mget", keys)
    return Command(("MGET", *keys))


def mset(mapping: Mapping[Key, Value]) -> Command[bool]:
    if not mapping:
        raise ValueError("mset() needs a non-empty mapping of key -> value")
    args: list[Arg] = ["MSET"]
    for key, value in mapping.items():
        args += (key, value)
    return Command(tuple(args), _ok)


def incrby(key: Key, amount: int = 1) -> Command[int]:
    return Command(("INCRBY", key, amount))


def incrbyfloat(key: Key, amount: float = 1.0) -> Command[float]:
    return Command(("INCRBYFLOAT", key, amount), _float)


def decrby(key: Key, amount: int = 1) -> Command[int]:
    return Command(("DECRBY", key, amount))


def append(key: Key, value: Value) -> Command[int]:
    return Command(("APPEND", key, value))


def getdel(key: Key) -> Command[Any]:
    return Command(("GETDEL", key))


def getex(
    key: Key,
    *,
    ex: Expiry | None = None,
    px: Expiry | None = None,
    exat: Deadline | None = None,
    pxat: Deadline | None = None,
    persist: bool = False,
) -> Command[Any]:
    args: list[Arg] = ["GETEX", key]
    args += _expiry_args(ex, px, exat, pxat)
    if persist:
        if args[2:]:
            raise ValueError("persist cannot be combined with ex, px, exat or pxat")
        args.append("PERSIST")
    return Command(tuple(args))


def strlen(key: Key) -> Command[int]:
    return Command(("STRLEN", key))


# -- keys ------------------------------------------------------------------------------


def delete(keys: tuple[Key, ...]) -> Command[int]:
    _need_keys("delete", keys)
    return Command(("DEL", *keys))


def unlink(keys: tuple[Key, ...]) -> Command[int]:
    _need_keys("unlink", keys)
    return Command(("UNLINK", *keys))


def exists(keys: tuple[Key, ...]) -> Command[int]:
    _need_keys("exists", keys)
    return Command(("EXISTS", *keys))


def _expire(
    name: str, key: Key, amount: int, nx: bool, xx: bool, gt: bool, lt: bool
) -> Command[bool]:
    args: list[Arg] = [name, key, amount]
    condition = _one_of(nx=nx, xx=xx, gt=gt, lt=lt)
    if condition:
        args.append(condition.upper())
    return Command(tuple(args), _bool)


def expire(
    key: Key,
    seconds: Expiry,
    *,
    nx: bool = False,
    xx: bool = False,
    gt: bool = False,
    lt: bool = False,
) -> Command[bool]:
    return _expire("EXPIRE", key, _seconds("seconds", seconds), nx, xx, gt, lt)


def pexpire(
    key: Key,
    millis: Expiry,
    *,
    nx: bool = False,
    xx: bool = False,
    gt: bool = False,
    lt: bool = False,
) -> Command[bool]:
    return _expire("PEXPIRE", key, _millis("millis", millis), nx, xx, gt, lt)


def ttl(key: Key) -> Command[int]:
    return Command(("TTL", key))


def pttl(key: Key) -> Command[int]:
    return Command(("PTTL", key))


def persist(key: Key) -> Command[bool]:
    return Command(("PERSIST", key), _bool)


def type_(key: Key) -> Command[str]:
    return Command(("TYPE", key), _str)


def rename(key: Key, new_key: Key) -> Command[bool]:
    return Command(("RENAME", key, new_key), _ok)


def scan(
    cursor: int, match: str | bytes | None, count: int | None, type_: str | None
) -> Command[Any]:
    args: list[Arg] = ["SCAN", cursor]
    if match is not None:
        args += ("MATCH", match)
    if count is not None:
        if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
            raise ValueError(f"count must be a positive int, got {count!r}")
        args += ("COUNT", count)
    if type_ is not None:
        args += ("TYPE", type_)
    return Command(tuple(args))


# -- server ------------------------------------------------------------------------------


def ping(message: Value | None = None) -> Command[Any]:
    if message is None:
        return Command(("PING",), _bool)
    return Command(("PING", message))


def echo(message: Value) -> Command[Any]:
    return Command(("ECHO", message))


def flushdb(asynchronous: bool = False) -> Command[bool]:
    return Command(("FLUSHDB", "ASYNC") if asynchronous else ("FLUSHDB",), _ok)


def dbsize() -> Command[int]:
    return Command(("DBSIZE",))


def info(sections: Iterable[str]) -> Command[dict[str, Any]]:
    return Command(("INFO", *sections), _info)
