"""What happens after a failure: the named cases, and the retries they call for.

The rule (docs/guide/errors.md, "Failure semantics"): aiopool repeats a command on
its own only where it provably never ran, or where running it twice is
indistinguishable from running it once and the user asked for that
(``retry_safe_commands``). ``CASES`` names every failure a caller can meet
and what is done about it; the guide's table is checked against it
(``tests/unit/test_retry.py``). The functions below apply the cases, for
every client surface:

- ``resend`` (one encoded command), ``resend_many`` (a pipeline) and
  ``retry`` (any attempt) after a ``ConnectionFailure``/``OutcomeUnknown``:
  ``NEVER_SENT`` and ``OUTCOME_UNKNOWN``/``COMMAND_TIMEOUT``;
- ``rerun_while_watched_keys_change`` (``Client.transaction()``): ``WATCH_CONFLICT``;
- ``run_loading_script`` (``Script``, ``Client.run_script()``): ``NOSCRIPT``;
- ``SlotRetry``, ``slot_pause``, ``SLOT_UNSERVABLE_ERRORS``, ``routed_again`` and
  ``group_never_sent`` (the cluster client and its pipelines): ``MOVED``,
  ``ASK``, ``SLOT_UNSERVABLE``;
- ``backoff``, the one backoff formula, for connecting (``CONNECT_FAILED``,
  applied by the pool's ``Opener``), pub/sub reconnects (``PUBSUB_DROPPED``)
  and the cluster. It lives in ``_backoff`` (below the pool, which must not
  import this module: the pool knows no command) and is re-exported here.

The pool hands out connections and knows nothing of commands: everything
here sits above it and borrows connections through it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Final, Protocol, TypeVar

from ._backoff import backoff
from ._connection import Connection
from ._errors import (
    BusyLoadingError,
    ClusterDownError,
    ConnectError,
    ConnectionFailure,
    MovedError,
    NoScriptError,
    OutcomeUnknown,
    PoolClosed,
    RedirectError,
    RedisError,
    TryAgainError,
    WatchError,
)
from ._pool import Pool
from ._protocol import display_name
from ._safety import is_safe_to_repeat

__all__ = [
    "CASES",
    "SLOT_UNSERVABLE_ERRORS",
    "Case",
    "SlotRetry",
    "backoff",
    "group_never_sent",
    "rerun_while_watched_keys_change",
    "resend",
    "resend_many",
    "retry",
    "routed_again",
    "run_loading_script",
    "slot_pause",
    "watching",
]

# Retries are the client's business as far as a user reading logs is concerned.
logger = logging.getLogger("aiopool.client")

T = TypeVar("T")
P = TypeVar("P")


@dataclass(frozen=True, slots=True)
class Case:
    """One named failure case: a row of the failure-semantics table (docs/guide/errors.md).

    ``name`` is how code and docs refer to it; ``what`` happened, the
    ``error`` the caller sees, whether the command ``ran``, and the
    ``action`` aiopool takes (Markdown, as the guide shows them).
    """

    name: str
    what: str
    error: str
    ran: str
    action: str


REPLY_ERROR: Final = Case(
    "reply-error",
    "The server answered with an error",
    "`ReplyError` (typed by code)",
    "It was refused: no effect for `LOADING`, `NOSCRIPT`, `READONLY`, `NOPERM`, `WRONGTYPE` "
    "and queuing errors in `MULTI`; a script that fails midway keeps the writes it made "
    "before the error",
    "Nothing; the connection goes back to the pool. (The cases below retry `LOADING`, "
    "`NOSCRIPT`, redirects, `TRYAGAIN` and `CLUSTERDOWN` where nothing ran.)",
)
POOL_TIMEOUT: Final = Case(
    "pool-timeout",
    "No connection free within `acquire_timeout`",
    "`PoolTimeout` (lists the holders)",
    "No",
    "Nothing was touched.",
)
POOL_CLOSED: Final = Case(
    "pool-closed", "The pool was closed", "`PoolClosed`", "No", "Nothing; make a new pool."
)
CONNECT_FAILED: Final = Case(
    "connect-failed",
    "A new connection cannot be opened (refused, unreachable, accepted but never answering, "
    "`connect_timeout`, `LOADING` or `maxclients` during the handshake)",
    "`ConnectError` after retries",
    "No",
    "Retried with exponential backoff and full jitter (`reconnect_backoff`, capped at "
    "`reconnect_backoff_max`) until `acquire_timeout` runs out; the error gives the attempts "
    "and the last cause.",
)
HANDSHAKE_REFUSED: Final = Case(
    "handshake-refused",
    "The handshake is refused (`WRONGPASS`, `SELECT` out of range)",
    "`AuthenticationError` / `ReplyError` naming the option",
    "No",
    "Not retried: the configuration is wrong.",
)
DEAD_IDLE: Final = Case(
    "dead-idle",
    "An idle connection was closed by the server, reset, or fails its `PING` (health check "
    "after `health_check_interval`, keepalive after `keepalive_interval`)",
    "none",
    "No",
    "Found before the command is written; discarded and replaced.",
)
NEVER_SENT: Final = Case(
    "never-sent",
    "The connection is found dead *as* the command is written (the write itself fails)",
    "none (plain `ConnectionFailure` if it happens on every connection)",
    "No: not a byte left",
    "Resent on a fresh connection (at most `max_size` times).",
)
OUTCOME_UNKNOWN: Final = Case(
    "outcome-unknown",
    "The connection breaks after the command was written (server killed, reset, proxy cut)",
    "`ConnectionLost` (`OutcomeUnknown`)",
    "**Unknown**",
    "Repeated only if `retry_safe_commands > 0` and the command is safe to repeat; otherwise "
    "raised.",
)
COMMAND_TIMEOUT: Final = Case(
    "command-timeout",
    "No reply within `command_timeout` (frozen server, partition, slow command)",
    "`CommandTimeout` (`OutcomeUnknown`)",
    "**Unknown**",
    "Same as above. The connection is aborted (its late reply can never reach another "
    "caller); with auto-pipelining the shared connection takes no new commands and drops the "
    "late reply.",
)
PROTOCOL_ERROR: Final = Case(
    "protocol-error",
    "The reply is not valid RESP (or not valid text with `decode_responses`)",
    "`ProtocolError`",
    "It reached the server; treat as unknown",
    "Not retried; the connection is aborted.",
)
STRAY_BYTES: Final = Case(
    "stray-bytes",
    "Bytes nobody asked for arrive (a late or replayed reply, a proxy's noise, an unexpected "
    "RESP3 push) while nothing is owed",
    "none if the connection was idle; `ProtocolError` if they trail a reply in the same read",
    "Idle: no command involved. Trailing: it ran",
    "The connection is closed at once (a warning on `aiopool.connection`); one found with "
    'unread bytes before a write is replaced and the command resent, as "found dead as '
    'written". Bytes arriving *inside* a reply stream cannot be told from replies (RESP has '
    "no request ids).",
)
WATCH_CONFLICT: Final = Case(
    "watch-conflict",
    "A watched key changed before `EXEC`",
    "`WatchError`",
    "No",
    "`Client.transaction()` runs your function again, up to `attempts` times "
    "(`ClusterClient.transaction()` also after a `MOVED` refusal: nothing ran).",
)
NOSCRIPT: Final = Case(
    "noscript",
    "A registered script's `EVALSHA` gets `NOSCRIPT`",
    "none",
    "No",
    "`SCRIPT LOAD` and run again, once.",
)
MOVED: Final = Case(
    "moved",
    "A cluster node answers `MOVED` (the slot lives elsewhere now)",
    "none (`ClusterError` after `max_redirects`)",
    "No",
    "The slot map is updated, the command sent to the new owner and a topology refresh scheduled.",
)
ASK: Final = Case(
    "ask",
    "A cluster node answers `ASK` (the key's slot is being migrated)",
    "none (`ClusterError` after `max_redirects`)",
    "No",
    "`ASKING` and the command are sent together to the importing node, once; the map is "
    "left alone.",
)
SLOT_UNSERVABLE: Final = Case(
    "slot-unservable",
    "The cluster cannot serve the slot now: `TRYAGAIN`, `CLUSTERDOWN`, `LOADING`, or its "
    "node cannot be reached (nothing was sent)",
    "`TryAgainError`, `ClusterDownError`, ... after `retry_timeout`",
    "No",
    "Retried with exponential backoff and full jitter (up to 20 ms, doubling to 0.5 s) and a "
    "topology refresh between tries, until `retry_timeout` runs out.",
)
PUBSUB_DROPPED: Final = Case(
    "pubsub-dropped",
    "A `PubSub` connection drops",
    "`disconnected`/`reconnected` messages",
    "—",
    "Reconnected with backoff while the `PubSub` is open; every subscription restored.",
)
CANCELLED: Final = Case(
    "cancelled",
    "Cancellation (`task.cancel()`, `asyncio.timeout()`)",
    "`CancelledError`",
    "Unknown if it was already written",
    "The connection is aborted (with auto-pipelining: the command is dropped if not yet "
    "written, else its reply is read and discarded); never retried, never swallowed.",
)

CASES: Final = (
    REPLY_ERROR,
    POOL_TIMEOUT,
    POOL_CLOSED,
    CONNECT_FAILED,
    HANDSHAKE_REFUSED,
    DEAD_IDLE,
    NEVER_SENT,
    OUTCOME_UNKNOWN,
    COMMAND_TIMEOUT,
    PROTOCOL_ERROR,
    STRAY_BYTES,
    WATCH_CONFLICT,
    NOSCRIPT,
    MOVED,
    ASK,
    SLOT_UNSERVABLE,
    PUBSUB_DROPPED,
    CANCELLED,
)


# -- never sent, outcome unknown -------------------------------------------------------


async def retry(
    pool: Pool,
    failure: ConnectionFailure | OutcomeUnknown,
    attempt: Callable[[Connection], Awaitable[T]],
    safe: bool,
    what: str,
) -> T:
    """After a first ``attempt`` failed with ``failure``: ``NEVER_SENT`` and ``OUTCOME_UNKNOWN``.

    A command that provably never left (a ``ConnectionFailure`` that is not
    an ``OutcomeUnknown``) is sent again on a fresh connection from ``pool``,
    at most ``max_size`` times. One whose outcome is unknown (a lost
    connection, ``COMMAND_TIMEOUT``) is repeated only when ``safe`` (to
    repeat) and ``retry_safe_commands`` allows it. Once any attempt's outcome
    was unknown, the caller gets that unknown outcome, never a later "not
    sent" error (acquiring a connection for the repeat can fail too).
    Cancellation propagates at once (``CANCELLED``: never retried).
    """
    resends = pool.options.max_size
    repeats = pool.options.retry_safe_commands if safe else 0
    unknown = failure if isinstance(failure, OutcomeUnknown) else None
    while True:
        if isinstance(failure, OutcomeUnknown):
            if not repeats:
                raise failure
            repeats -= 1
            logger.info("repeating %s (safe to repeat) after: %s", what, failure)
        else:
            if not resends:
                raise unknown or failure
            resends -= 1
            logger.debug("resending %s on a fresh connection: %s", what, failure)
        try:
            conn = await pool._acquire()
        except RedisError as exc:
            if unknown is not None:
                raise unknown from exc
            raise
        try:
            return await attempt(conn)
        except (ConnectionFailure, OutcomeUnknown) as exc:
            failure = exc
            if isinstance(exc, OutcomeUnknown):
                unknown = exc
        finally:
            pool._release(conn)


async def resend(
    pool: Pool, failure: ConnectionFailure | OutcomeUnknown, data: bytes, args: tuple[Any, ...]
) -> Any:
    """``retry`` for one encoded command (``data``, encoded from ``args``) that failed.

    Its reply, or the error the rules above leave the caller with.
    """
    return await retry(
        pool,
        failure,
        lambda conn: conn.request(data, args, True),
        is_safe_to_repeat(args),
        display_name(args),
    )


async def resend_many(
    pool: Pool,
    failure: ConnectionFailure | OutcomeUnknown,
    data: bytes,
    count: int,
    what: str,
    timeout: float | None,
    commands: Iterable[tuple[Any, ...]],
) -> list[Any]:
    """``retry`` for a pipeline: ``data`` holds ``count`` commands (their args in ``commands``).

    Repeated after an unknown outcome only if every command is safe to repeat.
    """
    safe = all(is_safe_to_repeat(args) for args in commands)
    return await retry(
        pool, failure, lambda conn: conn.request_many(data, count, what, timeout), safe, what
    )


# -- transactions and scripts ------------------------------------------------------------


async def rerun_while_watched_keys_change(
    open_attempt: Callable[[], AbstractAsyncContextManager[P]],
    prepare: Callable[[P], Awaitable[object]],
    execute: Callable[[P], Awaitable[T]],
    attempts: int,
    *,
    moved: Callable[[MovedError], None] | None = None,
    delay: float | None = None,
    value_from_prepare: bool = False,
) -> Any:
    """``WATCH_CONFLICT``: run a watched transaction again while ``EXEC`` finds a key changed.

    Each of at most ``attempts`` attempts is ``async with open_attempt() as
    p``, ``await prepare(p)`` (WATCH, reads, queuing), ``await execute(p)``;
    only a ``WatchError`` from ``execute`` starts another one, after
    ``delay`` seconds (redis-py's ``watch_delay``; before the next attempt
    opens, so nothing is pinned meanwhile). The result is ``execute``'s, or
    with ``value_from_prepare`` what ``prepare`` returned in the attempt
    that ran. With ``moved`` (a cluster), an attempt refused with ``MOVED``
    anywhere in it (nothing of the transaction ran) is reported to ``moved``
    and counts as an attempt too. Then ``WatchError`` saying so. Any other
    error (from ``prepare`` too) propagates at once; cancellation too,
    leaving the attempt's block. ``attempts`` that is not a positive int, or
    a ``delay`` that is not seconds >= 0, raises ``ValueError`` before
    anything is sent.
    """
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise ValueError(f"attempts must be a positive int, got {attempts!r}")
    if delay is not None and (
        isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0
    ):
        raise ValueError(f"watch_delay must be a number of seconds >= 0, got {delay!r}")
    for attempt in range(attempts):
        if attempt and delay:
            await asyncio.sleep(delay)
        try:
            async with open_attempt() as p:
                value = await prepare(p)
                try:
                    results = await execute(p)
                except WatchError:
                    continue
                return value if value_from_prepare else results
        except MovedError as exc:
            if moved is None:
                raise
            moved(exc)  # refused by the slot's old owner: nothing ran
    slot_moved = "" if moved is None else " (or their slot moved)"
    raise WatchError(
        f"the watched keys changed{slot_moved} during each of {attempts} attempts; the "
        "transaction did not run (raise attempts=, or reduce contention on those keys)"
    )


class _Watching(Protocol):
    async def watch(self, *keys: Any) -> object: ...


W = TypeVar("W", bound=_Watching)


def watching(
    watch_keys: tuple[Any, ...], func: Callable[[W], Awaitable[object]]
) -> Callable[[W], Awaitable[object]]:
    """The ``prepare`` of a ``transaction(func, *watch_keys)``: WATCH the keys, then ``func``.

    It returns what ``func`` returned (``value_from_callable``).
    """

    async def prepare(p: W) -> object:
        if watch_keys:
            await p.watch(*watch_keys)
        return await func(p)

    return prepare


async def run_loading_script(
    run: Callable[[], Awaitable[T]], load: Callable[[], Awaitable[object]]
) -> T:
    """``NOSCRIPT``: ``await run()``; if the server lacks the script, ``await load()``, run again.

    Safe because a ``NOSCRIPT`` reply means nothing ran. Once: a second
    ``NOSCRIPT`` (flushed again in between) propagates.
    """
    try:
        return await run()
    except NoScriptError:
        await load()
        return await run()


# -- the cluster -------------------------------------------------------------------------

# SLOT_UNSERVABLE: nothing ran, and the slot may be served elsewhere soon. A
# PoolClosed is the pool of a node a topology refresh found gone.
SLOT_UNSERVABLE_ERRORS: Final = (
    TryAgainError,
    ClusterDownError,
    BusyLoadingError,
    ConnectError,
    PoolClosed,
)
# The SLOT_UNSERVABLE backoff: ceilings of 20 ms, doubling to 0.5 s.
_SLOT_BACKOFF: Final = 0.01
_SLOT_BACKOFF_MAX: Final = 0.5


def routed_again(reply: object) -> bool:
    """A cluster pipeline's reply that means "run this command again through routing".

    ``MOVED``, ``ASK``, ``TRYAGAIN`` and ``CLUSTERDOWN`` replies: nothing ran.
    """
    return isinstance(reply, RedirectError | TryAgainError | ClusterDownError)


def group_never_sent(exc: BaseException) -> bool:
    """A cluster pipeline's node group failed before any byte of it was sent (``NEVER_SENT``).

    Its commands are routed one by one instead.
    """
    return isinstance(exc, PoolClosed) or (
        isinstance(exc, ConnectionFailure) and not isinstance(exc, OutcomeUnknown)
    )


async def slot_pause(attempt: int) -> None:
    """Sleep before try ``attempt + 1`` on a slot that is being migrated (``SLOT_UNSERVABLE``)."""
    await asyncio.sleep(backoff(attempt, _SLOT_BACKOFF, _SLOT_BACKOFF_MAX))


class SlotRetry:
    """One command's retries while the cluster cannot serve its slot (``SLOT_UNSERVABLE``).

    ``await pause(exc, slot)`` after each such failure: it sleeps a backoff
    (full jitter) or, when the next try would start after ``retry_timeout``
    (counted from the first failure), raises ``exc`` with a note saying so.
    """

    __slots__ = ("attempt", "deadline", "timeout")

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.attempt = 0
        self.deadline: float | None = None

    def __repr__(self) -> str:
        return f"<SlotRetry attempt={self.attempt} retry_timeout={self.timeout}>"

    async def pause(self, exc: BaseException, slot: int | None) -> None:
        if self.deadline is None:
            self.deadline = time.monotonic() + self.timeout
        self.attempt += 1
        delay = backoff(self.attempt, _SLOT_BACKOFF, _SLOT_BACKOFF_MAX, self.deadline)
        if delay is None:
            exc.add_note(
                f"retried for retry_timeout={self.timeout}s while the cluster could not serve "
                f"slot {slot}"
            )
            raise exc
        await asyncio.sleep(delay)
