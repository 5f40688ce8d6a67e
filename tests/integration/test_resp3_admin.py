"""Admin, server, scripting and cluster typed methods: the same value under RESP2 and RESP3.

Each test runs once per protocol on a fresh server (``protocol`` below) and
compares what the client of that protocol returns with what a RESP2 client
of the same server returns (``ref``): the same value, and the same types all
the way down (``True == 1``, so ``shape`` compares types too). Values the
server changes between two calls (ages, timestamps, counters) are compared
by shape. RESP2's shapes are pinned literally where they are stable.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from aiopool import Client, ClusterClient, PermissionDenied
from aiopool.testing import RedisCluster, RedisServer

PROTOCOLS = [2, 3]


def shape(value: Any) -> Any:
    """``value``'s types, nested: dict keys kept, everything else replaced by its type name."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return (type(value).__name__, [shape(item) for item in value])
    return type(value).__name__


def same(value: Any, reference: Any) -> bool:
    """Equal, and of the same types all the way down."""
    return bool(value == reference) and shape(value) == shape(reference)


def plain(url: str) -> str:
    """A kit URL without the ``?protocol=3`` ``AIOPOOL_TEST_PROTOCOL`` may have added."""
    return url.partition("?")[0]


@pytest.fixture
def server() -> Iterator[RedisServer]:
    with RedisServer() as fresh:
        yield fresh


@pytest.fixture(params=PROTOCOLS, ids=lambda p: f"resp{p}")
def protocol(request: pytest.FixtureRequest) -> int:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
async def c(server: RedisServer, protocol: int) -> AsyncIterator[Client]:
    async with Client.from_url(f"{plain(server.url)}?protocol={protocol}") as client:
        info = await client.client_info()
        assert info["resp"] == str(protocol), "the client does not speak the protocol asked for"
        yield client


@pytest.fixture
async def ref(server: RedisServer) -> AsyncIterator[Client]:
    """A RESP2 client of the same server: the reference value."""
    async with Client.from_url(f"{plain(server.url)}?protocol=2") as client:
        yield client


# -- server ----------------------------------------------------------------------------------


async def test_config_get_is_a_dict_of_str(c: Client, ref: Client) -> None:
    await ref.config_set("maxmemory-policy", "allkeys-lru")
    assert same(await c.config_get("maxmemory-policy"), {"maxmemory-policy": "allkeys-lru"})
    everything = await c.config_get()
    assert same(everything, await ref.config_get())
    assert len(everything) > 50
    assert await c.config_get("no-such-parameter") == {}


async def test_client_trackinginfo_is_redis_pys_flat_list(c: Client, ref: Client) -> None:
    expected = ["flags", [b"off"], "redirect", -1, "prefixes", []]
    assert same(await c.client_trackinginfo(), expected)
    assert same(await ref.client_trackinginfo(), expected)


async def test_client_trackinginfo_decoded(server: RedisServer, protocol: int) -> None:
    url = f"{plain(server.url)}?protocol={protocol}&decode_responses=true"
    async with Client.from_url(url) as client:
        assert same(
            await client.client_trackinginfo(), ["flags", ["off"], "redirect", -1, "prefixes", []]
        )


async def test_info_client_info_and_client_list_keep_their_types(c: Client, ref: Client) -> None:
    await ref.set("k", "v")
    keyspace = await c.info("keyspace")
    assert same(keyspace, await ref.info("keyspace"))  # Valkey 9 adds a field
    assert same({k: keyspace["db0"][k] for k in ("keys", "expires")}, {"keys": 1, "expires": 0})
    server_info = await c.info("server")
    assert shape(server_info) == shape(await ref.info("server"))
    assert isinstance(server_info["redis_version"], str)
    assert isinstance(server_info["tcp_port"], int)
    mine, other = await c.client_info(), await ref.client_info()
    assert shape(mine) == shape(other)
    assert isinstance(mine["id"], int)
    clients = await c.client_list()
    assert shape(clients[0]) == shape((await ref.client_list())[0])
    assert all(isinstance(v, str) for entry in clients for v in entry.values())


async def test_time_role_lolwut_lastsave(c: Client, ref: Client) -> None:
    seconds, micros = await c.time()
    assert isinstance(seconds, int)
    assert isinstance(micros, int)
    assert same(await c.role(), await ref.role())
    assert same(await c.role(), [b"master", 0, []])
    art = await c.lolwut()
    assert isinstance(art, bytes)
    assert b" ver. " in art  # "Redis ver." or "Valkey ver."
    assert same(await c.lastsave(), await ref.lastsave())


# -- ACL -------------------------------------------------------------------------------------


async def test_acl_getuser_with_selectors(c: Client, ref: Client) -> None:
    assert await ref.acl_setuser(
        "alice",
        enabled=True,
        passwords=["+secret"],
        categories=["+@read"],
        commands=["-keys"],
        keys=["cache:*"],
        channels=["news"],
        selectors=[("+set", "%W~out:*")],
    )
    user = await c.acl_getuser("alice")
    assert same(user, await ref.acl_getuser("alice"))
    assert user is not None
    assert user["enabled"] is True
    assert user["keys"] == ["~cache:*"]
    assert user["channels"] == ["&news"]
    assert user["categories"] == ["-@all", "+@read"]
    assert user["commands"] == ["-keys"]
    # (Valkey 9 adds "databases", "alldbs" to each selector.)
    assert user["selectors"][0][:6] == [
        "commands",
        "-@all +set",
        "keys",
        "%W~out:*",
        "channels",
        "",
    ]
    assert await c.acl_getuser("nobody") is None


async def test_acl_log_entries(server: RedisServer, c: Client, ref: Client) -> None:
    await ref.acl_setuser("bob", enabled=True, passwords=["+pw"], commands=["+get"], keys=["*"])
    bob_url = plain(server.url).replace("redis://", "redis://bob:pw@")
    async with Client.from_url(bob_url) as bob:
        with pytest.raises(PermissionDenied):
            await bob.set("x", 1)
    entries = await c.acl_log()
    reference = await ref.acl_log()
    assert entries
    assert shape(entries) == shape(reference)
    entry = entries[0]
    assert isinstance(entry["age-seconds"], float)
    assert isinstance(entry["count"], int)
    assert isinstance(entry["client-info"], dict)
    assert isinstance(entry["client-info"]["id"], int)
    assert (entry["reason"], entry["username"]) == ("command", "bob")
    assert await c.acl_log_reset() is True
    assert await c.acl_log() == []


# -- SLOWLOG, LATENCY, MEMORY, COMMAND ---------------------------------------------------------


async def test_slowlog_get(c: Client, ref: Client) -> None:
    await ref.config_set("slowlog-log-slower-than", 0)
    await ref.set("slow", "v")
    entries = await c.slowlog_get(3)
    assert shape(entries[0]) == shape((await ref.slowlog_get(3))[0])  # each call logs itself
    assert b"SET slow v" in [entry["command"] for entry in entries]


async def test_latency_histogram_and_events(c: Client, ref: Client) -> None:
    await ref.set("k", "v")
    histogram = await c.latency_histogram("set")
    assert shape(histogram) == shape(await ref.latency_histogram("set"))
    assert set(histogram) == {"set"}
    assert histogram["set"]["calls"] >= 1
    assert all(isinstance(b, int) for b in histogram["set"]["histogram_usec"])
    assert same(await c.latency_latest(), await ref.latency_latest())
    assert isinstance(await c.latency_doctor(), str)


async def test_memory_stats(c: Client, ref: Client) -> None:
    await ref.set("k", "v")
    stats = await c.memory_stats()
    reference = await ref.memory_stats()
    assert set(stats) == set(reference)
    for name, value in stats.items():
        assert type(value) is type(reference[name]), name
    assert isinstance(stats["db.0"], dict)
    assert isinstance(stats["db.0"]["overhead.hashtable.main"], int)
    # RESP3 sends the ratios as doubles; the result keeps RESP2's text.
    assert isinstance(stats["dataset.percentage"], str)
    float(stats["dataset.percentage"])
    assert isinstance(await c.memory_doctor(), str)


async def test_command_info_docs_getkeysandflags(c: Client, ref: Client) -> None:
    info = await c.command_info("get", "set", "no-such-command")
    assert same(info, await ref.command_info("get", "set", "no-such-command"))
    assert set(info) == {"get", "set"}
    assert isinstance(info["get"]["key_specifications"][0], list)  # RESP2's flat list
    docs = await c.command_docs("get", "set")
    assert same(docs, await ref.command_docs("get", "set"))
    assert isinstance(docs["get"]["summary"], bytes)  # the wording is the server's
    assert isinstance(docs["get"]["arguments"][0], list)
    flags = await c.command_getkeysandflags("set", "a", "b")
    assert same(flags, await ref.command_getkeysandflags("set", "a", "b"))
    assert same(await c.module_list(), await ref.module_list())


# -- scripting, pub/sub ---------------------------------------------------------------------------

_LIBRARY = "#!lua name=lib\nredis.register_function('f', function() return 1 end)"


async def test_function_list_and_stats(c: Client, ref: Client) -> None:
    await ref.function_load(_LIBRARY)
    libraries = await c.function_list()
    assert same(libraries, await ref.function_list())
    assert same(
        libraries,
        [
            {
                "library_name": b"lib",
                "engine": b"LUA",
                "functions": [{"name": b"f", "description": None, "flags": []}],
            }
        ],
    )
    stats = await c.function_stats()
    expected = [
        b"running_script",
        None,
        b"engines",
        [b"LUA", [b"libraries_count", 1, b"functions_count", 1]],
    ]
    assert same(stats, expected)
    assert same(await ref.function_stats(), expected)


async def test_script_exists_and_pubsub_counts(c: Client, ref: Client) -> None:
    sha = await ref.script_load("return 1")
    assert same(await c.script_exists(sha, "0" * 40), [True, False])
    assert same(await c.pubsub_numsub("a", "b"), [(b"a", 0), (b"b", 0)])
    assert same(await c.pubsub_channels(), [])


async def test_eval_returns_the_scripts_reply_as_sent(c: Client, protocol: int) -> None:
    # The documented exception: a script's RESP3 types arrive as such.
    assert same(await c.eval("return {1, 'x', {2}}", 0), [1, b"x", [2]])
    double = await c.eval("return {double=1.5}", 0)
    assert same(double, 1.5 if protocol == 3 else b"1.5")


# -- pipelines and transactions ---------------------------------------------------------------


@pytest.mark.parametrize("transaction", [False, True], ids=["pipeline", "multi"])
async def test_queued_admin_commands_transform_as_direct_calls(
    c: Client, ref: Client, transaction: bool
) -> None:
    await ref.function_load(_LIBRARY)
    await ref.acl_setuser("carol", enabled=True, nopass=True, keys=["k:*"])
    async with c.pipeline(transaction=transaction) as pipe:
        pipe.config_get("maxmemory-policy").acl_getuser("carol").function_list()
        pipe.function_stats().client_trackinginfo().command_docs("get")
        results = await pipe.execute()
    expected = [
        await ref.config_get("maxmemory-policy"),
        await ref.acl_getuser("carol"),
        await ref.function_list(),
        await ref.function_stats(),
        await ref.client_trackinginfo(),
        await ref.command_docs("get"),
    ]
    assert same(results, expected)


# -- cluster -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster() -> Iterator[RedisCluster]:
    with RedisCluster(masters=3, replicas_per_master=1) as fresh:
        yield fresh


async def test_cluster_views(cluster: RedisCluster, protocol: int) -> None:
    url = plain(cluster.nodes[0].url)
    async with (
        Client.from_url(f"{url}?protocol={protocol}") as node,
        Client.from_url(f"{url}?protocol=2") as reference,
    ):
        assert same(await node.cluster_slots(), await reference.cluster_slots())
        shards = await node.cluster_shards()
        assert same(shards, await reference.cluster_shards())
        assert len(shards) == 3
        assert isinstance(shards[0]["nodes"][0], dict)
        info = await node.cluster_info()
        assert info["cluster_state"] == "ok"
        assert set(info) == set(await reference.cluster_info())
        nodes = await node.cluster_nodes()
        assert shape(nodes) == shape(await reference.cluster_nodes())
        links = await node.cluster_links()
        assert shape(links) == shape(await reference.cluster_links())
        assert isinstance(links[0], list)
        assert links[0][0] == b"direction"  # RESP2's flat list
    async with ClusterClient.from_url(f"{url}?protocol={protocol}") as client:
        # The topology parsed from the RESP3 reply routes as the RESP2 one does.
        keys = [f"key:{n}" for n in range(20)]
        for key in keys:
            await client.set(key, key)
        assert [await client.get(key) for key in keys] == [key.encode() for key in keys]
        routed = await client.cluster_shards()  # from any one primary, in its order
        assert shape(routed[0]) == shape(shards[0])
        assert sorted(s["slots"] for s in routed) == sorted(s["slots"] for s in shards)
