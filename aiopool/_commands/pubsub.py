"""Publishing and pub/sub introspection (subscribing is ``Client.pubsub()``)."""

from __future__ import annotations

from typing import Any

from ._base import Arg, Command, Key, Value


def publish(channel: Key, message: Value) -> Command[int]:
    """PUBLISH: send ``message`` to ``channel``; how many subscribers received it."""
    return ("PUBLISH", channel, message), None


def spublish(shard_channel: Key, message: Value) -> Command[int]:
    """SPUBLISH: send ``message`` to the shard ``shard_channel``; how many subscribers received it."""
    return ("SPUBLISH", shard_channel, message), None


def pubsub_channels(pattern: str | bytes | None = "*") -> Command[list[Any]]:
    """PUBSUB CHANNELS: the channels with subscribers (matching ``pattern`` if given)."""
    args: tuple[Arg, ...] = (
        ("PUBSUB", "CHANNELS") if pattern is None else ("PUBSUB", "CHANNELS", pattern)
    )
    return args, None


def pubsub_shardchannels(pattern: str | bytes | None = "*") -> Command[list[Any]]:
    """PUBSUB SHARDCHANNELS: the shard channels with subscribers (matching ``pattern``)."""
    args: tuple[Arg, ...] = (
        ("PUBSUB", "SHARDCHANNELS") if pattern is None else ("PUBSUB", "SHARDCHANNELS", pattern)
    )
    return args, None


def pubsub_numsub(*channels: Key) -> Command[list[tuple[Any, int]]]:
    """PUBSUB NUMSUB: ``[(channel, number of subscribers), ...]`` for ``channels``.

    A list of pairs in the order given, as redis-py's; ``dict()`` of it maps
    each channel to its count.
    """
    return ("PUBSUB", "NUMSUB", *channels), _counts


def pubsub_shardnumsub(*channels: Key) -> Command[list[tuple[Any, int]]]:
    """PUBSUB SHARDNUMSUB: ``[(shard channel, number of subscribers), ...]``, as redis-py's."""
    return ("PUBSUB", "SHARDNUMSUB", *channels), _counts


def pubsub_numpat() -> Command[int]:
    """PUBSUB NUMPAT: the number of patterns subscribed to, over all clients."""
    return ("PUBSUB", "NUMPAT"), None


def _counts(reply: Any) -> list[tuple[Any, int]]:
    if isinstance(reply, dict):  # a RESP3 map, should a server send one
        return [(channel, int(count)) for channel, count in reply.items()]
    it = iter(reply)
    return [(channel, int(count)) for channel, count in zip(it, it, strict=True)]
