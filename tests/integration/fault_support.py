"""Helpers for the fault suite (``test_faults.py``): how clients are built, bounded
outcomes, a load generator that keeps a ledger of what the server acknowledged,
and a few fault-making servers.

Imported relatively, as ``pool_support`` is. pytest does not rewrite the asserts of this module, so each
one carries its own message.

**Client modes.** Every fault test builds its clients through the
``make_client`` fixture of ``test_faults.py``, which calls ``build_client``
with the mode under test. A new way of driving the same pool (auto-pipelining)
is one more entry in ``CLIENT_MODES``: its extra options, added to every
client the suite builds.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, TypeVar

from aiopool import (
    AutoPipelineOptions,
    Client,
    CommandTimeout,
    ConnectError,
    ConnectionFailure,
    ConnectionLost,
    OutcomeUnknown,
    PoolOptions,
    PoolStats,
    PoolTimeout,
)
from aiopool.testing import FaultProxy, RedisServer

from .pool_support import admin, assert_balanced
from .pool_support import assert_own_replies as assert_own_byte_replies

__all__ = [
    "CLIENT_MODES",
    "ClientFactory",
    "Ledger",
    "Outcome",
    "assert_at_rest",
    "assert_no_leak",
    "assert_recovered",
    "build_client",
    "fails_within",
    "full_backlog_port",
    "is_auto",
    "no_time_left",
    "outcome_of",
    "proxy_address",
    "server_is_loading",
    "settle",
    "warm_exclusive",
]

T = TypeVar("T")
E = TypeVar("E", bound=BaseException)

# mode -> options every client of that mode gets on top of the test's own.
CLIENT_MODES: Final[dict[str, dict[str, object]]] = {
    "pool": {},
    "auto": {"auto_pipeline": True},
}


class ClientFactory(Protocol):
    """``make_client(url, **options) -> Client``, in the mode under test."""

    def __call__(self, url: str, **options: object) -> Client: ...


def build_client(mode: str, url: str, **options: object) -> Client:
    """A client for ``url`` in ``mode``; the test's ``options`` win over the mode's.

    In a mode with auto-pipelining, unless the test chose
    ``auto_pipeline_connections``, the shared connections are as many as the
    default allows while leaving one of ``max_size`` for exclusive use (a pool
    of 2 shares 1); a pool of 1 has nothing to share and raises ``ValueError``.
    """
    merged = {**CLIENT_MODES[mode], **options}
    if merged.get("auto_pipeline") and "auto_pipeline_connections" not in merged:
        max_size = merged.get("max_size", PoolOptions().max_size)
        assert isinstance(max_size, int), max_size
        default = AutoPipelineOptions().auto_pipeline_connections
        merged["auto_pipeline_connections"] = max(1, min(default, max_size - 1))
    return Client.from_url(url, **merged)


def proxy_address(proxy: FaultProxy) -> str:
    """``host:port`` of the proxy, as aiopool's errors name the server behind it."""
    return f"{proxy.host}:{proxy.port}"


# -- bounded outcomes ------------------------------------------------------------------


@dataclass
class Outcome:
    """What one awaited operation did: its value or its exception, and how long it took."""

    value: Any
    error: BaseException | None
    elapsed: float


async def outcome_of(awaitable: Awaitable[Any], *, bound: float, what: str) -> Outcome:
    """Await ``awaitable`` for at most ``bound`` seconds and return what happened.

    Running past ``bound`` is a hang, and fails the test (``AssertionError``),
    whatever the operation would have done later. Exceptions (``Exception``
    subclasses) are returned, not raised; cancellation propagates.
    """
    started = time.monotonic()
    limit = asyncio.timeout(bound)
    try:
        async with limit:
            value = await awaitable
    except Exception as exc:
        if limit.expired():
            raise AssertionError(f"{what} still running after {bound}s: a hang") from exc
        return Outcome(None, exc, time.monotonic() - started)
    return Outcome(value, None, time.monotonic() - started)


async def fails_within(
    bound: float, expected: type[E], awaitable: Awaitable[Any], what: str
) -> tuple[E, float]:
    """Await ``awaitable``; it must raise ``expected`` within ``bound`` seconds.

    Returns the exception and the time it took.
    """
    result = await outcome_of(awaitable, bound=bound, what=what)
    if result.error is None:
        raise AssertionError(f"{what} returned {result.value!r}; expected {expected.__name__}")
    if not isinstance(result.error, expected):
        raise AssertionError(
            f"{what} raised {type(result.error).__name__}: {result.error}; "
            f"expected {expected.__name__}"
        ) from result.error
    return result.error, result.elapsed


def no_time_left(error: BaseException) -> bool:
    """True for the ``ConnectError`` of a caller whose slot came with no time left of
    ``acquire_timeout`` to make even one attempt (so it has no failure to name)."""
    return "no time left within acquire_timeout" in str(error)


# -- the pool after a fault ---------------------------------------------------------


def is_auto(client: Client) -> bool:
    """True when ``client`` auto-pipelines (a mode of ``CLIENT_MODES`` turned it on)."""
    return client.auto_pipeline_stats() is not None


def _unrest(client: Client, *, released: bool) -> str | None:
    """Why ``client`` is not at rest (``None`` when it is); see ``assert_at_rest``."""
    stats = client.pool.stats()
    auto = client.auto_pipeline_stats()
    if auto is None or released:
        if auto is not None and (auto.connections or stats.shared):
            return f"shared connections not back in the pool: {stats}, {auto}"
        try:
            assert_balanced(client.pool)
        except AssertionError as exc:
            return str(exc)
        return None
    if auto.queued or auto.in_flight or auto.waiting:
        return f"commands queued, in flight or waiting on shared connections: {auto}"
    if stats.shared != auto.connections:
        return f"{auto.connections} shared connection(s) but the pool lent {stats.shared}: {stats}"
    if stats.in_use != stats.shared:
        return f"a connection borrowed besides the shared ones: {stats}"
    if stats.waiting or stats.opening:
        return f"a task waiting or a connection opening: {stats}"
    if stats.size != stats.idle + stats.shared or stats.size > stats.max_size:
        return f"size != idle + shared: {stats}"
    return None


def assert_at_rest(client: Client) -> PoolStats:
    """``assert_balanced`` for the mode of ``client``; return the pool's stats.

    With auto-pipelining, a shared connection stays lent (``in_use``, counted
    in ``stats().shared``) until idle for a moment; it is at rest when nothing
    is queued on it, in flight on it (every reply read, a cancelled caller's
    included) or waiting for room, and nothing else is borrowed.
    """
    problem = _unrest(client, released=False)
    assert problem is None, problem
    return client.pool.stats()


def assert_no_leak(client: Client) -> PoolStats:
    """``assert_at_rest``, and every connection ever opened is open in the pool or closed."""
    stats = assert_at_rest(client)
    assert stats.created - stats.closed == stats.size, (
        f"created - closed != size: a connection neither in the pool nor closed: {stats}"
    )
    return stats


async def settle(client: Client, *, release: bool = False, timeout: float = 3.0) -> PoolStats:
    """Wait (bounded) until ``client`` is at rest, then ``assert_no_leak``.

    With ``release``, auto-pipelining's shared connections must also have gone
    back to the pool (they do once idle for a second), in step with the
    server: the plain pool's ``assert_balanced`` then holds, with nothing lent.
    A no-op wait in the plain pool mode.
    """
    deadline = time.monotonic() + timeout
    while (problem := _unrest(client, released=release)) is not None:
        if time.monotonic() > deadline:
            raise AssertionError(f"not at rest after {timeout}s: {problem}")
        await asyncio.sleep(0.01)
    return assert_no_leak(client)


async def warm_exclusive(client: Client) -> None:
    """With auto-pipelining, open a connection of the pool's own for what is not shared.

    A pipeline (or a retry) then takes that idle connection instead of opening
    one, so a fault armed for "the next reply" hits its command rather than a
    handshake, as in the plain pool mode, where the connection that ran the
    test's first command is the idle one. A no-op in the plain pool mode.
    """
    if is_auto(client):
        assert await client.pipeline(transaction=False).echo("warm").execute() in (
            [b"warm"],
            ["warm"],
        )


async def _own_decoded_replies(client: Client, tasks: int) -> None:
    tag = uuid.uuid4().hex[:8]

    async def one(i: int) -> None:
        key, value = f"own:{tag}:{i}", f"value-{tag}-{i}"
        assert await client.execute("SET", key, value) == "OK", key
        reply = await client.execute("GET", key)
        assert reply == value, f"GET {key}: {reply!r}, expected {value!r}"
        reply = await client.execute("ECHO", f"echo-{i}")
        assert reply == f"echo-{i}", f"ECHO echo-{i}: {reply!r}"

    async with asyncio.timeout(10):
        await asyncio.gather(*(one(i) for i in range(tasks)))


async def assert_recovered(
    client: Client,
    *,
    sockets: Callable[[], int] | None = None,
    tasks: int = 20,
    release: bool = False,
) -> PoolStats:
    """The same pool serves every caller its own replies, and its counts balance.

    ``sockets`` (when given) counts the connections the server side sees,
    such as ``lambda: proxy.connections``; once the pool is at rest it must
    equal the pool's size: no aborted socket lingers, none was leaked.
    ``release``: see ``settle`` (waits about a second with auto-pipelining).
    """
    if client.pool.connection_options.decode_responses:
        await _own_decoded_replies(client, tasks)
    else:
        await assert_own_byte_replies(client, tasks)
    stats = await settle(client, release=release)
    if sockets is not None:
        deadline = time.monotonic() + 3.0
        while sockets() != client.pool.stats().size:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{sockets()} sockets open at the server side for a pool of "
                    f"{client.pool.stats()}"
                )
            await asyncio.sleep(0.005)
    return stats


# -- load with a ledger -------------------------------------------------------------

# Nothing was run: the command was never written, or no connection was had.
NOT_RUN: Final = (ConnectError, PoolTimeout)


@dataclass
class Ledger:
    """Concurrent workers doing SET (unique keys), GET and INCR, and what was acknowledged.

    Each worker ``i`` loops: ``SET <tag>:set:i:j`` to a unique value, ``GET``
    of its latest acknowledged key (which must return that value), and
    ``INCR <tag>:n:i``. Every error is recorded with the operation and its
    duration; ``OutcomeUnknown`` writes are counted apart, since they may or
    may not have run. ``check_server()`` then proves durability: every
    acknowledged SET is there with its value, and each counter lies within
    ``[acked, acked + unknown]`` (exactly ``acked`` when nothing was unknown).
    """

    client: Client
    workers: int
    op_bound: float
    tag: str = field(default_factory=lambda: f"ledger:{uuid.uuid4().hex[:8]}")
    acked_sets: dict[str, bytes] = field(default_factory=dict)
    unknown_sets: dict[str, bytes] = field(default_factory=dict)
    incr_acked: list[int] = field(default_factory=list)
    incr_unknown: list[int] = field(default_factory=list)
    successes: list[int] = field(default_factory=list)
    errors: list[tuple[str, BaseException, float]] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    slowest: float = 0.0
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.incr_acked = [0] * self.workers
        self.incr_unknown = [0] * self.workers
        self.successes = [0] * self.workers

    def counter(self, i: int) -> str:
        return f"{self.tag}:n:{i}"

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._worker(i)) for i in range(self.workers)]

    def mark(self) -> None:
        """Start counting successes afresh (after a fault ended)."""
        self.successes = [0] * self.workers

    def errors_of(self, kind: type[BaseException]) -> list[BaseException]:
        return [exc for _, exc, _ in self.errors if isinstance(exc, kind)]

    async def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        async with asyncio.timeout(timeout):
            await asyncio.gather(*self._tasks)

    async def _worker(self, i: int) -> None:
        last: tuple[str, bytes] | None = None
        deadline = time.monotonic() + 30
        for j in range(1_000_000):
            if self._stop.is_set() or time.monotonic() > deadline:
                return
            step = j % 3
            key, value = f"{self.tag}:set:{i}:{j}", f"v-{i}-{j}".encode()
            args: tuple[str | bytes, ...]
            if step == 0:
                op, args = "SET", ("SET", key, value)
            elif step == 1 and last is not None:
                op, args = "GET", ("GET", last[0])
            else:
                op, args = "INCR", ("INCR", self.counter(i))
            result = await outcome_of(
                self.client.execute(*args), bound=self.op_bound, what=f"{op} of worker {i}"
            )
            self.slowest = max(self.slowest, result.elapsed)
            if result.error is None:
                self.successes[i] += 1
                if op == "SET":
                    if result.value != b"OK":
                        self.wrong.append(f"SET {key}: {result.value!r}")
                    self.acked_sets[key] = value
                    last = (key, value)
                elif op == "GET":
                    assert last is not None
                    if result.value != last[1]:
                        self.wrong.append(f"GET {last[0]}: {result.value!r}, wanted {last[1]!r}")
                elif op == "INCR":
                    self.incr_acked[i] += 1
                    expected_at_least = self.incr_acked[i]
                    ceiling = expected_at_least + self.incr_unknown[i]
                    if not isinstance(result.value, int) or not (
                        expected_at_least <= result.value <= ceiling
                    ):
                        self.wrong.append(
                            f"INCR {self.counter(i)}: {result.value!r} outside "
                            f"[{expected_at_least}, {ceiling}]"
                        )
                continue
            exc = result.error
            self.errors.append((op, exc, result.elapsed))
            if isinstance(exc, OutcomeUnknown):
                if op == "SET":
                    self.unknown_sets[key] = value
                elif op == "INCR":
                    self.incr_unknown[i] += 1
            await asyncio.sleep(0.005)  # no hot loop while the fault lasts

    def check_errors(self, allowed: tuple[type[BaseException], ...], address: str) -> None:
        """Every error is one of ``allowed`` and names ``address``; no wrong reply."""
        assert not self.wrong, f"wrong replies: {self.wrong[:5]}"
        unexpected = [(op, exc) for op, exc, _ in self.errors if not isinstance(exc, allowed)]
        assert not unexpected, f"errors of an unexpected type: {unexpected[:5]!r}"
        unnamed = [(op, exc) for op, exc, _ in self.errors if address not in str(exc)]
        assert not unnamed, f"errors not naming {address}: {unnamed[:5]!r}"
        for _, exc, _ in self.errors:
            if isinstance(exc, ConnectionFailure):
                assert exc.address == address, f"{exc!r} has address {exc.address!r}"
            if isinstance(exc, OutcomeUnknown):
                assert exc.command in ("SET", "GET", "INCR"), f"{exc!r} names {exc.command!r}"
                assert "may or may not have run" in str(exc), str(exc)
            if isinstance(exc, ConnectionLost | CommandTimeout):
                assert isinstance(exc, OutcomeUnknown), repr(exc)

    def check_server(self, server: RedisServer) -> None:
        """Every acknowledged write is on ``server``; counters match the acknowledgements."""
        keys = list(self.acked_sets)
        for start in range(0, len(keys), 500):
            batch = keys[start : start + 500]
            values = admin(server, "MGET", *batch)
            lost = [
                (key, got)
                for key, got in zip(batch, values, strict=True)
                if got != self.acked_sets[key]
            ]
            assert not lost, f"acknowledged SETs missing or changed: {lost[:5]}"
        if self.unknown_sets:
            keys = list(self.unknown_sets)
            values = admin(server, "MGET", *keys)
            odd = [
                (key, got)
                for key, got in zip(keys, values, strict=True)
                if got not in (None, self.unknown_sets[key])
            ]
            assert not odd, f"SETs of unknown outcome hold another value: {odd[:5]}"
        counters = admin(server, "MGET", *(self.counter(i) for i in range(self.workers)))
        for i, raw in enumerate(counters):
            count = int(raw or 0)
            low, high = self.incr_acked[i], self.incr_acked[i] + self.incr_unknown[i]
            assert low <= count <= high, (
                f"counter {i} is {count}: acked {low}, unknown {self.incr_unknown[i]}"
            )


# -- servers that misbehave ---------------------------------------------------------


def server_is_loading(server: RedisServer) -> bool:
    """True when ``server`` listens and answers PING with ``-LOADING`` (outside any pool)."""
    try:
        with socket.create_connection((server.host, server.port), timeout=0.2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"-LOADING")
    except OSError:
        return False


@contextlib.contextmanager
def full_backlog_port() -> Iterator[int]:
    """A loopback port whose listener never accepts and whose backlog is full.

    A new connection then gets no SYN-ACK at all: ``connect()`` hangs in
    SYN-SENT (the kernel drops SYNs while the accept queue is full), unlike a
    server that accepts and never answers.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = int(listener.getsockname()[1])
        for _ in range(3):  # the accept queue holds backlog + 1; the rest wait in SYN-SENT
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            fillers.append(filler)
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
