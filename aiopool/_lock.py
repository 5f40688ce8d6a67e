"""``Lock``: redis-py's distributed lock (``SET NX PX``, released by token), cancellation-safe.

The holder's token is a random value only it knows: it takes the lock with
``SET name token NX PX timeout`` and releases, extends or re-arms it with a
Lua script that acts only while the key still holds that token. What makes
it safe under asyncio is what happens on cancellation: a ``SET`` that was
written is never abandoned; the cancelled caller waits for its answer (or,
when the answer is lost, assumes it landed) and gives the lock back by its
token before the cancellation propagates.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, Literal, Protocol, TypeVar

from ._errors import LockError, LockNotOwnedError, OutcomeUnknown
from ._script import Script

__all__ = ["Lock", "lock"]

logger = logging.getLogger("aiopool.lock")

T = TypeVar("T")

# KEYS[1]: the lock; ARGV[1]: the token. 1 when it was ours and is gone, else 0.
_RELEASE = """\
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""
# ARGV[2]: milliseconds; ARGV[3]: '1' to set the time to live to them, '0' to
# add them to what is left (a key without expiry keeps none). 1 when it was ours.
_EXTEND = """\
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
    return 0
end
if ARGV[3] == '1' then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
else
    local left = redis.call('PTTL', KEYS[1])
    if left >= 0 then
        redis.call('PEXPIRE', KEYS[1], left + tonumber(ARGV[2]))
    end
end
return 1
"""

# Clean-ups a second cancellation left running: referenced until they end.
_BACKGROUND: set[asyncio.Task[Any]] = set()


class _Client(Protocol):
    """What a lock needs of its client: ``Client`` and ``ClusterClient`` both fit."""

    async def execute(self, *args: Any) -> Any: ...

    def register_script(self, source: str | bytes) -> Script: ...


def _number(value: object, what: str, *, allow_none: bool, positive: bool) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{what} must be a number of seconds, got {type(value).__name__}")
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"{what} must be a finite number of seconds {bound}, got {value!r}")
    return float(value)


def _milliseconds(seconds: float) -> int:
    # Rounded up: a sub-millisecond time must not become PX 0 (an error) or no expiry.
    return max(1, math.ceil(seconds * 1000))


def _encoding(client: object) -> str:
    options = getattr(client, "connection_options", None)
    if options is None:
        options = getattr(getattr(client, "pool", None), "connection_options", None)
    return str(getattr(options, "encoding", "utf-8"))


async def _to_the_end(work: Coroutine[Any, Any, T]) -> T:
    """Await ``work``; if the caller is cancelled meanwhile, let it finish first, then re-raise.

    A second cancellation propagates at once and leaves ``work`` running in
    the background (each command is bounded by ``command_timeout``).
    """
    task = asyncio.ensure_future(work)
    _BACKGROUND.add(task)
    task.add_done_callback(_settled)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait([task])
        raise


def _settled(task: asyncio.Task[Any]) -> None:
    _BACKGROUND.discard(task)
    # Retrieved here, so an error nobody awaited any more (the caller was
    # cancelled) is logged once, at debug level, not as "never retrieved".
    if not task.cancelled() and (error := task.exception()) is not None:
        logger.debug("a lock round trip failed: %r", error)


class _Token:
    """The holder's token (redis-py's ``lock.local.token``); its repr never shows it."""

    __slots__ = ("token",)

    def __init__(self) -> None:
        self.token: bytes | None = None

    def __repr__(self) -> str:
        return "<lock token set>" if self.token is not None else "<no lock token>"


class Lock:
    """A distributed lock on the key ``name``, from ``client.lock(name, ...)``.

    Use ``async with client.lock("name", timeout=10):`` or
    ``acquire()``/``release()``. ``timeout`` (seconds) is the lock's life on
    the server (``PX``): past it the key expires and another may take it;
    ``None`` (the default, as redis-py) never expires, so a holder that dies
    holds it for ever. ``acquire()`` retries every ``sleep`` seconds while
    ``blocking``, for at most ``blocking_timeout`` seconds (``None``: for
    ever). Each ``acquire()`` makes a new random token (or takes ``token``);
    the token is kept on this object, so a ``Lock`` is one holder: give each
    task its own (``client.lock(name)`` is cheap; nothing is sent).

    Cancellation: a cancelled ``acquire()`` whose ``SET`` was written waits
    for its answer (at most ``command_timeout``) and, if it took the lock,
    releases it before the cancellation propagates; when the answer is lost
    (``CommandTimeout``, ``ConnectionLost``) it releases by token all the
    same, so a lost race costs no ``timeout``. A cancelled ``release()``
    finishes first too. ``async with`` releases on the way out of a
    cancelled block, and a ``LockError`` or lost connection at that release
    is logged rather than replacing the ``CancelledError``.

    Differences from redis-py: ``thread_local`` is accepted and changes
    nothing (one event loop thread; the token belongs to the object);
    ``timeout`` must be > 0 or ``None`` (redis-py takes 0 as no expiry) and
    is rounded up to whole milliseconds; after a miss, ``acquire()`` sleeps
    at most what is left of ``blocking_timeout`` and tries once more at the
    end (redis-py gives up when a full ``sleep`` no longer fits).
    """

    __slots__ = (
        "_extend",
        "_release",
        "blocking",
        "blocking_timeout",
        "local",
        "name",
        "raise_on_release_error",
        "redis",
        "sleep",
        "thread_local",
        "timeout",
    )

    def __init__(
        self,
        redis: _Client,
        name: str | bytes | memoryview,
        timeout: float | None = None,
        sleep: float = 0.1,
        blocking: bool = True,
        blocking_timeout: float | None = None,
        thread_local: bool = True,
        raise_on_release_error: bool = True,
    ) -> None:
        if not isinstance(name, str | bytes | memoryview):
            raise TypeError(f"lock name must be str or bytes, got {type(name).__name__}")
        for flag, value in (
            ("blocking", blocking),
            ("thread_local", thread_local),
            ("raise_on_release_error", raise_on_release_error),
        ):
            if not isinstance(value, bool):
                raise TypeError(f"{flag} must be True or False, got {value!r}")
        self.redis = redis
        self.name = name
        self.timeout = _number(timeout, "timeout", allow_none=True, positive=True)
        self.sleep = _number(sleep, "sleep", allow_none=False, positive=False)
        self.blocking = blocking
        self.blocking_timeout = _number(
            blocking_timeout, "blocking_timeout", allow_none=True, positive=False
        )
        self.thread_local = thread_local
        self.raise_on_release_error = raise_on_release_error
        self.local = _Token()
        self._release = redis.register_script(_RELEASE)
        self._extend = redis.register_script(_EXTEND)

    def __repr__(self) -> str:
        held = "held" if self.local.token is not None else "not held"
        return f"<Lock {self.name!r} {held} timeout={self.timeout}>"

    async def __aenter__(self) -> Lock:
        if await self.acquire():
            return self
        raise LockError(
            f"Unable to acquire lock {self.name!r} within the time specified "
            f"(blocking_timeout={self.blocking_timeout})",
            lock_name=self.name,
        )

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.release()
        except Exception as error:
            cancelled = isinstance(exc, asyncio.CancelledError)
            if cancelled or (isinstance(error, LockError) and not self.raise_on_release_error):
                # Never hide a cancellation behind a failed release.
                logger.warning("%r: release on leaving async with failed: %r", self, error)
                return
            raise

    async def acquire(
        self,
        blocking: bool | None = None,
        blocking_timeout: float | None = None,
        token: str | bytes | None = None,
    ) -> bool:
        """SET NX PX: True once the lock is taken, False when ``blocking_timeout`` ran out.

        ``blocking`` and ``blocking_timeout`` override the lock's for this
        call; ``blocking=False`` tries once. ``token`` (str or bytes) replaces
        the random one. Between tries it sleeps ``sleep`` seconds (never past
        ``blocking_timeout``, then one last try). A failed ``SET`` raises its
        error (after giving back a lock it may have taken); cancellation is
        described on the class.
        """
        if blocking is None:
            blocking = self.blocking
        elif not isinstance(blocking, bool):
            raise TypeError(f"blocking must be True, False or None, got {blocking!r}")
        wait = _number(
            self.blocking_timeout if blocking_timeout is None else blocking_timeout,
            "blocking_timeout",
            allow_none=True,
            positive=False,
        )
        if token is None:
            mine = secrets.token_hex(16).encode()
        elif isinstance(token, str):
            mine = token.encode(_encoding(self.redis))
        elif isinstance(token, bytes):
            mine = token
        else:
            raise TypeError(f"token must be str or bytes, got {type(token).__name__}")
        loop = asyncio.get_running_loop()
        give_up = None if wait is None else loop.time() + wait
        while True:
            if await self._try(mine):
                self.local.token = mine
                return True
            if not blocking:
                return False
            pause = self.sleep or 0.0
            if give_up is not None:
                left = give_up - loop.time()
                if left <= 0:
                    return False
                pause = min(pause, left)
            await asyncio.sleep(pause)

    async def _try(self, token: bytes) -> bool:
        args: tuple[Any, ...] = ("SET", self.name, token, "NX")
        if self.timeout is not None:
            args += ("PX", _milliseconds(self.timeout))
        attempt = asyncio.ensure_future(self.redis.execute(*args))
        try:
            return await asyncio.shield(attempt) is not None
        except BaseException:
            # Cancelled (the SET runs on), or its outcome is unknown: give back what it took.
            await _to_the_end(self._undo(attempt, token))
            raise

    async def _undo(self, attempt: asyncio.Future[Any], token: bytes) -> None:
        await asyncio.wait([attempt])
        if not attempt.cancelled():
            error = attempt.exception()
            if error is None and attempt.result() is None:
                return  # NX: someone else holds it
            if error is not None and not isinstance(error, OutcomeUnknown):
                return  # an error reply, or never sent: nothing ran
        try:
            await self._release(keys=[self.name], args=[token])
        except Exception as error:
            logger.warning(
                "%r: a cancelled or failed acquire may hold the lock until it expires "
                "(timeout=%s); giving it back failed: %r",
                self,
                self.timeout,
                error,
            )

    async def release(self) -> None:
        """Give the lock back (the script deletes the key only while it holds our token).

        Raises ``LockError`` when this object holds no token, and
        ``LockNotOwnedError`` when the key no longer holds it (it expired or
        another took it); the token is dropped in both cases. A connection
        error keeps the token, so ``release()`` can be tried again.
        Cancelled, it finishes its round trip first.
        """
        if self.local.token is None:
            raise LockError(
                "Cannot release a lock that's not owned or is already unlocked.",
                lock_name=self.name,
            )
        if not await _to_the_end(self._give_back(self.local.token)):
            raise LockNotOwnedError(
                f"Cannot release a lock that's no longer owned: {self.name!r}",
                lock_name=self.name,
            )

    async def _give_back(self, token: bytes) -> bool:
        released = await self._release(keys=[self.name], args=[token])
        if self.local.token == token:
            self.local.token = None
        return bool(released)

    def extend(
        self, additional_time: float, replace_ttl: bool = False
    ) -> Coroutine[Any, Any, Literal[True]]:
        """Add ``additional_time`` seconds to the lock's time to live (``replace_ttl``: set it).

        Returns an awaitable of True. ``LockError`` at the call when the lock
        is not held or has no ``timeout``; ``LockNotOwnedError`` when the key
        no longer holds our token. Cancellation or a lost reply leaves it
        unknown whether the time was added.
        """
        seconds = _number(additional_time, "additional_time", allow_none=False, positive=True)
        if not isinstance(replace_ttl, bool):
            raise TypeError(f"replace_ttl must be True or False, got {replace_ttl!r}")
        self._check_held("extend")
        assert seconds is not None
        return self._stretch(_milliseconds(seconds), replace_ttl, "extend")

    def reacquire(self) -> Coroutine[Any, Any, Literal[True]]:
        """Reset the lock's time to live to its full ``timeout``; an awaitable of True.

        Errors as ``extend()``.
        """
        self._check_held("reacquire")
        assert self.timeout is not None
        return self._stretch(_milliseconds(self.timeout), True, "reacquire")

    def _check_held(self, what: str) -> None:
        if self.local.token is None:
            raise LockError(f"Cannot {what} an unlocked lock", lock_name=self.name)
        if self.timeout is None:
            raise LockError(f"Cannot {what} a lock with no timeout", lock_name=self.name)

    async def _stretch(self, ms: int, replace: bool, what: str) -> Literal[True]:
        token = self.local.token
        if token is None or not await self._extend(
            keys=[self.name], args=[token, ms, "1" if replace else "0"]
        ):
            raise LockNotOwnedError(
                f"Cannot {what} a lock that's no longer owned: {self.name!r}", lock_name=self.name
            )
        return True

    async def locked(self) -> bool:
        """GET: True when anyone holds the lock (``ReplyError`` if the key is not a string)."""
        return await self.redis.execute("GET", self.name) is not None

    async def owned(self) -> bool:
        """GET: True when the key holds this object's token."""
        token = self.local.token
        stored = await self.redis.execute("GET", self.name)
        if isinstance(stored, str):
            stored = stored.encode(_encoding(self.redis))
        return token is not None and stored == token


def lock(
    self: _Client,
    name: str | bytes | memoryview,
    timeout: float | None = None,
    sleep: float = 0.1,
    blocking: bool = True,
    blocking_timeout: float | None = None,
    lock_class: type[Lock] | None = None,
    thread_local: bool = True,
    raise_on_release_error: bool = True,
) -> Lock:
    """A ``Lock`` on the key ``name`` (nothing is sent until ``acquire()``).

    redis-py's arguments: ``timeout`` is the lock's life in seconds (``None``:
    no expiry), ``sleep`` the pause between tries, ``blocking`` and
    ``blocking_timeout`` how long ``acquire()`` tries, ``lock_class`` another
    class built with the same arguments, ``raise_on_release_error=False``
    logs a failed release at the end of ``async with`` instead of raising.
    ``thread_local`` changes nothing here (see ``Lock``, which also says what
    cancellation and timeouts do). On a cluster the lock lives on the node
    serving ``name``'s slot.
    """
    return (lock_class or Lock)(
        self,
        name,
        timeout=timeout,
        sleep=sleep,
        blocking=blocking,
        blocking_timeout=blocking_timeout,
        thread_local=thread_local,
        raise_on_release_error=raise_on_release_error,
    )
