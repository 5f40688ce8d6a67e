"""``PubSub``: subscriptions on a dedicated connection, re-subscribed after a drop.

One reader task per ``PubSub`` owns every read of the connection: it routes
subscription confirmations to the callers waiting for them and messages to a
bounded buffer that ``get_message()``/``listen()`` drain. When the connection
drops, the reader reconnects with backoff, subscribes again to everything the
user asked for, and puts a ``disconnected`` and then a ``reconnected`` message
in the buffer, so a gap is never silent.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final

from ._config import ConnectionOptions, PoolOptions
from ._connection import BUSY, Connection
from ._errors import CommandTimeout, ConnectionFailure, ProtocolError, ReplyError
from ._protocol import encode_command

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
_PING: Final = encode_command(("PING",))
# What a lost or broken connection raises while reading or reconnecting.
_EXPECTED: Final = (OSError, EOFError, TimeoutError, ConnectionFailure, ProtocolError, ValueError)


@dataclass(frozen=True, slots=True)
class Message:
    """One pub/sub event from ``PubSub.get_message()`` or ``PubSub.listen()``.

    ``type`` is ``"message"`` (``channel``, ``data``), ``"pmessage"`` (also
    ``pattern``, the pattern that matched), ``"smessage"`` (a sharded
    channel), or one of the two gap markers: ``"disconnected"`` (``data`` is
    why; messages published from now on are lost) and ``"reconnected"``
    (every subscription is back in place). Channel and data are ``bytes``, or
    ``str`` with ``decode_responses=True``.
    """

    type: str
    channel: Any = None
    data: Any = None
    pattern: Any = None


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
    """

    def __init__(
        self, connection: ConnectionOptions, options: PoolOptions, *, max_messages: int = 10_000
    ) -> None:
        if isinstance(max_messages, bool) or not isinstance(max_messages, int) or max_messages < 1:
            raise ValueError(f"max_messages must be a positive int, got {max_messages!r}")
        self.connection_options = connection
        self.options = options
        self.max_messages = max_messages
        self.reconnects = 0
        self._wanted: dict[str, dict[bytes, Any]] = {kind: {} for kind in _KINDS}
        self._waiters: dict[tuple[str, bytes], list[asyncio.Future[None]]] = {}
        self._buffer: collections.deque[Message] = collections.deque()
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self._conn: Connection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._resync: set[tuple[str, bytes]] = set()
        self._closed = False
        self._connecting: asyncio.Lock | None = None

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

    async def _change(self, kind: str, names: tuple[Any, ...], *, subscribe: bool) -> None:
        if self._closed:
            raise RuntimeError(f"{self!r} is closed")
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
        confirmation = _KINDS[kind][0 if subscribe else 1]
        loop = asyncio.get_running_loop()
        futures = []
        for key in keys:
            future: asyncio.Future[None] = loop.create_future()
            self._waiters.setdefault((confirmation, key), []).append(future)
            futures.append(future)
        command = kind if subscribe else _UNSUBSCRIBE[kind]
        try:
            if subscribe:
                await self._ensure_reader()
            elif self._conn is None or self._conn.is_closed():
                return  # nothing to tell the server: a reconnect subscribes to self._wanted only
            self._write(encode_command((command, *keys)))
            async with asyncio.timeout(self.connection_options.command_timeout):
                await asyncio.gather(*futures)
        except TimeoutError as exc:
            self._forget(confirmation, keys, futures)
            if not subscribe:
                return  # the connection is stuck; the reconnect will not restore them
            self._undo_subscribe(kind, keys, previous)
            raise CommandTimeout(
                f"{self.connection_options.address} did not confirm {command} within "
                f"{self.connection_options.command_timeout}s (command_timeout); "
                "the subscription was rolled back"
            ) from exc
        except BaseException:
            self._forget(confirmation, keys, futures)
            if subscribe:
                self._undo_subscribe(kind, keys, previous)
            raise
        finally:
            self._wake_listeners()

    def _undo_subscribe(
        self, kind: str, keys: dict[bytes, Any], previous: dict[bytes, Any]
    ) -> None:
        # The caller is told it failed, so the subscription must not appear later.
        wanted = self._wanted[kind]
        for key in keys:
            wanted.pop(key, None)
        wanted.update(previous)
        undo = [key for key in keys if key not in previous]
        if undo:
            self._write(encode_command((_UNSUBSCRIBE[kind], *undo)))
        for key in undo:
            self._resync.discard((_KINDS[kind][0], key))

    def _forget(self, confirmation: str, keys: dict[bytes, Any], futures: list[Any]) -> None:
        for key, future in zip(keys, futures, strict=True):
            waiting = self._waiters.get((confirmation, key))
            if waiting and future in waiting:
                waiting.remove(future)
                if not waiting:
                    del self._waiters[(confirmation, key)]

    def _write(self, data: bytes) -> None:
        conn = self._conn
        if conn is not None and not conn.is_closed():
            conn._writer.write(data)
        # Otherwise the reader is reconnecting and will subscribe to all of
        # self._wanted (or the connection is not needed any more).

    # -- receiving ------------------------------------------------------------------------

    async def get_message(self, timeout: float | None = None) -> Message | None:
        """The next message, waiting at most ``timeout`` seconds (``None``: for ever).

        Returns ``None`` when none arrived in time. Raises ``RuntimeError``
        once the ``PubSub`` is closed and every buffered message was read.
        Cancellation loses no message.
        """
        try:
            async with asyncio.timeout(timeout):
                while True:
                    if self._buffer:
                        return self._pop()
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
            conn = await Connection.open(self.connection_options)
            if self._closed:
                conn.abort()
                raise RuntimeError(f"{self!r} was closed while connecting")
            conn.state = BUSY  # read only by the reader task; never a command's
            self._conn = conn
            self._reader = asyncio.create_task(
                self._run(), name=f"aiopool pubsub reader {id(self):x}"
            )

    async def _run(self) -> None:
        attempt = 0
        while not self._closed:
            conn = self._conn
            try:
                if conn is None:
                    if not self.is_subscribed():
                        return  # nothing to come back for; the next subscribe reconnects
                    conn = await Connection.open(self.connection_options)
                    conn.state = BUSY
                    self._conn = conn
                    self._resubscribe(conn)
                    self.reconnects += 1
                attempt = 0
                await self._read(conn)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if conn is not None:
                    conn.abort()
                self._conn = None
                self._resync.clear()
                if self._closed or not self.is_subscribed():
                    return
                if not isinstance(exc, _EXPECTED):
                    logger.exception("%r: unexpected error in the reader", self)
                reason = _describe(exc, self.connection_options.address)
                if conn is not None:
                    logger.warning("%r: connection lost (%s); resubscribing", self, reason)
                    await self._push(Message("disconnected", data=reason))
                attempt += 1
                await asyncio.sleep(self._backoff(attempt))

    def _backoff(self, attempt: int) -> float:
        opts = self.options
        cap = min(opts.reconnect_backoff_max, opts.reconnect_backoff * 2 ** min(attempt, 16))
        return random.uniform(0, cap)

    def _resubscribe(self, conn: Connection) -> None:
        parts = []
        for kind, names in self._wanted.items():
            if names:
                parts.append(encode_command((kind, *names)))
                self._resync.update((_KINDS[kind][0], key) for key in names)
        conn._writer.write(b"".join(parts))

    async def _read(self, conn: Connection) -> None:
        interval = self.options.health_check_interval
        limit = self.connection_options.command_timeout
        pinged = False
        while True:
            try:
                async with asyncio.timeout(limit if pinged else interval):
                    reply = await conn._read_reply()
            except TimeoutError:
                if pinged:
                    raise CommandTimeout(
                        f"no answer to PING within {limit}s (command_timeout)"
                    ) from None
                conn._writer.write(_PING)
                pinged = True
                continue
            pinged = False
            await self._dispatch(reply)

    async def _dispatch(self, reply: Any) -> None:
        if isinstance(reply, ReplyError):
            # Refused subscriptions (NOPERM, ...): every waiter learns why.
            for waiters in self._waiters.values():
                for future in waiters:
                    if not future.done():
                        future.set_exception(reply)
            return
        if not isinstance(reply, list) or not reply:
            return
        kind = _name(reply[0])
        if kind == "message":
            await self._push(Message("message", reply[1], reply[2]))
        elif kind == "pmessage":
            await self._push(Message("pmessage", reply[2], reply[3], reply[1]))
        elif kind == "smessage":
            await self._push(Message("smessage", reply[1], reply[2]))
        elif kind in _CONFIRMATIONS:
            self._confirmed(kind, reply[1])

    def _confirmed(self, kind: str, name: Any) -> None:
        if name is None:
            return
        key = _key(name, self.connection_options.encoding)
        for future in self._waiters.pop((kind, key), ()):
            if not future.done():
                future.set_result(None)
        if self._resync:
            self._resync.discard((kind, key))
            if not self._resync:
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
        for waiters in self._waiters.values():
            for future in waiters:
                future.cancel()
        self._waiters.clear()
        self._writable.set()
        self._readable.set()


def _describe(exc: BaseException, address: str) -> str:
    reason = str(exc) or type(exc).__name__
    return reason if address in reason else f"{address}: {reason}"
