"""Redis Sentinel: which server is the primary (or a replica) of a service, now.

``Client.from_url("redis+sentinel://...")`` builds a ``SentinelPool``: a
``Pool`` whose connector asks ``Sentinels`` where to connect each time it
opens a connection, so the pool itself knows nothing of Sentinel. It follows
the client rules Redis publishes
(https://redis.io/docs/latest/develop/reference/sentinel-clients/):

- ask the sentinels in the order given; the first that names a primary
  moves to the front;
- verify every new connection with ``ROLE``: a server that is not what was
  expected (a demoted primary) is closed and the question asked again;
- re-resolve on every new connection;
- when the primary's address changes, close every connection to the old
  one: idle ones at once, borrowed ones when they come back (their
  ``is_reusable()`` turns false);
- a ``READONLY`` reply (a primary demoted under a live connection) closes
  that connection and counts as "never sent": nothing ran, so ``_retry``
  resends the command on a fresh connection, which goes to the new primary;
- ``+switch-master`` (subscribed on one sentinel) only makes all of this
  happen sooner; nothing depends on receiving it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import weakref
from dataclasses import dataclass, field, replace
from typing import Any, Final
from urllib.parse import quote, unquote

from ._backoff import backoff
from ._config import ConnectionOptions, PoolOptions, mask_url, options_from_url
from ._connection import POOLED, Connection
from ._errors import (
    ConnectError,
    ConnectionFailure,
    MasterNotFoundError,
    ReadOnlyError,
    RedisError,
    ReplyError,
)
from ._pool import Pool
from ._protocol import encode_command

__all__ = ["SENTINEL_FIELDS", "SentinelOptions", "SentinelPool", "Sentinels", "pool_from_url"]

logger = logging.getLogger("aiopool.sentinel")

SCHEME: Final = "redis+sentinel"
DEFAULT_PORT: Final = 26379
SENTINEL_FIELDS: Final = frozenset(
    {"sentinel_username", "sentinel_password", "sentinel_timeout", "read_from"}
)
# A replica in any of these states is not offered reads.
_UNHEALTHY: Final = frozenset({"s_down", "o_down", "disconnected"})
_EVENTS: Final = ("+switch-master", "+promoted-slave", "+sdown", "+odown")
# How long an announced primary is preferred to sentinels still naming the old
# one (the leader of a failover names the old one until it ends, up to failover-timeout).
_ANNOUNCED_FOR: Final = 60.0
_RECONNECT_BACKOFF_MAX: Final = 0.25

Address = tuple[str, int]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _show(address: Address) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True, slots=True)
class SentinelOptions:
    """Where the sentinels are and how to talk to them.

    ``service_name`` is the name the sentinels monitor (``sentinel monitor
    <name> ...``); ``sentinels`` their ``(host, port)`` in the order they are
    asked. ``username``/``password`` are the sentinels' own credentials
    (``sentinel_username=``/``sentinel_password=``; the URL's credentials are
    the Redis servers'). ``timeout`` (``sentinel_timeout=``) bounds connecting
    to one sentinel and each of its answers, so a dead or frozen sentinel
    costs at most that before the next is asked. ``read_from`` is
    ``"primary"`` or ``"replicas"`` (reads spread over healthy replicas, the
    primary when none is healthy).
    """

    service_name: str
    sentinels: tuple[Address, ...]
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 1.0
    read_from: str = "primary"

    def __post_init__(self) -> None:
        if not isinstance(self.service_name, str) or not self.service_name:
            raise ValueError(
                f"the Sentinel service name must be non-empty, got {self.service_name!r}"
            )
        if not self.sentinels:
            raise ValueError("give at least one sentinel host:port")
        for host, port in self.sentinels:
            if not host or not isinstance(port, int) or not 0 < port < 65536:
                raise ValueError(f"invalid sentinel address {host!r}:{port!r}")
        if (
            isinstance(self.timeout, bool)
            or not isinstance(self.timeout, int | float)
            or self.timeout <= 0
        ):
            raise ValueError(
                f"option sentinel_timeout must be a positive number of seconds, got {self.timeout!r}"
            )
        if self.read_from not in ("primary", "replicas"):
            raise ValueError(
                f"option read_from must be 'primary' or 'replicas', got {self.read_from!r}"
            )
        for name in ("username", "password"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                shown = "<hidden>" if name == "password" else repr(value)
                raise TypeError(f"option sentinel_{name} must be a str or None, got {shown}")


def parse_url(
    url: str, options: dict[str, Any], *, where: str
) -> tuple[SentinelOptions, ConnectionOptions, PoolOptions]:
    """Split ``redis+sentinel://[user:password@]host:port[,host:port...]/service[/db][?query]``.

    The credentials and the query are the Redis servers' (as in
    ``redis://``); ``sentinel_*`` and ``read_from`` come from ``options``.
    A malformed URL raises ``ValueError`` with the password masked.
    """
    shown = mask_url(url)
    scheme, sep, rest = url.partition("://")
    if scheme != SCHEME or not sep:
        raise ValueError(f"invalid Sentinel URL {shown!r}: expected {SCHEME}://")
    rest, _, query = rest.partition("?")
    netloc, _, path = rest.partition("/")
    userinfo, at, hosts = netloc.rpartition("@")
    sentinels: list[Address] = []
    for item in hosts.split(","):
        host, colon, port_text = item.strip().rpartition(":")
        if not colon:
            host, port_text = item.strip(), str(DEFAULT_PORT)
        host = host.strip("[]")
        if not host or not port_text.isdigit():
            raise ValueError(f"invalid Sentinel URL {shown!r}: bad sentinel address {item!r}")
        sentinels.append((host, int(port_text)))
    service, _, db = path.strip("/").partition("/")
    if not service:
        raise ValueError(
            f"invalid Sentinel URL {shown!r}: no service name; expected "
            f"{SCHEME}://host:port/service_name[/db]"
        )
    sentinel_kwargs = {
        name.removeprefix("sentinel_"): options.pop(name)
        for name in list(options)
        if name in SENTINEL_FIELDS and name != "read_from"
    }
    read_from = options.pop("read_from", "primary")
    settings = SentinelOptions(
        unquote(service), tuple(sentinels), read_from=read_from, **sentinel_kwargs
    )
    # The servers' options: a redis:// URL with the same credentials, db and
    # query; its host is a placeholder the connector replaces on every connect.
    host = quote(sentinels[0][0]) if ":" not in sentinels[0][0] else f"[{sentinels[0][0]}]"
    inner = f"redis://{userinfo}{at}{host}:{sentinels[0][1]}/{db}"
    if query:
        inner += f"?{query}"
    # A failover takes seconds: poll for the new primary often rather than
    # sleep up to 2 s between attempts (and give up early for want of time).
    options.setdefault("reconnect_backoff_max", _RECONNECT_BACKOFF_MAX)
    connection, pool = options_from_url(inner, options, where=where)
    return settings, connection, pool


class SentinelConnection(Connection):
    """A ``Connection`` to a server a ``Sentinels`` chose, which it can retire.

    It stops being reusable once the sentinels name another server for its
    role, and turns a ``READONLY`` reply into a "never sent"
    ``ConnectionFailure`` after closing itself, so the command is resent
    to the new primary.
    """

    __slots__ = ("_role", "_sentinels")

    def __init__(self, options: ConnectionOptions) -> None:
        super().__init__(options)
        self._sentinels: Sentinels | None = None
        self._role = "master"

    def __repr__(self) -> str:
        current = "" if self._is_current() else " retired"
        return f"{Connection.__repr__(self)[:-1]} {self._role}{current}>"

    def _is_current(self) -> bool:
        sentinels = self._sentinels
        return sentinels is None or sentinels.is_current(self.address, self._role)

    def is_reusable(self) -> bool:
        return super().is_reusable() and self._is_current()

    def is_pooled_and_open(self) -> bool:
        if not self._is_current():
            self.abort("the sentinels named another server")
            return False
        return super().is_pooled_and_open()

    def error_reply(self, reply: ReplyError) -> RedisError:
        if isinstance(reply, ReadOnlyError) and self._role == "master":
            self.abort("READONLY: the server is a replica now")
            if self._sentinels is not None:
                self._sentinels.suspect(self.address)
            failure = ConnectionFailure(
                f"{self.address} answered READONLY: it is a replica now, nothing ran; "
                "the primary is asked of the sentinels again",
                self.address,
            )
            failure.__cause__ = reply
            return failure
        return super().error_reply(reply)


class Sentinels:
    """Asks the sentinels of one service where its primary and healthy replicas are.

    ``connect(timeout)`` is a pool's connector: it resolves, opens and
    verifies one connection. Each question to a sentinel has its own
    ``SentinelOptions.timeout``; a sentinel that does not answer is skipped.
    """

    def __init__(self, options: SentinelOptions, target: ConnectionOptions) -> None:
        self.options = options
        self.target = target
        self._order: list[Address] = list(options.sentinels)
        self.primary: Address | None = None
        self.replicas: tuple[Address, ...] = ()
        self.switches = 0  # how many times the primary's address changed
        self._primary_text: str | None = None
        self._replica_texts: frozenset[str] = frozenset()
        self._conns: weakref.WeakSet[SentinelConnection] = weakref.WeakSet()
        self._pinned: weakref.WeakSet[Connection] = weakref.WeakSet()  # pub/sub, MONITOR
        self._listeners: list[asyncio.Task[None]] = []
        # A primary a sentinel's event announced, and until when it beats the
        # answers of sentinels that have not heard of it yet.
        self._announced: tuple[Address, float] | None = None
        self._closed = False

    def __repr__(self) -> str:
        primary = _show(self.primary) if self.primary else "unknown"
        return (
            f"<Sentinels {self.options.service_name!r} primary={primary} "
            f"replicas={len(self.replicas)} sentinels={','.join(map(_show, self._order))}>"
        )

    # -- asking -----------------------------------------------------------------------

    def _sentinel_options(self, address: Address) -> ConnectionOptions:
        t = self.options.timeout
        return ConnectionOptions(
            host=address[0],
            port=address[1],
            username=self.options.username,
            password=self.options.password,
            connect_timeout=t,
            command_timeout=t,
            tcp_keepalive=None,
        )

    async def _ask(self, address: Address, *args: str) -> Any:
        conn = await Connection.open(self._sentinel_options(address))
        try:
            return await conn.execute(*args)
        finally:
            conn.abort()

    async def _ask_each(self, *args: str) -> tuple[Address, Any]:
        """The first sentinel (in order) that answers ``args`` with something: moved first."""
        failures = []
        for address in list(self._order):
            try:
                reply = await self._ask(address, *args)
            except (RedisError, OSError) as exc:
                failures.append(f"{_show(address)}: {exc}")
                continue
            if not reply:
                failures.append(f"{_show(address)}: does not know the service")
                continue
            if self._order[0] != address:
                self._order.remove(address)
                self._order.insert(0, address)
            return address, reply
        raise MasterNotFoundError(
            f"no sentinel named a primary for service {self.options.service_name!r}: "
            + "; ".join(failures),
            ",".join(map(_show, self.options.sentinels)),
        )

    async def discover_primary(self) -> Address:
        """Ask the sentinels in order for the primary's address; raise ``MasterNotFoundError``."""
        _, reply = await self._ask_each(
            "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.options.service_name
        )
        address = (_text(reply[0]), int(reply[1]))
        announced = self._announced
        if announced is not None:
            if announced[0] == address or time.monotonic() > announced[1]:
                self._announced = None  # the sentinels caught up (or the news is old)
            else:
                address = announced[0]  # ROLE verifies it; a failure forgets it
        self._set_primary(address)
        return address

    async def discover_replicas(self) -> tuple[Address, ...]:
        """The replicas the first answering sentinel lists as healthy (not down or disconnected)."""
        try:
            _, reply = await self._ask_each("SENTINEL", "REPLICAS", self.options.service_name)
        except MasterNotFoundError:
            reply = []
        healthy = []
        for entry in reply:
            if isinstance(entry, dict):
                info = {_text(k): _text(v) for k, v in entry.items()}
            else:
                info = {_text(k): _text(v) for k, v in zip(entry[::2], entry[1::2], strict=False)}
            flags = set(info.get("flags", "").split(","))
            # Not master-link-status: the sentinels refresh it by INFO every
            # 10 s, so it says "err" long after a replica finished syncing.
            if flags & _UNHEALTHY:
                continue
            healthy.append((info["ip"], int(info["port"])))
        self.replicas = tuple(healthy)
        self._replica_texts = frozenset(map(_show, healthy))
        return self.replicas

    def _set_primary(self, address: Address) -> None:
        old = self.primary
        if address == old:
            return
        self.primary = address
        self._primary_text = _show(address)
        if old is not None:
            self.switches += 1
            logger.warning(
                "service %r: the primary moved from %s to %s; closing connections to the old one",
                self.options.service_name,
                _show(old),
                _show(address),
            )
            self._retire(_show(old))

    def _retire(self, address: str) -> None:
        """Close idle connections to ``address`` now; borrowed ones fail ``is_reusable()``."""
        for conn in list(self._conns):
            if conn.address == address and (conn.state == POOLED or conn in self._pinned):
                conn.abort("the sentinels named another primary")

    def pin(self, conn: Connection) -> None:
        """``conn`` is held outside the pool: abort it too when its server is retired."""
        self._pinned.add(conn)

    def is_current(self, address: str, role: str) -> bool:
        """Whether a connection to ``address`` opened for ``role`` may still be used."""
        if role == "master":
            return self._primary_text is None or address == self._primary_text
        return address in self._replica_texts or address == self._primary_text

    def suspect(self, address: str) -> None:
        """``address`` answered as a replica where a primary was expected: forget it."""
        if self._announced is not None and _show(self._announced[0]) == address:
            self._announced = None
        if address == self._primary_text:
            # No connection to a primary is current until the sentinels answer again.
            self._primary_text = ""
            self.primary = None
            self.switches += 1
            self._retire(address)

    # -- the connector ------------------------------------------------------------------

    async def connect(self, timeout: float | None) -> Connection:
        """Open a verified connection to the primary (or a healthy replica); the connector.

        Raises ``MasterNotFoundError`` when no sentinel answers and
        ``ConnectError`` when the server named is unreachable or answers
        ``ROLE`` with another role (the pool's opener retries both with
        backoff within ``acquire_timeout``). Cancellation closes whatever
        was half-opened.
        """
        self._start_listener()
        deadline = None if timeout is None else time.monotonic() + timeout
        if self.options.read_from == "replicas":
            replicas = await self.discover_replicas()
            if replicas:
                address = random.choice(replicas)
                try:
                    return await self._open(address, "slave", deadline)
                except ConnectError as exc:
                    logger.info("replica %s refused: %s; reading from the primary", address, exc)
        address = await self.discover_primary()
        return await self._open(address, "master", deadline)

    async def _open(
        self, address: Address, role: str, deadline: float | None
    ) -> SentinelConnection:
        target = replace(self.target, host=address[0], port=address[1])
        remaining = None if deadline is None else max(deadline - time.monotonic(), 0.01)
        conn = await SentinelConnection.open(target, timeout=remaining)
        assert isinstance(conn, SentinelConnection)
        try:
            reply = await conn.execute("ROLE")
            found = _text(reply[0])
        except BaseException:
            conn.abort()
            raise
        if found != role:
            conn.abort()
            if role == "master":
                self.suspect(conn.address)
            raise ConnectError(
                f"{conn.address} answers ROLE {found}, not {role}: the sentinels' answer is "
                "out of date (a failover is under way); asking again",
                conn.address,
            )
        conn._sentinels = self
        conn._role = role
        self._conns.add(conn)
        return conn

    # -- the +switch-master accelerator ----------------------------------------------------

    def _start_listener(self) -> None:
        if not self._listeners and not self._closed:
            loop = asyncio.get_running_loop()
            self._listeners = [
                loop.create_task(self._listen(address)) for address in self.options.sentinels
            ]

    async def _listen(self, address: Address) -> None:
        """Subscribe to one sentinel's events; reconnect with backoff while open.

        Every sentinel is listened to: each announces ``+switch-master`` as
        soon as it learns of the new primary, and only the leader of a
        failover announces ``+promoted-slave``, the moment the old primary
        stops being the one to write to (the leader itself may go on naming
        the old one for up to ``failover-timeout``).
        """
        attempt = 0
        while not self._closed:
            try:
                conn = await Connection.open(self._sentinel_options(address))
            except (RedisError, OSError):
                attempt += 1
                await asyncio.sleep(backoff(attempt, 0.1, 2.0) or 0.1)
                continue
            attempt = 0
            try:
                conn.start_stream(subscribed=True)
                conn.send(encode_command(("SUBSCRIBE", *_EVENTS)), 0)
                while True:
                    messages: list[Any] = []
                    await conn.receive(messages)
                    for message in messages:
                        self._event(message)
            except (RedisError, OSError) as exc:
                logger.debug("sentinel event subscription on %s dropped: %s", _show(address), exc)
            finally:
                conn.abort()

    def _event(self, message: Any) -> None:
        if not isinstance(message, list) or len(message) != 3 or _text(message[0]) != "message":
            return
        channel, data = _text(message[1]), _text(message[2]).split()
        name = self.options.service_name
        if channel == "+switch-master" and len(data) == 5 and data[0] == name:
            self._announce((data[3], int(data[4])))
        elif channel == "+promoted-slave" and len(data) >= 6 and data[5] == name:
            self._announce((data[2], int(data[3])))
        elif channel in ("+sdown", "+odown") and data[:1] == ["slave"] and len(data) > 1:
            self._replica_texts = self._replica_texts - {data[1]}

    def _announce(self, address: Address) -> None:
        """A sentinel announced ``address`` as the new primary: newer than any answer so far."""
        self._announced = (address, time.monotonic() + _ANNOUNCED_FOR)
        self._set_primary(address)

    async def aclose(self) -> None:
        """Stop listening to the sentinels; idempotent."""
        self._closed = True
        listeners, self._listeners = self._listeners, []
        for listener in listeners:
            listener.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)


class SentinelPool(Pool):
    """A ``Pool`` whose connections always go to the server ``sentinels`` name.

    Everything else is ``Pool``'s; ``aclose()`` also stops the sentinel
    event subscription.
    """

    def __init__(
        self, sentinels: Sentinels, connection: ConnectionOptions, options: PoolOptions
    ) -> None:
        super().__init__(connection, options, connector=sentinels.connect)
        self.sentinels = sentinels

    def __repr__(self) -> str:
        stats = self.stats()
        return (
            f"<SentinelPool {self.sentinels!r} role={self.sentinels.options.read_from} "
            f"in_use={stats.in_use} idle={stats.idle} waiting={stats.waiting} "
            f"max={stats.max_size}>"
        )

    async def open_pinned(self) -> Connection:
        """A connection of its own (pub/sub, MONITOR), outside the pool, to the current server.

        When the primary moves, it is aborted, so its owner reconnects
        (through here) to the new one; a ``PubSub`` resubscribes.
        """
        conn = await self.sentinels.connect(self.connection_options.connect_timeout)
        self.sentinels.pin(conn)
        return conn

    async def aclose(self) -> None:
        await self.sentinels.aclose()
        await super().aclose()


def pool_from_url(url: str, options: dict[str, Any], *, where: str) -> SentinelPool:
    """A ``SentinelPool`` for a ``redis+sentinel://`` URL and keyword options."""
    settings, connection, pool = parse_url(url, options, where=where)
    return SentinelPool(Sentinels(settings, connection), connection, pool)
