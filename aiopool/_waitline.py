"""First-come, first-served waiting by direct hand-off, with deadlines on one timer.

``WaitLine`` is the general line: the pool's slots (``Slots``, below) wait in
one, and so can auto-pipelining's back-pressure (commands waiting for room on
a shared connection). ``Slots`` is the pool's store of idle connections and
free slots, served to the line first.
"""

from __future__ import annotations

import asyncio
import collections
import math
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from ._deadline import LazyTimer

__all__ = ["Slots", "WaitLine"]

T = TypeVar("T")
P = TypeVar("P")


class _Waiter(Generic[T, P]):
    __slots__ = ("deadline", "future", "payload")

    def __init__(self, future: asyncio.Future[T], payload: P, deadline: float | None) -> None:
        self.future = future
        self.payload = payload
        self.deadline = deadline

    def __repr__(self) -> str:
        return f"<waiter {self.payload!r} deadline={self.deadline} done={self.future.done()}>"


class WaitLine(Generic[T, P]):
    """A FIFO line of waiters, each a future with a payload and an optional deadline.

    ``T`` is what a waiter is handed; ``P`` is what it waits with (what it
    wants, or ``None`` when every waiter wants the same thing).

    - ``join(payload, deadline)`` puts a new future at the back and returns it;
      ``add(future, payload, deadline)`` does the same with a future the
      caller already has (one that was waiting elsewhere).
    - ``await wait(payload, deadline)`` joins and waits for the item.
      Cancelled after an item was handed over, it passes the item on
      (``give_back``) before the cancellation propagates, so nothing handed
      out is ever lost; cancelled before, it leaves the line at once.
    - ``serve(item)`` resolves the oldest live waiter's future with ``item``
      and returns True, or returns False when nobody waits (the caller keeps
      the item). Hand-off is direct: nothing is stored while someone waits,
      so a newcomer can never overtake a woken waiter. (``asyncio.Queue``
      wakes a getter and leaves the item in the queue, where a newcomer can
      take it first.)
    - ``first()`` is the oldest live waiter (``(future, payload)``) or
      ``None``; ``pop()`` removes it. Together they serve a waiter with
      something that is not a plain item, e.g. auto-pipelining moving a
      waiting command's own future onto a connection that has room:
      ``while (head := line.first()) and (room := pick()): line.pop(); ...``.
    - A waiter still in line at its deadline (a ``time.monotonic()`` value)
      fails with ``expired(payload)``. One timer (a ``_deadline.LazyTimer``)
      serves the whole line, armed for the earliest deadline; deadlines that
      grow with arrival order (one timeout for everyone) cost O(1) per
      expiry, others a scan.
    - ``fail_all(error)`` fails every waiter with ``error(payload)`` (closing).

    A waiter whose future is done by other means (its task cancelled it) is
    skipped and dropped when reached. ``bool(line)`` is whether anyone live
    waits; ``len(line)`` counts them. Synchronous apart from ``wait()``; bound
    to the running event loop when the first deadline is armed.
    """

    __slots__ = ("_expired", "_give_back", "_last", "_loop", "_ordered", "_timer", "_waiters")

    def __init__(
        self,
        expired: Callable[[P], BaseException],
        give_back: Callable[[T], None] | None = None,
    ) -> None:
        self._waiters: collections.deque[_Waiter[T, P]] = collections.deque()
        self._expired = expired
        self._give_back = give_back if give_back is not None else self._serve_or_drop
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: LazyTimer | None = None  # made with the first deadline, in the loop
        self._ordered = True  # deadlines never decrease from head to tail
        self._last = math.inf  # the newest waiter's deadline (inf: none)

    def __repr__(self) -> str:
        return f"<WaitLine waiting={len(self)} timer={self._timer!r}>"

    def __len__(self) -> int:
        return sum(1 for waiter in self._waiters if not waiter.future.done())

    def __bool__(self) -> bool:
        return self._head() is not None

    # -- joining -------------------------------------------------------------------------

    def join(self, payload: P, deadline: float | None = None) -> asyncio.Future[T]:
        """A new future at the back of the line; see the class docstring."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self.add(future, payload, deadline)
        return future

    def add(self, future: asyncio.Future[T], payload: P, deadline: float | None = None) -> None:
        """Put ``future`` at the back of the line, to be served or to expire at ``deadline``."""
        waiters = self._waiters
        later = math.inf if deadline is None else deadline
        if not waiters:
            self._ordered = True
        elif later < self._last:
            self._ordered = False
        self._last = later
        waiters.append(_Waiter(future, payload, deadline))
        if deadline is not None:
            self._arm(deadline)

    async def wait(self, payload: P, deadline: float | None = None) -> T:
        """Join and wait for an item; see the class docstring for cancellation."""
        future = self.join(payload, deadline)
        try:
            return await future
        except BaseException:
            if not future.done() or future.cancelled():
                future.cancel()
                # Leave at once: a line that is never served must not grow.
                for waiter in self._waiters:
                    if waiter.future is future:
                        self._waiters.remove(waiter)
                        break
            elif future.exception() is None:
                self._give_back(future.result())  # handed over just as we were cancelled
            raise

    # -- serving -------------------------------------------------------------------------

    def _head(self) -> _Waiter[T, P] | None:
        waiters = self._waiters
        while waiters:
            waiter = waiters[0]
            if not waiter.future.done():
                return waiter
            waiters.popleft()
        return None

    def first(self) -> tuple[asyncio.Future[T], P] | None:
        """The oldest live waiter's future and payload, left in line; ``None`` if none."""
        head = self._head()
        return None if head is None else (head.future, head.payload)

    def pop(self) -> tuple[asyncio.Future[T], P] | None:
        """Remove and return the oldest live waiter (its future still pending)."""
        head = self._head()
        if head is None:
            return None
        self._waiters.popleft()
        if not self._waiters:
            self._disarm()
        return head.future, head.payload

    def serve(self, item: T) -> bool:
        """Hand ``item`` to the oldest live waiter: True; False when nobody waits."""
        head = self._head()
        if head is None:
            return False
        self._waiters.popleft()
        if not self._waiters:
            self._disarm()
        head.future.set_result(item)
        return True

    def _serve_or_drop(self, item: T) -> None:
        self.serve(item)

    def fail_all(self, error: Callable[[P], BaseException]) -> None:
        """Fail every live waiter with ``error(payload)`` and stop the timer."""
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.future.done():
                waiter.future.set_exception(error(waiter.payload))
        self._disarm()

    # -- the deadline timer --------------------------------------------------------------

    def _arm(self, deadline: float) -> None:
        """Make sure the timer fires by ``deadline`` (it never moves later: ``LazyTimer``)."""
        timer, loop = self._timer, self._loop
        if timer is None or loop is None:
            loop = self._loop = asyncio.get_running_loop()
            timer = self._timer = LazyTimer(loop, self._expire)
        timer.arm(loop.time() + deadline - time.monotonic())

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def _expire(self) -> float | None:
        """Fail the waiters whose deadline passed; the loop time to look again, or None."""
        now = time.monotonic()
        waiters = self._waiters
        soonest: float | None = None
        if self._ordered:
            while waiters:
                waiter = waiters[0]
                if waiter.future.done():
                    waiters.popleft()
                    continue
                if waiter.deadline is None:
                    break  # and so is every later one's
                if waiter.deadline > now:
                    soonest = waiter.deadline
                    break
                waiters.popleft()
                waiter.future.set_exception(self._expired(waiter.payload))
        else:
            kept: collections.deque[_Waiter[T, P]] = collections.deque()
            expired: list[_Waiter[T, P]] = []
            for waiter in waiters:
                if waiter.future.done():
                    continue
                if waiter.deadline is not None and waiter.deadline <= now:
                    expired.append(waiter)
                    continue
                kept.append(waiter)
                if waiter.deadline is not None and (soonest is None or waiter.deadline < soonest):
                    soonest = waiter.deadline
            self._waiters = kept
            for waiter in expired:
                waiter.future.set_exception(self._expired(waiter.payload))
        if soonest is None or self._loop is None:
            return None
        return self._loop.time() + soonest - time.monotonic()


class Slots(Generic[T]):
    """The pool's idle connections, free slots, and the line of tasks waiting for either.

    An item is an idle connection (``T``) or ``None``, a free slot (permission
    to open a connection). Idle connections come out most recently used
    first, so the least used ones stay idle long enough to be reaped; a free
    slot is handed out only when no idle connection is left. Waiters are
    served strictly first come, first served (``WaitLine``), and a waiter
    still waiting at its deadline fails with ``expired()``.
    """

    __slots__ = ("closed", "free", "idle", "line")

    def __init__(self, free: int, expired: Callable[[], BaseException]) -> None:
        self.idle: collections.deque[T] = collections.deque()
        self.free = free
        self.line: WaitLine[T | None, None] = WaitLine(lambda _: expired(), self.give)
        self.closed = False

    def __repr__(self) -> str:
        return f"<slots idle={len(self.idle)} free={self.free} waiters={len(self.line)}>"

    def available(self) -> bool:
        return bool(self.idle) or self.free > 0

    def take(self) -> T | None:
        """Take an item without waiting; only after ``available()`` said yes."""
        if self.idle:
            return self.idle.pop()
        self.free -= 1
        return None

    async def wait(self, deadline: float | None) -> T | None:
        """Wait in line for an item until ``deadline`` (``time.monotonic()``; None: for ever).

        On cancellation an item already handed over is passed on to the next
        waiter (or kept) before the cancellation propagates.
        """
        return await self.line.wait(None, deadline)

    def give(self, item: T | None) -> None:
        """Hand ``item`` to the oldest live waiter, or keep it."""
        line = self.line
        if line._waiters and line.serve(item):
            return
        if item is None:
            self.free += 1
        else:
            self.idle.append(item)

    def take_idle(self, item: T) -> None:
        """Turn one idle connection into a free slot (reaping)."""
        self.idle.remove(item)
        self.free += 1

    def take_free(self) -> bool:
        """Take a free slot without waiting, passing over idle connections."""
        if self.free and not self.closed:
            self.free -= 1
            return True
        return False

    def close(self, error: Callable[[], BaseException]) -> list[T]:
        """Fail every waiter with ``error()`` and return the idle connections."""
        self.closed = True
        self.line.fail_all(lambda _: error())
        idle = list(self.idle)
        self.idle.clear()
        return idle
