"""aiopool: an asyncio Redis client built around a connection pool.

>>> async with aiopool.Client.from_url("redis://127.0.0.1:6379/0") as r:
...     await r.set("greeting", "hello")
"""

from __future__ import annotations

from ._client import Client
from ._config import ConnectionOptions, PoolOptions
from ._connection import Connection
from ._errors import (
    AuthenticationError,
    BusyLoadingError,
    CommandTimeout,
    ConnectError,
    ConnectionFailure,
    ConnectionLost,
    NoScriptError,
    OutcomeUnknown,
    PermissionDenied,
    PoolClosed,
    PoolTimeout,
    ProtocolError,
    ReadOnlyError,
    RedisError,
    ReplyError,
    SessionCommandError,
    WatchError,
)
from ._pipeline import Pipeline
from ._pool import Pool, PoolStats
from ._pubsub import Message, PubSub
from ._script import Script

__version__ = "0.1.0"

__all__ = [
    "AuthenticationError",
    "BusyLoadingError",
    "Client",
    "CommandTimeout",
    "ConnectError",
    "Connection",
    "ConnectionFailure",
    "ConnectionLost",
    "ConnectionOptions",
    "Message",
    "NoScriptError",
    "OutcomeUnknown",
    "PermissionDenied",
    "Pipeline",
    "Pool",
    "PoolClosed",
    "PoolOptions",
    "PoolStats",
    "PoolTimeout",
    "ProtocolError",
    "PubSub",
    "ReadOnlyError",
    "RedisError",
    "ReplyError",
    "Script",
    "SessionCommandError",
    "WatchError",
    "__version__",
]
