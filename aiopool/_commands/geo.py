"""Geospatial commands, with redis-py's names, arguments and result shapes.

A geo set is a sorted set whose scores encode positions, so the sorted set
commands work on it too. Coordinates are ints, floats or numeric strings
(the server checks their range: longitude -180..180, latitude about
-85.05..85.05); distances are in ``unit``: ``"m"``, ``"km"``, ``"mi"`` or
``"ft"`` (any case). Search results are a list of members, or with
``withdist``/``withhash``/``withcoord`` a list of lists ``[member, dist,
hash, (longitude, latitude)]`` holding only the parts asked for, in that
order, as redis-py's: distance a float, hash an int, coordinates floats.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .._errors import DataTypeError, DataValueError
from ._base import Arg, Command, Key, Value, one_of, positive, to_float_or_none, to_str
from ._scores import checked_score

_UNITS = ("m", "km", "mi", "ft")
# A coordinate, a radius, a width: a number, or a numeric string the server checks.
Measure = int | float | str | bytes


# -- argument checks ------------------------------------------------------------------


def _measure(name: str, value: object) -> Arg:
    """A coordinate or distance: an int, a float (not NaN) or a str/bytes the server parses."""
    if isinstance(value, str | bytes):
        return value
    return checked_score(name, value)  # the same number checks as a score's


def _distance(name: str, value: object) -> Arg:
    """A radius, width or height: a ``_measure`` that is not negative."""
    checked = _measure(name, value)
    if isinstance(checked, int | float) and checked < 0:
        raise DataValueError(f"{name} must be >= 0, got {value!r}")
    return checked


def _unit(value: object) -> str:
    if not isinstance(value, str):
        raise DataTypeError(
            f"unit must be a str ('m', 'km', 'mi' or 'ft'), got {type(value).__name__}"
        )
    if value.lower() not in _UNITS:
        raise DataValueError(f"unit must be 'm', 'km', 'mi' or 'ft', got {value!r}")
    return value.lower()


def _sort(value: object) -> list[Arg]:
    if value is None:
        return []
    if not isinstance(value, str) or value.upper() not in ("ASC", "DESC"):
        raise DataValueError(f"sort must be 'ASC' or 'DESC', got {value!r}")
    return [value.upper()]


def _count(count: int | None, any: bool) -> list[Arg]:
    if count is None:
        if any:
            raise DataValueError("any needs count (COUNT n ANY: stop at the first n found)")
        return []
    counted: list[Arg] = ["COUNT", positive("count", count)]
    return [*counted, "ANY"] if any else counted


def _coordinates(pair: Any) -> tuple[float, float]:
    return float(pair[0]), float(pair[1])


def _places(
    withdist: bool, withhash: bool, withcoord: bool
) -> tuple[list[Arg], Callable[[Any], list[Any]] | None]:
    """The WITH* words to send, and the transform of the reply they make (``None``: members)."""
    casts: list[Callable[[Any], Any]] = []
    words: list[Arg] = []
    for flag, word, cast in (
        (withdist, "WITHDIST", float),
        (withhash, "WITHHASH", int),
        (withcoord, "WITHCOORD", _coordinates),
    ):
        if flag:
            words.append(word)
            casts.append(cast)
    if not casts:
        return [], None

    def places(reply: Any) -> list[Any]:
        return [
            [item[0], *(cast(part) for cast, part in zip(casts, item[1:], strict=True))]
            for item in reply
        ]

    return words, places


def _store(store: Key | None, store_dist: Key | None, withs: list[Arg]) -> tuple[list[Arg], bool]:
    """``STORE k`` or ``STOREDIST k`` of GEORADIUS, and whether the command writes."""
    one_of(store=store is not None, store_dist=store_dist is not None)
    for word, key in (("STORE", store), ("STOREDIST", store_dist)):
        if key is not None:
            if withs:
                raise DataValueError(
                    f"{word.lower().replace('dist', '_dist')} cannot be combined with withdist, "
                    "withhash or withcoord (the server stores members and scores only)"
                )
            return [word, key], True
    return [], False


def _search_args(
    member: Value | None,
    longitude: Measure | None,
    latitude: Measure | None,
    unit: str,
    radius: Measure | None,
    width: Measure | None,
    height: Measure | None,
    sort: str | None,
    count: int | None,
    any: bool,
) -> list[Arg]:
    """``FROMMEMBER|FROMLONLAT BYRADIUS|BYBOX [ASC|DESC] [COUNT n [ANY]]`` of GEOSEARCH(STORE)."""
    args: list[Arg]
    if member is not None:
        if longitude is not None or latitude is not None:
            raise DataValueError("give member, or longitude and latitude, not both")
        args = ["FROMMEMBER", member]
    elif longitude is None or latitude is None:
        raise DataValueError("geosearch needs member, or both longitude and latitude")
    else:
        args = ["FROMLONLAT", _measure("longitude", longitude), _measure("latitude", latitude)]
    if radius is not None:
        if width is not None or height is not None:
            raise DataValueError("give radius, or width and height, not both")
        args += ("BYRADIUS", _distance("radius", radius), _unit(unit))
    elif width is None or height is None:
        raise DataValueError("geosearch needs radius, or both width and height")
    else:
        args += ("BYBOX", _distance("width", width), _distance("height", height), _unit(unit))
    return [*args, *_sort(sort), *_count(count, any)]


# -- adding and reading positions ---------------------------------------------------------


def geoadd(
    name: Key, values: Sequence[Any], nx: bool = False, xx: bool = False, ch: bool = False
) -> Command[int]:
    """GEOADD: add or move the members of ``values``; how many were added.

    ``values`` is the flat sequence ``(longitude, latitude, member, ...)``
    of redis-py. ``nx``: only add new members; ``xx``: only move existing
    ones (not both); ``ch``: count moved members too. A coordinate out of
    range raises ``ReplyError`` and adds nothing.
    """
    if not isinstance(values, Sequence) or isinstance(values, str | bytes):
        raise DataTypeError(
            f"values must be a sequence (longitude, latitude, member, ...), "
            f"got {type(values).__name__}"
        )
    if not values or len(values) % 3:
        raise DataValueError(
            f"values must hold longitude, latitude, member triples, got {len(values)} item(s)"
        )
    args: list[Arg] = ["GEOADD", name]
    condition = one_of(nx=nx, xx=xx)
    if condition:
        args.append(condition.upper())
    if ch:
        args.append("CH")
    for index in range(0, len(values), 3):
        longitude, latitude, member = values[index : index + 3]
        args += (
            _measure(f"the longitude of {member!r}", longitude),
            _measure(f"the latitude of {member!r}", latitude),
            member,
        )
    return tuple(args), None


def geodist(
    name: Key, place1: Value, place2: Value, unit: str | None = None
) -> Command[float | None]:
    """GEODIST: the distance between two members in ``unit`` (meters by default), or ``None``.

    ``None`` when either member (or ``name``) is missing.
    """
    args: tuple[Arg, ...] = ("GEODIST", name, place1, place2)
    if unit is not None:
        args += (_unit(unit),)
    return args, to_float_or_none


def _hashes(reply: Any) -> list[str | None]:
    return [None if item is None else to_str(item) for item in reply]


def geohash(name: Key, *values: Value) -> Command[list[str | None]]:
    """GEOHASH: the 11-character geohash of each member as a ``str``, ``None`` if missing."""
    return ("GEOHASH", name, *values), _hashes


def _positions(reply: Any) -> list[tuple[float, float] | None]:
    return [None if pair is None else _coordinates(pair) for pair in reply]


def geopos(name: Key, *values: Value) -> Command[list[tuple[float, float] | None]]:
    """GEOPOS: the ``(longitude, latitude)`` of each member as floats, ``None`` if missing."""
    return ("GEOPOS", name, *values), _positions


# -- searching ----------------------------------------------------------------------------


def _radius(
    word: str,
    name: Key,
    center: list[Arg],
    radius: Measure,
    unit: str | None,
    withdist: bool,
    withcoord: bool,
    withhash: bool,
    count: int | None,
    sort: str | None,
    store: Key | None,
    store_dist: Key | None,
    any: bool,
) -> Command[Any]:
    withs, transform = _places(withdist, withhash, withcoord)
    stored, writes = _store(store, store_dist, withs)
    args: list[Arg] = [
        # Without STORE the read-only form: a replica may serve it, and a lost
        # reply may be asked again (the server flags GEORADIUS as a write).
        word if writes else f"{word}_RO",
        name,
        *center,
        _distance("radius", radius),
        "m" if unit is None else _unit(unit),
        *withs,
        *_count(count, any),
        *_sort(sort),
        *stored,
    ]
    return tuple(args), transform


def georadius(
    name: Key,
    longitude: Measure,
    latitude: Measure,
    radius: Measure,
    unit: str | None = None,
    withdist: bool = False,
    withcoord: bool = False,
    withhash: bool = False,
    count: int | None = None,
    sort: str | None = None,
    store: Key | None = None,
    store_dist: Key | None = None,
    any: bool = False,
) -> Command[Any]:
    """GEORADIUS: the members within ``radius`` of a point (see the module for the shape).

    ``unit`` defaults to meters. ``count`` returns at most that many (with
    ``any=True`` the first found, not the nearest); ``sort`` is ``"ASC"``
    (nearest first) or ``"DESC"``. ``store`` (or ``store_dist``) stores the
    members with their geohash (or distance) as score in that sorted set
    instead and returns how many; not with the WITH* options. Sent as
    GEORADIUS_RO when nothing is stored, unlike redis-py: same reply, but
    replicas may serve it and a lost reply may be asked again.
    """
    center = [_measure("longitude", longitude), _measure("latitude", latitude)]
    return _radius(
        "GEORADIUS",
        name,
        center,
        radius,
        unit,
        withdist,
        withcoord,
        withhash,
        count,
        sort,
        store,
        store_dist,
        any,
    )


def georadiusbymember(
    name: Key,
    member: Value,
    radius: Measure,
    unit: str | None = None,
    withdist: bool = False,
    withcoord: bool = False,
    withhash: bool = False,
    count: int | None = None,
    sort: str | None = None,
    store: Key | None = None,
    store_dist: Key | None = None,
    any: bool = False,
) -> Command[Any]:
    """GEORADIUSBYMEMBER: ``georadius`` around the position of ``member``.

    A missing ``member`` raises ``ReplyError``. Sent as
    GEORADIUSBYMEMBER_RO when nothing is stored, as ``georadius``.
    """
    return _radius(
        "GEORADIUSBYMEMBER",
        name,
        [member],
        radius,
        unit,
        withdist,
        withcoord,
        withhash,
        count,
        sort,
        store,
        store_dist,
        any,
    )


def geosearch(
    name: Key,
    member: Value | None = None,
    longitude: Measure | None = None,
    latitude: Measure | None = None,
    unit: str = "m",
    radius: Measure | None = None,
    width: Measure | None = None,
    height: Measure | None = None,
    sort: str | None = None,
    count: int | None = None,
    any: bool = False,
    withcoord: bool = False,
    withdist: bool = False,
    withhash: bool = False,
) -> Command[list[Any]]:
    """GEOSEARCH: the members within a circle or box (see the module for the shape).

    The centre is ``member``'s position, or ``longitude`` and ``latitude``;
    the area is ``radius``, or ``width`` by ``height``, in ``unit``.
    ``sort``, ``count`` and ``any`` as for ``georadius``.
    """
    args = _search_args(member, longitude, latitude, unit, radius, width, height, sort, count, any)
    withs, transform = _places(withdist, withhash, withcoord)
    return ("GEOSEARCH", name, *args, *withs), transform


def geosearchstore(
    dest: Key,
    name: Key,
    member: Value | None = None,
    longitude: Measure | None = None,
    latitude: Measure | None = None,
    unit: str = "m",
    radius: Measure | None = None,
    width: Measure | None = None,
    height: Measure | None = None,
    sort: str | None = None,
    count: int | None = None,
    any: bool = False,
    storedist: bool = False,
) -> Command[int]:
    """GEOSEARCHSTORE: store the ``geosearch`` of ``name`` at ``dest``; how many were stored.

    Scores are the members' geohashes, or with ``storedist=True`` their
    distances in ``unit``. ``dest`` is overwritten.
    """
    args = _search_args(member, longitude, latitude, unit, radius, width, height, sort, count, any)
    if storedist:
        args.append("STOREDIST")
    return ("GEOSEARCHSTORE", dest, name, *args), None
