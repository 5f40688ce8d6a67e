"""Opening a pool's connections: one attempt after another, with backoff, until a deadline.

The pool asks ``Opener.open(deadline)`` for a connection in a slot it has
already taken; the opener owns the connector, the retry loop of connecting
(the "connect failed" case of ``_retry.CASES``) and its counts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Final, Generic, TypeVar

from ._backoff import backoff
from ._config import ConnectionOptions, PoolOptions
from ._errors import BusyLoadingError, ConnectError, RedisError, ReplyError
from ._observe import PoolObserver

__all__ = ["Opener"]

logger = logging.getLogger("aiopool.pool")

C = TypeVar("C")

# An attempt to connect needs at least this long; less is not worth starting.
_MIN_ATTEMPT: Final = 0.01


class Opener(Generic[C]):
    """Opens connections with ``connect(timeout)``, retrying refusals within a deadline.

    ``created`` and ``errors`` count connections opened and attempts that
    failed.
    """

    __slots__ = ("_connect", "created", "errors", "observer", "options", "target")

    def __init__(
        self,
        connect: Callable[[float | None], Awaitable[C]],
        target: ConnectionOptions,
        options: PoolOptions,
    ) -> None:
        self._connect = connect
        self.target = target
        self.options = options
        self.created = self.errors = 0
        self.observer: PoolObserver | None = None  # told how long each connect took

    def __repr__(self) -> str:
        return f"<Opener {self.target.address} created={self.created} errors={self.errors}>"

    async def open(self, deadline: float | None, *, retry: bool = True) -> C:
        """Open a connection, retrying with backoff and jitter until ``deadline``.

        ``ConnectError`` (and a ``LOADING`` refusal) are retried while the next
        backoff ends before ``deadline``; with no deadline, one attempt is
        made, and so with ``retry`` off (the cluster client's choice: a node
        that refuses may have been failed over, and the cluster retries after
        a topology refresh instead). Any other ``ReplyError`` of the handshake (a wrong password) is
        raised at once. The error raised at the deadline names the last *real*
        failure: an attempt the deadline cut short (or left no time for) would
        only say "no time", hiding the refusal (``maxclients``, ``LOADING``)
        before it. Cancellation propagates (the connector closes what it
        half-opened).
        """
        opts = self.options
        address = self.target.address
        connect_timeout = self.target.connect_timeout
        started = time.monotonic()
        attempt = 0
        cause: RedisError | None = None  # the last failure not caused by the deadline
        while True:
            timeout = connect_timeout
            capped = False
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining < _MIN_ATTEMPT:
                    if cause is None:
                        raise ConnectError(
                            f"could not connect to {address}: no time left within "
                            f"acquire_timeout={opts.acquire_timeout}s",
                            address,
                        )
                    raise self._gave_up(attempt, started, cause)
                capped = timeout is None or remaining < timeout
                timeout = remaining if capped else timeout
            attempt += 1
            began = time.monotonic()
            try:
                conn = await self._connect(timeout)
            except (ConnectError, BusyLoadingError) as exc:
                self.errors += 1
                if not (capped and cause is not None and isinstance(exc, ConnectError)):
                    cause = exc
                delay = (
                    backoff(attempt, opts.reconnect_backoff, opts.reconnect_backoff_max, deadline)
                    if deadline is not None and retry
                    else None
                )
                if delay is None:
                    if attempt == 1 and isinstance(exc, ConnectError):
                        raise
                    raise self._gave_up(attempt, started, cause) from exc
                logger.debug("connect attempt %d to %s failed: %s", attempt, address, exc)
                await asyncio.sleep(delay)
            except ReplyError:
                self.errors += 1
                raise
            else:
                self.created += 1
                if self.observer is not None:
                    self.observer.connected(time.monotonic() - began)
                return conn

    def _gave_up(self, attempts: int, started: float, cause: RedisError) -> ConnectError:
        # A connector's own kind of ConnectError (MasterNotFoundError) keeps its type.
        kind = type(cause) if isinstance(cause, ConnectError) else ConnectError
        # The address that failed: a connector may dial another than the target's.
        address = cause.address if isinstance(cause, ConnectError) else self.target.address
        error = kind(
            f"could not connect to {address or self.target.address} after {attempts} "
            f"attempt(s) in {time.monotonic() - started:.2f}s "
            f"(acquire_timeout={self.options.acquire_timeout}s); last error: {cause}",
            address or self.target.address,
        )
        error.__cause__ = cause
        return error
