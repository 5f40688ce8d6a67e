"""Sharded pub/sub through one ``ClusterClient.pubsub()``: every node, moves, failovers.

Run under both protocols: the kit's URLs carry ``?protocol=3`` with
``AIOPOOL_TEST_PROTOCOL=3``, and the first test pins each protocol itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

import pytest

from aiopool import ClusterClient, Message, PubSub, key_slot
from aiopool.testing import RedisCluster

pytestmark = pytest.mark.timeout(90)


def _one_channel_per_primary(rc: ClusterClient, prefix: str) -> dict[str, str]:
    """``{owner address: channel}``, a channel whose slot each primary serves."""
    found: dict[str, str] = {}
    primaries = set(rc.primaries())
    for n in range(10_000):
        channel = f"{prefix}:{n}"
        owner = rc.slot_owner(key_slot(channel))
        if owner is not None and owner not in found:
            found[owner] = channel
        if set(found) == primaries:
            return found
    raise AssertionError(f"no channel found for every primary: {found}")


async def _messages(
    ps: PubSub, until: Callable[[list[Message]], bool], timeout: float = 10.0
) -> list[Message]:
    """Messages read until ``until(all so far)``, failing after ``timeout`` seconds."""
    got: list[Message] = []
    deadline = time.monotonic() + timeout
    for _ in range(100_000):
        if until(got):
            return got
        left = deadline - time.monotonic()
        assert left > 0, f"timed out; got {got[-20:]}"
        message = await ps.get_message(timeout=min(left, 1.0))
        if message is not None:
            got.append(message)
    raise AssertionError("too many messages")


def _url(cluster: RedisCluster, protocol: int | None = None) -> str:
    if protocol is None:
        return cluster.startup_url
    return f"{cluster.startup_url.split('?', 1)[0]}?protocol={protocol}"


@pytest.mark.parametrize("protocol", [2, 3])
async def test_shard_channels_on_every_primary_reach_one_pubsub(
    redis_cluster: RedisCluster, protocol: int
) -> None:
    async with (
        ClusterClient.from_url(_url(redis_cluster, protocol)) as rc,
        rc.pubsub() as ps,
    ):
        owners = _one_channel_per_primary(rc, "orders")
        assert len(owners) == 3
        await ps.ssubscribe(*owners.values())
        await ps.subscribe("news")
        assert ps.shard_channels == frozenset(owners.values())
        assert ps.channels == frozenset({"news"})
        assert "shard_channels=3" in repr(ps)
        shard_nodes = repr(ps).split("shard_nodes=")[1].split("]")[0]
        for address in owners:  # one connection per node holds them
            assert address in shard_nodes
        # Each owner has exactly one shard subscriber: ours.
        for address, channel in owners.items():
            reply = await rc.node(address).execute("PUBSUB", "SHARDNUMSUB", channel)
            assert reply[1] == 1, (address, reply)
        for address, channel in owners.items():
            assert await rc.spublish(channel, address) == 1
        await rc.publish("news", "hello")  # counts the local node only; the bus carries it
        got = await _messages(ps, lambda got: len(got) >= 4)
        shard = [m for m in got if m.type == "smessage"]
        assert {(m.channel, m.data) for m in shard} == {
            (channel.encode(), address.encode()) for address, channel in owners.items()
        }
        assert dict(shard[0]) == {
            "type": "smessage",
            "pattern": None,
            "channel": shard[0].channel,
            "data": shard[0].data,
        }
        assert [(m.type, m.channel, m.data) for m in got if m.type == "message"] == [
            ("message", b"news", b"hello")
        ]
        # Nothing else (no gap markers, no confirmations) came.
        assert await ps.get_message(timeout=0.2) is None


async def test_messages_of_one_node_keep_their_order(redis_cluster: RedisCluster) -> None:
    async with ClusterClient.from_url(_url(redis_cluster)) as rc, rc.pubsub() as ps:
        await ps.ssubscribe("{feed}:a", "{feed}:b")
        for n in range(50):
            await rc.spublish("{feed}:a" if n % 2 else "{feed}:b", str(n))
        got = await _messages(ps, lambda got: len(got) >= 50)
        assert [int(m.data) for m in got] == list(range(50))


async def test_sunsubscribe_of_some_channels_keeps_the_others(
    redis_cluster: RedisCluster,
) -> None:
    async with (
        ClusterClient.from_url(_url(redis_cluster), decode_responses=True) as rc,
        rc.pubsub(ignore_subscribe_messages=False) as ps,
    ):
        owners = _one_channel_per_primary(rc, "jobs")
        first, second, third = owners.values()
        await ps.ssubscribe(first, second, third)
        confirmations = await _messages(ps, lambda got: len(got) >= 3)
        assert {(m.type, m.channel) for m in confirmations} == {
            ("ssubscribe", first),
            ("ssubscribe", second),
            ("ssubscribe", third),
        }
        await ps.sunsubscribe(first)
        assert ps.shard_channels == frozenset({second, third})
        [gone] = await _messages(ps, lambda got: len(got) >= 1)
        assert (gone.type, gone.channel) == ("sunsubscribe", first)
        assert await rc.spublish(first, "lost") == 0  # nobody listens there any more
        assert await rc.spublish(second, "kept") == 1
        [kept] = await _messages(ps, lambda got: len(got) >= 1)
        assert (kept.type, kept.channel, kept.data) == ("smessage", second, "kept")
        # The first channel's node held nothing else: its connection is closed.
        first_owner = next(a for a, c in owners.items() if c == first)
        shard_nodes = repr(ps).split("shard_nodes=")[1].split("]")[0]
        assert first_owner not in shard_nodes
        # With no names: every shard channel goes, and listen() ends.
        await ps.sunsubscribe()
        assert ps.shard_channels == frozenset()
        assert not ps.is_subscribed()
        seen = []
        async with asyncio.timeout(5):
            async for message in ps.listen():
                seen.append((message.type, message.channel))
        assert sorted(seen) == [("sunsubscribe", second), ("sunsubscribe", third)]


@contextlib.asynccontextmanager
async def _publishing(
    rc: ClusterClient, channel: str, sent: list[int], interval: float = 0.01
) -> AsyncIterator[None]:
    """SPUBLISH 0, 1, 2, ... to ``channel`` until the block ends; ``sent`` lists the acked ones."""

    async def publish() -> None:
        for n in range(1_000_000):
            with contextlib.suppress(Exception):
                await rc.spublish(channel, str(n))
                sent.append(n)
            await asyncio.sleep(interval)

    task = asyncio.create_task(publish())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _lost(got: list[Message], sent: list[int]) -> int:
    """Acknowledged SPUBLISHes between the first and last received that never arrived."""
    seen = {int(m.data) for m in got if m.type == "smessage"}
    return len({n for n in sent if min(seen) < n < max(seen)} - seen)


def _gap_report(got: list[Message], channel: str) -> tuple[int, int]:
    """Indexes of the ``disconnected`` and ``reconnected`` markers naming ``channel``."""
    gaps = [i for i, m in enumerate(got) if m.type == "disconnected" and channel in m.channel]
    backs = [i for i, m in enumerate(got) if m.type == "reconnected" and channel in m.channel]
    markers = [m for m in got if m.type != "smessage"]
    assert len(gaps) == 1, markers
    assert len(backs) == 1, markers
    return gaps[0], backs[0]


async def test_a_slot_migration_under_publishing_moves_the_subscription(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    async with (
        ClusterClient.from_url(_url(c), decode_responses=True) as rc,
        rc.pubsub() as ps,
    ):
        owners = _one_channel_per_primary(rc, "moving")
        moving, steady = list(owners.values())[:2]
        slot = key_slot(moving)
        source = c.owner_of(slot)
        target = next(m for m in c.masters() if m is not source and m is not c.owner_of(
            key_slot(steady)
        ))  # fmt: skip
        await ps.ssubscribe(moving, steady)
        sent: list[int] = []
        async with _publishing(rc, moving, sent):
            before = await _messages(ps, lambda got: len(got) >= 5)
            await asyncio.to_thread(c.move_slot, slot, target)
            moved_at = len(sent)
            got = await _messages(
                ps,
                lambda got: (
                    any(m.type == "reconnected" for m in got)
                    and any(m.type == "smessage" and int(m.data) > moved_at + 5 for m in got)
                ),
            )
        gap, back = _gap_report(got, moving)
        assert got[gap].channel == (moving,)
        assert "slot moved" in got[gap].data or "MOVED" in got[gap].data
        assert got[back].channel == (moving,)
        # Messages published after the move arrive, through the new owner.
        after = [int(m.data) for m in got[back:] if m.type == "smessage"]
        assert after
        assert after == sorted(after)
        reply = await rc.node(f"127.0.0.1:{target.port}").execute("PUBSUB", "SHARDNUMSUB", moving)
        assert reply[1] == 1
        assert "moves=1" in repr(ps)
        # The other channel never moved and still works.
        assert await rc.spublish(steady, "still") == 1
        rest = await _messages(ps, lambda got: any(m.data == "still" for m in got))
        assert not any(m.type in ("disconnected", "reconnected") for m in rest)
        print(f"\nslot move: {_lost(before + got, sent)} acknowledged messages lost in the gap")


async def test_a_failover_under_publishing_moves_the_subscription(
    private_redis_cluster: RedisCluster,
) -> None:
    c = private_redis_cluster
    async with (
        ClusterClient.from_url(_url(c), decode_responses=True, retry_timeout=15.0) as rc,
        rc.pubsub() as ps,
    ):
        owners = _one_channel_per_primary(rc, "failing")
        dead = next(m for m in c.masters() if f"127.0.0.1:{m.port}" != rc.primaries()[0])
        channel = owners[f"127.0.0.1:{dead.port}"]
        others = [ch for address, ch in owners.items() if ch != channel]
        await ps.ssubscribe(channel, *others)
        sent: list[int] = []
        async with _publishing(rc, channel, sent, interval=0.02):
            before = await _messages(ps, lambda got: len(got) >= 5)
            killed = time.monotonic()
            await asyncio.to_thread(c.kill, dead)
            failover = await asyncio.to_thread(c.wait_for_failover, dead, 20.0)
            after_failover = len(sent)
            got = await _messages(
                ps,
                lambda got: (
                    any(m.type == "reconnected" for m in got)
                    and any(m.type == "smessage" and int(m.data) > after_failover + 5 for m in got)
                ),
                timeout=30.0,
            )
            back_at = time.monotonic()
        gap, back = _gap_report(got, channel)
        assert got[gap].channel == (channel,)
        assert f"{dead.port}" in got[gap].data
        after = [int(m.data) for m in got[back:] if m.type == "smessage"]
        assert after
        assert after == sorted(after)
        new_owner = rc.slot_owner(key_slot(channel))
        assert new_owner is not None
        assert new_owner != f"127.0.0.1:{dead.port}"
        reply = await rc.node(new_owner).execute("PUBSUB", "SHARDNUMSUB", channel)
        assert reply[1] == 1
        # The channels on the surviving primaries saw no gap.
        for other in others:
            assert await rc.spublish(other, "alive") == 1
        rest = await _messages(ps, lambda got: sum(m.data == "alive" for m in got) >= 2)
        assert not any(m.type in ("disconnected", "reconnected") for m in rest)
        print(
            f"\nfailover: {failover:.2f}s after the kill; subscription back "
            f"{back_at - killed:.2f}s after the kill; "
            f"{_lost(before + got, sent)} acknowledged messages lost in the gap"
        )


async def test_ssubscribe_of_an_unknown_name_type_is_refused(redis_cluster: RedisCluster) -> None:
    async with ClusterClient.from_url(_url(redis_cluster)) as rc, rc.pubsub() as ps:
        with pytest.raises(TypeError, match="str or bytes"):
            await ps.ssubscribe(42)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="at least one"):
            await ps.ssubscribe()
        assert ps.shard_channels == frozenset()
    assert ps.is_closed()
    with pytest.raises(RuntimeError, match="closed"):
        await ps.ssubscribe("x")


async def test_ssubscribe_follows_moved_when_the_topology_is_stale(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    async with (
        ClusterClient.from_url(_url(c), refresh_interval=3600.0) as rc,
        rc.pubsub() as ps,
    ):
        channel = "stale:{moved}"
        slot = key_slot(channel)
        source = c.owner_of(slot)
        target = next(m for m in c.masters() if m is not source)
        assert rc.slot_owner(slot) == f"127.0.0.1:{source.port}"
        await asyncio.to_thread(c.move_slot, slot, target)
        assert rc.slot_owner(slot) == f"127.0.0.1:{source.port}"  # the client has not noticed
        await ps.ssubscribe(channel)  # the old owner answers MOVED; the new one subscribes
        assert rc.slot_owner(slot) == f"127.0.0.1:{target.port}"
        reply = await rc.node(f"127.0.0.1:{target.port}").execute("PUBSUB", "SHARDNUMSUB", channel)
        assert reply[1] == 1
        assert await rc.spublish(channel, "here") == 1
        got = await _messages(ps, lambda got: len(got) >= 1)
        assert [(m.type, m.data) for m in got] == [("smessage", b"here")]
        assert "moves=0" in repr(ps)  # nothing was subscribed before: no gap
