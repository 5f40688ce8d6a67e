"""Hash commands."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .._errors import DataTypeError, DataValueError
from ._base import (
    Arg,
    Command,
    Key,
    Value,
    flat_pairs,
    integer,
    need_keys,
    number,
    pairs,
    scan_args,
    to_bool,
    to_dict,
    to_float,
)


def hget(name: Key, key: Key) -> Command[Any]:
    """HGET: the value of field ``key`` in the hash ``name``, ``None`` if either is missing."""
    return ("HGET", name, key), None


def hset(
    name: Key,
    key: Key | None = None,
    value: Value | None = None,
    mapping: Mapping[Any, Value] | None = None,
    items: Sequence[Any] | None = None,
    *,
    field: Key | None = None,
) -> Command[int]:
    """HSET: set fields of the hash at ``name``; how many fields were new.

    redis-py's arguments: one field ``key`` (or ``field=``) and its
    ``value``, a ``mapping`` of fields to values, and ``items``, a flat
    ``[field1, value1, field2, value2, ...]`` list, in any combination (sent
    as items, the pair, then the mapping, so the last wins for a field named
    twice). Updating an existing field counts 0. Giving nothing, a field
    without a value (or the reverse), or an odd-length ``items`` raises
    ``ValueError``.
    """
    if field is not None:
        if key is not None:
            raise DataValueError(
                "hset() takes the field as key (redis-py's name) or field, not both"
            )
        key = field
    args: list[Arg] = ["HSET", name]
    if items:
        if isinstance(items, str | bytes | Mapping) or not isinstance(items, Sequence):
            raise DataTypeError(
                f"items must be a flat list [field1, value1, ...], got {type(items).__name__}"
            )
        if len(items) % 2:
            raise DataValueError(f"items must hold field, value pairs; got {len(items)} items")
        args += items
    if (key is None) != (value is None):
        missing = "value" if value is None else "field (key)"
        raise DataValueError(f"hset() needs a field and its value together; {missing} is missing")
    if key is not None and value is not None:
        args += (key, value)
    if mapping is not None and (len(args) == 2 or not isinstance(mapping, Mapping) or mapping):
        args += pairs("hset", mapping, "mapping of field -> value")
    if len(args) == 2:
        raise DataValueError(
            "hset() needs key and value, mapping= or items= to have something to set"
        )
    return tuple(args), None


def hmset(name: Key, mapping: Mapping[Any, Value]) -> Command[bool]:
    """HMSET: set the fields of ``mapping`` in the hash at ``name``; ``True``.

    Deprecated in Redis and redis-py for ``hset(name, mapping=...)``; kept so
    redis-py code runs. It sends HSET (same effect) and, unlike redis-py,
    warns nothing.
    """
    return ("HSET", name, *pairs("hmset", mapping, "mapping of field -> value")), _true


def _true(reply: Any) -> bool:
    return True


def hsetnx(name: Key, key: Key, value: Value) -> Command[bool]:
    """HSETNX: set field ``key`` of hash ``name`` unless it exists; ``True`` if it was set."""
    return ("HSETNX", name, key, value), to_bool


def hmget(name: Key, keys: Key | Iterable[Key], *more: Key) -> Command[list[Any]]:
    """HMGET: the values of the fields in order, ``None`` for each missing one.

    As in redis-py, ``keys`` (the fields) is one field or an iterable of fields (a str
    or bytes is one field), and further fields may follow as arguments:
    ``hmget("user:1", ["name", "email"])`` and ``hmget("user:1", "name",
    "email")`` are the same.
    """
    if isinstance(keys, str | bytes | memoryview):
        names: tuple[Key, ...] = (keys,)
    elif isinstance(keys, Iterable):
        names = tuple(keys)
    else:
        raise DataTypeError(
            f"keys must be a field name or an iterable of field names, "
            f"got {type(keys).__name__} {keys!r}"
        )
    names += more
    need_keys("hmget", names, "field")
    return ("HMGET", name, *names), None


def hgetall(name: Key) -> Command[dict[Any, Any]]:
    """HGETALL: the hash at ``name`` as a dict (empty when missing)."""
    return ("HGETALL", name), to_dict


def hdel(name: Key, *fields: Key) -> Command[int]:
    """HDEL: delete ``fields`` from the hash at ``name``; how many existed."""
    need_keys("hdel", fields, "field")
    return ("HDEL", name, *fields), None


def hexists(name: Key, key: Key) -> Command[bool]:
    """HEXISTS: ``True`` if the hash at ``name`` has field ``key``."""
    return ("HEXISTS", name, key), to_bool


def hincrby(name: Key, key: Key, amount: int = 1) -> Command[int]:
    """HINCRBY: add ``amount`` to the integer in field ``key`` (0 when missing); the new value."""
    return ("HINCRBY", name, key, integer("amount", amount)), None


def hincrbyfloat(name: Key, key: Key, amount: float = 1.0) -> Command[float]:
    """HINCRBYFLOAT: add ``amount`` to the number in field ``key``; the new value as float."""
    return ("HINCRBYFLOAT", name, key, number("amount", amount)), to_float


def hlen(name: Key) -> Command[int]:
    """HLEN: the number of fields in the hash at ``name`` (0 when missing)."""
    return ("HLEN", name), None


def hkeys(name: Key) -> Command[list[Any]]:
    """HKEYS: the field names of the hash at ``name`` (empty when missing)."""
    return ("HKEYS", name), None


def hvals(name: Key) -> Command[list[Any]]:
    """HVALS: the values of the hash at ``name`` (empty when missing)."""
    return ("HVALS", name), None


def hstrlen(name: Key, key: Key) -> Command[int]:
    """HSTRLEN: the length in bytes of the value in field ``key`` (0 when missing)."""
    return ("HSTRLEN", name, key), None


def hrandfield(key: Key, count: int | None = None, withvalues: bool = False) -> Command[Any]:
    """HRANDFIELD: random fields of the hash at ``key``.

    Without ``count``: one field, or ``None`` when the hash is missing. With
    ``count``: a list of up to ``count`` distinct fields, or, for a negative
    ``count``, exactly ``-count`` fields that may repeat (empty when the hash
    is missing). ``withvalues=True`` (which needs ``count``) gives a flat
    ``[field1, value1, field2, value2, ...]`` list, as redis-py's RESP2 result.
    """
    if count is None:
        if withvalues:
            raise DataValueError("hrandfield() withvalues=True needs count=")
        return ("HRANDFIELD", key), None
    args: list[Arg] = ["HRANDFIELD", key, integer("count", count)]
    if withvalues:
        args.append("WITHVALUES")
        return tuple(args), flat_pairs  # RESP3 sends [[field, value], ...]
    return tuple(args), None


def hscan(
    name: Key,
    cursor: int = 0,
    match: str | bytes | None = None,
    count: int | None = None,
) -> Command[tuple[int, dict[Any, Any]]]:
    """HSCAN: one batch of the hash at ``name``, ``(next_cursor, {field: value})``.

    The cursor is 0 when done; most code wants ``hscan_iter``.
    """
    args = scan_args("HSCAN", name, cursor, match, count)
    return tuple(args), _hscan_batch


def _hscan_batch(reply: Any) -> tuple[int, dict[Any, Any]]:
    return int(reply[0]), to_dict(reply[1])
