"""A Redis Cluster's shape as the client knows it, and keeping it current.

``SlotMap`` (which node serves which slot, and its replicas) and the
``CLUSTER SHARDS``/``CLUSTER SLOTS`` parsers are plain data and pure
functions. ``Topology`` owns the map over time: it reads it from the nodes
(``CLUSTER SHARDS``, ``CLUSTER SLOTS`` before Redis 7) on throwaway
connections, shares and rate-limits refreshes, runs the periodic refresh
timer, patches the map one slot at a time on ``MOVED`` until the next
refresh, and keeps the PING times ``read_from="nearest"`` routes by.

It sits below the pools and clients: the only I/O it does itself is the
topology query on a ``Connection`` of its own; the PINGs go through a
callable the cluster client hands it (the node's pool), and it reports a
node that left the cluster to another, so it never imports ``_pool``,
``_client`` or ``_cluster``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from typing import Any

from ._config import ClusterOptions, ConnectionOptions
from ._connection import Connection
from ._errors import ProtocolError, RedisError, ReplyError
from ._keys import SLOTS

__all__ = ["Shard", "SlotMap", "Topology", "node_options", "parse_shards", "parse_slots"]

logger = logging.getLogger("aiopool.topology")

_REFRESH_GAP = 0.1  # a refresh asked for sooner than this after the last reuses it


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def address_of(host: str, port: int) -> str:
    """``host:port``, the key of a node everywhere in the cluster client."""
    return f"{host}:{port}"


def node_options(options: ConnectionOptions, address: str, *, readonly: bool) -> ConnectionOptions:
    """``options`` pointed at the node ``host:port`` (``READONLY`` in the handshake or not)."""
    host, _, port = address.rpartition(":")
    return dataclasses.replace(options, host=host, port=int(port), readonly=readonly)


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


class Topology:
    """The cluster's slot map over time: refreshed, shared, patched, measured.

    ``map`` is the current ``SlotMap``; a refresh replaces it whole, a
    ``MOVED`` patches one slot. ``node_for(slot, read_only)`` answers where
    a command goes under ``read_from``. ``refresh()`` reloads the map:
    callers at the same time share one reload, and one asked for within
    0.1 s of the last is skipped, so a burst of redirects costs one
    ``CLUSTER SHARDS``. ``start()`` arms the periodic refresh
    (``refresh_interval``); ``aclose()`` stops it and cancels a reload in
    progress.

    ``ping(address)`` is awaited to measure a node (``read_from="nearest"``);
    ``forget(address)`` is called, synchronously, for each node that left
    the cluster at a refresh.
    """

    __slots__ = (
        "_closed",
        "_connection",
        "_forget",
        "_latency",
        "_lost_slots",
        "_options",
        "_periodic",
        "_ping",
        "_refreshed_at",
        "_refreshing",
        "_startup",
        "_tasks",
        "map",
    )

    def __init__(
        self,
        startup: Sequence[str],
        connection: ConnectionOptions,
        options: ClusterOptions,
        *,
        ping: Callable[[str], Awaitable[object]],
        forget: Callable[[str], None],
        lost_slots: Callable[[set[str]], None] | None = None,
    ) -> None:
        self._startup = list(startup)
        self._lost_slots = lost_slots
        self._connection = connection
        self._options = options
        self._ping = ping
        self._forget = forget
        self.map = SlotMap()
        self._latency: dict[str, float] = {}
        self._refreshing: asyncio.Task[bool] | None = None
        self._refreshed_at = -1.0
        self._periodic: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    def __repr__(self) -> str:
        if self._closed:
            state = " closed"
        elif self._refreshing is not None and not self._refreshing.done():
            state = " refreshing"
        elif self._refreshed_at < 0:
            state = " not loaded"
        else:
            state = f" loaded {time.monotonic() - self._refreshed_at:.1f}s ago"
        return (
            f"<Topology{state} shards={len(self.map.shards)} "
            f"nodes={len(self.map.addresses())} read_from={self._options.read_from}>"
        )

    # -- where a command goes ------------------------------------------------------------

    def node_for(self, slot: int | None, read_only: bool) -> str | None:
        """The ``host:port`` a command for ``slot`` goes to; ``None`` when no node serves it.

        Keyless commands (``slot`` None) go to a random primary; writes to
        the slot's primary; reads as ``read_from`` says.
        """
        if slot is None:
            primaries = self.map.primaries()
            return random.choice(primaries) if primaries else None
        shard = self.map.slots[slot]
        if shard is None:
            return None
        mode = self._options.read_from
        if not read_only or mode == "primary":
            return shard.primary
        if mode == "replicas":
            return shard.next_replica()
        latency = self._latency
        return min((shard.primary, *shard.replicas), key=lambda a: latency.get(a, float("inf")))

    def moved(self, slot: int, address: str) -> None:
        """Record a ``MOVED``: ``slot`` is served by ``address`` now; refresh the rest soon."""
        shard = self.map.slots[slot]
        if self._lost_slots is not None and shard is not None and shard.primary != address:
            self._lost_slots({shard.primary, *shard.replicas})
        self.map.moved(slot, address)
        self.refresh_soon()

    # -- refreshing ----------------------------------------------------------------------

    async def refresh(self, *, force: bool = False) -> bool:
        """Reload the topology; callers at the same time share one reload.

        A reload asked for within 0.1 s of the last one is skipped (unless
        ``force``), so a burst of failing commands costs one query. False
        when no node answered (the map is left as it was) or once closed.
        Cancelling a caller does not cancel the shared reload; ``aclose()``
        does.
        """
        if self._closed:
            return False
        task = self._refreshing
        if task is None or task.done():
            if not force and time.monotonic() - self._refreshed_at < _REFRESH_GAP:
                return True
            task = self._refreshing = self._spawn(self._reload())
        return await asyncio.shield(task)

    def refresh_soon(self) -> None:
        """Schedule a refresh without waiting for it (MOVED, a lost node, the timer)."""
        if self._closed or (self._refreshing is not None and not self._refreshing.done()):
            return
        self._spawn(self.refresh())

    def start(self) -> None:
        """Arm the periodic refresh (``refresh_interval``); again re-arms, never doubles it."""
        interval = self._options.refresh_interval
        if self._periodic is not None:
            self._periodic.cancel()  # open() may run more than once: one timer only
        if interval is None or self._closed:
            return
        loop = asyncio.get_running_loop()
        self._periodic = loop.call_later(interval, self._on_periodic)

    async def aclose(self) -> None:
        """Stop the periodic refresh and cancel (and wait for) a reload in progress."""
        self._closed = True
        if self._periodic is not None:
            self._periodic.cancel()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _on_periodic(self) -> None:
        self.refresh_soon()
        self.start()

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``work`` in the background; ``aclose()`` cancels and awaits it."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _reload(self) -> bool:
        known = self.map.primaries()
        random.shuffle(known)
        candidates = list(dict.fromkeys([*known, *self.map.addresses(), *self._startup]))
        last: BaseException | None = None
        for address in candidates:
            try:
                shards = await self._query(address)
            except Exception as exc:  # any node may fail or answer nonsense: try the next
                last = exc
                continue
            if not shards:
                continue  # a node that serves no slot yet (just joined) knows little
            self._apply(SlotMap(shards))
            if self._options.read_from == "nearest":
                await self._measure()
            return True
        logger.warning("topology refresh failed: no node answered (last error: %s)", last)
        return False

    async def _query(self, address: str) -> list[Shard]:
        options = node_options(self._connection, address, readonly=False)
        limit = options.connect_timeout
        conn = await Connection.open(options, timeout=limit)
        try:
            try:
                return parse_shards(await conn.execute("CLUSTER", "SHARDS", timeout=limit))
            except ReplyError:  # before Redis 7
                return parse_slots(await conn.execute("CLUSTER", "SLOTS", timeout=limit))
        finally:
            conn.abort()

    def _apply(self, new: SlotMap) -> None:
        if self._lost_slots is not None:
            losers = _losers(self.map, new)
            if losers:
                self._lost_slots(losers)
        old = self.map.addresses()
        self.map = new
        self._refreshed_at = time.monotonic()
        for address in old - new.addresses() - set(self._startup):
            self._latency.pop(address, None)
            self._forget(address)

    # -- latency (read_from="nearest") ---------------------------------------------------

    async def _measure(self) -> None:
        async def ping(address: str) -> None:
            started = time.perf_counter()
            try:
                await self._ping(address)
            except RedisError:
                self._latency[address] = float("inf")
            else:
                elapsed = time.perf_counter() - started
                previous = self._latency.get(address)
                smoothed = elapsed if previous in (None, float("inf")) else previous
                self._latency[address] = 0.7 * smoothed + 0.3 * elapsed

        await asyncio.gather(*(ping(a) for a in self.map.addresses()))


def _losers(old: SlotMap, new: SlotMap) -> set[str]:
    """The nodes that served some slot in ``old`` and do not serve it in ``new``."""
    losers: set[str] = set()
    seen: set[tuple[int, int]] = set()
    for before, after in zip(old.slots, new.slots, strict=True):
        if before is None or (id(before), id(after)) in seen:
            continue
        seen.add((id(before), id(after)))
        now = set() if after is None else {after.primary, *after.replicas}
        losers.update({before.primary, *before.replicas} - now)
    return losers
