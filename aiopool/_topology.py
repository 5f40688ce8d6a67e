"""A Redis Cluster's shape: which node serves which slot, and its replicas; no I/O.

Built from ``CLUSTER SHARDS`` (Redis 7) or ``CLUSTER SLOTS`` (older), then
patched one slot at a time by ``MOVED`` redirects until the next refresh.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ._errors import ProtocolError
from ._keys import SLOTS

__all__ = ["Shard", "SlotMap", "parse_shards", "parse_slots"]


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def address_of(host: str, port: int) -> str:
    """``host:port``, the key of a node everywhere in the cluster client."""
    return f"{host}:{port}"


class Shard:
    """One primary and its replicas, with the slot ranges they serve.

    ``replicas`` lists only replicas reported healthy, so reads never go to a
    replica that is still loading or has failed.
    """

    __slots__ = ("primary", "ranges", "replicas", "turn")

    def __init__(
        self,
        primary: str,
        replicas: Sequence[str] = (),
        ranges: Sequence[tuple[int, int]] = (),
    ) -> None:
        self.primary = primary
        self.replicas = tuple(replicas)
        self.ranges = tuple(ranges)
        self.turn = 0  # round-robin position over the replicas

    def __repr__(self) -> str:
        spans = ",".join(f"{a}-{b}" for a, b in self.ranges)
        return f"<Shard primary={self.primary} replicas={list(self.replicas)} slots={spans}>"

    def next_replica(self) -> str:
        """The next replica in turn, or the primary when there is none."""
        if not self.replicas:
            return self.primary
        self.turn = (self.turn + 1) % len(self.replicas)
        return self.replicas[self.turn]


def _pairs(flat: Any) -> dict[str, Any]:
    """A RESP2 flat ``[key, value, key, value]`` list (or a RESP3 map) as a dict."""
    if isinstance(flat, dict):
        return {_text(k): v for k, v in flat.items()}
    if not isinstance(flat, list) or len(flat) % 2:
        raise ProtocolError(f"CLUSTER SHARDS: expected a list of key/value pairs, got {flat!r}")
    return {_text(flat[i]): flat[i + 1] for i in range(0, len(flat), 2)}


def parse_shards(reply: Any) -> list[Shard]:
    """The shards of a ``CLUSTER SHARDS`` reply that serve at least one slot."""
    if not isinstance(reply, list):
        raise ProtocolError(f"CLUSTER SHARDS: expected a list, got {reply!r}")
    shards: list[Shard] = []
    for raw in reply:
        fields = _pairs(raw)
        bounds = [int(b) for b in fields.get("slots", [])]
        ranges = [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds) - 1, 2)]
        primary: str | None = None
        replicas: list[str] = []
        for node_raw in fields.get("nodes", []):
            node = _pairs(node_raw)
            host = _text(node.get("ip") or node.get("endpoint") or "")
            port = int(node.get("port") or node.get("tls-port") or 0)
            if not host or not port:
                continue
            role, health = _text(node.get("role", "")), _text(node.get("health", "online"))
            if role == "master":
                # A failed primary stays the owner until a replica is promoted:
                # commands to it fail and are retried after a refresh.
                if primary is None or health == "online":
                    primary = address_of(host, port)
            elif health == "online":
                replicas.append(address_of(host, port))
        if primary is not None and ranges:
            shards.append(Shard(primary, replicas, ranges))
    return shards


def parse_slots(reply: Any) -> list[Shard]:
    """The shards of a ``CLUSTER SLOTS`` reply (one entry per slot range)."""
    if not isinstance(reply, list):
        raise ProtocolError(f"CLUSTER SLOTS: expected a list, got {reply!r}")
    by_primary: dict[str, Shard] = {}
    for entry in reply:
        start, end, *nodes = entry
        addresses = [address_of(_text(n[0]), int(n[1])) for n in nodes if n and n[0]]
        if not addresses:
            continue
        shard = by_primary.get(addresses[0])
        if shard is None:
            shard = by_primary[addresses[0]] = Shard(addresses[0], addresses[1:])
        shard.ranges += ((int(start), int(end)),)
    return list(by_primary.values())


class SlotMap:
    """Slot -> ``Shard``, for all 16384 slots (``None`` where no node serves one)."""

    __slots__ = ("shards", "slots")

    def __init__(self, shards: Iterable[Shard] = ()) -> None:
        self.shards = list(shards)
        self.slots: list[Shard | None] = [None] * SLOTS
        for shard in self.shards:
            for start, end in shard.ranges:
                for slot in range(max(start, 0), min(end, SLOTS - 1) + 1):
                    self.slots[slot] = shard

    def __repr__(self) -> str:
        covered = sum(1 for shard in self.slots if shard is not None)
        return f"<SlotMap shards={len(self.shards)} covered={covered}/{SLOTS}>"

    def addresses(self) -> set[str]:
        """Every node of the map, primaries and replicas."""
        return {a for shard in self.shards for a in (shard.primary, *shard.replicas)}

    def primaries(self) -> list[str]:
        """The primary of every shard."""
        return [shard.primary for shard in self.shards]

    def moved(self, slot: int, address: str) -> None:
        """Record a ``MOVED``: ``slot`` is now served by the primary at ``address``."""
        for shard in self.shards:
            if shard.primary == address:
                break
        else:
            shard = Shard(address)
            self.shards.append(shard)
        self.slots[slot] = shard
