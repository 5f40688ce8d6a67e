"""List commands, blocking pops and moves included."""

from __future__ import annotations

import datetime
from typing import Any

from .._errors import DataTypeError, DataValueError
from ._base import (
    Arg,
    Command,
    Key,
    KeyOrKeys,
    Number,
    Value,
    block_seconds,
    int_like,
    integer,
    key_list,
    need_keys,
    not_negative,
    ok,
    positive,
)


def _word(name: str, value: object, choices: tuple[str, ...]) -> str:
    """``value`` as one of ``choices`` (any case), upper-cased; else Type/ValueError."""
    if not isinstance(value, str):
        raise DataTypeError(
            f"{name} must be one of {', '.join(map(repr, choices))}, "
            f"got {type(value).__name__} {value!r}"
        )
    word = value.upper()
    if word not in choices:
        raise DataValueError(
            f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}"
        )
    return word


def _side(name: str, value: object) -> str:
    return _word(name, value, ("LEFT", "RIGHT"))


# -- pushing --------------------------------------------------------------------------


def _push(name: str, key: Key, values: tuple[Value, ...]) -> Command[int]:
    need_keys(name.lower(), values, "value")
    return (name, key, *values), None


def lpush(name: Key, *values: Value) -> Command[int]:
    """LPUSH: insert ``values`` at the head, one after another; the new length.

    ``lpush("l", "a", "b")`` leaves ``b`` first. A missing key is created.
    """
    return _push("LPUSH", name, values)


def rpush(name: Key, *values: Value) -> Command[int]:
    """RPUSH: append ``values`` at the tail, in order; the new length."""
    return _push("RPUSH", name, values)


def lpushx(name: Key, *values: Value) -> Command[int]:
    """LPUSHX: like LPUSH, only if the list exists; the new length (0 when missing)."""
    return _push("LPUSHX", name, values)


def rpushx(name: Key, *values: Value) -> Command[int]:
    """RPUSHX: like RPUSH, only if the list exists; the new length (0 when missing)."""
    return _push("RPUSHX", name, values)


# -- popping --------------------------------------------------------------------------


def _pop(name: str, key: Key, count: int | None) -> Command[Any]:
    if count is None:
        return (name, key), None
    return (name, key, not_negative("count", count)), None


def lpop(name: Key, count: int | None = None) -> Command[Any]:
    """LPOP: remove and return the first element, ``None`` when the list is missing.

    With ``count``: a list of up to ``count`` elements from the head, or
    ``None`` when the list is missing.
    """
    return _pop("LPOP", name, count)


def rpop(name: Key, count: int | None = None) -> Command[Any]:
    """RPOP: remove and return the last element, ``None`` when the list is missing.

    With ``count``: a list of up to ``count`` elements from the tail (last
    first), or ``None`` when the list is missing.
    """
    return _pop("RPOP", name, count)


# -- reading and editing ------------------------------------------------------------------


def lrange(name: Key, start: int, end: int) -> Command[list[Any]]:
    """LRANGE: the elements from ``start`` to ``end`` (inclusive, negative from the end).

    ``lrange(key, 0, -1)`` is the whole list; a missing key gives ``[]``.
    """
    return ("LRANGE", name, integer("start", start), integer("end", end)), None


def llen(name: Key) -> Command[int]:
    """LLEN: the length of the list at ``name`` (0 when missing)."""
    return ("LLEN", name), None


def lindex(name: Key, index: int | str) -> Command[Any]:
    """LINDEX: the element at ``index`` (negative from the end), ``None`` if out of range.

    ``index`` is an int, or an integer as a str (``"0"``), as redis-py code passes it.
    """
    return ("LINDEX", name, int_like("index", index)), None


def lset(name: Key, index: int, value: Value) -> Command[bool]:
    """LSET: replace the element at ``index``; ``True``.

    An index out of range or a missing key raises ``ReplyError``.
    """
    return ("LSET", name, integer("index", index), value), ok


def linsert(name: Key, where: str, refvalue: Value, value: Value) -> Command[int]:
    """LINSERT: insert ``value`` before or after the first ``refvalue``; the new length.

    ``where`` is ``"BEFORE"`` or ``"AFTER"`` (any case). The result is -1
    when ``refvalue`` is not in the list and 0 when the list is missing.
    """
    return ("LINSERT", name, _word("where", where, ("BEFORE", "AFTER")), refvalue, value), None


def lrem(name: Key, count: int, value: Value) -> Command[int]:
    """LREM: remove elements equal to ``value``; how many were removed.

    ``count`` > 0 removes up to ``count`` from the head, < 0 up to
    ``-count`` from the tail, 0 all of them.
    """
    return ("LREM", name, integer("count", count), value), None


def ltrim(name: Key, start: int, end: int) -> Command[bool]:
    """LTRIM: keep only the elements from ``start`` to ``end`` (inclusive); ``True``."""
    return ("LTRIM", name, integer("start", start), integer("end", end)), ok


def lpos(
    name: Key,
    value: Value,
    rank: int | None = None,
    count: int | None = None,
    maxlen: int | None = None,
) -> Command[Any]:
    """LPOS: the index of ``value`` in the list, or ``None`` when it is not there.

    ``rank`` picks the n-th match (1 the first, -1 the last; never 0). With
    ``count`` the result is a list of up to ``count`` indexes (0: every
    match; ``[]`` when none). ``maxlen`` compares at most that many elements
    (0: no limit).
    """
    args: list[Arg] = ["LPOS", name, value]
    if rank is not None:
        if integer("rank", rank) == 0:
            raise DataValueError("rank must not be 0: 1 is the first match, -1 the last")
        args += ("RANK", rank)
    if count is not None:
        args += ("COUNT", not_negative("count", count))
    if maxlen is not None:
        args += ("MAXLEN", not_negative("maxlen", maxlen))
    return tuple(args), None


def _sides(src: str, dest: str, src_side: str | None, dest_side: str | None) -> tuple[str, str]:
    """redis-py's ``src``/``dest`` sides, or aiopool's ``src_side``/``dest_side`` for them."""
    if src_side is not None:
        if src != "LEFT":
            raise DataValueError("give src (redis-py's name) or src_side, not both")
        first = _side("src_side", src_side)
    else:
        first = _side("src", src)
    if dest_side is not None:
        if dest != "RIGHT":
            raise DataValueError("give dest (redis-py's name) or dest_side, not both")
        return first, _side("dest_side", dest_side)
    return first, _side("dest", dest)


def lmove(
    first_list: Key,
    second_list: Key,
    src: str = "LEFT",
    dest: str = "RIGHT",
    *,
    src_side: str | None = None,
    dest_side: str | None = None,
) -> Command[Any]:
    """LMOVE: move an element from one end of ``first_list`` to one end of ``second_list``.

    The element, or ``None`` when ``first_list`` is missing. ``src`` and
    ``dest`` (redis-py's names; ``src_side=``/``dest_side=`` work too) are
    ``"LEFT"`` or ``"RIGHT"`` (any case); the defaults take the head of
    ``first_list`` and append it to ``second_list``. Both may be the same
    list (a rotation).
    """
    sides = _sides(src, dest, src_side, dest_side)
    return ("LMOVE", first_list, second_list, *sides), None


# -- blocking -------------------------------------------------------------------------------


def _bpop(
    name: str, keys: KeyOrKeys, timeout: Number | datetime.timedelta | None
) -> Command[tuple[Any, Any] | None]:
    seconds = block_seconds("timeout", 0 if timeout is None else timeout)
    # The blocking time is the last argument: the connection reads it there to
    # extend its reply timeout (aiopool._protocol.blocking_timeout).
    return (name, *key_list(name.lower(), keys), seconds), _key_and_value


def _key_and_value(reply: Any) -> tuple[Any, Any] | None:
    return None if reply is None else (reply[0], reply[1])


def blpop(
    keys: KeyOrKeys, timeout: Number | datetime.timedelta | None = 0
) -> Command[tuple[Any, Any] | None]:
    """BLPOP: pop the first element of the first non-empty list, waiting for one.

    ``keys`` is one key or an iterable of keys, checked in order. The result
    is ``(key, element)``, or ``None`` when ``timeout`` seconds (int, float
    or timedelta; 0 or ``None`` waits for ever) passed with every list empty. The
    command timeout is extended by ``timeout`` (and off with 0), so a long
    wait is not a ``CommandTimeout``. Cancelling the call closes its
    connection, so the blocked pop cannot take an element nobody receives.
    """
    return _bpop("BLPOP", keys, timeout)


def brpop(
    keys: KeyOrKeys, timeout: Number | datetime.timedelta | None = 0
) -> Command[tuple[Any, Any] | None]:
    """BRPOP: pop the last element of the first non-empty list, waiting for one.

    As ``blpop``, from the tail: ``(key, element)``, or ``None`` on timeout.
    """
    return _bpop("BRPOP", keys, timeout)


def blmove(
    first_list: Key,
    second_list: Key,
    timeout: Number | datetime.timedelta,
    src: str = "LEFT",
    dest: str = "RIGHT",
    *,
    src_side: str | None = None,
    dest_side: str | None = None,
) -> Command[Any]:
    """BLMOVE: ``lmove``, waiting up to ``timeout`` seconds for ``first_list`` to have an element.

    The moved element, or ``None`` on timeout (0 waits for ever). Sides as
    for ``lmove``; timeouts and cancellation as for ``blpop``.
    """
    sides = _sides(src, dest, src_side, dest_side)
    return ("BLMOVE", first_list, second_list, *sides, block_seconds("timeout", timeout)), None


def rpoplpush(src: Key, dst: Key) -> Command[Any]:
    """RPOPLPUSH: move the last element of ``src`` to the head of ``dst``; the element.

    ``None`` when ``src`` is missing. Redis deprecates it for
    ``lmove(src, dst, "RIGHT", "LEFT")``; both work.
    """
    return ("RPOPLPUSH", src, dst), None


def brpoplpush(src: Key, dst: Key, timeout: Number | datetime.timedelta | None = 0) -> Command[Any]:
    """BRPOPLPUSH: ``rpoplpush``, waiting up to ``timeout`` seconds for ``src`` to have an element.

    The moved element, or ``None`` on timeout (0 waits for ever). Timeouts
    and cancellation as for ``blpop``.
    """
    return ("BRPOPLPUSH", src, dst, block_seconds("timeout", timeout or 0)), None


def _mpop_keys(name: str, what: str, count: object, keys: tuple[Key, ...]) -> int:
    need_keys(name, keys)
    if positive(what, count) != len(keys):
        raise DataValueError(f"{name}(): {what} is {count!r} but {len(keys)} keys were given")
    return len(keys)


def lmpop(num_keys: int, *args: Key, direction: str, count: int = 1) -> Command[Any]:
    """LMPOP: pop up to ``count`` elements from the first non-empty list of ``args``.

    ``num_keys`` is the number of keys in ``args`` (as redis-py's, and as
    Redis wants it); ``direction`` is ``"LEFT"`` or ``"RIGHT"`` (any case).
    The result is ``[key, [element, ...]]``, or ``None`` when every list is
    empty or missing. A ``num_keys`` that is not ``len(args)`` raises
    ``ValueError``.
    """
    numkeys = _mpop_keys("lmpop", "num_keys", num_keys, args)
    tail: list[Arg] = [_side("direction", direction)]
    if count != 1:
        tail += ("COUNT", positive("count", count))
    return ("LMPOP", numkeys, *args, *tail), None


def blmpop(
    timeout: Number | datetime.timedelta,
    numkeys: int,
    *args: Key,
    direction: str,
    count: int = 1,
) -> Command[Any]:
    """BLMPOP: ``lmpop``, waiting up to ``timeout`` seconds for one of the lists to have elements.

    ``[key, [element, ...]]``, or ``None`` on timeout (0 waits for ever).
    Timeouts and cancellation as for ``blpop``.
    """
    seconds = block_seconds("timeout", timeout)
    _mpop_keys("blmpop", "numkeys", numkeys, args)
    tail: list[Arg] = [_side("direction", direction), "COUNT", positive("count", count)]
    return ("BLMPOP", seconds, numkeys, *args, *tail), None
