"""Health checks of idle pooled connections, and the heartbeat of subscribed ones.

For the pool: one check, keepalive rounds, the default PING. For pub/sub
readers: ``Heartbeat``, a PING when a subscribed connection stays quiet.

The pool takes its health check as a callable (``Pool(checker=...)``) so that
it never names a command: it hands a connection and a time limit to the
checker and reads back "alive" or "dead". The default, ``ping``, belongs with
the connection (a ``Connection.ping()`` would be its natural home); it lives
here until the connection offers one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final, Generic, Protocol, TypeVar

from ._errors import CommandTimeout, ConnectionFailure, ProtocolError, ReplyError
from ._protocol import encode_command

__all__ = ["Checker", "Heartbeat", "Keepalive", "check", "ping"]

C = TypeVar("C")

_PING_ARGS: Final = ("PING",)
_PING: Final = encode_command(_PING_ARGS)


class _Requester(Protocol):
    async def request(
        self, data: bytes, args: tuple[Any, ...], timeout: float | bool | None
    ) -> Any: ...


class Checker(Protocol):
    """``await checker(conn, timeout)``: ``None`` if ``conn`` is alive, else why it is not.

    Called on a connection the pool checked out for the check. A dead
    connection may be returned un-aborted: the pool aborts it. Raising is for
    cancellation (or a bug): the pool aborts the connection and propagates.
    """

    async def __call__(self, conn: Any, timeout: float) -> BaseException | None: ...


async def ping(conn: _Requester, timeout: float) -> BaseException | None:
    """``PING`` within ``timeout``: ``None`` when the server answered, else the failure.

    An error reply counts as an answer: the server is alive and in step (an
    ACL user may not be allowed ``PING``). A lost connection, a timeout or a
    reply that does not parse is returned, the connection already aborted.
    """
    try:
        await conn.request(_PING, _PING_ARGS, timeout)
    except ReplyError:
        pass
    except (ConnectionFailure, CommandTimeout, ProtocolError) as exc:
        return exc
    return None


class _Checked(Protocol):
    checked_at: float

    def check_out(self) -> bool: ...

    def abort(self, reason: str | None = None) -> None: ...


async def check(conn: _Checked, checker: Checker, timeout: float) -> BaseException | None:
    """Check an idle connection taken out of the pool with ``checker``, within ``timeout``.

    ``None`` when it is alive (its ``checked_at`` is now); otherwise the
    failure, and the connection is aborted. Cancellation aborts it and
    propagates.
    """
    if not conn.check_out():
        conn.abort()
        return ConnectionError(f"{conn!r} broke while idle (the server closed it, or sent bytes)")
    try:
        dead = await checker(conn, timeout)
    except BaseException:
        conn.abort()
        raise
    if dead is not None:
        conn.abort()
        return dead
    conn.checked_at = time.monotonic()
    return None


class Keepalive(Generic[C]):
    """Keepalive rounds over idle connections nobody used for a while (HikariCP's keepalive).

    A peer that vanished without a FIN (a partition, a frozen host) is found
    here, within one health-check timeout, instead of by the next caller's
    command. ``start(conns)`` checks ``conns`` (taken out of the idle set by
    the pool) concurrently in a background task, one round at a time; each
    goes back through ``done(conn, failure)`` as soon as its own check
    answers (``failure`` None: alive). Cancelling ``task`` stops the round;
    the connections whose check it interrupted are aborted and left in
    ``checking`` for the pool's books.
    """

    __slots__ = ("_check", "_done", "checking", "task")

    def __init__(
        self,
        check: Callable[[C], Awaitable[BaseException | None]],
        done: Callable[[C, BaseException | None], None],
    ) -> None:
        self._check = check
        self._done = done
        self.checking: set[C] = set()
        self.task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"<Keepalive checking={len(self.checking)} running={self.task is not None}>"

    def start(self, conns: list[C]) -> None:
        self.checking.update(conns)
        self.task = asyncio.get_running_loop().create_task(self._round(conns))

    async def _round(self, conns: list[C]) -> None:
        try:
            await asyncio.gather(*(self._one(conn) for conn in conns))
        finally:
            self.task = None

    async def _one(self, conn: C) -> None:
        try:
            dead = await self._check(conn)
        except Exception as exc:  # a checker's bug: the connection is aborted; keep its slot
            dead = exc
        self.checking.discard(conn)
        self._done(conn, dead)


class _Stream(Protocol):
    def send(self, data: bytes, replies: int) -> bool: ...

    async def receive(self, into: list[Any]) -> None: ...


class Heartbeat:
    """The health check of a subscribed connection (pub/sub), which nothing else reads from.

    ``receive()`` waits for frames within ``command_timeout`` while something
    is owed (confirmations, a PING's reply), else within
    ``health_check_interval``; when that passes it sends a PING, and a PING
    unanswered within ``command_timeout`` raises ``CommandTimeout``.
    ``pongs`` counts the PING replies still owed: the reader takes them out.
    """

    __slots__ = ("interval", "limit", "pinged", "pongs", "where")

    def __init__(self, interval: float | None, limit: float | None, where: str = "") -> None:
        self.interval, self.limit, self.where = interval, limit, where
        self.pinged = False  # a PING is out and nothing arrived since
        self.pongs = 0

    def __repr__(self) -> str:
        return f"<Heartbeat {self.where}every {self.interval}s pongs={self.pongs}>"

    async def receive(self, conn: _Stream, into: list[Any], *, owed: bool) -> None:
        """Wait until ``conn`` has frames (into ``into``), PINGing it when it stays quiet."""
        while True:
            try:
                async with asyncio.timeout(self.limit if owed or self.pinged else self.interval):
                    await conn.receive(into)
            except TimeoutError:
                if self.pinged:
                    raise CommandTimeout(
                        f"{self.where}no answer to PING within {self.limit}s (command_timeout)",
                        "PING",
                    ) from None
                conn.send(_PING, 0)
                self.pinged = True
                self.pongs += 1
                continue
            self.pinged = False
            return
