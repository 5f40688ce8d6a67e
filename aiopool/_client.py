"""``Client``: owns a ``Pool``; ``execute()`` and typed command methods."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import Any, TypeVar

from . import _commands as cmd
from ._commands import Command, Deadline, Expiry, Key, Value
from ._config import options_from_url
from ._pool import Pool
from ._protocol import encode_command

__all__ = ["Client"]

T = TypeVar("T")


class Client:
    """An async Redis client over a connection pool.

    Every command borrows a connection for exactly one round trip, so any
    number of tasks can share one client. Replies are ``bytes`` (``str`` with
    ``decode_responses=True``).

    Errors: ``ReplyError`` when the server answers with an error (the
    connection is fine); ``ConnectionFailure`` when the connection broke and
    the command may or may not have run; ``CommandTimeout`` when no reply came
    within ``command_timeout``; ``PoolTimeout`` when no connection was free
    within ``acquire_timeout``. Cancelling a call is always safe: a command
    interrupted after it was written closes its connection, so no later
    caller can ever read its reply.
    """

    __slots__ = ("pool",)

    def __init__(self, pool: Pool) -> None:
        if not isinstance(pool, Pool):
            raise TypeError(
                f"Client() takes a Pool, got {type(pool).__name__}; "
                "use Client.from_url(url) to build one from a URL"
            )
        self.pool = pool

    @classmethod
    def from_url(cls, url: str, **options: object) -> Client:
        """Build a client and its pool from a URL and options.

        ``url`` is ``redis://[user:password@]host[:port][/db]``, ``rediss://``
        (TLS) or ``unix:///path``; ``options`` are any of the pool and
        connection options (``max_size=20``, ``command_timeout=2.0``, ...) and
        override the URL's. Nothing is connected until first use (or
        ``async with``). A bad URL raises ``ValueError``; an unknown option
        ``TypeError``.
        """
        connection, pool = options_from_url(url, dict(options), where="Client.from_url()")
        return cls(Pool(connection, pool))

    def __repr__(self) -> str:
        return f"<Client {self.pool!r}>"

    async def __aenter__(self) -> Client:
        await self.pool.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.pool.aclose()

    async def aclose(self) -> None:
        """Close the client's pool (see ``Pool.aclose``)."""
        await self.pool.aclose()

    async def execute(self, *args: Any) -> Any:
        """Run one raw command, ``execute("INCR", "hits")``, and return its raw reply.

        Arguments may be str, bytes, int, float or memoryview; anything else
        (including None and bool) raises ``TypeError`` naming it, before a
        connection is borrowed. Blocking commands (BLPOP, XREAD BLOCK, WAIT,
        ...) get their blocking time on top of ``command_timeout``.
        Cancellation and timeouts are described on the class.
        """
        data = encode_command(args)
        pool = self.pool
        conn = await pool._acquire()
        try:
            return await conn._request(data, args, True)
        finally:
            pool._release(conn)

    async def _run(self, command: Command[T]) -> T:
        reply = await self.execute(*command.args)
        transform = command.transform
        return reply if transform is None else transform(reply)

    # -- strings -----------------------------------------------------------------

    async def get(self, key: Key) -> Any:
        """GET: the value at ``key``, or ``None`` when it does not exist."""
        return await self._run(cmd.get(key))

    async def set(
        self,
        key: Key,
        value: Value,
        *,
        ex: Expiry | None = None,
        px: Expiry | None = None,
        exat: Deadline | None = None,
        pxat: Deadline | None = None,
        nx: bool = False,
        xx: bool = False,
        keepttl: bool = False,
        get: bool = False,
    ) -> Any:
        """SET: store ``value``; ``True``, or ``None`` when ``nx``/``xx`` prevented it.

        ``ex``/``px`` (seconds/milliseconds, int or timedelta) and
        ``exat``/``pxat`` (unix time, int or datetime) set an expiry; give at
        most one, and not with ``keepttl``. With ``get=True`` the old value is
        returned instead. Conflicting options raise ``ValueError`` before
        anything is sent.
        """
        return await self._run(
            cmd.set_(
                key,
                value,
                ex=ex,
                px=px,
                exat=exat,
                pxat=pxat,
                nx=nx,
                xx=xx,
                keepttl=keepttl,
                get=get,
            )
        )

    async def mget(self, *keys: Key) -> list[Any]:
        """MGET: the values at ``keys``, ``None`` for each missing one."""
        return await self._run(cmd.mget(keys))

    async def mset(self, mapping: Mapping[Key, Value]) -> bool:
        """MSET: set every key of ``mapping`` atomically; ``True``."""
        return await self._run(cmd.mset(mapping))

    async def incr(self, key: Key) -> int:
        """INCR: add 1 to the integer at ``key`` (0 when missing); the new value."""
        return await self._run(cmd.incrby(key, 1))

    async def incrby(self, key: Key, amount: int = 1) -> int:
        """INCRBY: add ``amount`` to the integer at ``key``; the new value."""
        return await self._run(cmd.incrby(key, amount))

    async def incrbyfloat(self, key: Key, amount: float = 1.0) -> float:
        """INCRBYFLOAT: add ``amount`` to the number at ``key``; the new value as float."""
        return await self._run(cmd.incrbyfloat(key, amount))

    async def decr(self, key: Key) -> int:
        """DECR: subtract 1 from the integer at ``key``; the new value."""
        return await self._run(cmd.decrby(key, 1))

    async def decrby(self, key: Key, amount: int = 1) -> int:
        """DECRBY: subtract ``amount`` from the integer at ``key``; the new value."""
        return await self._run(cmd.decrby(key, amount))

    async def append(self, key: Key, value: Value) -> int:
        """APPEND: append ``value`` to the string at ``key``; the new length."""
        return await self._run(cmd.append(key, value))

    async def getdel(self, key: Key) -> Any:
        """GETDEL: return the value at ``key`` and delete it (``None`` if missing)."""
        return await self._run(cmd.getdel(key))

    async def getex(
        self,
        key: Key,
        *,
        ex: Expiry | None = None,
        px: Expiry | None = None,
        exat: Deadline | None = None,
        pxat: Deadline | None = None,
        persist: bool = False,
    ) -> Any:
        """GETEX: return the value at ``key`` and set (or with ``persist`` drop) its expiry."""
        return await self._run(cmd.getex(key, ex=ex, px=px, exat=exat, pxat=pxat, persist=persist))

    async def strlen(self, key: Key) -> int:
        """STRLEN: the length of the string at ``key`` (0 when missing)."""
        return await self._run(cmd.strlen(key))

    # -- keys ----------------------------------------------------------------------

    async def delete(self, *keys: Key) -> int:
        """DEL: delete ``keys``; how many existed."""
        return await self._run(cmd.delete(keys))

    async def unlink(self, *keys: Key) -> int:
        """UNLINK: delete ``keys``, reclaiming memory in the background; how many existed."""
        return await self._run(cmd.unlink(keys))

    async def exists(self, *keys: Key) -> int:
        """EXISTS: how many of ``keys`` exist (a key named twice counts twice)."""
        return await self._run(cmd.exists(keys))

    async def expire(
        self,
        key: Key,
        seconds: Expiry,
        *,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> bool:
        """EXPIRE: set a time to live in seconds; ``False`` if the key is missing or a condition failed."""
        return await self._run(cmd.expire(key, seconds, nx=nx, xx=xx, gt=gt, lt=lt))

    async def pexpire(
        self,
        key: Key,
        millis: Expiry,
        *,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> bool:
        """PEXPIRE: set a time to live in milliseconds; ``False`` if not set."""
        return await self._run(cmd.pexpire(key, millis, nx=nx, xx=xx, gt=gt, lt=lt))

    async def ttl(self, key: Key) -> int:
        """TTL: seconds left to live; -1 without expiry, -2 when the key is missing."""
        return await self._run(cmd.ttl(key))

    async def pttl(self, key: Key) -> int:
        """PTTL: milliseconds left to live; -1 without expiry, -2 when missing."""
        return await self._run(cmd.pttl(key))

    async def persist(self, key: Key) -> bool:
        """PERSIST: remove the expiry; ``True`` if there was one."""
        return await self._run(cmd.persist(key))

    async def type(self, key: Key) -> str:
        """TYPE: the type name of the value at ``key`` (``"none"`` when missing)."""
        return await self._run(cmd.type_(key))

    async def rename(self, key: Key, new_key: Key) -> bool:
        """RENAME: rename ``key``; ``True``. A missing key raises ``ReplyError``."""
        return await self._run(cmd.rename(key, new_key))

    async def scan_iter(
        self,
        match: str | bytes | None = None,
        count: int | None = None,
        type_: str | None = None,
    ) -> AsyncIterator[Any]:
        """Iterate over keys with SCAN, optionally filtered by pattern and type.

        Each batch is one SCAN round trip on a connection borrowed only for
        that trip, so a slow consumer holds no connection. Like SCAN, a key
        may be yielded more than once. ``count`` is a hint for the batch size.
        """
        cursor = 0
        while True:
            cursor_reply, keys = await self._run(cmd.scan(cursor, match, count, type_))
            for key in keys:
                yield key
            cursor = int(cursor_reply)
            if cursor == 0:
                return

    # -- server ------------------------------------------------------------------------

    async def ping(self, message: Value | None = None) -> Any:
        """PING: ``True`` when the server answers; with ``message``, the message echoed."""
        return await self._run(cmd.ping(message))

    async def echo(self, message: Value) -> Any:
        """ECHO: ``message`` as the server returns it."""
        return await self._run(cmd.echo(message))

    async def flushdb(self, asynchronous: bool = False) -> bool:
        """FLUSHDB: delete every key of the current database; ``True``."""
        return await self._run(cmd.flushdb(asynchronous))

    async def dbsize(self) -> int:
        """DBSIZE: the number of keys in the current database."""
        return await self._run(cmd.dbsize())

    async def info(self, *sections: str) -> dict[str, Any]:
        """INFO: server information parsed into a dict (numbers converted)."""
        return await self._run(cmd.info(sections))
