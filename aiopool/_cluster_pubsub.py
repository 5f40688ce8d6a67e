"""``ClusterPubSub``: one ``PubSub`` for a cluster's channels, patterns and shard channels.

Channels and patterns live on one connection to one primary, as a plain
``PubSub`` has them (the cluster bus carries ``PUBLISH`` to every node).
Shard channels (``SSUBSCRIBE``) live on the primary that serves their slot:
one connection per such node (a ``_ShardLink``), each with a reader task that
puts its ``smessage``s in the one buffer ``get_message()``/``listen()`` drain,
so they come out in arrival order.

A shard channel whose home goes away becomes an orphan: its node answered
``MOVED``, sent a ``sunsubscribe`` nobody asked for (Redis 7 does so when the
slot moves), or its connection dropped. Each such event puts a
``disconnected`` marker naming the channels in the stream; one mending task
refreshes the topology and subscribes orphans on the slot's current owner,
with backoff, until they are all back, and then puts the matching
``reconnected`` marker (naming the same channels) in the stream.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Iterable
from typing import Any, Final, Protocol

from ._config import ConnectionOptions, PoolOptions
from ._connection import Connection
from ._errors import (
    ClusterDownError,
    ClusterError,
    CommandTimeout,
    ConnectionFailure,
    MovedError,
    ProtocolError,
    RedirectError,
    ReplyError,
    TryAgainError,
)
from ._health import Heartbeat
from ._keys import key_slot
from ._protocol import encode_command
from ._pubsub import (
    _EXPECTED,
    Message,
    PubSub,
    _describe,
    _is_pong,
    _key,
    _name,
    _resolve,
)
from ._topology import node_options

__all__ = ["ClusterPubSub", "ShardRouter"]

logger = logging.getLogger("aiopool.cluster_pubsub")

# Answers that say "ask again, maybe elsewhere": the channel is not lost.
_RETRYABLE: Final = (RedirectError, TryAgainError, ClusterDownError, ConnectionFailure, OSError)
_MAX_ATTEMPTS: Final = 32  # per slot and subscribe() call; command_timeout bounds it first


class ShardRouter(Protocol):
    """What a ``ClusterPubSub`` asks of its cluster client (``_cluster._Router`` is one)."""

    async def ready(self) -> None: ...

    def node_for(self, slot: int | None, read_only: bool) -> str | None: ...

    def moved(self, slot: int, address: str) -> None: ...

    async def refresh(self) -> None: ...


class ClusterPubSub(PubSub):
    """A cluster's ``PubSub``: channels and patterns on one primary, shard channels on their own.

    ``subscribe()``/``psubscribe()`` behave as on ``PubSub`` (one
    connection to one primary). ``ssubscribe()`` groups the shard channels
    by slot and subscribes each group on the primary serving it (one
    connection per node, opened on demand), following ``MOVED`` and retrying
    a refused or lost node after a topology refresh, within
    ``command_timeout`` (``CommandTimeout``; the subscription is then
    rolled back, as is one cancelled). ``sunsubscribe()`` with no names
    drops every shard channel; a node left without any is disconnected.

    When a node stops serving a shard channel (the slot moved, the node
    failed over or its connection dropped) the channel is subscribed again
    on the slot's new owner in the background, with the pool's reconnect
    backoff, until ``aclose()``; the gap is reported as a ``disconnected``
    message whose ``channel`` is the tuple of the shard channels concerned
    (and ``data`` the reason), then a ``reconnected`` message naming the
    same tuple once they are all back. The gap markers of the channels'
    and patterns' connection keep ``channel=None``. ``moves`` counts the
    shard gaps closed.
    """

    def __init__(
        self,
        router: ShardRouter,
        cluster_connection: ConnectionOptions,
        main_address: str,
        options: PoolOptions,
        *,
        max_messages: int = 10_000,
        ignore_subscribe_messages: bool = True,
    ) -> None:
        super().__init__(
            node_options(cluster_connection, main_address, readonly=False),
            options,
            max_messages=max_messages,
            ignore_subscribe_messages=ignore_subscribe_messages,
        )
        self._router = router
        self._cluster_connection = cluster_connection
        self._shard_wanted: dict[bytes, Any] = {}
        self._links: dict[str, _ShardLink] = {}
        self._opening: dict[str, asyncio.Task[_ShardLink]] = {}
        self._orphans: set[bytes] = set()
        self._gaps: list[_Gap] = []
        self._mender: asyncio.Task[None] | None = None
        self.moves = 0

    def __repr__(self) -> str:
        state = "closed" if self._closed else "connected" if self._conn else "idle"
        return (
            f"<ClusterPubSub {self.connection_options.address} {state} "
            f"channels={len(self._wanted['SUBSCRIBE'])} "
            f"patterns={len(self._wanted['PSUBSCRIBE'])} "
            f"shard_channels={len(self._shard_wanted)} shard_nodes={sorted(self._links)} "
            f"orphaned={len(self._orphans)} buffered={len(self._buffer)} "
            f"reconnects={self.reconnects} moves={self.moves}>"
        )

    @property
    def shard_channels(self) -> frozenset[Any]:
        """The shard channels subscribed to (as given), wherever they live now."""
        return frozenset(self._shard_wanted.values())

    def is_subscribed(self) -> bool:
        """True while any channel, pattern or shard channel is subscribed."""
        return super().is_subscribed() or bool(self._shard_wanted)

    # -- subscribing ---------------------------------------------------------------------

    async def ssubscribe(self, *channels: str | bytes) -> None:
        """SSUBSCRIBE to shard ``channels`` on the primaries serving their slots.

        Returns once every node confirmed. Waits at most ``command_timeout``
        in all (``CommandTimeout``); that, an error reply or cancellation
        rolls back the channels this call added.
        """
        if self._closed:
            raise RuntimeError(f"{self!r} is closed")
        self._check_loop()
        if not channels:
            raise ValueError("ssubscribe() needs at least one name")
        encoding = self.connection_options.encoding
        keys = {_key(name, encoding): name for name in channels}
        await self._router.ready()
        added = {key: name for key, name in keys.items() if key not in self._shard_wanted}
        self._shard_wanted.update(keys)
        if not added:
            return
        limit = self.connection_options.command_timeout
        try:
            async with asyncio.timeout(limit):
                for slot, group in _by_slot(added).items():
                    await self._subscribe_slot(slot, group)
        except TimeoutError as exc:
            self._roll_back(added)
            raise CommandTimeout(
                f"the cluster did not confirm SSUBSCRIBE within {limit}s (command_timeout); "
                "the subscription was rolled back",
                "SSUBSCRIBE",
            ) from exc
        except BaseException:
            self._roll_back(added)
            raise
        finally:
            self._wake_listeners()

    async def _subscribe_slot(self, slot: int, keys: list[bytes]) -> None:
        error: BaseException | None = None
        for attempt in range(1, _MAX_ATTEMPTS + 1):
            address = self._router.node_for(slot, False)
            if address is None:
                await self._router.refresh()
                address = self._router.node_for(slot, False)
                if address is None:
                    raise ClusterError(f"no node serves slot {slot} (shard channel {keys[0]!r})")
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            try:
                link = await self._link(address)
                link.send(True, slot, keys, future, resync=False)
                await future
                return
            except _RETRYABLE as exc:
                error = exc
                if not isinstance(exc, MovedError):  # MOVED patched the map already
                    await self._router.refresh()
                    await asyncio.sleep(self._backoff(attempt))
            finally:
                future.cancel()
        assert error is not None
        raise error

    def _roll_back(self, added: dict[bytes, Any]) -> None:
        # The caller is told it failed, so the channels must not stay subscribed.
        for key in added:
            self._shard_wanted.pop(key, None)
            self._orphans.discard(key)
        self._forget_gaps(added)
        for link in list(self._links.values()):
            held = [key for key in added if key in link.keys]
            link.keys.difference_update(held)
            for slot, group in _by_slot(held).items():
                link.send(False, slot, group, None, resync=False)

    async def sunsubscribe(self, *channels: str | bytes) -> None:
        """SUNSUBSCRIBE from shard ``channels``, or from all of them when none is given.

        Returns once the nodes confirmed, or after ``command_timeout``
        (nothing more is owed then: a stuck connection is replaced and does
        not restore them). A node left without shard channels is closed.
        """
        if self._closed:
            raise RuntimeError(f"{self!r} is closed")
        self._check_loop()
        encoding = self.connection_options.encoding
        keys = [_key(name, encoding) for name in channels] if channels else list(self._shard_wanted)
        keys = [key for key in dict.fromkeys(keys) if key in self._shard_wanted]
        if not keys:
            return
        for key in keys:
            del self._shard_wanted[key]
            self._orphans.discard(key)
        self._forget_gaps(keys)
        futures: list[asyncio.Future[None]] = []
        for link in list(self._links.values()):
            held = [key for key in keys if key in link.keys]
            link.keys.difference_update(held)
            for slot, group in _by_slot(held).items():
                future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                link.send(False, slot, group, future, resync=False)
                futures.append(future)
        try:
            async with asyncio.timeout(self.connection_options.command_timeout):
                await asyncio.gather(*futures, return_exceptions=True)
        except TimeoutError:
            pass
        finally:
            for future in futures:
                future.cancel()
            self._wake_listeners()
        for link in list(self._links.values()):
            if not link.keys and not link.sent:
                await self._drop_link(link)

    # -- gaps ----------------------------------------------------------------------------

    async def _orphan(self, keys: Iterable[bytes], reason: str) -> None:
        """These shard channels lost their home: report the gap and mend it."""
        lost = [k for k in keys if k in self._shard_wanted and k not in self._orphans]
        if not lost or self._closed:
            return
        self._orphans.update(lost)
        names = tuple(self._shard_wanted[key] for key in lost)
        self._gaps.append(_Gap(set(lost), names))
        logger.warning("%r: shard channels %s lost (%s); resubscribing", self, names, reason)
        await self._push(Message("disconnected", channel=names, data=reason))
        if self._mender is None or self._mender.done():
            self._mender = asyncio.create_task(
                self._mend(), name=f"aiopool cluster pubsub mender {id(self):x}"
            )

    def _forget_gaps(self, keys: Iterable[bytes]) -> None:
        # Channels subscribed again, or no longer wanted: a gap left empty ends.
        keys = set(keys)
        for gap in list(self._gaps):
            gap.remaining.difference_update(keys)
            if not gap.remaining:
                self._gaps.remove(gap)
                self.moves += 1
                # Appended without waiting for room, as PubSub's own marker:
                # the markers always come in pairs.
                self._buffer.append(Message("reconnected", channel=gap.names))
                self._readable.set()

    async def _mend(self) -> None:
        """Subscribe orphans on their slot's owner, with backoff, until none is left."""
        attempt = 0
        while self._orphans and not self._closed:
            await self._router.refresh()
            futures: list[asyncio.Future[None]] = []
            for slot, group in _by_slot(self._orphans).items():
                address = self._router.node_for(slot, False)
                if address is None:
                    continue
                try:
                    link = await self._link(address)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    logger.info("%r: cannot reach %s yet: %s", self, address, exc)
                    continue
                future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                link.send(True, slot, group, future, resync=True)
                futures.append(future)
            if futures:
                try:
                    async with asyncio.timeout(self.connection_options.command_timeout):
                        await asyncio.gather(*futures, return_exceptions=True)
                except TimeoutError:
                    pass
                finally:
                    for future in futures:
                        future.cancel()
            if self._orphans:
                attempt += 1
                await asyncio.sleep(self._backoff(attempt))

    # -- shard links ---------------------------------------------------------------------

    async def _link(self, address: str) -> _ShardLink:
        link = self._links.get(address)
        if link is not None and not link.conn.is_closed():
            return link
        task = self._opening.get(address)
        if task is None:
            task = asyncio.create_task(self._open_link(address))
            self._opening[address] = task
            task.add_done_callback(lambda t: self._opening.pop(address, None))
        return await asyncio.shield(task)

    async def _open_link(self, address: str) -> _ShardLink:
        options = node_options(self._cluster_connection, address, readonly=False)
        conn = await Connection.open(options)
        if self._closed:
            conn.abort()
            raise RuntimeError(f"{self!r} was closed while connecting to {address}")
        conn.start_stream(subscribed=True)  # read only by the link's reader task
        link = _ShardLink(address, conn)
        self._links[address] = link
        link.reader = asyncio.create_task(
            self._read_link(link), name=f"aiopool shard reader {address} {id(self):x}"
        )
        return link

    async def _drop_link(self, link: _ShardLink) -> None:
        if self._links.get(link.address) is link:
            del self._links[link.address]
        reader, link.reader = link.reader, None
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        await link.conn.aclose(self.options.close_timeout)

    async def _read_link(self, link: _ShardLink) -> None:
        try:
            await self._pump(link)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            link.conn.abort()
            if self._links.get(link.address) is link:
                del self._links[link.address]
            if self._closed:
                return
            if not isinstance(exc, _EXPECTED):
                logger.exception("%r: unexpected error reading %s", self, link.address)
            lost = ConnectionFailure(_describe(exc, link.address), link.address)
            for ask in link.sent:
                if ask.future is not None and not ask.future.done():
                    ask.future.set_exception(lost)
            link.sent.clear()
            held, link.keys = set(link.keys), set()
            await self._orphan(held, str(lost))

    async def _pump(self, link: _ShardLink) -> None:
        conn = link.conn
        beat = Heartbeat(
            self.options.health_check_interval,
            self.connection_options.command_timeout,
            f"{link.address}: ",
        )
        replies: list[Any] = []
        while True:
            await beat.receive(conn, replies, owed=bool(link.sent))
            for reply in replies:
                if isinstance(reply, ReplyError):
                    if beat.pongs and not link.sent:
                        beat.pongs -= 1
                    else:
                        await self._shard_refused(link, reply)
                elif beat.pongs and _is_pong(reply):
                    beat.pongs -= 1
                else:
                    await self._frame(link, reply)
            replies.clear()

    async def _frame(self, link: _ShardLink, reply: Any) -> None:
        kind = _name(reply[0]) if isinstance(reply, list) and reply else None
        if kind == "invalidate":
            return  # a tracking flush's push: no message (see PubSub._dispatch)
        if kind == "smessage" and len(reply) >= 3:
            await self._push(Message("smessage", reply[1], reply[2]))
        elif kind in ("ssubscribe", "sunsubscribe") and len(reply) >= 3:
            await self._confirmation(link, kind, reply)
        else:
            raise ProtocolError(
                f"{link.address} sent a frame that is not a shard pub/sub message or "
                "confirmation; reconnecting"
            )

    async def _confirmation(self, link: _ShardLink, kind: str, reply: Any) -> None:
        key = _key(reply[1], self.connection_options.encoding)
        subscribe = kind == "ssubscribe"
        asked = link.confirm(subscribe, key)
        if subscribe:
            if key in self._shard_wanted:
                for other in self._links.values():
                    if other is not link:
                        other.keys.discard(key)
                link.keys.add(key)
                self._orphans.discard(key)
                self._forget_gaps([key])
            else:  # unsubscribed or rolled back while this was in flight
                link.send(False, key_slot(key), [key], None, resync=False)
        else:
            held = key in link.keys
            link.keys.discard(key)
            if not asked and held and key in self._shard_wanted:
                await self._orphan(
                    [key], f"{link.address} unsubscribed shard channel {_name(reply[1])!r}: "
                    "its slot moved to another node",
                )  # fmt: skip
        if not self.ignore_subscribe_messages:
            await self._push(Message(kind, reply[1], reply[2]))

    async def _shard_refused(self, link: _ShardLink, error: ReplyError) -> None:
        # An error answers one whole command: the oldest unanswered one.
        if not link.sent:
            raise ProtocolError(
                f"{link.address} sent an error reply no shard subscription was waiting "
                f"for ({error.message}); reconnecting"
            )
        ask = link.sent.popleft()
        if isinstance(error, MovedError) and error.slot >= 0:
            self._router.moved(error.slot, error.address)
        if ask.future is not None and not ask.future.done():
            ask.future.set_exception(error)
        if ask.resync and not isinstance(error, _RETRYABLE):
            dropped = [key for key in ask.keys if key in self._shard_wanted]
            logger.warning("%r: resubscribing was refused (%s)", self, error.message)
            for key in dropped:
                del self._shard_wanted[key]
                self._orphans.discard(key)
            self._forget_gaps(dropped)

    # -- closing ---------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the channels' connection and every shard node's; idempotent.

        Buffered messages can still be read; then ``listen()`` ends and
        ``get_message()`` raises ``RuntimeError``.
        """
        if self._closed:
            return
        await super().aclose()
        self._shard_wanted.clear()
        self._orphans.clear()
        self._gaps.clear()
        tasks = [t for t in (self._mender, *self._opening.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        closed = RuntimeError(f"{self!r} was closed while a subscription was in flight")
        links, self._links = list(self._links.values()), {}
        for link in links:
            for ask in link.sent:
                if ask.future is not None and not ask.future.done():
                    ask.future.set_exception(closed)
            link.sent.clear()
        await asyncio.gather(*(self._drop_link(link) for link in links), return_exceptions=True)
        self._readable.set()


class _ShardLink:
    """One connection to one node holding shard-channel subscriptions."""

    __slots__ = ("address", "conn", "keys", "reader", "sent")

    def __init__(self, address: str, conn: Connection) -> None:
        self.address = address
        self.conn = conn
        self.keys: set[bytes] = set()  # confirmed here
        self.sent: collections.deque[_Ask] = collections.deque()
        self.reader: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"<_ShardLink {self.address} channels={len(self.keys)} unanswered={len(self.sent)}>"

    def send(
        self,
        subscribe: bool,
        slot: int,
        keys: list[bytes],
        future: asyncio.Future[None] | None,
        *,
        resync: bool,
    ) -> None:
        # A socket found closed drops nothing: the reader sees the break and
        # fails or orphans what was owed.
        command = "SSUBSCRIBE" if subscribe else "SUNSUBSCRIBE"
        self.conn.send(encode_command((command, *keys)), 0)
        self.sent.append(_Ask(subscribe, slot, keys, future, resync))

    def confirm(self, subscribe: bool, key: bytes) -> bool:
        """Count one confirmation against the oldest command owed it; False when none was."""
        for ask in self.sent:
            if ask.subscribe == subscribe and key in ask.expected:
                ask.expected.discard(key)
                if not ask.expected:
                    self.sent.remove(ask)
                    if ask.future is not None:
                        _resolve([ask.future])
                return True
        return False


class _Ask:
    """One SSUBSCRIBE or SUNSUBSCRIBE written and not yet answered in full."""

    __slots__ = ("expected", "future", "keys", "resync", "slot", "subscribe")

    def __init__(
        self,
        subscribe: bool,
        slot: int,
        keys: list[bytes],
        future: asyncio.Future[None] | None,
        resync: bool,
    ) -> None:
        self.subscribe = subscribe
        self.slot = slot
        self.keys = keys
        self.expected = set(keys)
        self.future = future
        self.resync = resync

    def __repr__(self) -> str:
        verb = "SSUBSCRIBE" if self.subscribe else "SUNSUBSCRIBE"
        return f"<_Ask {verb} slot={self.slot} expecting={len(self.expected)} resync={self.resync}>"


class _Gap:
    """Shard channels reported lost together, and those of them not yet back."""

    __slots__ = ("names", "remaining")

    def __init__(self, remaining: set[bytes], names: tuple[Any, ...]) -> None:
        self.remaining = remaining
        self.names = names

    def __repr__(self) -> str:
        return f"<_Gap channels={len(self.names)} remaining={len(self.remaining)}>"


def _by_slot(keys: Iterable[bytes]) -> dict[int, list[bytes]]:
    """Shard channels grouped by hash slot: one SSUBSCRIBE may not span slots."""
    groups: dict[int, list[bytes]] = {}
    for key in keys:
        groups.setdefault(key_slot(key), []).append(key)
    return groups
