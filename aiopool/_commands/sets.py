"""Set commands."""

from __future__ import annotations

from typing import Any

from ._base import Arg, Command, Key, positive

__all__ = ["sscan"]


def sscan(
    key: Key,
    cursor: int = 0,
    match: str | bytes | None = None,
    count: int | None = None,
) -> Command[tuple[int, list[Any]]]:
    """SSCAN: one batch of the set at ``key``, ``(next_cursor, members)``.

    The cursor is 0 when done; most code wants ``sscan_iter``.
    """
    args: list[Arg] = ["SSCAN", key, cursor]
    if match is not None:
        args += ("MATCH", match)
    if count is not None:
        args += ("COUNT", positive("count", count))
    return Command(tuple(args), _sscan_batch)


def _sscan_batch(reply: Any) -> tuple[int, list[Any]]:
    return int(reply[0]), reply[1]
