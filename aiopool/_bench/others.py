"""Adapters for the clients ``--compare`` runs aiopool against: redis-py, coredis, valkey-glide.

Each is imported with ``importlib`` when its adapter is set up, so this
module loads (and type-checks) without any of them installed; the ``bench``
extra installs them all. Every client gets its default options except the
connection limit, which is the workload's pool size where the client has one.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Sequence
from typing import Any

from .adapters import Adapter, Commands
from .target import Target
from .workloads import Workload

__all__ = ["CoredisAdapter", "GlideAdapter", "RedisPyAdapter"]


class RedisPyAdapter(Adapter):
    """``redis.asyncio`` (redis-py): ``Redis`` with ``max_connections``; W6, W7 on its blocking pool."""

    name = "redis-py"
    module = "redis.asyncio"
    distribution = "redis"

    def __init__(self, target: Target) -> None:
        super().__init__(target)
        self._lib: Any = None
        self._redis: Any = None
        self._pool: Any = None

    def __repr__(self) -> str:
        return f"<RedisPyAdapter {self.target.shown}>"

    def note(self, workload: Workload) -> str:
        if workload.kind == "checkout" or workload.tasks > workload.pool_size:
            # Its default pool raises "Too many connections" instead of waiting.
            return f"BlockingConnectionPool(max_connections={workload.pool_size})"
        return ""

    async def setup(self, workload: Workload) -> None:
        redis = self._lib = importlib.import_module(self.module)
        if workload.kind == "checkout":
            self._pool = redis.BlockingConnectionPool.from_url(
                self.target.url, max_connections=workload.pool_size, timeout=None
            )
        elif workload.kind == "connect":
            return
        elif workload.tasks > workload.pool_size:
            pool = redis.BlockingConnectionPool.from_url(
                self.target.url, max_connections=workload.pool_size, timeout=None
            )
            self._redis = redis.Redis(connection_pool=pool)
        else:
            self._redis = redis.Redis.from_url(self.target.url, max_connections=workload.pool_size)

    async def teardown(self) -> None:
        if self._redis is not None:
            await self._redis.aclose(close_connection_pool=True)
            self._redis = None
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None

    def commands(self, task: int) -> Commands:
        return Commands(self._redis.get, self._redis.set)

    async def pipeline(self, task: int, keys: Sequence[str], value: bytes) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for key in keys:
            pipe.set(key, value)
            pipe.get(key)
        await pipe.execute()

    async def connect_ping_close(self) -> None:
        client = self._lib.Redis.from_url(self.target.url)
        try:
            await client.ping()
        finally:
            await client.aclose(close_connection_pool=True)

    async def checkout_get(self, key: str) -> tuple[int, int]:
        pool = self._pool
        conn = await pool.get_connection()
        acquired = time.perf_counter_ns()
        try:
            await conn.send_command("GET", key)
            await conn.read_response()
        finally:
            await pool.release(conn)
        return acquired, time.perf_counter_ns()


class CoredisAdapter(Adapter):
    """coredis: ``Redis`` with ``max_connections``, entered and left in the runner's task."""

    name = "coredis"
    module = "coredis"
    distribution = "coredis"

    def __init__(self, target: Target) -> None:
        super().__init__(target)
        self._lib: Any = None
        self._redis: Any = None

    def __repr__(self) -> str:
        return f"<CoredisAdapter {self.target.shown}>"

    def unsupported(self, workload: Workload) -> str | None:
        if workload.kind == "checkout":
            # coredis releases a connection as soon as a request is written (multiplexing).
            return "skipped: multiplexed, no per-command checkout to wait for"
        return None

    async def setup(self, workload: Workload) -> None:
        coredis = self._lib = importlib.import_module(self.module)
        if workload.kind == "connect":
            return
        client = coredis.Redis.from_url(self.target.url, max_connections=workload.pool_size)
        await client.__aenter__()
        self._redis = client

    async def teardown(self) -> None:
        if self._redis is not None:
            client, self._redis = self._redis, None
            await client.__aexit__(None, None, None)

    def commands(self, task: int) -> Commands:
        return Commands(self._redis.get, self._redis.set)

    async def pipeline(self, task: int, keys: Sequence[str], value: bytes) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.set(key, value)
                pipe.get(key)

    async def connect_ping_close(self) -> None:
        async with self._lib.Redis.from_url(self.target.url) as client:
            await client.ping()


class GlideAdapter(Adapter):
    """valkey-glide: one ``GlideClient`` (a single multiplexed connection, a Rust core)."""

    name = "valkey-glide"
    module = "glide"
    distribution = "valkey-glide"

    def __init__(self, target: Target) -> None:
        super().__init__(target)
        self._lib: Any = None
        self._config: Any = None
        self._client: Any = None

    def __repr__(self) -> str:
        return f"<GlideAdapter {self.target.shown}>"

    def unsupported(self, workload: Workload) -> str | None:
        if self.target.options.path is not None:
            return "skipped: the benchmark drives valkey-glide over TCP only"
        if workload.kind == "checkout":
            return "skipped: one multiplexed connection, no pool to wait on"
        return None

    def note(self, workload: Workload) -> str:
        return "" if workload.kind == "connect" else "one multiplexed connection"

    def _configure(self, glide: Any) -> Any:
        opts = self.target.options
        credentials = None
        if opts.password is not None:
            credentials = glide.ServerCredentials(password=opts.password, username=opts.username)
        return glide.GlideClientConfiguration(
            [glide.NodeAddress(opts.host, opts.port)],
            use_tls=bool(opts.ssl),
            credentials=credentials,
            database_id=opts.db or None,
            request_timeout=10_000,
        )

    async def setup(self, workload: Workload) -> None:
        glide = self._lib = importlib.import_module(self.module)
        self._config = self._configure(glide)
        if workload.kind != "connect":
            self._client = await glide.GlideClient.create(self._config)

    async def teardown(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()

    def commands(self, task: int) -> Commands:
        return Commands(self._client.get, self._client.set)

    async def pipeline(self, task: int, keys: Sequence[str], value: bytes) -> None:
        batch = self._lib.Batch(is_atomic=False)
        for key in keys:
            batch.set(key, value)
            batch.get(key)
        await self._client.exec(batch, raise_on_error=True)

    async def connect_ping_close(self) -> None:
        client = await self._lib.GlideClient.create(self._config)
        try:
            await client.ping()
        finally:
            await client.close()
