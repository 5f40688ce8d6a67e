"""Sorted set commands, with redis-py's names, arguments and result shapes.

Scores are sent as given (an int, a float or a numeric str as redis-py
allows; ``float("inf")`` works, NaN is refused) and come back as ``float``,
or through ``score_cast_func`` where redis-py takes one (it gets the raw
score: ``bytes`` or ``str`` under RESP2, a ``float`` under RESP3, and the
score as a float if that raw form fails with ``ValueError``/``TypeError``).
Under ``protocol=3`` every result is the same as under 2 (see _scores).
Score ranges (``zcount``, ``zrangebyscore``, ``zrange(byscore=True)``, ...)
also take the strings ``"-inf"``, ``"+inf"`` and ``"(1.5"`` (exclusive);
lexical ranges take ``"[a"`` (inclusive), ``"(a"`` (exclusive), ``"-"`` and
``"+"``. Results with scores are lists of ``(member, score)`` tuples.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any, Literal, overload

from .._errors import DataTypeError, DataValueError
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
    positive,
    scan_args,
    scored,
    to_float,
    to_float_or_none,
)
from ._scores import (
    LexBound,
    Score,
    ScoreBound,
    ScoreCast,
    cast_pairs,
    caster,
    checked_score,
    lex_bound,
    score_bound,
)

# ZADD's {member: score}: Mapping is invariant in its key type (see _base.py).
ScoreMapping = Mapping[Any, Score]
# A list of keys, or a {key: weight} mapping (ZUNION, ZINTER and their STORE forms).
WeightedKeys = KeyOrKeys | Mapping[Any, Score]


# -- argument checks ------------------------------------------------------------------


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
        args = [score_bound("start", start), score_bound("end", end), "BYSCORE"]
    elif by == "bylex":
        args = [lex_bound("start", start), lex_bound("end", end), "BYLEX"]
    else:
        args = [integer("start", start), integer("end", end)]
    if rev:
        args.append("REV")
    if offset is not None or num is not None:
        if offset is None or num is None:
            raise DataValueError("offset and num go together (they are LIMIT offset count)")
        if by is None:
            raise DataValueError("offset and num need byscore=True or bylex=True")
        args += ("LIMIT", not_negative("offset", offset), integer("num", num))
    return args


def _limit(start: int | None, num: int | None) -> list[Arg]:
    """``LIMIT start num`` of the ZRANGEBYSCORE/ZRANGEBYLEX family (both or neither)."""
    if start is None and num is None:
        return []
    if start is None or num is None:
        raise DataValueError("start and num go together (they are LIMIT offset count)")
    return ["LIMIT", not_negative("start", start), integer("num", num)]


def _weighted(name: str, keys: WeightedKeys) -> list[Arg]:
    """``numkeys key... [WEIGHTS w...]`` from a list of keys or a ``{key: weight}`` mapping."""
    if isinstance(keys, Mapping):
        if not keys:
            raise DataValueError(f"{name}() needs at least one key")
        weights = [checked_score(f"the weight of {key!r}", weight) for key, weight in keys.items()]
        return [len(keys), *keys, "WEIGHTS", *weights]
    names = key_list(name, keys)
    return [len(names), *names]


def _aggregate(aggregate: str | None) -> list[Arg]:
    if aggregate is None:
        return []
    if not isinstance(aggregate, str):
        raise DataTypeError(f"aggregate must be a str, got {type(aggregate).__name__}")
    upper = aggregate.upper()
    if upper not in ("SUM", "MIN", "MAX"):
        raise DataValueError(f"aggregate must be 'SUM', 'MIN' or 'MAX', got {aggregate!r}")
    return ["AGGREGATE", upper]


def _counted(name: str, what: str, numkeys: object, keys: KeyOrKeys) -> tuple[Key, ...]:
    """``keys`` as a tuple, checked against redis-py's separate key count ``numkeys``."""
    names = key_list(name, keys)
    if integer(what, numkeys) != len(names):
        raise DataValueError(f"{what} is {numkeys} but {len(names)} key(s) were given")
    return names


def _side(min: object, max: object) -> str:
    """``MIN`` or ``MAX`` of ZMPOP/BZMPOP: exactly one of the two flags."""
    if bool(min) == bool(max):
        raise DataValueError("give exactly one of min=True (lowest scores) or max=True (highest)")
    return "MIN" if min else "MAX"


# -- reply transforms ---------------------------------------------------------------------


def _ranged(args: list[Arg], withscores: bool, score_cast_func: object) -> Command[list[Any]]:
    """A range command's ``(args, transform)``: members, or pairs ``withscores``."""
    transform = cast_pairs(score_cast_func)  # checks score_cast_func either way
    if withscores:
        args.append("WITHSCORES")
        return tuple(args), transform
    return tuple(args), None


def _popped(reply: Any) -> tuple[Any, Any, float] | None:
    return None if reply is None else (reply[0], reply[1], float(reply[2]))


def _mpopped(reply: Any) -> list[Any] | None:
    if reply is None:
        return None
    return [reply[0], [[member, float(score)] for member, score in reply[1]]]


# -- adding, scoring, removing --------------------------------------------------------------


@overload
def zadd(
    name: Key,
    mapping: ScoreMapping,
    nx: bool = ...,
    xx: bool = ...,
    ch: bool = ...,
    incr: Literal[False] = ...,
    gt: bool = ...,
    lt: bool = ...,
) -> Command[int]: ...
@overload
def zadd(
    name: Key,
    mapping: ScoreMapping,
    nx: bool = ...,
    xx: bool = ...,
    ch: bool = ...,
    *,
    incr: Literal[True],
    gt: bool = ...,
    lt: bool = ...,
) -> Command[float | None]: ...
@overload
def zadd(
    name: Key,
    mapping: ScoreMapping,
    nx: bool = ...,
    xx: bool = ...,
    ch: bool = ...,
    incr: bool = ...,
    gt: bool = ...,
    lt: bool = ...,
) -> Command[int | float | None]: ...
def zadd(
    name: Key,
    mapping: ScoreMapping,
    nx: bool = False,
    xx: bool = False,
    ch: bool = False,
    incr: bool = False,
    gt: bool = False,
    lt: bool = False,
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
        raise DataTypeError(
            f"zadd() takes a mapping of member -> score, got {type(mapping).__name__}"
        )
    if not mapping:
        raise DataValueError("zadd() needs a non-empty mapping of member -> score")
    args: list[Arg] = ["ZADD", name]
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
            raise DataValueError(
                f"zadd(incr=True) increments exactly one member, got a mapping of {len(mapping)}"
            )
        args.append("INCR")
    for member, score in mapping.items():
        args += (checked_score(f"the score of {member!r}", score), member)
    if incr:
        return tuple(args), to_float_or_none
    return tuple(args), None


def zincrby(name: Key, amount: Score, value: Value) -> Command[float]:
    """ZINCRBY: add ``amount`` to the score of member ``value`` (0 when missing); the new score."""
    return ("ZINCRBY", name, checked_score("amount", amount), value), to_float


def zrem(name: Key, *values: Value) -> Command[int]:
    """ZREM: remove the members ``values`` from the sorted set ``name``; how many were there."""
    need_keys("zrem", values, "member")
    return ("ZREM", name, *values), None


def zscore(name: Key, value: Value) -> Command[float | None]:
    """ZSCORE: the score of member ``value`` as a float, or ``None`` when it is missing."""
    return ("ZSCORE", name, value), to_float_or_none


def zmscore(
    key: Key, members: Value | Iterable[Value], *more: Value
) -> Command[list[float | None]]:
    """ZMSCORE: the score of each member, in order, ``None`` for a missing one.

    ``members`` is a list of members, as redis-py takes it; aiopool also
    takes one member and further ones as arguments (``zmscore(k, "a", "b")``).
    """
    if isinstance(members, str | bytes | memoryview | int | float):
        names: tuple[Value, ...] = (members,)
    elif isinstance(members, Iterable):
        names = tuple(members)
    else:
        raise DataTypeError(
            f"members must be a member or a list of members, "
            f"got {type(members).__name__} {members!r}"
        )
    names += more
    need_keys("zmscore", names, "member")
    return ("ZMSCORE", key, *names), float_list


def zcard(name: Key) -> Command[int]:
    """ZCARD: the number of members of the sorted set ``name`` (0 when missing)."""
    return ("ZCARD", name), None


def zcount(name: Key, min: ScoreBound, max: ScoreBound) -> Command[int]:
    """ZCOUNT: how many members score between ``min`` and ``max`` (inclusive unless ``"("``)."""
    return ("ZCOUNT", name, score_bound("min", min), score_bound("max", max)), None


def zlexcount(name: Key, min: LexBound, max: LexBound) -> Command[int]:
    """ZLEXCOUNT: how many members sort between ``min`` and ``max``.

    Bounds are ``"[a"`` (inclusive), ``"(a"`` (exclusive), ``"-"`` and
    ``"+"``; lexical ranges are meant for sets whose members all have the
    same score.
    """
    return ("ZLEXCOUNT", name, lex_bound("min", min), lex_bound("max", max)), None


def _rank(
    word: str, name: Key, value: Value, withscore: bool, score_cast_func: object
) -> Command[Any]:
    cast = caster(score_cast_func) or float
    if not withscore:
        return (word, name, value), None

    def ranked(reply: Any) -> list[Any] | None:
        return None if reply is None else [reply[0], cast(reply[1])]

    return (word, name, value, "WITHSCORE"), ranked


def zrank(
    name: Key, value: Value, withscore: bool = False, score_cast_func: ScoreCast = float
) -> Command[Any]:
    """ZRANK: the 0-based rank of ``value`` by ascending score, or ``None`` when missing.

    ``withscore=True`` gives ``[rank, score]`` instead (WITHSCORE needs
    Redis 7.2; an older server answers ``ReplyError``).
    """
    return _rank("ZRANK", name, value, withscore, score_cast_func)


def zrevrank(
    name: Key, value: Value, withscore: bool = False, score_cast_func: ScoreCast = float
) -> Command[Any]:
    """ZREVRANK: the 0-based rank of ``value`` by descending score, or ``None`` when missing.

    ``withscore=True`` gives ``[rank, score]``, as for ``zrank``.
    """
    return _rank("ZREVRANK", name, value, withscore, score_cast_func)


# -- ranges ---------------------------------------------------------------------------------


def zrange(
    name: Key,
    start: int | ScoreBound,
    end: int | ScoreBound,
    desc: bool = False,
    withscores: bool = False,
    score_cast_func: ScoreCast = float,
    byscore: bool = False,
    bylex: bool = False,
    offset: int | None = None,
    num: int | None = None,
    *,
    rev: bool = False,
) -> Command[list[Any]]:
    """ZRANGE: the members from ``start`` to ``end`` as a list (empty when ``name`` is missing).

    ``start`` and ``end`` are ranks by default (0-based, inclusive, negative
    counts from the end); with ``byscore=True`` scores (see the module);
    with ``bylex=True`` lexical bounds (``"[a"``, ``"(a"``, ``"-"``,
    ``"+"``). ``desc=True`` (or aiopool's ``rev=True``) orders by
    descending score; with byscore or bylex ``start`` is then the higher
    bound: ``zrange(k, "+inf", 0, desc=True, byscore=True)``. ``offset``
    and ``num`` (both or neither; byscore or bylex only; ``num`` < 0 means
    all the rest) skip ``offset`` members and return at most ``num``.
    ``withscores=True`` (not with bylex) returns ``[(member, score), ...]``.
    """
    args = ["ZRANGE", name, *_range_args(start, end, byscore, bylex, desc or rev, offset, num)]
    if withscores and bylex:
        raise DataValueError("withscores cannot be combined with bylex")
    return _ranged(args, withscores, score_cast_func)


def zrangestore(
    dest: Key,
    name: Key,
    start: int | ScoreBound,
    end: int | ScoreBound,
    byscore: bool = False,
    bylex: bool = False,
    desc: bool = False,
    offset: int | None = None,
    num: int | None = None,
    *,
    rev: bool = False,
) -> Command[int]:
    """ZRANGESTORE: store the ``zrange`` of ``name`` (same options) at ``dest``; its size.

    ``dest`` is overwritten (deleted when the range is empty).
    """
    return (
        "ZRANGESTORE",
        dest,
        name,
        *_range_args(start, end, byscore, bylex, desc or rev, offset, num),
    ), None


def zrevrange(
    name: Key, start: int, end: int, withscores: bool = False, score_cast_func: ScoreCast = float
) -> Command[list[Any]]:
    """ZREVRANGE: the members ranked ``start`` to ``end`` by descending score, as a list.

    ``withscores=True`` returns ``[(member, score), ...]``.
    """
    args: list[Arg] = ["ZREVRANGE", name, integer("start", start), integer("end", end)]
    return _ranged(args, withscores, score_cast_func)


def zrangebyscore(
    name: Key,
    min: ScoreBound,
    max: ScoreBound,
    start: int | None = None,
    num: int | None = None,
    withscores: bool = False,
    score_cast_func: ScoreCast = float,
) -> Command[list[Any]]:
    """ZRANGEBYSCORE: the members scoring between ``min`` and ``max``, lowest first.

    ``start`` and ``num`` (both or neither) skip ``start`` members and
    return at most ``num`` (``num`` < 0: all the rest). ``withscores=True``
    returns ``[(member, score), ...]``.
    """
    bounds = [score_bound("min", min), score_bound("max", max)]
    args: list[Arg] = ["ZRANGEBYSCORE", name, *bounds, *_limit(start, num)]
    return _ranged(args, withscores, score_cast_func)


def zrevrangebyscore(
    name: Key,
    max: ScoreBound,
    min: ScoreBound,
    start: int | None = None,
    num: int | None = None,
    withscores: bool = False,
    score_cast_func: ScoreCast = float,
) -> Command[list[Any]]:
    """ZREVRANGEBYSCORE: the members scoring between ``max`` and ``min``, highest first.

    Note the order: ``max`` comes first. Otherwise as ``zrangebyscore``.
    """
    bounds = [score_bound("max", max), score_bound("min", min)]
    args: list[Arg] = ["ZREVRANGEBYSCORE", name, *bounds, *_limit(start, num)]
    return _ranged(args, withscores, score_cast_func)


def zrangebylex(
    name: Key, min: LexBound, max: LexBound, start: int | None = None, num: int | None = None
) -> Command[list[Any]]:
    """ZRANGEBYLEX: the members sorting between ``min`` and ``max``, as a list.

    Bounds as for ``zlexcount``; ``start`` and ``num`` as for ``zrangebyscore``.
    """
    bounds = [lex_bound("min", min), lex_bound("max", max)]
    return ("ZRANGEBYLEX", name, *bounds, *_limit(start, num)), None


def zrevrangebylex(
    name: Key, max: LexBound, min: LexBound, start: int | None = None, num: int | None = None
) -> Command[list[Any]]:
    """ZREVRANGEBYLEX: the members sorting between ``max`` and ``min``, in reverse order.

    Note the order: ``max`` comes first. Otherwise as ``zrangebylex``.
    """
    bounds = [lex_bound("max", max), lex_bound("min", min)]
    return ("ZREVRANGEBYLEX", name, *bounds, *_limit(start, num)), None


def zremrangebyscore(name: Key, min: ScoreBound, max: ScoreBound) -> Command[int]:
    """ZREMRANGEBYSCORE: remove the members scoring between ``min`` and ``max``; how many."""
    return ("ZREMRANGEBYSCORE", name, score_bound("min", min), score_bound("max", max)), None


def zremrangebyrank(name: Key, min: int, max: int) -> Command[int]:
    """ZREMRANGEBYRANK: remove the members ranked ``min`` to ``max`` (inclusive); how many.

    Ranks are 0-based by ascending score; negative ones count from the end.
    """
    return ("ZREMRANGEBYRANK", name, integer("min", min), integer("max", max)), None


def zremrangebylex(name: Key, min: LexBound, max: LexBound) -> Command[int]:
    """ZREMRANGEBYLEX: remove the members sorting between ``min`` and ``max``; how many."""
    return ("ZREMRANGEBYLEX", name, lex_bound("min", min), lex_bound("max", max)), None


# -- popping, random members ---------------------------------------------------------------


def _pop(word: str, name: Key, count: int | None) -> Command[list[tuple[Any, float]]]:
    if count is None:
        return (word, name), scored
    return (word, name, not_negative("count", count)), scored


def zpopmin(name: Key, count: int | None = None) -> Command[list[tuple[Any, float]]]:
    """ZPOPMIN: remove and return the lowest-scoring member(s) as ``[(member, score)]``.

    One member without ``count``, up to ``count`` with it; empty when the
    sorted set is empty or missing.
    """
    return _pop("ZPOPMIN", name, count)


def zpopmax(name: Key, count: int | None = None) -> Command[list[tuple[Any, float]]]:
    """ZPOPMAX: remove and return the highest-scoring member(s) as ``[(member, score)]``.

    As ``zpopmin``, highest scores first.
    """
    return _pop("ZPOPMAX", name, count)


def bzpopmin(
    keys: KeyOrKeys, timeout: Number | datetime.timedelta | None = 0
) -> Command[tuple[Any, Any, float] | None]:
    """BZPOPMIN: pop the lowest-scoring member of the first non-empty of ``keys``.

    The result is ``(key, member, score)``, or ``None`` when nothing came
    within ``timeout`` seconds (int, float or timedelta; 0 or ``None`` waits
    for ever). ``keys`` is one key or an iterable of keys. The reply may
    take up to ``timeout`` on top of ``command_timeout``. Cancelling the
    wait closes the connection, so the server never pops a member for a
    caller who is gone.
    """
    names = key_list("bzpopmin", keys)
    return (
        "BZPOPMIN",
        *names,
        block_seconds("timeout", 0 if timeout is None else timeout),
    ), _popped


def bzpopmax(
    keys: KeyOrKeys, timeout: Number | datetime.timedelta | None = 0
) -> Command[tuple[Any, Any, float] | None]:
    """BZPOPMAX: pop the highest-scoring member of the first non-empty of ``keys``.

    ``(key, member, score)`` or ``None``; otherwise exactly like ``bzpopmin``.
    """
    names = key_list("bzpopmax", keys)
    return (
        "BZPOPMAX",
        *names,
        block_seconds("timeout", 0 if timeout is None else timeout),
    ), _popped


def zmpop(
    num_keys: int,
    keys: KeyOrKeys,
    min: bool = False,
    max: bool = False,
    count: int | None = 1,
) -> Command[list[Any] | None]:
    """ZMPOP: pop up to ``count`` members of the first non-empty of ``keys``.

    Exactly one of ``min=True`` (lowest scores first) or ``max=True``
    (``ValueError`` otherwise); ``num_keys`` must be ``len(keys)``. The
    result is ``[key, [[member, score], ...]]`` as in redis-py (its lists,
    aiopool's float scores), or ``None`` when every key is empty or missing.
    """
    names = _counted("zmpop", "num_keys", num_keys, keys)
    args: list[Arg] = ["ZMPOP", len(names), *names, _side(min, max)]
    if count is not None and positive("count", count) != 1:
        args += ("COUNT", count)
    return tuple(args), _mpopped


def bzmpop(
    timeout: Number | datetime.timedelta,
    numkeys: int,
    keys: KeyOrKeys,
    min: bool = False,
    max: bool = False,
    count: int | None = 1,
) -> Command[list[Any] | None]:
    """BZMPOP: ``zmpop`` that waits up to ``timeout`` seconds for a member to pop.

    ``[key, [[member, score], ...]]``, or ``None`` when nothing came within
    ``timeout`` (int, float or timedelta; 0 waits for ever); ``numkeys``
    must be ``len(keys)``. The reply may take up to ``timeout`` on top of
    ``command_timeout``; cancelling the wait closes the connection, as for
    ``bzpopmin``.
    """
    seconds = block_seconds("timeout", timeout)
    names = _counted("bzmpop", "numkeys", numkeys, keys)
    args: list[Arg] = ["BZMPOP", seconds, len(names), *names, _side(min, max)]
    if count is not None and positive("count", count) != 1:
        args += ("COUNT", count)
    return tuple(args), _mpopped


def zrandmember(key: Key, count: int | None = None, withscores: bool = False) -> Command[Any]:
    """ZRANDMEMBER: a random member (not removed), or ``None`` when the key is missing.

    With ``count``, a list instead: up to ``count`` distinct members for a
    positive ``count``, exactly ``-count`` members, possibly repeated, for a
    negative one; ``withscores=True`` (needs ``count``) makes it a list of
    ``(member, score)`` (redis-py returns its flat reply there).
    """
    if count is None:
        if withscores:
            raise DataValueError("withscores needs count (ZRANDMEMBER key count WITHSCORES)")
        return ("ZRANDMEMBER", key), None
    args: tuple[Arg, ...] = ("ZRANDMEMBER", key, integer("count", count))
    if withscores:
        return (*args, "WITHSCORES"), scored
    return args, None


# -- combining --------------------------------------------------------------------------------


def zunionstore(dest: Key, keys: WeightedKeys, aggregate: str | None = None) -> Command[int]:
    """ZUNIONSTORE: store the union of the sorted sets ``keys`` at ``dest``; its size.

    ``keys`` is a list of keys, or a ``{key: weight}`` mapping whose weights
    multiply each set's scores. A member's scores are summed, or with
    ``aggregate="MIN"``/``"MAX"`` the lowest/highest is kept. ``dest`` is
    overwritten.
    """
    weighted = _weighted("zunionstore", keys)
    return ("ZUNIONSTORE", dest, *weighted, *_aggregate(aggregate)), None


def zinterstore(dest: Key, keys: WeightedKeys, aggregate: str | None = None) -> Command[int]:
    """ZINTERSTORE: store the intersection of the sorted sets ``keys`` at ``dest``; its size.

    ``keys`` and ``aggregate`` as for ``zunionstore``; only members present
    in every set are kept. ``dest`` is overwritten (deleted when empty).
    """
    weighted = _weighted("zinterstore", keys)
    return ("ZINTERSTORE", dest, *weighted, *_aggregate(aggregate)), None


def zunion(
    keys: WeightedKeys,
    aggregate: str | None = None,
    withscores: bool = False,
    score_cast_func: ScoreCast = float,
) -> Command[list[Any]]:
    """ZUNION: the union of the sorted sets ``keys``, as a list of members by score.

    ``keys`` and ``aggregate`` as for ``zunionstore``; ``withscores=True``
    returns ``[(member, score), ...]``.
    """
    args: list[Arg] = ["ZUNION", *_weighted("zunion", keys), *_aggregate(aggregate)]
    return _ranged(args, withscores, score_cast_func)


def zinter(
    keys: WeightedKeys,
    aggregate: str | None = None,
    withscores: bool = False,
    score_cast_func: ScoreCast = float,
) -> Command[list[Any]]:
    """ZINTER: the intersection of the sorted sets ``keys``, as a list of members by score.

    As ``zunion``; ``score_cast_func`` is aiopool's (redis-py's zinter has none).
    """
    args: list[Arg] = ["ZINTER", *_weighted("zinter", keys), *_aggregate(aggregate)]
    return _ranged(args, withscores, score_cast_func)


def zdiff(
    keys: KeyOrKeys, withscores: bool = False, score_cast_func: ScoreCast = float
) -> Command[list[Any]]:
    """ZDIFF: the members of the first of ``keys`` in none of the others, by score.

    ``withscores=True`` returns ``[(member, score), ...]``, as the other
    range commands do (redis-py returns its flat ``[member, score, ...]``
    reply there, scores unconverted).
    """
    names = key_list("zdiff", keys)
    return _ranged(["ZDIFF", len(names), *names], withscores, score_cast_func)


def zdiffstore(dest: Key, keys: KeyOrKeys) -> Command[int]:
    """ZDIFFSTORE: store ``zdiff(keys)`` at ``dest``; its size (``dest`` is overwritten)."""
    names = key_list("zdiffstore", keys)
    return ("ZDIFFSTORE", dest, len(names), *names), None


def zintercard(numkeys: int, keys: KeyOrKeys, limit: int = 0) -> Command[int]:
    """ZINTERCARD: how many members the sorted sets ``keys`` have in common.

    ``numkeys`` must be ``len(keys)``; counting stops at ``limit`` when it
    is not 0.
    """
    names = _counted("zintercard", "numkeys", numkeys, keys)
    return ("ZINTERCARD", len(names), *names, "LIMIT", not_negative("limit", limit)), None


# -- scanning ---------------------------------------------------------------------------------


def zscan(
    name: Key,
    cursor: int = 0,
    match: str | bytes | None = None,
    count: int | None = None,
    score_cast_func: ScoreCast = float,
) -> Command[tuple[int, list[tuple[Any, Any]]]]:
    """ZSCAN: one batch of the sorted set ``name``, ``(next_cursor, [(member, score)])``.

    The cursor is 0 when done; most code wants ``zscan_iter``.
    """
    args = scan_args("ZSCAN", name, cursor, match, count)
    pairs = cast_pairs(score_cast_func)

    def batch(reply: Any) -> tuple[int, list[tuple[Any, Any]]]:
        return int(reply[0]), pairs(reply[1])

    return tuple(args), batch
