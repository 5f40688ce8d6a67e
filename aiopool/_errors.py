"""The exception hierarchy.

The type of an exception tells whether the connection it came from survived:

* ``ReplyError`` and its subclasses: the server answered with an error; the
  connection is in sync and goes back to the pool.
* ``ConnectionFailure``, ``CommandTimeout``, ``ProtocolError``: the connection
  was aborted before the exception propagated; it never goes back to the pool.
  Those that are also ``OutcomeUnknown`` (``ConnectionLost``,
  ``CommandTimeout``) mean the command was written and no reply came: it may
  or may not have run.
* ``PoolTimeout``, ``PoolClosed``: no connection was touched.
"""

from __future__ import annotations

__all__ = [
    "AskError",
    "AuthenticationError",
    "BusyLoadingError",
    "ClusterDownError",
    "ClusterError",
    "CommandTimeout",
    "ConnectError",
    "ConnectionFailure",
    "ConnectionLost",
    "CrossSlotError",
    "DataError",
    "DataTypeError",
    "DataValueError",
    "ExecAbortError",
    "LockError",
    "LockNotOwnedError",
    "MasterDownError",
    "MasterNotFoundError",
    "MovedError",
    "NoScriptError",
    "OutOfMemoryError",
    "OutcomeUnknown",
    "PermissionDenied",
    "PoolClosed",
    "PoolTimeout",
    "ProtocolError",
    "ReadOnlyError",
    "RedirectError",
    "RedisError",
    "RedisTimeoutError",
    "ReplyError",
    "ResponseError",
    "SessionCommandError",
    "TryAgainError",
    "WatchError",
    "reply_error",
]


class RedisError(Exception):
    """Base class of every error aiopool raises on purpose."""


class ReplyError(RedisError):
    """The server answered the command with an error reply.

    The connection is healthy and was returned to the pool. ``code`` is the
    error's first word as the server sent it (``"ERR"``, ``"WRONGTYPE"``,
    ``"NOAUTH"``, ...); ``message`` is the full text of the reply.
    """

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is None:
            head = message.split(" ", 1)[0]
            code = head if head.isupper() else "ERR"
        self.code = code

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


# redis-py's name for an error reply, so ``except ResponseError`` ports unchanged.
ResponseError = ReplyError


class DataError(RedisError):
    """An argument is invalid; nothing was sent (redis-py's name for bad input).

    Always raised as one of its two concrete kinds, which are also the
    builtin a Python caller expects: ``DataTypeError`` (a ``TypeError``: a
    value of the wrong type, such as ``None`` or ``True`` as a command
    argument) and ``DataValueError`` (a ``ValueError``: a wrong value or a bad
    combination of options, such as ``nx`` with ``xx``). The message names the
    argument to fix. ``except DataError``, ``except TypeError`` and ``except
    ValueError`` all work.
    """


class DataTypeError(DataError, TypeError):
    """An argument of the wrong type (a ``DataError`` and a ``TypeError``)."""


class DataValueError(DataError, ValueError):
    """An argument with a wrong value, or options that conflict (a ``DataError`` and a ``ValueError``)."""


class AuthenticationError(ReplyError):
    """The server refused the credentials, or needs some that were not given.

    Raised when the handshake's ``AUTH`` fails (``WRONGPASS``, ``ERR`` from a
    server with no password set) and for ``NOAUTH`` replies. The message names
    the server and the options to check (``username``, ``password``); it never
    contains the password.
    """


class PermissionDenied(ReplyError):
    """The authenticated ACL user may not run this command (``NOPERM``)."""


class BusyLoadingError(ReplyError):
    """The server is loading its dataset into memory (``LOADING``); retry later."""


class ReadOnlyError(ReplyError):
    """A write was sent to a read-only replica (``READONLY``)."""


class NoScriptError(ReplyError):
    """``EVALSHA`` named a script the server does not have (``NOSCRIPT``)."""


class OutOfMemoryError(ReplyError):
    """The server is at ``maxmemory`` and refused a write (``OOM``)."""


class ExecAbortError(ReplyError):
    """``EXEC`` discarded a transaction whose queueing failed (``EXECABORT``); nothing ran."""


class RedirectError(ReplyError):
    """A cluster node answered ``MOVED`` or ``ASK``: the slot is served elsewhere.

    ``slot`` is the hash slot and ``host``/``port`` the node to ask. The
    cluster client follows redirects itself; you see one only from a
    single-node ``Client`` talking to a cluster node, or after
    ``max_redirects``.
    """

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message, code)
        parts = message.split()
        try:
            self.slot = int(parts[1])
            host, _, port = parts[2].rpartition(":")
            self.host, self.port = host.strip("[]"), int(port)  # an IPv6 host may be bracketed
        except (IndexError, ValueError):
            self.slot, self.host, self.port = -1, "", 0

    @property
    def address(self) -> str:
        """``host:port`` of the node the server redirects to."""
        return f"{self.host}:{self.port}"


class MovedError(RedirectError):
    """``MOVED slot host:port``: the slot now lives on another node, for good."""


class AskError(RedirectError):
    """``ASK slot host:port``: this key is being migrated; ask that node once."""


class TryAgainError(ReplyError):
    """``TRYAGAIN``: a multi-key command hit a slot in the middle of a migration."""


class ClusterDownError(ReplyError):
    """``CLUSTERDOWN``: the cluster cannot serve the slot now (a failover in progress)."""


class MasterDownError(ClusterDownError):
    """``MASTERDOWN``: a replica lost its link to the primary and serves no stale reads."""


class CrossSlotError(ReplyError, ValueError):
    """The keys of one command (or one cluster transaction) map to different slots.

    Raised by the cluster client before anything is sent, and for the
    server's own ``CROSSSLOT`` reply. Give the keys a common ``{hash tag}``.
    """


class ClusterError(RedisError):
    """The cluster client could not find a node to serve a command.

    Raised after ``max_redirects`` redirects, or when no node answered a
    topology query; the message names the nodes tried. The last underlying
    error is chained as ``__cause__``.
    """


class WatchError(RedisError):
    """A key watched by a transaction changed before ``EXEC``; nothing ran.

    The connection is healthy (``EXEC`` answered). Retry the read-modify-write
    cycle, as ``Client.transaction()`` does for you.
    """


class LockError(RedisError, ValueError):
    """A ``Lock`` could not be taken, or was used in a way its state does not allow.

    Raised by ``async with lock`` when ``acquire()`` gave up (``"Unable to
    acquire lock ..."``), and by ``release()``/``extend()``/``reacquire()`` on
    a lock this object does not hold. A ``ValueError`` too, as redis-py's
    ``LockError`` is (it began as ``threading.Lock``'s). ``lock_name`` is the
    lock's key. Nothing about the connection: a lock's commands raise their
    own errors (``ConnectionFailure``, ``CommandTimeout``, ...).
    """

    def __init__(self, message: str | None = None, lock_name: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.lock_name = lock_name


class LockNotOwnedError(LockError):
    """The lock's key no longer holds this holder's token: it expired, or another took it.

    Raised by ``release()``, ``extend()`` and ``reacquire()``; the server
    answered, so the connection is fine and nothing was changed.
    """


class SessionCommandError(RedisError, ValueError):
    """A command that changes its connection's session was refused; nothing was sent.

    ``SELECT``, ``MULTI``, ``SUBSCRIBE``, ``CLIENT REPLY`` and the like would
    leave their effect on a pooled connection for the next borrower. The
    message names what to use instead (the ``db`` option, ``pipeline()``,
    ``pubsub()``, ...).
    """


class OutcomeUnknown(RedisError):
    """The command was written and no reply came: it may or may not have run.

    Raised as one of its two concrete kinds, ``ConnectionLost`` and
    ``CommandTimeout``; catch ``OutcomeUnknown`` to handle both. aiopool never
    repeats such a command on its own unless it is safe to repeat (read-only,
    or idempotent with the same reply) and the ``retry_safe_commands`` option
    allows it. ``command`` names the command (``"INCR"``, ``"pipeline of 3"``).
    """

    command: str = ""


class ConnectionFailure(RedisError, ConnectionError):
    """The connection was lost or could not be used.

    The connection has already been aborted and its pool slot freed.
    ``address`` is ``"host:port"`` or the unix socket path. Whether the
    command ran is told by the subclass: ``ConnectError`` (nothing was sent),
    ``ConnectionLost`` (written, outcome unknown). A plain
    ``ConnectionFailure`` means the command was not sent.
    """

    def __init__(self, message: str, address: str = "") -> None:
        super().__init__(message)
        self.address = address


class ConnectionLost(ConnectionFailure, OutcomeUnknown):
    """The connection broke after the command was written, before its reply.

    The command may or may not have run on the server (``OutcomeUnknown``).
    """

    def __init__(self, message: str, address: str = "", command: str = "") -> None:
        super().__init__(message, address)
        self.command = command


class ConnectError(ConnectionFailure):
    """A new connection could not be opened; no command was sent on it.

    Raised after the pool's reconnect attempts (with backoff) ran out of the
    caller's time (``acquire_timeout``). The message gives the address, the
    number of attempts and the last underlying error.
    """


class MasterNotFoundError(ConnectError):
    """No sentinel named a primary for the service (``redis+sentinel://``).

    Each sentinel was refused, unreachable, timed out or did not know the
    service name; the message names every sentinel asked and what each did
    (never a password). Nothing was sent to a Redis server. redis-py's name.
    """


class ProtocolError(RedisError):
    """The server's reply cannot be what it should be.

    Bytes that are not valid RESP, more bytes than the replies owed (a reply
    nobody asked for), or text that does not decode with
    ``decode_responses``: the connection was aborted. A valid reply of a
    shape the command cannot return (an integer for ``HGETALL``): the reply
    was read whole and the connection kept. The command reached the server;
    whether it ran is unknown.
    """


class RedisTimeoutError(RedisError, TimeoutError):
    """Something aiopool waited for took too long: ``CommandTimeout`` or ``PoolTimeout``.

    redis-py's ``TimeoutError`` (``aiopool.exceptions.TimeoutError``); also the
    builtin ``TimeoutError``. Catch the subclass to tell a reply that did not
    come (the command may have run) from a connection that was never free
    (nothing was sent).
    """


class CommandTimeout(OutcomeUnknown, RedisTimeoutError):
    """No complete reply arrived within ``command_timeout``.

    The connection was aborted (its reply may still be on the way, so it can
    never be reused); the command may or may not have run on the server
    (``OutcomeUnknown``).
    """

    def __init__(self, message: str, command: str = "") -> None:
        super().__init__(message)
        self.command = command


class PoolTimeout(RedisTimeoutError):
    """No connection became free within ``acquire_timeout``.

    No connection was touched and no command was sent. The message says how
    many connections are in use and for how long the oldest has been held.
    """


class PoolClosed(RedisError):
    """The pool was closed (``aclose()``); no command was sent."""


_BY_CODE: dict[str, type[ReplyError]] = {
    "WRONGPASS": AuthenticationError,
    "NOAUTH": AuthenticationError,
    "NOPERM": PermissionDenied,
    "LOADING": BusyLoadingError,
    "READONLY": ReadOnlyError,
    "NOSCRIPT": NoScriptError,
    "MOVED": MovedError,
    "ASK": AskError,
    "TRYAGAIN": TryAgainError,
    "CLUSTERDOWN": ClusterDownError,
    "CROSSSLOT": CrossSlotError,
    "MASTERDOWN": MasterDownError,
    "OOM": OutOfMemoryError,
    "EXECABORT": ExecAbortError,
}


def reply_error(message: str) -> ReplyError:
    """Build the typed exception for one error reply; handed to ``hiredis.Reader``.

    The exception is returned as a value, not raised: errors nested in an
    ``EXEC`` or pipeline reply stay values until the caller maps them.
    """
    head = message.split(" ", 1)[0]
    return _BY_CODE.get(head, ReplyError)(message)
