"""Hands out connections: limits, fair waiting, reaping, health checks, stats.

Bookkeeping is synchronous. The only awaits on the way to a connection are
waiting for a slot and opening (or health-checking) a connection; release
awaits nothing. Its parts: the waiting line (``_waitline``), who holds what
(``_holds``), opening connections (``_opener``), health checks (``_health``).
The pool knows no command: what is retried is decided above it, in ``_retry``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Final

from . import _affinity as affinity
from . import _credentials as credentials
from ._config import ConnectionOptions, PoolOptions, options_from_url, split_options
from ._connection import Connection
from ._errors import ConnectError, PoolClosed, PoolTimeout, ReplyError
from ._health import Checker, Keepalive, check, ping
from ._holds import Holds
from ._observe import PoolObserver
from ._opener import Opener
from ._stats import PoolStats, timeout_message
from ._waitline import Slots

__all__ = ["Pool"]

logger = logging.getLogger("aiopool.pool")

Connector = Callable[[float | None], Awaitable[Connection]]

_REAP_MIN_PERIOD: Final = 0.05
_REAP_MAX_PERIOD: Final = 30.0


class _Borrow:
    """``async with pool.acquire() as conn``: the connection goes back on exit."""

    __slots__ = ("_conn", "_pool")

    def __init__(self, pool: Pool) -> None:
        self._pool = pool
        self._conn: Connection | None = None

    async def __aenter__(self) -> Connection:
        self._conn = await self._pool._acquire()
        return self._conn

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if exc_type is GeneratorExit:
            self._pool._in_use.closed_while_held(conn)
        self._pool._release(conn)

    def __repr__(self) -> str:
        return f"<acquire from {self._pool!r} conn={self._conn!r}>"


class Pool:
    """A bounded pool of connections to one Redis server.

    Connections are opened lazily up to ``max_size`` (``min_size`` of them are
    opened when the pool opens and kept open). Tasks that find every slot busy
    wait in FIFO order for at most ``acquire_timeout``. The pool is bound to
    the event loop it is first used on.

    Build one with ``Pool.from_url(url, **options)`` or
    ``Pool(ConnectionOptions(...), PoolOptions(...))``, use it as
    ``async with pool:`` (or call ``open()`` and ``aclose()``), and borrow
    connections with ``async with pool.acquire() as conn``. Once used, it raises
    ``RuntimeError`` from another loop or forked process. ``connector``
    replaces how connections are opened (an async callable taking the time
    allowed) and ``checker`` how an idle one is health-checked (``await
    checker(conn, timeout)``: None when alive, else the failure; the default
    sends ``PING``); the pool's unit tests use them, applications rarely need them.
    """

    def __init__(
        self,
        connection: ConnectionOptions | None = None,
        options: PoolOptions | None = None,
        *,
        connector: Connector | None = None,
        checker: Checker = ping,
    ) -> None:
        self.connection_options = connection if connection is not None else ConnectionOptions()
        self.options = options if options is not None else PoolOptions()
        opts = self.options
        if connector is None:
            target = self.connection_options

            async def connector(timeout: float | None) -> Connection:
                return await Connection.open(target, timeout=timeout)

        self._opener = Opener(connector, self.connection_options, opts)
        # A connection behind its provider's credentials re-AUTHs as its health check.
        self._auth = credentials.tracker_for(self.connection_options.credential_provider)
        self._auth.listen(self)
        self._check = credentials.checker(checker, self._auth)
        self._observer: PoolObserver | None = None  # see _observe()
        # The cluster client turns this off: a node that refuses may have been
        # failed over, and the cluster retries after a topology refresh instead.
        self._retry_connect = True
        self._slots: Slots[Connection] = Slots(opts.max_size, self._timeout_error)
        self._refill_above = opts.max_size - opts.min_size  # free slots beyond: below min_size
        self._waiting = 0
        self._in_use: Holds[Connection] = Holds(
            opts.leak_detection_threshold, self, self._abandoned
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inherited: str | None = None  # in a forked child: the error to raise
        self._closing = False
        self._closed_event: asyncio.Event | None = None
        self._all_returned: asyncio.Event | None = None
        self._reaper: asyncio.TimerHandle | None = None
        self._refill: asyncio.Task[None] | None = None
        self._keepalive: Keepalive[Connection] = Keepalive(
            lambda conn: check(conn, self._check, self._health_timeout), self._kept_alive
        )
        self._closed = self._acquired = self._timeouts = 0
        periods = [opts.idle_timeout, opts.max_lifetime, opts.keepalive_interval]
        shortest = min((t for t in periods if t is not None), default=None)
        self._reap_period = (
            None if shortest is None else min(max(shortest / 4, _REAP_MIN_PERIOD), _REAP_MAX_PERIOD)
        )
        limits = (self.connection_options.connect_timeout, self.connection_options.command_timeout)
        self._health_timeout = min((t for t in limits if t is not None), default=5.0)
        # The None-means-never options as numbers, for the acquire fast path.
        self._check_after = (
            math.inf if opts.health_check_interval is None else opts.health_check_interval
        )
        self._max_lifetime = math.inf if opts.max_lifetime is None else opts.max_lifetime
        affinity.track(self)

    @classmethod
    def from_url(cls, url: str, **options: object) -> Pool:
        """Build a pool from a ``redis://``, ``rediss://`` or ``unix://`` URL.

        Keyword options (any field of ``ConnectionOptions`` or ``PoolOptions``)
        override the URL's. A malformed URL raises ``ValueError``; an unknown
        option raises ``TypeError`` naming it.
        """
        connection, pool = options_from_url(url, dict(options), where="Pool.from_url()")
        return cls(connection, pool)

    @classmethod
    def from_options(cls, **options: object) -> Pool:
        """Build a pool from keyword options alone (host, port, max_size, ...)."""
        connection, pool = split_options(dict(options), where="Pool.from_options()")
        return cls(connection, pool)

    def __repr__(self) -> str:
        state = " closed" if self._closing else ""
        return (
            f"<Pool {self.connection_options.url()}{state} in_use={len(self._in_use)} "
            f"idle={len(self._slots.idle)} waiting={self._waiting} max={self.options.max_size}>"
        )

    # -- lifecycle -------------------------------------------------------------

    async def open(self) -> Pool:
        """Bind the pool to the running loop and open ``min_size`` connections.

        Raises ``ConnectError`` (after retrying within ``acquire_timeout``) or
        ``AuthenticationError`` when the warm-up connections cannot be opened;
        the pool stays usable and retries on the next acquire. With
        ``min_size=0`` nothing is opened and nothing can fail here.
        """
        self._check_usable()
        await self._fill()
        return self

    async def __aenter__(self) -> Pool:
        return await self.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def is_closed(self) -> bool:
        """True once ``aclose()`` has begun."""
        return self._closing

    def is_inherited(self) -> bool:
        """True in a process forked after the pool was used: every use raises ``RuntimeError``."""
        return self._inherited is not None

    def _after_fork(self) -> None:
        if self._loop is not None:  # else never used: the child may adopt it
            self._inherited = affinity.inherited(repr(self))
            self._loop = self._reaper = self._refill = self._closed_event = None  # parent's
            self._closing = True  # aclose() closes nothing: the connections are the parent's

    async def aclose(self) -> None:
        """Stop new acquires, wait for borrowed connections, close everything.

        Tasks waiting for a slot get ``PoolClosed`` at once. Borrowed
        connections are waited for at most ``close_timeout`` seconds; any
        still borrowed then are aborted (their commands fail with
        ``ConnectionFailure``). Idempotent. If cancelled, every connection is
        aborted before the cancellation propagates. From another loop: ``RuntimeError``.
        """
        if self._closing:
            if self._closed_event is not None:
                await self._closed_event.wait()
            return
        if self._loop is not None and self._loop is not asyncio.get_running_loop():
            raise affinity.wrong_loop(self)  # its sockets and timers belong to that loop
        self._closing = True
        self._closed_event = asyncio.Event()
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        refill, self._refill = self._refill, None
        if refill is not None:
            refill.cancel()
        keepalive = self._keepalive.task
        if keepalive is not None:
            keepalive.cancel()
        idle = self._slots.close(
            lambda: PoolClosed(f"{self!r} was closed while waiting for a connection")
        )
        self._closed += len(idle)
        try:
            background = [task for task in (refill, keepalive) if task is not None]
            if background:
                await asyncio.gather(*background, return_exceptions=True)
            await asyncio.gather(*(conn.aclose() for conn in idle))
            if self._in_use:
                self._all_returned = asyncio.Event()
                try:
                    async with asyncio.timeout(self.options.close_timeout):
                        await self._all_returned.wait()
                except TimeoutError:
                    logger.warning(
                        "%r: %d connection(s) still borrowed after close_timeout=%ss; aborted",
                        self,
                        len(self._in_use),
                        self.options.close_timeout,
                    )
        finally:
            for conn in idle:
                conn.abort()
            for conn in self._keepalive.checking:  # their checks were cancelled
                conn.abort()
            self._closed += len(self._keepalive.checking)
            self._keepalive.checking.clear()
            given_up = self._in_use.clear()
            for conn in given_up:
                conn.abort(
                    f"the pool was closed and close_timeout={self.options.close_timeout}s "
                    "ran out before this connection was returned"
                )
            self._closed += len(given_up)
            self._closed_event.set()

    # -- acquire and release ---------------------------------------------------

    def acquire(self) -> _Borrow:
        """Borrow a connection: ``async with pool.acquire() as conn``.

        Waits (FIFO) for a free slot for at most ``acquire_timeout`` seconds,
        then raises ``PoolTimeout``; opening a new connection is retried with
        backoff within the same limit, then raises ``ConnectError``. Raises
        ``PoolClosed`` once the pool is closed. The connection goes back to
        the pool when the block exits, unless a command on it was interrupted
        (timeout, cancellation, lost connection), in which case it is
        discarded and its slot freed. Cancelling a task that is waiting or
        connecting leaves the pool exactly as before.
        """
        return _Borrow(self)

    def _check_usable(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            if self._inherited is not None:
                raise RuntimeError(self._inherited)
            if self._loop is not None:
                raise affinity.wrong_loop(self)
            self._loop = loop
        if self._closing:
            raise PoolClosed(f"{self!r} is closed; create a new pool")
        return loop

    def _take_ready(self) -> Connection | None:
        """The acquire fast path, without an await: an idle connection fit to use now.

        ``None`` when there is none (or the most recently used one needs a
        check): ``_acquire()`` then waits, health-checks or opens one.
        """
        loop = asyncio.get_running_loop()
        if loop is not self._loop or self._closing:
            self._check_usable()
        idle = self._slots.idle
        if idle and self._is_fresh(idle[-1], loop):
            if self._observer is not None:
                self._observer.acquired(0.0)  # taken without an await: nothing waited
            return idle.pop()
        return None

    def _is_fresh(self, conn: Connection, loop: asyncio.AbstractEventLoop) -> bool:
        """Check out and hold ``conn`` if it needs no health check, else leave it as it is."""
        now = time.monotonic()
        if (
            now - conn.checked_at < self._check_after
            and now - conn.created_at < self._max_lifetime
            and conn.auth_generation == self._auth.generation
            and conn.check_out()
        ):
            self._acquired += 1
            self._in_use.add(conn, now, loop)
            return True
        return False

    async def _acquire(self) -> Connection:
        conn = self._take_ready()
        if conn is not None:
            return conn
        loop = self._check_usable()
        asked = None if self._observer is None else time.monotonic()
        slots = self._slots
        deadline: float | None = None
        if slots.available():
            item = slots.take()
        else:
            deadline = self._deadline()
            self._waiting += 1
            try:
                item = await slots.wait(deadline)
            finally:
                self._waiting -= 1
            if self._closing:  # handed over just before aclose() began
                if item is not None:
                    self._discard(item)
                raise PoolClosed(f"{self!r} was closed while waiting for a connection")
        if item is not None and self._is_fresh(item, loop):
            conn = item
        else:  # a stale idle connection, or a free slot to open one in
            try:
                conn = await self._prepare(item, deadline or self._deadline())  # a time: never 0
            except BaseException:
                self._slots.give(None)
                raise
            if self._closing:
                self._discard(conn)
                raise PoolClosed(f"{self!r} was closed while a connection was being opened")
            self._acquired += 1
            self._in_use.add(conn, time.monotonic(), loop)
        if asked is not None and self._observer is not None:
            self._observer.acquired(time.monotonic() - asked)
        return conn

    def _lend(self, conn: Connection) -> None:
        """Mark a borrowed connection as shared by auto-pipelining (see ``Holds.lend``)."""
        self._in_use.lend(conn)

    def _abandoned(self, conn: Connection) -> None:
        conn.abort("its borrower was garbage-collected")
        self._release(conn)

    def _deadline(self) -> float | None:
        timeout = self.options.acquire_timeout
        return None if timeout is None else time.monotonic() + timeout

    def _timeout_error(self) -> PoolTimeout:
        """The error of a waiter still in line at its deadline (called by its line's timer)."""
        self._timeouts += 1
        held = self._in_use.holders() if self._in_use else ""
        address, limit = self.connection_options.address, self.options.acquire_timeout
        return PoolTimeout(timeout_message(self.stats(), address, limit, held))

    async def _prepare(self, conn: Connection | None, deadline: float | None) -> Connection:
        """Validate an idle connection, or open a new one, in a slot already taken."""
        if conn is not None:
            now = time.monotonic()
            if not conn.is_pooled_and_open() or now - conn.created_at >= self._max_lifetime:
                self._discard(conn)
            else:
                try:
                    dead = await check(conn, self._check, self._health_timeout)
                except BaseException:
                    self._closed += 1
                    raise
                if dead is None:
                    conn.last_used_at = conn.checked_at
                    return conn
                # Found dead before the caller's command was written: replacing
                # it is a retry that provably never ran.
                self._closed += 1
        return await self._opener.open(deadline, retry=self._retry_connect)

    def _release(self, conn: Connection) -> None:
        hold = self._in_use.pop(conn)
        if hold is None:
            if self._closing:  # aclose() gave up on it and cleared the books
                conn.abort()
            return
        if self._observer is not None:
            self._observer.released(time.monotonic() - hold.since)
        if self._closing:
            conn.abort()
            self._closed += 1
            if not self._in_use and self._all_returned is not None:
                self._all_returned.set()
            return
        now = time.monotonic()
        if now - conn.created_at < self._max_lifetime and conn.check_in():
            conn.last_used_at = conn.checked_at = now
            self._slots.give(conn)
            if self._slots.free > self._refill_above:
                self._start_refill()  # e.g. after a warm-up that failed
            if self._reaper is None:
                self._arm_reaper()
        else:
            self._discard(conn)
            self._slots.give(None)
            self._start_refill()

    def _put_back(self, conn: Connection) -> None:
        """Pool a connection that answered a PING or was just opened (aborted if not in step)."""
        if conn.check_in():
            self._slots.give(conn)
        else:
            self._discard(conn)
            self._slots.give(None)

    def _discard(self, conn: Connection) -> None:
        conn.abort()
        self._closed += 1

    # -- background upkeep -------------------------------------------------------

    def _arm_reaper(self) -> None:
        if self._reaper is None and self._reap_period is not None and self._loop is not None:
            self._reaper = self._loop.call_later(self._reap_period, self._reap)

    def _reap(self) -> None:
        self._reaper = None
        if self._closing:
            return
        opts = self.options
        now = time.monotonic()
        slots = self._slots
        idle = slots.idle
        # Oldest-used first: the deque's left end is the least recently used.
        for conn in list(idle):
            expired = opts.max_lifetime is not None and now - conn.created_at >= opts.max_lifetime
            surplus = (
                opts.idle_timeout is not None
                and now - conn.last_used_at >= opts.idle_timeout
                and len(idle) + len(self._in_use) > opts.min_size
            )
            if expired or surplus or not conn.is_pooled_and_open():
                slots.take_idle(conn)
                self._discard(conn)
        keepalive = opts.keepalive_interval
        if keepalive is not None and self._keepalive.task is None:
            behind = self._auth.generation
            due = [c for c in idle if now - c.checked_at >= keepalive or c.auth_generation < behind]
            if due:
                for conn in due:
                    idle.remove(conn)  # the slot stays taken: it counts as opening
                self._keepalive.start(due)
        if idle or self._keepalive.checking:
            self._arm_reaper()
        self._start_refill()

    def _credentials_changed(self, loop: asyncio.AbstractEventLoop) -> None:
        """New credentials, announced in ``loop``: idle connections re-AUTH now (keepalive round)."""
        idle = self._slots.idle  # if a round runs, the next reap or checkout moves them
        if loop is self._loop and idle and not self._closing and self._keepalive.task is None:
            self._keepalive.start(list(idle))
            idle.clear()  # the slots stay taken: they count as opening

    def _kept_alive(self, conn: Connection, dead: BaseException | None) -> None:
        """A keepalive check answered: back to the pool (to a waiter first), or replaced."""
        if dead is not None:
            logger.info("%r: keepalive PING on %r failed (%s); closed", self, conn, dead)
            self._closed += 1
            if not self._closing:
                self._slots.give(None)
                self._start_refill()
        elif self._closing:
            self._discard(conn)
        else:
            self._put_back(conn)

    def _start_refill(self) -> None:
        """Top the pool back up to ``min_size`` in the background."""
        if (
            self._closing
            or self._refill is not None
            or self.options.max_size - self._slots.free >= self.options.min_size
        ):
            return
        self._refill = asyncio.get_running_loop().create_task(self._fill())

    async def _fill(self) -> None:
        try:
            while self.options.max_size - self._slots.free < self.options.min_size:
                if not self._slots.take_free():
                    return
                try:
                    conn = await self._opener.open(self._deadline(), retry=self._retry_connect)
                except BaseException:
                    self._slots.give(None)
                    raise
                if self._closing:
                    self._discard(conn)
                    return
                self._put_back(conn)
                self._arm_reaper()
        except (ConnectError, ReplyError) as exc:
            if asyncio.current_task() is not self._refill:
                raise
            logger.warning(
                "%r: could not keep min_size=%d open: %s", self, self.options.min_size, exc
            )
        finally:
            if asyncio.current_task() is self._refill:
                self._refill = None

    # -- observability -----------------------------------------------------------

    def _observe(self, observer: PoolObserver | None) -> None:
        """Report borrows, returns and connects to ``observer`` (``aiopool.otel``); None stops."""
        self._observer = self._opener.observer = observer

    def stats(self) -> PoolStats:
        """Return a snapshot of the pool's counts; never awaits, never raises."""
        opts = self.options
        size = opts.max_size - self._slots.free if not self._slots.closed else len(self._in_use)
        in_use = len(self._in_use)
        idle = len(self._slots.idle)
        oldest, shared = self._in_use.oldest(time.monotonic())
        return PoolStats(
            max_size=opts.max_size,
            min_size=opts.min_size,
            size=size,
            in_use=in_use,
            idle=idle,
            opening=max(size - in_use - idle, 0),
            waiting=self._waiting,
            created=self._opener.created,
            closed=self._closed,
            acquired=self._acquired,
            timeouts=self._timeouts,
            connect_errors=self._opener.errors,
            oldest_held=oldest,
            shared=shared,
        )
