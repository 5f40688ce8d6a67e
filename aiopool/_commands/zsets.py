"""Sorted set commands.

Scores are sent as given (an int or float; ``float("inf")`` works, NaN is
refused) and come back as ``float``. Score ranges (``zcount``,
``zrange(byscore=True)``, ...) also take the strings ``"-inf"``, ``"+inf"``
and ``"(1.5"`` (exclusive); lexical ranges take ``"[a"`` (inclusive),
``"(a"`` (exclusive), ``"-"`` and ``"+"``.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping
from typing import Any, Literal, overload

from ._base import (
    Arg,
    Command,
    Key,
    KeyOrKeys,
    Number,
    Value,
    block_seconds,
    float_list,
    integer,
    key_list,
    need_keys,
    not_negative,
    one_of,
    scan_args,
    scored,
    to_float,
    to_float_or_none,
)

# A score range bound: a number, or "-inf", "+inf", "(1.5" (exclusive).
ScoreBound = int | float | str | bytes
# A lexical range bound: "[a" (inclusive), "(a" (exclusive), "-" or "+".
LexBound = str | bytes
# ZADD's {member: score}: members are raw values (str, bytes, int, float, memoryview,
# checked when encoded). Not Mapping[Value, Number]: Mapping is invariant in its key
# type, so a dict[str, float] would not be one.
ScoreMapping = Mapping[Any, Number]


# -- argument checks ------------------------------------------------------------------


def _score(name: str, value: object) -> int | float:
    """A score or increment: an int or float that is not NaN."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be an int or float, got {type(value).__name__} {value!r}")
    if isinstance(value, float) and math.isnan(value):
        raise ValueError(f"{name} must be a number, got NaN")
    return value


def _score_bound(name: str, value: object) -> Arg:
    """One end of a score range: a number, ``"-inf"``/``"+inf"``, or ``"(<score>"``."""
    if isinstance(value, str | bytes):
        text = value.decode("latin-1") if isinstance(value, bytes) else value
        body = text.removeprefix("(")
        try:
            valid = not math.isnan(float(body)) and body == body.strip() and "_" not in body
        except ValueError:
            valid = False
        if not valid:
            raise ValueError(
                f"{name} must be a score, '-inf', '+inf' or '(' and a score for an exclusive "
                f"bound, got {value!r}"
            )
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(
            f"{name} must be an int, a float or a str such as '-inf' or '(1.5', "
            f"got {type(value).__name__} {value!r}"
        )
    return _score(name, value)


def _lex_bound(name: str, value: object) -> Arg:
    """One end of a lexical range: ``"[a"``, ``"(a"``, ``"-"`` or ``"+"``."""
    if not isinstance(value, str | bytes):
        raise TypeError(
            f"{name} must be a str or bytes such as '[a', '(a', '-' or '+', "
            f"got {type(value).__name__} {value!r}"
        )
    head = value[:1]
    if value not in ("-", "+", b"-", b"+") and head not in ("[", "(", b"[", b"("):
        raise ValueError(
            f"{name} must start with '[' (inclusive) or '(' (exclusive), or be '-' or '+', "
            f"got {value!r}"
        )
    return value


def _range_args(
    start: object,
    end: object,
    byscore: bool,
    bylex: bool,
    rev: bool,
    offset: int | None,
    num: int | None,
) -> list[Arg]:
    """``start end [BYSCORE|BYLEX] [REV] [LIMIT offset num]`` of ZRANGE and ZRANGESTORE."""
    by = one_of(byscore=byscore, bylex=bylex)
    args: list[Arg]
    if by == "byscore":
        args = [_score_bound("start", start), _score_bound("end", end), "BYSCORE"]
    elif by == "bylex":
        args = [_lex_bound("start", start), _lex_bound("end", end), "BYLEX"]
    else:
        args = [integer("start", start), integer("end", end)]
    if rev:
        args.append("REV")
    if offset is not None or num is not None:
        if offset is None or num is None:
            raise ValueError("offset and num go together (they are LIMIT offset count)")
        if by is None:
            raise ValueError("offset and num need byscore=True or bylex=True")
        args += ("LIMIT", not_negative("offset", offset), integer("num", num))
    return args


def _combine(
    name: str, dest: Key, keys: KeyOrKeys | Mapping[Any, Number], aggregate: str | None
) -> Command[int]:
    """``ZUNIONSTORE``/``ZINTERSTORE dest numkeys key... [WEIGHTS w...] [AGGREGATE a]``."""
    args: list[Arg] = [name.upper(), dest]
    if isinstance(keys, Mapping):
        if not keys:
            raise ValueError(f"{name}() needs at least one key")
        args += (len(keys), *keys, "WEIGHTS")
        args += (_score(f"the weight of {key!r}", weight) for key, weight in keys.items())
    else:
        names = key_list(name, keys)
        args += (len(names), *names)
    if aggregate is not None:
        if not isinstance(aggregate, str):
            raise TypeError(f"aggregate must be a str, got {type(aggregate).__name__}")
        upper = aggregate.upper()
        if upper not in ("SUM", "MIN", "MAX"):
            raise ValueError(f"aggregate must be 'SUM', 'MIN' or 'MAX', got {aggregate!r}")
        args += ("AGGREGATE", upper)
    return tuple(args), None


# -- reply transforms ---------------------------------------------------------------------


def _popped(reply: Any) -> tuple[Any, Any, float] | None:
    return None if reply is None else (reply[0], reply[1], float(reply[2]))


def _zscan_batch(reply: Any) -> tuple[int, list[tuple[Any, float]]]:
    return int(reply[0]), scored(reply[1])


# -- adding, scoring, removing --------------------------------------------------------------


@overload
def zadd(
    key: Key,
    mapping: ScoreMapping,
    *,
    nx: bool = ...,
    xx: bool = ...,
    gt: bool = ...,
    lt: bool = ...,
    ch: bool = ...,
    incr: Literal[False] = ...,
) -> Command[int]: ...
@overload
def zadd(
    key: Key,
    mapping: ScoreMapping,
    *,
    nx: bool = ...,
    xx: bool = ...,
    gt: bool = ...,
    lt: bool = ...,
    ch: bool = ...,
    incr: Literal[True],
) -> Command[float | None]: ...
@overload
def zadd(
    key: Key,
    mapping: ScoreMapping,
    *,
    nx: bool = ...,
    xx: bool = ...,
    gt: bool = ...,
    lt: bool = ...,
    ch: bool = ...,
    incr: bool,
) -> Command[int | float | None]: ...
def zadd(
    key: Key,
    mapping: ScoreMapping,
    *,
    nx: bool = False,
    xx: bool = False,
    gt: bool = False,
    lt: bool = False,
    ch: bool = False,
    incr: bool = False,
) -> Command[Any]:
    """ZADD: add or update the ``{member: score}`` of ``mapping``; how many were added.

    ``nx``: only add new members; ``xx``: only update existing ones; ``gt``
    / ``lt``: only update when the new score is greater / less (new members
    are still added unless ``xx``). ``nx`` cannot be combined with ``xx``,
    ``gt`` or ``lt``, nor ``gt`` with ``lt`` (``ValueError``). ``ch``
    counts changed scores too. With ``incr=True`` (``mapping`` then holds
    exactly one member) the score is incremented like ZINCRBY and the
    result is the new score as a float, or ``None`` when a condition
    prevented the update.
    """
    if not isinstance(mapping, Mapping):
        raise TypeError(f"zadd() takes a mapping of member -> score, got {type(mapping).__name__}")
    if not mapping:
        raise ValueError("zadd() needs a non-empty mapping of member -> score")
    args: list[Arg] = ["ZADD", key]
    condition = one_of(nx=nx, xx=xx)
    comparison = one_of(nx=nx, gt=gt, lt=lt)
    if condition:
        args.append(condition.upper())
    if comparison and comparison != "nx":
        args.append(comparison.upper())
    if ch:
        args.append("CH")
    if incr:
        if len(mapping) != 1:
            raise ValueError(
                f"zadd(incr=True) increments exactly one member, got a mapping of {len(mapping)}"
            )
        args.append("INCR")
    for member, score in mapping.items():
        args += (_score(f"the score of {member!r}", score), member)
    if incr:
        return tuple(args), to_float_or_none
    return tuple(args), None


def zincrby(key: Key, amount: Number, member: Value) -> Command[float]:
    """ZINCRBY: add ``amount`` to the score of ``member`` (0 when missing); the new score."""
    return ("ZINCRBY", key, _score("amount", amount), member), to_float


def zrem(key: Key, *members: Value) -> Command[int]:
    """ZREM: remove ``members`` from the sorted set at ``key``; how many were there."""
    need_keys("zrem", members, "member")
    return ("ZREM", key, *members), None


def zscore(key: Key, member: Value) -> Command[float | None]:
    """ZSCORE: the score of ``member`` as a float, or ``None`` when it (or ``key``) is missing."""
    return ("ZSCORE", key, member), to_float_or_none


def zmscore(key: Key, *members: Value) -> Command[list[float | None]]:
    """ZMSCORE: the score of each of ``members``, in order, ``None`` for a missing one."""
    need_keys("zmscore", members, "member")
    return ("ZMSCORE", key, *members), float_list


def zcard(key: Key) -> Command[int]:
    """ZCARD: the number of members of the sorted set at ``key`` (0 when missing)."""
    return ("ZCARD", key), None


def zcount(key: Key, min: ScoreBound, max: ScoreBound) -> Command[int]:
    """ZCOUNT: how many members score between ``min`` and ``max`` (inclusive unless ``"("``)."""
    return ("ZCOUNT", key, _score_bound("min", min), _score_bound("max", max)), None


def zlexcount(key: Key, min: LexBound, max: LexBound) -> Command[int]:
    """ZLEXCOUNT: how many members sort between ``min`` and ``max``.

    Bounds are ``"[a"`` (inclusive), ``"(a"`` (exclusive), ``"-"`` and
    ``"+"``; lexical ranges are meant for sets whose members all have the
    same score.
    """
    return ("ZLEXCOUNT", key, _lex_bound("min", min), _lex_bound("max", max)), None


def zrank(key: Key, member: Value) -> Command[int | None]:
    """ZRANK: the 0-based rank of ``member`` by ascending score, or ``None`` when missing."""
    return ("ZRANK", key, member), None


def zrevrank(key: Key, member: Value) -> Command[int | None]:
    """ZREVRANK: the 0-based rank of ``member`` by descending score, or ``None`` when missing."""
    return ("ZREVRANK", key, member), None


# -- ranges ---------------------------------------------------------------------------------


def zrange(
    key: Key,
    start: int | ScoreBound,
    end: int | ScoreBound,
    *,
    byscore: bool = False,
    bylex: bool = False,
    rev: bool = False,
    offset: int | None = None,
    num: int | None = None,
    withscores: bool = False,
) -> Command[list[Any]]:
    """ZRANGE: the members from ``start`` to ``end`` as a list (empty when ``key`` is missing).

    ``start`` and ``end`` are ranks by default (0-based, inclusive, negative
    counts from the end); with ``byscore=True`` scores (see the module);
    with ``bylex=True`` lexical bounds (``"[a"``, ``"(a"``, ``"-"``,
    ``"+"``). ``rev=True`` orders by descending score; with byscore or bylex
    ``start`` is then the higher bound: ``zrange(k, "+inf", 0,
    byscore=True, rev=True)``. ``offset`` and ``num`` (both or neither;
    byscore or bylex only; ``num`` < 0 means all the rest) skip ``offset``
    members and return at most ``num``. ``withscores=True`` (not with
    bylex) returns ``[(member, score), ...]`` with float scores.
    """
    args = ["ZRANGE", key, *_range_args(start, end, byscore, bylex, rev, offset, num)]
    if withscores:
        if bylex:
            raise ValueError("withscores cannot be combined with bylex")
        args.append("WITHSCORES")
        return tuple(args), scored
    return tuple(args), None


def zrangestore(
    dest: Key,
    src: Key,
    start: int | ScoreBound,
    end: int | ScoreBound,
    *,
    byscore: bool = False,
    bylex: bool = False,
    rev: bool = False,
    offset: int | None = None,
    num: int | None = None,
) -> Command[int]:
    """ZRANGESTORE: store the ``zrange`` of ``src`` (same options) at ``dest``; its size.

    ``dest`` is overwritten (deleted when the range is empty).
    """
    return (
        "ZRANGESTORE",
        dest,
        src,
        *_range_args(start, end, byscore, bylex, rev, offset, num),
    ), None


def zremrangebyscore(key: Key, min: ScoreBound, max: ScoreBound) -> Command[int]:
    """ZREMRANGEBYSCORE: remove the members scoring between ``min`` and ``max``; how many."""
    return ("ZREMRANGEBYSCORE", key, _score_bound("min", min), _score_bound("max", max)), None


def zremrangebyrank(key: Key, start: int, end: int) -> Command[int]:
    """ZREMRANGEBYRANK: remove the members ranked ``start`` to ``end`` (inclusive); how many.

    Ranks are 0-based by ascending score; negative ones count from the end.
    """
    return ("ZREMRANGEBYRANK", key, integer("start", start), integer("end", end)), None


def zremrangebylex(key: Key, min: LexBound, max: LexBound) -> Command[int]:
    """ZREMRANGEBYLEX: remove the members sorting between ``min`` and ``max``; how many."""
    return ("ZREMRANGEBYLEX", key, _lex_bound("min", min), _lex_bound("max", max)), None


# -- popping, random members ---------------------------------------------------------------


def zpopmin(key: Key, count: int | None = None) -> Command[list[tuple[Any, float]]]:
    """ZPOPMIN: remove and return the lowest-scoring member(s) as ``[(member, score)]``.

    One member without ``count``, up to ``count`` with it; empty when the
    sorted set is empty or missing.
    """
    if count is None:
        return ("ZPOPMIN", key), scored
    return ("ZPOPMIN", key, not_negative("count", count)), scored


def zpopmax(key: Key, count: int | None = None) -> Command[list[tuple[Any, float]]]:
    """ZPOPMAX: remove and return the highest-scoring member(s) as ``[(member, score)]``.

    One member without ``count``, up to ``count`` with it; empty when the
    sorted set is empty or missing.
    """
    if count is None:
        return ("ZPOPMAX", key), scored
    return ("ZPOPMAX", key, not_negative("count", count)), scored


def bzpopmin(
    keys: KeyOrKeys, timeout: Number | datetime.timedelta = 0
) -> Command[tuple[Any, Any, float] | None]:
    """BZPOPMIN: pop the lowest-scoring member of the first non-empty of ``keys``.

    The result is ``(key, member, score)``, or ``None`` when nothing came
    within ``timeout`` seconds (int, float or timedelta; 0 waits for ever).
    ``keys`` is one key or an iterable of keys. The reply may take up to
    ``timeout`` on top of ``command_timeout``. Cancelling the wait closes the
    connection, so the server never pops a member for a caller who is gone.
    """
    names = key_list("bzpopmin", keys)
    return ("BZPOPMIN", *names, block_seconds("timeout", timeout)), _popped


def bzpopmax(
    keys: KeyOrKeys, timeout: Number | datetime.timedelta = 0
) -> Command[tuple[Any, Any, float] | None]:
    """BZPOPMAX: pop the highest-scoring member of the first non-empty of ``keys``.

    ``(key, member, score)`` or ``None``; otherwise exactly like ``bzpopmin``.
    """
    names = key_list("bzpopmax", keys)
    return ("BZPOPMAX", *names, block_seconds("timeout", timeout)), _popped


def zrandmember(key: Key, count: int | None = None, withscores: bool = False) -> Command[Any]:
    """ZRANDMEMBER: a random member (not removed), or ``None`` when the key is missing.

    With ``count``, a list instead: up to ``count`` distinct members for a
    positive ``count``, exactly ``-count`` members, possibly repeated, for a
    negative one; ``withscores=True`` (needs ``count``) makes it a list of
    ``(member, score)``.
    """
    if count is None:
        if withscores:
            raise ValueError("withscores needs count (ZRANDMEMBER key count WITHSCORES)")
        return ("ZRANDMEMBER", key), None
    args: tuple[Arg, ...] = ("ZRANDMEMBER", key, integer("count", count))
    if withscores:
        return (*args, "WITHSCORES"), scored
    return args, None


# -- combining --------------------------------------------------------------------------------


def zunionstore(
    dest: Key, keys: KeyOrKeys | Mapping[Any, Number], aggregate: str | None = None
) -> Command[int]:
    """ZUNIONSTORE: store the union of the sorted sets ``keys`` at ``dest``; its size.

    ``keys`` is a list of keys, or a ``{key: weight}`` mapping whose weights
    multiply each set's scores. A member's scores are summed, or with
    ``aggregate="MIN"``/``"MAX"`` the lowest/highest is kept. ``dest`` is
    overwritten.
    """
    return _combine("zunionstore", dest, keys, aggregate)


def zinterstore(
    dest: Key, keys: KeyOrKeys | Mapping[Any, Number], aggregate: str | None = None
) -> Command[int]:
    """ZINTERSTORE: store the intersection of the sorted sets ``keys`` at ``dest``; its size.

    ``keys`` and ``aggregate`` as for ``zunionstore``; only members present
    in every set are kept. ``dest`` is overwritten (deleted when empty).
    """
    return _combine("zinterstore", dest, keys, aggregate)


# -- scanning ---------------------------------------------------------------------------------


def zscan(
    key: Key,
    cursor: int = 0,
    match: str | bytes | None = None,
    count: int | None = None,
) -> Command[tuple[int, list[tuple[Any, float]]]]:
    """ZSCAN: one batch of the sorted set at ``key``, ``(next_cursor, [(member, score)])``.

    The cursor is 0 when done; most code wants ``zscan_iter``.
    """
    args = scan_args("ZSCAN", key, cursor, match, count)
    return tuple(args), _zscan_batch
