"""Auto-pipelining: the commands of many tasks share a few pooled connections.

A ``_Shared`` connection is borrowed from the pool and kept while commands
keep coming. Every command queued on it during one event-loop turn is
written in one buffer at the end of the turn (or at once past
``_FLUSH_ABOVE`` bytes); one reader task parses the replies and hands each
to the caller whose command it answers, in order. Replies pair with commands
by position, so the in-flight queue is the whole bookkeeping:

* a caller cancelled (or timed out) before its command was written is
  skipped by the write: the command never runs;
* a caller cancelled after the write leaves its entry in place: the reply is
  read and dropped, and the connection stays in step;
* a command whose reply does not come within ``command_timeout`` fails with
  ``CommandTimeout`` at its own deadline; the connection then takes no new
  commands, and goes back to the pool once its other replies are in (or is
  aborted once no caller waits for any of them);
* a broken connection fails exactly the commands written on it, with the
  errors and retry rules of ``_retry.resend``; commands queued but
  not yet written move to another shared connection.

A shared connection idle for ``_LINGER`` seconds goes back to the pool, where
reaping, keepalive and health checks apply to it as to any idle connection.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import itertools
import math
import time
from dataclasses import dataclass
from typing import Any, Final

from ._config import AutoPipelineOptions, check_auto_pipeline
from ._connection import Connection
from ._deadline import LazyTimer
from ._errors import (
    CommandTimeout,
    ConnectError,
    ConnectionFailure,
    ConnectionLost,
    OutcomeUnknown,
    PoolClosed,
    PoolTimeout,
    ProtocolError,
    ReplyError,
)
from ._pool import Pool
from ._protocol import display_name, encode_command
from ._retry import resend
from ._waitline import WaitLine

__all__ = ["AutoPipelineStats", "AutoPipeliner"]

# Queued bytes past which a shared connection writes at once rather than at
# the end of the event-loop turn: one huge value does not wait for others.
_FLUSH_ABOVE: Final = 1 << 16
# A write buffer above this stops further writes until the kernel drains it.
_DRAIN_ABOVE: Final = 1 << 20
# Seconds a shared connection with nothing to do is kept before it goes back.
_LINGER: Final = 1.0

_ids = itertools.count(1)

# A command waiting to be written: (caller's future, encoding, arguments).
_Queued = tuple[asyncio.Future[Any], bytes, tuple[Any, ...]]
# A command written and awaiting its reply: (future, arguments, reply deadline).
_InFlight = tuple[asyncio.Future[Any], tuple[Any, ...], float]


@dataclass(frozen=True, slots=True)
class AutoPipelineStats:
    """A snapshot of a client's auto-pipelining, from ``Client.auto_pipeline_stats()``.

    Now: ``connections`` shared (opening ones included), commands ``queued``
    to be written at the end of this event-loop turn, ``in_flight`` (written,
    reply not read yet; a cancelled caller's command counts until its reply
    is read) and ``waiting`` for room (every connection at
    ``auto_pipeline_max_pending``). Totals since the client was made:
    ``commands`` written in ``writes`` buffers (their ratio is the mean batch
    size), ``timeouts`` (``CommandTimeout`` on a shared connection) and
    ``full`` (``PoolTimeout`` after waiting for room).
    """

    connections: int
    queued: int
    in_flight: int
    waiting: int
    commands: int
    writes: int
    timeouts: int
    full: int


class _Shared:
    """One pooled connection shared by many callers; see the module docstring."""

    __slots__ = (
        "_conn",
        "_draining",
        "_expires_at",
        "_idle_since",
        "_idle_timer",
        "_in_flight",
        "_loop",
        "_owner",
        "_queue",
        "_queued_bytes",
        "_release",
        "_retired",
        "_scheduled",
        "_task",
        "_timer",
        "id",
    )

    def __init__(self, owner: AutoPipeliner, loop: asyncio.AbstractEventLoop) -> None:
        self.id = next(_ids)
        self._owner = owner
        self._loop = loop
        self._conn: Connection | None = None  # None while the pool opens it
        self._queue: list[_Queued] = []
        self._queued_bytes = 0
        self._in_flight: collections.deque[_InFlight] = collections.deque()
        self._scheduled = False  # a flush is due at the end of this turn
        # Set while writes wait for the kernel to take the last ones.
        self._draining: asyncio.Task[None] | None = None
        self._retired = False  # takes no new commands
        self._release = False  # the reader was stopped to hand the connection back
        # Reply deadlines of the commands in flight, and the linger when idle.
        self._timer = LazyTimer(loop, self._expire)
        self._idle_timer = LazyTimer(loop, self._linger_over)
        self._idle_since = 0.0
        self._expires_at = math.inf  # loop time when max_lifetime runs out
        self._task = loop.create_task(self._run(), name=f"aiopool-auto-pipeline-{self.id}")

    def __repr__(self) -> str:
        state = "opening" if self._conn is None else "retired" if self._retired else "open"
        return (
            f"<shared connection #{self.id} {state} queued={len(self._queue)} "
            f"in_flight={len(self._in_flight)} conn={self._conn!r}>"
        )

    # -- queuing and writing -------------------------------------------------------------

    def push(self, future: asyncio.Future[Any], data: bytes, args: tuple[Any, ...]) -> None:
        """Queue a command to be written at the end of this event-loop turn."""
        self._queue.append((future, data, args))
        self._queued_bytes += len(data)
        if self._conn is None:
            return  # written once the connection is open
        if self._queued_bytes > _FLUSH_ABOVE:
            self._flush()
        elif not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        conn = self._conn
        queue = self._queue
        if not queue or conn is None or self._draining is not None:
            return
        self._queue = []
        self._queued_bytes = 0
        live = [entry for entry in queue if not entry[0].done()]
        if not live:
            self._check_idle()
            return
        if not conn.send(b"".join([entry[1] for entry in live]), len(live)):
            # None of it left: another shared connection sends it.
            self._retire()
            self._owner._redispatch(live)
            return
        timeout = self._owner._timeout
        now = self._loop.time()
        deadline = now + timeout if timeout is not None else 0.0
        self._in_flight.extend([(entry[0], entry[2], deadline) for entry in live])
        self._owner._writes += 1
        self._owner._commands += len(live)
        if timeout is not None:
            self._timer.arm(deadline)
        if now >= self._expires_at or conn.auth_generation != self._owner._pool._auth.generation:
            # max_lifetime, or new credentials (it re-AUTHs in the pool): a
            # connection in steady use never goes back by itself.
            self._retire(check=False)
        if conn.write_backlog() > _DRAIN_ABOVE:
            self._draining = self._loop.create_task(self._drain(conn))

    async def _drain(self, conn: Connection) -> None:
        try:
            await conn.drain()
        except (OSError, RuntimeError):
            return  # the reader reports the broken connection
        finally:
            self._draining = None
        self._flush()

    # -- replies -----------------------------------------------------------------------

    async def _run(self) -> None:
        """Borrow the connection, write what queued meanwhile, then read replies for ever."""
        owner = self._owner
        pool = owner._pool
        try:
            conn = await pool._acquire()
        except BaseException as exc:
            self._open_failed(exc)
            if not isinstance(exc, Exception):
                raise
            return
        pool._lend(conn)
        conn.start_stream()  # a stray direct use raises instead of interleaving
        self._conn = conn
        lifetime = pool.options.max_lifetime
        if lifetime is not None:
            age = time.monotonic() - conn.created_at
            self._expires_at = self._loop.time() + lifetime - age
        replies: list[Any] = []
        try:
            self._flush()
            self._check_idle()
            while True:
                await conn.receive(replies)
                if replies:
                    self._deliver(replies)
                    replies.clear()
        except asyncio.CancelledError:
            if not self._release:
                self._broken(ConnectionResetError("the auto-pipelining reader was cancelled"))
                raise
        except BaseException as exc:
            # Replies parsed from the same bytes as an invalid one are not
            # handed out: hiredis does not check the CRLF after a bulk string,
            # so the last of them may be cut short (the plain mode refuses
            # them too, as bytes after the reply). They fail with the rest.
            self._broken(exc)
            if not isinstance(exc, Exception):
                raise
        finally:
            self._give_back(conn)

    def _deliver(self, replies: list[Any]) -> None:
        in_flight = self._in_flight
        for reply in replies:
            if not in_flight:
                raise ProtocolError(
                    "the server sent a reply no command was waiting for, so replies no "
                    "longer pair with commands"
                )
            future = in_flight.popleft()[0]
            if future.done():
                continue  # its caller was cancelled or timed out: dropped
            if isinstance(reply, ReplyError):
                assert self._conn is not None
                future.set_exception(self._conn.error_reply(reply))
            else:
                future.set_result(reply)
        owner = self._owner
        if owner._waiting:
            owner._admit()
        if not in_flight:
            self._check_idle()

    def _expire(self) -> float | None:
        """The reply deadline of the oldest command in flight passed; the next one to watch."""
        now = self._loop.time()
        owner = self._owner
        again: float | None = None
        for future, args, deadline in self._in_flight:
            if future.done():
                continue
            if deadline > now:
                again = deadline
                break
            name = display_name(args)
            owner._timeouts += 1
            future.set_exception(
                CommandTimeout(
                    f"no reply from {owner._pool.connection_options.address} to {name} within "
                    f"{owner._timeout}s (command_timeout); the command may or may not have run. "
                    "The shared connection it was written on takes no new commands",
                    name,
                )
            )
            self._retire()
        if not self._retired:
            return again
        # Commands queued behind a stuck reply go out on another connection.
        queued, self._queue = self._queue, []
        owner._redispatch(queued)
        if again is None and self._in_flight and self._conn is not None:
            # Replies are owed that no caller waits for: nothing is worth the wait.
            self._conn.abort("every command in flight on it timed out")
        return again

    # -- the end of a shared connection ---------------------------------------------

    def _retire(self, *, check: bool = True) -> None:
        """Take no new commands; go back to the pool once the in-flight ones are answered."""
        if not self._retired:
            self._retired = True
            self._owner._forget(self)
        if check:
            self._check_idle()

    def _check_idle(self) -> None:
        """Called when the connection may have nothing left to do."""
        if self._in_flight or self._queue or self._conn is None:
            return
        if self._retired:
            self._stop_reader()
            return
        self._idle_since = self._loop.time()
        self._idle_timer.arm(self._idle_since + _LINGER)

    def _linger_over(self) -> float | None:
        if self._in_flight or self._queue or self._retired:
            return None  # busy again; re-armed when it next runs out of work
        due = self._idle_since + _LINGER
        if self._loop.time() < due:
            return due
        self._retire()
        return None

    def _stop_reader(self) -> None:
        if not self._release:
            self._release = True
            self._task.cancel()

    def _broken(self, exc: BaseException) -> None:
        """The connection failed: fail what was written on it, move what was not."""
        conn = self._conn
        assert conn is not None
        conn.abort()
        self._retire(check=False)  # the reader is ending already
        timeout = self._owner._timeout
        first = True
        while self._in_flight:
            future, args, _ = self._in_flight.popleft()
            head, first = first, False  # the command whose reply was being read
            if future.done():
                continue
            name = display_name(args)
            if head or not isinstance(exc, ProtocolError | UnicodeDecodeError):
                error = conn.failure(exc, name, timeout)
            else:
                error = ConnectionLost(
                    f"connection to {conn.address} was closed during {name} after an invalid "
                    "reply to an earlier command on it; the command may or may not have run",
                    conn.address,
                    name,
                )
            error.__cause__ = exc
            future.set_exception(error)
        queued, self._queue = self._queue, []
        self._owner._redispatch(queued)

    def _open_failed(self, exc: BaseException) -> None:
        """The pool could not lend a connection: what queued for it fails as acquire() did."""
        self._retire(check=False)
        queued, self._queue = self._queue, []
        if not isinstance(exc, Exception):  # cancelled by aclose()
            exc = PoolClosed(f"{self._owner!r} was closed while its connection was being opened")
        for future, _, _ in queued:
            if not future.done():
                # Each caller raises its own copy: one object raised in many
                # tasks would gather every task's traceback.
                error = copy.copy(exc)
                error.__traceback__ = None
                future.set_exception(error)
        self._owner._finished(self)

    def _give_back(self, conn: Connection) -> None:
        """Return the connection to the pool: in step and reusable, or aborted."""
        self._timer.cancel()
        self._idle_timer.cancel()
        self._retire(check=False)
        if self._release and not self._in_flight and not self._queue:
            conn.end_stream()  # in step: back as a ready connection; otherwise aborted
        else:
            conn.abort()
        self._owner._pool._release(conn)
        self._owner._finished(self)

    def abort(self, reason: str) -> None:
        """Close the connection now; its commands in flight fail with ``ConnectionLost``."""
        if self._conn is not None:
            self._conn.abort(reason)
        else:
            self._task.cancel()


class AutoPipeliner:
    """Sends a client's shareable commands over a few shared pooled connections."""

    __slots__ = (
        "_active",
        "_all",
        "_closed",
        "_commands",
        "_full",
        "_loop",
        "_pool",
        "_timeout",
        "_timeouts",
        "_waiting",
        "_writes",
        "options",
    )

    def __init__(self, pool: Pool, options: AutoPipelineOptions) -> None:
        check_auto_pipeline(options, pool.options)
        self._pool = pool
        self.options = options
        self._timeout = pool.connection_options.command_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._active: list[_Shared] = []  # taking new commands
        self._all: set[_Shared] = set()  # every one whose connection is not back yet
        # Commands waiting for room on a shared connection, in the pool's kind of line.
        self._waiting: WaitLine[Any, tuple[bytes, tuple[Any, ...]]] = WaitLine(self._no_room)
        self._closed = False
        self._commands = self._writes = self._timeouts = self._full = 0

    def __repr__(self) -> str:
        return (
            f"<AutoPipeliner connections={len(self._active)}/"
            f"{self.options.auto_pipeline_connections} waiting={len(self._waiting)}>"
        )

    async def send(self, args: tuple[Any, ...]) -> Any:
        """Run one command on a shared connection and return its reply.

        Raises what ``Client._send`` raises in the plain pool mode, and
        applies the same retries (``_retry.resend``) to a command that failed
        with its connection.
        """
        data = encode_command(args)
        pool = self._pool
        pool._check_usable()
        if self._closed:
            raise PoolClosed(f"{self!r} is closed")
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._place(future, data, args)
        try:
            return await future
        except ConnectError:
            raise  # opening the shared connection failed: as acquire() would raise it
        except (ConnectionFailure, OutcomeUnknown) as exc:
            failure = exc
        return await resend(pool, failure, data, args)

    # -- placing commands ----------------------------------------------------------------

    def _place(self, future: asyncio.Future[Any], data: bytes, args: tuple[Any, ...]) -> None:
        shared = None if self._waiting else self._pick()
        if shared is not None:
            shared.push(future, data, args)
            return
        timeout = self._pool.options.acquire_timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        self._waiting.add(future, (data, args), deadline)

    def _pick(self) -> _Shared | None:
        """The least loaded shared connection with room, opening another when all are busy."""
        best: _Shared | None = None
        low = self.options.auto_pipeline_max_pending
        for shared in self._active:
            load = len(shared._in_flight) + len(shared._queue)
            if load < low:
                best, low = shared, load
        if (
            (best is None or low)
            and len(self._active) < self.options.auto_pipeline_connections
            and not self._closed
        ):
            assert self._loop is not None
            best = _Shared(self, self._loop)
            self._active.append(best)
            self._all.add(best)
        return best

    def _admit(self) -> None:
        """Move waiting commands onto shared connections that have room again."""
        waiting = self._waiting
        while (head := waiting.first()) is not None:
            shared = self._pick()
            if shared is None:
                return
            waiting.pop()
            future, (data, args) = head
            shared.push(future, data, args)

    def _redispatch(self, queued: list[_Queued]) -> None:
        """Place again commands that were queued on a connection but never written."""
        for future, data, args in queued:
            if future.done():
                continue
            if self._closed:
                future.set_exception(
                    PoolClosed(f"{self!r} was closed before {display_name(args)} was written")
                )
            else:
                self._place(future, data, args)

    def _no_room(self, payload: tuple[bytes, tuple[Any, ...]]) -> PoolTimeout:
        """The error of a command that waited ``acquire_timeout`` for room."""
        self._full += 1
        opts = self.options
        return PoolTimeout(
            f"no room for {display_name(payload[1])} on the auto-pipelining connections to "
            f"{self._pool.connection_options.address} within acquire_timeout="
            f"{self._pool.options.acquire_timeout}s: each of "
            f"{opts.auto_pipeline_connections} has auto_pipeline_max_pending="
            f"{opts.auto_pipeline_max_pending} commands queued or in flight. Raise "
            "auto_pipeline_max_pending, or send fewer commands at once"
        )

    def _forget(self, shared: _Shared) -> None:
        try:
            self._active.remove(shared)
        except ValueError:
            pass
        if self._waiting:
            self._admit()

    def _finished(self, shared: _Shared) -> None:
        self._all.discard(shared)

    # -- observing and closing -----------------------------------------------------------

    def stats(self) -> AutoPipelineStats:
        """A snapshot; never awaits, never raises."""
        shared = list(self._all)
        return AutoPipelineStats(
            connections=len(shared),
            queued=sum(len(s._queue) for s in shared),
            in_flight=sum(len(s._in_flight) for s in shared),
            waiting=len(self._waiting),
            commands=self._commands,
            writes=self._writes,
            timeouts=self._timeouts,
            full=self._full,
        )

    async def aclose(self) -> None:
        """Take no new commands; let those in flight finish, within ``close_timeout``.

        Commands still waiting for room fail with ``PoolClosed``; connections
        still busy when ``close_timeout`` runs out are aborted (their
        commands fail with ``ConnectionLost``). Idempotent.
        """
        self._closed = True
        self._waiting.fail_all(
            lambda payload: PoolClosed(
                f"{self!r} was closed while {display_name(payload[1])} waited for room"
            )
        )
        for shared in list(self._active):
            shared._retire()
        tasks = [shared._task for shared in self._all]
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=self._pool.options.close_timeout)
        if pending:
            for shared in list(self._all):
                shared.abort(
                    f"the client was closed and close_timeout={self._pool.options.close_timeout}s "
                    "ran out before its replies came"
                )
            await asyncio.wait(pending)
