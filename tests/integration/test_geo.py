"""Geo commands of ``Client``, ``Pipeline`` and ``ClusterClient`` against real servers.

The places are Redis's documentation examples (Palermo and Catania), whose
distances, hashes and positions are known.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from aiopool import Client, ClusterClient, CrossSlotError, ReplyError, key_slot
from aiopool.testing import RedisCluster

from .cluster_support import command_stats, reset_stats, wait_for
from .server_support import IS_VALKEY

# GEORADIUSBYMEMBER and GEOSEARCH FROMMEMBER with a missing member: the servers word it apart.
MISSING_MEMBER = (
    "member Atlantis does not exist" if IS_VALKEY else "could not decode requested zset member"
)

SICILY = (13.361389, 38.115556, "Palermo", 15.087269, 37.502669, "Catania")
PALERMO_HASH = 3479099956230698
CATANIA_HASH = 3479447370796909


async def command_calls(client: Client, command: str) -> int:
    """How many times the server ran ``command`` (``georadius_ro``) since its last reset."""
    raw = await client.execute("INFO", "commandstats")
    for line in raw.decode().splitlines():
        if line.startswith(f"cmdstat_{command}:"):
            return int(line.split("calls=", 1)[1].split(",", 1)[0])
    return 0


def near(pair: Any, expected: tuple[float, float]) -> bool:
    """A position as geo sets store it: within a few metres of what was added."""
    return (
        isinstance(pair, tuple)
        and all(isinstance(part, float) for part in pair)
        and abs(pair[0] - expected[0]) < 1e-4
        and abs(pair[1] - expected[1]) < 1e-4
    )


# -- GEOADD -------------------------------------------------------------------------------------


async def test_geoadd_adds_members_and_honours_nx_xx_ch(r: Client) -> None:
    assert await r.geoadd("Sicily", SICILY) == 2
    assert await r.zcard("Sicily") == 2
    assert await r.geoadd("Sicily", [13.5, 38.2, "Palermo", 12.0, 38.0, "Trapani"], nx=True) == 1
    assert near((await r.geopos("Sicily", "Palermo"))[0], (13.361389, 38.115556))
    moved = [13.5, 38.2, "Palermo", 14.0, 37.0, "Nowhere"]
    assert await r.geoadd("Sicily", moved, xx=True) == 0
    assert near((await r.geopos("Sicily", "Palermo"))[0], (13.5, 38.2))
    assert await r.geopos("Sicily", "Nowhere") == [None]
    assert await r.geoadd("Sicily", [13.361389, 38.115556, "Palermo"], False, False, True) == 1


async def test_geoadd_out_of_range_raises_reply_error_and_adds_nothing(r: Client) -> None:
    with pytest.raises(ReplyError, match="invalid longitude,latitude pair"):
        await r.geoadd("Sicily", [13.36, 38.11, "Palermo", 200, 100, "Nowhere"])
    assert await r.exists("Sicily") == 0
    with pytest.raises(ValueError, match="triples, got 2 item"):
        await r.geoadd("Sicily", [13.36, 38.11])
    with pytest.raises(ValueError, match="got nx, xx"):
        await r.geoadd("Sicily", SICILY, nx=True, xx=True)


# -- GEODIST, GEOHASH, GEOPOS -------------------------------------------------------------------


async def test_geodist_is_a_float_in_the_unit_asked_or_none(r: Client) -> None:
    await r.geoadd("Sicily", SICILY)
    meters = await r.geodist("Sicily", "Palermo", "Catania")
    assert isinstance(meters, float)
    assert meters == pytest.approx(166274.1516)
    assert await r.geodist("Sicily", "Palermo", "Catania", "km") == pytest.approx(166.2742)
    assert await r.geodist("Sicily", "Palermo", "Catania", unit="MI") == pytest.approx(103.3182)
    assert await r.geodist("Sicily", "Palermo", "Atlantis") is None
    assert await r.geodist("missing", "a", "b") is None
    with pytest.raises(ValueError, match="unit must be 'm', 'km', 'mi' or 'ft'"):
        await r.geodist("Sicily", "Palermo", "Catania", "yd")


async def test_geohash_and_geopos_answer_per_member_with_none_for_missing(r: Client) -> None:
    await r.geoadd("Sicily", SICILY)
    assert await r.geohash("Sicily", "Palermo", "Catania", "Atlantis") == [
        "sqc8b49rny0",
        "sqdtr74hyu0",
        None,
    ]
    palermo, atlantis, catania = await r.geopos("Sicily", "Palermo", "Atlantis", "Catania")
    assert near(palermo, (13.361389, 38.115556))
    assert atlantis is None
    assert near(catania, (15.087269, 37.502669))
    assert await r.geopos("missing", "a") == [None]


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.geoadd("str", [1, 2, "m"]),
        lambda c: c.geodist("str", "a", "b"),
        lambda c: c.geohash("str", "a"),
        lambda c: c.geopos("str", "a"),
        lambda c: c.georadius("str", 15, 37, 100),
        lambda c: c.georadius("str", 15, 37, 100, store="d"),
        lambda c: c.georadiusbymember("str", "a", 100),
        lambda c: c.geosearch("str", longitude=15, latitude=37, radius=100),
        lambda c: c.geosearchstore("d", "str", longitude=15, latitude=37, radius=100),
    ],
    ids=[
        "geoadd",
        "geodist",
        "geohash",
        "geopos",
        "georadius",
        "georadius-store",
        "georadiusbymember",
        "geosearch",
        "geosearchstore",
    ],
)
async def test_geo_command_on_a_string_raises_wrongtype(r: Client, call: Any) -> None:
    await r.set("str", "v")
    with pytest.raises(ReplyError, match="wrong kind of value") as info:
        await call(r)
    assert info.value.code == "WRONGTYPE"
    assert await r.get("str") == b"v"


# -- GEORADIUS, GEORADIUSBYMEMBER ---------------------------------------------------------------


async def test_georadius_returns_members_or_redis_py_lists(r: Client) -> None:
    await r.geoadd("Sicily", SICILY)
    assert await r.georadius("Sicily", 15, 37, 200, "km", sort="ASC") == [b"Catania", b"Palermo"]
    assert await r.georadius("Sicily", 15, 37, 100, "km") == [b"Catania"]
    (member, dist), *_ = await r.georadius("Sicily", 15, 37, 200, "km", withdist=True, count=1)
    assert (member, dist) == (b"Catania", pytest.approx(56.4413))
    full = await r.georadius(
        "Sicily", 15, 37, 200, "km", withdist=True, withcoord=True, withhash=True, sort="DESC"
    )
    assert [row[0] for row in full] == [b"Palermo", b"Catania"]
    assert [row[1] for row in full] == [pytest.approx(190.4424), pytest.approx(56.4413)]
    assert [row[2] for row in full] == [PALERMO_HASH, CATANIA_HASH]
    assert near(full[0][3], (13.361389, 38.115556))
    assert all(isinstance(row, list) and len(row) == 4 for row in full)
    coords = await r.georadius("Sicily", 15, 37, 200, "km", withcoord=True, sort="ASC")
    assert [row[0] for row in coords] == [b"Catania", b"Palermo"]
    assert near(coords[0][1], (15.087269, 37.502669))
    assert await r.georadius("missing", 15, 37, 200) == []


async def test_georadius_without_store_runs_as_georadius_ro(r: Client) -> None:
    await r.geoadd("Sicily", SICILY)
    await r.execute("CONFIG", "RESETSTAT")
    await r.georadius("Sicily", 15, 37, 200, "km")
    await r.georadiusbymember("Sicily", "Palermo", 200, "km", withdist=True)
    assert await command_calls(r, "georadius_ro") == 1
    assert await command_calls(r, "georadiusbymember_ro") == 1
    assert await command_calls(r, "georadius") == 0


async def test_georadius_store_and_store_dist_write_a_sorted_set(r: Client) -> None:
    await r.geoadd("Sicily", SICILY)
    await r.execute("CONFIG", "RESETSTAT")
    assert await r.georadius("Sicily", 15, 37, 200, "km", store="by-hash") == 2
    assert await r.zrange("by-hash", 0, -1, withscores=True) == [
        (b"Palermo", float(PALERMO_HASH)),
        (b"Catania", float(CATANIA_HASH)),
    ]
    assert await r.georadiusbymember("Sicily", "Palermo", 200, "km", store_dist="by-dist") == 2
    assert await r.zrange("by-dist", 0, -1, withscores=True) == [
        (b"Palermo", 0.0),
        (b"Catania", pytest.approx(166.2742)),
    ]
    assert await command_calls(r, "georadius") == 1
    assert await command_calls(r, "georadiusbymember") == 1
    with pytest.raises(ValueError, match="store cannot be combined with withdist"):
        await r.georadius("Sicily", 15, 37, 200, store="x", withdist=True)
    assert await r.exists("x") == 0


async def test_georadiusbymember_searches_around_a_member(r: Client) -> None:
    await r.geoadd("Sicily", SICILY)
    await r.geoadd("Sicily", [13.583333, 37.316667, "Agrigento"])
    assert await r.georadiusbymember("Sicily", "Agrigento", 100, "km") == [
        b"Agrigento",
        b"Palermo",
    ]
    rows = await r.georadiusbymember("Sicily", "Agrigento", 100, "km", withdist=True, sort="ASC")
    assert rows[0] == [b"Agrigento", 0.0]
    with pytest.raises(ReplyError, match=MISSING_MEMBER):
        await r.georadiusbymember("Sicily", "Atlantis", 100)


# -- GEOSEARCH, GEOSEARCHSTORE ------------------------------------------------------------------


async def test_geosearch_by_radius_or_box_from_a_member_or_a_point(r: Client) -> None:
    await r.geoadd("Sicily", SICILY)
    assert await r.geosearch("Sicily", longitude=15, latitude=37, radius=200, unit="km") == [
        b"Palermo",
        b"Catania",
    ]
    box = await r.geosearch(
        "Sicily", member="Catania", width=400, height=400, unit="km", sort="asc", withdist=True
    )
    assert box == [[b"Catania", 0.0], [b"Palermo", pytest.approx(166.2742)]]
    nearest = await r.geosearch(
        "Sicily", longitude=15, latitude=37, radius=200, unit="km", count=1, withhash=True
    )
    assert nearest == [[b"Catania", CATANIA_HASH]]
    (row,) = await r.geosearch("Sicily", "Palermo", radius=1, withcoord=True)
    assert row[0] == b"Palermo"
    assert near(row[1], (13.361389, 38.115556))
    with pytest.raises(ReplyError, match=MISSING_MEMBER):
        await r.geosearch("Sicily", member="Atlantis", radius=1)
    with pytest.raises(ValueError, match="needs radius, or both width and height"):
        await r.geosearch("Sicily", member="Palermo", width=10)


async def test_geosearchstore_stores_hashes_or_distances(r: Client) -> None:
    await r.geoadd("Sicily", SICILY)
    assert (
        await r.geosearchstore("near", "Sicily", longitude=15, latitude=37, radius=100, unit="km")
        == 1
    )
    assert await r.zrange("near", 0, -1, withscores=True) == [(b"Catania", float(CATANIA_HASH))]
    assert (
        await r.geosearchstore(
            "near", "Sicily", member="Palermo", radius=200, unit="km", storedist=True
        )
        == 2
    )
    assert await r.zrange("near", 0, -1, withscores=True) == [
        (b"Palermo", 0.0),
        (b"Catania", pytest.approx(166.2742)),
    ]
    assert await r.geosearchstore("near", "Sicily", member="Palermo", radius=1, count=1) == 1
    with pytest.raises(ValueError, match="any needs count"):
        await r.geosearchstore("near", "Sicily", member="Palermo", radius=1, any=True)


# -- decoded, pipelines, transactions -----------------------------------------------------------


async def test_geo_commands_with_decode_responses_return_str(rs: Client) -> None:
    await rs.geoadd("Sicily", SICILY)
    assert await rs.geohash("Sicily", "Palermo") == ["sqc8b49rny0"]
    assert await rs.georadius("Sicily", 15, 37, 100, "km") == ["Catania"]
    assert await rs.geosearch("Sicily", "Catania", radius=1, withdist=True) == [["Catania", 0.0]]
    assert near((await rs.geopos("Sicily", "Catania"))[0], (15.087269, 37.502669))


async def test_geo_commands_in_a_pipeline_and_a_transaction(r: Client) -> None:
    async with r.pipeline() as p:
        p.geoadd("Sicily", SICILY).geodist("Sicily", "Palermo", "Catania", "km")
        p.geohash("Sicily", "Catania").georadius("Sicily", 15, 37, 100, "km", withhash=True)
        p.geosearch("Sicily", "Palermo", radius=1).geosearchstore(
            "d", "Sicily", "Palermo", radius=1
        )
        results = await p.execute()
    assert results == [
        2,
        pytest.approx(166.2742),
        ["sqdtr74hyu0"],
        [[b"Catania", CATANIA_HASH]],
        [b"Palermo"],
        1,
    ]
    async with r.pipeline(transaction=True) as p:
        p.georadiusbymember("Sicily", "Palermo", 200, "km", store="t").zcard("t")
        p.geopos("Sicily", "Atlantis")
        assert await p.execute() == [2, 2, [None]]


# -- on a cluster -------------------------------------------------------------------------------


async def test_geo_commands_on_a_cluster_keep_their_keys_in_one_slot(
    redis_cluster: RedisCluster,
) -> None:
    src, dest, elsewhere = "{geo}Sicily", "{geo}near", "{other}near"
    assert key_slot(src) != key_slot(elsewhere)
    async with ClusterClient.from_url(redis_cluster.startup_url) as cc:
        assert await cc.geoadd(src, SICILY) == 2
        assert await cc.geodist(src, "Palermo", "Catania", "km") == pytest.approx(166.2742)
        assert await cc.geohash(src, "Palermo") == ["sqc8b49rny0"]
        assert near((await cc.geopos(src, "Palermo"))[0], (13.361389, 38.115556))
        assert await cc.georadius(src, 15, 37, 100, "km") == [b"Catania"]
        assert await cc.georadius(src, 15, 37, 200, "km", store=dest) == 2
        assert await cc.georadiusbymember(src, "Palermo", 1, store_dist=dest) == 1
        assert await cc.geosearch(src, "Palermo", radius=1, withdist=True) == [[b"Palermo", 0.0]]
        assert (
            await cc.geosearchstore(dest, src, longitude=15, latitude=37, radius=100, unit="km")
            == 1
        )
        async with cc.pipeline() as p:
            p.geopos(src, "Atlantis").geosearchstore(dest, src, "Catania", radius=1)
            assert await p.execute() == [[None], 1]
        calls: list[Callable[[Any], Any]] = [
            lambda c: c.georadius(src, 15, 37, 200, store=elsewhere),
            lambda c: c.georadiusbymember(src, "Palermo", 1, store_dist=elsewhere),
            lambda c: c.geosearchstore(elsewhere, src, "Palermo", radius=1),
        ]
        for call in calls:
            with pytest.raises(CrossSlotError, match="CROSSSLOT"):
                await call(cc)
            with pytest.raises(CrossSlotError, match="CROSSSLOT"):
                call(cc.pipeline())
        assert await cc.exists(elsewhere) == 0


async def test_georadius_without_store_may_be_read_from_a_replica(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    key = "{geo}Sicily"
    master = c.owner_of(c.slot_of(key))
    replica = c.replica_of(master)
    async with ClusterClient.from_url(c.startup_url, read_from="replicas") as cc:
        await cc.geoadd(key, SICILY)
        await wait_for(
            lambda: c.execute(replica, "ZCARD", key, readonly=True) == 2,
            "the replica to apply the GEOADD",
        )
        reset_stats(c)
        assert await cc.georadius(key, 15, 37, 100, "km") == [b"Catania"]
        assert await cc.georadius(key, 15, 37, 100, "km", store="{geo}near") == 1
    assert command_stats(c, replica, "georadius_ro") == (1, 0)
    assert command_stats(c, master, "georadius_ro") == (0, 0)
    # With STORE it writes: the primary runs it (the replica then runs it too, by
    # replication, so only the primary's count says where the client sent it).
    assert command_stats(c, master, "georadius") == (1, 0)
    assert c.execute(master, "ZCARD", "{geo}near") == 1
