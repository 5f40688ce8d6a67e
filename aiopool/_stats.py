"""``PoolStats``: the snapshot ``Pool.stats()`` returns (plain data, no behaviour)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PoolStats", "timeout_message"]


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


def timeout_message(stats: PoolStats, address: str, limit: float | None, holders: str) -> str:
    """What a ``PoolTimeout`` says: who holds the connections, and what to change."""
    detail = f", held by (oldest first) {holders}" if holders else ""
    if stats.opening:
        detail += f", {stats.opening} being opened"
    return (
        f"no connection to {address} became free within "
        f"acquire_timeout={limit}s: {stats.in_use} of "
        f"max_size={stats.max_size} in use{detail}; {stats.waiting - 1} other task(s) "
        "waiting. Raise max_size or acquire_timeout, or hold connections for less time"
    )
