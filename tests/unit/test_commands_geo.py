"""Argument building and reply transforms of the geo commands; nothing is sent."""

from __future__ import annotations

from typing import Any

import pytest

from aiopool import CrossSlotError
from aiopool import _commands as cmd
from aiopool._command_table import READ_ONLY
from aiopool._keys import command_keys, command_slot
from aiopool._safety import is_safe_to_repeat

geo = cmd.geo

# -- GEOADD ----------------------------------------------------------------------------------


def test_geoadd_sends_the_flat_triples_after_its_flags() -> None:
    values = (13.361389, 38.115556, "Palermo", 15.087269, "37.502669", b"Catania")
    assert geo.geoadd("g", values) == (("GEOADD", "g", *values), None)
    assert geo.geoadd("g", [1, 2, "m"], xx=True, ch=True)[0] == (
        "GEOADD",
        "g",
        "XX",
        "CH",
        1,
        2,
        "m",
    )
    assert geo.geoadd("g", [1, 2, "m"], True)[0] == ("GEOADD", "g", "NX", 1, 2, "m")


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: geo.geoadd("g", []), ValueError, "triples, got 0 item"),
        (lambda: geo.geoadd("g", [1, 2]), ValueError, "triples, got 2 item"),
        (lambda: geo.geoadd("g", {1: 2}), TypeError, "values must be a sequence"),  # type: ignore[arg-type]
        (lambda: geo.geoadd("g", "1,2,m"), TypeError, "values must be a sequence"),
        (lambda: geo.geoadd("g", [1, 2, "m"], nx=True, xx=True), ValueError, "got nx, xx"),
        (lambda: geo.geoadd("g", [None, 2, "m"]), TypeError, "the longitude of 'm' must be"),
        (lambda: geo.geoadd("g", [1, True, "m"]), TypeError, "the latitude of 'm' must be"),
        (lambda: geo.geoadd("g", [float("nan"), 1, "m"]), ValueError, "must be a number, got NaN"),
    ],
    ids=["empty", "not-triples", "mapping", "str", "nx-xx", "none", "bool", "nan"],
)
def test_geoadd_checks_its_values_and_flags(call: Any, error: Any, message: str) -> None:
    with pytest.raises(error, match=message):
        call()


# -- GEODIST, GEOHASH, GEOPOS ------------------------------------------------------------------


def test_geodist_sends_a_lowercase_unit_and_returns_a_float_or_none() -> None:
    assert geo.geodist("g", "a", "b")[0] == ("GEODIST", "g", "a", "b")
    command = geo.geodist("g", "a", "b", "KM")
    assert command[0] == ("GEODIST", "g", "a", "b", "km")
    assert command[1] is not None
    assert command[1](b"166.2742") == 166.2742
    assert command[1](None) is None
    with pytest.raises(ValueError, match="unit must be 'm', 'km', 'mi' or 'ft', got 'yd'"):
        geo.geodist("g", "a", "b", "yd")
    with pytest.raises(TypeError, match="unit must be a str"):
        geo.geodist("g", "a", "b", 1)  # type: ignore[arg-type]


def test_geohash_returns_str_whatever_the_decoding() -> None:
    command = geo.geohash("g", "a", "b", "c")
    assert command[0] == ("GEOHASH", "g", "a", "b", "c")
    assert command[1] is not None
    assert command[1]([b"sqc8b49rny0", "sqdtr74hyu0", None]) == ["sqc8b49rny0", "sqdtr74hyu0", None]


def test_geopos_returns_float_pairs_or_none() -> None:
    command = geo.geopos("g", "a", "missing")
    assert command[0] == ("GEOPOS", "g", "a", "missing")
    assert command[1] is not None
    assert command[1]([[b"13.36", b"38.11"], None]) == [(13.36, 38.11), None]


# -- GEORADIUS, GEORADIUSBYMEMBER --------------------------------------------------------------


def test_georadius_without_store_is_sent_read_only() -> None:
    command = geo.georadius("g", 15, 37, 200, "km")
    assert command == (("GEORADIUS_RO", "g", 15, 37, 200, "km"), None)
    assert geo.georadius("g", 15, 37, 200)[0][-1] == "m"
    assert geo.georadiusbymember("g", "Palermo", 100)[0] == (
        *("GEORADIUSBYMEMBER_RO", "g", "Palermo", 100, "m"),
    )
    assert "georadius_ro" in READ_ONLY
    assert is_safe_to_repeat(command[0])


def test_georadius_with_store_is_a_write_naming_its_store_key() -> None:
    stored = geo.georadius("g", 15, 37, 200, store="dest")
    assert stored == (("GEORADIUS", "g", 15, 37, 200, "m", "STORE", "dest"), None)
    by_dist = geo.georadiusbymember("g", "a", 5, "km", store_dist="dist", sort="asc", count=2)
    assert by_dist[0] == (
        *("GEORADIUSBYMEMBER", "g", "a", 5, "km", "COUNT", 2, "ASC", "STOREDIST", "dist"),
    )
    for args in (stored[0], by_dist[0]):
        assert "georadius" not in READ_ONLY
        assert not is_safe_to_repeat(args)
    # The store key counts for the slot: two slots are refused before anything is sent.
    assert command_keys(stored[0]) == ["g", "dest"]
    with pytest.raises(CrossSlotError):
        command_slot(geo.georadius("{a}g", 15, 37, 200, store="{b}dest")[0])
    assert command_slot(geo.georadius("{a}g", 15, 37, 200, store="{a}dest")[0]) is not None


def test_georadius_options_come_in_redis_order() -> None:
    command = geo.georadius("g", 15, 37, 200, "km", True, True, True, 3, "DESC", any=True)
    assert command[0] == (
        *("GEORADIUS_RO", "g", 15, 37, 200, "km", "WITHDIST", "WITHHASH", "WITHCOORD"),
        *("COUNT", 3, "ANY", "DESC"),
    )


@pytest.mark.parametrize(
    ("flags", "reply", "result"),
    [
        ({}, [b"a", b"b"], [b"a", b"b"]),
        ({"withdist": True}, [[b"a", b"1.5"]], [[b"a", 1.5]]),
        ({"withhash": True}, [[b"a", 3479099956230698]], [[b"a", 3479099956230698]]),
        ({"withcoord": True}, [[b"a", [b"1.0", b"2.0"]]], [[b"a", (1.0, 2.0)]]),
        (
            {"withdist": True, "withcoord": True, "withhash": True},
            [["a", "0.5", 7, ["1", "2"]]],
            [["a", 0.5, 7, (1.0, 2.0)]],
        ),
    ],
    ids=["members", "dist", "hash", "coord", "all"],
)
def test_search_results_have_redis_py_shapes(
    flags: dict[str, Any], reply: Any, result: Any
) -> None:
    for command in (
        geo.georadius("g", 1, 2, 3, **flags),
        geo.georadiusbymember("g", "m", 3, **flags),
        geo.geosearch("g", member="m", radius=3, **flags),
    ):
        transform = command[1]
        assert (reply if transform is None else transform(reply)) == result


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: geo.georadius("g", 1, 2, 3, unit="yd"), ValueError, "unit must be"),
        (lambda: geo.georadius("g", 1, 2, -3), ValueError, "radius must be >= 0"),
        (lambda: geo.georadius("g", 1, 2, None), TypeError, "radius must be an int"),  # type: ignore[arg-type]
        (lambda: geo.georadius("g", "x", 2, 3), None, ""),  # the server checks strings
        (lambda: geo.georadius("g", [1], 2, 3), TypeError, "longitude must be"),  # type: ignore[arg-type]
        (lambda: geo.georadius("g", 1, 2, 3, sort="up"), ValueError, "sort must be 'ASC'"),
        (lambda: geo.georadius("g", 1, 2, 3, any=True), ValueError, "any needs count"),
        (lambda: geo.georadius("g", 1, 2, 3, count=0), ValueError, "count must be a positive"),
        (
            lambda: geo.georadius("g", 1, 2, 3, store="a", store_dist="b"),
            ValueError,
            "at most one of store, store_dist",
        ),
        (
            lambda: geo.georadiusbymember("g", "m", 3, withdist=True, store="a"),
            ValueError,
            "store cannot be combined with withdist",
        ),
    ],
    ids=[
        "unit",
        "negative",
        "none",
        "str",
        "list",
        "sort",
        "any",
        "count",
        "two-stores",
        "store-with",
    ],
)
def test_georadius_checks_its_arguments(call: Any, error: Any, message: str) -> None:
    if error is None:
        call()
        return
    with pytest.raises(error, match=message):
        call()


# -- GEOSEARCH, GEOSEARCHSTORE -----------------------------------------------------------------


def test_geosearch_from_member_or_point_by_radius_or_box() -> None:
    assert geo.geosearch("g", member="a", radius=10, unit="km")[0] == (
        *("GEOSEARCH", "g", "FROMMEMBER", "a", "BYRADIUS", 10, "km"),
    )
    assert geo.geosearch(
        "g", longitude=15, latitude=37, width=400, height=100, sort="asc", count=2, any=True
    )[0] == (
        *("GEOSEARCH", "g", "FROMLONLAT", 15, 37, "BYBOX", 400, 100, "m"),
        *("ASC", "COUNT", 2, "ANY"),
    )
    assert geo.geosearch("g", "a", radius=1, withcoord=True, withdist=True)[0][-2:] == (
        *("WITHDIST", "WITHCOORD"),
    )


def test_geosearchstore_stores_with_or_without_distances() -> None:
    assert geo.geosearchstore("d", "g", member="a", radius=5) == (
        ("GEOSEARCHSTORE", "d", "g", "FROMMEMBER", "a", "BYRADIUS", 5, "m"),
        None,
    )
    assert geo.geosearchstore("d", "g", "a", radius=5, storedist=True)[0][-1] == "STOREDIST"
    assert command_keys(geo.geosearchstore("d", "g", "a", radius=5)[0]) == ["d", "g"]
    with pytest.raises(CrossSlotError):
        command_slot(geo.geosearchstore("{x}d", "{y}g", "a", radius=5)[0])


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"radius": 1}, ValueError, "needs member, or both longitude and latitude"),
        ({"longitude": 1, "radius": 1}, ValueError, "needs member, or both longitude"),
        ({"member": "a", "latitude": 1, "radius": 1}, ValueError, "member, or longitude and"),
        ({"member": "a"}, ValueError, "needs radius, or both width and height"),
        ({"member": "a", "width": 1}, ValueError, "needs radius, or both width and height"),
        ({"member": "a", "radius": 1, "height": 1}, ValueError, "radius, or width and height"),
        ({"member": "a", "radius": 1, "unit": "yd"}, ValueError, "unit must be"),
        ({"member": "a", "width": -1, "height": 1}, ValueError, "width must be >= 0"),
        ({"member": "a", "radius": 1, "any": True}, ValueError, "any needs count"),
        ({"member": "a", "radius": 1, "sort": 1}, ValueError, "sort must be"),
    ],
    ids=[
        "no-centre",
        "half-point",
        "two-centres",
        "no-area",
        "half-box",
        "two-areas",
        "unit",
        "negative",
        "any",
        "sort",
    ],
)
def test_geosearch_and_geosearchstore_check_their_arguments(
    options: dict[str, Any], error: Any, message: str
) -> None:
    with pytest.raises(error, match=message):
        geo.geosearch("g", **options)
    with pytest.raises(error, match=message):
        geo.geosearchstore("d", "g", **options)
