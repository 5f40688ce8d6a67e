"""Hash commands."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ._base import (
    Arg,
    Command,
    Key,
    Value,
    integer,
    need_keys,
    number,
    pairs,
    scan_args,
    to_bool,
    to_dict,
    to_float,
)


def hget(key: Key, field: Key) -> Command[Any]:
    """HGET: the value of ``field`` in the hash at ``key``, ``None`` if either is missing."""
    return ("HGET", key, field), None


def hset(
    key: Key,
    field: Key | None = None,
    value: Value | None = None,
    *,
    mapping: Mapping[Any, Value] | None = None,
) -> Command[int]:
    """HSET: set fields of the hash at ``key``; how many fields were new.

    Give one ``field`` and its ``value``, a ``mapping`` of fields to values,
    or both (the pair is sent first, so ``mapping`` wins for a field named
    twice). Updating an existing field counts 0. Giving nothing, or a
    ``field`` without a ``value`` (or the reverse), raises ``ValueError``.
    """
    args: list[Arg] = ["HSET", key]
    if (field is None) != (value is None):
        missing = "value" if value is None else "field"
        raise ValueError(f"hset() needs field and value together; {missing} is missing")
    if field is not None and value is not None:
        args += (field, value)
    if mapping is not None and (field is None or not isinstance(mapping, Mapping) or mapping):
        args += pairs("hset", mapping, "mapping of field -> value")
    if len(args) == 2:
        raise ValueError("hset() needs field and value, or mapping=, to have something to set")
    return tuple(args), None


def hsetnx(key: Key, field: Key, value: Value) -> Command[bool]:
    """HSETNX: set ``field`` only if it does not exist yet; ``True`` if it was set."""
    return ("HSETNX", key, field, value), to_bool


def hmget(key: Key, fields: Key | Iterable[Key], *more: Key) -> Command[list[Any]]:
    """HMGET: the values of the fields in order, ``None`` for each missing one.

    As in redis-py, ``fields`` is one field or an iterable of fields (a str
    or bytes is one field), and further fields may follow as arguments:
    ``hmget("user:1", ["name", "email"])`` and ``hmget("user:1", "name",
    "email")`` are the same.
    """
    if isinstance(fields, str | bytes | memoryview):
        names: tuple[Key, ...] = (fields,)
    elif isinstance(fields, Iterable):
        names = tuple(fields)
    else:
        raise TypeError(
            f"fields must be a field name or an iterable of field names, "
            f"got {type(fields).__name__} {fields!r}"
        )
    names += more
    need_keys("hmget", names, "field")
    return ("HMGET", key, *names), None


def hgetall(key: Key) -> Command[dict[Any, Any]]:
    """HGETALL: the hash at ``key`` as a dict (empty when missing)."""
    return ("HGETALL", key), to_dict


def hdel(key: Key, *fields: Key) -> Command[int]:
    """HDEL: delete ``fields`` from the hash at ``key``; how many existed."""
    need_keys("hdel", fields, "field")
    return ("HDEL", key, *fields), None


def hexists(key: Key, field: Key) -> Command[bool]:
    """HEXISTS: ``True`` if the hash at ``key`` has ``field``."""
    return ("HEXISTS", key, field), to_bool


def hincrby(key: Key, field: Key, amount: int = 1) -> Command[int]:
    """HINCRBY: add ``amount`` to the integer in ``field`` (0 when missing); the new value."""
    return ("HINCRBY", key, field, integer("amount", amount)), None


def hincrbyfloat(key: Key, field: Key, amount: float = 1.0) -> Command[float]:
    """HINCRBYFLOAT: add ``amount`` to the number in ``field``; the new value as float."""
    return ("HINCRBYFLOAT", key, field, number("amount", amount)), to_float


def hlen(key: Key) -> Command[int]:
    """HLEN: the number of fields in the hash at ``key`` (0 when missing)."""
    return ("HLEN", key), None


def hkeys(key: Key) -> Command[list[Any]]:
    """HKEYS: the field names of the hash at ``key`` (empty when missing)."""
    return ("HKEYS", key), None


def hvals(key: Key) -> Command[list[Any]]:
    """HVALS: the values of the hash at ``key`` (empty when missing)."""
    return ("HVALS", key), None


def hstrlen(key: Key, field: Key) -> Command[int]:
    """HSTRLEN: the length in bytes of the value in ``field`` (0 when missing)."""
    return ("HSTRLEN", key, field), None


def hrandfield(key: Key, count: int | None = None, *, withvalues: bool = False) -> Command[Any]:
    """HRANDFIELD: random fields of the hash at ``key``.

    Without ``count``: one field, or ``None`` when the hash is missing. With
    ``count``: a list of up to ``count`` distinct fields, or, for a negative
    ``count``, exactly ``-count`` fields that may repeat (empty when the hash
    is missing). ``withvalues=True`` (which needs ``count``) gives
    ``(field, value)`` tuples instead of fields.
    """
    if count is None:
        if withvalues:
            raise ValueError("hrandfield() withvalues=True needs count=")
        return ("HRANDFIELD", key), None
    args: list[Arg] = ["HRANDFIELD", key, integer("count", count)]
    if withvalues:
        args.append("WITHVALUES")
        return tuple(args), _field_value_pairs
    return tuple(args), None


def _field_value_pairs(reply: Any) -> list[tuple[Any, Any]]:
    it = iter(reply)
    return list(zip(it, it, strict=True))


def hscan(
    key: Key,
    cursor: int = 0,
    match: str | bytes | None = None,
    count: int | None = None,
) -> Command[tuple[int, dict[Any, Any]]]:
    """HSCAN: one batch of the hash at ``key``, ``(next_cursor, {field: value})``.

    The cursor is 0 when done; most code wants ``hscan_iter``.
    """
    args = scan_args("HSCAN", key, cursor, match, count)
    return tuple(args), _hscan_batch


def _hscan_batch(reply: Any) -> tuple[int, dict[Any, Any]]:
    return int(reply[0]), to_dict(reply[1])
