"""Sorted set commands."""

from __future__ import annotations

from typing import Any

from ._base import Arg, Command, Key, positive, scored

__all__ = ["zscan"]


def zscan(
    key: Key,
    cursor: int = 0,
    match: str | bytes | None = None,
    count: int | None = None,
) -> Command[tuple[int, list[tuple[Any, float]]]]:
    """ZSCAN: one batch of the sorted set at ``key``, ``(next_cursor, [(member, score)])``.

    The cursor is 0 when done; most code wants ``zscan_iter``.
    """
    args: list[Arg] = ["ZSCAN", key, cursor]
    if match is not None:
        args += ("MATCH", match)
    if count is not None:
        args += ("COUNT", positive("count", count))
    return Command(tuple(args), _zscan_batch)


def _zscan_batch(reply: Any) -> tuple[int, list[tuple[Any, float]]]:
    return int(reply[0]), scored(reply[1])
