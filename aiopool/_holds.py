"""Who holds each borrowed connection, since when, and leak detection.

``Holds`` is the pool's record of borrowed connections, oldest first. With a
``leak_detection_threshold`` it also remembers where each borrow started,
warns about borrows held longer than the threshold, and recovers the slot of
a task garbage-collected while it borrowed (HikariCP's leak detection).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
import traceback
import weakref
from collections.abc import Callable, Hashable, Iterator
from pathlib import Path
from typing import Any, Final, Generic, TypeVar

__all__ = ["Hold", "Holds", "caller_site"]

# The pool's messages: users filter on the pool's logger.
logger = logging.getLogger("aiopool.pool")

C = TypeVar("C", bound=Hashable)

_PACKAGE_DIR: Final = str(Path(__file__).resolve().parent)


class Hold:
    """Who borrowed a connection, since when and (with leak detection) from where.

    The task is held weakly: a task abandoned while it borrows (pending for
    ever, then garbage-collected) must not be kept alive by the pool, so
    that its slot can be recovered.
    """

    __slots__ = ("shared", "since", "site", "task", "task_name", "timer")

    def __init__(self, task: asyncio.Task[Any] | None, since: float) -> None:
        # Every borrow makes one: keep it small. The name is kept because it
        # is what reports an abandoned task, after the task itself is gone.
        self.since = since
        self.task = None if task is None else weakref.ref(task)
        self.task_name = None if task is None else task.get_name()
        self.site: str | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.shared = False

    def __repr__(self) -> str:
        return f"<Hold {self.who()} for {time.monotonic() - self.since:.3f}s>"

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


class Holds(Generic[C]):
    """The borrowed connections, oldest first, each with its ``Hold``.

    ``threshold`` is ``leak_detection_threshold`` (None: off). ``owner`` only
    names the pool in log lines. ``abandoned(conn)`` is called when the task
    that borrowed ``conn`` was garbage-collected without returning it (after
    the error is logged); it must give the slot back. Synchronous; a borrow
    must be made inside the running event loop.
    """

    __slots__ = ("__weakref__", "_abandoned", "_by_conn", "_owner", "threshold")

    def __init__(
        self, threshold: float | None, owner: object, abandoned: Callable[[C], None]
    ) -> None:
        self._by_conn: dict[C, Hold] = {}
        self.threshold = threshold
        self._owner = owner
        self._abandoned = abandoned

    def __repr__(self) -> str:
        return f"<Holds {len(self._by_conn)} threshold={self.threshold}>"

    def __len__(self) -> int:
        return len(self._by_conn)

    def __bool__(self) -> bool:
        return bool(self._by_conn)

    def __contains__(self, conn: object) -> bool:
        return conn in self._by_conn

    def __iter__(self) -> Iterator[C]:
        return iter(self._by_conn)

    def get(self, conn: C) -> Hold | None:
        return self._by_conn.get(conn)

    def add(self, conn: C, now: float, loop: asyncio.AbstractEventLoop) -> None:
        """Record a borrow of ``conn`` by the current task of ``loop`` (with leak detection: and where)."""
        task = _current_task(loop)
        hold = self._by_conn[conn] = Hold(task, now)
        threshold = self.threshold
        if threshold is None:
            return
        hold.site = caller_site()
        hold.timer = asyncio.get_running_loop().call_later(threshold, self._held_too_long, conn)
        if task is not None:
            # A task collected while it borrows never released: recover the slot.
            holds = weakref.ref(self)
            hold.task = weakref.ref(task, lambda _: _collected(holds, conn, hold))

    def pop(self, conn: C) -> Hold | None:
        """Forget the borrow of ``conn`` (returned); None if it was not borrowed."""
        hold = self._by_conn.pop(conn, None)
        if hold is not None and hold.timer is not None:
            hold.timer.cancel()
        return hold

    def lend(self, conn: C) -> None:
        """Mark a borrowed connection as shared by auto-pipelining.

        It is held by no task (many tasks' commands run on it), so it gets no
        leak detection: its owner returns it once it has been idle a moment.
        """
        hold = self._by_conn[conn]
        if hold.timer is not None:
            hold.timer.cancel()
            hold.timer = None
        hold.task = None  # drops the abandoned-task callback with the weak reference
        hold.task_name = None
        hold.shared = True

    def clear(self) -> list[C]:
        """Forget every borrow (the pool gave up on them); the connections, oldest first."""
        for hold in self._by_conn.values():
            if hold.timer is not None:
                hold.timer.cancel()
        conns = list(self._by_conn)
        self._by_conn.clear()
        return conns

    def oldest(self, now: float) -> tuple[float, int]:
        """How long the oldest task-held borrow has lasted (0.0: none), and how many are shared."""
        oldest = 0.0
        shared = 0
        for hold in self._by_conn.values():  # oldest first
            if hold.shared:
                shared += 1
            elif not oldest:
                oldest = now - hold.since
        return oldest, shared

    def holders(self, limit: int = 5) -> str:
        """``task 'a' for 1.2s (acquired at ...); ...; and 3 more``, oldest first."""
        holds = list(self._by_conn.values())
        shown = "; ".join(hold.describe() for hold in holds[:limit])
        more = f"; and {len(holds) - limit} more" if len(holds) > limit else ""
        return shown + more

    def closed_while_held(self, conn: C) -> None:
        """Report a borrow whose coroutine is being closed before it returned ``conn``.

        Typically its task was garbage-collected while it still held the
        connection (with leak detection on, that was reported already).
        """
        hold = self._by_conn.get(conn)
        if hold is not None:
            logger.error(
                "%r: %r was still borrowed by %s when its coroutine was closed (an abandoned "
                "task?); returned to the pool",
                self._owner,
                conn,
                hold.describe(),
            )

    def _held_too_long(self, conn: C) -> None:
        hold = self._by_conn.get(conn)
        if hold is None:
            return
        logger.warning(
            "%r: %r borrowed by %s, longer than leak_detection_threshold=%ss; acquired at:\n%s",
            self._owner,
            conn,
            hold.describe(),
            self.threshold,
            hold.site,
        )


if sys.version_info >= (3, 12):
    _current_task = asyncio.current_task
else:
    # 3.11's asyncio.current_task() is Python code around this dict (kept by
    # the C tasks); every borrow asks it, so ask the dict.
    _TASKS: Final[dict[asyncio.AbstractEventLoop, asyncio.Task[Any]] | None] = getattr(
        asyncio.tasks, "_current_tasks", None
    )

    _current_task: Callable[[asyncio.AbstractEventLoop], asyncio.Task[Any] | None] = (
        _TASKS.get if isinstance(_TASKS, dict) else asyncio.current_task
    )


def caller_site() -> str:
    """The stack of the code that borrowed a connection, without aiopool's own frames."""
    frames = [
        frame
        for frame in traceback.extract_stack(limit=40)[:-1]
        if _PACKAGE_DIR not in frame.filename
    ]
    return "".join(traceback.format_list(frames[-8:][::-1])) if frames else "(unknown)"


def _collected(holds_ref: weakref.ref[Holds[C]], conn: C, hold: Hold) -> None:
    holds = holds_ref()
    if holds is None or holds.get(conn) is not hold:
        return  # released properly, or the pool is gone
    logger.error(
        "%r: %r was borrowed by %s, a task that was garbage-collected without returning it; "
        "the connection was closed and its slot recovered. Acquired at:\n%s",
        holds._owner,
        conn,
        hold.describe(),
        hold.site,
    )
    holds._abandoned(conn)
