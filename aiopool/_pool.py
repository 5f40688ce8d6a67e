"""Hands out connections: limits, fair waiting, reaping, health checks, stats.

Bookkeeping is synchronous. The only awaits on the way to a connection are
waiting for a slot and opening (or health-checking) a connection; release
awaits nothing.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import math
import random
import time
import traceback
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final, TypeVar

from ._config import ConnectionOptions, PoolOptions, options_from_url, split_options
from ._connection import Connection
from ._errors import (
    BusyLoadingError,
    CommandTimeout,
    ConnectError,
    ConnectionFailure,
    OutcomeUnknown,
    PoolClosed,
    PoolTimeout,
    ProtocolError,
    RedisError,
    ReplyError,
)
from ._protocol import display_name
from ._safety import is_safe_to_repeat

__all__ = ["Pool", "PoolStats"]

logger = logging.getLogger("aiopool.pool")
# Retries are the client's business as far as a user reading logs is concerned.
client_logger = logging.getLogger("aiopool.client")
T = TypeVar("T")

Connector = Callable[[float | None], Awaitable[Connection]]

_PACKAGE_DIR: Final = str(Path(__file__).resolve().parent)
_REAP_MIN_PERIOD: Final = 0.05
# An attempt to connect needs at least this long; less is not worth starting.
_MIN_ATTEMPT: Final = 0.01
_REAP_MAX_PERIOD: Final = 30.0


class _Slots:
    """Idle connections, free slots, and the tasks waiting for either.

    An item is an idle connection or ``None``, a free slot (permission to
    open a connection). Idle connections come out most recently used first,
    so the least used ones stay idle long enough to be reaped; a free slot is
    handed out only when no idle connection is left.

    Waiters are served strictly in FIFO order by direct hand-off: ``give()``
    resolves the oldest waiter's future with the item, so nothing is ever
    stored while someone waits and a newcomer cannot overtake a woken waiter.
    (``asyncio.Queue`` wakes a getter and leaves the item in the queue; a
    newcomer can take it first and the woken getter goes to the back of the
    line. Serialising getters with a lock fixes that but hands out only one
    connection per event-loop turn, leaving connections idle while tasks wait.)
    """

    __slots__ = ("closed", "free", "idle", "waiters")

    def __init__(self, free: int) -> None:
        self.idle: collections.deque[Connection] = collections.deque()
        self.free = free
        self.waiters: collections.deque[asyncio.Future[Connection | None]] = collections.deque()
        self.closed = False

    def __repr__(self) -> str:
        return f"<slots idle={len(self.idle)} free={self.free} waiters={len(self.waiters)}>"

    def available(self) -> bool:
        return bool(self.idle) or self.free > 0

    def take(self) -> Connection | None:
        """Take an item without waiting; only after ``available()`` said yes."""
        if self.idle:
            return self.idle.pop()
        self.free -= 1
        return None

    async def wait(self) -> Connection | None:
        """Wait in line for an item.

        On cancellation (a timeout included) an item that was already handed
        over is passed on to the next waiter before the cancellation
        propagates, so a slot is never lost.
        """
        waiter: asyncio.Future[Connection | None] = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        try:
            return await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.give(waiter.result())
            else:
                waiter.cancel()
                try:
                    self.waiters.remove(waiter)
                except ValueError:
                    pass
            raise

    def give(self, item: Connection | None) -> None:
        """Hand ``item`` to the oldest live waiter, or keep it."""
        waiters = self.waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(item)
                return
        if item is None:
            self.free += 1
        else:
            self.idle.append(item)

    def take_idle(self, conn: Connection) -> None:
        """Turn one idle connection into a free slot (reaping)."""
        self.idle.remove(conn)
        self.free += 1

    def take_free(self) -> bool:
        """Take a free slot without waiting, passing over idle connections."""
        if self.free and not self.closed:
            self.free -= 1
            return True
        return False

    def close(self, error: Callable[[], BaseException]) -> list[Connection]:
        """Fail every waiter with ``error()`` and return the idle connections."""
        self.closed = True
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_exception(error())
        idle = list(self.idle)
        self.idle.clear()
        return idle


@dataclass(frozen=True, slots=True)
class PoolStats:
    """A snapshot of a pool, from ``Pool.stats()``.

    ``size`` counts every slot taken: ``in_use`` (borrowed), ``idle`` and
    ``opening`` (being connected, health-checked, or handed to a waiter that has not
    run yet). ``waiting`` tasks are
    queued for a slot. The totals (``created``, ``closed``, ``acquired``,
    ``timeouts``, ``connect_errors``) count since the pool was made.
    ``oldest_held`` is how long the longest-held connection has been
    borrowed, in seconds (0.0 when none is). ``shared`` of the ``in_use``
    connections are lent to auto-pipelining, which keeps each while commands
    keep coming (they do not count towards ``oldest_held``).
    """

    max_size: int
    min_size: int
    size: int
    in_use: int
    idle: int
    opening: int
    waiting: int
    created: int
    closed: int
    acquired: int
    timeouts: int
    connect_errors: int
    oldest_held: float
    shared: int = 0


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
        hold = self._pool._in_use.get(conn)
        if exc_type is GeneratorExit and hold is not None:
            # The borrowing coroutine is being closed, typically because its
            # task was garbage-collected while it still held the connection
            # (with leak detection on, _abandoned() has already reported it).
            logger.error(
                "%r: %r was still borrowed by %s when its coroutine was closed (an abandoned "
                "task?); returned to the pool",
                self._pool,
                conn,
                hold.describe(),
            )
        self._pool._release(conn)

    def __repr__(self) -> str:
        return f"<acquire from {self._pool!r} conn={self._conn!r}>"


class _Hold:
    """Who borrowed a connection, since when and (with leak detection) from where.

    The task is held weakly: a task abandoned while it borrows (pending for
    ever, then garbage-collected) must not be kept alive by the pool, so
    that its slot can be recovered.
    """

    __slots__ = ("shared", "since", "site", "task", "task_name", "timer")

    def __init__(self, task: asyncio.Task[object] | None, since: float) -> None:
        # Every borrow makes one: keep it small. The name is kept because it
        # is what reports an abandoned task, after the task itself is gone.
        self.since = since
        self.task = None if task is None else weakref.ref(task)
        self.task_name = None if task is None else task.get_name()
        self.site: str | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.shared = False

    def __repr__(self) -> str:
        return f"<_Hold {self.who()} for {time.monotonic() - self.since:.3f}s>"

    def who(self) -> str:
        """``task 'name'``, or ``no task`` for a borrow made outside any task."""
        if self.shared:
            return "auto-pipelining (shared by many tasks)"
        return "no task" if self.task_name is None else f"task {self.task_name!r}"

    def describe(self) -> str:
        """``task 'name' for 1.234s (acquired at file.py:12 in f)``, for messages."""
        who = self.who()
        where = f" (acquired at {self.site.strip().splitlines()[0].strip()})" if self.site else ""
        return f"{who} for {time.monotonic() - self.since:.3f}s{where}"


class Pool:
    """A bounded pool of connections to one Redis server.

    Connections are opened lazily up to ``max_size`` (``min_size`` of them are
    opened when the pool opens and kept open). Tasks that find every slot busy
    wait in FIFO order for at most ``acquire_timeout``. The pool is bound to
    the event loop it is first used on.

    Build one with ``Pool.from_url(url, **options)`` or
    ``Pool(ConnectionOptions(...), PoolOptions(...))``, use it as
    ``async with pool:`` (or call ``open()`` and ``aclose()``), and borrow
    connections with ``async with pool.acquire() as conn``. ``connector``
    replaces how connections are opened (an async callable taking the time
    allowed); the pool's unit tests use it, applications rarely need it.
    """

    def __init__(
        self,
        connection: ConnectionOptions | None = None,
        options: PoolOptions | None = None,
        *,
        connector: Connector | None = None,
    ) -> None:
        self.connection_options = connection if connection is not None else ConnectionOptions()
        self.options = options if options is not None else PoolOptions()
        opts = self.options
        if connector is None:
            target = self.connection_options

            async def connector(timeout: float | None) -> Connection:
                return await Connection.open(target, timeout=timeout)

        self._connect: Connector = connector
        # The cluster client turns this off: a node that refuses may have been
        # failed over, and the cluster retries after a topology refresh instead.
        self._retry_connect = True
        self._slots = _Slots(opts.max_size)
        self._refill_above = opts.max_size - opts.min_size  # free slots beyond: below min_size
        self._waiting = 0
        self._in_use: dict[Connection, _Hold] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False
        self._closed_event: asyncio.Event | None = None
        self._all_returned: asyncio.Event | None = None
        self._reaper: asyncio.TimerHandle | None = None
        self._refill: asyncio.Task[None] | None = None
        self._keepalive: asyncio.Task[None] | None = None
        self._checking: set[Connection] = set()  # idle ones taken out for a keepalive PING
        self._created = self._closed = self._acquired = 0
        self._timeouts = self._connect_errors = 0
        periods = [
            t
            for t in (opts.idle_timeout, opts.max_lifetime, opts.keepalive_interval)
            if t is not None
        ]
        self._reap_period = (
            min(max(min(periods) / 4, _REAP_MIN_PERIOD), _REAP_MAX_PERIOD) if periods else None
        )
        timeouts = [
            t
            for t in (
                self.connection_options.connect_timeout,
                self.connection_options.command_timeout,
            )
            if t is not None
        ]
        self._health_timeout = min(timeouts, default=5.0)
        # The None-means-never options as numbers, for the acquire fast path.
        self._check_after = (
            math.inf if opts.health_check_interval is None else opts.health_check_interval
        )
        self._max_lifetime = math.inf if opts.max_lifetime is None else opts.max_lifetime

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

    async def aclose(self) -> None:
        """Stop new acquires, wait for borrowed connections, close everything.

        Tasks waiting for a slot get ``PoolClosed`` at once. Borrowed
        connections are waited for at most ``close_timeout`` seconds; any
        still borrowed then are aborted (their commands fail with
        ``ConnectionFailure``). Idempotent. If cancelled, every connection is
        aborted before the cancellation propagates.
        """
        if self._closing:
            if self._closed_event is not None:
                await self._closed_event.wait()
            return
        self._closing = True
        self._closed_event = asyncio.Event()
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        refill, self._refill = self._refill, None
        if refill is not None:
            refill.cancel()
        keepalive = self._keepalive
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
            for conn in self._in_use:
                conn.abort(
                    f"the pool was closed and close_timeout={self.options.close_timeout}s "
                    "ran out before this connection was returned"
                )
            self._closed += len(self._in_use)
            for hold in self._in_use.values():
                if hold.timer is not None:
                    hold.timer.cancel()
            self._in_use.clear()
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

    def _check_usable(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            if self._loop is not None:
                raise RuntimeError(
                    f"{self!r} is bound to the event loop it was first used on and cannot be "
                    "used from another; create one pool per event loop"
                )
            self._loop = loop
        if self._closing:
            raise PoolClosed(f"{self!r} is closed; create a new pool")

    async def _acquire(self) -> Connection:
        self._check_usable()
        slots = self._slots
        deadline: float | None = None
        if slots.available():
            item = slots.take()
        else:
            deadline = self._deadline()
            item = await self._wait_for_slot(deadline)
            if self._closing:  # handed over just before aclose() began
                if item is not None:
                    self._discard(item)
                raise PoolClosed(f"{self!r} was closed while waiting for a connection")
        if item is not None:
            now = time.monotonic()
            if (
                now - item.checked_at < self._check_after
                and now - item.created_at < self._max_lifetime
                and item.is_pooled_and_open()
            ):
                item.check_out()
                self._hold(item, now)
                return item
        # Slow path: a stale idle connection, or a free slot to open one in.
        try:
            conn = await self._prepare(item, deadline if deadline is not None else self._deadline())
        except BaseException:
            self._slots.give(None)
            raise
        if self._closing:
            self._discard(conn)
            raise PoolClosed(f"{self!r} was closed while a connection was being opened")
        self._hold(conn, time.monotonic())
        return conn

    def _hold(self, conn: Connection, now: float) -> None:
        self._acquired += 1
        task = asyncio.current_task(self._loop)
        hold = self._in_use[conn] = _Hold(task, now)
        threshold = self.options.leak_detection_threshold
        if threshold is None:
            return
        hold.site = _caller_site()
        hold.timer = asyncio.get_running_loop().call_later(threshold, self._held_too_long, conn)
        if task is not None:
            # A task collected while it borrows never released: recover the slot.
            pool = weakref.ref(self)
            hold.task = weakref.ref(task, lambda _: _abandoned(pool, conn, hold))

    def _lend(self, conn: Connection) -> None:
        """Mark a borrowed connection as shared by auto-pipelining.

        It is held by no task (many tasks' commands run on it), so it gets no
        leak detection: its owner returns it once it has been idle a moment.
        """
        hold = self._in_use[conn]
        if hold.timer is not None:
            hold.timer.cancel()
            hold.timer = None
        hold.task = None  # drops the abandoned-task callback with the weak reference
        hold.task_name = None
        hold.shared = True

    def _held_too_long(self, conn: Connection) -> None:
        hold = self._in_use.get(conn)
        if hold is None:
            return
        logger.warning(
            "%r: %r borrowed by %s, longer than leak_detection_threshold=%ss; acquired at:\n%s",
            self,
            conn,
            hold.describe(),
            self.options.leak_detection_threshold,
            hold.site,
        )

    async def _retry(
        self,
        failure: ConnectionFailure | OutcomeUnknown,
        attempt: Callable[[Connection], Awaitable[T]],
        safe: bool,
        what: str,
    ) -> T:
        """After a first attempt failed with ``failure``: the retry rules, in one place.

        A command that provably never left (a ``ConnectionFailure`` that is
        not an ``OutcomeUnknown``) is sent again on a fresh connection, at
        most ``max_size`` times. One whose outcome is unknown is repeated only
        when ``safe`` (to repeat) and ``retry_safe_commands`` allows it. Once
        any attempt's outcome was unknown, the caller gets that unknown
        outcome, never a later "not sent" error (acquiring a connection for
        the repeat can fail too).
        """
        resends = self.options.max_size
        repeats = self.options.retry_safe_commands if safe else 0
        unknown = failure if isinstance(failure, OutcomeUnknown) else None
        while True:
            if isinstance(failure, OutcomeUnknown):
                if not repeats:
                    raise failure
                repeats -= 1
                client_logger.info("repeating %s (safe to repeat) after: %s", what, failure)
            else:
                if not resends:
                    raise unknown or failure
                resends -= 1
                client_logger.debug("resending %s on a fresh connection: %s", what, failure)
            try:
                conn = await self._acquire()
            except RedisError as exc:
                if unknown is not None:
                    raise unknown from exc
                raise
            try:
                return await attempt(conn)
            except (ConnectionFailure, OutcomeUnknown) as exc:
                failure = exc
                if isinstance(exc, OutcomeUnknown):
                    unknown = exc
            finally:
                self._release(conn)

    async def _resend(
        self, failure: ConnectionFailure | OutcomeUnknown, data: bytes, args: tuple[Any, ...]
    ) -> Any:
        """``_retry`` for one encoded command that failed with its connection."""
        return await self._retry(
            failure,
            lambda conn: conn.request(data, args, True),
            is_safe_to_repeat(args),
            display_name(args),
        )

    def _deadline(self) -> float | None:
        timeout = self.options.acquire_timeout
        return None if timeout is None else time.monotonic() + timeout

    async def _wait_for_slot(self, deadline: float | None) -> Connection | None:
        self._waiting += 1
        try:
            async with asyncio.timeout(None if deadline is None else deadline - time.monotonic()):
                return await self._slots.wait()
        except TimeoutError:
            self._timeouts += 1
            raise self._timeout_error() from None
        finally:
            self._waiting -= 1

    def _timeout_error(self) -> PoolTimeout:
        stats = self.stats()
        detail = ""
        if self._in_use:
            holds = list(self._in_use.values())
            shown = "; ".join(hold.describe() for hold in holds[:5])
            more = f"; and {len(holds) - 5} more" if len(holds) > 5 else ""
            detail = f", held by (oldest first) {shown}{more}"
        if stats.opening:
            detail += f", {stats.opening} being opened"
        return PoolTimeout(
            f"no connection to {self.connection_options.address} became free within "
            f"acquire_timeout={self.options.acquire_timeout}s: {stats.in_use} of "
            f"max_size={stats.max_size} in use{detail}; {stats.waiting - 1} other task(s) "
            "waiting. Raise max_size or acquire_timeout, or hold connections for less time"
        )

    async def _prepare(self, conn: Connection | None, deadline: float | None) -> Connection:
        """Validate an idle connection, or open a new one, in a slot already taken."""
        if conn is not None:
            now = time.monotonic()
            if not conn.is_pooled_and_open() or now - conn.created_at >= self._max_lifetime:
                self._discard(conn)
            else:
                try:
                    dead = await self._ping(conn)
                except BaseException:
                    self._closed += 1
                    raise
                if dead is None:
                    conn.last_used_at = conn.checked_at
                    return conn
                # Found dead before the caller's command was written: replacing
                # it is a retry that provably never ran.
                self._closed += 1
        return await self._open(deadline)

    async def _open(self, deadline: float | None) -> Connection:
        """Open a connection, retrying with backoff and jitter until ``deadline``.

        The error raised at the deadline names the last *real* failure: an
        attempt the deadline cut short (or left no time for) would only say
        "no time", hiding the refusal (``maxclients``, ``LOADING``) before it.
        """
        opts = self.options
        address = self.connection_options.address
        connect_timeout = self.connection_options.connect_timeout
        started = time.monotonic()
        attempt = 0
        cause: RedisError | None = None  # the last failure not caused by the deadline
        while True:
            timeout = connect_timeout
            capped = False
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining < _MIN_ATTEMPT:
                    if cause is None:
                        raise ConnectError(
                            f"could not connect to {address}: no time left within "
                            f"acquire_timeout={opts.acquire_timeout}s",
                            address,
                        )
                    raise self._gave_up(attempt, started, cause)
                capped = timeout is None or remaining < timeout
                timeout = remaining if capped else timeout
            attempt += 1
            try:
                conn = await self._connect(timeout)
            except (ConnectError, BusyLoadingError) as exc:
                self._connect_errors += 1
                if not (capped and cause is not None and isinstance(exc, ConnectError)):
                    cause = exc
                delay = random.uniform(
                    0, min(opts.reconnect_backoff_max, opts.reconnect_backoff * 2**attempt)
                )
                if (
                    deadline is None
                    or not self._retry_connect
                    or time.monotonic() + delay >= deadline
                ):
                    if attempt == 1 and isinstance(exc, ConnectError):
                        raise
                    raise self._gave_up(attempt, started, cause) from exc
                logger.debug("connect attempt %d to %r failed: %s", attempt, self, exc)
                await asyncio.sleep(delay)
            except ReplyError:
                self._connect_errors += 1
                raise
            else:
                self._created += 1
                return conn

    def _gave_up(self, attempts: int, started: float, cause: RedisError) -> ConnectError:
        error = ConnectError(
            f"could not connect to {self.connection_options.address} after {attempts} "
            f"attempt(s) in {time.monotonic() - started:.2f}s "
            f"(acquire_timeout={self.options.acquire_timeout}s); last error: {cause}",
            self.connection_options.address,
        )
        error.__cause__ = cause
        return error

    def _release(self, conn: Connection) -> None:
        hold = self._in_use.pop(conn, None)
        if hold is not None and hold.timer is not None:
            hold.timer.cancel()
        if hold is None:
            if self._closing:  # aclose() gave up on it and cleared the books
                conn.abort()
            return
        if self._closing:
            conn.abort()
            self._closed += 1
            if not self._in_use and self._all_returned is not None:
                self._all_returned.set()
            return
        now = time.monotonic()
        if now - conn.created_at < self._max_lifetime and conn.is_reusable():
            conn.check_in()
            conn.last_used_at = conn.checked_at = now
            self._slots.give(conn)
            if self._slots.free > self._refill_above:
                self._start_refill()  # e.g. after a warm-up that failed
            if self._reaper is None and self._reap_period is not None:
                self._arm_reaper()
        else:
            self._discard(conn)
            self._slots.give(None)
            self._start_refill()

    def _discard(self, conn: Connection) -> None:
        conn.abort()
        self._closed += 1

    # -- background upkeep -------------------------------------------------------

    def _arm_reaper(self) -> None:
        assert self._loop is not None
        assert self._reap_period is not None
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
        if keepalive is not None and self._keepalive is None:
            due = [conn for conn in idle if now - conn.checked_at >= keepalive]
            if due:
                for conn in due:
                    idle.remove(conn)  # the slot stays taken: it counts as opening
                self._checking.update(due)
                assert self._loop is not None
                self._keepalive = self._loop.create_task(self._ping_idle(due))
        if idle or self._checking:
            self._arm_reaper()
        self._start_refill()

    async def _ping_idle(self, conns: list[Connection]) -> None:
        """PING idle connections nobody used for ``keepalive_interval`` (HikariCP's keepalive).

        A peer that vanished without a FIN (a partition, a frozen host) is
        found here, within one health-check timeout, instead of by the next
        caller's command. Each connection goes back (to a waiter first) as
        soon as its PING answers.
        """
        try:
            await asyncio.gather(*(self._ping_one(conn) for conn in conns))
        finally:
            self._keepalive = None
            for conn in self._checking:  # cancelled by aclose()
                conn.abort()
                self._closed += 1
            self._checking.clear()

    async def _ping_one(self, conn: Connection) -> None:
        dead = await self._ping(conn)
        self._checking.discard(conn)
        if dead is not None:
            logger.info("%r: keepalive PING on %r failed (%s); closed", self, conn, dead)
            self._closed += 1
            if not self._closing:
                self._slots.give(None)
                self._start_refill()
            return
        if self._closing:
            self._discard(conn)
            return
        conn.check_in()
        self._slots.give(conn)

    async def _ping(self, conn: Connection) -> RedisError | None:
        """PING an idle connection taken out of the pool, within the health-check timeout.

        ``None`` when the server answered, an error reply included (it is
        alive and in step; an ACL user may not be allowed PING); otherwise the
        failure, and the connection is already aborted. Cancellation aborts it
        and propagates.
        """
        conn.check_out()
        try:
            await conn.execute("PING", timeout=self._health_timeout)
        except ReplyError:
            pass
        except (ConnectionFailure, CommandTimeout, ProtocolError) as exc:
            return exc
        except BaseException:
            conn.abort()
            raise
        conn.checked_at = time.monotonic()
        return None

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
                    conn = await self._open(self._deadline())
                except BaseException:
                    self._slots.give(None)
                    raise
                if self._closing:
                    self._discard(conn)
                    return
                conn.check_in()
                self._slots.give(conn)
                if self._reaper is None and self._reap_period is not None:
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

    def stats(self) -> PoolStats:
        """Return a snapshot of the pool's counts; never awaits, never raises."""
        opts = self.options
        size = opts.max_size - self._slots.free if not self._slots.closed else len(self._in_use)
        in_use = len(self._in_use)
        idle = len(self._slots.idle)
        oldest = 0.0
        shared = 0
        for hold in self._in_use.values():  # oldest first
            if hold.shared:
                shared += 1
            elif not oldest:
                oldest = time.monotonic() - hold.since
        return PoolStats(
            max_size=opts.max_size,
            min_size=opts.min_size,
            size=size,
            in_use=in_use,
            idle=idle,
            opening=max(size - in_use - idle, 0),
            waiting=self._waiting,
            created=self._created,
            closed=self._closed,
            acquired=self._acquired,
            timeouts=self._timeouts,
            connect_errors=self._connect_errors,
            oldest_held=oldest,
            shared=shared,
        )


def _caller_site() -> str:
    """The stack of the code that borrowed a connection, without aiopool's own frames."""
    frames = [
        frame
        for frame in traceback.extract_stack(limit=40)[:-1]
        if _PACKAGE_DIR not in frame.filename
    ]
    return "".join(traceback.format_list(frames[-8:][::-1])) if frames else "(unknown)"


def _abandoned(pool_ref: weakref.ref[Pool], conn: Connection, hold: _Hold) -> None:
    pool = pool_ref()
    if pool is None or pool._in_use.get(conn) is not hold:
        return  # released properly, or the pool is gone
    logger.error(
        "%r: %r was borrowed by %s, a task that was garbage-collected without returning it; "
        "the connection was closed and its slot recovered. Acquired at:\n%s",
        pool,
        conn,
        hold.describe(),
        hold.site,
    )
    conn.abort("its borrower was garbage-collected")
    pool._release(conn)
