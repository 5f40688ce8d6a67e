"""The ``Client`` methods ``ClusterClient`` has by hand, against real cluster nodes.

Key scans (``hscan_iter``, ``sscan_iter``, ``zscan_iter``), ``transaction()``
with WATCH and ``register_script``/``run_script``: each on the node of its
key's slot, the failure side included (keys in two slots, a slot that moved
under the client). What a test checks is read from the servers over the
kit's own sockets (``INFO commandstats``/``errorstats``, ``SCRIPT EXISTS``,
``GET``), as in ``test_cluster.py``; each test resets the counters before
the part it measures.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from aiopool import (
    ClusterClient,
    ClusterError,
    ClusterPipeline,
    CrossSlotError,
    WatchError,
    key_slot,
)
from aiopool.testing import RedisCluster, RedisServer

from .cluster_support import address, command_stats, error_count, reset_stats, unique_tag, wait_for

# -- helpers -------------------------------------------------------------------------------


def tag_on(cluster: RedisCluster, master: RedisServer, prefix: str) -> str:
    """A hash tag ``{...}`` whose slot ``master`` serves (the kit asks the servers)."""
    for i in range(10_000):
        tag = f"{{{prefix}-{i}}}"
        if cluster.owner_of(cluster.slot_of(tag)) is master:
            return tag
    raise AssertionError(f"no tag found on {master!r}")


def big(text: str) -> bytes:
    """``text`` padded past the listpack limits (64 bytes), so the server keeps a hash
    table and SCAN really pages (a listpack answers everything in one batch)."""
    return text.encode().ljust(80, b".")


def other_master(cluster: RedisCluster, node: RedisServer) -> RedisServer:
    return next(m for m in cluster.masters() if m is not node)


def calls(cluster: RedisCluster, command: str) -> dict[int, tuple[int, int]]:
    """``{port: (calls, rejected_calls)}`` of ``command`` on every node that saw it."""
    found = {node.port: command_stats(cluster, node, command) for node in cluster.nodes}
    return {port: stats for port, stats in found.items() if stats != (0, 0)}


def in_use(cc: ClusterClient) -> dict[str, tuple[int, int]]:
    """Connections lent out and callers waiting, per node: all zero at rest."""
    return {
        node: (stats.in_use, stats.waiting)
        for node, stats in cc.stats().items()
        if stats.in_use or stats.waiting
    }


# -- key scans -----------------------------------------------------------------------------


async def test_key_scans_run_every_batch_on_the_keys_node(redis_cluster: RedisCluster) -> None:
    c = redis_cluster
    masters = c.masters()
    h = tag_on(c, masters[0], unique_tag("h")) + ":hash"
    s = tag_on(c, masters[1], unique_tag("s")) + ":set"
    z = tag_on(c, masters[2], unique_tag("z")) + ":zset"
    fields = {f"f{i}".encode(): big(f"v{i}") for i in range(400)}
    members = {big(f"m{i}") for i in range(400)}
    scores = {big(f"m{i}"): float(i) / 4 for i in range(400)}
    async with ClusterClient.from_url(c.startup_url) as cc:
        await cc.hset(h, mapping=fields)
        await cc.sadd(s, *members)
        await cc.zadd(z, scores)
        reset_stats(c)

        pairs = [pair async for pair in cc.hscan_iter(h, count=40)]
        assert dict(pairs) == fields
        seen = [member async for member in cc.sscan_iter(s, count=40)]
        assert set(seen) == members
        ranked = [pair async for pair in cc.zscan_iter(z, count=40)]
        assert dict(ranked) == scores
        assert all(isinstance(score, float) for _, score in ranked)
        filtered = [pair async for pair in cc.hscan_iter(h, match="f1?", count=40)]
        assert dict(filtered) == {f"f1{i}".encode(): big(f"v1{i}") for i in range(10)}
        assert [m async for m in cc.sscan_iter(f"{s}-missing")] == []
        assert in_use(cc) == {}

    # Every batch went to the key's primary, and there were several batches.
    for name, owner in (("hscan", masters[0]), ("sscan", masters[1]), ("zscan", masters[2])):
        used = calls(c, name)
        assert set(used) == {owner.port}, (name, used)
        assert used[owner.port][0] >= 3, (name, used)
        assert used[owner.port][1] == 0, (name, used)
    assert error_count(c, masters[0], "MOVED") == 0


async def test_key_scans_read_from_one_replica_when_asked(redis_cluster: RedisCluster) -> None:
    c = redis_cluster
    master = c.masters()[1]
    replica = c.replica_of(master)
    key = tag_on(c, master, unique_tag("rs")) + ":set"
    members = {big(f"m{i}") for i in range(300)}
    async with ClusterClient.from_url(c.startup_url, read_from="replicas") as cc:
        await cc.sadd(key, *members)
        await wait_for(
            lambda: c.execute(replica, "SCARD", key, readonly=True) == len(members),
            "the replica to apply the SADD",
        )
        reset_stats(c)
        assert {m async for m in cc.sscan_iter(key, count=30)} == members
    used = calls(c, "sscan")
    assert set(used) == {replica.port}, used
    assert used[replica.port][0] >= 3, used


async def test_key_scans_start_over_on_the_new_owner_when_the_slot_moves(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    source = c.masters()[0]
    target = other_master(c, source)
    stale = tag_on(c, source, unique_tag("stale")) + ":hash"
    moving = tag_on(c, source, unique_tag("moving")) + ":hash"
    fields = {f"f{i}".encode(): big(str(i)) for i in range(300)}
    async with ClusterClient.from_url(c.startup_url, refresh_interval=None) as cc:
        await cc.hset(stale, mapping=fields)
        await cc.hset(moving, mapping=fields)

        # The map is stale before the scan starts: the first batch meets MOVED,
        # the scan runs on the new owner from the start, nothing repeats.
        await asyncio.to_thread(c.move_slot, key_slot(stale), target)
        reset_stats(c)
        pairs = [pair async for pair in cc.hscan_iter(stale, count=30)]
        assert len(pairs) == len(fields), "a restart before the first item repeats nothing"
        assert dict(pairs) == fields
        assert command_stats(c, source, "hscan") == (0, 1)
        assert command_stats(c, target, "hscan")[0] >= 3
        assert cc.slot_owner(key_slot(stale)) == address(target)

        # The slot moves in the middle of the scan: the next batch meets MOVED
        # and the scan starts over on the new owner; every field is seen.
        reset_stats(c)
        seen: list[tuple[Any, Any]] = []
        async for pair in cc.hscan_iter(moving, count=30):
            seen.append(pair)
            if len(seen) == 1:
                assert command_stats(c, source, "hscan") == (1, 0)
                await asyncio.to_thread(c.move_slot, key_slot(moving), target)
        assert dict(seen) == fields
        assert len(seen) > len(fields), "the first batch's fields came again after the restart"
        assert error_count(c, source, "MOVED") == 1
        assert command_stats(c, target, "hscan")[0] >= 3
        assert cc.slot_owner(key_slot(moving)) == address(target)
        assert in_use(cc) == {}


async def test_a_key_scan_follows_its_key_to_the_importing_node_during_a_migration(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    source = c.masters()[0]
    target = other_master(c, source)
    key = tag_on(c, source, unique_tag("ask")) + ":set"
    slot = key_slot(key)
    members = {big(f"m{i}") for i in range(300)}
    async with ClusterClient.from_url(c.startup_url, refresh_interval=None) as cc:
        await cc.sadd(key, *members)
        await asyncio.to_thread(c.begin_migration, slot, target)
        reset_stats(c)
        seen: list[Any] = []
        async for member in cc.sscan_iter(key, count=30):
            seen.append(member)
            if len(seen) == 1:  # the key leaves for the importing node mid-scan
                assert await asyncio.to_thread(c.migrate_keys, slot, 10) == 1
        assert set(seen) == members
        assert len(seen) > len(members), "the first batch's members came again after the restart"
        assert error_count(c, source, "ASK") == 1
        assert command_stats(c, target, "sscan")[0] >= 3, "the scan went on, with ASKING"
        assert command_stats(c, target, "asking")[0] >= 3, "each batch needs its ASKING"
        assert cc.slot_owner(slot) == address(source), "an ASK must not change the map"

        await asyncio.to_thread(c.finish_migration, slot)
        reset_stats(c)
        assert {m async for m in cc.sscan_iter(key, count=30)} == members
        assert error_count(c, source, "MOVED") == 1
        assert cc.slot_owner(slot) == address(target)
        assert in_use(cc) == {}


async def test_a_key_scan_redirected_in_a_loop_ends_with_cluster_error(
    redis_cluster: RedisCluster,
) -> None:
    # A slot marked MIGRATING on its owner whose target does not import it: the
    # owner answers ASK (the key is not there), the target answers MOVED back.
    c = redis_cluster
    source = c.masters()[0]
    target = other_master(c, source)
    key = tag_on(c, source, unique_tag("loop")) + ":missing"
    slot = key_slot(key)
    async with ClusterClient.from_url(c.startup_url, max_redirects=3) as cc:
        await cc.ping()
        reset_stats(c)
        c.execute(source, "CLUSTER", "SETSLOT", slot, "MIGRATING", c.node_id(target))
        try:
            with pytest.raises(ClusterError, match="max_redirects=3") as caught:
                [m async for m in cc.sscan_iter(key)]
            assert f"slot {slot}" in str(caught.value)
            # Three restarts followed, the fourth redirect refused: 4 in all.
            assert error_count(c, source, "ASK") == 2
            assert error_count(c, target, "MOVED") == 2
        finally:
            c.execute(source, "CLUSTER", "SETSLOT", slot, "STABLE")
        assert [m async for m in cc.sscan_iter(key)] == []
        assert in_use(cc) == {}


# -- transaction() -------------------------------------------------------------------------


async def test_transaction_reads_watched_keys_and_runs_again_when_they_change(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    owner = c.masters()[1]
    tag = tag_on(c, owner, unique_tag("tx"))
    balance, log = f"{tag}:balance", f"{tag}:log"
    async with ClusterClient.from_url(c.startup_url) as cc:
        await cc.set(balance, "100")
        reset_stats(c)
        runs = 0

        async def withdraw(p: ClusterPipeline) -> None:
            nonlocal runs
            runs += 1
            current = int(await p.immediate.get(balance))
            if runs == 1:  # another client changes a watched key: this attempt loses
                c.execute(owner, "INCRBY", balance, "5")
            p.set(balance, str(current - 30)).rpush(log, f"-30 from {current}")

        assert await cc.transaction(withdraw, balance, log) == [True, 1]
        assert runs == 2
        assert c.execute(owner, "GET", balance) == b"75"
        assert c.execute(owner, "LRANGE", log, 0, -1) == [b"-30 from 105"]
        assert command_stats(c, owner, "exec") == (2, 0), "two EXECs: one aborted, one ran"
        assert set(calls(c, "watch")) == {owner.port}
        assert in_use(cc) == {}

        # Concurrent read-modify-write with GET and SET: no update is lost.
        counter = f"{tag}:n"

        async def bump(p: ClusterPipeline) -> None:
            value = int(await p.immediate.get(counter) or 0)
            await asyncio.sleep(0)  # let the others read the same value
            p.set(counter, str(value + 1))

        done = await asyncio.gather(
            *(cc.transaction(bump, counter, attempts=100) for _ in range(20))
        )
        assert done == [[True]] * 20
        assert c.execute(owner, "GET", counter) == b"20"

        # Without watched keys it is a cluster transaction pipeline: one slot, MULTI/EXEC.
        async def queue_only(p: ClusterPipeline) -> None:
            p.incr(counter).get(counter)

        assert await cc.transaction(queue_only) == [21, b"21"]
        assert in_use(cc) == {}


async def test_transaction_gives_up_with_watch_error_after_its_attempts(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    owner = c.masters()[2]
    key = tag_on(c, owner, unique_tag("lost")) + ":k"
    async with ClusterClient.from_url(c.startup_url) as cc:
        runs = 0

        async def always_loses(p: ClusterPipeline) -> None:
            nonlocal runs
            runs += 1
            c.execute(owner, "INCR", key)
            p.set(key, "mine")

        with pytest.raises(WatchError, match="3 attempts"):
            await cc.transaction(always_loses, key, attempts=3)
        assert runs == 3
        assert c.execute(owner, "GET", key) == b"3", "no attempt's SET ran"
        with pytest.raises(ValueError, match="attempts"):
            await cc.transaction(always_loses, key, attempts=0)
        assert in_use(cc) == {}


async def test_transaction_refuses_keys_in_two_slots_before_sending_them(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    owner = c.masters()[0]
    tag = tag_on(c, owner, unique_tag("xs"))
    a, b = f"{tag}:a", f"{unique_tag('elsewhere')}:b"
    assert key_slot(a) != key_slot(b)
    async with ClusterClient.from_url(c.startup_url) as cc:
        await cc.set(a, "1")
        reset_stats(c)
        before = sum(stats.acquired for stats in cc.stats().values())
        ran: list[str] = []

        async def never(p: ClusterPipeline) -> None:
            ran.append("func")

        with pytest.raises(CrossSlotError, match=f"slot {key_slot(b)}"):
            await cc.transaction(never, a, b)
        assert ran == []
        assert calls(c, "watch") == {}, "nothing was sent"
        assert sum(stats.acquired for stats in cc.stats().values()) == before

        # A command queued for another slot fails at its line, before MULTI is sent;
        # the watched connection is released (UNWATCH) and nothing ran.
        async def strays(p: ClusterPipeline) -> None:
            await p.immediate.get(a)
            p.set(a, "2")
            p.set(b, "2")

        with pytest.raises(CrossSlotError):
            await cc.transaction(strays, a)
        assert command_stats(c, owner, "watch") == (1, 0)
        assert command_stats(c, owner, "unwatch") == (1, 0)
        assert calls(c, "multi") == {}
        assert calls(c, "exec") == {}
        assert c.execute(owner, "GET", a) == b"1"
        assert in_use(cc) == {}

        # The same rules on a pipeline used by hand.
        async with cc.pipeline(transaction=True) as p:
            with pytest.raises(CrossSlotError):
                await p.watch(a, b)
            await p.watch(a)
            with pytest.raises(CrossSlotError, match="watched before"):
                await p.watch(b)
            with pytest.raises(RuntimeError, match="before queuing"):
                await p.set(a, "3").watch(a)
        async with cc.pipeline(transaction=False) as p:
            with pytest.raises(RuntimeError, match="needs a transaction"):
                await p.watch(a)
        assert in_use(cc) == {}


async def test_transaction_follows_its_slot_to_the_new_owner(redis_cluster: RedisCluster) -> None:
    c = redis_cluster
    source = c.masters()[0]
    target = other_master(c, source)
    tag = tag_on(c, source, unique_tag("txmv"))
    slot = key_slot(tag)
    counter = f"{tag}:n"
    async with ClusterClient.from_url(c.startup_url, refresh_interval=None) as cc:
        runs = 0

        async def bump(p: ClusterPipeline) -> None:
            nonlocal runs
            runs += 1
            value = int(await p.immediate.get(counter) or 0)
            p.set(counter, str(value + 1))

        assert await cc.transaction(bump, counter) == [True]

        # The map is stale: the WATCH meets MOVED on the old owner, the next attempt
        # runs on the new one.
        await asyncio.to_thread(c.move_slot, slot, target)
        reset_stats(c)
        runs = 0
        assert await cc.transaction(bump, counter) == [True]
        assert runs == 1, "the function ran once: the WATCH was refused before it"
        assert command_stats(c, source, "watch") == (0, 1)
        assert command_stats(c, target, "exec") == (1, 0)
        assert cc.slot_owner(slot) == address(target)

        # The slot moves while the function runs: the queued commands meet MOVED,
        # EXEC is refused (EXECABORT), nothing ran; the next attempt runs on the owner.
        reset_stats(c)
        runs = 0

        async def bump_while_moving(p: ClusterPipeline) -> None:
            await bump(p)
            if runs == 1:
                await asyncio.to_thread(c.move_slot, slot, source)

        assert await cc.transaction(bump_while_moving, counter) == [True]
        assert runs == 2
        assert error_count(c, target, "EXECABORT") == 1
        assert command_stats(c, source, "exec") == (1, 0)
        assert cc.slot_owner(slot) == address(source)
        assert c.execute(source, "GET", counter) == b"3", "each bump ran exactly once"
        assert in_use(cc) == {}


# -- scripts -------------------------------------------------------------------------------


async def test_run_script_routes_by_keys_and_loads_the_script_where_it_is_missing(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    masters = c.masters()
    keys = [tag_on(c, master, unique_tag("sc")) + ":n" for master in masters]
    # A source no other test uses: no node has this script yet.
    source = f"-- {unique_tag('script')}\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])"
    async with ClusterClient.from_url(c.startup_url) as cc:
        script = cc.register_script(source)
        assert len(script.sha) == 40
        reset_stats(c)
        assert await script(keys=[keys[0]], args=[5]) == 5
        # NOSCRIPT once, on the key's node; SCRIPT LOAD on every primary; EVALSHA again.
        assert error_count(c, masters[0], "NOSCRIPT") == 1
        assert command_stats(c, masters[0], "evalsha") == (2, 0)
        for master in masters:
            assert command_stats(c, master, "script|load") == (1, 0), master
            assert c.execute(master, "SCRIPT", "EXISTS", script.sha) == [1], master

        for key, master in zip(keys, masters, strict=True):
            assert await cc.run_script(script, [key], [2]) in (2, 7)
            assert command_stats(c, master, "evalsha")[0] >= 1, master
        assert sum(error_count(c, m, "NOSCRIPT") for m in masters) == 1, "loaded everywhere"

        # A node that lost its scripts (SCRIPT FLUSH, a restart) gets it again.
        c.execute(masters[1], "SCRIPT", "FLUSH")
        reset_stats(c)
        assert await cc.run_script(script, [keys[1]], [1]) == 3
        assert error_count(c, masters[1], "NOSCRIPT") == 1
        # A keyless script runs on a primary.
        keyless = cc.register_script("return 'pong'")
        assert await keyless() == b"pong"
        with pytest.raises(TypeError, match="register_script"):
            await cc.run_script(source, [keys[0]])  # type: ignore[arg-type]
    assert c.execute(masters[0], "GET", keys[0]) == b"7"


async def test_run_script_refuses_keys_in_two_slots_and_follows_a_moved_slot(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    source = c.masters()[2]
    target = other_master(c, source)
    tag = tag_on(c, source, unique_tag("scmv"))
    a, b = f"{tag}:a", f"{unique_tag('other')}:b"
    assert key_slot(a) != key_slot(b)
    code = f"-- {unique_tag('script')}\nreturn redis.call('SET', KEYS[1], ARGV[1])"
    async with ClusterClient.from_url(c.startup_url, refresh_interval=None) as cc:
        script = cc.register_script(code)
        assert await script([a], ["1"]) == b"OK"
        reset_stats(c)
        with pytest.raises(CrossSlotError, match=f"slot {key_slot(b)}"):
            await script([a, b], ["x"])
        assert calls(c, "evalsha") == {}, "nothing was sent"

        await asyncio.to_thread(c.move_slot, key_slot(a), target)
        reset_stats(c)
        assert await script([a], ["2"]) == b"OK"
        assert command_stats(c, source, "evalsha") == (0, 1), "refused with MOVED"
        assert command_stats(c, target, "evalsha") == (1, 0), "no NOSCRIPT: loaded everywhere"
        assert cc.slot_owner(key_slot(a)) == address(target)
    assert c.execute(target, "GET", a) == b"2"
