"""Auto-pipelining in ``ClusterClient``: one auto-pipeliner per node, redirects and failovers.

What is checked is read from the servers where it can be (``cluster_support``:
values asked of every master over sockets of its own, ``INFO errorstats``),
or from the client's per-node ``auto_pipeline_stats()``. The shared cluster
takes slot moves and manual failovers; the kill-and-promote case gets a
cluster of its own.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest

from aiopool import ClusterClient, OutcomeUnknown
from aiopool.testing import RedisCluster, RedisServer

from .cluster_support import (
    ClusterLedger,
    Op,
    address,
    error_count,
    reset_stats,
    unique_tag,
    values_on_cluster,
    wait_for,
)

pytestmark = pytest.mark.timeout(60)

LOSS_WINDOW = 0.5  # seconds before a kill in which an acked write may not have replicated


def auto_cluster(url: str, **options: Any) -> ClusterClient:
    return ClusterClient.from_url(
        url, auto_pipeline=True, auto_pipeline_connections=2, max_size=4, **options
    )


def slot_key_on(cluster: RedisCluster, master: RedisServer, prefix: str) -> str:
    """A hash tag ``{...}`` whose slot ``master`` serves."""
    for i in range(10_000):
        tag = f"{{{prefix}-{i}}}"
        if cluster.owner_of(cluster.slot_of(tag)) is master:
            return tag
    raise AssertionError(f"no tag found on {master!r}")


async def test_every_caller_gets_its_own_reply_and_every_primary_batches(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    tag = unique_tag("ap")
    callers = 600
    async with auto_cluster(c.startup_url) as cc:

        async def one(i: int) -> None:
            key, value = f"{tag}:{i}", f"value-{i}-{uuid.uuid4().hex}".encode()
            assert await cc.set(key, value) is True
            assert await cc.get(key) == value, key
            assert await cc.incrby(f"{tag}:n:{i}", i + 1) == i + 1

        async with asyncio.timeout(20):
            await asyncio.gather(*(one(i) for i in range(callers)))
        per_node = cc.auto_pipeline_stats()
        pools = cc.stats()
        got = values_on_cluster(c, [f"{tag}:n:{i}" for i in range(callers)])

    primaries = {address(m) for m in c.masters()}
    assert set(per_node) == primaries, (set(per_node), primaries)
    assert sum(s.commands for s in per_node.values()) >= 3 * callers
    for node, stats in per_node.items():
        assert stats.commands >= callers / 2, (node, stats)  # each primary got its share
        assert stats.writes * 5 <= stats.commands, f"{node} barely batched: {stats}"
        assert stats.timeouts == stats.full == stats.waiting == 0, (node, stats)
        assert pools[node].created <= 2, (node, pools[node])  # no exclusive borrow at all
    assert got == {f"{tag}:n:{i}": str(i + 1).encode() for i in range(callers)}


async def test_ask_and_moved_during_a_slot_move_are_followed_for_every_caller(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    source = c.masters()[0]
    target = c.masters()[1]
    hashtag = slot_key_on(c, source, unique_tag("mv"))
    slot = c.slot_of(hashtag)
    keys = [f"{hashtag}:{i}" for i in range(60)]
    async with auto_cluster(c.startup_url, refresh_interval=None) as cc:
        await asyncio.gather(*(cc.set(key, f"v-{key}") for key in keys))
        assert cc.slot_owner(slot) == address(source)
        reset_stats(c)

        # Half the keys migrated: those are answered with ASK by the source.
        await asyncio.to_thread(c.begin_migration, slot, target)
        moved = await asyncio.to_thread(c.migrate_keys, slot, 30)
        assert moved == 30
        async with asyncio.timeout(10):
            got = await asyncio.gather(*(cc.get(key) for key in keys))
        assert got == [f"v-{key}".encode() for key in keys]
        assert error_count(c, source, "ASK") >= 1, "no GET was asked to the importing node"

        # The move finished: the source answers MOVED, the client follows it.
        await asyncio.to_thread(c.finish_migration, slot)
        async with asyncio.timeout(10):
            got = await asyncio.gather(*(cc.get(key) for key in keys))
            written = await asyncio.gather(*(cc.set(key, f"w-{key}") for key in keys))
        assert got == [f"v-{key}".encode() for key in keys]
        assert written == [True] * len(keys)
        assert error_count(c, source, "MOVED") >= 1, "the move cost no redirect"
        assert cc.slot_owner(slot) == address(target)
        stats = cc.auto_pipeline_stats()[address(target)]
        assert stats.commands >= len(keys), stats
    assert values_on_cluster(c, keys) == {key: f"w-{key}".encode() for key in keys}


async def test_a_manual_failover_under_load_loses_nothing(redis_cluster: RedisCluster) -> None:
    c = redis_cluster
    master = c.masters()[0]
    replica = c.replica_of(master)
    shard = {s for s in range(16384) if c.owner_of(s) is master}
    async with auto_cluster(c.startup_url, retry_timeout=10.0) as cc:
        ledger = ClusterLedger(cc, workers=20, op_bound=15.0)
        ledger.start()
        try:
            await wait_for(lambda: len(ledger.ops) >= 1000, "the load to run", timeout=10)
            took = await asyncio.to_thread(c.failover, replica, timeout=15.0)
            promoted_at = time.monotonic()
            await wait_for(
                lambda: any(
                    op.error is None and op.started > promoted_at and c.slot_of(op.key) in shard
                    for op in ledger.ops
                ),
                "a success on the failed-over shard",
            )
            count = len(ledger.ops)
            await wait_for(lambda: len(ledger.ops) >= count + 500, "more load after it")
        finally:
            await ledger.stop()
        per_node = cc.auto_pipeline_stats()
    assert took < 15
    failures = ledger.failures()
    assert not failures, [(op.kind, op.key, repr(op.error)) for op in failures[:5]]
    assert per_node[address(replica)].commands > 0, "the promoted replica was never written to"
    acked = ledger.acked_sets()
    counters = [ledger.counter(i) for i in range(ledger.workers)]
    values = values_on_cluster(c, [*acked, *counters])
    assert all(values[key] == op.value for key, op in acked.items())
    for i, counter in enumerate(counters):
        assert int(values[counter] or 0) == len(ledger.incrs(i)), counter


async def test_a_killed_primary_fails_only_what_was_in_flight_and_its_replica_takes_over(
    private_redis_cluster: RedisCluster,
) -> None:
    c = private_redis_cluster
    startup, dead = c.masters()[:2]
    dead_slots = {s for s in range(16384) if c.owner_of(s) is dead}
    heir = c.replica_of(dead)
    async with auto_cluster(f"redis://127.0.0.1:{startup.port}", retry_timeout=15.0) as cc:
        ledger = ClusterLedger(cc, workers=20, op_bound=20.0)
        ledger.start()
        try:
            await wait_for(lambda: len(ledger.ops) >= 1000, "the load to run", timeout=10)
            assert address(dead) in cc.auto_pipeline_stats()
            kill_at = time.monotonic()
            await asyncio.to_thread(c.kill, dead)
            dead_at = time.monotonic()
            await asyncio.to_thread(c.wait_for_failover, dead, 15.0)

            def recovered() -> Op | None:
                return next(
                    (
                        op
                        for op in ledger.ops
                        if op.error is None
                        and op.started > dead_at
                        and c.slot_of(op.key) in dead_slots
                    ),
                    None,
                )

            await wait_for(lambda: recovered() is not None, "a success on the dead shard", 15)
            count = len(ledger.ops)
            await wait_for(lambda: len(ledger.ops) >= count + 500, "load after the failover")
        finally:
            await ledger.stop(timeout=30)
        per_node = cc.auto_pipeline_stats()
    assert per_node[address(heir)].commands > 0, "the promoted replica got no shared commands"
    failures = ledger.failures()
    hangs = [op for op in failures if isinstance(op.error, AssertionError)]
    assert not hangs, hangs[:3]
    # Only what was written on the dead primary's shared connection fails, with
    # an unknown outcome; the rest waits for the promoted replica.
    other = [op for op in failures if not isinstance(op.error, OutcomeUnknown)]
    assert not other, [(op.kind, op.key, repr(op.error)) for op in other[:5]]
    assert all(op.started <= dead_at + 0.1 for op in failures), failures[:3]
    assert all(c.slot_of(op.key) in dead_slots for op in failures), "a live shard failed"
    assert all(address(dead) in str(op.error) for op in failures), failures[:3]

    acked = ledger.acked_sets()
    maybe = ledger.unknown_sets()
    counters = [ledger.counter(i) for i in range(ledger.workers)]
    values = values_on_cluster(c, [*acked, *maybe, *counters])
    lost = [op for key, op in acked.items() if values[key] != op.value]
    assert all(op.ended >= kill_at - LOSS_WINDOW for op in lost), lost[:3]
    assert all(c.slot_of(op.key) in dead_slots for op in lost), lost[:3]
    assert all(values[key] in (None, op.value) for key, op in maybe.items())
    for i, counter in enumerate(counters):
        if c.slot_of(counter) not in dead_slots:
            done = [op for op in ledger.incrs(i) if op.error is None]
            assert int(values[counter] or 0) == len(done), counter
