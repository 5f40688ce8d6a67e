"""The client-side cache rows of W8: aiopool, coredis and valkey-glide with their caches on.

Each runs W8 only (its rows for W1-W7 stay out of the text table) and reports
the share of reads its cache served in the measured window, from the
client's own counters: aiopool's ``client.cache_stats()``, coredis's
``CacheStats`` of its ``LRUCache``, valkey-glide's cache metrics. Each cache is
big enough for all of W8's keys and has no time-to-live, so only
invalidations (and, for concurrent misses, timing) cost hits. redis-py's
asyncio client has no client-side cache: its W8 row is the uncached one.
"""

from __future__ import annotations

import importlib
from typing import Any

import aiopool

from .. import Client
from .adapters import DEFAULT_AUTO_CONNECTIONS, AiopoolAdapter
from .others import CoredisAdapter, GlideAdapter
from .target import Target
from .workloads import Workload

__all__ = [
    "AiopoolCacheAdapter",
    "AutoPipelineCacheAdapter",
    "CoredisCacheAdapter",
    "GlideCacheAdapter",
    "has_aiopool_cache",
]

W8_ONLY = "skipped: a client-side cache row, for W8 only"
# Room for every W8 key many times over: no evictions in the measurement.
CACHE_ENTRIES = 10_000
GLIDE_CACHE_KB = 16 * 1024


def has_aiopool_cache() -> bool:
    """Whether this aiopool has the client-side cache (``aiopool.CacheOptions``)."""
    return hasattr(aiopool, "CacheOptions")


def _runs(workload: Workload) -> bool:
    return workload.kind == "zipf"


class AiopoolCacheAdapter(AiopoolAdapter):
    """``Client.from_url(url, protocol=3, cache=True, max_size=...)``: tracking, a local cache.

    Skipped, with the reason, when this aiopool has no ``CacheOptions`` (or no
    ``protocol`` option): the cache needs RESP3's invalidation push frames.
    """

    name = "aiopool-cache"
    default_protocol = 3
    quiet_skips = True

    def __repr__(self) -> str:
        return super().__repr__()

    def runs(self, workload: Workload) -> bool:
        return _runs(workload)

    def unsupported(self, workload: Workload) -> str | None:
        if not self.runs(workload):
            return W8_ONLY
        if not has_aiopool_cache():
            return "skipped: this aiopool has no client-side cache (aiopool.CacheOptions)"
        return super().unsupported(workload)

    def note(self, workload: Workload) -> str:
        return "protocol=3, cache=True"

    def _extra(self, workload: Workload) -> dict[str, object]:
        return {"max_size": workload.pool_size}

    async def setup(self, workload: Workload) -> None:
        client = Client.from_url(
            self.target.url, protocol=self.protocol, cache=True, **self._extra(workload)
        )
        self._client = client
        await client.pool.open()

    def cache_counts(self) -> tuple[int, int] | None:
        stats: Any = self._open().cache_stats()  # type: ignore[attr-defined,unused-ignore]
        return stats.hits, stats.hits + stats.misses


class AutoPipelineCacheAdapter(AiopoolCacheAdapter):
    """The cache row with ``auto_pipeline=True``: misses share a few connections."""

    name = "aiopool-cache-auto"

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
            f"<AutoPipelineCacheAdapter {self.target.shown} connections={self.connections} "
            f"client={self._client!r}>"
        )

    def _max_size(self, workload: Workload) -> int:
        return max(workload.pool_size, self.connections + 1)

    def note(self, workload: Workload) -> str:
        return f"protocol=3, cache=True, auto_pipeline_connections={self.connections}"

    def _extra(self, workload: Workload) -> dict[str, object]:
        return {
            "max_size": self._max_size(workload),
            "auto_pipeline": True,
            "auto_pipeline_connections": self.connections,
        }


class CoredisCacheAdapter(CoredisAdapter):
    """coredis with ``cache=LRUCache(...)``: RESP3 tracking on a connection of its own."""

    name = "coredis-cache"
    quiet_skips = True

    def __init__(self, target: Target) -> None:
        super().__init__(target)
        self._cache: Any = None

    def __repr__(self) -> str:
        return f"<CoredisCacheAdapter {self.target.shown}>"

    def runs(self, workload: Workload) -> bool:
        return _runs(workload)

    def unsupported(self, workload: Workload) -> str | None:
        return None if self.runs(workload) else W8_ONLY

    def note(self, workload: Workload) -> str:
        return f"cache=LRUCache(max_keys={CACHE_ENTRIES})"

    async def setup(self, workload: Workload) -> None:
        coredis = self._lib = importlib.import_module(self.module)
        caches = importlib.import_module("coredis.patterns.cache")
        self._cache = caches.LRUCache(max_keys=CACHE_ENTRIES)
        client = coredis.Redis.from_url(
            self.target.url, max_connections=workload.pool_size, cache=self._cache
        )
        await client.__aenter__()
        self._redis = client

    def cache_counts(self) -> tuple[int, int] | None:
        summary = self._cache.stats.summary  # a property
        return summary["hits"], summary["hits"] + summary["misses"]


class GlideCacheAdapter(GlideAdapter):
    """valkey-glide with ``ClientSideCache(server_assisted=True)`` (tracking in BCAST mode).

    A valkey-glide whose Python API has no ``ClientSideCache`` runs uncached
    and says so in the row.
    """

    name = "valkey-glide-cache"
    quiet_skips = True

    def __repr__(self) -> str:
        return f"<GlideCacheAdapter {self.target.shown}>"

    @staticmethod
    def _has_cache() -> bool:
        try:
            glide = importlib.import_module(GlideAdapter.module)
        except ImportError:
            return False
        return hasattr(glide, "ClientSideCache")

    def runs(self, workload: Workload) -> bool:
        return _runs(workload)

    def unsupported(self, workload: Workload) -> str | None:
        return super().unsupported(workload) if self.runs(workload) else W8_ONLY

    def note(self, workload: Workload) -> str:
        if not self._has_cache():
            return "one multiplexed connection; no cache in its Python API: uncached"
        return (
            "one multiplexed connection, ClientSideCache(server_assisted=True, "
            f"max_cache_kb={GLIDE_CACHE_KB}, entry_ttl_ms=0)"
        )

    def _configure(self, glide: Any) -> Any:
        config = super()._configure(glide)
        if hasattr(glide, "ClientSideCache"):
            config.client_side_cache = glide.ClientSideCache.create(
                max_cache_kb=GLIDE_CACHE_KB,
                entry_ttl_ms=0,
                enable_metrics=True,
                server_assisted=True,
            )
        return config

    def cache_counts(self) -> tuple[int, int] | None:
        if self._client is None or self._config.client_side_cache is None:
            return None
        lookups = int(self._client.get_cache_total_lookups())
        return round(self._client.get_cache_hit_rate() * lookups), lookups
