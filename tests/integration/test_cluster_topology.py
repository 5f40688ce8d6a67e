"""``Topology`` on its own against the shared cluster: reloads, the timer, routing, PING times.

The slot map a topology loads is compared with what the kit reads from the
servers; how many reloads ran is the servers' count of ``CLUSTER SHARDS``
(``INFO commandstats``). The PINGs for ``read_from="nearest"`` go through the
callable the cluster client would hand it, here one the test controls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from aiopool import ClusterOptions, ConnectionOptions, RedisError
from aiopool._topology import Shard, SlotMap, Topology
from aiopool.testing import RedisCluster

from .cluster_support import address, command_stats, reset_stats, slot_ranges, wait_for


def shards_queries(cluster: RedisCluster) -> int:
    """``CLUSTER SHARDS`` calls on every node since the last reset."""
    return sum(command_stats(cluster, node, "cluster|shards")[0] for node in cluster.nodes)


async def no_ping(address: str) -> None:
    raise AssertionError(f"PING {address}: only read_from='nearest' measures")


def topology_of(
    cluster: RedisCluster,
    *,
    ping: Callable[[str], Awaitable[object]] = no_ping,
    forgotten: list[str] | None = None,
    **options: object,
) -> Topology:
    gone = forgotten if forgotten is not None else []
    return Topology(
        [address(m) for m in cluster.masters()],
        ConnectionOptions(),
        ClusterOptions(**options),  # type: ignore[arg-type]
        ping=ping,
        forget=gone.append,
    )


async def test_callers_share_one_reload_and_a_burst_costs_one_query(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    topology = topology_of(c, refresh_interval=None)
    try:
        assert "not loaded" in repr(topology)
        assert topology.node_for(0, False) is None
        reset_stats(c)
        results = await asyncio.gather(*(topology.refresh() for _ in range(20)))
        assert results == [True] * 20
        assert shards_queries(c) == 1, "twenty callers, one CLUSTER SHARDS"
        for port, spans in slot_ranges(c).items():
            for first, last in spans:
                for slot in (first, last):
                    assert topology.node_for(slot, False) == f"127.0.0.1:{port}", slot
        assert sorted(topology.map.primaries()) == sorted(address(m) for m in c.masters())

        # Within 0.1 s of the last reload, another is skipped; force= is not.
        assert await topology.refresh() is True
        assert shards_queries(c) == 1
        assert await topology.refresh(force=True) is True
        assert shards_queries(c) == 2
        await asyncio.sleep(0.12)
        assert await topology.refresh() is True
        assert shards_queries(c) == 3
        assert "loaded" in repr(topology)

        # A cancelled caller does not cancel the reload it shares.
        await asyncio.sleep(0.12)
        waiting = asyncio.create_task(topology.refresh())
        other = asyncio.create_task(topology.refresh())
        await asyncio.sleep(0)
        waiting.cancel()
        assert await other is True
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert shards_queries(c) == 4
    finally:
        await topology.aclose()
    assert await topology.refresh(force=True) is False, "closed: no reload"
    assert shards_queries(c) == 4
    assert "closed" in repr(topology)


async def test_moved_patches_one_slot_and_refreshes_the_rest_soon(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    topology = topology_of(c, refresh_interval=None)
    try:
        assert await topology.refresh() is True
        owner = topology.node_for(100, False)
        elsewhere = next(a for a in topology.map.primaries() if a != owner)
        await asyncio.sleep(0.12)  # past the gap, so the refresh MOVED asks for runs
        reset_stats(c)
        topology.moved(100, elsewhere)
        assert topology.node_for(100, False) == elsewhere, "patched at once"
        assert topology.node_for(101, False) == owner, "one slot only"
        # The scheduled reload puts back what the servers say (the MOVED was made up).
        await wait_for(lambda: topology.node_for(100, False) == owner, "the refresh")
        assert shards_queries(c) == 1
    finally:
        await topology.aclose()


async def test_the_periodic_refresh_runs_until_aclose(redis_cluster: RedisCluster) -> None:
    c = redis_cluster
    topology = topology_of(c, refresh_interval=0.05)
    try:
        assert await topology.refresh() is True
        reset_stats(c)
        topology.start()
        topology.start()  # again: re-armed, not doubled
        await wait_for(lambda: shards_queries(c) >= 3, "three periodic refreshes")
    finally:
        await topology.aclose()
    after = shards_queries(c)
    await asyncio.sleep(0.2)  # four intervals: a live timer would have fired
    assert shards_queries(c) == after, "the timer stopped at aclose()"


async def test_a_node_gone_from_the_map_is_forgotten(redis_cluster: RedisCluster) -> None:
    c = redis_cluster
    forgotten: list[str] = []
    topology = topology_of(c, refresh_interval=None, forgotten=forgotten)
    try:
        # A map naming a node the cluster does not have (as if it left).
        topology.map = SlotMap([Shard("127.0.0.1:1", ["127.0.0.1:2"], [(0, 16383)])])
        assert await topology.refresh(force=True) is True
        assert sorted(forgotten) == ["127.0.0.1:1", "127.0.0.1:2"]
        forgotten.clear()
        assert await topology.refresh(force=True) is True
        assert forgotten == [], "a node still in the cluster is kept"
    finally:
        await topology.aclose()


async def test_reads_follow_read_from_and_the_measured_ping_times(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    primaries = {address(m) for m in c.masters()}
    replicas = {address(r) for r in c.replicas()}
    pinged: list[str] = []
    slow = set(primaries)
    failing: set[str] = set()

    async def ping(node: str) -> None:
        pinged.append(node)
        if node in failing:
            raise RedisError(f"{node} is down")
        if node in slow:
            await asyncio.sleep(0.02)

    slots = [first for spans in slot_ranges(c).values() for first, _ in spans]
    nearest = topology_of(c, ping=ping, read_from="nearest", refresh_interval=None)
    by_turns = topology_of(c, read_from="replicas", refresh_interval=None)
    try:
        await by_turns.refresh()
        for slot in slots:
            primary = by_turns.node_for(slot, False)
            assert primary in primaries
            assert by_turns.node_for(slot, True) in replicas
        assert by_turns.node_for(None, False) in primaries, "keyless: a primary"

        assert await nearest.refresh() is True
        assert sorted(pinged) == sorted(primaries | replicas), "every node measured"
        for slot in slots:
            assert nearest.node_for(slot, True) in replicas, "replicas answer faster"
            assert nearest.node_for(slot, False) in primaries, "writes to the primary"
        # Replicas that stop answering are avoided from the next measurement on.
        failing.update(replicas)
        slow.clear()
        assert await nearest.refresh(force=True) is True
        for slot in slots:
            assert nearest.node_for(slot, True) in primaries
    finally:
        await nearest.aclose()
        await by_turns.aclose()
