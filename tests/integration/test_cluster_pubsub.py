"""Pub/sub through the cluster client: cluster-wide channels and sharded channels."""

from __future__ import annotations

import asyncio

from aiopool import ClusterClient, Message, PubSub, key_slot
from aiopool.testing import RedisCluster


async def _next_message(ps: PubSub, kind: str) -> Message:
    async with asyncio.timeout(5):
        while True:
            message = await ps.get_message(timeout=1)
            if message is not None and message.type == kind:
                return message


async def test_a_channel_published_on_any_node_reaches_the_cluster_pubsub(
    redis_cluster: RedisCluster,
) -> None:
    async with ClusterClient.from_url(redis_cluster.startup_url) as rc, rc.pubsub() as ps:
        await ps.subscribe("news")
        # Published through every primary in turn: each reaches the subscriber.
        for address in rc.primaries():
            # PUBLISH counts the subscribers of the node it ran on only; the
            # cluster bus carries the message to the others.
            await rc.node(address).publish("news", address)
            message = await _next_message(ps, "message")
            assert (message.channel, message.data) == (b"news", address.encode())


async def test_spublish_is_routed_to_the_shard_its_channel_maps_to(
    redis_cluster: RedisCluster,
) -> None:
    channels = [f"orders:{n}" for n in range(6)]
    async with ClusterClient.from_url(redis_cluster.startup_url) as rc:
        for channel in channels:
            owner = rc.slot_owner(key_slot(channel))
            assert owner is not None
            assert (
                owner == f"127.0.0.1:{redis_cluster.owner_of(redis_cluster.slot_of(channel)).port}"
            )
            async with rc.node(owner).pubsub() as ps:
                await ps.ssubscribe(channel)
                # SPUBLISH goes to the owner: one subscriber there receives it.
                assert await rc.spublish(channel, "paid") == 1
                message = await _next_message(ps, "smessage")
                assert (message.channel, message.data) == (channel.encode(), b"paid")
