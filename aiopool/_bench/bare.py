"""The bare baseline: ``asyncio`` streams plus a ``hiredis.Reader``, and nothing else.

No pool, no timeouts, no error handling beyond "the server hung up": one
connection per task, each command packed with ``hiredis.pack_command``. It is
the floor a streams-based client can reach in this process, so the other
clients' figures are read against it. For W6, where waiting for a connection
is the point, it uses the simplest fair pool: a FIFO hand-over of ten
connections; the same hand-over caps W7's 500 tasks at W1's 50 connections.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
import time
from collections.abc import Callable, Sequence
from typing import Any, cast

import hiredis

from .._config import ConnectionOptions

__all__ = ["BareConnection", "FifoPool"]

_READ_SIZE = 1 << 18
_STREAM_LIMIT = 1 << 20

# hiredis's stub types the argument as a 1-tuple; it takes any tuple of arguments.
pack = cast(Callable[[tuple[Any, ...]], bytes], hiredis.pack_command)


class BareConnection:
    """One Redis connection: write packed commands, parse replies with hiredis."""

    __slots__ = ("_parser", "_reader", "_writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._parser = hiredis.Reader()

    def __repr__(self) -> str:
        return f"<BareConnection {self._writer.get_extra_info('peername')}>"

    @classmethod
    async def open(cls, options: ConnectionOptions) -> BareConnection:
        """Connect, then AUTH and SELECT as ``options`` say (no round trip without them)."""
        context: ssl.SSLContext | None = None
        if options.ssl is True:
            context = ssl.create_default_context()
        elif options.ssl:
            context = options.ssl
        if options.path is not None:
            reader, writer = await asyncio.open_unix_connection(
                options.path, ssl=context, limit=_STREAM_LIMIT
            )
        else:
            reader, writer = await asyncio.open_connection(
                options.host, options.port, ssl=context, limit=_STREAM_LIMIT
            )
        conn = cls(reader, writer)
        if options.password is not None:
            user = (options.username,) if options.username else ()
            await conn.execute("AUTH", *user, options.password)
        if options.db:
            await conn.execute("SELECT", options.db)
        return conn

    async def _reply(self) -> Any:
        parser = self._parser
        reply = parser.gets()
        while reply is False:
            data = await self._reader.read(_READ_SIZE)
            if not data:
                raise ConnectionResetError("the server closed the connection")
            parser.feed(data)
            reply = parser.gets()
        if isinstance(reply, hiredis.ReplyError):
            raise reply
        return reply

    async def execute(self, *args: Any) -> Any:
        """Send one command and return its reply (an error reply is raised)."""
        self._writer.write(pack(args))
        return await self._reply()

    async def get(self, key: str) -> Any:
        """GET ``key``."""
        self._writer.write(pack(("GET", key)))
        return await self._reply()

    async def set(self, key: str, value: bytes) -> Any:
        """SET ``key`` ``value``."""
        self._writer.write(pack(("SET", key, value)))
        return await self._reply()

    async def set_get_pipeline(self, keys: Sequence[str], value: bytes) -> list[Any]:
        """SET then GET each key, all written at once; the replies in order."""
        self._writer.write(b"".join(pack(("SET", key, value)) + pack(("GET", key)) for key in keys))
        reply = self._reply
        return [await reply() for _ in range(2 * len(keys))]

    async def aclose(self) -> None:
        """Close the socket and wait until it is closed."""
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except OSError:
            pass


class FifoPool:
    """The simplest fair pool: idle connections in a deque, waiters served first come.

    A released connection goes straight to the oldest waiter, so nobody can
    overtake a task that is already waiting.
    """

    __slots__ = ("_idle", "_waiters")

    def __init__(self, connections: Sequence[BareConnection]) -> None:
        self._idle = collections.deque(connections)
        self._waiters: collections.deque[asyncio.Future[BareConnection]] = collections.deque()

    def __repr__(self) -> str:
        return f"<FifoPool idle={len(self._idle)} waiting={len(self._waiters)}>"

    async def _borrow(self) -> BareConnection:
        if self._idle:
            return self._idle.popleft()
        waiter: asyncio.Future[BareConnection] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        return await waiter

    def _give_back(self, conn: BareConnection) -> None:
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self._idle.append(conn)

    async def checkout_get(self, key: str) -> tuple[int, int]:
        """Borrow a connection, GET ``key``, give it back: ``(acquired_ns, released_ns)``."""
        conn = await self._borrow()
        acquired = time.perf_counter_ns()
        try:
            await conn.get(key)
        finally:
            self._give_back(conn)
        return acquired, time.perf_counter_ns()

    async def get(self, key: str) -> Any:
        """GET ``key`` on a borrowed connection."""
        conn = await self._borrow()
        try:
            return await conn.get(key)
        finally:
            self._give_back(conn)

    async def set(self, key: str, value: bytes) -> Any:
        """SET ``key`` ``value`` on a borrowed connection."""
        conn = await self._borrow()
        try:
            return await conn.set(key, value)
        finally:
            self._give_back(conn)

    async def aclose(self) -> None:
        """Close every idle connection (all of them, once no task runs)."""
        while self._idle:
            await self._idle.popleft().aclose()
