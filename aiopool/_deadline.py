"""One lazily re-armed loop timer for deadlines that mostly move later.

A connection (the reply deadline of the command in flight) and a shared
auto-pipelining connection (the deadline of its oldest command) both need a
timer whose deadline changes with every command. Cancelling and scheduling a
``TimerHandle`` per command costs more than the command's own bookkeeping, so
``LazyTimer`` keeps one handle: arming a later deadline leaves the handle as
it is, and when it fires the owner's callback says whether the deadline really
passed or when to look again.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable

__all__ = ["LazyTimer"]


class LazyTimer:
    """A timer that fires at the earliest deadline armed and asks its owner what next.

    ``check()`` is called when the earliest armed time is reached; it returns
    the loop time to look again at (a deadline that moved later), or ``None``
    when there is nothing left to wait for. ``arm()`` never moves the handle
    later, only earlier.
    """

    __slots__ = ("_check", "_handle", "_loop", "when")

    def __init__(self, loop: asyncio.AbstractEventLoop, check: Callable[[], float | None]) -> None:
        self._loop = loop
        self._check = check
        self._handle: asyncio.Handle | None = None
        # The loop time it fires at (inf: not armed). Kept here, not read from
        # the handle: uvloop returns a plain Handle, without when(), for a time
        # already (nearly) past. A hot path may compare with it to skip arm().
        self.when = math.inf

    def __repr__(self) -> str:
        when = "idle" if self._handle is None else f"at {self.when:.3f}"
        return f"<LazyTimer {when}>"

    def arm(self, when: float) -> None:
        """Make sure the timer fires no later than loop time ``when``."""
        if when < self.when:
            if self._handle is not None:
                self._handle.cancel()
            self.when = when
            self._handle = self._loop.call_at(when, self._fire)

    def is_armed(self) -> bool:
        """True while a firing is scheduled."""
        return self._handle is not None

    def cancel(self) -> None:
        """Drop the scheduled firing, if any; ``arm()`` may schedule a new one."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self.when = math.inf

    def _fire(self) -> None:
        self._handle = None
        self.when = math.inf
        again = self._check()
        if again is not None and self._handle is None:
            self.when = again
            self._handle = self._loop.call_at(again, self._fire)
