"""One small async interface over every client the benchmark drives.

An adapter is made per measurement: ``setup(workload)`` opens what the
workload needs (a pool of ``workload.pool_size``, or one bare connection per
task), the task loops call ``commands(task)``, ``pipeline``,
``connect_ping_close`` or ``checkout_get``, and ``teardown()`` closes it all,
so no client's background work runs while another is measured. Third-party
clients live in ``others.py`` and are imported only when they run. A
``Contender`` that is not driven by the task loops (a reference program that
measures itself, ``reference.py``) shares only the naming and probing part.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ClassVar, NamedTuple

from .. import AutoPipelineOptions, Client, ConnectionOptions, Pool, PoolOptions
from .bare import BareConnection, FifoPool
from .target import Target
from .workloads import Recorder, Window, Workload

__all__ = [
    "DEFAULT_AUTO_CONNECTIONS",
    "Adapter",
    "AiopoolAdapter",
    "AiopoolResp3Adapter",
    "AutoPipelineAdapter",
    "AutoPipelineResp3Adapter",
    "BareAdapter",
    "Commands",
    "Contender",
    "has_protocol_option",
    "probe",
]

DEFAULT_AUTO_CONNECTIONS = AutoPipelineOptions().auto_pipeline_connections


class Commands(NamedTuple):
    """A client's own GET and SET, as bound methods awaited directly by the task loops."""

    get: Callable[[str], Awaitable[Any]]
    set: Callable[[str, bytes], Awaitable[Any]]


class Contender(ABC):
    """Anything with a row in the table: a name, a version, and which workloads it runs.

    ``name`` is what ``--clients`` calls it, ``module`` what must import for
    it to run, ``distribution`` the package whose version is reported, and
    ``install`` how to get it. A ``quiet_skips`` contender runs only a few
    workloads by design: its rows for the others stay out of the text table
    (the JSON keeps them).
    """

    name: ClassVar[str]
    module: ClassVar[str]
    distribution: ClassVar[str]
    install: ClassVar[str] = "pip install 'aiopool[bench]'"
    quiet_skips: ClassVar[bool] = False

    def __init__(self, target: Target) -> None:
        self.target = target

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.target.shown}>"

    @classmethod
    def probe(cls) -> tuple[str | None, str | None]:
        """``(version, None)`` when this client can run here, else ``(None, why not)``."""
        try:
            module = importlib.import_module(cls.module)
        except ImportError as exc:
            return None, f"not installed ({exc.name or cls.module}; {cls.install})"
        try:
            return importlib.metadata.version(cls.distribution), None
        except importlib.metadata.PackageNotFoundError:
            return str(getattr(module, "__version__", "?")), None

    def runs(self, workload: Workload) -> bool:
        """False for a workload this contender never runs by design (see ``quiet_skips``)."""
        return True

    def unsupported(self, workload: Workload) -> str | None:
        """Why this client does not run ``workload`` (shown in its row), or None."""
        return None

    def note(self, workload: Workload) -> str:
        """A remark for the row (how the client was configured), or ``""``."""
        return ""


class Adapter(Contender):
    """The interface every client driven by the task loops offers.

    ``checks_out`` is False for a client without a per-command checkout: its
    W6 ``checkout()`` returns the command's end as the "acquired" time, so the
    wait recorded is the whole command's latency and no hold time is kept.
    """

    checks_out: ClassVar[bool] = True

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.target.shown}>"

    def attach(self, window: Window, out: Recorder) -> None:
        """Called before the tasks start, for an adapter that records figures of its own."""

    @abstractmethod
    async def setup(self, workload: Workload) -> None:
        """Open whatever ``workload`` needs; nothing measured yet."""

    @abstractmethod
    async def teardown(self) -> None:
        """Close everything ``setup`` opened."""

    @abstractmethod
    def commands(self, task: int) -> Commands:
        """The GET and SET task number ``task`` uses."""

    @abstractmethod
    async def pipeline(self, task: int, keys: Sequence[str], value: bytes) -> None:
        """One non-transactional pipeline: SET key value, GET key, for each key."""

    @abstractmethod
    async def connect_ping_close(self) -> None:
        """Make a new client, connect it, PING, close it."""

    async def checkout_get(self, key: str) -> tuple[int, int]:
        """Borrow a pooled connection, GET ``key`` on it, give it back.

        Returns ``perf_counter_ns()`` right after the connection was obtained
        and right after it was given back.
        """
        raise NotImplementedError(f"{self.name} has no checkout")

    def checkout(self) -> Callable[[str], Awaitable[tuple[int, int]]]:
        """What the W6 task loops await: ``checkout_get``, or a callable without a wrapper."""
        return self.checkout_get

    def cache_counts(self) -> tuple[int, int] | None:
        """A client-side cache's ``(hits, lookups)`` so far, or None (no cache, no stats).

        Read at both edges of the measured window; never awaits.
        """
        return None


def probe(contender: type[Contender]) -> tuple[str | None, str | None]:
    """``(version, None)`` when ``contender`` can run here, else ``(None, why not)``."""
    return contender.probe()


def has_protocol_option() -> bool:
    """Whether this aiopool's ``ConnectionOptions`` has ``protocol`` (the RESP3 core)."""
    return any(f.name == "protocol" for f in dataclasses.fields(ConnectionOptions))


class AiopoolAdapter(Adapter):
    """This package, through its public API with default options but ``max_size``.

    ``protocol`` (``--protocol``) is ``ConnectionOptions.protocol``: 2 (RESP2)
    or 3 (RESP3, ``HELLO 3`` in the handshake).
    """

    name = "aiopool"
    module = "aiopool"
    distribution = "aiopool"
    default_protocol: ClassVar[int] = 2

    def __init__(self, target: Target, protocol: int | None = None) -> None:
        super().__init__(target)
        self.protocol = self.default_protocol if protocol is None else protocol
        self._client: Client | None = None

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.target.shown} protocol={self.protocol} "
            f"client={self._client!r}>"
        )

    @property
    def options(self) -> ConnectionOptions:
        """The target's connection options with this row's ``protocol``."""
        if self.protocol == 2 and not has_protocol_option():
            return self.target.options
        # By keyword from a dict: before the RESP3 core the field does not exist.
        changes: dict[str, Any] = {"protocol": self.protocol}
        return dataclasses.replace(self.target.options, **changes)

    def unsupported(self, workload: Workload) -> str | None:
        if self.protocol != 2 and not has_protocol_option():
            return "skipped: this aiopool has no protocol option (ConnectionOptions.protocol)"
        return None

    def _protocol_note(self) -> list[str]:
        return [f"protocol={self.protocol}"] if self.protocol != 2 else []

    def note(self, workload: Workload) -> str:
        parts = self._protocol_note()
        if workload.kind == "checkout":
            parts.append("pool.acquire() + conn.execute('GET')")
        elif workload.kind == "connect":
            parts.append("Client + ping() + aclose()")
        elif workload.tasks > workload.pool_size:
            parts.append(f"{workload.tasks} tasks on max_size={workload.pool_size}")
        return ", ".join(parts)

    async def setup(self, workload: Workload) -> None:
        if workload.kind == "connect":
            return
        pool = Pool(self.options, PoolOptions(max_size=workload.pool_size))
        self._client = Client(pool)
        await pool.open()

    async def teardown(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _open(self) -> Client:
        if self._client is None:
            raise RuntimeError("setup() was not called")
        return self._client

    def commands(self, task: int) -> Commands:
        client = self._open()
        return Commands(client.get, client.set)

    async def pipeline(self, task: int, keys: Sequence[str], value: bytes) -> None:
        p = self._open().pipeline(transaction=False)
        for key in keys:
            p.set(key, value)
            p.get(key)
        await p.execute()

    async def connect_ping_close(self) -> None:
        async with Client(Pool(self.options)) as client:
            await client.ping()

    async def checkout_get(self, key: str) -> tuple[int, int]:
        async with self._open().pool.acquire() as conn:
            acquired = time.perf_counter_ns()
            await conn.execute("GET", key)
        return acquired, time.perf_counter_ns()


class AutoPipelineAdapter(AiopoolAdapter):
    """aiopool with ``auto_pipeline=True``: the same pool, commands of all tasks share a few.

    ``connections`` is ``auto_pipeline_connections``. It must stay below
    ``max_size``, so a workload whose pool is not larger (W3's pool of 1) gets
    ``connections + 1`` and says so in its note. There is no checkout to wait
    for: W6 runs ``await client.get(key)`` per task and reports its latency as
    the wait. Pipelines (W2) and new clients (W5) do not auto-pipeline; they
    are the plain ``aiopool`` rows.
    """

    name = "aiopool-auto"
    checks_out = False

    def __init__(
        self,
        target: Target,
        connections: int = DEFAULT_AUTO_CONNECTIONS,
        protocol: int | None = None,
    ) -> None:
        super().__init__(target, protocol)
        self.connections = connections

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.target.shown} protocol={self.protocol} "
            f"connections={self.connections} client={self._client!r}>"
        )

    def unsupported(self, workload: Workload) -> str | None:
        if why := super().unsupported(workload):
            return why
        if workload.kind == "pipeline":
            return "skipped: a pipeline takes a connection of its own (the aiopool row)"
        if workload.kind == "connect":
            return "skipped: nothing to share in connect + PING + close (the aiopool row)"
        return None

    def _max_size(self, workload: Workload) -> int:
        return max(workload.pool_size, self.connections + 1)

    def note(self, workload: Workload) -> str:
        parts = [*self._protocol_note(), f"auto_pipeline_connections={self.connections}"]
        if self._max_size(workload) != workload.pool_size:
            parts.append(f"max_size={self._max_size(workload)} (must exceed it)")
        if workload.kind == "checkout":
            parts.append("no checkout: client.get(), wait = its latency")
        elif workload.tasks > workload.pool_size:
            parts.append(f"{workload.tasks} tasks on max_size={workload.pool_size}")
        return ", ".join(parts)

    async def setup(self, workload: Workload) -> None:
        pool = Pool(self.options, PoolOptions(max_size=self._max_size(workload)))
        auto = AutoPipelineOptions(auto_pipeline=True, auto_pipeline_connections=self.connections)
        self._client = Client(pool, auto)
        await pool.open()

    def checkout(self) -> Callable[[str], Awaitable[tuple[int, int]]]:
        get = self._open().get
        clock = time.perf_counter_ns

        async def timed_get(key: str) -> tuple[int, int]:
            await get(key)
            done = clock()
            return done, done

        return timed_get


class AiopoolResp3Adapter(AiopoolAdapter):
    """The ``aiopool`` row under RESP3, beside the RESP2 one (``--protocol both``)."""

    name = "aiopool-resp3"
    default_protocol = 3

    def __repr__(self) -> str:
        return super().__repr__()


class AutoPipelineResp3Adapter(AutoPipelineAdapter):
    """The ``aiopool-auto`` row under RESP3, beside the RESP2 one (``--protocol both``)."""

    name = "aiopool-auto-resp3"
    default_protocol = 3

    def __repr__(self) -> str:
        return super().__repr__()


class BareAdapter(Adapter):
    """The baseline of ``bare.py``: a connection per task, no pool (a FIFO one for W6)."""

    name = "bare"
    module = "hiredis"
    distribution = "hiredis"

    def __init__(self, target: Target) -> None:
        super().__init__(target)
        self._conns: list[BareConnection] = []
        self._pool: FifoPool | None = None

    def __repr__(self) -> str:
        return f"<BareAdapter {self.target.shown} connections={len(self._conns)}>"

    @staticmethod
    def _pooled(workload: Workload) -> bool:
        # W6, and more tasks than the pool size (W7): the connection limit is
        # the other clients' one, shared through a FIFO hand-over.
        return workload.kind == "checkout" or workload.tasks > workload.pool_size

    def note(self, workload: Workload) -> str:
        if workload.kind == "checkout":
            return f"a FIFO hand-over of {workload.pool_size} bare connections"
        if workload.kind == "connect":
            return "open_connection + PING + close"
        if self._pooled(workload):
            return f"{workload.pool_size} connections (max_size, not one per task), FIFO hand-over"
        return f"{workload.tasks} connection(s), one per task"

    async def setup(self, workload: Workload) -> None:
        if workload.kind == "connect":
            return
        count = workload.pool_size if self._pooled(workload) else workload.tasks
        for _ in range(count):
            self._conns.append(await BareConnection.open(self.target.options))
        if self._pooled(workload):
            self._pool = FifoPool(self._conns)

    async def teardown(self) -> None:
        conns, self._conns, self._pool = self._conns, [], None
        for conn in conns:
            await conn.aclose()

    def commands(self, task: int) -> Commands:
        if self._pool is not None:
            return Commands(self._pool.get, self._pool.set)
        conn = self._conns[task]
        return Commands(conn.get, conn.set)

    async def pipeline(self, task: int, keys: Sequence[str], value: bytes) -> None:
        await self._conns[task].set_get_pipeline(keys, value)

    async def connect_ping_close(self) -> None:
        conn = await BareConnection.open(self.target.options)
        try:
            await conn.execute("PING")
        finally:
            await conn.aclose()

    def checkout(self) -> Callable[[str], Awaitable[tuple[int, int]]]:
        assert self._pool is not None, "setup() was not called for W6"
        return self._pool.checkout_get
