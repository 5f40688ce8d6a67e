"""Where the benchmark runs: ``--url``, or a throwaway local ``redis-server``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from .._config import ConnectionOptions, options_from_url
from ..testing import RedisServer

__all__ = ["Target", "open_target"]


@dataclass(frozen=True)
class Target:
    """The server under test.

    ``url`` may carry a password and is never printed; ``shown`` is the same
    URL without it. ``throwaway`` says the tool started the server itself.
    """

    url: str = field(repr=False)
    options: ConnectionOptions
    shown: str
    throwaway: bool


def parse_target(url: str, *, throwaway: bool = False) -> Target:
    """A ``Target`` for ``url``; a malformed URL raises ``ValueError`` (password masked)."""
    options, _ = options_from_url(url, {}, where="--url")
    return Target(url=url, options=options, shown=options.url(), throwaway=throwaway)


@contextlib.contextmanager
def open_target(url: str | None) -> Iterator[Target]:
    """Yield ``url``'s target, or start a throwaway ``redis-server`` and stop it afterwards.

    Without ``redis-server`` on PATH, ``RedisServerUnavailable`` says how to
    install it.
    """
    if url is not None:
        yield parse_target(url)
        return
    with RedisServer() as server:
        yield parse_target(server.url, throwaway=True)
