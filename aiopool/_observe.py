"""What an observer of pools and commands implements (``aiopool.otel`` is the one we ship).

The pool and the opener hold an observer attribute that is ``None`` unless
someone instruments them, and test it where the work already happens (after
a take, at a release, around a connect), so a pool nobody observes pays one
``is not None`` test per borrow and per return, and never a clock read. An
observed ``Client`` switches to a subclass that times its commands, so an
unobserved one pays nothing per command. Observers are called synchronously
and must not await or raise.
"""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["CommandObserver", "Operation", "PoolObserver"]


class PoolObserver(Protocol):
    """Told of a pool's borrows, returns and new connections (times in seconds)."""

    def acquired(self, waited: float) -> None:
        """A connection was handed out ``waited`` seconds after it was asked for."""

    def released(self, held: float) -> None:
        """A borrowed connection came back (or was discarded) after ``held`` seconds."""

    def connected(self, took: float) -> None:
        """A connection attempt succeeded in ``took`` seconds (handshake included)."""


class Operation(Protocol):
    """One command or batch under way; ``end()`` is called exactly once."""

    def end(self, error: BaseException | None) -> None:
        """The operation finished: ``error`` is what it raised, ``None`` on success."""


class CommandObserver(Protocol):
    """Told when a client's commands and batches start; each start returns its ``Operation``."""

    def command(self, args: tuple[Any, ...]) -> Operation:
        """One command (``args`` as sent; an observer must not record its keys or values)."""

    def batch(self, name: str, size: int) -> Operation:
        """A batch: ``name`` is ``"PIPELINE"`` or ``"MULTI"``, ``size`` its command count."""
