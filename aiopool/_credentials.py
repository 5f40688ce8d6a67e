"""Credentials that rotate: the provider protocol, a refreshing helper, re-AUTH; no sockets.

``ConnectionOptions.credential_provider`` is asked for ``(username, password)``
by every ``Connection.open()`` (``fetch()``, within ``connect_timeout``). A
provider may also announce new credentials before the old ones expire, by
offering ``subscribe(callback)``: it then calls ``callback((username,
password))`` with each new pair. The announcement bumps the provider's
*generation* (``Tracker``); a connection remembers the generation it
authenticated at, and one that is behind is re-authenticated with ``AUTH``
(``reauth()``) before the pool hands it out again, or, when idle, at once
(the pool's ``_credentials_changed``). A refused re-AUTH closes that
connection: it never stays open on credentials it may no longer have.

No password, token or provider repr reaches a message, a log line or a repr:
errors name the provider by its type.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, Final, Protocol, runtime_checkable

from ._errors import (
    AuthenticationError,
    CommandTimeout,
    ConnectError,
    ConnectionFailure,
    ProtocolError,
    ReplyError,
)
from ._health import Checker
from ._protocol import encode_command

__all__ = [
    "CredentialProvider",
    "Credentials",
    "RotatingCredentials",
    "Tracker",
    "auth_command",
    "checker",
    "fetch",
    "provider_name",
    "reauth",
    "tracker_for",
]

logger = logging.getLogger("aiopool.credentials")

Credentials = tuple[str | None, str]
Listener = Callable[[Credentials], object]

_AUTH_NAME: Final = ("AUTH",)  # what names the command in errors: never its arguments


@runtime_checkable
class CredentialProvider(Protocol):
    """Where connections get their username and password: ``credential_provider=``.

    ``await provider.get_credentials()`` returns ``(username, password)``;
    ``username`` ``None`` authenticates as the default user. redis-py's
    providers work too: a ``get_credentials_async()`` is preferred, a
    ``get_credentials()`` that is not a coroutine is called as it is, and
    ``(password,)`` means the default user. It is awaited
    for every new connection, before the socket is opened, within
    ``connect_timeout``: a provider that raises, hangs past that time or
    returns something else fails the connection with ``ConnectError``
    naming the provider's type (never the credentials), which the pool
    retries with backoff within ``acquire_timeout``. Cancellation of the
    caller cancels the call.

    Optionally, a provider announces new credentials before the old ones
    expire with a method ``subscribe(callback) -> unsubscribe``: it calls
    ``callback((username, password))`` (a plain function, from the event
    loop) with each new pair. aiopool then re-authenticates every open
    connection with ``AUTH``: idle ones at once, borrowed ones (a blocking
    command's, a watched one) when they come back, before anyone uses them
    again. ``RotatingCredentials`` implements both methods.
    """

    async def get_credentials(self) -> Credentials: ...


def provider_name(provider: object) -> str:
    """The provider as messages show it: its type, never its repr (which may hold a secret)."""
    return type(provider).__qualname__


def _checked(name: str, value: object) -> Credentials:
    if isinstance(value, tuple) and len(value) == 1:  # redis-py's (password,)
        value = (None, value[0])
    if (
        isinstance(value, tuple)
        and len(value) == 2
        and (value[0] is None or isinstance(value[0], str))
        and isinstance(value[1], str)
    ):
        return value
    raise TypeError(
        f"credential_provider {name}.get_credentials() must return "
        f"(username or None, password) as a tuple of str, got {type(value).__name__}"
    )


class Tracker:
    """The generation of one provider's credentials: bumped by each announcement.

    ``latest`` is the pair announced last (``None`` until one is); ``generation``
    counts announcements. Listeners (pools) are held weakly and told through
    their ``_credentials_changed(loop)``, ``loop`` being the one the
    announcement ran in (a pool of another loop does nothing then: its
    connections re-AUTH when next handed out).
    """

    __slots__ = ("__weakref__", "_listeners", "generation", "latest", "name")

    def __init__(self, provider: object) -> None:
        self.name = provider_name(provider)
        self.generation = 0
        self.latest: Credentials | None = None
        self._listeners: weakref.WeakSet[Any] = weakref.WeakSet()
        subscribe = getattr(provider, "subscribe", None)
        if callable(subscribe):
            ref = weakref.ref(self)

            def announced(credentials: Credentials) -> None:
                tracker = ref()
                if tracker is not None:
                    tracker.announce(credentials)

            subscribe(announced)

    def __repr__(self) -> str:
        return f"<Tracker {self.name} generation={self.generation}>"

    def listen(self, listener: object) -> None:
        """Tell ``listener._credentials_changed(loop)`` of each announcement (held weakly)."""
        self._listeners.add(listener)

    def announce(self, credentials: Credentials) -> None:
        """New credentials: connections of older generations must re-AUTH."""
        self.latest = _checked(self.name, credentials)
        self.generation += 1
        logger.info("%s announced new credentials (generation %d)", self.name, self.generation)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # announced outside a loop: connections move at their checkout
            return
        for listener in list(self._listeners):
            try:
                listener._credentials_changed(loop)
            except Exception:  # one pool's failure must not keep the others stale
                logger.exception("%r: telling %r of new credentials failed", self, listener)


_NO_PROVIDER: Final = Tracker(None)
_trackers: weakref.WeakKeyDictionary[Any, Tracker] = weakref.WeakKeyDictionary()
_unweakable: dict[int, tuple[object, Tracker]] = {}


def tracker_for(provider: object | None) -> Tracker:
    """The one ``Tracker`` of ``provider`` (a shared inert one for ``None``)."""
    if provider is None:
        return _NO_PROVIDER
    try:
        found = _trackers.get(provider)
        if found is None:
            found = _trackers[provider] = Tracker(provider)
        return found
    except TypeError:  # not weak-referenceable or not hashable: keep it for the process
        entry = _unweakable.get(id(provider))
        if entry is None:
            entry = _unweakable[id(provider)] = (provider, Tracker(provider))
        return entry[1]


async def fetch(provider: object, address: str, timeout: float | None) -> tuple[int, Credentials]:
    """Ask ``provider`` for credentials within ``timeout``: ``(generation, credentials)``.

    The generation is read before the call, so a pair announced meanwhile
    leaves the new connection one behind (it re-AUTHs at its first checkout)
    rather than wrongly current. Raises ``ConnectError`` naming the provider.
    """
    tracker = tracker_for(provider)
    generation = tracker.generation
    name = tracker.name
    try:
        async with asyncio.timeout(timeout):
            # redis-py's providers: get_credentials_async(), or a plain get_credentials().
            ask = getattr(provider, "get_credentials_async", None) or provider.get_credentials  # type: ignore[attr-defined]
            value = ask()
            if inspect.isawaitable(value):
                value = await value
    except TimeoutError as exc:
        raise ConnectError(
            f"could not connect to {address}: credential_provider {name}.get_credentials() "
            f"did not answer within {timeout}s (connect_timeout)",
            address,
        ) from exc
    except Exception as exc:
        raise ConnectError(
            f"could not connect to {address}: credential_provider {name}.get_credentials() "
            f"raised {type(exc).__name__} (see its __cause__)",
            address,
        ) from exc
    try:
        return generation, _checked(name, value)
    except TypeError as exc:
        raise ConnectError(f"could not connect to {address}: {exc}", address) from None


class _Authenticated(Protocol):
    address: str
    auth_generation: int

    async def request(
        self, data: bytes, args: tuple[Any, ...], timeout: float | bool | None
    ) -> Any: ...

    def abort(self, reason: str | None = None) -> None: ...


def auth_command(tracker: Tracker) -> tuple[bytes, int] | None:
    """The encoded ``AUTH`` with ``tracker``'s latest credentials and their generation.

    ``None`` before any announcement. For a connection that re-AUTHs
    in-stream (a RESP3 subscriber: ``tracker_for(provider).listen(pubsub)``
    calls its ``_credentials_changed(loop)``; it sends this, expects one reply,
    and closes the connection on an error reply). The bytes hold the
    password: write them, never show them.
    """
    latest = tracker.latest
    if latest is None:
        return None
    username, password = latest
    args = ("AUTH", username, password) if username else ("AUTH", password)
    return encode_command(args), tracker.generation


async def reauth(conn: _Authenticated, tracker: Tracker, timeout: float) -> BaseException | None:
    """``AUTH`` ``conn`` with ``tracker``'s latest credentials: None, or why it was closed.

    A refusal aborts the connection (a failed AUTH leaves the old session
    authenticated on the server: keeping it would hide the failure) and is
    returned as ``AuthenticationError``; so are a timeout and a lost
    connection, already aborted. Cancellation aborts it and propagates.
    """
    command = auth_command(tracker)
    if command is None:  # nothing announced: nothing to move to
        conn.auth_generation = tracker.generation
        return None
    data, generation = command
    username = tracker.latest[0] if tracker.latest else None
    try:
        await conn.request(data, _AUTH_NAME, timeout)
    except ReplyError as exc:
        user = f"user {username!r}" if username else "the default user"
        reason = (
            f"{conn.address} refused the new credentials of credential_provider "
            f"{tracker.name} for {user} ({exc.code}); the connection was closed"
        )
        conn.abort(reason)
        logger.warning("re-AUTH failed: %s", reason)
        return AuthenticationError(reason, exc.code)
    except (ConnectionFailure, CommandTimeout, ProtocolError) as exc:
        return exc
    except BaseException:
        conn.abort("cancelled during re-AUTH")
        raise
    conn.auth_generation = generation
    return None


def checker(inner: Checker, tracker: Tracker) -> Checker:
    """A pool health check that re-AUTHs a connection behind ``tracker``, else runs ``inner``.

    The AUTH's answer proves the connection alive as well as a PING would.
    """
    if tracker is _NO_PROVIDER:
        return inner

    async def check(conn: Any, timeout: float) -> BaseException | None:
        if conn.auth_generation != tracker.generation:
            return await reauth(conn, tracker, timeout)
        return await inner(conn, timeout)

    return check


class RotatingCredentials:
    """A ``credential_provider`` that refreshes short-lived credentials on a schedule.

    ``fetch`` is an async callable returning ``(username, password)`` (for
    example one that generates a 15-minute IAM token). It is called once on
    first use, then every ``refresh_every`` seconds, always before the old
    credentials expire if ``refresh_every`` is shorter than their lifetime.
    ``get_credentials()`` returns the current pair without calling ``fetch``
    (concurrent first callers share one call). Each refresh that returns a
    new pair is announced to subscribers (``subscribe(callback)``; the pools
    of every client using this provider subscribe), which makes every open
    connection re-authenticate. A refresh that fails or takes longer than
    ``timeout`` keeps the current pair, logs the failure's type (never a
    secret) and is retried after ``retry_after`` seconds.

    ``await refresh()`` fetches and announces now (on a signal that the
    credentials changed). ``aclose()`` stops the schedule; the background
    refresh runs only while an event loop uses the provider, and its
    cancellation loses nothing (the current pair stays).
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[Credentials]],
        *,
        refresh_every: float,
        retry_after: float = 5.0,
        timeout: float = 10.0,
    ) -> None:
        if not callable(fetch):
            raise TypeError(f"fetch must be an async callable, got {type(fetch).__name__}")
        for name, value in (
            ("refresh_every", refresh_every),
            ("retry_after", retry_after),
            ("timeout", timeout),
        ):
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
        self._fetch = fetch
        self.refresh_every = refresh_every
        self.retry_after = retry_after
        self.timeout = timeout
        self.refreshes = 0  # successful fetches
        self.failures = 0  # fetches that raised or timed out
        self._current: Credentials | None = None
        self._fetched_at: float | None = None
        self._callbacks: list[Listener] = []
        self._lock: asyncio.Lock | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def __repr__(self) -> str:
        user = "-" if self._current is None else repr(self._current[0] or "default")
        age = "" if self._fetched_at is None else f" age={time.monotonic() - self._fetched_at:.1f}s"
        state = " closed" if self._closed else ""
        return (
            f"<RotatingCredentials{state} user={user} refresh_every={self.refresh_every}s "
            f"refreshes={self.refreshes} failures={self.failures}{age}>"
        )

    def subscribe(self, callback: Listener) -> Callable[[], None]:
        """Call ``callback((username, password))`` after each refresh that changed them.

        Returns a function that unsubscribes. Callbacks run in the event loop
        and must not block; one that raises is logged and the others still run.
        """
        self._callbacks.append(callback)

        def unsubscribe() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return unsubscribe

    async def get_credentials(self) -> Credentials:
        """The current ``(username, password)``, fetched first on first use.

        A failing first fetch raises what ``fetch`` raised (the connection
        that asked turns it into ``ConnectError``).
        """
        if self._current is None:
            if self._lock is None:
                self._lock = asyncio.Lock()
            async with self._lock:
                if self._current is None:
                    await self.refresh()
        assert self._current is not None
        return self._current

    async def refresh(self) -> Credentials:
        """Fetch now; announce the pair if it changed; reschedule. Raises what ``fetch`` raises."""
        if self._closed:
            raise RuntimeError(f"{self!r} is closed")
        try:
            async with asyncio.timeout(self.timeout):
                value = _checked(provider_name(self), await self._fetch())
        except Exception:
            self.failures += 1
            self._schedule(self.retry_after)
            raise
        self.refreshes += 1
        self._fetched_at = time.monotonic()
        changed, self._current = value != self._current and self._current is not None, value
        self._schedule(self.refresh_every)
        if changed:
            for callback in list(self._callbacks):
                try:
                    callback(value)
                except Exception:
                    logger.exception("%r: a subscriber failed", self)
        return value

    def _schedule(self, delay: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if not self._closed:
            self._timer = asyncio.get_running_loop().call_later(delay, self._due)

    def _due(self) -> None:
        self._timer = None
        if self._task is None and not self._closed:
            self._task = asyncio.get_running_loop().create_task(self._background())

    async def _background(self) -> None:
        try:
            await self.refresh()
        except Exception as exc:
            logger.warning(
                "%r: refreshing credentials failed (%s); keeping the current ones, retrying in %ss",
                self,
                type(exc).__name__,
                self.retry_after,
            )
        finally:
            self._task = None

    async def aclose(self) -> None:
        """Stop refreshing; the current pair is still returned. Idempotent."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
