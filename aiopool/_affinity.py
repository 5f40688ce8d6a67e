"""Which event loop and which process a pool, its connections and a pub/sub belong to.

They bind to nothing when built (a client made at import time is fine) and
to the event loop that first uses them, in the process that made them. From
another loop they raise ``wrong_loop()``'s error. After ``fork()``, the child
must never touch what it inherited: its sockets are the parent's (a command
written there would interleave with the parent's, redis-py#2400/#2910), and
so is the parent loop's selector (an epoll instance is shared across fork:
closing a transport through it would unregister the parent's socket). So
``os.register_at_fork`` runs, in the child, every tracked connection's
``disown(null_fd)`` (which points its descriptor at ``/dev/null``) and then
every tracked owner's ``_after_fork()`` (a used pool then refuses with
``inherited()``'s message). An owner never used before the fork is adopted
by the child as by a new loop.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from typing import Any, Protocol

__all__ = ["Disowned", "inherited", "keep", "track", "track_socket", "wrong_loop"]

FIX_LOOP = (
    "create one client per event loop, e.g. in your app's lifespan/startup or in a "
    "fixture with the loop's scope"
)
FIX_FORK = (
    "Create one client per process after the fork, e.g. in your app's lifespan/startup "
    "(not at import time with gunicorn --preload)"
)


class _Owner(Protocol):
    def _after_fork(self) -> None: ...


class _Socket(Protocol):
    def disown(self, null_fd: int) -> None: ...


_sockets: weakref.WeakSet[Any] = weakref.WeakSet()
_owners: weakref.WeakSet[Any] = weakref.WeakSet()
# In a forked child: the parent's transports, kept for the life of the process.
# Collecting one would close it through the parent's loop (see the docstring).
_kept: list[object] = []


def track_socket(conn: _Socket) -> None:
    """Have ``conn.disown(null_fd)`` run in a child forked while ``conn`` lives."""
    _sockets.add(conn)


def track(owner: _Owner) -> None:
    """Have ``owner._after_fork()`` run in a child forked while ``owner`` lives."""
    _owners.add(owner)


def keep(transport: object) -> None:
    """Keep a disowned transport referenced for the life of this (child) process."""
    _kept.append(transport)


def wrong_loop(
    owner: object, what: str = "is bound to the event loop it was first used on"
) -> RuntimeError:
    """The error of ``owner`` used from an event loop other than its own."""
    return RuntimeError(
        f"{owner!r} {what} and cannot be used from another (each asyncio.run() and each "
        f"of pytest-asyncio's per-test loops is a new one); {FIX_LOOP}"
    )


def inherited(owner: str, what: str = "its connections are") -> str:
    """The message of ``owner`` (a description) used in a forked child."""
    return (
        f"{owner} was used by process {os.getppid()}, and this process ({os.getpid()}) "
        f"was forked from it afterwards: {what} the parent's and cannot be used here. "
        f"{FIX_FORK}"
    )


class Disowned(asyncio.Transport):
    """What a disowned connection has instead of its transport: closed, and touching nothing."""

    def __repr__(self) -> str:
        return "<Disowned transport (the parent process's socket)>"

    def is_closing(self) -> bool:
        return True

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass

    def write(self, data: bytes | bytearray | memoryview) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def _in_child() -> None:
    sockets, owners = list(_sockets), list(_owners)
    null = -1
    if sockets:
        try:
            null = os.open(os.devnull, os.O_RDWR)
        except OSError:
            pass  # descriptors stay open: still never written to
    try:
        for conn in sockets:
            conn.disown(null)
    finally:
        if null >= 0:
            os.close(null)
    for owner in owners:
        owner._after_fork()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork()
    os.register_at_fork(after_in_child=_in_child)
