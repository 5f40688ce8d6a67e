"""Hash commands."""

from __future__ import annotations

from typing import Any

from ._base import Arg, Command, Key, positive, to_dict

__all__ = ["hscan"]


def hscan(
    key: Key,
    cursor: int = 0,
    match: str | bytes | None = None,
    count: int | None = None,
) -> Command[tuple[int, dict[Any, Any]]]:
    """HSCAN: one batch of the hash at ``key``, ``(next_cursor, {field: value})``.

    The cursor is 0 when done; most code wants ``hscan_iter``.
    """
    args: list[Arg] = ["HSCAN", key, cursor]
    if match is not None:
        args += ("MATCH", match)
    if count is not None:
        args += ("COUNT", positive("count", count))
    return Command(tuple(args), _hscan_batch)


def _hscan_batch(reply: Any) -> tuple[int, dict[Any, Any]]:
    return int(reply[0]), to_dict(reply[1])
