"""One socket's lifetime: open, handshake, execute, abort or aclose.

Every command runs as ``mark busy -> write -> read -> mark ready``. Any
exception between the write and the complete reply, cancellation included,
aborts the transport before it propagates: a connection whose position in the
reply stream is unknown can never be used again (the structural fix for
redis-py#2624, CVE-2023-28858/9).
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import ssl as _ssl
import time
from typing import Any, Final

from ._config import ConnectionOptions
from ._errors import (
    AuthenticationError,
    BusyLoadingError,
    CommandTimeout,
    ConnectError,
    ConnectionFailure,
    ConnectionLost,
    ProtocolError,
    RedisError,
    ReplyError,
    SessionCommandError,
)
from ._protocol import (
    NOT_ENOUGH,
    UNPAIRED,
    blocking_timeout,
    display_name,
    encode_command,
    make_reader,
    session_command,
)

__all__ = ["Connection"]

_READ_SIZE: Final = 1 << 18
_STREAM_LIMIT: Final = 1 << 20
# A write buffer above this waits for the kernel to drain it (back-pressure for
# huge values); below it, the write returns at once with no await.
_DRAIN_ABOVE: Final = 1 << 20

# Connection states. ``POOLED`` is set by the pool while the connection sits
# idle: a caller who kept a reference after release gets a clear error instead
# of sharing a socket with the next borrower.
READY: Final = 0
BUSY: Final = 1
POOLED: Final = 2
CLOSED: Final = 3
_STATE_NAMES: Final = ("ready", "busy", "pooled", "closed")

_ids = itertools.count(1)


class Connection:
    """A single connection to a Redis server.

    Normally borrowed from a ``Pool`` (``async with pool.acquire() as conn``)
    rather than opened directly. Commands on one connection run one at a time;
    a second concurrent ``execute`` raises ``RuntimeError`` instead of
    interleaving replies.
    """

    __slots__ = (
        "_abort_reason",
        "_deadline",
        "_loop",
        "_parser",
        "_reader",
        "_session",
        "_timed_out",
        "_timer",
        "_transport",
        "_writer",
        "address",
        "checked_at",
        "created_at",
        "id",
        "last_used_at",
        "options",
        "state",
    )

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        options: ConnectionOptions,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._transport = writer.transport
        self._parser = make_reader(options.encoding if options.decode_responses else None)
        self.options = options
        self.address = options.address
        self.id = next(_ids)
        # last_used_at: last borrowed (idle reaping); checked_at: last known
        # alive, by a command or a keepalive PING (health checks).
        self.created_at = self.last_used_at = self.checked_at = time.monotonic()
        self.state = READY
        self._abort_reason: str | None = None
        # The reply deadline (loop time) of the command in flight, and one
        # lazily re-armed timer that enforces it (see _arm()).
        self._loop = asyncio.get_running_loop()
        self._deadline: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timed_out = False
        # The first command run through execute() that changed the session
        # (SELECT, MULTI, SUBSCRIBE, ...): the pool discards the connection.
        self._session: str | None = None

    def __repr__(self) -> str:
        session = f" after {self._session}" if self._session else ""
        return (
            f"<Connection #{self.id} {self.address} db={self.options.db} "
            f"{_STATE_NAMES[self.state]}{session}>"
        )

    # -- opening ---------------------------------------------------------------

    @classmethod
    async def open(cls, options: ConnectionOptions, *, timeout: float | None = None) -> Connection:
        """Open a connection and run the handshake (AUTH, SELECT, CLIENT SETNAME).

        ``timeout`` (default ``options.connect_timeout``) bounds the whole of
        it. Raises ``ConnectError`` when the server cannot be reached in time,
        ``AuthenticationError`` when it refuses the credentials, and
        ``ReplyError`` for another refused handshake step (such as a ``db``
        out of range). On any failure or cancellation the socket is closed
        before the exception propagates.
        """
        if timeout is None:
            timeout = options.connect_timeout
        writer: asyncio.StreamWriter | None = None
        address = options.address
        try:
            async with asyncio.timeout(timeout):
                ssl_context = _ssl_context(options.ssl)
                if options.path is not None:
                    reader, writer = await asyncio.open_unix_connection(
                        options.path, ssl=ssl_context, limit=_STREAM_LIMIT
                    )
                else:
                    reader, writer = await asyncio.open_connection(
                        options.host, options.port, ssl=ssl_context, limit=_STREAM_LIMIT
                    )
                conn = cls(reader, writer, options)
                conn._set_keepalive()
                await conn._handshake()
                return conn
        except TimeoutError as exc:
            _abort_writer(writer)
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
            _abort_writer(writer)
            raise ConnectError(f"TLS handshake with {address} failed: {exc}", address) from exc
        except ProtocolError as exc:
            _abort_writer(writer)
            raise ProtocolError(
                f"{address} answered the handshake with bytes that are not RESP ({exc}); "
                "is it a Redis server? The connection was closed"
            ) from exc
        except OSError as exc:
            _abort_writer(writer)
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise ConnectError(f"could not connect to {address}: {reason}", address) from exc
        except BaseException:
            _abort_writer(writer)
            raise

    def _set_keepalive(self) -> None:
        idle = self.options.tcp_keepalive
        sock = self._writer.get_extra_info("socket")
        if idle is None or sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
            return
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        if hasattr(socket, "TCP_KEEPIDLE"):
            seconds = max(1, int(idle))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, seconds)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, max(1, seconds // 4))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)

    async def _handshake(self) -> None:
        opts = self.options
        steps: list[tuple[Any, ...]] = []
        if opts.password is not None:
            if opts.username:
                steps.append(("AUTH", opts.username, opts.password))
            else:
                steps.append(("AUTH", opts.password))
        if opts.db:
            steps.append(("SELECT", opts.db))
        if opts.client_name:
            steps.append(("CLIENT", "SETNAME", opts.client_name))
        if opts.readonly:
            steps.append(("READONLY",))
        # Always a PING, in the same write: a socket accepted by a proxy, a
        # backlog or a frozen server is not a Redis connection until something
        # answers, and AUTH, SELECT and CLIENT SETNAME are allowed while the
        # server loads its data, PING is not (its LOADING is retried).
        steps.append(("PING",))
        self._writer.write(b"".join(encode_command(step) for step in steps))
        # Read every reply before judging any, so a failure leaves nothing owed.
        replies: list[Any] = []
        try:
            for _ in steps:
                replies.append(await self._read_reply())
        except OSError:
            # A refusal (maxclients) answers the first command and hangs up:
            # report the refusal, not the hang-up.
            for step, reply in zip(steps, replies, strict=False):
                if isinstance(reply, ReplyError):
                    raise self._handshake_error(step, reply) from None
            raise
        for step, reply in zip(steps, replies, strict=True):
            if isinstance(reply, ReplyError):
                raise self._handshake_error(step, reply)

    def _handshake_error(self, step: tuple[Any, ...], reply: ReplyError) -> RedisError:
        name = step[0] if step[0] != "CLIENT" else "CLIENT SETNAME"
        if isinstance(reply, BusyLoadingError):
            return reply
        if _is_maxclients(reply):
            return self._maxclients_error(reply)
        if name == "PING":
            if isinstance(reply, AuthenticationError):
                return AuthenticationError(
                    f"{self.address} requires a password: {reply.message} (give the password "
                    "option, or credentials in the URL: redis://user:password@host)",
                    reply.code,
                )
            return type(reply)(f"{self.address} refused PING: {reply.message}", reply.code)
        if name == "AUTH" or isinstance(reply, AuthenticationError):
            user = (
                f"user {self.options.username!r}" if self.options.username else "the default user"
            )
            action = (
                f"refused AUTH for {user}" if name == "AUTH" else f"requires a password ({name})"
            )
            return AuthenticationError(
                f"{self.address} {action}: {reply.message} "
                "(check the username and password options or the URL's credentials)",
                reply.code,
            )
        if name == "READONLY":
            return type(reply)(
                f"{self.address} refused READONLY: {reply.message} (the readonly option is "
                "for cluster replicas; turn it off for this server)",
                reply.code,
            )
        option = "db" if name == "SELECT" else "client_name"
        shown = self.options.db if name == "SELECT" else self.options.client_name
        return type(reply)(
            f"{self.address} refused {name} {shown}: {reply.message} (check the {option} option)",
            reply.code,
        )

    def _maxclients_error(self, reply: ReplyError) -> ConnectError:
        return ConnectError(
            f"{self.address} refused the connection: {reply.message} (the server's maxclients "
            "limit; lower max_size across your processes or raise maxclients); "
            "no command was run",
            self.address,
        )

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
            timeout = blocking_timeout(args, self.options.command_timeout)
        self.state = BUSY
        try:
            self._write(data)
            if timeout is not None:
                # The drain is inside the limit too: a huge value written to
                # a frozen server must not wait for ever for buffer space.
                self._arm(timeout)
            if self._transport.get_write_buffer_size() > _DRAIN_ABOVE:
                await self._writer.drain()
            reply = await self._read_reply()
            if self._parser.has_data():
                self._check_drained()
        except BaseException as exc:
            self.abort()
            raise self._failure(exc, display_name(args), timeout) from exc
        self._deadline = None
        self.state = READY
        if isinstance(reply, ReplyError):
            raise self._error_reply(reply)
        return reply

    def _error_reply(self, reply: ReplyError) -> RedisError:
        """The exception a caller gets for an error reply to its command."""
        if _is_maxclients(reply):
            # Sent instead of any reply, before the server closes the
            # socket: our command was never run.
            self.abort()
            return self._maxclients_error(reply)
        if isinstance(reply, AuthenticationError):
            return AuthenticationError(
                f"{self.address}: {reply.message} (give the password option, "
                "or credentials in the URL: redis://user:password@host)",
                reply.code,
            )
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
        replies: list[Any] = []
        try:
            self._write(data)
            if timeout is not None:
                self._arm(timeout)
            if self._transport.get_write_buffer_size() > _DRAIN_ABOVE:
                await self._writer.drain()
            await self._read_replies(count, replies)
            self._check_drained()
        except BaseException as exc:
            self.abort()
            first = replies[0] if replies else None
            if isinstance(first, ReplyError) and _is_maxclients(first):
                # Sent instead of any reply before the server hung up: nothing ran.
                raise self._maxclients_error(first) from exc
            raise self._failure(exc, what, timeout) from exc
        self._deadline = None
        self.state = READY
        return replies

    def _arm(self, timeout: float) -> None:
        """Set the reply deadline of the command in flight to ``timeout`` from now.

        One timer per connection, re-armed lazily: while commands keep
        completing, deadlines only move later, so the armed timer just fires
        once per ``timeout`` and re-arms at the current deadline. That costs
        a clock read per command instead of a timer (and, with
        ``asyncio.timeout``, a context object and a task lookup) each.
        """
        deadline = self._deadline = self._loop.time() + timeout
        timer = self._timer
        if timer is None:
            self._timer = self._loop.call_at(deadline, self._deadline_passed)
        elif timer.when() > deadline:  # a shorter limit than the armed one
            timer.cancel()
            self._timer = self._loop.call_at(deadline, self._deadline_passed)

    def _disarm(self) -> None:
        self._deadline = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _deadline_passed(self) -> None:
        self._timer = None
        deadline = self._deadline
        if deadline is None or self.state != BUSY:
            return  # the command finished in time; the connection is idle
        if self._loop.time() < deadline:
            self._timer = self._loop.call_at(deadline, self._deadline_passed)
            return
        # Wake the read with EOF; _failure() reports it as a timeout.
        self._timed_out = True
        self._transport.abort()

    def _write(self, data: bytes) -> None:
        self._writer.write(data)
        if self._transport.is_closing():
            # The first send() failed (a reset the loop had not reported yet)
            # or the socket was already gone: none of ``data`` left this host.
            raise _NotSent

    async def _read_reply(self) -> Any:
        parser = self._parser
        try:
            reply = parser.gets()
            while reply is NOT_ENOUGH:
                # Inline, not a helper coroutine: this is every command's one await.
                data = await self._reader.read(_READ_SIZE)
                if not data:
                    raise ConnectionResetError(self._closed_reason())
                parser.feed(data)
                reply = parser.gets()
        except (ProtocolError, UnicodeDecodeError, OSError):
            raise
        except _PARSER_CRASHES as exc:
            raise _unparsable(exc) from exc
        return reply

    async def _read_replies(self, count: int, replies: list[Any]) -> None:
        """Append replies to ``replies`` until it holds ``count``.

        Replies already received are parsed in a plain loop, without a
        coroutine each; only an incomplete buffer awaits more bytes.
        """
        parser = self._parser
        try:
            while len(replies) < count:
                reply = parser.gets()
                if reply is not NOT_ENOUGH:
                    replies.append(reply)
                    continue
                data = await self._reader.read(_READ_SIZE)
                if not data:
                    raise ConnectionResetError(self._closed_reason())
                parser.feed(data)
        except (ProtocolError, UnicodeDecodeError, OSError):
            raise
        except _PARSER_CRASHES as exc:
            raise _unparsable(exc) from exc

    # -- shared use (auto-pipelining) --------------------------------------------------

    def _write_nowait(self, data: bytes) -> bool:
        """Write ``data`` without waiting; False when the socket was found closed.

        False means none of ``data`` left this host (see ``_write``).
        """
        try:
            self._write(data)
        except _NotSent:
            return False
        return True

    def _write_backlog(self) -> int:
        """Bytes written but still waiting for the kernel to take them."""
        return self._transport.get_write_buffer_size()

    async def _drain(self) -> None:
        await self._writer.drain()

    async def _read_some(self, replies: list[Any]) -> None:
        """Wait for bytes from the server, then append every reply they complete.

        The bytes may complete no reply at all (a large reply arrives in
        pieces). End of stream raises ``ConnectionResetError``; bytes that are
        not RESP raise ``ProtocolError`` (the connection can no longer be used).
        """
        data = await self._reader.read(_READ_SIZE)
        if not data:
            raise ConnectionResetError(self._closed_reason())
        parser = self._parser
        parser.feed(data)
        try:
            reply = parser.gets()
            while reply is not NOT_ENOUGH:
                replies.append(reply)
                reply = parser.gets()
        except (ProtocolError, UnicodeDecodeError):
            raise
        except _PARSER_CRASHES as exc:
            raise _unparsable(exc) from exc

    def _has_partial_reply(self) -> bool:
        return self._parser.has_data()

    def _not_sent(self, name: str) -> ConnectionFailure:
        return ConnectionFailure(
            f"connection to {self.address} was found closed as {name} was written; "
            "the command was not sent",
            self.address,
        )

    def _closed_reason(self) -> str:
        return self._abort_reason or "the server closed the connection"

    def _check_drained(self) -> None:
        """After the last reply owed: any byte left over means replies no longer pair up."""
        if self._parser.has_data():
            raise ProtocolError(
                "more bytes followed its reply (a RESP3 attribute, or a reply nobody asked "
                "for), so replies no longer pair with commands"
            )

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
        raise ConnectionFailure(f"{self!r} is closed; borrow a new one from the pool", self.address)

    def _failure(self, exc: BaseException, name: str, timeout: object) -> BaseException:
        """Translate a low-level exception once, here; the connection is already aborted."""
        if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt | SystemExit):
            return exc
        if self._timed_out:
            exc = TimeoutError()
        if isinstance(exc, _NotSent):
            return self._not_sent(name)
        if isinstance(exc, TimeoutError) and not (isinstance(exc, OSError) and exc.errno):
            return CommandTimeout(
                f"no reply from {self.address} to {name} within {timeout}s (command_timeout); "
                "the connection was closed and the command may or may not have run",
                name,
            )
        if isinstance(exc, ProtocolError):
            return ProtocolError(
                f"{self.address} sent an invalid reply to {name}: {exc}; the connection was closed"
            )
        if isinstance(exc, UnicodeDecodeError):
            return ProtocolError(
                f"the reply from {self.address} to {name} is not valid {self.options.encoding} "
                f"({exc.reason}); use decode_responses=False for binary values. "
                "The connection was closed"
            )
        if isinstance(exc, OSError | EOFError):
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            return ConnectionLost(
                f"connection to {self.address} lost during {name}: {reason}; "
                "the command may or may not have run",
                self.address,
                name,
            )
        return exc

    # -- state and teardown ----------------------------------------------------

    def check_in(self) -> None:
        """The pool took the connection back: idle, and refusing commands until checked out."""
        if self.state == READY:
            self.state = POOLED

    def check_out(self) -> None:
        """The pool hands the connection to a borrower (or to its own health-check PING)."""
        if self.state == POOLED:
            self.state = READY

    # Open means both: a lost connection closes the transport; a FIN from the
    # server only marks the reader at EOF (streams keep the write side open).

    def is_reusable(self) -> bool:
        """True when the connection is idle, in sync, in its original session and open."""
        return (
            self.state == READY
            and self._session is None
            and not self._transport.is_closing()
            and not self._reader.at_eof()
        )

    def is_pooled_and_open(self) -> bool:
        """True for an idle pooled connection whose peer has not closed it."""
        return (
            self.state == POOLED and not self._transport.is_closing() and not self._reader.at_eof()
        )

    def is_closed(self) -> bool:
        """True once ``abort()`` or ``aclose()`` was called or the transport closed."""
        return self.state == CLOSED or self._transport.is_closing()

    def abort(self, reason: str | None = None) -> None:
        """Close the socket at once, without waiting; idempotent and never raises.

        ``reason`` (such as "the pool was closed") replaces "the server closed
        the connection" in the error of a command cut short by this abort.
        """
        if reason is not None and self.state != CLOSED:
            self._abort_reason = reason
        self.state = CLOSED
        self._disarm()
        self._transport.abort()

    async def aclose(self, timeout: float = 1.0) -> None:
        """Close the socket gracefully, waiting at most ``timeout`` seconds.

        Cancellation aborts the socket and propagates.
        """
        self.state = CLOSED
        self._disarm()
        self._writer.close()
        try:
            async with asyncio.timeout(timeout):
                await self._writer.wait_closed()
        except (OSError, TimeoutError):
            self._transport.abort()
        except BaseException:
            self._transport.abort()
            raise


# hiredis itself chokes on some replies (a RESP3 map with a list key; an array
# header of billions of elements): a ProtocolError like any other bad reply.
_PARSER_CRASHES: Final = (TypeError, ValueError, MemoryError, OverflowError)


def _unparsable(exc: Exception) -> ProtocolError:
    return ProtocolError(f"a reply could not be parsed ({type(exc).__name__}: {exc})")


class _NotSent(Exception):
    """Internal: the write failed synchronously, so the command never left."""


def _is_maxclients(reply: ReplyError) -> bool:
    return reply.message.startswith("ERR max number of clients reached")


def _ssl_context(option: _ssl.SSLContext | bool) -> _ssl.SSLContext | None:
    if option is True:
        return _ssl.create_default_context()
    return option or None


def _abort_writer(writer: asyncio.StreamWriter | None) -> None:
    if writer is not None:
        writer.transport.abort()
