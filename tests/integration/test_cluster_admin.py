"""CLUSTER commands and cluster-wide administration, on a node's ``Client`` and on ``ClusterClient``.

What a test checks is read from the nodes over the kit's own sockets
(``cluster.execute``), never through aiopool: which nodes ran a fanned-out
command, which node holds a slot's keys. The administrative CLUSTER commands
are tested for their argument checks, their refusals, and the effects that
leave the shared cluster as it was (MEET of a known node, SETSLOT NODE to the
owner, SETSLOT STABLE of a stable slot, SAVECONFIG).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from aiopool import Client, ClusterClient, ClusterPipeline, ReplyError, key_slot
from aiopool.testing import RedisCluster

from .cluster_support import address, unique_tag
from .server_support import BUILTIN_MODULES


@pytest.fixture
async def cc(redis_cluster: RedisCluster) -> AsyncIterator[ClusterClient]:
    async with ClusterClient.from_url(redis_cluster.startup_url) as client:
        yield client


@pytest.fixture
async def primary(redis_cluster: RedisCluster) -> AsyncIterator[Client]:
    """A plain ``Client`` on one primary of the shared cluster."""
    async with Client.from_url(f"redis://{address(redis_cluster.masters()[0])}") as client:
        yield client


def text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# -- the cluster as one node sees it ---------------------------------------------------------


async def test_cluster_info_nodes_slots_and_shards_on_a_node_client(
    redis_cluster: RedisCluster, primary: Client
) -> None:
    c = redis_cluster
    node = c.masters()[0]
    info = await primary.cluster_info()
    assert info["cluster_state"] == "ok"
    assert info["cluster_slots_assigned"] == "16384"
    nodes = await primary.cluster_nodes()
    assert set(nodes) == {address(n) for n in c.nodes}
    me = nodes[address(node)]
    assert me["node_id"] == c.node_id(node)
    assert "myself" in me["flags"]
    assert me["connected"] is True
    assert me["slots"]
    assert me["migrations"] == []
    slots = await primary.cluster_slots()
    assert sum(end - start + 1 for start, end in slots) == 16384
    owners = {entry["primary"] for entry in slots.values()}
    assert owners == {("127.0.0.1", m.port) for m in c.masters()}
    assert all(len(entry["replicas"]) == 1 for entry in slots.values())
    shards = await primary.cluster_shards()
    assert len(shards) == 3
    assert sum(end - start + 1 for shard in shards for start, end in shard["slots"]) == 16384
    ports = {n[b"port"] for shard in shards for n in shard["nodes"]}
    assert ports == {n.port for n in c.nodes}
    assert await primary.cluster_myid() == c.node_id(node).encode()


async def test_cluster_keyslot_and_slot_contents(
    redis_cluster: RedisCluster, primary: Client, cc: ClusterClient
) -> None:
    tag = "{" + unique_tag("slot") + "}"
    slot = key_slot(tag)
    assert await primary.cluster_keyslot(tag) == slot
    assert await cc.cluster_keyslot(tag) == slot
    for i in range(3):
        await cc.set(f"{tag}:{i}", i)
    # The ClusterClient asks the slot's owner, whichever node that is.
    assert await cc.cluster_countkeysinslot(slot) == 3
    keys = await cc.cluster_get_keys_in_slot(slot, 10)
    assert sorted(keys) == [f"{tag}:{i}" for i in range(3)]
    assert len(await cc.cluster_get_keys_in_slot(slot, 2)) == 2
    owner = redis_cluster.owner_of(slot)
    async with Client.from_url(f"redis://{address(owner)}") as node:
        assert await node.cluster_countkeysinslot(slot) == 3
    with pytest.raises(ValueError, match="slot_id must be a slot from 0 to 16383"):
        await cc.cluster_countkeysinslot(16384)
    with pytest.raises(ValueError, match="num_keys must be an int >= 0"):
        await cc.cluster_get_keys_in_slot(slot, -1)
    with pytest.raises(TypeError, match="slot must be an int"):
        await cc.cluster_get_keys_in_slot("1", 1)  # type: ignore[arg-type]


async def test_cluster_replicas_links_and_failure_reports(
    redis_cluster: RedisCluster, primary: Client, cc: ClusterClient
) -> None:
    c = redis_cluster
    master = c.masters()[0]
    replica = c.replica_of(master)
    replicas = await primary.cluster_replicas(c.node_id(master))
    assert list(replicas) == [address(replica)]
    assert replicas[address(replica)]["master_id"] == c.node_id(master)
    assert list(await cc.cluster_replicas(c.node_id(master))) == [address(replica)]
    with pytest.raises(ReplyError, match="Unknown node"):
        await primary.cluster_replicas("0" * 40)
    links = await primary.cluster_links()
    assert len(links) >= 2 * (len(c.nodes) - 1)  # one link each way per peer
    assert await primary.cluster_count_failure_report(c.node_id(replica)) == 0
    assert await cc.cluster_count_failure_report(c.node_id(replica)) == 0
    with pytest.raises(ReplyError, match="Unknown node"):
        await cc.cluster_count_failure_report("0" * 40)
    with pytest.raises(TypeError, match="node_id must be a str"):
        await cc.cluster_replicas(7)  # type: ignore[arg-type]


async def test_cluster_views_on_the_cluster_client(cc: ClusterClient) -> None:
    assert (await cc.cluster_info())["cluster_state"] == "ok"
    assert len(await cc.cluster_nodes()) == 6
    assert len(await cc.cluster_slots()) >= 3
    assert len(await cc.cluster_shards()) == 3


# -- node administration (a node's own Client) ------------------------------------------------


async def test_cluster_admin_commands_that_leave_the_cluster_as_it_was(
    redis_cluster: RedisCluster, primary: Client
) -> None:
    c = redis_cluster
    master = c.masters()[0]
    other = c.masters()[1]
    owned = next(s for s in range(16384) if c.owner_of(s) is master)
    nodes = text(c.execute(master, "CLUSTER", "NODES"))
    bus = next(line.split()[1] for line in nodes.splitlines() if f":{other.port}@" in line)
    bus_port = int(bus.partition("@")[2].split(",")[0])
    assert await primary.cluster_meet("127.0.0.1", other.port, bus_port=bus_port) is True
    assert await primary.cluster_setslot(c.node_id(master), owned, "NODE") is True
    assert await primary.cluster_setslot_stable(owned) is True
    assert await primary.cluster_save_config() is True
    assert (await primary.cluster_bumpepoch()).split()[0] in ("BUMPED", "STILL")
    c.wait_stable(10.0)
    assert c.owner_of(owned) is master


async def test_cluster_admin_commands_refused_by_the_node(
    redis_cluster: RedisCluster, primary: Client
) -> None:
    c = redis_cluster
    master = c.masters()[0]
    owned = next(s for s in range(16384) if c.owner_of(s) is master)
    with pytest.raises(ReplyError, match="busy"):
        await primary.cluster_addslots(owned)
    with pytest.raises(ReplyError, match="busy"):
        await primary.cluster_addslotsrange(owned, owned)
    with pytest.raises(ReplyError, match="replica"):
        await primary.cluster_failover()
    with pytest.raises(ReplyError, match="forget myself"):
        await primary.cluster_forget(c.node_id(master))
    with pytest.raises(ReplyError, match="myself"):
        await primary.cluster_replicate(c.node_id(master))
    with pytest.raises(ReplyError, match="config epoch"):
        await primary.cluster_set_config_epoch(1)
    tag = next(f"{{t{i}}}" for i in range(10_000) if c.owner_of(key_slot(f"{{t{i}}}")) is master)
    await primary.set(tag, "v")
    with pytest.raises(ReplyError, match="DB must be empty"):
        await primary.cluster_flushslots()
    with pytest.raises(ReplyError, match="master nodes containing keys"):
        await primary.cluster_reset(soft=True)
    with pytest.raises(ReplyError, match="know about node"):
        await primary.cluster_setslot("0" * 40, owned, "MIGRATING")
    assert c.owner_of(owned) is master


async def test_cluster_admin_argument_checks(primary: Client) -> None:
    with pytest.raises(ValueError, match="at least one slot"):
        await primary.cluster_addslots()
    with pytest.raises(ValueError, match="at least one slot"):
        await primary.cluster_delslots()
    with pytest.raises(ValueError, match="start, end pairs"):
        await primary.cluster_addslotsrange(1)
    with pytest.raises(ValueError, match="start, end pairs"):
        await primary.cluster_delslotsrange(1, 2, 3)
    with pytest.raises(ValueError, match="slots must be a slot"):
        await primary.cluster_delslots(20000)
    with pytest.raises(ValueError, match="FORCE"):
        await primary.cluster_failover("NOW")
    with pytest.raises(ValueError, match="cluster_setslot_stable"):
        await primary.cluster_setslot("0" * 40, 1, "STABLE")
    with pytest.raises(ValueError, match="state must be"):
        await primary.cluster_setslot("0" * 40, 1, "MOVING")
    with pytest.raises(TypeError, match="port must be an int"):
        await primary.cluster_meet("127.0.0.1", "7000")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="epoch must be an int >= 0"):
        await primary.cluster_set_config_epoch(-1)


# -- what the cluster surfaces offer ------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "cluster_addslots",
        "cluster_failover",
        "cluster_myid",
        "cluster_links",
        "client_kill",
        "client_pause",
        "script_kill",
        "bgsave",
        "shutdown",
    ],
)
def test_per_node_commands_are_only_on_a_node_client(name: str) -> None:
    assert hasattr(Client, name)
    assert not hasattr(ClusterClient, name)
    assert not hasattr(ClusterPipeline, name)


def test_a_cluster_pipeline_lacks_the_admin_commands_but_keeps_keyed_ones() -> None:
    for name in ("slowlog_get", "acl_setuser", "cluster_info", "config_rewrite", "memory_stats"):
        assert hasattr(ClusterClient, name)
        assert not hasattr(ClusterPipeline, name)
    assert hasattr(ClusterPipeline, "debug_object")


# -- fan-out: every node, or every primary ------------------------------------------------------


async def test_acl_setuser_and_deluser_run_on_every_node(
    redis_cluster: RedisCluster, cc: ClusterClient
) -> None:
    c = redis_cluster
    user = unique_tag("user")
    assert await cc.acl_setuser(user, enabled=True, nopass=True, keys=["*"]) is True
    for node in c.nodes:
        assert c.execute(node, "ACL", "GETUSER", user) is not None, node
    # One node lost the user: the others still count.
    c.execute(c.masters()[0], "ACL", "DELUSER", user)
    assert await cc.acl_deluser(user) == 1
    for node in c.nodes:
        assert c.execute(node, "ACL", "GETUSER", user) is None, node
    assert await cc.acl_deluser(user) == 0


async def test_slowlog_reset_and_config_resetstat_run_on_every_node(
    redis_cluster: RedisCluster, cc: ClusterClient
) -> None:
    c = redis_cluster
    marker = unique_tag("slow")
    saved = {n.port: c.execute(n, "CONFIG", "GET", "slowlog-log-slower-than")[1] for n in c.nodes}
    try:
        for node in c.nodes:
            c.execute(node, "CONFIG", "SET", "slowlog-log-slower-than", "0")
            c.execute(node, "ECHO", marker)
        assert await cc.slowlog_reset() is True
        for node in c.nodes:
            logged = [text(w) for e in c.execute(node, "SLOWLOG", "GET", "-1") for w in e[3]]
            assert marker not in logged, node
    finally:
        for node in c.nodes:
            c.execute(node, "CONFIG", "SET", "slowlog-log-slower-than", saved[node.port])
    for node in c.nodes:
        c.execute(node, "ECHO", marker)
    assert await cc.config_resetstat() is True
    for node in c.nodes:
        stats = text(c.execute(node, "INFO", "commandstats"))
        assert "cmdstat_echo" not in stats, node
    assert isinstance(await cc.latency_reset(), int)
    assert await cc.memory_purge() is True
    with pytest.raises(ReplyError, match="without a config file"):
        await cc.config_rewrite()  # the kit's nodes run without a config file


async def test_function_restore_runs_on_every_primary(
    redis_cluster: RedisCluster, cc: ClusterClient
) -> None:
    c = redis_cluster
    library = unique_tag("lib").replace("-", "_")
    code = f"#!lua name={library}\nredis.register_function('{library}', function() return 7 end)"
    await cc.function_load(code)
    payload = await cc.function_dump()
    await cc.function_flush()
    assert await cc.function_restore(payload) is True
    for master in c.masters():
        listed = c.execute(master, "FUNCTION", "LIST", "LIBRARYNAME", library)
        assert len(listed) == 1, master
    with pytest.raises(ReplyError, match="already exists"):
        await cc.function_restore(payload)
    assert await cc.function_stats()
    await cc.function_flush()


async def test_one_node_introspection_on_the_cluster_client(cc: ClusterClient) -> None:
    assert await cc.acl_whoami() == "default"
    assert "read" in await cc.acl_cat()
    assert isinstance(await cc.slowlog_get(), list)
    assert isinstance(await cc.slowlog_len(), int)
    assert isinstance((await cc.client_info())["id"], int)
    assert await cc.client_list(client_id=[10**9]) == []
    assert isinstance(await cc.memory_stats(), dict)
    assert await cc.command_count() > 150
    assert (await cc.role())[0] == b"master"
    assert await cc.module_list() == BUILTIN_MODULES
    assert list(await cc.command_info("get")) == ["get"]
    assert await cc.command_getkeys("GET", "k") == ["k"]
    with pytest.raises(ReplyError, match="not found"):
        await cc.acl_dryrun("nobody", "get", "k")


async def test_debug_object_routes_by_key_in_a_cluster_pipeline(
    redis_cluster: RedisCluster, cc: ClusterClient
) -> None:
    key = unique_tag("dbg")
    pipe = cc.pipeline()
    pipe.set(key, "v").debug_object(key)
    _, described = await pipe.execute(raise_on_error=False)
    # The kit's nodes keep DEBUG disabled: the key's node refused it, not another.
    assert isinstance(described, ReplyError)
    assert "not allowed" in str(described)
