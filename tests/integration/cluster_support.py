"""Helpers for the cluster client's integration tests (``test_cluster.py``).

What a test checks is read from the servers over sockets of the helpers' own
(``raw_pipeline``, or the ``RedisCluster`` kit's ``execute``), never through
aiopool: which node holds a key, which commands a node ran or redirected
(``INFO commandstats`` / ``INFO errorstats``), which slots a master serves
(``CLUSTER SLOTS``). A key's owner is found by asking every master for it and
keeping the one that does not answer ``MOVED``, so no helper relies on the
CRC16 under test.

Imported relatively, as ``pool_support`` is. pytest does not rewrite the asserts of this module, so
each one carries its own message.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import hiredis

from aiopool import ClusterClient, OutcomeUnknown
from aiopool.testing import RedisCluster, RedisServer

__all__ = [
    "ClusterLedger",
    "Op",
    "address",
    "command_stats",
    "error_count",
    "info",
    "raw_pipeline",
    "reset_stats",
    "slot_ranges",
    "unique_tag",
    "values_on_cluster",
    "wait_for",
]

Arg = str | int | bytes
_MORE = object()


def info(raw: Any) -> dict[str, str]:
    """An INFO reply as ``{name: value}`` of its ``name:value`` lines."""
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    fields: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep:
            fields[name] = value.strip()
    return fields


def address(node: RedisServer) -> str:
    """``host:port``, the way ``ClusterClient`` names a node."""
    return f"127.0.0.1:{node.port}"


def unique_tag(prefix: str) -> str:
    """A key prefix no other test uses (no braces: keys built on it spread over slots)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _encode(command: Sequence[Arg]) -> bytes:
    return hiredis.pack_command(tuple(command))  # type: ignore[no-any-return, arg-type]


def raw_pipeline(node: RedisServer, commands: Sequence[Sequence[Arg]]) -> list[Any]:
    """Send ``commands`` to ``node`` on a fresh blocking socket; every reply, in order.

    Error replies are returned as ``hiredis.ReplyError`` values (``MOVED`` included),
    not raised.
    """
    with socket.create_connection(("127.0.0.1", node.port), timeout=10) as sock:
        reader = hiredis.Reader(notEnoughData=_MORE)
        sock.sendall(b"".join(_encode(command) for command in commands))
        replies: list[Any] = []
        while len(replies) < len(commands):
            reply = reader.gets()
            if reply is _MORE:
                data = sock.recv(1 << 16)
                if not data:
                    raise ConnectionError(f"127.0.0.1:{node.port} closed the connection")
                reader.feed(data)
                continue
            replies.append(reply)
        return replies


def reset_stats(cluster: RedisCluster) -> None:
    """``CONFIG RESETSTAT`` on every running node (command and error counters to zero)."""
    for node in cluster.nodes:
        if node.is_running():
            cluster.execute(node, "CONFIG", "RESETSTAT")


def command_stats(cluster: RedisCluster, node: RedisServer, command: str) -> tuple[int, int]:
    """``(calls, rejected_calls)`` of ``command`` (``get``, ``cluster|shards``) on ``node``.

    A command the server refused with a redirect counts in ``rejected_calls``.
    """
    stats = info(cluster.execute(node, "INFO", "commandstats")).get(f"cmdstat_{command}")
    if stats is None:
        return 0, 0
    fields = dict(part.split("=", 1) for part in stats.split(","))
    return int(fields["calls"]), int(fields["rejected_calls"])


def error_count(cluster: RedisCluster, node: RedisServer, code: str) -> int:
    """How many error replies starting with ``code`` (``MOVED``, ``ASK``) ``node`` sent."""
    stats = info(cluster.execute(node, "INFO", "errorstats")).get(f"errorstat_{code}")
    if stats is None:
        return 0
    return int(stats.partition("count=")[2])


def slot_ranges(cluster: RedisCluster) -> dict[int, list[tuple[int, int]]]:
    """``{master port: [(first, last), ...]}`` from ``CLUSTER SLOTS`` on a running master."""
    reply = cluster.execute(cluster.masters()[0], "CLUSTER", "SLOTS")
    ranges: dict[int, list[tuple[int, int]]] = {}
    for first, last, owner, *_ in reply:
        ranges.setdefault(int(owner[1]), []).append((int(first), int(last)))
    return ranges


def values_on_cluster(cluster: RedisCluster, keys: Sequence[str]) -> dict[str, Any]:
    """``GET`` of every key, asked of every running master; the owner's answer per key.

    Each key must be answered by exactly one master (the others say ``MOVED``).
    """
    found: dict[str, Any] = {}
    for master in cluster.masters():
        replies = raw_pipeline(master, [("GET", key) for key in keys])
        for key, reply in zip(keys, replies, strict=True):
            if isinstance(reply, hiredis.ReplyError):
                assert str(reply).startswith("MOVED"), f"GET {key} on {master!r}: {reply}"
                continue
            assert key not in found, f"{key} answered by two masters"
            found[key] = reply
    missing = [key for key in keys if key not in found]
    assert not missing, f"no master answered for {missing[:5]}"
    return found


async def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 5.0) -> float:
    """Poll ``predicate`` (cheap, synchronous) until it holds; the seconds it took.

    Fails (``AssertionError``) after ``timeout`` seconds.
    """
    started = time.monotonic()
    for _ in range(1_000_000):
        if predicate():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            break
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


# -- load with a ledger ------------------------------------------------------------------


@dataclass
class Op:
    """One operation of the load: what, on which key, when, and how it ended."""

    kind: str
    key: str
    value: bytes | None
    started: float
    ended: float
    reply: Any = None
    error: BaseException | None = None


@dataclass
class ClusterLedger:
    """Workers doing ``SET`` (a unique key each time) and ``INCR`` (one counter each).

    Keys spread over every slot (no hash tag). Every operation is recorded
    with its start and end (``time.monotonic()``), its reply or its error, so
    a test can say which writes were acknowledged when, find the error window
    around a fault and the first success after it. Each operation is bounded
    by ``op_bound`` seconds; running past it is recorded as a hang.
    """

    client: ClusterClient
    workers: int
    op_bound: float = 15.0
    tag: str = field(default_factory=lambda: unique_tag("ledger"))
    ops: list[Op] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def counter(self, i: int) -> str:
        """Worker ``i``'s counter key."""
        return f"{self.tag}:n:{i}"

    def start(self) -> None:
        """Start the workers."""
        self._tasks = [asyncio.create_task(self._worker(i)) for i in range(self.workers)]

    async def stop(self, timeout: float = 20.0) -> None:
        """Ask the workers to stop after their current operation; wait (bounded)."""
        self._stop.set()
        async with asyncio.timeout(timeout):
            await asyncio.gather(*self._tasks)

    async def _worker(self, i: int) -> None:
        for j in range(1_000_000):
            if self._stop.is_set():
                return
            if j % 2 == 0:
                key, value = f"{self.tag}:s:{i}:{j}", f"v-{i}-{j}".encode()
                op = Op("SET", key, value, time.monotonic(), 0.0)
                call = self.client.execute("SET", key, value)
            else:
                op = Op("INCR", self.counter(i), None, time.monotonic(), 0.0)
                call = self.client.execute("INCR", op.key)
            try:
                async with asyncio.timeout(self.op_bound):
                    op.reply = await call
            except TimeoutError as exc:
                op.error = AssertionError(f"{op.kind} {op.key} hung for {self.op_bound}s")
                op.error.__cause__ = exc
            except Exception as exc:
                op.error = exc
            op.ended = time.monotonic()
            self.ops.append(op)
            if op.error is not None:
                await asyncio.sleep(0.005)  # no hot loop while the fault lasts

    # -- reading the ledger -----------------------------------------------------------

    def failures(self) -> list[Op]:
        """Operations that raised."""
        return [op for op in self.ops if op.error is not None]

    def acked_sets(self) -> dict[str, Op]:
        """Acknowledged SETs by key."""
        return {op.key: op for op in self.ops if op.kind == "SET" and op.error is None}

    def unknown_sets(self) -> dict[str, Op]:
        """SETs whose outcome is unknown (``OutcomeUnknown``): they may or may not have run."""
        return {
            op.key: op
            for op in self.ops
            if op.kind == "SET" and isinstance(op.error, OutcomeUnknown)
        }

    def incrs(self, i: int) -> list[Op]:
        """Worker ``i``'s INCRs, in the order they ran."""
        key = self.counter(i)
        return [op for op in self.ops if op.kind == "INCR" and op.key == key]
