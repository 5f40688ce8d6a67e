"""redis-py's exception names, for ``from redis.exceptions import ...`` code.

Replace ``redis.exceptions`` with ``aiopool.exceptions`` and every ``except``
clause keeps working: each name is the aiopool exception that is raised where
redis-py raises the one of that name. ``ConnectionError`` and
``TimeoutError`` live only here, not at the package's top level, because
there they would shadow Python's builtins; both are subclasses of those
builtins, so ``except ConnectionError`` (the builtin) catches them too.

Where the two clients differ (docs/migrating-from-redis-py.md has the
details):

* ``ConnectionError`` is ``ConnectionFailure``. redis-py also raises its
  ``ConnectionError`` when no pooled connection is free; aiopool raises
  ``PoolTimeout``, a ``TimeoutError`` (``MaxConnectionsError`` is it).
* ``TimeoutError`` is ``RedisTimeoutError``: ``CommandTimeout`` (the command
  may have run) or ``PoolTimeout`` (nothing was sent).
* ``DataError`` is raised as ``DataTypeError``/``DataValueError``, which are
  also ``TypeError``/``ValueError``.
"""

from __future__ import annotations

from ._errors import (
    AskError,
    AuthenticationError,
    BusyLoadingError,
    ClusterDownError,
    ClusterError,
    ConnectionFailure,
    CrossSlotError,
    DataError,
    ExecAbortError,
    LockError,
    LockNotOwnedError,
    MasterDownError,
    MasterNotFoundError,
    MovedError,
    NoScriptError,
    OutOfMemoryError,
    PermissionDenied,
    PoolTimeout,
    ProtocolError,
    ReadOnlyError,
    RedisError,
    RedisTimeoutError,
    ReplyError,
    TryAgainError,
    WatchError,
)

__all__ = [
    "AskError",
    "AuthenticationError",
    "BusyLoadingError",
    "ClusterCrossSlotError",
    "ClusterDownError",
    "ClusterError",
    "ConnectionError",
    "DataError",
    "ExecAbortError",
    "InvalidResponse",
    "LockError",
    "LockNotOwnedError",
    "MasterDownError",
    "MasterNotFoundError",
    "MaxConnectionsError",
    "MovedError",
    "NoPermissionError",
    "NoScriptError",
    "OutOfMemoryError",
    "ReadOnlyError",
    "RedisClusterException",
    "RedisError",
    "ResponseError",
    "TimeoutError",
    "TryAgainError",
    "WatchError",
]

ConnectionError = ConnectionFailure  # redis-py's name, on purpose
TimeoutError = RedisTimeoutError  # redis-py's name, on purpose
ResponseError = ReplyError
InvalidResponse = ProtocolError
NoPermissionError = PermissionDenied
ClusterCrossSlotError = CrossSlotError
RedisClusterException = ClusterError
MaxConnectionsError = PoolTimeout
