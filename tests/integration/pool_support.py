"""Helpers shared by the pool's integration tests (pool, faults, cancellation;
``free_port`` also by the connection tests).

Server-side facts (which connections exist, what they are doing, how many
clients are connected) are read over a plain blocking socket that is not
part of the pool under test, so they do not depend on the code being tested.

The test modules import it relatively (``from .pool_support import ...``):
``tests/`` and its folders are packages, so a test file is named after what
it tests without clashing with its namesake in the other folder
(``unit/test_pool.py``, ``integration/test_pool.py``).

pytest rewrites the ``assert`` statements of test modules only, not of this
module, so every assertion here carries its own message.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

import hiredis

from aiopool import Client, Pool, PoolStats
from aiopool.testing import RedisServer

__all__ = [
    "RawConnection",
    "address",
    "admin",
    "assert_balanced",
    "assert_own_replies",
    "blocked_ids",
    "cancel_and_settle",
    "client_ids",
    "clients_named",
    "connected_clients",
    "free_port",
    "unique_name",
    "wait_for_waiters",
    "wait_until",
]

_MORE = object()


def _resp(args: tuple[str | int | bytes, ...]) -> bytes:
    """``args`` encoded as one RESP command (an array of bulk strings)."""
    out = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


# -- the server, seen from outside the pool ----------------------------------------


class RawConnection:
    """A blocking socket to the server, outside the pool under test.

    Opening one authenticates with ``password`` (when given) and checks that
    the server answers PING, so a connection the server refused (for instance
    at ``maxclients``) fails here rather than counting as connected.
    """

    def __init__(self, server: RedisServer, password: str | None = None) -> None:
        self._server = server
        self._sock = socket.create_connection((server.host, server.port), timeout=5)
        self._reader = hiredis.Reader(notEnoughData=_MORE)
        try:
            if password is not None:
                reply = self.call("AUTH", password)
                assert reply == b"OK", f"AUTH on {server!r} replied {reply!r}"
            reply = self.call("PING")
            assert reply == b"PONG", f"PING on {server!r} replied {reply!r}"
        except BaseException:
            self.close()
            raise

    def call(self, *args: str | int) -> Any:
        """Send one command and return its reply; a reply error fails the test."""
        self._sock.sendall(_resp(args))
        reply = self._reader.gets()
        while reply is _MORE:
            data = self._sock.recv(65536)
            if not data:
                raise ConnectionError(f"{self._server!r} closed the raw connection")
            self._reader.feed(data)
            reply = self._reader.gets()
        if isinstance(reply, hiredis.ReplyError):
            raise AssertionError(f"raw command {args!r} failed: {reply}")
        return reply

    def connected_clients(self) -> int:
        """The server's ``connected_clients`` count (this connection included)."""
        info: bytes = self.call("INFO", "clients")
        found = re.search(rb"connected_clients:(\d+)", info)
        assert found is not None, info
        return int(found.group(1))

    def close(self) -> None:
        """Close the socket; closing twice is harmless."""
        self._sock.close()


def admin(server: RedisServer, *args: str | int, password: str | None = None) -> Any:
    """Run one command on a fresh blocking socket, outside the pool under test."""
    with contextlib.closing(RawConnection(server, password)) as raw:
        return raw.call(*args)


def clients_named(server: RedisServer, name: str) -> list[dict[str, str]]:
    """The server's CLIENT LIST entries whose name is ``name``."""
    listing: bytes = admin(server, "CLIENT", "LIST")
    entries = []
    for line in listing.decode().splitlines():
        fields = dict(part.split("=", 1) for part in line.split(" ") if "=" in part)
        if fields.get("name") == name:
            entries.append(fields)
    return entries


def client_ids(server: RedisServer, name: str) -> set[int]:
    """The CLIENT IDs of the server's connections named ``name``."""
    return {int(entry["id"]) for entry in clients_named(server, name)}


def blocked_ids(server: RedisServer, name: str) -> set[int]:
    """The CLIENT IDs of the connections named ``name`` that are blocked (flag ``b``)."""
    return {int(entry["id"]) for entry in clients_named(server, name) if "b" in entry["flags"]}


def connected_clients(server: RedisServer, password: str | None = None) -> int:
    """The server's ``connected_clients`` count, the asking connection included."""
    with contextlib.closing(RawConnection(server, password)) as raw:
        return raw.connected_clients()


def address(server: RedisServer) -> str:
    """``host:port``, as aiopool's errors name the server."""
    return f"{server.host}:{server.port}"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the time of asking)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unique_name(prefix: str = "pooltest") -> str:
    """A client name no other test uses, to find a pool's connections in CLIENT LIST."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# -- waiting, bounded ----------------------------------------------------------------


async def cancel_and_settle(task: asyncio.Task[Any], timeout: float = 5.0) -> str:
    """Cancel ``task``, wait (bounded) for it to end; ``"cancelled"`` or ``"completed"``.

    A task whose reply arrived before the cancellation took effect completes;
    either way it must end within ``timeout``.
    """
    task.cancel()
    try:
        async with asyncio.timeout(timeout):
            await task
    except asyncio.CancelledError:
        return "cancelled"
    return "completed"


async def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 3.0) -> None:
    """Poll ``predicate`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.005)


async def wait_for_blocked_clients(observer: Client, count: int = 1) -> None:
    """Poll the server (through ``observer``) until ``count`` clients are blocked."""
    deadline = time.monotonic() + 3.0
    while (await observer.info("clients"))["blocked_clients"] != count:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {count} blocked client(s)")
        await asyncio.sleep(0.005)


async def wait_for_waiters(pool: Pool, count: int) -> None:
    """Wait until exactly ``count`` tasks are queued for a connection of ``pool``."""
    await wait_until(lambda: pool.stats().waiting == count, f"{count} waiting task(s)")


# -- the pool's invariants -----------------------------------------------------------


def assert_balanced(pool: Pool) -> PoolStats:
    """Check that ``pool`` is at rest with counts that add up; return its stats."""
    stats = pool.stats()
    assert stats.in_use == 0, stats
    assert stats.waiting == 0, stats
    assert stats.opening == 0, stats
    assert stats.size == stats.idle, stats
    assert stats.size <= stats.max_size, stats
    return stats


async def assert_own_replies(client: Client, tasks: int = 20) -> None:
    """Many concurrent callers; each must get exactly its own replies."""
    tag = uuid.uuid4().hex[:8]

    async def one(i: int) -> None:
        key, value = f"own:{tag}:{i}", f"value-{tag}-{i}"
        reply = await client.execute("SET", key, value)
        assert reply == b"OK", f"SET {key}: {reply!r}"
        reply = await client.execute("GET", key)
        assert reply == value.encode(), f"GET {key}: {reply!r}, expected {value!r}"
        reply = await client.execute("ECHO", f"echo-{i}")
        assert reply == f"echo-{i}".encode(), f"ECHO echo-{i}: {reply!r}"

    async with asyncio.timeout(10):
        await asyncio.gather(*(one(i) for i in range(tasks)))
