"""``Monitor``: the server's MONITOR feed, on a connection of its own, parsed as redis-py does."""

from __future__ import annotations

import asyncio
import collections
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any, Final

from ._config import ConnectionOptions
from ._connection import Connection
from ._errors import ProtocolError, ReplyError
from ._protocol import encode_command

__all__ = ["Monitor", "parse_monitor_line"]

_MONITOR: Final = encode_command(("MONITOR",))
# "<unix time> [<db> <client>] <"arg"> <"arg"> ...": the client is host:port,
# [v6]:port, unix:<path> or lua; the arguments always start with a quote.
_LINE: Final = re.compile(r'(\d+(?:\.\d+)?) \[(\d+) (.+?)\] (".*)\Z', re.DOTALL)
# sdscatrepr's escapes, the only ones MONITOR writes.
_ESCAPES: Final = {"n": 10, "r": 13, "t": 9, "a": 7, "b": 8, "\\": 92, '"': 34}


def _arguments(text: str) -> list[bytes]:
    """The quoted arguments of a MONITOR line, unescaped to the bytes that were sent."""
    found: list[bytes] = []
    i, end = 0, len(text)
    while i < end:
        if text[i] != '"':
            i += 1
            continue
        i += 1
        arg = bytearray()
        while i < end and text[i] != '"':
            char = text[i]
            if char == "\\" and i + 1 < end:
                code = text[i + 1]
                if code == "x":
                    try:
                        arg.append(int(text[i + 2 : i + 4], 16))
                        i += 4
                        continue
                    except ValueError:
                        pass
                if code in _ESCAPES:
                    arg.append(_ESCAPES[code])
                    i += 2
                    continue
            arg += char.encode("utf-8", "surrogateescape")
            i += 1
        found.append(bytes(arg))
        i += 1
    return found


def parse_monitor_line(line: str | bytes, encoding: str = "utf-8") -> dict[str, Any]:
    """One MONITOR line as redis-py's ``Monitor.next_command()`` returns it.

    ``{"time": float, "db": int, "client_address": str, "client_port": str,
    "client_type": "tcp" | "unix" | "lua", "command": str}``; ``command`` is
    the arguments joined by spaces. ``ProtocolError`` for a line of another shape.
    """
    text = line.decode(encoding, "replace") if isinstance(line, bytes) else line
    match = _LINE.match(text) if isinstance(text, str) else None
    if match is None:
        raise ProtocolError(f"not a MONITOR line: {str(text)[:200]!r}")
    stamp, db, client, rest = match.groups()
    if client == "lua":
        address, port, kind = "lua", "", "lua"
    elif client.startswith("unix:"):
        address, port, kind = "unix", client[5:], "unix"
    else:
        address, _, port = client.rpartition(":")
        address, kind = address.removeprefix("[").removesuffix("]"), "tcp"
    command = " ".join(arg.decode(encoding, "backslashreplace") for arg in _arguments(rest))
    return {
        "time": float(stamp),
        "db": int(db),
        "client_address": address,
        "client_port": port,
        "client_type": kind,
        "command": command,
    }


class Monitor:
    """Every command the server runs, from ``client.monitor()``: ``async with`` it.

    ``async with client.monitor() as m: async for event in m.listen(): ...``
    opens a connection of its own (never one of the pool's, which neither
    sees nor counts it), sends ``MONITOR`` and checks its ``OK`` within
    ``command_timeout`` (``CommandTimeout``); leaving the block closes that
    connection. ``next_command()`` waits for ever for the next command and
    returns it as a dict (see ``parse_monitor_line``), with redis-py's keys.

    Cancelling ``next_command()`` or ``listen()`` loses nothing: what the
    server sent waits for the next call. Cancelling ``async with`` on entry
    closes the half-open connection. A dropped connection raises
    ``ConnectionLost`` from ``next_command()``; the monitor does not
    reconnect (commands run meanwhile would be missed silently).
    MONITOR itself costs the server: use it for debugging, not in production.
    """

    __slots__ = ("__weakref__", "_closed", "_conn", "_connect", "_lines", "connection_options")

    def __init__(
        self,
        connection: ConnectionOptions,
        connect: Callable[[], Awaitable[Connection]] | None = None,
    ) -> None:
        self.connection_options = connection
        # How its connection is opened: a Sentinel client asks the sentinels.
        self._connect = connect or (lambda: Connection.open(self.connection_options))
        self._conn: Connection | None = None
        self._lines: collections.deque[Any] = collections.deque()
        self._closed = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else "monitoring" if self._conn else "idle"
        return f"<Monitor {self.connection_options.address} {state} buffered={len(self._lines)}>"

    async def __aenter__(self) -> Monitor:
        await self._start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def is_closed(self) -> bool:
        """True once ``aclose()`` was called (or the ``async with`` block was left)."""
        return self._closed

    async def _start(self) -> Connection:
        if self._closed:
            raise RuntimeError(f"{self!r} is closed; call client.monitor() for a new one")
        if self._conn is not None:
            return self._conn
        options = self.connection_options
        conn = await self._connect()
        try:
            conn.start_stream(subscribed=True)  # every reply from now on is a monitor line
            if not conn.send(_MONITOR, 1):
                raise ConnectionResetError(f"{options.address} closed the connection")
            replies: list[Any] = []
            async with asyncio.timeout(options.command_timeout):
                await conn.receive(replies)
        except asyncio.CancelledError:
            conn.abort()
            raise
        except BaseException as exc:
            conn.abort()
            raise conn.failure(exc, "MONITOR", options.command_timeout) from exc
        first, *rest = replies
        if isinstance(first, ReplyError):  # NOPERM, ...
            conn.abort()
            raise conn.error_reply(first)
        if first not in (b"OK", "OK"):
            conn.abort()
            raise ProtocolError(f"{options.address} answered MONITOR with {first!r}, not OK")
        self._lines.extend(rest)
        self._conn = conn
        return conn

    async def next_command(self) -> dict[str, Any]:
        """The next command the server ran, as a dict (redis-py's keys); waits for ever.

        Opens the monitor first when used outside ``async with``. Raises
        ``ConnectionLost`` when the connection dropped, ``RuntimeError`` once closed.
        """
        conn = await self._start()
        lines = self._lines
        if not lines:
            replies: list[Any] = []
            try:
                await conn.receive(replies)
            except asyncio.CancelledError:
                raise
            except BaseException as exc:
                conn.abort()
                raise conn.failure(exc, "MONITOR", None) from exc
            lines.extend(replies)
        return parse_monitor_line(lines.popleft(), self.connection_options.encoding)

    async def listen(self) -> AsyncIterator[dict[str, Any]]:
        """Yield ``next_command()`` for ever (until the connection drops or the loop ends)."""
        while True:
            yield await self.next_command()

    async def aclose(self) -> None:
        """Close the monitor's connection; idempotent. Cancellation aborts it at once."""
        self._closed = True
        conn, self._conn = self._conn, None
        self._lines.clear()
        if conn is not None:
            await conn.aclose()
