"""One socket's lifetime: open, handshake, execute, abort or aclose.

``Connection`` is the socket's asyncio protocol, so everything the server
sends goes through one read path, ``data_received``: one ``hiredis.Reader``
parses it, and the connection knows how many replies it is owed. A reply
nobody is owed (a late reply, a misbehaving proxy, an unexpected RESP3 push)
breaks the connection at once, whatever its state, so it is never handed to
the next caller as theirs. Owed replies wait in an inbox for the one task
reading them (a command, a pipeline, or the reader of a shared connection).
RESP3 push frames go, on a subscribed connection, to the inbox with the
replies (the pub/sub reader tells them apart), else to the push handler if
one is set; anywhere else a push is owed to nobody.

Every command runs as ``mark busy -> write -> read -> mark ready``. Any
exception between the write and the complete reply, cancellation included,
aborts the transport before it propagates: a connection whose position in the
reply stream is unknown can never be used again (the structural fix for
redis-py#2624, CVE-2023-28858/9).

States (``ConnectionState``) change only here, through the methods the pool
(``check_in``/``check_out``), auto-pipelining and pub/sub (``start_stream``/
``end_stream``) call, and ``abort``/``aclose``.
"""

from __future__ import annotations

import asyncio
import collections
import enum
import itertools
import logging
import math
import os
import select
import socket
import ssl as _ssl
import time
from collections.abc import Callable
from typing import Any, Final

import hiredis

from . import _affinity as affinity
from . import _handshake as handshake
from ._config import ConnectionOptions
from ._credentials import fetch as fetch_credentials
from ._deadline import LazyTimer
from ._errors import (
    AuthenticationError,
    ConnectError,
    ConnectionFailure,
    ProtocolError,
    RedisError,
    ReplyError,
    SessionCommandError,
)
from ._protocol import (
    BLOCKING_INITIALS,
    NOT_ENOUGH,
    UNPAIRED,
    blocking_timeout,
    display_name,
    encode_command,
    make_reader,
    session_command,
)

__all__ = ["Connection", "ConnectionState"]

logger = logging.getLogger("aiopool.connection")

# A write buffer above this waits for the kernel to drain it (back-pressure for
# huge values); below it, the write returns at once with no await.
_DRAIN_ABOVE: Final = 1 << 20
# Parsed replies nobody has taken yet past which a streaming connection stops
# reading from the socket (a slow pub/sub consumer): the kernel's buffer, then
# the server's output buffer limit, push back instead of our memory.
_INBOX_HIGH: Final = 4096
_UNREAD_HIGH: Final = 1 << 21  # bytes received since the reader last took replies
# Windows has no poll(): there, unread bytes are found when the loop reads them.
_HAS_POLL: Final = hasattr(select, "poll")
# hiredis >= 3.2 returns RESP3 push frames as this list subclass.
_PUSH: Final[type | None] = getattr(hiredis, "PushNotification", None)


class ConnectionState(enum.IntEnum):
    """Where a connection is in its life; changed only by ``Connection``'s methods."""

    READY = 0  # borrowed, between commands
    BUSY = 1  # a command or a batch is in flight
    POOLED = 2  # idle in the pool: a stale reference gets a clear error
    STREAMING = 3  # shared (auto-pipelining) or subscribed (pub/sub): read with receive()
    CLOSED = 4

    def __repr__(self) -> str:
        return f"<ConnectionState {self.name}>"


READY: Final = ConnectionState.READY
BUSY: Final = ConnectionState.BUSY
POOLED: Final = ConnectionState.POOLED
STREAMING: Final = ConnectionState.STREAMING
CLOSED: Final = ConnectionState.CLOSED

_ids = itertools.count(1)


class Connection(asyncio.Protocol):
    """A single connection to a Redis server.

    Normally borrowed from a ``Pool`` (``async with pool.acquire() as conn``)
    rather than opened directly. Commands on one connection run one at a time;
    a second concurrent ``execute`` raises ``RuntimeError`` instead of
    interleaving replies. Bytes the server sends that no command is waiting
    for close the connection at once (``is_closed()`` turns true and the pool
    discards it), so they never reach a caller.
    """

    __slots__ = (
        "__weakref__",
        "_abort_reason",
        "_deadline",
        "_drain_waiter",
        "_error",
        "_inbox",
        "_loop",
        "_lost",
        "_on_close",
        "_owed",
        "_parser",
        "_polled",
        "_poller",
        "_push_handler",
        "_read_paused",
        "_session",
        "_timed_out",
        "_timer",
        "_transport",
        "_unread",
        "_waiter",
        "_want",
        "_write_paused",
        "address",
        "auth_generation",
        "checked_at",
        "created_at",
        "id",
        "last_used_at",
        "options",
        "state",
    )

    _transport: asyncio.Transport

    def __init__(self, options: ConnectionOptions) -> None:
        """Build the protocol half; ``open()`` connects it. Not for direct use."""
        self._parser = make_reader(
            options.encoding if options.decode_responses else None, options.encoding_errors
        )
        self.options = options
        self.address = options.address
        self.id = next(_ids)
        # last_used_at: last borrowed (idle reaping); checked_at: last known
        # alive, by a command or a keepalive PING (health checks).
        self.created_at = self.last_used_at = self.checked_at = time.monotonic()
        self.state = READY
        self.auth_generation = 0  # of the credential_provider's credentials it AUTHed with
        self._abort_reason: str | None = None
        self._loop = asyncio.get_running_loop()
        # The reply deadline (loop time) of the command in flight, enforced
        # by one lazily re-armed timer.
        self._deadline: float | None = None
        self._timer = LazyTimer(self._loop, self._deadline_passed)
        self._timed_out = False
        # The first command run through execute() that changed the session
        # (SELECT, MULTI, SUBSCRIBE, ...): the pool discards the connection.
        self._session: str | None = None
        # The read path: replies owed by the server (math.inf once
        # subscribed: messages come unasked), parsed replies not yet taken,
        # and the one task waiting for ``_want`` of them.
        self._owed: float = 0
        self._inbox: collections.deque[Any] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None
        self._want = 0
        # Why the connection can no longer be used (raised to its next reader).
        self._error: BaseException | None = None
        self._push_handler: Callable[[Any], None] | None = None
        self._on_close: Callable[[Connection], None] | None = None
        self._read_paused = False
        self._unread = 0
        self._write_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self._lost: asyncio.Future[None] | None = None
        # Polls the socket before a command is written: bytes that reached
        # the kernel while nothing was owed, and that the loop has not read
        # yet, would otherwise pass for the command's reply. None over TLS,
        # where the socket carries records (session tickets) that are not replies.
        self._poller: select.poll | None = None
        # The pool's checkout polled just now: the first write skips its poll.
        self._polled = False
        affinity.track_socket(self)

    def __repr__(self) -> str:
        session = f" after {self._session}" if self._session else ""
        state = self.state.name.lower()
        if self._error is not None and self.state != CLOSED:
            state += " broken"
        return f"<Connection #{self.id} {self.address} db={self.options.db} {state}{session}>"

    # -- opening ---------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        options: ConnectionOptions,
        *,
        timeout: float | None = None,
        push_handler: Callable[[Any], None] | None = None,
        on_close: Callable[[Connection], None] | None = None,
    ) -> Connection:
        """Open a connection and run the handshake (AUTH, SELECT, CLIENT SETNAME).

        ``push_handler``/``on_close``: as ``set_push_handler()``, in place
        before the handshake (a tracking connection's pushes can follow it at
        once). ``timeout`` (default ``options.connect_timeout``) bounds the whole of
        it. Raises ``ConnectError`` when the server cannot be reached in time,
        ``AuthenticationError`` when it refuses the credentials, and
        ``ReplyError`` for another refused handshake step (such as a ``db``
        out of range). On any failure or cancellation the socket is closed
        before the exception propagates.
        """
        if timeout is None:
            timeout = options.connect_timeout
        address = options.address
        generation, credentials = 0, None
        if options.credential_provider is not None:  # asked first, within the same time
            started = time.monotonic()
            generation, credentials = await fetch_credentials(
                options.credential_provider, address, timeout
            )
            timeout = None if timeout is None else max(timeout - time.monotonic() + started, 0)
        conn = cls(options)
        conn.auth_generation = generation
        conn._push_handler, conn._on_close = push_handler, on_close
        loop = conn._loop
        try:
            async with asyncio.timeout(timeout):
                ssl_context = options.ssl_context()
                if options.path is not None:
                    await loop.create_unix_connection(lambda: conn, options.path, ssl=ssl_context)
                else:
                    await loop.create_connection(
                        lambda: conn, options.host, options.port, ssl=ssl_context
                    )
                conn._set_keepalive()
                await conn._handshake(credentials)
                return conn
        except TimeoutError as exc:
            conn._abort_transport()
            if isinstance(exc, OSError) and exc.errno is not None:
                raise ConnectError(
                    f"could not connect to {address}: {exc.strerror}", address
                ) from exc
            limit = f"{timeout:.3g}s" if timeout is not None else "the time allowed"
            raise ConnectError(
                f"could not connect to {address} within {limit} "
                f"(connect_timeout={options.connect_timeout}s; is the server up and reachable? "
                "raise connect_timeout if it is just slow)",
                address,
            ) from exc
        except _ssl.SSLError as exc:
            conn._abort_transport()
            raise ConnectError(f"TLS handshake with {address} failed: {exc}", address) from exc
        except ProtocolError as exc:
            conn._abort_transport()
            raise ProtocolError(
                f"{address} answered the handshake with bytes that are not RESP ({exc}); "
                "is it a Redis server? The connection was closed"
            ) from exc
        except OSError as exc:
            conn._abort_transport()
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise ConnectError(f"could not connect to {address}: {reason}", address) from exc
        except BaseException:
            conn._abort_transport()
            raise

    def _abort_transport(self) -> None:
        self.state = CLOSED
        self._timer.cancel()
        transport = getattr(self, "_transport", None)
        if transport is not None:
            transport.abort()

    def _set_keepalive(self) -> None:
        idle = self.options.tcp_keepalive
        sock = self._transport.get_extra_info("socket")
        if idle is None or sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
            return
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        if hasattr(socket, "TCP_KEEPIDLE"):
            seconds = max(1, int(idle))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, seconds)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, max(1, seconds // 4))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)

    async def _handshake(self, credentials: tuple[str | None, str] | None) -> None:
        steps = handshake.steps(self.options, credentials)
        self._owed += len(steps)
        self._transport.write(b"".join(encode_command(step) for step in steps))
        # Read every reply before judging any, so a failure leaves nothing owed.
        try:
            replies = await self._take(len(steps))
        except OSError:
            # A refusal (maxclients) answers the first command and hangs up:
            # report the refusal, not the hang-up.
            replies = list(self._inbox)
            for step, reply in zip(steps, replies, strict=False):
                if isinstance(reply, ReplyError):
                    raise handshake.refusal(self.address, self.options, step, reply) from None
            raise
        for step, reply in zip(steps, replies, strict=True):
            if isinstance(reply, ReplyError):
                raise handshake.refusal(self.address, self.options, step, reply)

    # -- commands --------------------------------------------------------------

    async def execute(self, *args: Any, timeout: float | bool | None = True) -> Any:
        """Send one command and return its reply.

        Error replies raise ``ReplyError`` (the connection stays usable).
        ``timeout`` overrides ``command_timeout`` for this call (``None``: wait
        for ever; ``True``: the option, plus the blocking time of a blocking
        command such as ``BLPOP``). On timeout (``CommandTimeout``),
        lost connection (``ConnectionFailure``), protocol error, or
        cancellation, the connection is aborted before the exception
        propagates and cannot be used again.

        A command that changes the session (``SELECT``, ``MULTI``, ``WATCH``,
        ``CLIENT TRACKING``, ...) is allowed here, but the pool then closes
        this connection when it comes back instead of handing its state to
        the next borrower. Commands after which replies stop pairing with
        commands (``SUBSCRIBE``, ``MONITOR``, ``CLIENT REPLY``,
        ``SCRIPT DEBUG``, ``SYNC``) raise ``SessionCommandError``.
        """
        data = encode_command(args)
        if self._session is None and (changed := session_command(args)) is not None:
            name, advice = changed
            if name in UNPAIRED:
                raise SessionCommandError(
                    f"{name} stops replies from pairing one-to-one with commands, so the next "
                    f"command on this connection would read something else's reply; use {advice}"
                )
            self._session = name
        return await self.request(data, args, timeout)

    async def request(
        self, data: bytes, args: tuple[Any, ...], timeout: float | bool | None
    ) -> Any:
        """Write one encoded command and read its reply (``args`` only name it in errors).

        Package-level: ``execute()`` without the session checks, for callers
        that encoded the command already. Failure handling is ``execute()``'s.
        """
        if self.state != READY:
            self._not_ready()
        if timeout is True:
            first = args[0]
            if first.__class__ is str and first[:1] not in BLOCKING_INITIALS:
                timeout = self.options.command_timeout  # the common case, without a call
            else:
                timeout = blocking_timeout(args, self.options.command_timeout)
        self.state = BUSY
        try:
            self._write(data, 1)
            if timeout is not None:
                # The drain is inside the limit too: a huge value written to
                # a frozen server must not wait for ever for buffer space.
                deadline = self._deadline = self._loop.time() + timeout
                if deadline < self._timer.when:  # else the armed timer comes first anyway
                    self._timer.arm(deadline)
            if self._write_paused:
                await self.drain()
            inbox = self._inbox
            if not inbox:
                # _wait(1), inline: this is every command's one await.
                if self._error is not None:
                    raise self._error
                waiter = self._waiter = self._loop.create_future()
                self._want = 1
                self._unread = 0
                await waiter
            reply = inbox.popleft()
        except BaseException as exc:
            self.abort()
            raise self.failure(exc, display_name(args), timeout) from exc
        self._deadline = None
        self.state = READY
        if isinstance(reply, ReplyError):
            raise self.error_reply(reply)
        return reply

    async def request_many(
        self, data: bytes, count: int, what: str, timeout: float | None
    ) -> list[Any]:
        """Write several encoded commands in one go and read ``count`` replies.

        Error replies stay values in the list (the connection is in sync);
        ``what`` names the batch in errors. Failure handling is ``request``'s.
        """
        if self.state != READY:
            self._not_ready()
        self.state = BUSY
        try:
            self._write(data, count)
            if timeout is not None:
                self._arm(timeout)
            if self._write_paused:
                await self.drain()
            replies = await self._take(count)
        except BaseException as exc:
            self.abort()
            first = self._inbox[0] if self._inbox else None
            if isinstance(first, ReplyError) and handshake.is_maxclients(first):
                # Sent instead of any reply before the server hung up: nothing ran.
                raise handshake.maxclients_error(self.address, first) from exc
            raise self.failure(exc, what, timeout) from exc
        self._deadline = None
        self.state = READY
        return replies

    def error_reply(self, reply: ReplyError) -> RedisError:
        """The exception a caller gets for an error reply to its command."""
        if handshake.is_maxclients(reply):
            # Sent instead of any reply, before the server closes the
            # socket: our command was never run.
            self.abort()
            return handshake.maxclients_error(self.address, reply)
        if isinstance(reply, AuthenticationError):
            return AuthenticationError(
                f"{self.address}: {reply.message} (give the password option, "
                "or credentials in the URL: redis://user:password@host)",
                reply.code,
            )
        return reply

    # -- streaming use (auto-pipelining, pub/sub) -------------------------------------

    def start_stream(self, *, subscribed: bool = False) -> None:
        """Hand the connection to one reader that sends with ``send()`` and reads with ``receive()``.

        Shared by auto-pipelining, each ``send()`` says how many replies it is
        owed. ``subscribed`` (pub/sub) owes replies without asking: messages,
        and under RESP3 every push frame, which then comes through
        ``receive()`` in order with the replies (a ``hiredis.PushNotification``,
        so the reader tells them apart), even if a push handler is set.
        Direct commands raise ``RuntimeError`` from now on.
        """
        if self.state != READY:
            self._not_ready()
        self.state = STREAMING
        if subscribed:
            self._owed = math.inf

    def end_stream(self) -> bool:
        """Back from streaming: True when in step and open (ready for commands), else aborted."""
        if self.state == STREAMING and self._in_step():
            self.state = READY
            return True
        self.abort()
        return False

    def send(self, data: bytes, replies: int) -> bool:
        """Write ``data`` (``replies`` commands) without waiting; False when it was not sent.

        False means the socket was found closed and none of ``data`` left this
        host. Only while streaming.
        """
        if self.state != STREAMING:
            self._not_ready()
        try:
            self._write(data, replies)
        except _NotSent:
            return False
        return True

    async def receive(self, into: list[Any]) -> None:
        """Wait for at least one reply, then move every reply received so far to ``into``.

        Raises the low-level reason once the connection broke
        (``ConnectionResetError``, ``ProtocolError``, ...; translate it with
        ``failure()``), after the replies received before the break were taken.
        Cancellation loses nothing: replies stay for the next call.
        """
        inbox = self._inbox
        if not inbox:
            await self._wait(1)
        into.extend(inbox)
        inbox.clear()
        self._unread = 0
        if self._read_paused and self._error is None:
            self._read_paused = False
            self._transport.resume_reading()

    def write_backlog(self) -> int:
        """Bytes written but still waiting for the kernel to take them."""
        return self._transport.get_write_buffer_size()

    async def drain(self) -> None:
        """Wait until the write buffer is below its high-water mark (1 MiB)."""
        if not self._write_paused:
            return
        if self._error is not None:
            raise self._error
        waiter = self._drain_waiter = self._loop.create_future()
        await waiter

    def set_push_handler(
        self,
        handler: Callable[[Any], None] | None,
        on_close: Callable[[Connection], None] | None = None,
    ) -> None:
        """Route RESP3 push frames to ``handler``; without one a push frame breaks the connection.

        Not while subscribed (``start_stream(subscribed=True)``): the reader
        then takes every push frame, invalidations included.

        ``on_close(self)`` runs once, when the socket is gone (for whatever
        reason): from then on no push frame can arrive, invalidations included.
        """
        self._push_handler = handler
        self._on_close = on_close

    def failure(self, exc: BaseException, name: str, timeout: object) -> BaseException:
        """Translate a low-level exception once, here; the connection is already aborted."""
        if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt | SystemExit):
            return exc
        if self._timed_out:
            exc = TimeoutError()
        if isinstance(exc, _NotSent):
            return self._not_sent(name)
        return handshake.translate(exc, self.address, name, timeout, self.options.encoding)

    # -- the read path -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """asyncio protocol callback: the socket is connected (not for direct use)."""
        # A stream transport (uvloop's do not subclass asyncio.Transport).
        self._transport = transport  # type: ignore[assignment]
        self._transport.set_write_buffer_limits(high=_DRAIN_ABOVE)
        sock = transport.get_extra_info("socket")
        if sock is not None and _HAS_POLL and transport.get_extra_info("sslcontext") is None:
            self._poller = select.poll()
            self._poller.register(sock.fileno(), select.POLLIN)

    def data_received(self, data: bytes) -> None:
        """Parse what arrived; owed replies go to the inbox, anything else breaks the connection."""
        parser = self._parser
        parser.feed(data)
        inbox = self._inbox
        start = len(inbox)
        try:
            reply = parser.gets()
            while reply is not NOT_ENOUGH:
                if type(reply) is _PUSH:
                    if self._owed == math.inf:  # subscribed: the reader sorts them
                        inbox.append(reply)
                    elif self._push_handler is not None:
                        self._push_handler(reply)
                    else:
                        self._unsolicited("a RESP3 push frame nobody handles", start=start)
                        return
                elif self._owed:
                    self._owed -= 1
                    inbox.append(reply)
                else:
                    self._unsolicited("a reply nobody asked for", start=start)
                    return
                reply = parser.gets()
        except (ProtocolError, UnicodeDecodeError) as exc:
            # Replies parsed from the same bytes as an invalid one are not
            # handed out: hiredis does not check the CRLF after a bulk string,
            # so the last of them may be cut short.
            self._break(exc, start=start)
            return
        except handshake.PARSER_CRASHES as exc:
            self._break(handshake.unparsable(exc), start=start)
            return
        if not self._owed and parser.has_data() and self._push_handler is None:
            # (With a push handler it may be the start of a push: _write checks.)
            self._unsolicited("more bytes after the last reply owed", start=start)
            return
        waiter = self._waiter
        if waiter is not None:
            if len(inbox) >= self._want:
                self._waiter = None
                if not waiter.done():
                    waiter.set_result(None)
            return
        # Nobody is reading (a busy pub/sub consumer): stop reading from the
        # socket past a bound, so the kernel and the server push back.
        self._unread += len(data)
        if (len(inbox) > _INBOX_HIGH or self._unread > _UNREAD_HIGH) and not self._read_paused:
            self._read_paused = True
            self._transport.pause_reading()

    def eof_received(self) -> bool:
        """asyncio protocol callback: the server closed its side; the connection breaks."""
        self._break(ConnectionResetError(self._closed_reason()))
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        """asyncio protocol callback: the socket is gone; whoever reads gets the reason."""
        self._break(exc if exc is not None else ConnectionResetError(self._closed_reason()))
        self._timer.cancel()
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)
        self._gone()

    def _gone(self) -> None:
        """The socket is gone or going (broken, aborted, lost): tell ``on_close``, once."""
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close(self)

    def pause_writing(self) -> None:
        """asyncio protocol callback: the write buffer passed 1 MiB; writers drain first."""
        self._write_paused = True

    def resume_writing(self) -> None:
        """asyncio protocol callback: the write buffer drained; wake a waiting ``drain()``."""
        self._write_paused = False
        waiter, self._drain_waiter = self._drain_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _unsolicited(self, what: str, when: str | None = None, *, start: int | None = None) -> None:
        """Bytes nobody is owed arrived: replies no longer pair with commands, whatever the state."""
        logger.warning(
            "%r: %s arrived (%s); the connection was closed so that no caller reads it",
            self,
            what,
            when or f"while {self.state.name.lower()}",
        )
        self._break(
            ProtocolError(
                f"{self.address} sent {what}, so replies no longer pair with commands; "
                "the connection was closed"
            ),
            start=start,
        )

    def _found_unread(self) -> bool:
        """Before a write with nothing owed, the socket had something the loop had not read.

        With a push handler (RESP3 tracking), the bytes are read now and go
        through ``data_received``: invalidations reach the handler and the
        connection stays usable (True); anything else breaks it there.
        Otherwise they are bytes nobody asked for (they would pass for the
        next reply) or the server's hang-up: the connection breaks (False).
        """
        absorb = self._push_handler is not None
        sock = self._transport.get_extra_info("socket")
        fd = -1 if sock is None else sock.fileno()
        data = b""
        if fd >= 0:  # not already closed by an abort
            try:
                peek = socket.socket(fileno=fd)
            except OSError as exc:
                self._break(exc)
                return False
            try:
                if not absorb:
                    data = peek.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
                for _ in range(64 if absorb else 0):  # at most 4 MiB of pushes
                    data = peek.recv(1 << 16, socket.MSG_DONTWAIT)
                    if not data:
                        break
                    self.data_received(data)
                    if self._error is not None:
                        return False
            except BlockingIOError:  # all read (or, without a handler, nothing after all)
                if absorb:
                    return True
            except OSError as exc:
                self._break(exc)
                return False
            finally:
                peek.detach()
        self._poller = None
        if data:
            self._unsolicited("bytes nobody asked for", "found before a write")
        else:
            self._break(ConnectionResetError(self._closed_reason()))
        return False

    def _break(self, exc: BaseException, *, start: int | None = None) -> None:
        """The connection can no longer be used: wake its reader with ``exc`` and abort.

        ``start``: the inbox's length before the bytes that broke it; replies
        parsed from those bytes are dropped, never handed out.
        """
        if start is not None:
            inbox = self._inbox
            while len(inbox) > start:
                inbox.pop()
        if self._error is None:
            self._error = exc
            if self._abort_reason is None and isinstance(exc, ProtocolError):
                self._abort_reason = str(exc)
        error = self._error
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)
        waiter, self._drain_waiter = self._drain_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)
        self._transport.abort()
        self._gone()

    def _wait(self, want: int) -> asyncio.Future[None]:
        """A future resolved once the inbox holds ``want`` replies (or failed when broken)."""
        if self._error is not None:
            raise self._error
        waiter = self._waiter = self._loop.create_future()
        self._want = want
        self._unread = 0
        if self._read_paused:
            self._read_paused = False
            self._transport.resume_reading()
        return waiter

    async def _take(self, count: int) -> list[Any]:
        """The next ``count`` replies, waiting for them as needed."""
        inbox = self._inbox
        if len(inbox) < count:
            await self._wait(count)
        if len(inbox) == count:
            replies = list(inbox)
            inbox.clear()
            return replies
        return [inbox.popleft() for _ in range(count)]

    def _write(self, data: bytes, replies: int) -> None:
        if not self._owed:
            if self._poller is not None:
                if self._polled:
                    self._polled = False
                elif self._poller.poll(0) and not self._found_unread():
                    raise _NotSent
            if self._push_handler is not None and self._parser.has_data():
                # Part of a frame is waiting: a push cut in two, or a stray
                # reply that the next reply would complete. Nothing tells them apart.
                self._unsolicited("part of a frame nobody asked for", "found before a write")
                raise _NotSent
        self._owed += replies
        transport = self._transport
        transport.write(data)
        if transport.is_closing():
            # The first send() failed (a reset the loop had not reported yet)
            # or the socket was already gone: none of ``data`` left this host.
            raise _NotSent

    def _in_step(self) -> bool:
        return (
            not self._owed
            and not self._inbox
            and self._error is None
            and not self._parser.has_data()
            and not self._transport.is_closing()
        )

    # -- deadlines -----------------------------------------------------------------------

    def _arm(self, timeout: float) -> None:
        """Set the reply deadline of the command in flight to ``timeout`` from now."""
        deadline = self._deadline = self._loop.time() + timeout
        self._timer.arm(deadline)

    def _deadline_passed(self) -> float | None:
        deadline = self._deadline
        if deadline is None or self.state != BUSY:
            return None  # the command finished in time; the connection is idle
        if self._loop.time() < deadline:
            return deadline
        # Wake the read; failure() reports it as a timeout.
        self._timed_out = True
        self._break(TimeoutError())
        return None

    # -- errors --------------------------------------------------------------------------

    def _not_sent(self, name: str) -> ConnectionFailure:
        why = f" ({self._abort_reason})" if self._abort_reason else ""
        return ConnectionFailure(
            f"connection to {self.address} was found closed as {name} was written{why}; "
            "the command was not sent",
            self.address,
        )

    def _closed_reason(self) -> str:
        return self._abort_reason or "the server closed the connection"

    def _not_ready(self) -> None:
        if self.state == BUSY:
            raise RuntimeError(
                f"{self!r} is running another command; a connection serves one command at a "
                "time (borrow one per task from the pool)"
            )
        if self.state == POOLED:
            raise RuntimeError(
                f"{self!r} was returned to the pool; use a connection only inside its "
                "'async with pool.acquire()' block"
            )
        if self.state == STREAMING:
            raise RuntimeError(
                f"{self!r} is shared by auto-pipelining or subscribed; it takes no direct commands"
            )
        if isinstance(self._transport, affinity.Disowned):
            raise RuntimeError(str(self._error))
        raise ConnectionFailure(f"{self!r} is closed; borrow a new one from the pool", self.address)

    # -- state and teardown ----------------------------------------------------

    def check_in(self) -> bool:
        """The pool takes the connection back if ``is_reusable()``: True, and it is pooled.

        A pooled connection refuses commands until checked out. False (not
        reusable) leaves it as it is, for the pool to abort.
        """
        if self.is_reusable():
            self.state = POOLED
            return True
        return False

    def check_out(self) -> bool:
        """The pool hands the connection to a borrower (or its health check) if it is fit.

        True, and the connection is ready, when ``is_pooled_and_open()``
        (which also polls the socket); False leaves a broken one broken.
        """
        if self.is_pooled_and_open():
            self.state = READY
            return True
        return False

    def is_reusable(self) -> bool:
        """True when the connection is idle, in sync, in its original session and open."""
        return (
            self.state == READY
            and self._session is None
            and not self._owed
            and not self._inbox
            and self._error is None
            and not self._parser.has_data()
            and not self._transport.is_closing()
        )

    def is_pooled_and_open(self) -> bool:
        """True for an idle pooled connection that is open and has received nothing unasked.

        Also polls the socket: bytes the loop has not read yet, or the
        server's hang-up, break the connection here (so the pool discards it)
        rather than at the borrower's first command.
        """
        if self.state != POOLED or self._error is not None:
            return False
        poller = self._poller
        if poller is None:
            return not self._transport.is_closing()
        # An idle socket the peer closed or reset polls as readable too.
        if self._transport.is_closing() or (poller.poll(0) and not self._found_unread()):
            if self._error is None:
                self._break(ConnectionResetError(self._closed_reason()))
            return False
        self._polled = True
        return True

    def is_closed(self) -> bool:
        """True once ``abort()`` or ``aclose()`` was called or the connection broke."""
        return self.state == CLOSED or self._error is not None or self._transport.is_closing()

    def is_inherited(self) -> bool:
        """True once ``disown()`` let go of the socket: this process is a fork's child."""
        return isinstance(self._transport, affinity.Disowned)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """The transport's ``get_extra_info()`` (``"socket"``, ``"peername"``, ``"ssl_object"``)."""
        return self._transport.get_extra_info(name, default)

    def abort(self, reason: str | None = None) -> None:
        """Close the socket at once, without waiting; idempotent and never raises.

        ``reason`` (such as "the pool was closed") replaces "the server closed
        the connection" in the error of a command cut short by this abort.
        """
        if reason is not None and self.state != CLOSED:
            self._abort_reason = reason
        self.state = CLOSED
        self._deadline = None
        self._timer.cancel()
        self._transport.abort()
        self._gone()

    def disown(self, null_fd: int) -> None:
        """In a forked child: let go of the parent's socket without touching it (``_affinity``).

        This process's descriptor is pointed at ``null_fd`` (``/dev/null``),
        so the server sees the socket close when the parent closes it.
        Commands raise ``RuntimeError`` naming the fork from now on.
        """
        transport = getattr(self, "_transport", None)
        if isinstance(transport, affinity.Disowned):
            return
        if transport is not None:
            sock = transport.get_extra_info("socket")
            if sock is not None and null_fd >= 0:
                try:
                    os.dup2(null_fd, sock.fileno())
                except (OSError, ValueError):  # already closed: nothing to let go of
                    pass
            affinity.keep(transport)
        self.state = CLOSED
        self._deadline = None
        self._abort_reason = "this process was forked from the one that opened it"
        self._error = RuntimeError(
            affinity.inherited(f"connection #{self.id} to {self.address}", "its socket is")
        )
        self._transport = affinity.Disowned()

    async def aclose(self, timeout: float = 1.0) -> None:
        """Close the socket gracefully, waiting at most ``timeout`` seconds.

        Cancellation aborts the socket and propagates.
        """
        if isinstance(self._transport, affinity.Disowned):
            return
        self.state = CLOSED
        self._deadline = None
        self._timer.cancel()
        transport = self._transport
        if self._lost is None:
            self._lost = self._loop.create_future()
            if self._error is not None and transport.is_closing():
                # connection_lost may have run already.
                self._lost.set_result(None)
        lost = self._lost
        transport.close()
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(lost)
        except (OSError, TimeoutError):
            transport.abort()
        except BaseException:
            transport.abort()
            raise


class _NotSent(Exception):
    """Internal: the write failed synchronously, so the command never left."""
