"""``PubSub``: subscriptions on a dedicated connection, re-subscribed after a drop.

One reader task per ``PubSub`` owns every read of the connection: it routes
subscription confirmations to the callers waiting for them and messages to a
bounded buffer that ``get_message()``/``listen()`` drain. When the connection
drops, the reader reconnects with backoff, subscribes again to everything the
user asked for, and puts a ``disconnected`` and then a ``reconnected`` message
in the buffer, so a gap is never silent.

Under RESP3 messages and confirmations are push frames, which the subscribed
connection puts in its inbox in order with the replies (a PING's, an error):
the reader tells them apart by type, and the user sees the same ``Message``s
under both protocols. An ``invalidate`` push (tracking on) is dropped.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final

import hiredis

from . import _affinity as affinity
from ._config import ConnectionOptions, PoolOptions
from ._connection import Connection
from ._credentials import auth_command, tracker_for
from ._errors import (
    AuthenticationError,
    CommandTimeout,
    ConnectionFailure,
    ProtocolError,
    ReplyError,
)
from ._health import Heartbeat
from ._protocol import encode_command
from ._retry import backoff

__all__ = ["Message", "PubSub"]

logger = logging.getLogger("aiopool.pubsub")

# subscribe command -> (its confirmation, the matching unsubscribe's confirmation)
_KINDS: Final = {
    "SUBSCRIBE": ("subscribe", "unsubscribe"),
    "PSUBSCRIBE": ("psubscribe", "punsubscribe"),
    "SSUBSCRIBE": ("ssubscribe", "sunsubscribe"),
}
_UNSUBSCRIBE: Final = {
    "SUBSCRIBE": "UNSUBSCRIBE",
    "PSUBSCRIBE": "PUNSUBSCRIBE",
    "SSUBSCRIBE": "SUNSUBSCRIBE",
}
_CONFIRMATIONS: Final = frozenset(c for pair in _KINDS.values() for c in pair)
# hiredis >= 3.2 returns RESP3 push frames (messages, confirmations) as this.
_PUSH: Final[type | None] = getattr(hiredis, "PushNotification", None)
# What a lost or broken connection raises while reading or reconnecting.
_EXPECTED: Final = (OSError, EOFError, TimeoutError, ConnectionFailure, ProtocolError, ValueError)


@dataclass(frozen=True, slots=True)
class Message:
    """One pub/sub event from ``PubSub.get_message()`` or ``PubSub.listen()``.

    ``type`` is ``"message"`` (``channel``, ``data``), ``"pmessage"`` (also
    ``pattern``, the pattern that matched), ``"smessage"`` (a sharded
    channel), a confirmation (``"subscribe"``, ``"unsubscribe"``, ...:
    ``channel`` is the name, ``data`` the count of subscriptions left; only
    with ``ignore_subscribe_messages=False``), or one of the two gap markers: ``"disconnected"`` (``data`` is
    why; messages published from now on are lost) and ``"reconnected"``
    (every subscription is back in place). Channel and data are ``bytes``, or
    ``str`` with ``decode_responses=True``.
    """

    type: str
    channel: Any = None
    data: Any = None
    pattern: Any = None

    # redis-py hands out messages as dicts: ``msg["type"]``, ``msg.get("data")``
    # and ``dict(msg)`` read the same fields here, so such loops port unchanged.

    def __getitem__(self, field: str) -> Any:
        """``msg["type"]``, ``msg["channel"]``, ``msg["data"]``, ``msg["pattern"]`` (redis-py's keys)."""
        if field not in _FIELDS:
            raise KeyError(field)
        return getattr(self, field)

    def get(self, field: str, default: Any = None) -> Any:
        """``msg.get("data")``: the field, or ``default`` for a name that is not one."""
        return getattr(self, field) if field in _FIELDS else default

    def keys(self) -> tuple[str, ...]:
        """The field names, as redis-py's message dicts have them (``dict(msg)`` works)."""
        return _FIELDS


_FIELDS: Final = ("type", "pattern", "channel", "data")


def _name(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _key(value: Any, encoding: str) -> bytes:
    if isinstance(value, str):
        return value.encode(encoding)
    if isinstance(value, bytes | memoryview):
        return bytes(value)
    raise TypeError(f"channel and pattern names are str or bytes, got {type(value).__name__}")


class PubSub:
    """Subscriptions to channels, patterns and shard channels on a dedicated connection.

    Get one from ``client.pubsub()`` and use it as ``async with``. The
    connection is opened by the first subscription (a failure raises
    ``ConnectError`` there) and is never one of the pool's. ``subscribe()``
    and friends return once the server confirmed them, waiting at most
    ``command_timeout`` (``CommandTimeout``; the change is then rolled back).

    Messages wait in a buffer of ``max_messages``; when it is full the
    reader stops reading, and the server, whose output buffer for the client
    then grows, may drop the connection (its ``client-output-buffer-limit``),
    which shows up as a ``disconnected``/``reconnected`` pair. A connection
    that drops or goes quiet for longer than ``health_check_interval`` plus
    ``command_timeout`` (checked with PING) is replaced, with the pool's
    reconnect backoff, until ``aclose()``.

    Cancelling ``get_message()`` or ``listen()`` loses nothing; cancelling a
    ``subscribe()`` rolls it back.

    The server's confirmations (``subscribe``, ``unsubscribe``, ... with the
    count of subscriptions as ``data``) are not messages by default:
    ``subscribe()`` already returns only once they came. With
    ``ignore_subscribe_messages=False`` they are buffered as messages too, as
    redis-py's default has them (including those of the resubscription after
    a reconnect, between the gap markers).

    Under ``protocol=3`` messages and confirmations arrive as push frames
    and come out as the same ``Message``s as under protocol 2. An
    invalidation push (a client with ``tracking=True``; only a flush's can
    reach a connection that reads no keys) is dropped, never a message.

    With a ``credential_provider`` that announces new credentials, a RESP3
    subscriber sends ``AUTH`` in its stream and keeps its subscriptions (a
    refused one closes the connection: the reconnect asks the provider
    anew, between gap markers). A RESP2 subscriber cannot run ``AUTH``: it
    keeps its session, and its next connection asks the provider.
    """

    def __init__(
        self,
        connection: ConnectionOptions,
        options: PoolOptions,
        *,
        max_messages: int = 10_000,
        ignore_subscribe_messages: bool = True,
        connect: Callable[[], Awaitable[Connection]] | None = None,
    ) -> None:
        # How its connection is opened: a Sentinel client asks the sentinels.
        self._connect = connect or (lambda: Connection.open(self.connection_options))
        if isinstance(max_messages, bool) or not isinstance(max_messages, int) or max_messages < 1:
            raise ValueError(f"max_messages must be a positive int, got {max_messages!r}")
        if not isinstance(ignore_subscribe_messages, bool):
            raise TypeError(
                "ignore_subscribe_messages must be a bool, got "
                f"{type(ignore_subscribe_messages).__name__} {ignore_subscribe_messages!r}"
            )
        self.ignore_subscribe_messages = ignore_subscribe_messages
        self.connection_options = connection
        self.options = options
        self.max_messages = max_messages
        self.reconnects = 0
        self._wanted: dict[str, dict[bytes, Any]] = {kind: {} for kind in _KINDS}
        # Subscription commands written and not yet answered in full, oldest
        # first: an error reply belongs to the oldest one.
        self._sent: collections.deque[_Sent] = collections.deque()
        # Callers whose subscribe was in flight when the connection dropped:
        # the resubscription after the reconnect answers them.
        self._carried: dict[str, list[asyncio.Future[None]]] = {}
        self._resyncing = 0  # resubscription commands not yet answered
        self._in_gap = False
        self._attempt = 0
        self._buffer: collections.deque[Message] = collections.deque()
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self._conn: Connection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._closed = False
        self._connecting: asyncio.Lock | None = None
        self._auths = 0  # in-stream AUTHs (RESP3) not yet answered
        if connection.credential_provider is not None:
            tracker_for(connection.credential_provider).listen(self)

    def __repr__(self) -> str:
        counts = " ".join(
            f"{label}={len(self._wanted[kind])}"
            for kind, label in zip(_KINDS, ("channels", "patterns", "shard_channels"), strict=True)
        )
        state = "closed" if self._closed else "connected" if self._conn else "idle"
        return (
            f"<PubSub {self.connection_options.address} {state} {counts} "
            f"buffered={len(self._buffer)} reconnects={self.reconnects}>"
        )

    async def __aenter__(self) -> PubSub:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- what is subscribed ----------------------------------------------------------

    @property
    def channels(self) -> frozenset[Any]:
        """The channels subscribed to (as given)."""
        return frozenset(self._wanted["SUBSCRIBE"].values())

    @property
    def patterns(self) -> frozenset[Any]:
        """The patterns subscribed to (as given)."""
        return frozenset(self._wanted["PSUBSCRIBE"].values())

    @property
    def shard_channels(self) -> frozenset[Any]:
        """The shard channels subscribed to (as given)."""
        return frozenset(self._wanted["SSUBSCRIBE"].values())

    def is_subscribed(self) -> bool:
        """True while any channel, pattern or shard channel is subscribed."""
        return any(self._wanted.values())

    def is_closed(self) -> bool:
        """True once ``aclose()`` was called."""
        return self._closed

    # -- subscribing -----------------------------------------------------------------------

    async def subscribe(self, *channels: str | bytes) -> None:
        """SUBSCRIBE to ``channels``; returns once the server confirmed each one."""
        await self._change("SUBSCRIBE", channels, subscribe=True)

    async def psubscribe(self, *patterns: str | bytes) -> None:
        """PSUBSCRIBE to glob-style ``patterns`` (``"news.*"``); returns once confirmed."""
        await self._change("PSUBSCRIBE", patterns, subscribe=True)

    async def ssubscribe(self, *channels: str | bytes) -> None:
        """SSUBSCRIBE to shard ``channels`` (Redis 7); returns once confirmed."""
        await self._change("SSUBSCRIBE", channels, subscribe=True)

    async def unsubscribe(self, *channels: str | bytes) -> None:
        """UNSUBSCRIBE from ``channels``, or from every channel when none is given."""
        await self._change("SUBSCRIBE", channels, subscribe=False)

    async def punsubscribe(self, *patterns: str | bytes) -> None:
        """PUNSUBSCRIBE from ``patterns``, or from every pattern when none is given."""
        await self._change("PSUBSCRIBE", patterns, subscribe=False)

    async def sunsubscribe(self, *channels: str | bytes) -> None:
        """SUNSUBSCRIBE from shard ``channels``, or from all of them when none is given."""
        await self._change("SSUBSCRIBE", channels, subscribe=False)

    def _check_loop(self) -> None:
        """Refuse another event loop, or a forked child, than the one the reader runs on."""
        reader = self._reader
        if reader is None or reader.get_loop() is asyncio.get_running_loop():
            return
        conn = self._conn
        if conn is not None and conn.is_inherited():
            raise RuntimeError(affinity.inherited(repr(self), "its connection is"))
        raise affinity.wrong_loop(self, "reads on the event loop it subscribed on")

    async def _change(self, kind: str, names: tuple[Any, ...], *, subscribe: bool) -> None:
        if self._closed:
            raise RuntimeError(f"{self!r} is closed")
        self._check_loop()
        encoding = self.connection_options.encoding
        wanted = self._wanted[kind]
        if subscribe:
            if not names:
                raise ValueError(f"{kind.lower()}() needs at least one name")
            keys = {_key(name, encoding): name for name in names}
            previous = {key: wanted[key] for key in keys if key in wanted}
            wanted.update(keys)
        else:
            keys = {_key(name, encoding): name for name in names} if names else dict(wanted)
            keys = {key: name for key, name in keys.items() if key in wanted}
            if not keys:
                return
            previous = {}
            for key in keys:
                del wanted[key]
        command = kind if subscribe else _UNSUBSCRIBE[kind]
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        try:
            if subscribe:
                await self._ensure_reader()
            elif self._conn is None or self._conn.is_closed():
                return  # nothing to tell the server: a reconnect subscribes to self._wanted only
            self._send(kind, subscribe, keys, [future])
            async with asyncio.timeout(self.connection_options.command_timeout):
                await future
        except TimeoutError as exc:
            future.cancel()
            if not subscribe:
                return  # the connection is stuck; the reconnect will not restore them
            self._undo_subscribe(kind, keys, previous)
            raise CommandTimeout(
                f"{self.connection_options.address} did not confirm {command} within "
                f"{self.connection_options.command_timeout}s (command_timeout); "
                "the subscription was rolled back",
                command,
            ) from exc
        except BaseException:
            future.cancel()
            if subscribe:
                self._undo_subscribe(kind, keys, previous)
            raise
        finally:
            self._wake_listeners()

    def _send(
        self, kind: str, subscribe: bool, keys: Iterable[bytes], futures: list[asyncio.Future[None]]
    ) -> None:
        """Write one (un)subscription command, or leave it to the reconnect."""
        conn = self._conn
        keys = list(keys)
        if conn is None or conn.is_closed():
            if subscribe:
                self._carried.setdefault(kind, []).extend(futures)
            else:
                _resolve(futures)
            return
        confirmation = _KINDS[kind][0 if subscribe else 1]
        command = kind if subscribe else _UNSUBSCRIBE[kind]
        # A socket found closed drops nothing: the reader sees the break and
        # the reconnect resubscribes to what is wanted.
        conn.send(encode_command((command, *keys)), 0)
        expected = {(confirmation, key) for key in keys}
        self._sent.append(_Sent(kind, subscribe, expected, futures, resync=False))

    def _undo_subscribe(
        self, kind: str, keys: dict[bytes, Any], previous: dict[bytes, Any]
    ) -> None:
        # The caller is told it failed, so the subscription must not appear later.
        wanted = self._wanted[kind]
        for key in keys:
            wanted.pop(key, None)
        wanted.update(previous)
        undo = [key for key in keys if key not in previous]
        if undo and self._conn is not None and not self._conn.is_closed():
            self._send(kind, False, undo, [])

    # -- receiving ------------------------------------------------------------------------

    async def get_message(
        self, ignore_subscribe_messages: bool = False, timeout: float | None = 0.0
    ) -> Message | None:
        """The next message, waiting at most ``timeout`` seconds (``None``: for ever).

        redis-py's signature and defaults: ``timeout=0.0`` returns at once,
        with ``None`` when nothing is buffered; ``ignore_subscribe_messages``
        skips buffered confirmations (only ``pubsub(ignore_subscribe_messages=
        False)`` buffers any). Raises ``RuntimeError`` once the ``PubSub`` is
        closed and every buffered message was read. Cancellation loses no
        message.
        """
        if not isinstance(ignore_subscribe_messages, bool):
            raise TypeError(
                "ignore_subscribe_messages must be a bool (get_message's first argument, as in "
                f"redis-py; pass timeout= by name), got {ignore_subscribe_messages!r}"
            )
        self._check_loop()
        try:
            async with asyncio.timeout(timeout):
                while True:
                    while self._buffer:
                        message = self._pop()
                        if not (ignore_subscribe_messages and message.type in _CONFIRMATIONS):
                            return message
                    if self._closed:
                        raise RuntimeError(f"{self!r} is closed")
                    self._readable.clear()
                    await self._readable.wait()
        except TimeoutError:
            return None

    async def listen(self) -> AsyncIterator[Message]:
        """Yield messages as they arrive, until nothing is subscribed or ``aclose()``.

        Unsubscribing from everything (or closing) ends the loop once the
        buffered messages were yielded.
        """
        self._check_loop()
        while True:
            if self._buffer:
                yield self._pop()
                continue
            if self._closed or not self.is_subscribed():
                return
            self._readable.clear()
            await self._readable.wait()

    def _pop(self) -> Message:
        message = self._buffer.popleft()
        if len(self._buffer) < self.max_messages:
            self._writable.set()
        return message

    def _wake_listeners(self) -> None:
        self._readable.set()

    async def _push(self, message: Message) -> None:
        while len(self._buffer) >= self.max_messages and not self._closed:
            self._writable.clear()
            await self._writable.wait()
        self._buffer.append(message)
        self._readable.set()

    # -- the reader task ------------------------------------------------------------------

    async def _ensure_reader(self) -> None:
        if self._reader is not None and not self._reader.done():
            return
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._reader is not None and not self._reader.done():
                return
            conn = await self._connect()
            if self._closed:
                conn.abort()
                raise RuntimeError(f"{self!r} was closed while connecting")
            conn.start_stream(subscribed=True)  # read only by the reader task
            self._conn = conn
            self._reader = asyncio.create_task(
                self._run(), name=f"aiopool pubsub reader {id(self):x}"
            )

    async def _run(self) -> None:
        while not self._closed:
            conn = self._conn
            try:
                if conn is None:  # own subscriptions only: a subclass may hold others elsewhere
                    if not any(self._wanted.values()):
                        self._idle()
                        return  # nothing to come back for; the next subscribe reconnects
                    conn = await self._connect()
                    conn.start_stream(subscribed=True)
                    self._conn = conn
                    self._resubscribe()
                await self._read(conn)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if conn is not None:
                    conn.abort()
                self._conn = None
                self._dropped()
                if self._closed:
                    return
                if not any(self._wanted.values()):
                    self._idle()
                    return
                if not isinstance(exc, _EXPECTED):
                    logger.exception("%r: unexpected error in the reader", self)
                if not self._in_gap:
                    self._in_gap = True
                    reason = _describe(exc, self.connection_options.address)
                    logger.warning("%r: connection lost (%s); resubscribing", self, reason)
                    await self._push(Message("disconnected", data=reason))
                self._attempt += 1
                await asyncio.sleep(self._backoff(self._attempt))

    def _backoff(self, attempt: int) -> float:
        opts = self.options
        return backoff(attempt, opts.reconnect_backoff, opts.reconnect_backoff_max)

    def _idle(self) -> None:
        # Nothing is subscribed any more, so nothing can be missed: a gap in
        # progress ends here (the markers always come in pairs).
        _resolve([f for fs in self._carried.values() for f in fs])
        self._carried.clear()
        if self._in_gap:
            self._in_gap = False
            self._buffer.append(Message("reconnected"))
            self._readable.set()

    def _credentials_changed(self, loop: asyncio.AbstractEventLoop) -> None:
        """The provider announced new credentials: a RESP3 subscriber re-AUTHs in its stream."""
        conn, reader = self._conn, self._reader
        if conn is None or reader is None or reader.get_loop() is not loop:
            return
        if self.connection_options.protocol != 3 or conn.is_closed():
            return  # RESP2: no AUTH while subscribed; the next connection asks the provider
        auth = auth_command(tracker_for(self.connection_options.credential_provider))
        if auth is not None and conn.send(auth[0], 0):
            self._auths += 1

    def _dropped(self) -> None:
        self._auths = 0
        # Unanswered subscriptions wait for the resubscription; unanswered
        # unsubscriptions are done: the new connection will not have them.
        for sent in self._sent:
            if sent.subscribe:
                self._carried.setdefault(sent.kind, []).extend(sent.futures)
            else:
                _resolve(sent.futures)
        self._sent.clear()
        self._resyncing = 0

    def _resubscribe(self) -> None:
        for kind, names in self._wanted.items():
            carried = self._carried.pop(kind, [])
            if not names:
                _resolve(carried)
                continue
            self._send(kind, True, names, carried)
            self._sent[-1].resync = True
            self._resyncing += 1

    async def _read(self, conn: Connection) -> None:
        beat = Heartbeat(
            self.options.health_check_interval, self.connection_options.command_timeout
        )
        resp3 = self.connection_options.protocol == 3
        replies: list[Any] = []
        while True:
            await beat.receive(conn, replies, owed=bool(self._sent))
            for reply in replies:
                if type(reply) is _PUSH:
                    await self._dispatch(reply)  # RESP3: messages and confirmations
                elif self._auths and (reply in (b"OK", "OK") or _is_auth_error(reply)):
                    self._auths -= 1
                    if isinstance(reply, ReplyError):
                        raise ProtocolError(f"re-AUTH with new credentials refused: {reply}")
                elif beat.pongs and (
                    _is_pong(reply) or (isinstance(reply, ReplyError) and not self._sent)
                ):
                    beat.pongs -= 1
                elif resp3 and not isinstance(reply, ReplyError):
                    # Under RESP3 only a push is a message; a reply is a PING's
                    # or an error, and anything else is owed to nobody.
                    raise ProtocolError(
                        f"{self.connection_options.address} sent a reply that is not a "
                        f"pub/sub message or confirmation, nor a PING's ({_shape(reply)}); "
                        "reconnecting"
                    )
                else:
                    await self._dispatch(reply)
            replies.clear()

    async def _dispatch(self, reply: Any) -> None:
        """Route one frame; one no subscriber is owed breaks the connection (a reconnect follows)."""
        if isinstance(reply, ReplyError):
            self._refused(reply)
            return
        if (
            isinstance(reply, list)
            and reply
            and _name(reply[0]) == "invalidate"
            and type(reply) is _PUSH
        ):
            # Client-side caching's tracking (the connection's options have
            # tracking=True): a pub/sub connection reads no key, so this can
            # only be a flush's, which every tracking connection of the pool
            # gets too (a cache learns it there). It is no message.
            logger.debug("%r: dropped an invalidation push", self)
            return
        kind = _name(reply[0]) if isinstance(reply, list) and len(reply) >= 3 else None
        if kind == "message":
            await self._push(Message("message", reply[1], reply[2]))
        elif kind == "pmessage" and len(reply) == 4:
            await self._push(Message("pmessage", reply[2], reply[3], reply[1]))
        elif kind == "smessage":
            await self._push(Message("smessage", reply[1], reply[2]))
        elif kind in _CONFIRMATIONS:
            if reply[1] is not None:
                self._confirmed(kind, _key(reply[1], self.connection_options.encoding))
            if not self.ignore_subscribe_messages:
                await self._push(Message(kind, reply[1], reply[2]))
        else:
            raise ProtocolError(
                f"{self.connection_options.address} sent a frame that is not a pub/sub "
                f"message or confirmation ({_shape(reply)}); reconnecting"
            )

    def _confirmed(self, kind: str, key: bytes) -> None:
        for sent in self._sent:
            if (kind, key) in sent.expected:
                sent.expected.discard((kind, key))
                if not sent.expected:
                    self._sent.remove(sent)
                    _resolve(sent.futures)
                    self._answered(sent)
                return

    def _refused(self, error: ReplyError) -> None:
        # An error answers one whole command (the server checks before it
        # subscribes to any of its names): the oldest unanswered one.
        if not self._sent:
            raise ProtocolError(
                f"{self.connection_options.address} sent an error reply no subscription "
                f"command was waiting for ({error.message}); reconnecting"
            )
        sent = self._sent.popleft()
        for future in sent.futures:
            if not future.done():
                future.set_exception(error)
        if sent.resync:
            logger.warning("%r: resubscribing was refused (%s)", self, error.message)
            names = self._wanted[sent.kind]
            for _, key in sent.expected:
                names.pop(key, None)
        self._answered(sent)

    def _answered(self, sent: _Sent) -> None:
        if not sent.resync:
            return
        self._resyncing -= 1
        if self._resyncing == 0:
            self._attempt = 0
            if self._in_gap:
                self._in_gap = False
                self.reconnects += 1
                self._buffer.append(Message("reconnected"))
                self._readable.set()

    # -- closing -------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Unsubscribe from everything by closing the connection; idempotent.

        Buffered messages can still be read; then ``listen()`` ends and
        ``get_message()`` raises ``RuntimeError``.
        """
        if self._closed:
            return
        conn = self._conn
        if conn is not None and conn.is_inherited():
            self._closed = True  # a forked child's copy: nothing here is its own to close
            return
        self._check_loop()
        self._closed = True
        for kind in self._wanted.values():
            kind.clear()
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.aclose(self.options.close_timeout)
        closed = RuntimeError(f"{self!r} was closed while a subscription was in flight")
        for future in [f for sent in self._sent for f in sent.futures] + [
            f for fs in self._carried.values() for f in fs
        ]:
            if not future.done():
                future.set_exception(closed)
        self._sent.clear()
        self._carried.clear()
        self._writable.set()
        self._readable.set()


class _Sent:
    """One subscription command written and not yet answered in full."""

    __slots__ = ("expected", "futures", "kind", "resync", "subscribe")

    def __init__(
        self,
        kind: str,
        subscribe: bool,
        expected: set[tuple[str, bytes]],
        futures: list[asyncio.Future[None]],
        *,
        resync: bool,
    ) -> None:
        self.kind = kind
        self.subscribe = subscribe
        self.expected = expected  # (confirmation, name) pairs still to come
        self.futures = futures
        self.resync = resync

    def __repr__(self) -> str:
        verb = self.kind if self.subscribe else _UNSUBSCRIBE[self.kind]
        return f"<_Sent {verb} expecting={len(self.expected)} resync={self.resync}>"


def _is_auth_error(reply: Any) -> bool:
    return isinstance(reply, AuthenticationError) or (
        isinstance(reply, ReplyError) and reply.code == "WRONGPASS"
    )


def _is_pong(reply: Any) -> bool:
    """A PING's answer: ``PONG`` outside subscribed mode, ``["pong", ""]`` in it."""
    if isinstance(reply, list) and len(reply) == 2:
        reply = reply[0]
    return isinstance(reply, str | bytes) and _name(reply).lower() == "pong"


def _shape(reply: Any) -> str:
    """A short description of a frame for messages, without its (maybe sensitive) data."""
    if isinstance(reply, list):
        head = _name(reply[0])[:20] if reply and isinstance(reply[0], str | bytes) else "?"
        return f"an array of {len(reply)} starting {head!r}"
    return f"a {type(reply).__name__}"


def _resolve(futures: Iterable[asyncio.Future[None]]) -> None:
    for future in futures:
        if not future.done():
            future.set_result(None)


def _describe(exc: BaseException, address: str) -> str:
    reason = str(exc) or type(exc).__name__
    return reason if address in reason else f"{address}: {reason}"
