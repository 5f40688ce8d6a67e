"""ClusterClient and ClusterPipeline against real Redis Cluster nodes.

Tests that leave every node running use the session's shared cluster (the
``redis_cluster`` fixture checks and flushes it). Tests that kill or restart
nodes share one private cluster per module (``failing``), run last and in
file order, and each leaves it stable with every node running (the fixture
restarts whatever a failed test left down).

What a test checks is read from the servers over sockets that are not
aiopool's (``cluster_support``): who holds a key, which commands a node ran
(``INFO commandstats``) and which it redirected (``INFO errorstats``:
``errorstat_MOVED``/``errorstat_ASK`` count every redirect a node replied).
Each test resets those counters (``CONFIG RESETSTAT``) before the part it
measures.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from aiopool import (
    ClusterClient,
    ClusterError,
    CrossSlotError,
    OutcomeUnknown,
    ReplyError,
    key_slot,
)
from aiopool.testing import RedisCluster, RedisServer
from aiopool.testing.plugin import require_redis_server

from .cluster_support import (
    ClusterLedger,
    Op,
    address,
    command_stats,
    error_count,
    info,
    raw_pipeline,
    reset_stats,
    slot_ranges,
    unique_tag,
    values_on_cluster,
    wait_for,
)
from .fault_support import full_backlog_port
from .pool_support import assert_balanced, cancel_and_settle, free_port
from .server_support import IS_VALKEY

FAILOVER_REPORT = "/tmp/cluster_failover.json"


# -- helpers -------------------------------------------------------------------------------


def owners(cluster: RedisCluster, keys: list[Any]) -> dict[Any, RedisServer]:
    """The master serving each key, from ``CLUSTER KEYSLOT`` and ``CLUSTER SLOTS``."""
    replies = raw_pipeline(cluster.masters()[0], [("CLUSTER", "KEYSLOT", k) for k in keys])
    by_port = {node.port: node for node in cluster.nodes}
    ranges = slot_ranges(cluster)
    found: dict[Any, RedisServer] = {}
    for key, slot in zip(keys, replies, strict=True):
        port = next(p for p, spans in ranges.items() if any(a <= slot <= b for a, b in spans))
        found[key] = by_port[port]
    return found


def keys_per_master(cluster: RedisCluster, prefix: str, each: int) -> dict[int, list[str]]:
    """``each`` keys (no hash tag) on every master: ``{master port: [key, ...]}``."""
    candidates = [f"{prefix}:{i}" for i in range(each * 30 + 30)]
    found: dict[int, list[str]] = {m.port: [] for m in cluster.masters()}
    for key, owner in owners(cluster, candidates).items():
        if len(found[owner.port]) < each:
            found[owner.port].append(key)
    assert all(len(keys) == each for keys in found.values()), found
    return found


def other_master(cluster: RedisCluster, node: RedisServer) -> RedisServer:
    return next(m for m in cluster.masters() if m is not node)


def redirects(cluster: RedisCluster) -> int:
    """MOVED plus ASK replies sent by every running node since the last reset."""
    return sum(
        error_count(cluster, node, code)
        for node in cluster.nodes
        if node.is_running()
        for code in ("MOVED", "ASK")
    )


def acquired(client: ClusterClient) -> dict[str, int]:
    """How many times each node's pool lent a connection."""
    return {node: stats.acquired for node, stats in client.stats().items()}


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: n - before.get(k, 0) for k, n in after.items() if n - before.get(k, 0)}


# -- 1. routing --------------------------------------------------------------------------


def test_key_slot_matches_cluster_keyslot_for_every_kind_of_key(
    redis_cluster: RedisCluster,
) -> None:
    keys: list[Any] = [
        "",
        "foo",
        "{user1000}.following",
        "{user1000}.followers",
        "foo{}{bar}",  # the first "{}" is empty: the whole key is hashed
        "{}",
        "{}x",
        "x{}",
        "{{bar}}",  # tag "{bar"
        "foo{{bar}}zap",
        "{a}{b}",
        "}{a}",
        "{",
        "}",
        "a{b",
        "ключ{ünï}",
        b"\xff\x00{\x01\x02}\xfe",
        b"\x00",
        bytes(range(256)),
        b"{\xff}",
        0,
        1,
        -1,
        2**63,
        -(2**70),
        0.5,
        1 / 3,
        1e100,
        *(f"key:{i}" for i in range(400)),
        *(f"{{tag{i}}}:rest" for i in range(100)),
    ]
    # The server hashes the bytes the encoder sends (int: str(), float: repr()).
    sent = [k if isinstance(k, str | bytes) else repr(k) for k in keys]
    replies = raw_pipeline(redis_cluster.masters()[0], [("CLUSTER", "KEYSLOT", k) for k in sent])
    wrong = [(k, key_slot(k), s) for k, s in zip(keys, replies, strict=True) if key_slot(k) != s]
    assert not wrong, wrong[:5]
    assert key_slot(memoryview(b"{user1000}.x")) == key_slot("{user1000}.y")
    assert len({key_slot(f"{{tag{i}}}:rest") for i in range(100)}) > 90, "tags must spread"
    with pytest.raises(TypeError, match="bool"):
        key_slot(True)
    with pytest.raises(TypeError, match="bytearray"):
        key_slot(bytearray(b"x"))


async def test_non_str_keys_are_stored_in_the_slot_key_slot_computes(
    redis_cluster: RedisCluster,
) -> None:
    odd_keys: list[Any] = [12345, -7, 2**64, 0.25, 1 / 3, b"\xfe\xff{bin}", memoryview(b"mv")]
    async with ClusterClient.from_url(redis_cluster.startup_url) as cc:
        for key in odd_keys:
            assert await cc.execute("SET", key, "v") == b"OK"
    stored: dict[bytes, int] = {}
    for master in redis_cluster.masters():
        for name in redis_cluster.execute(master, "KEYS", "*"):
            stored[name] = master.port
    for key in odd_keys:
        name = bytes(key) if isinstance(key, memoryview) else key
        name = name if isinstance(name, bytes) else repr(name).encode()
        assert name in stored, (key, sorted(stored))
        slot = int(redis_cluster.execute(redis_cluster.masters()[0], "CLUSTER", "KEYSLOT", name))
        assert key_slot(key) == slot, key
        assert redis_cluster.owner_of(slot).port == stored[name], key


async def test_every_command_family_runs_on_the_owner_without_a_redirect(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    t = unique_tag("fam")
    k = {name: f"{t}:{name}" for name in ("str", "n", "h", "l", "s", "z", "x", "b", "hll", "ev")}
    same = [f"{{{t}}}:a", f"{{{t}}}:b", f"{{{t}}}:c"]
    owner = owners(c, [*k.values(), *same])
    assert len({owner[key].port for key in k.values()}) == 3, "keys must cover every shard"
    async with ClusterClient.from_url(c.startup_url) as cc:
        reset_stats(c)
        before = acquired(cc)
        expected: Counter[str] = Counter()
        used: dict[int, set[str]] = {m.port: set() for m in c.masters()}

        def on(key: str, *commands: str) -> None:
            expected[address(owner[key])] += len(commands)
            used[owner[key].port].update(commands)

        assert await cc.set(k["str"], "v") is True
        assert await cc.get(k["str"]) == b"v"
        assert await cc.append(k["str"], "w") == 2
        on(k["str"], "set", "get", "append")
        assert await cc.incr(k["n"]) == 1
        on(k["n"], "incr")
        assert await cc.hset(k["h"], "f", "v") == 1
        assert await cc.hgetall(k["h"]) == {b"f": b"v"}
        on(k["h"], "hset", "hgetall")
        assert await cc.rpush(k["l"], "a", "b") == 2
        assert await cc.lrange(k["l"], 0, -1) == [b"a", b"b"]
        on(k["l"], "rpush", "lrange")
        assert await cc.sadd(k["s"], "a", "b") == 2
        assert await cc.smembers(k["s"]) == {b"a", b"b"}
        on(k["s"], "sadd", "smembers")
        assert await cc.zadd(k["z"], {"a": 1.0}) == 1
        assert await cc.zscore(k["z"], "a") == 1.0
        on(k["z"], "zadd", "zscore")
        await cc.xadd(k["x"], {"f": "v"})
        assert await cc.xlen(k["x"]) == 1
        on(k["x"], "xadd", "xlen")
        assert await cc.setbit(k["b"], 7, 1) == 0
        assert await cc.bitcount(k["b"]) == 1
        on(k["b"], "setbit", "bitcount")
        assert await cc.pfadd(k["hll"], "a", "b") is True
        assert await cc.pfcount(k["hll"]) == 2
        on(k["hll"], "pfadd", "pfcount")
        script = "return redis.call('SET', KEYS[1], ARGV[1])"
        assert await cc.eval(script, [k["ev"]], ["lua"]) == b"OK"
        on(k["ev"], "eval", "set")  # the script's SET runs (and counts) on the owner
        expected[address(owner[k["ev"]])] -= 1  # ... on the same borrowed connection
        # The keys family, several keys of one hash tag per command.
        assert await cc.mset({key: "1" for key in same}) is True
        assert await cc.expire(same[0], 100) is True
        assert 0 < await cc.ttl(same[0]) <= 100
        assert await cc.exists(*same) == 3
        assert await cc.delete(same[0], same[1]) == 2
        on(same[0], "mset", "expire", "ttl", "exists", "del")

        assert delta(before, acquired(cc)) == {a: n for a, n in expected.items() if n}
    assert redirects(c) == 0
    # No master ran, or refused, a command it does not own a key of.
    names = set().union(*used.values())
    for master in c.masters():
        for name in names:
            calls, rejected = command_stats(c, master, name)
            assert rejected == 0, (master, name)
            assert (calls > 0) == (name in used[master.port]), (master, name, calls)
    # Every key lives on its owner, as the server's own KEYSLOT says.
    for key in [*k.values(), same[2]]:
        assert c.execute(owner[key], "EXISTS", key) == 1, key
    assert c.execute(owner[same[0]], "EXISTS", same[0], same[1]) == 0


async def test_keyless_commands_reach_every_primary_and_combine_replies(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    t = unique_tag("keyless")
    spread = keys_per_master(c, t, 5)
    written = sorted(key for keys in spread.values() for key in keys)
    async with ClusterClient.from_url(c.startup_url) as cc:
        for key in written:
            await cc.set(key, "x")
        reset_stats(c)
        assert await cc.dbsize() == len(written)
        assert sorted(await cc.keys(f"{t}:*")) == [k.encode() for k in written]
        for master in c.masters():
            assert command_stats(c, master, "dbsize") == (1, 0), master
            assert command_stats(c, master, "keys") == (1, 0), master
        assert sum(c.execute(m, "DBSIZE") for m in c.masters()) == len(written)

        script = "return redis.call('GET', KEYS[1])"
        sha = await cc.script_load(script)
        for master in c.masters():
            assert c.execute(master, "SCRIPT", "EXISTS", sha) == [1], master
        assert await cc.script_exists(sha, "0" * 40) == [True, False]
        # EVALSHA now works for a key of any shard.
        for keys in spread.values():
            assert await cc.evalsha(sha, [keys[0]]) == b"x"

        assert await cc.flushall() is True
        for master in c.masters():
            assert c.execute(master, "DBSIZE") == 0, master
            assert command_stats(c, master, "flushall") == (1, 0), master
        assert await cc.dbsize() == 0
        assert await cc.keys("*") == []
    assert redirects(c) == 0


# -- 2. CROSSSLOT ----------------------------------------------------------------------


async def test_cross_slot_commands_raise_before_anything_is_sent(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    t = unique_tag("xs")
    a, b = f"{t}:a", f"{t}:b"
    assert key_slot(a) != key_slot(b)
    async with ClusterClient.from_url(c.startup_url) as cc:
        await cc.set(a, "1")
        reset_stats(c)
        before = acquired(cc)
        attempts = [
            cc.mget(a, b),
            cc.delete(a, b),
            cc.rename(a, b),
            cc.execute("MSET", a, "1", b, "2"),
            cc.sinterstore(a, b),
        ]
        for attempt in attempts:
            with pytest.raises(CrossSlotError) as caught:
                await attempt
            assert repr(a) in str(caught.value)
            assert repr(b) in str(caught.value)
            assert str(key_slot(a)) in str(caught.value)
        assert isinstance(caught.value, ValueError)
        assert acquired(cc) == before, "a CROSSSLOT command borrowed a connection"
        for node in c.nodes:
            for name in ("mget", "del", "rename", "mset", "sinterstore"):
                assert command_stats(c, node, name) == (0, 0), (node, name)

        # A transaction checks each command as it is queued.
        tx = cc.pipeline(transaction=True)
        tx.set(a, "tx")
        with pytest.raises(CrossSlotError, match=f"slot {key_slot(b)}"):
            tx.set(b, "tx")
        assert len(tx) == 1
        assert await tx.execute() == [True]
        assert c.execute(owners(c, [b])[b], "EXISTS", b) == 0
        # So does a plain pipeline, for a multi-key command.
        pipe = cc.pipeline(transaction=False)
        with pytest.raises(CrossSlotError):
            pipe.mget(a, b)
        assert len(pipe) == 0

        # A common hash tag keeps keys together: the same commands work.
        x, y = f"{{{t}}}:x", f"{{{t}}}:y"
        assert await cc.mset({x: "1", y: "2"}) is True
        assert await cc.mget(x, y) == [b"1", b"2"]
        assert await cc.rename(x, f"{{{t}}}:z") is True
        assert await cc.delete(y, f"{{{t}}}:z") == 2
        tx = cc.pipeline(transaction=True)
        tx.set(x, "a").append(y, "b").mget(x, y)
        assert await tx.execute() == [True, 1, [b"a", b"b"]]
    assert redirects(c) == 0


# -- 3. MOVED ----------------------------------------------------------------------------


async def test_moved_slot_costs_one_redirect_and_a_refresh_fixes_the_other_slots(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    t = unique_tag("mv")
    candidates = [f"{{{t}-{i}}}" for i in range(40)]
    owner = owners(c, candidates)
    first = candidates[0]
    source = owner[first]
    second = next(tag for tag in candidates[1:] if owner[tag] is source)
    target = other_master(c, source)
    s1, s2 = key_slot(first), key_slot(second)
    async with ClusterClient.from_url(c.startup_url, refresh_interval=None) as cc:
        opened = time.monotonic()
        await cc.set(f"{first}:k", "one")
        await cc.set(f"{second}:k", "two")
        assert cc.slot_owner(s1) == cc.slot_owner(s2) == address(source)
        await asyncio.to_thread(c.move_slot, s1, target)
        await asyncio.to_thread(c.move_slot, s2, target)
        assert cc.slot_owner(s1) == address(source), "the client cannot know yet"
        # A refresh asked for within 0.1 s of the last one is skipped (by design);
        # let that gap pass so the MOVED below triggers a real one.
        await asyncio.sleep(max(0.0, opened + 0.15 - time.monotonic()))
        reset_stats(c)

        for _ in range(20):
            assert await cc.get(f"{first}:k") == b"one"
        assert cc.slot_owner(s1) == address(target)
        assert error_count(c, source, "MOVED") == 1, "one MOVED per moved slot"
        assert command_stats(c, source, "get") == (0, 1)
        assert command_stats(c, target, "get") == (20, 0)

        # The refresh the MOVED scheduled taught the client the other moved slot too.
        await wait_for(lambda: cc.slot_owner(s2) == address(target), "a topology refresh")
        assert await cc.get(f"{second}:k") == b"two"
        assert error_count(c, source, "MOVED") == 1, "the refreshed slot needed no MOVED"
        refreshes = sum(command_stats(c, n, "cluster|shards")[0] for n in c.masters())
        assert refreshes >= 1, "no CLUSTER SHARDS was sent after the MOVED"
        # Every other slot still maps to the right primary.
        for port, spans in slot_ranges(c).items():
            for a, b in spans:
                for slot in (a, (a + b) // 2, b):
                    assert cc.slot_owner(slot) == f"127.0.0.1:{port}", slot
        # Concurrent commands on the moved slot: no more redirects.
        got = await asyncio.gather(*(cc.get(f"{first}:k") for _ in range(20)))
        assert got == [b"one"] * 20
    assert redirects(c) == 1


# -- 4. ASK ------------------------------------------------------------------------------


async def test_ask_during_a_live_migration_keeps_every_reply_right(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    tag = "{" + unique_tag("ask") + "}"
    slot = key_slot(tag)
    source = c.owner_of(slot)
    target = other_master(c, source)
    workers = 20
    async with ClusterClient.from_url(c.startup_url, refresh_interval=None) as cc:
        filler = cc.pipeline(transaction=False)
        for i in range(150):
            filler.set(f"{tag}:fill:{i}", str(i))
        await filler.execute()
        stop = asyncio.Event()
        wrong: list[str] = []
        errors: list[BaseException] = []
        acked = [0] * workers
        last: list[bytes | None] = [None] * workers
        done_after_finish = [0] * workers
        finished = asyncio.Event()

        async def worker(i: int) -> None:
            key, counter = f"{tag}:s:{i}", f"{tag}:n:{i}"
            for j in range(1_000_000):
                if stop.is_set():
                    return
                value = f"{i}-{j}".encode()
                try:
                    if await cc.set(key, value) is not True:
                        wrong.append(f"SET {key}")
                    last[i] = value
                    got = await cc.get(key)
                    if got != value:
                        wrong.append(f"GET {key}: {got!r}, wanted {value!r}")
                    n = await cc.incr(counter)
                    acked[i] += 1
                    if n != acked[i]:
                        wrong.append(f"INCR {counter}: {n}, wanted {acked[i]}")
                except Exception as exc:
                    errors.append(exc)
                    return
                if finished.is_set():
                    done_after_finish[i] += 1

        tasks = [asyncio.create_task(worker(i)) for i in range(workers)]
        try:
            await wait_for(lambda: min(acked) >= 3, "every worker to run")
            reset_stats(c)
            await asyncio.to_thread(c.begin_migration, slot, target)
            moved = 0
            for _ in range(1000):
                batch = await asyncio.to_thread(c.migrate_keys, slot, 1)
                if not batch:
                    break
                moved += batch
                if errors:
                    break
            assert moved == 150 + 2 * workers, "every key moved one by one"
            asks = error_count(c, source, "ASK")
            assert asks > 0, "the workers never met an ASK"
            assert cc.slot_owner(slot) == address(source), "an ASK must not change the map"
            await asyncio.to_thread(c.finish_migration, slot)
            finished.set()
            await wait_for(lambda: min(done_after_finish) >= 3, "work after the migration")
        finally:
            stop.set()
            async with asyncio.timeout(10):
                await asyncio.gather(*tasks)
        assert not errors, errors[:3]
        assert not wrong, wrong[:5]
        assert cc.slot_owner(slot) == address(target)
    # Everything is on the new owner, counters equal to the acknowledged INCRs.
    assert c.execute(source, "CLUSTER", "COUNTKEYSINSLOT", slot) == 0
    assert c.execute(target, "CLUSTER", "COUNTKEYSINSLOT", slot) == 150 + 2 * workers
    for i in range(workers):
        assert c.execute(target, "GET", f"{tag}:s:{i}") == last[i], i
        assert c.execute(target, "GET", f"{tag}:n:{i}") == str(acked[i]).encode(), i
    assert c.execute(target, "GET", f"{tag}:fill:77") == b"77"
    assert error_count(c, source, "MOVED") <= workers, "one MOVED per caller at most"


# -- 7. reading from replicas ------------------------------------------------------------


async def _wait_replicated(c: RedisCluster, keys: dict[str, bytes]) -> None:
    """Until every master's replica answers every key of that master (replication is async)."""
    spans = owners(c, list(keys))

    def done() -> bool:
        for key, value in keys.items():
            replica = c.replica_of(spans[key])
            if c.execute(replica, "GET", key, readonly=True) != value:
                return False
        return True

    await wait_for(done, "the replicas to apply the writes")


async def test_read_from_replicas_sends_reads_to_replicas_and_writes_to_primaries(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    t = unique_tag("rr")
    spread = keys_per_master(c, t, 4)
    keys = [key for per in spread.values() for key in per]
    name = unique_tag("rr-client")
    async with ClusterClient.from_url(c.startup_url, read_from="replicas", client_name=name) as cc:
        reset_stats(c)
        for key in keys:
            assert await cc.set(key, key) is True
        for master in c.masters():
            assert command_stats(c, master, "set") == (4, 0), master
        await _wait_replicated(c, {key: key.encode() for key in keys})
        reset_stats(c)
        before = acquired(cc)
        for _ in range(3):
            for key in keys:
                assert await cc.get(key) == key.encode()
        got = await asyncio.gather(*(cc.get(key) for key in keys))
        assert got == [key.encode() for key in keys]
        used = delta(before, acquired(cc))
        for master in c.masters():
            replica = c.replica_of(master)
            assert command_stats(c, master, "get") == (0, 0), master
            assert command_stats(c, replica, "get") == (16, 0), replica
            assert used.get(address(replica)) == 16, used
            assert address(master) not in used, used
            # The READONLY handshake: the replica's connections carry the 'r' flag.
            listing = c.execute(replica, "CLIENT", "LIST").decode()
            mine = [line for line in listing.splitlines() if f" name={name} " in line]
            assert mine, listing
            assert all("r" in line.split(" flags=")[1].split(" ")[0] for line in mine), mine
        # Writes still go to the primaries, never to a replica.
        assert await cc.incr(f"{t}:counter") == 1
    assert redirects(c) == 0


async def test_a_script_loaded_through_the_client_runs_read_only_on_replicas(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    t = unique_tag("ro-script")
    spread = keys_per_master(c, t, 1)
    keys = [per[0] for per in spread.values()]
    async with ClusterClient.from_url(c.startup_url, read_from="replicas") as cc:
        for key in keys:
            await cc.set(key, key)
        await _wait_replicated(c, {key: key.encode() for key in keys})
        # EVAL_RO carries its script: a replica runs it (and caches it: a new script below).
        assert await cc.eval_ro("return redis.call('GET', KEYS[1])", [keys[0]]) == (
            keys[0].encode()
        )
        sha = await cc.script_load("return {redis.call('GET', KEYS[1])}")
        for key in keys:
            assert await cc.evalsha_ro(sha, [key]) == [key.encode()]
        for master in c.masters():
            assert command_stats(c, c.replica_of(master), "evalsha_ro")[0] == 1


async def test_read_from_nearest_reads_within_the_shard_and_writes_to_primaries(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    t = unique_tag("near")
    spread = keys_per_master(c, t, 3)
    keys = [key for per in spread.values() for key in per]
    async with ClusterClient.from_url(c.startup_url, read_from="nearest") as cc:
        for key in keys:
            assert await cc.set(key, key) is True
        await _wait_replicated(c, {key: key.encode() for key in keys})
        reset_stats(c)
        for _ in range(5):
            for key in keys:
                assert await cc.get(key) == key.encode()
        for master in c.masters():
            replica = c.replica_of(master)
            served = command_stats(c, master, "get")[0] + command_stats(c, replica, "get")[0]
            assert served == 15, (master, served)
            assert command_stats(c, master, "get")[1] == 0
            assert command_stats(c, replica, "get")[1] == 0
        await cc.set(keys[0], "new")
        assert command_stats(c, owners(c, [keys[0]])[keys[0]], "set") == (1, 0)
    assert redirects(c) == 0


# -- 8. pipelines ------------------------------------------------------------------------


async def test_pipeline_across_every_shard_answers_in_queue_order(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    t = unique_tag("pipe")
    spread = keys_per_master(c, t, 4)
    keys = [key for i in range(4) for per in spread.values() for key in [per[i]]]
    async with ClusterClient.from_url(c.startup_url) as cc:
        await cc.ping()
        reset_stats(c)
        before = acquired(cc)
        p = cc.pipeline(transaction=False)
        for i, key in enumerate(keys):
            p.set(key, str(i)).incr(key).get(key)
        assert len(p) == 3 * len(keys)
        results = await p.execute()
        assert len(p) == 0
        want: list[Any] = []
        for i in range(len(keys)):
            want += [True, i + 1, str(i + 1).encode()]
        assert results == want
        # One borrowed connection (one write, one read pass) per shard.
        assert delta(before, acquired(cc)) == {address(m): 1 for m in c.masters()}
        assert await cc.pipeline(transaction=False).execute() == []
        assert await cc.pipeline(transaction=True).execute() == []
    assert redirects(c) == 0


async def test_pipeline_error_replies_stay_in_place_or_raise_after_everything_ran(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    t = unique_tag("perr")
    spread = keys_per_master(c, t, 2)
    (a, b), (x, y), (m, n) = spread.values()
    async with ClusterClient.from_url(c.startup_url) as cc:
        p = cc.pipeline(transaction=False)
        p.set(a, "text").incr(a).get(a).lpush(x, "v").set(y, "1").incr(x).get(m)
        results = await p.execute(raise_on_error=False)
        assert results[0] is True
        assert isinstance(results[1], ReplyError)
        assert "not an integer" in str(results[1])
        assert results[2] == b"text"
        assert results[3] == 1
        assert results[4] is True
        assert isinstance(results[5], ReplyError)
        assert "WRONGTYPE" in str(results[5])
        assert results[6] is None

        p = cc.pipeline(transaction=False)
        p.incr(a).set(b, "after").lpush(x, "w").incr(x).set(n, "last")
        with pytest.raises(ReplyError, match="not an integer"):
            await p.execute()
        # Everything ran; the first error was raised once all replies were read.
        assert c.execute(owners(c, [b])[b], "GET", b) == b"after"
        assert c.execute(owners(c, [n])[n], "GET", n) == b"last"
        assert c.execute(owners(c, [x])[x], "LLEN", x) == 2


async def test_pipeline_spanning_a_just_moved_slot_still_answers_in_order(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    t = unique_tag("pmv")
    tag = "{" + t + "}"
    slot = key_slot(tag)
    source = c.owner_of(slot)
    target = other_master(c, source)
    spread = keys_per_master(c, t, 2)
    others = [key for per in spread.values() for key in per]
    async with ClusterClient.from_url(c.startup_url, refresh_interval=None) as cc:
        for key in others:
            await cc.set(key, key)
        await cc.set(f"{tag}:a", "A")
        await cc.set(f"{tag}:n", "10")
        await asyncio.to_thread(c.move_slot, slot, target)
        reset_stats(c)
        p = cc.pipeline(transaction=False)
        p.get(others[0]).get(f"{tag}:a").get(others[1]).incr(f"{tag}:n").get(others[2])
        p.set(f"{tag}:b", "B").get(others[3]).get(f"{tag}:b").get(others[4]).get(others[5])
        assert await p.execute() == [
            others[0].encode(),
            b"A",
            others[1].encode(),
            11,
            others[2].encode(),
            True,
            others[3].encode(),
            b"B",
            others[4].encode(),
            others[5].encode(),
        ]
        # The group sent to the old owner came back MOVED, once per command of the slot.
        assert error_count(c, source, "MOVED") == 4
        assert cc.slot_owner(slot) == address(target)
        p = cc.pipeline(transaction=False)
        p.get(f"{tag}:a").get(others[0])
        assert await p.execute() == [b"A", others[0].encode()]
        assert error_count(c, source, "MOVED") == 4, "the map was fixed: no more MOVED"
    assert c.execute(target, "GET", f"{tag}:n") == b"11"


async def test_transaction_runs_on_one_slot_and_follows_a_moved_slot(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    tag = "{" + unique_tag("tx") + "}"
    slot = key_slot(tag)
    source = c.owner_of(slot)
    async with ClusterClient.from_url(c.startup_url, refresh_interval=None) as cc:
        reset_stats(c)
        tx = cc.pipeline(transaction=True)
        tx.set(f"{tag}:a", "1").incr(f"{tag}:a").get(f"{tag}:a").rpush(f"{tag}:l", "x")
        assert await tx.execute() == [True, 2, b"2", 1]
        assert command_stats(c, source, "exec") == (1, 0)
        target = other_master(c, source)
        await asyncio.to_thread(c.move_slot, slot, target)
        reset_stats(c)
        tx = cc.pipeline(transaction=True)
        tx.incr(f"{tag}:a").lpop(f"{tag}:l").get(f"{tag}:a")
        assert await tx.execute() == [3, b"x", b"3"]
        assert cc.slot_owner(slot) == address(target)
        # The old owner refused it (MOVED while queuing, so EXECABORT): nothing ran there.
        assert command_stats(c, source, "incr") == (0, 1)
        assert error_count(c, source, "EXECABORT") == 1
        assert command_stats(c, target, "exec") == (1, 0)
        assert command_stats(c, target, "incr") == (1, 0)
    assert c.execute(target, "GET", f"{tag}:a") == b"3"


# -- 9. SCAN -----------------------------------------------------------------------------


async def test_scan_iter_yields_every_key_of_every_primary_once(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    t = unique_tag("scan")
    written = {f"{t}:{i}".encode() for i in range(600)}
    async with ClusterClient.from_url(c.startup_url) as cc:
        p = cc.pipeline(transaction=False)
        for key in written:
            p.set(key, "1")
        await p.execute()
        await cc.set("other-key", "1")
        seen = [key async for key in cc.scan_iter(match=f"{t}:*", count=50)]
        assert len(seen) == len(set(seen)), "a key was yielded twice on a stable cluster"
        assert set(seen) == written
        everything = [key async for key in cc.scan_iter(count=1000)]
        assert sorted(everything) == sorted([*written, b"other-key"])
    for master in c.masters():
        assert command_stats(c, master, "scan")[0] >= 1, master


# -- 10. bad input ------------------------------------------------------------------------


def test_from_url_rejects_what_a_cluster_cannot_use() -> None:
    with pytest.raises(ValueError, match="only database 0"):
        ClusterClient.from_url("redis://127.0.0.1:7000/2")
    with pytest.raises(ValueError, match="database 0"):
        ClusterClient.from_url("redis://127.0.0.1:7000/?db=3")
    with pytest.raises(ValueError, match="expected redis://host:port"):
        ClusterClient.from_url("unix:///tmp/redis.sock")
    with pytest.raises(ValueError, match="at least one startup node"):
        ClusterClient.from_url([])
    with pytest.raises(TypeError, match="'max_conections'"):
        ClusterClient.from_url("redis://127.0.0.1:7000", max_conections=3)
    with pytest.raises(TypeError, match="'bogus_option'"):
        ClusterClient.from_url("redis://127.0.0.1:7000", bogus_option=1)
    with pytest.raises(ValueError, match="read_from") as caught:
        ClusterClient.from_url("redis://127.0.0.1:7000", read_from="bogus")
    assert "'bogus'" in str(caught.value)
    with pytest.raises(ValueError, match="max_redirects"):
        ClusterClient.from_url("redis://127.0.0.1:7000", max_redirects=0)
    with pytest.raises(TypeError, match="startup node must be a URL str"):
        ClusterClient.from_url(["redis://127.0.0.1:7000", 7001])  # type: ignore[list-item]
    # Accepted: database 0 spelled out, several startup nodes, every cluster option.
    client = ClusterClient.from_url(
        ["redis://127.0.0.1:7000/0", "redis://127.0.0.1:7001"],
        read_from="replicas",
        max_redirects=3,
        retry_timeout=1.5,
        refresh_interval=None,
        max_size=4,
    )
    assert client.cluster_options.max_redirects == 3
    assert client.pool_options.max_size == 4
    assert "read_from=replicas" in repr(client)


async def test_open_names_every_startup_node_when_none_answers() -> None:
    dead = free_port()
    started = time.monotonic()
    client = ClusterClient.from_url(f"redis://127.0.0.1:{dead}", connect_timeout=2.0)
    with pytest.raises(ClusterError, match=f"127.0.0.1:{dead}"):
        await client.open()
    assert time.monotonic() - started < 2.0, "a refused connection needs no timeout"
    await client.aclose()
    with full_backlog_port() as silent:
        started = time.monotonic()
        client = ClusterClient.from_url(
            [f"redis://127.0.0.1:{silent}", f"redis://127.0.0.1:{dead}"], connect_timeout=0.5
        )
        with pytest.raises(ClusterError) as caught:
            async with client:
                pass
        elapsed = time.monotonic() - started
    assert f"127.0.0.1:{silent}" in str(caught.value)
    assert f"127.0.0.1:{dead}" in str(caught.value)
    assert 0.4 < elapsed < 2.0, f"connect_timeout=0.5 should bound the wait, took {elapsed:.2f}s"


async def test_open_against_a_server_without_cluster_mode_raises_cluster_error(
    redis_url: str,
) -> None:
    client = ClusterClient.from_url(redis_url.rsplit("/", 1)[0])
    with pytest.raises(ClusterError, match="cluster mode"):
        await client.open()
    await client.aclose()
    with pytest.raises(ClusterError, match="closed"):
        await client.get("k")


async def test_a_redirect_loop_ends_with_cluster_error_after_max_redirects(
    redis_cluster: RedisCluster,
) -> None:
    # A slot marked MIGRATING on its owner whose target does not import it: the
    # owner answers ASK (the key is not there), the target answers MOVED back.
    c = redis_cluster
    tag = "{" + unique_tag("loop") + "}"
    slot = key_slot(tag)
    source = c.owner_of(slot)
    target = other_master(c, source)
    async with ClusterClient.from_url(c.startup_url, max_redirects=5) as cc:
        await cc.ping()
        reset_stats(c)
        c.execute(source, "CLUSTER", "SETSLOT", slot, "MIGRATING", c.node_id(target))
        try:
            with pytest.raises(ClusterError, match="max_redirects=5") as caught:
                await cc.get(f"{tag}:missing")
            assert "redirected 5 times" in str(caught.value)
            # max_redirects redirects followed, the next one refused: 6 in all.
            assert error_count(c, source, "ASK") == 3
            assert error_count(c, target, "MOVED") == 3
            tx = cc.pipeline(transaction=True)
            tx.get(f"{tag}:missing")
            with pytest.raises(ClusterError, match=f"slot {slot}"):
                await tx.execute()
        finally:
            c.execute(source, "CLUSTER", "SETSLOT", slot, "STABLE")
        assert await cc.get(f"{tag}:missing") is None
        for stats in cc.stats().values():
            assert (stats.in_use, stats.waiting) == (0, 0), stats


# -- 11. cancellation ----------------------------------------------------------------------


async def test_cancelled_blocking_command_leaves_pools_balanced_and_replies_own(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    key = unique_tag("blpop")
    owner = owners(c, [key])[key]

    def blocked() -> int:
        return int(info(c.execute(owner, "INFO", "clients"))["blocked_clients"])

    async with ClusterClient.from_url(c.startup_url) as cc:
        await cc.set(f"{key}:warm", "1")
        task = asyncio.create_task(cc.blpop([key], timeout=10))
        await wait_for(lambda: blocked() == 1, "BLPOP to block")
        assert await cancel_and_settle(task) == "cancelled"
        await wait_for(lambda: blocked() == 0, "the server to drop the blocked connection")
        pool = cc.node(address(owner)).pool
        stats = assert_balanced(pool)
        assert stats.created - stats.closed == stats.size, stats
        # The aborted BLPOP cannot take the element meant for the next caller.
        assert await cc.rpush(key, "mine") == 1
        assert await cc.lrange(key, 0, -1) == [b"mine"]
        assert await cc.blpop([key], timeout=1) == (key.encode(), b"mine")
        results = await asyncio.gather(*(cc.echo(f"e{i}") for i in range(20)))
        assert results == [f"e{i}".encode() for i in range(20)]

        # A pipeline over every shard, one of its groups blocked, cancelled.
        others = [per[0] for per in keys_per_master(c, unique_tag("cp"), 1).values()]
        for other in others:  # an idle connection on every node: each group writes at once
            assert await cc.get(other) is None
        p = cc.pipeline(transaction=False)
        for other in others:
            p.set(other, "v")
        p.blpop([key], timeout=10)
        pipe_task = asyncio.create_task(p.execute())
        await wait_for(lambda: blocked() == 1, "the pipeline's BLPOP to block")
        assert await cancel_and_settle(pipe_task) == "cancelled"
        await wait_for(lambda: blocked() == 0, "the server to drop the blocked connection")
        assert await cc.rpush(key, "again") == 1
        assert await cc.lrange(key, 0, -1) == [b"again"]
        for other in others:
            assert await cc.get(other) == b"v"  # the other groups had run
        for node_stats in cc.stats().values():
            assert (node_stats.in_use, node_stats.waiting) == (0, 0), node_stats


# -- private cluster: failover, restarts ---------------------------------------------------


@pytest.fixture(scope="module")
def private_cluster() -> Iterator[RedisCluster]:
    require_redis_server()
    with RedisCluster() as cluster:
        yield cluster


@pytest.fixture
def failing(private_cluster: RedisCluster) -> RedisCluster:
    """The module's private cluster, every node running and the cluster stable."""
    private_cluster.heal()  # a failed test may have left a node down
    private_cluster.flushall()
    return private_cluster


def _slots_of(cluster: RedisCluster, master: RedisServer) -> set[int]:
    return {s for a, b in slot_ranges(cluster)[master.port] for s in range(a, b + 1)}


def _write_report(figures: dict[str, Any]) -> None:
    with open(FAILOVER_REPORT, "w", encoding="utf-8") as out:
        json.dump(figures, out, indent=2)


LOSS_WINDOW = 0.5  # seconds before the kill in which an acked write may not have replicated


async def test_failover_under_load_recovers_and_keeps_acknowledged_writes(
    failing: RedisCluster,
) -> None:
    c = failing
    startup, dead = c.masters()[:2]
    dead_slots = _slots_of(c, dead)
    async with ClusterClient.from_url(
        f"redis://127.0.0.1:{startup.port}",
        retry_timeout=10.0,
    ) as cc:
        ledger = ClusterLedger(cc, workers=30)
        ledger.start()
        try:
            await wait_for(lambda: len(ledger.ops) >= 3000, "the load to run", timeout=10)
            kill_at = time.monotonic()
            await asyncio.to_thread(c.kill, dead)
            dead_at = time.monotonic()  # the process has exited: nothing it sends is new
            failover = await asyncio.to_thread(c.wait_for_failover, dead, 15.0)

            def recovered() -> Op | None:
                return next(
                    (
                        op
                        for op in ledger.ops
                        if op.error is None
                        and op.started > dead_at
                        and key_slot(op.key) in dead_slots
                    ),
                    None,
                )

            await wait_for(lambda: recovered() is not None, "a success on the dead shard", 12)
            count = len(ledger.ops)
            await wait_for(lambda: len(ledger.ops) >= count + 1000, "load after the failover")
        finally:
            await ledger.stop()
        first = recovered()
        assert first is not None
    recovery = first.ended - kill_at

    failures = ledger.failures()
    hangs = [op for op in failures if isinstance(op.error, AssertionError)]
    assert not hangs, hangs[:3]
    # Only commands in flight on the dead master at the kill fail, with an unknown
    # outcome; everything else waits (retry_timeout) and reaches the promoted replica.
    # (An idle pooled connection whose EOF the loop has not read yet may still be
    # written to just after the kill: that is unknown to the client too.)
    unknown = [op for op in failures if isinstance(op.error, OutcomeUnknown)]
    other = [op for op in failures if not isinstance(op.error, OutcomeUnknown)]
    assert not other, [(op.kind, op.key, repr(op.error)) for op in other[:5]]
    assert all(op.started <= dead_at + 0.1 for op in unknown), unknown[:3]
    assert all(address(dead) in str(op.error) for op in failures), failures[:3]
    assert all(key_slot(op.key) in dead_slots for op in failures), "a live shard failed"
    error_window = max((op.ended for op in failures), default=kill_at) - kill_at

    # Durability: every acknowledged SET is there, except possibly one the dead
    # master acknowledged just before the kill and had not yet replicated.
    acked = ledger.acked_sets()
    maybe = ledger.unknown_sets()
    counters = [ledger.counter(i) for i in range(ledger.workers)]
    values = values_on_cluster(c, [*acked, *maybe, *counters])
    lost = [op for key, op in acked.items() if values[key] != op.value]
    late = [op for op in lost if op.ended < kill_at - LOSS_WINDOW]
    assert not late, [(op.key, op.ended - kill_at) for op in late[:5]]
    assert all(key_slot(op.key) in dead_slots for op in lost)
    odd = [key for key, op in maybe.items() if values[key] not in (None, op.value)]
    assert not odd, odd[:5]
    # Counters: the final value follows the last acknowledged INCR (plus any INCR of
    # unknown outcome after it); on a live shard it equals the acknowledged count.
    for i, counter in enumerate(counters):
        ops = ledger.incrs(i)
        done = [op for op in ops if op.error is None]
        final = int(values[counter] or 0)
        last = max(done, key=lambda op: op.ended)
        after = [op for op in ops if op.error is not None and op.started > last.started]
        assert last.reply <= final <= last.reply + len(after), (counter, final, last.reply)
        if key_slot(counter) not in dead_slots:
            assert final == len(done), (counter, final, len(done))
        else:
            durable = [op.reply for op in done if op.ended < kill_at - LOSS_WINDOW]
            assert final >= max(durable, default=0), (counter, final)

    figures = {
        "node_timeout_ms": c.node_timeout_ms,
        "workers": ledger.workers,
        "operations": len(ledger.ops),
        "failover_seconds": round(failover, 3),
        "recovery_seconds": round(recovery, 3),
        "error_window_seconds": round(error_window, 3),
        "failed_operations": len(failures),
        "outcome_unknown": len(unknown),
        "acknowledged_sets": len(acked),
        "acknowledged_sets_lost": len(lost),
        "loss_window_seconds": LOSS_WINDOW,
    }
    print(f"\ncluster failover under load: {json.dumps(figures)}")
    _write_report(figures)
    assert recovery <= failover + 2.0, figures
    assert recovery <= 10.0, figures


async def _load_on(cc: ClusterClient, keys: list[str], stop: asyncio.Event, log: list[Op]) -> None:
    """Sequential GETs of ``keys`` until ``stop``; every one logged."""
    for j in range(1_000_000):
        if stop.is_set():
            return
        key = keys[j % len(keys)]
        op = Op("GET", key, None, time.monotonic(), 0.0)
        try:
            op.reply = await cc.get(key)
        except Exception as exc:
            op.error = exc
        op.ended = time.monotonic()
        log.append(op)
        if op.error is not None:
            await asyncio.sleep(0.005)


async def test_commands_reach_the_promoted_replica_soon_after_failover_by_default(
    failing: RedisCluster,
) -> None:
    c = failing
    startup, dead = c.masters()[:2]
    keys = keys_per_master(c, unique_tag("fo-default"), 5)[dead.port]
    log: list[Op] = []
    stop = asyncio.Event()
    async with ClusterClient.from_url(
        f"redis://127.0.0.1:{startup.port}", retry_timeout=20.0
    ) as cc:
        tasks = [asyncio.create_task(_load_on(cc, keys, stop, log)) for _ in range(5)]
        try:
            await wait_for(lambda: len(log) >= 100, "the load to run")
            kill_at = time.monotonic()
            await asyncio.to_thread(c.kill, dead)
            dead_at = time.monotonic()  # the process has exited: nothing it sends is new
            failover = await asyncio.to_thread(c.wait_for_failover, dead, 15.0)
            deadline = kill_at + failover + 2.0

            def served() -> bool:
                return any(op.error is None and op.started > dead_at for op in log)

            for _ in range(10_000):
                if served() or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.01)
            recovery = time.monotonic() - kill_at
        finally:
            stop.set()
            for task in tasks:
                await cancel_and_settle(task, timeout=15)
    assert served(), (
        f"no command reached the promoted replica within {recovery:.2f}s of the kill; "
        f"the failover took {failover:.2f}s"
    )


async def test_commands_waiting_for_a_departed_node_are_rerouted_not_failed(
    failing: RedisCluster,
) -> None:
    # The doomed primary is paused, not killed: its two pooled connections stay
    # blocked (BLPOP), so the GETs queued behind them wait for a connection, with
    # nothing sent, until the failover takes the node out of the slot map.
    c = failing
    startup, doomed = c.masters()[:2]
    promoted = c.replica_of(doomed)
    spread = keys_per_master(c, unique_tag("fo-closed"), 8)
    keys, elsewhere = spread[doomed.port], spread[startup.port][0]

    def blocked() -> int:
        return int(info(c.execute(doomed, "INFO", "clients"))["blocked_clients"])

    def promoted_is_master() -> bool:
        return bytes(raw_pipeline(promoted, [("ROLE",)])[0][0]) == b"master"

    async with ClusterClient.from_url(
        f"redis://127.0.0.1:{startup.port}",
        max_size=2,
        acquire_timeout=30.0,
        connect_timeout=0.5,  # a refresh that asks the paused node first moves on
        close_timeout=0.5,
        refresh_interval=0.2,
        retry_timeout=10.0,
    ) as cc:
        await cc.set(elsewhere, "x")
        blockers = [asyncio.create_task(cc.blpop([key], timeout=20)) for key in keys[:2]]
        await wait_for(lambda: blocked() == 2, "both connections to block")
        waiters = [asyncio.create_task(cc.get(key)) for key in keys[2:5]]
        pipe = cc.pipeline(transaction=False)
        pipe.get(keys[5]).get(elsewhere).get(keys[6]).get(keys[7])
        waiters.append(asyncio.create_task(pipe.execute()))
        pool = cc.node(address(doomed)).pool
        await wait_for(lambda: pool.stats().waiting == 4, "three GETs and a pipeline to queue")
        doomed.pause()
        try:
            await wait_for(promoted_is_master, "the replica to be promoted", timeout=15)
            await wait_for(lambda: pool.is_closed(), "the paused node to leave the map", 5)
            async with asyncio.timeout(10):
                outcomes = await asyncio.gather(*waiters, return_exceptions=True)
                ended = await asyncio.gather(*blockers, return_exceptions=True)
        finally:
            doomed.resume()
            for task in [*blockers, *waiters]:
                if not task.done():  # only when a wait above failed
                    await cancel_and_settle(task)
        assert cc.slot_owner(key_slot(keys[2])) == address(promoted)
    # The BLPOPs were written: their outcome is unknown. The GETs were never sent.
    assert all(isinstance(e, OutcomeUnknown) for e in ended), ended
    failed = [o for o in outcomes if isinstance(o, BaseException)]
    assert not failed, f"{len(failed)} queued commands failed: {failed[0]!r}"
    assert outcomes == [None, None, None, [None, b"x", None, None]]


@pytest.mark.xfail(
    IS_VALKEY,
    reason="open: on Valkey 9.1, run after the rest of this file, reads of the failed "
    "master's keys return nil for ~5 ms some 0.25 s into its restart (seen 3 of 4 runs; "
    "CLUSTER SHARDS health looked right in probes); not seen on Redis 7.0",
    strict=False,
)
async def test_client_follows_a_replica_restart_and_a_failed_master_rejoining(
    failing: RedisCluster,
) -> None:
    c = failing
    startup, failed, steady = c.masters()
    replica = c.replica_of(steady)
    promoted = c.replica_of(failed)
    t = unique_tag("restart")
    spread = keys_per_master(c, t, 3)
    keys = [key for per in spread.values() for key in per]
    async with ClusterClient.from_url(
        f"redis://127.0.0.1:{startup.port}",
        read_from="replicas",
        refresh_interval=0.2,
        retry_timeout=10.0,
        acquire_timeout=1.0,
    ) as cc:
        for key in keys:
            await cc.set(key, key)
        await _wait_replicated(c, {key: key.encode() for key in keys})
        log: list[Op] = []
        stop = asyncio.Event()
        reader = asyncio.create_task(_load_on(cc, keys, stop, log))
        try:
            await wait_for(lambda: address(replica) in cc.stats(), "reads on the replica")
            old_replica_pool = cc.node(address(replica)).pool
            old_failed_pool = cc.node(address(failed)).pool  # serves writes: a primary

            # 1. A replica dies: reads of its shard move to its primary; its pool closes.
            await asyncio.to_thread(c.kill, replica)
            await wait_for(
                lambda: address(replica) not in cc.stats(), "the dead replica to leave", 10
            )
            assert old_replica_pool.is_closed()
            assert_balanced(old_replica_pool)
            mark = len(log)
            await wait_for(lambda: len(log) > mark + 30, "reads without the replica")
            # ... and when it is back and in sync, reads go to it again, on a new pool.
            await asyncio.to_thread(c.restart, replica)
            await wait_for(lambda: address(replica) in cc.stats(), "the replica to rejoin", 10)
            await wait_for(
                lambda: cc.stats()[address(replica)].acquired >= 5, "reads on the replica again"
            )
            assert cc.node(address(replica)).pool is not old_replica_pool

            # 2. A primary dies: its replica is promoted, the client follows, writes work.
            slot = key_slot(spread[failed.port][0])
            await asyncio.to_thread(c.kill, failed)
            await asyncio.to_thread(c.wait_for_failover, failed, 15.0)
            await wait_for(
                lambda: cc.slot_owner(slot) == address(promoted), "the promotion to show", 10
            )
            assert await cc.set(spread[failed.port][0], "after") is True
            await wait_for(lambda: address(failed) not in cc.stats(), "the dead master to leave")
            assert old_failed_pool.is_closed()
            # It comes back as a replica of the promoted node and serves reads again.
            await asyncio.to_thread(c.restart, failed)
            assert c.replica_of(promoted) is failed
            await wait_for(lambda: address(failed) in cc.stats(), "the old master to rejoin", 10)
            await wait_for(
                lambda: cc.stats()[address(failed)].acquired >= 5, "reads on the old master"
            )
        finally:
            stop.set()
            async with asyncio.timeout(15):
                await reader
        assert c.execute(failed, "GET", spread[failed.port][1], readonly=True) == (
            spread[failed.port][1].encode()
        )
        assert command_stats(c, failed, "get")[0] >= 5
        wrong = [op for op in log if op.error is None and op.reply != op.key.encode()]
        wrong = [op for op in wrong if op.key != spread[failed.port][0] or op.reply != b"after"]
        assert not wrong, [(op.key, op.reply) for op in wrong[:5]]
        # Only reads in flight at a kill may fail, with an unknown outcome.
        errors = [op.error for op in log if op.error is not None]
        assert all(isinstance(e, OutcomeUnknown) for e in errors), errors[:3]
        assert len(errors) <= 2, errors
        # Every node in the map has a pool (those that served), all at rest.
        all_nodes = {address(n) for n in c.nodes}
        assert set(cc.stats()) <= all_nodes
        assert {address(replica), address(failed), address(promoted)} <= set(cc.stats())
        for stats in cc.stats().values():
            assert (stats.in_use, stats.waiting) == (0, 0), stats
