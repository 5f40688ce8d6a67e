"""Options as frozen dataclasses, validated once; URL parsing.

Nothing here does I/O. A password lives only in ``ConnectionOptions.password``,
which is excluded from ``repr``; URLs are masked before they appear in a
message.
"""

from __future__ import annotations

import codecs
import difflib
import math
import re
import ssl as _ssl
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = [
    "AUTO_PIPELINE_FIELDS",
    "AutoPipelineOptions",
    "ClusterOptions",
    "ConnectionOptions",
    "PoolOptions",
    "check_auto_pipeline",
    "mask_url",
    "options_from_url",
    "split_options",
]


def _check_timeout(name: str, value: object, *, allow_none: bool = True) -> None:
    if value is None and allow_none:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        none = " or None" if allow_none else ""
        raise ValueError(f"option {name} must be a positive number of seconds{none}, got {value!r}")


def _check_int(name: str, value: object, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"option {name} must be an integer >= {minimum}, got {value!r}")


def _check_provider(provider: object, username: str | None, password: str | None) -> None:
    if not callable(getattr(provider, "get_credentials", None)):
        raise TypeError(
            "option credential_provider must have an async get_credentials() method, "
            f"got {type(provider).__name__}"
        )
    for name, value in (("password", password), ("username", username)):
        if value is not None:
            raise ValueError(
                f"options credential_provider and {name} cannot be used together: the "
                "provider's get_credentials() gives both username and password (drop the "
                f"{name} option, or the credentials in the URL)"
            )


@dataclass(frozen=True, slots=True)
class ConnectionOptions:
    """How to open and use one connection.

    ``host``/``port`` or ``path`` (a unix socket) say where; ``ssl`` turns on
    TLS (``True`` for a default verifying context, or an ``ssl.SSLContext``).
    ``connect_timeout`` bounds one connection attempt including the handshake
    (AUTH, SELECT, CLIENT SETNAME); ``command_timeout`` bounds the wait for
    one reply (blocking commands such as BLPOP get their own blocking time on
    top). ``tcp_keepalive`` is the idle time in seconds before the kernel
    starts probing a silent peer (``None`` turns keepalive off). With
    ``decode_responses`` bulk replies are ``str`` decoded with ``encoding``
    and the codec error handler ``encoding_errors`` (``"strict"``: a reply
    that does not decode is a ``ProtocolError``; ``"replace"`` puts U+FFFD
    in its place, as redis-py's option does).
    ``readonly`` sends ``READONLY`` in the handshake, so a cluster replica
    serves reads (the cluster client sets it for ``read_from`` other than
    ``"primary"``; elsewhere it has no effect).
    ``protocol`` is the RESP version spoken: 2 (the default) or 3, opened with
    ``HELLO 3`` (credentials and ``client_name`` folded into it); typed
    commands return the same values under both, ``execute()`` returns RESP3's
    own types (dict, float, bool) under 3. A server that refuses ``HELLO``
    (older than Redis 6) fails the connection with a clear error.
    ``tracking`` turns on ``CLIENT TRACKING`` in the handshake (protocol 3
    only; the client-side cache sets it, see ``CacheOptions``).
    ``credential_provider`` replaces ``username``/``password`` with an object
    whose ``async get_credentials()`` returns ``(username or None, password)``,
    asked for every new connection; one that also announces new credentials
    makes open connections re-authenticate (see ``aiopool.CredentialProvider``
    and ``aiopool.RotatingCredentials``). It is left out of ``repr``.
    """

    host: str = "127.0.0.1"
    port: int = 6379
    path: str | None = None
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    client_name: str | None = None
    ssl: _ssl.SSLContext | bool = False
    connect_timeout: float | None = 5.0
    command_timeout: float | None = 10.0
    tcp_keepalive: float | None = 60.0
    decode_responses: bool = False
    encoding: str = "utf-8"
    encoding_errors: str = "strict"
    readonly: bool = False
    protocol: int = 2
    tracking: bool = False
    credential_provider: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.path is None:
            if not isinstance(self.host, str) or not self.host:
                raise ValueError(f"option host must be a non-empty string, got {self.host!r}")
            if (
                isinstance(self.port, bool)
                or not isinstance(self.port, int)
                or not 0 < self.port < 65536
            ):
                raise ValueError(
                    f"option port must be an integer from 1 to 65535, got {self.port!r}"
                )
        elif not isinstance(self.path, str) or not self.path:
            raise ValueError(f"option path must be a unix socket path, got {self.path!r}")
        _check_int("db", self.db, minimum=0)
        for name in ("username", "password", "client_name"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                shown = "<hidden>" if name == "password" else repr(value)
                raise TypeError(f"option {name} must be a str or None, got {shown}")
        if self.client_name is not None and (" " in self.client_name or not self.client_name):
            raise ValueError(
                f"option client_name must be non-empty with no spaces, got {self.client_name!r}"
            )
        if not isinstance(self.ssl, bool | _ssl.SSLContext):
            raise TypeError(f"option ssl must be a bool or an ssl.SSLContext, got {self.ssl!r}")
        if self.credential_provider is not None:
            _check_provider(self.credential_provider, self.username, self.password)
        _check_timeout("connect_timeout", self.connect_timeout)
        _check_timeout("command_timeout", self.command_timeout)
        _check_timeout("tcp_keepalive", self.tcp_keepalive)
        if isinstance(self.protocol, bool) or self.protocol not in (2, 3):
            raise ValueError(f"option protocol must be 2 or 3, got {self.protocol!r}")
        if self.tracking is True and self.protocol != 3:
            raise ValueError(
                "option tracking needs protocol=3: invalidations arrive as RESP3 push frames"
            )
        for flag in ("decode_responses", "readonly", "tracking"):
            if not isinstance(getattr(self, flag), bool):
                raise TypeError(f"option {flag} must be a bool, got {getattr(self, flag)!r}")
        try:
            "".encode(self.encoding)
        except (LookupError, TypeError):
            raise ValueError(f"option encoding names no known codec: {self.encoding!r}") from None
        try:
            codecs.lookup_error(self.encoding_errors)
        except (LookupError, TypeError):
            raise ValueError(
                "option encoding_errors names no codec error handler (strict, replace, "
                f"ignore, backslashreplace, ...): {self.encoding_errors!r}"
            ) from None

    def ssl_context(self) -> _ssl.SSLContext | None:
        """The ``ssl.SSLContext`` to connect with (a default verifying one for ``ssl=True``)."""
        if self.ssl is True:
            return _ssl.create_default_context()
        return self.ssl or None

    @property
    def address(self) -> str:
        """``host:port`` (``[v6]:port``) or the unix socket path, for messages."""
        if self.path is not None:
            return self.path
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def url(self) -> str:
        """A URL for this target without credentials, safe to print."""
        if self.path is not None:
            return f"unix://{self.path}?db={self.db}"
        scheme = "rediss" if self.ssl else "redis"
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.address}/{self.db}"


@dataclass(frozen=True, slots=True)
class PoolOptions:
    """How the pool sizes, waits for and recycles connections, and what it repeats.

    ``retry_safe_commands`` is how many times a command whose outcome is
    unknown (written, then the connection broke or ``command_timeout`` ran
    out) is run again on a fresh connection, when it is safe to repeat
    (read-only, or idempotent with the same reply); 0, the default, never
    repeats anything that may have run. See docs/guide/connecting.md's option table for
    when to change each one.
    """

    min_size: int = 0
    max_size: int = 10
    acquire_timeout: float | None = 10.0
    idle_timeout: float | None = 300.0
    max_lifetime: float | None = None
    health_check_interval: float | None = 30.0
    close_timeout: float = 5.0
    reconnect_backoff: float = 0.05
    reconnect_backoff_max: float = 2.0
    leak_detection_threshold: float | None = None
    keepalive_interval: float | None = 60.0
    retry_safe_commands: int = 0

    def __post_init__(self) -> None:
        _check_int("max_size", self.max_size, minimum=1)
        _check_int("retry_safe_commands", self.retry_safe_commands, minimum=0)
        _check_int("min_size", self.min_size, minimum=0)
        if self.min_size > self.max_size:
            raise ValueError(
                f"option min_size ({self.min_size}) must not exceed max_size ({self.max_size})"
            )
        _check_timeout("acquire_timeout", self.acquire_timeout)
        _check_timeout("idle_timeout", self.idle_timeout)
        _check_timeout("max_lifetime", self.max_lifetime)
        _check_timeout("health_check_interval", self.health_check_interval)
        _check_timeout("close_timeout", self.close_timeout, allow_none=False)
        _check_timeout("reconnect_backoff", self.reconnect_backoff, allow_none=False)
        _check_timeout("reconnect_backoff_max", self.reconnect_backoff_max, allow_none=False)
        _check_timeout("leak_detection_threshold", self.leak_detection_threshold)
        _check_timeout("keepalive_interval", self.keepalive_interval)


@dataclass(frozen=True, slots=True)
class AutoPipelineOptions:
    """Whether and how a client shares connections between concurrent commands.

    With ``auto_pipeline=True``, commands issued by many tasks at once are
    written together, one buffer per event-loop turn, on at most
    ``auto_pipeline_connections`` connections borrowed from the pool, and each
    reply goes back to its own caller. ``auto_pipeline_max_pending`` caps the
    commands queued or awaiting a reply on one such connection; callers
    beyond the cap wait (in order, for at most ``acquire_timeout``) instead of
    growing memory without bound. The other options of the pool still hold:
    ``command_timeout`` per command, ``acquire_timeout`` for getting on a
    connection. The client checks that the pool keeps at least one connection
    for what cannot be shared (blocking commands, transactions, retries).
    """

    auto_pipeline: bool = False
    auto_pipeline_connections: int = 2
    auto_pipeline_max_pending: int = 1024

    def __post_init__(self) -> None:
        if not isinstance(self.auto_pipeline, bool):
            raise TypeError(f"option auto_pipeline must be a bool, got {self.auto_pipeline!r}")
        _check_int("auto_pipeline_connections", self.auto_pipeline_connections, minimum=1)
        _check_int("auto_pipeline_max_pending", self.auto_pipeline_max_pending, minimum=1)


AUTO_PIPELINE_FIELDS = frozenset(f.name for f in fields(AutoPipelineOptions))


def check_auto_pipeline(auto: AutoPipelineOptions, pool: PoolOptions) -> None:
    """Raise ``ValueError`` when shared connections would leave none for exclusive use."""
    if auto.auto_pipeline and auto.auto_pipeline_connections >= pool.max_size:
        raise ValueError(
            f"option auto_pipeline_connections ({auto.auto_pipeline_connections}) must be "
            f"less than max_size ({pool.max_size}): blocking commands, transactions and "
            "retries need a connection of their own"
        )


READ_FROM = ("primary", "replicas", "nearest")


@dataclass(frozen=True, slots=True)
class ClusterOptions:
    """How the cluster client routes commands and follows the cluster's changes.

    ``read_from``: ``"primary"`` (every command to the slot's primary, the
    default), ``"replicas"`` (read-only commands round-robin over the slot's
    replicas, the primary when it has none) or ``"nearest"`` (read-only
    commands to the node of the slot with the lowest measured PING time).
    ``max_redirects`` bounds the MOVED/ASK redirects one command follows.
    ``retry_timeout`` bounds how long one command keeps retrying while the
    cluster cannot serve its slot (TRYAGAIN, CLUSTERDOWN, a primary that is
    down until its replica is promoted), with backoff and a topology refresh
    in between. ``refresh_interval`` refreshes the topology periodically
    (``None``: only when a redirect or a failure calls for it).
    """

    read_from: str = "primary"
    max_redirects: int = 16
    retry_timeout: float = 5.0
    refresh_interval: float | None = 30.0

    def __post_init__(self) -> None:
        if self.read_from not in READ_FROM:
            raise ValueError(
                f"option read_from must be one of {', '.join(READ_FROM)}, got {self.read_from!r}"
            )
        _check_int("max_redirects", self.max_redirects, minimum=1)
        _check_timeout("retry_timeout", self.retry_timeout, allow_none=False)
        _check_timeout("refresh_interval", self.refresh_interval)


CLUSTER_FIELDS = frozenset(f.name for f in fields(ClusterOptions))
_CONNECTION_FIELDS = frozenset(f.name for f in fields(ConnectionOptions))
_TIMEOUT_FIELDS = frozenset(
    f.name
    for f in fields(ConnectionOptions) + fields(PoolOptions)
    if f.name.endswith(
        (
            "_timeout",
            "_interval",
            "_lifetime",
            "_backoff",
            "_backoff_max",
            "keepalive",
            "_threshold",
        )
    )
)
_POOL_FIELDS = frozenset(f.name for f in fields(PoolOptions))

# redis-py's option names that mean what ours do: accepted, as keywords and
# as URL query parameters, and read as ours.
ALIASES: dict[str, str] = {
    "max_connections": "max_size",
    "socket_timeout": "command_timeout",
    "socket_connect_timeout": "connect_timeout",
    "unix_socket_path": "path",
}
# Names a redis-py user will type that mean something else here: refused with ours.
_FAMILIAR = {
    "socket_keepalive": "tcp_keepalive",  # redis-py: a bool; ours: seconds of idle time
    "timeout": "acquire_timeout",  # BlockingConnectionPool's wait for a connection
    "ssl_context": "ssl",
    "retry_on_timeout": "retry_safe_commands",
    "retry": "retry_safe_commands",
}


def _resolve_aliases(options: dict[str, Any], *, where: str) -> dict[str, Any]:
    """``options`` with redis-py's names (``ALIASES``) read as ours; both given is an error."""
    if not ALIASES.keys() & options.keys():
        return options
    resolved = dict(options)
    for alias, name in ALIASES.items():
        if alias in resolved:
            if name in resolved:
                raise ValueError(
                    f"options {alias!r} (redis-py's name) and {name!r} for {where} are the "
                    "same option; give one"
                )
            resolved[name] = resolved.pop(alias)
    return resolved


# Query parameters a URL may carry, and how each is converted.
_BOOL_WORDS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


def _unknown_option(name: str, where: str) -> TypeError:
    if name in AUTO_PIPELINE_FIELDS:
        return TypeError(
            f"option {name!r} is not one of {where}: it belongs to a client "
            "(Client.from_url() or ClusterClient.from_url())"
        )
    hint = _FAMILIAR.get(name)
    if hint is None:
        known = sorted(_CONNECTION_FIELDS | _POOL_FIELDS | CLUSTER_FIELDS | AUTO_PIPELINE_FIELDS)
        close = difflib.get_close_matches(name, known, n=1)
        hint = close[0] if close else None
    suggestion = f"; did you mean {hint!r}?" if hint else ""
    return TypeError(f"unknown option {name!r} for {where}{suggestion}")


_NOT_IN_QUERY = frozenset({"host", "port", "path", "credential_provider"})
_SECRET_QUERY = re.compile(r"([?&](?:password|pass)=)[^&#]*", re.IGNORECASE)


def mask_url(url: str) -> str:
    """Return ``url`` with any password (in the userinfo or the query) replaced by ``***``.

    Works on the raw string, so a password with unencoded ``#``, ``/`` or
    ``?`` (which would confuse a URL parser) is still hidden.
    """
    scheme, sep, rest = url.partition("://")
    if sep:
        at = rest.rfind("@")
        if at >= 0:
            user, colon, _ = rest[:at].partition(":")
            rest = f"{user}:***{rest[at:]}" if colon else rest
        url = f"{scheme}{sep}{rest}"
    return _SECRET_QUERY.sub(r"\1***", url)


def _convert(name: str, raw: str, shown_url: str) -> object:
    try:
        if name in ("decode_responses", "ssl", "readonly", "tracking"):
            return _BOOL_WORDS[raw.lower()]
        if name in ("db", "port", "min_size", "max_size", "retry_safe_commands", "protocol"):
            return int(raw)
        if name in _TIMEOUT_FIELDS:
            return None if raw.lower() == "none" else float(raw)
    except (KeyError, ValueError):
        raise ValueError(
            f"invalid Redis URL {shown_url!r}: query parameter {name}={raw!r} is not a valid value"
        ) from None
    return raw


def options_from_url(
    url: str, options: dict[str, Any], *, where: str
) -> tuple[ConnectionOptions, PoolOptions]:
    """Parse ``url`` and merge keyword ``options`` over it (keywords win).

    Accepts ``redis://[user[:password]@]host[:port][/db][?option=value...]``,
    ``rediss://`` (TLS) and ``unix:///path/to/socket[?db=N]``. A malformed URL
    raises ``ValueError`` saying what is wrong, with the password masked; an
    unknown option raises ``TypeError`` naming it.
    """
    if not isinstance(url, str):
        raise TypeError(f"the Redis URL must be a str, got {type(url).__name__}")
    shown = mask_url(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"invalid Redis URL {shown!r}: {exc}") from None
    values: dict[str, Any] = {}
    if parts.scheme in ("redis", "rediss"):
        if not parts.hostname:
            raise ValueError(f"invalid Redis URL {shown!r}: no host; expected redis://host:port/db")
        values["host"] = parts.hostname
        if port is not None:
            values["port"] = port
        if parts.scheme == "rediss":
            values["ssl"] = True
        db_text = parts.path.lstrip("/")
        if db_text:
            if not db_text.isdigit():
                raise ValueError(
                    f"invalid Redis URL {shown!r}: the path must be a database number, got {db_text!r}"
                )
            values["db"] = int(db_text)
    elif parts.scheme == "unix":
        path = parts.path or parts.netloc.rpartition("@")[2]
        if not path:
            raise ValueError(f"invalid Redis URL {shown!r}: no socket path; expected unix:///path")
        values["path"] = unquote(path)
    else:
        scheme = parts.scheme or "(none)"
        raise ValueError(
            f"invalid Redis URL {shown!r}: unsupported scheme {scheme!r}; "
            "use redis://, rediss:// or unix://"
        )
    if parts.username:
        values["username"] = unquote(parts.username)
    if parts.password is not None:
        values["password"] = unquote(parts.password)
    for name, raw in parse_qsl(parts.query, keep_blank_values=True):
        key = "client_name" if name == "name" else ALIASES.get(name, name)
        if key not in _CONNECTION_FIELDS | _POOL_FIELDS or key in _NOT_IN_QUERY:
            raise ValueError(f"invalid Redis URL {shown!r}: unknown query parameter {name!r}")
        values[key] = _convert(key, raw, shown)
    options = _resolve_aliases(options, where=where)
    for name in options:
        if name not in _CONNECTION_FIELDS and name not in _POOL_FIELDS:
            raise _unknown_option(name, where)
    values.update(options)
    if values.get("path") is not None and "host" in options:
        raise ValueError("give either a unix socket path or a host, not both")
    return split_options(values, where=where)


def split_options(options: dict[str, Any], *, where: str) -> tuple[ConnectionOptions, PoolOptions]:
    """Build both option objects from keywords alone (no URL)."""
    options = _resolve_aliases(options, where=where)
    for name in options:
        if name not in _CONNECTION_FIELDS and name not in _POOL_FIELDS:
            raise _unknown_option(name, where)
    connection = ConnectionOptions(**{k: v for k, v in options.items() if k in _CONNECTION_FIELDS})
    pool = PoolOptions(**{k: v for k, v in options.items() if k in _POOL_FIELDS})
    return connection, pool
