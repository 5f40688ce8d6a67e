"""A fake connection and connection factory for driving ``Pool`` (and ``_retry``) without sockets.

``FakeConnection`` has exactly the surface the pool needs (its ``__slots__``
hold nothing else, so a pool reaching for more fails these tests):
``check_in()``, ``check_out()``, ``is_reusable()``, ``is_pooled_and_open()``,
``abort()``, ``aclose()``, ``created_at``, ``last_used_at``, ``checked_at``,
and ``request()``/``request_many()``, which the default health check
(``PING``) and the retry rules use. What a request does is scripted per
connection.

The test modules import it relatively (``from .fake_connection import ...``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

from aiopool import (
    ConnectError,
    Connection,
    ConnectionOptions,
    Pool,
    PoolOptions,
    PoolStats,
    ReplyError,
)

__all__ = [
    "HANG",
    "FakeConnection",
    "FakeConnector",
    "assert_balanced",
    "fake",
    "make_pool",
    "wait_until",
]

# Replies are scripted as values, exceptions (raised), or HANG (never answers).
HANG = object()
Script = Callable[["FakeConnection", tuple[Any, ...]], Any]


class FakeConnection:
    """One fake connection: states ``ready`` (borrowed), ``pooled`` (idle), ``closed``."""

    __slots__ = (
        "abort_reason",
        "auth_generation",
        "checked_at",
        "created_at",
        "ident",
        "last_used_at",
        "peer_closed",
        "replies",
        "requests",
        "session_changed",
        "state",
    )

    def __init__(self, ident: int) -> None:
        self.ident = ident
        self.state = "ready"
        self.created_at = self.last_used_at = self.checked_at = time.monotonic()
        self.auth_generation = 0
        self.peer_closed = False  # the server closed it (EOF seen)
        self.session_changed = False  # e.g. SELECT ran on it
        self.abort_reason: str | None = None
        self.requests: list[tuple[Any, ...]] = []
        self.replies: list[Any] = []  # consumed first; then PING answers PONG

    def __repr__(self) -> str:
        return f"<FakeConnection #{self.ident} {self.state}>"

    # -- the pool's surface ----------------------------------------------------------------

    def check_in(self) -> bool:
        if self.is_reusable():
            self.state = "pooled"
            return True
        return False

    def check_out(self) -> bool:
        if self.is_pooled_and_open():
            self.state = "ready"
            return True
        return False

    def is_reusable(self) -> bool:
        return self.state == "ready" and not self.peer_closed and not self.session_changed

    def is_pooled_and_open(self) -> bool:
        return self.state == "pooled" and not self.peer_closed

    def is_closed(self) -> bool:
        return self.state == "closed"

    def abort(self, reason: str | None = None) -> None:
        if reason is not None and self.state != "closed":
            self.abort_reason = reason
        self.state = "closed"

    async def aclose(self, timeout: float = 1.0) -> None:
        self.state = "closed"

    async def request(
        self, data: bytes, args: tuple[Any, ...], timeout: float | bool | None
    ) -> Any:
        if self.state != "ready":
            raise RuntimeError(f"{self!r} used while {self.state}")
        self.requests.append(args)
        reply: Any = self.replies.pop(0) if self.replies else b"PONG"
        try:
            if reply is HANG:
                await asyncio.get_running_loop().create_future()
            if callable(reply):
                reply = reply(self, args)
        except BaseException:
            self.abort()  # as the real one: an interrupted request destroys the connection
            raise
        if isinstance(reply, BaseException):
            if not isinstance(reply, ReplyError):  # an error reply leaves it healthy
                self.abort()
            raise reply
        return reply

    async def request_many(
        self, data: bytes, count: int, what: str, timeout: float | None
    ) -> list[Any]:
        return list(await self.request(data, (what,), timeout))


class FakeConnector:
    """The pool's connector: fails ``failures`` times, waits on ``gate`` if set, then connects."""

    def __init__(self) -> None:
        self.calls = 0
        self.failures = 0
        self.failure: BaseException = ConnectError("could not connect to fake:1: refused", "fake:1")
        self.gate: asyncio.Event | None = None
        self.made: list[FakeConnection] = []
        self.on_new: Callable[[FakeConnection], None] | None = None

    def __repr__(self) -> str:
        return f"<FakeConnector calls={self.calls} made={len(self.made)}>"

    async def __call__(self, timeout: float | None) -> FakeConnection:
        self.calls += 1
        if self.failures:
            self.failures -= 1
            raise self.failure
        if self.gate is not None:
            await self.gate.wait()
        conn = FakeConnection(len(self.made))
        if self.on_new is not None:
            self.on_new(conn)
        self.made.append(conn)
        return conn


def make_pool(connector: FakeConnector, **options: Any) -> Pool:
    """A pool over ``connector``; health checks off unless asked for."""
    options.setdefault("health_check_interval", None)
    options.setdefault("keepalive_interval", None)
    checker = options.pop("checker", None)
    connect = cast(Callable[[float | None], Awaitable[Connection]], connector)
    if checker is None:
        return Pool(ConnectionOptions(), PoolOptions(**options), connector=connect)
    return Pool(ConnectionOptions(), PoolOptions(**options), connector=connect, checker=checker)


def fake(conn: object) -> FakeConnection:
    """The fake behind a connection the pool handed out."""
    assert isinstance(conn, FakeConnection), conn
    return conn


async def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.002)


def assert_balanced(pool: Pool) -> PoolStats:
    """Nothing borrowed, waiting or opening; every slot taken is an idle connection."""
    stats = pool.stats()
    assert (stats.in_use, stats.waiting, stats.opening) == (0, 0, 0), stats
    assert stats.size == stats.idle <= stats.max_size, stats
    return stats
