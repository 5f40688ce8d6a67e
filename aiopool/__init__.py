"""aiopool: an asyncio Redis client built around a connection pool.

>>> async with aiopool.Client.from_url("redis://127.0.0.1:6379/0") as r:
...     await r.set("greeting", "hello")
"""

from __future__ import annotations

from ._autopipeline import AutoPipelineStats
from ._cache import CacheOptions, CacheStats
from ._client import Client
from ._cluster import ClusterClient
from ._cluster_pipeline import ClusterPipeline
from ._config import AutoPipelineOptions, ClusterOptions, ConnectionOptions, PoolOptions
from ._connection import Connection, ConnectionState
from ._credentials import CredentialProvider, RotatingCredentials
from ._errors import (
    AskError,
    AuthenticationError,
    BusyLoadingError,
    ClusterDownError,
    ClusterError,
    CommandTimeout,
    ConnectError,
    ConnectionFailure,
    ConnectionLost,
    CrossSlotError,
    DataError,
    DataTypeError,
    DataValueError,
    ExecAbortError,
    LockError,
    LockNotOwnedError,
    MasterDownError,
    MasterNotFoundError,
    MovedError,
    NoScriptError,
    OutcomeUnknown,
    OutOfMemoryError,
    PermissionDenied,
    PoolClosed,
    PoolTimeout,
    ProtocolError,
    ReadOnlyError,
    RedirectError,
    RedisError,
    RedisTimeoutError,
    ReplyError,
    ResponseError,
    SessionCommandError,
    TryAgainError,
    WatchError,
)
from ._keys import key_slot
from ._lock import Lock
from ._monitor import Monitor
from ._pipeline import Pipeline
from ._pool import Pool
from ._pubsub import Message, PubSub
from ._script import Script
from ._stats import PoolStats

__version__ = "0.1.0"

__all__ = [
    "AskError",
    "AuthenticationError",
    "AutoPipelineOptions",
    "AutoPipelineStats",
    "BusyLoadingError",
    "CacheOptions",
    "CacheStats",
    "Client",
    "ClusterClient",
    "ClusterDownError",
    "ClusterError",
    "ClusterOptions",
    "ClusterPipeline",
    "CommandTimeout",
    "ConnectError",
    "Connection",
    "ConnectionFailure",
    "ConnectionLost",
    "ConnectionOptions",
    "ConnectionState",
    "CredentialProvider",
    "CrossSlotError",
    "DataError",
    "DataTypeError",
    "DataValueError",
    "ExecAbortError",
    "Lock",
    "LockError",
    "LockNotOwnedError",
    "MasterDownError",
    "MasterNotFoundError",
    "Message",
    "Monitor",
    "MovedError",
    "NoScriptError",
    "OutOfMemoryError",
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
    "RedirectError",
    "RedisError",
    "RedisTimeoutError",
    "ReplyError",
    "ResponseError",
    "RotatingCredentials",
    "Script",
    "SessionCommandError",
    "TryAgainError",
    "WatchError",
    "__version__",
    "key_slot",
]
