"""RedisCluster (aiopool.testing): formation, slots, resharding and faults on real nodes.

Tests that leave every node running use the session's shared cluster (the
``redis_cluster`` fixture flushes it); tests that kill or restart nodes share
one private cluster per module (``faulty``), and each leaves it stable with
every node running. What the tests check is read from the servers over the
kit's ``execute`` (one fresh connection per command), not from aiopool.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from aiopool.testing import (
    ClusterReplyError,
    RedisCluster,
    RedisServer,
    RedisServerUnavailable,
    url_query,
)
from aiopool.testing.plugin import require_redis_server


def info(raw: Any) -> dict[str, str]:
    """An INFO or CLUSTER INFO reply as a dict of its ``name:value`` lines."""
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def poll(predicate: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    """Poll ``predicate`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)


def key_on(cluster: RedisCluster, master: RedisServer, prefix: str) -> str:
    """A key whose slot ``master`` owns."""
    for i in range(2000):
        key = f"{prefix}:{i}"
        if cluster.owner_of(cluster.slot_of(key)) is master:
            return key
    raise AssertionError(f"no key with prefix {prefix!r} lands on 127.0.0.1:{master.port}")


def child_pids() -> set[int]:
    """The pids of this process's live children (Linux /proc)."""
    me = str(os.getpid())
    pids = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[1] == me and fields[0] != "Z":
            pids.add(int(entry))
    return pids


needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")


@pytest.fixture(scope="module")
def faulty_cluster() -> Iterator[RedisCluster]:
    require_redis_server()
    with RedisCluster() as cluster:
        yield cluster


@pytest.fixture
def faulty(faulty_cluster: RedisCluster) -> RedisCluster:
    """The module's private cluster, every node running and the cluster stable."""
    faulty_cluster.heal()  # a failed test may have left a node down
    return faulty_cluster


# -- formation and introspection --------------------------------------------------------


def test_cluster_forms_with_every_slot_covered_and_every_replica_in_sync(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    assert len(c.nodes) == 6
    assert c.urls == [f"redis://127.0.0.1:{node.port}{url_query()}" for node in c.nodes]
    masters, replicas = c.masters(), c.replicas()
    assert len(masters) == 3
    assert len(replicas) == 3
    assert {id(n) for n in masters + replicas} == {id(n) for n in c.nodes}
    assert c.startup_url in {f"redis://127.0.0.1:{m.port}" for m in masters}
    for node in c.nodes:
        state = info(c.execute(node, "CLUSTER", "INFO"))
        assert state["cluster_state"] == "ok", node
        assert state["cluster_slots_assigned"] == "16384", node
        assert state["cluster_slots_ok"] == "16384", node
        assert state["cluster_known_nodes"] == "6", node
    ranges = c.execute(masters[0], "CLUSTER", "SLOTS")
    assert sum(end - start + 1 for start, end, *_ in ranges) == 16384
    assert all(len(entry) == 4 for entry in ranges), "each range: owner plus one replica"
    assert {entry[2][1] for entry in ranges} == {m.port for m in masters}
    # Each master has its own replica, attached and in sync.
    assert {id(c.replica_of(m)) for m in masters} == {id(r) for r in replicas}
    for master in masters:
        replica = c.replica_of(master)
        repl = info(c.execute(replica, "INFO", "replication"))
        assert repl["role"] == "slave"
        assert repl["master_port"] == str(master.port)
        assert repl["master_link_status"] == "up"
        assert repl["master_sync_in_progress"] == "0"
        with pytest.raises(LookupError):
            c.replica_of(replica)


def test_cluster_rejects_impossible_shapes() -> None:
    with pytest.raises(ValueError, match="masters"):
        RedisCluster(masters=0)
    with pytest.raises(ValueError, match="replicas_per_master"):
        RedisCluster(replicas_per_master=-1)
    with pytest.raises(ValueError, match="node_timeout_ms"):
        RedisCluster(node_timeout_ms=10)


@needs_proc
def test_start_stops_every_node_when_the_cluster_does_not_form_in_time() -> None:
    require_redis_server()
    before = child_pids()
    # A master cannot report cluster_state:ok within 2 s of starting (Redis's
    # CLUSTER_WRITABLE_DELAY), so 1 s is always too short.
    cluster = RedisCluster(masters=1, replicas_per_master=1, startup_timeout=1.0)
    with pytest.raises(RedisServerUnavailable, match="timed out waiting for"):
        cluster.start()
    assert cluster.nodes == []
    assert child_pids() - before == set()


def test_slot_of_agrees_with_known_cluster_keyslot_values(redis_cluster: RedisCluster) -> None:
    c = redis_cluster
    assert c.slot_of("foo") == 12182
    assert c.slot_of(b"foo") == 12182
    assert c.slot_of("bar") == 5061
    assert c.slot_of("somekey") == 11058
    assert c.slot_of("foo{hash_tag}") == 2515
    following = c.slot_of("{user1000}.following")
    assert following == c.slot_of("{user1000}.followers") == c.slot_of("user1000")
    assert c.slot_of("user1000.following") != following  # no braces, no tag
    assert 0 <= c.slot_of(b"\xff\x00\xfe") < 16384


def test_owner_of_names_the_master_that_serves_the_slot(redis_cluster: RedisCluster) -> None:
    c = redis_cluster
    slot = c.slot_of("owner:k")
    owner = c.owner_of(slot)
    assert any(owner is m for m in c.masters())
    assert c.execute(owner, "SET", "owner:k", "v") == b"OK"
    for other in c.masters():
        if other is not owner:
            with pytest.raises(ClusterReplyError, match=f"^MOVED {slot} 127.0.0.1:{owner.port}$"):
                c.execute(other, "GET", "owner:k")
    with pytest.raises(ValueError, match="slot"):
        c.owner_of(16384)


def test_execute_raises_cluster_reply_error_for_an_error_reply(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    node = c.nodes[0]
    assert c.execute(node, "PING") == b"PONG"
    with pytest.raises(ClusterReplyError, match="unknown command"):
        c.execute(node, "NO-SUCH-COMMAND")
    with pytest.raises(ValueError, match="not a node of this cluster"):
        c.execute(RedisServer(), "PING")


def test_replicas_serve_reads_after_readonly_and_redirect_without_it(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    slot = c.slot_of("ro:k")
    master = c.owner_of(slot)
    replica = c.replica_of(master)
    c.execute(master, "SET", "ro:k", "v")
    poll(
        lambda: c.execute(replica, "GET", "ro:k", readonly=True) == b"v",
        "the replica to serve the key",
    )
    with pytest.raises(ClusterReplyError, match=f"^MOVED {slot} 127.0.0.1:{master.port}$"):
        c.execute(replica, "GET", "ro:k")
    with pytest.raises(ClusterReplyError, match=f"^MOVED {slot} 127.0.0.1:{master.port}$"):
        c.execute(replica, "SET", "ro:k", "w", readonly=True)


def test_flushall_empties_every_master_and_its_replicas(redis_cluster: RedisCluster) -> None:
    c = redis_cluster
    for master in c.masters():
        c.execute(master, "SET", key_on(c, master, "flush"), "x")
    assert sum(c.execute(m, "DBSIZE") for m in c.masters()) == 3
    c.flushall()
    assert [c.execute(node, "DBSIZE") for node in c.nodes] == [0] * 6


@pytest.mark.parametrize("turn", ["first", "second"])
def test_redis_cluster_fixture_hands_every_test_empty_nodes(
    redis_cluster: RedisCluster, turn: str
) -> None:
    c = redis_cluster
    assert [c.execute(node, "DBSIZE") for node in c.nodes] == [0] * 6, turn
    for master in c.masters():  # left behind for the other turn to not see
        c.execute(master, "SET", key_on(c, master, f"fixture-{turn}"), "x")


def test_redis_cluster_url_names_a_running_master(
    redis_cluster: RedisCluster, redis_cluster_url: str
) -> None:
    port = int(redis_cluster_url.partition("?")[0].rsplit(":", 1)[1])
    (node,) = [n for n in redis_cluster.nodes if n.port == port]
    assert redis_cluster.execute(node, "ROLE")[0] == b"master"
    assert redis_cluster_url == f"redis://127.0.0.1:{port}{url_query()}"


def test_repr_shows_every_port_and_role(redis_cluster: RedisCluster) -> None:
    assert repr(RedisCluster(masters=2)) == (
        "<RedisCluster masters=2 replicas_per_master=1 stopped>"
    )
    c = redis_cluster
    c.masters()  # refresh the roles the repr shows
    text = repr(c)
    for node in c.nodes:
        assert str(node.port) in text
    assert text.count(" master") == 3
    for master in c.masters():
        assert f"{c.replica_of(master).port} replica of {master.port}" in text


# -- resharding ---------------------------------------------------------------------------


def test_move_slot_moves_keys_and_the_old_owner_answers_moved(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    keys = [f"{{move}}:{i}" for i in range(5)]
    slot = c.slot_of(keys[0])
    source = c.owner_of(slot)
    target = next(m for m in c.masters() if m is not source)
    for key in keys:
        c.execute(source, "SET", key, key)

    assert c.move_slot(slot, target) == 5

    assert c.owner_of(slot) is target
    assert [c.execute(target, "GET", key) for key in keys] == [k.encode() for k in keys]
    assert c.execute(source, "CLUSTER", "COUNTKEYSINSLOT", slot) == 0
    with pytest.raises(ClusterReplyError, match=f"^MOVED {slot} 127.0.0.1:{target.port}$"):
        c.execute(source, "GET", keys[0])
    # Every node, replicas included, already redirects to the new owner.
    for node in c.nodes:
        if node is not target:
            with pytest.raises(ClusterReplyError, match=f"^MOVED {slot} 127.0.0.1:{target.port}$"):
                c.execute(node, "GET", keys[0])
    assert c.move_slot(slot, target) == 0
    assert c.move_slot(slot, source) == 5  # as it was, for the tests after this one
    assert c.owner_of(slot) is source


def test_stepwise_migration_answers_ask_for_a_key_already_moved(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    slot = c.slot_of("{step}")
    source = c.owner_of(slot)
    target = next(m for m in c.masters() if m is not source)
    c.execute(source, "SET", "{step}:a", "a")
    c.execute(source, "SET", "{step}:b", "b")
    with pytest.raises(ValueError, match="no migration"):
        c.migrate_keys(slot, 1)
    with pytest.raises(ValueError, match="already owns"):
        c.begin_migration(slot, source)

    c.begin_migration(slot, target)
    assert c.migrations == {slot: (source, target)}
    with pytest.raises(ValueError, match="already being migrated"):
        c.begin_migration(slot, target)
    assert c.migrate_keys(slot, 1) == 1
    (left,) = c.execute(source, "CLUSTER", "GETKEYSINSLOT", slot, 10)
    moved = ({b"{step}:a", b"{step}:b"} - {left}).pop()

    ask = f"^ASK {slot} 127.0.0.1:{target.port}$"
    with pytest.raises(ClusterReplyError, match=ask):
        c.execute(source, "GET", moved)
    with pytest.raises(ClusterReplyError, match=ask):
        c.execute(source, "SET", "{step}:new", "n")
    assert c.execute(source, "GET", left) == left[-1:]
    with pytest.raises(ClusterReplyError, match=f"^MOVED {slot} 127.0.0.1:{source.port}$"):
        c.execute(target, "GET", moved)
    assert c.execute(target, "GET", moved, asking=True) == moved[-1:]
    assert c.owner_of(slot) is source

    assert c.migrate_keys(slot, 10) == 1
    assert c.migrate_keys(slot, 10) == 0
    assert c.finish_migration(slot) == 0
    assert c.migrations == {}
    assert c.owner_of(slot) is target
    with pytest.raises(ClusterReplyError, match=f"^MOVED {slot} 127.0.0.1:{target.port}$"):
        c.execute(source, "GET", moved)
    assert c.move_slot(slot, source) == 2  # as it was


async def test_slot_moves_run_in_worker_threads_while_the_event_loop_runs(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    slots = [c.slot_of("{thread-a}"), c.slot_of("{thread-b}")]
    sources = [c.owner_of(slot) for slot in slots]
    targets = [next(m for m in c.masters() if m is not s) for s in sources]
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    ticker = asyncio.create_task(tick())
    try:
        await asyncio.gather(
            *(asyncio.to_thread(c.move_slot, s, t) for s, t in zip(slots, targets, strict=True))
        )
    finally:
        ticker.cancel()
    assert ticks > 0
    assert [c.owner_of(s) for s in slots] == targets
    for slot, source in zip(slots, sources, strict=True):
        c.move_slot(slot, source)


# -- faults (the module's private cluster) --------------------------------------------------


def test_kill_then_wait_for_failover_promotes_the_replica_in_bounded_time(
    faulty: RedisCluster,
) -> None:
    c = faulty
    master = c.masters()[0]
    replica = c.replica_of(master)
    slot = c.slot_of(key_on(c, master, "failover"))
    with pytest.raises(ValueError, match="is running"):
        c.wait_for_failover(master)

    c.kill(master)
    assert f"{master.port} dead" in repr(c)
    with pytest.raises(TimeoutError, match="failover"):
        c.wait_for_failover(master, timeout=0.2)  # the node timeout has not even passed
    elapsed = c.wait_for_failover(master, timeout=15.0)

    print(f"failover took {elapsed:.2f}s with node timeout {c.node_timeout_ms} ms")
    assert c.node_timeout_ms / 1000 <= elapsed < 10.0
    assert c.owner_of(slot) is replica
    assert any(replica is m for m in c.masters())
    for node in c.nodes:
        if node.is_running():
            assert info(c.execute(node, "CLUSTER", "INFO"))["cluster_state"] == "ok"

    c.restart(master)  # rejoins as the replica of its old replica
    assert c.replica_of(replica) is master
    assert info(c.execute(master, "INFO", "replication"))["master_link_status"] == "up"


def test_restart_brings_a_killed_replica_back_with_its_id_and_the_data(
    faulty: RedisCluster,
) -> None:
    c = faulty
    master = c.masters()[0]
    replica = c.replica_of(master)
    node_id = c.node_id(replica)
    key = key_on(c, master, "restart")
    c.kill(replica)
    assert not replica.is_running()
    c.execute(master, "SET", key, "written while it was down")

    c.restart(replica)

    assert c.execute(replica, "CLUSTER", "MYID") == node_id.encode()
    assert c.replica_of(master) is replica
    assert c.execute(replica, "GET", key, readonly=True) == b"written while it was down"


def test_failover_swaps_a_replica_and_its_master(faulty: RedisCluster) -> None:
    c = faulty
    master = c.masters()[0]
    replica = c.replica_of(master)
    slot = c.slot_of(key_on(c, master, "manual"))
    with pytest.raises(ValueError, match="not a replica"):
        c.failover(master)

    assert c.failover(replica) < 15.0

    assert any(replica is m for m in c.masters())
    assert c.replica_of(replica) is master
    assert c.owner_of(slot) is replica
    c.failover(master)
    assert c.owner_of(slot) is master


@needs_proc
def test_stop_leaves_no_process_behind(private_redis_cluster: RedisCluster) -> None:
    c = private_redis_cluster
    pids = {node.process.pid for node in c.nodes if node.process is not None}
    assert len(pids) == 6
    assert pids <= child_pids()

    c.stop()

    assert pids & child_pids() == set()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert c.nodes == []
    c.stop()  # a second stop is harmless
    assert "stopped" in repr(c)
