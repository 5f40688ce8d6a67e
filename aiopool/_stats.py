"""``PoolStats``: the snapshot ``Pool.stats()`` returns (plain data, no behaviour)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PoolStats"]


@dataclass(frozen=True, slots=True)
class PoolStats:
    """A snapshot of a pool, from ``Pool.stats()``.

    ``size`` counts every slot taken: ``in_use`` (borrowed), ``idle`` and
    ``opening`` (being connected, health-checked, or handed to a waiter that
    has not run yet). ``waiting`` tasks are queued for a slot. The totals (``created``, ``closed``, ``acquired``,
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
