"""Client-side caching on real servers: no stale read after an invalidation arrived."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest

from aiopool import CacheOptions, CacheStats, Client, ClusterClient, RedisError
from aiopool.testing import FaultProxy, RedisCluster

pytestmark = pytest.mark.timeout(60)

MODES = ["plain", "auto"]


def key(prefix: str = "cache") -> str:
    return f"{prefix}:{uuid.uuid4().hex[:10]}"


def cached(url: str, mode: str = "plain", **options: Any) -> Client:
    options.setdefault("cache", True)
    if mode == "auto":
        options.setdefault("auto_pipeline", True)
        options.setdefault("auto_pipeline_connections", 1)
    return Client.from_url(url, **options)


def stats(client: Client) -> CacheStats:
    got = client.cache_stats()
    assert got is not None
    return got


async def calls(client: Client, command: str) -> int:
    """The server's count of ``command`` calls (INFO commandstats)."""
    info = await client.execute("INFO", "commandstats")
    text = info.decode() if isinstance(info, bytes) else str(info)
    for line in text.splitlines():
        if line.startswith(f"cmdstat_{command}:"):
            return int(line.split("calls=", 1)[1].split(",", 1)[0])
    return 0


async def until(
    check: Callable[[], Awaitable[bool] | bool], what: str, timeout: float = 5.0
) -> None:
    """Poll ``check`` (bounded in count and time) until it holds."""
    deadline = time.monotonic() + timeout
    for _ in range(10_000):
        result = check()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}")


async def barrier(client: Client, mode: str) -> None:
    """Return once every connection of ``client`` has read what the server sent it so far.

    A reply to a command sent now comes after any invalidation the server
    queued for that connection before, so it has been parsed (and handled).
    """
    if mode == "auto":
        await client.ping()  # the one shared connection
        return
    async with AsyncExitStack() as stack:
        size = client.pool.options.max_size
        for _ in range(size):
            conn = await stack.enter_async_context(client.pool.acquire())
            await conn.execute("PING")


# -- options ---------------------------------------------------------------------------------


async def test_cache_implies_protocol_3_and_refuses_protocol_2(redis_url: str) -> None:
    base = redis_url.split("?", 1)[0]
    async with Client.from_url(base, cache=True) as client:
        assert client.pool.connection_options.protocol == 3
        info = await client.execute("CLIENT", "TRACKINGINFO")
        assert b"on" in info[b"flags"]
        assert "cache=<Cache" in repr(client)
    with pytest.raises(ValueError, match=r"cache and protocol=2"):
        Client.from_url(base, cache=True, protocol=2)
    with pytest.raises(ValueError, match=r"cache and protocol=2"):
        Client.from_url(f"{base}?protocol=2", cache=True)
    with pytest.raises(ValueError, match=r"cache and protocol=2"):
        ClusterClient.from_url(base, cache=True, protocol=2)
    with pytest.raises(TypeError, match="option cache takes"):
        Client.from_url(base, cache={"max_entries": 5})
    async with Client.from_url(base) as plain:
        assert plain.cache_stats() is None
        plain.cache_clear()  # a no-op when off


async def test_pubsub_of_a_caching_client_does_not_track(redis_url: str) -> None:
    async with cached(redis_url) as client:
        assert client.pool.connection_options.tracking is False
        await client.get("k")
        assert stats(client).misses == 1


# -- what is served from memory -----------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_hits_do_not_reach_the_server(redis_url: str, mode: str) -> None:
    name = key()
    async with cached(redis_url, mode) as client, Client.from_url(redis_url) as admin:
        await admin.set(name, "v")
        await admin.execute("CONFIG", "RESETSTAT")
        for _ in range(200):
            assert await client.get(name) == b"v"
        assert await calls(admin, "get") == 1
        snapshot = stats(client)
        print(f"\n{mode}: hits={snapshot.hits} misses={snapshot.misses} ratio={snapshot.hit_ratio}")
        assert (snapshot.hits, snapshot.misses, snapshot.entries) == (199, 1, 1)


async def test_hget_of_two_fields_never_share_an_entry(redis_url: str) -> None:
    name = key()
    async with cached(redis_url, decode_responses=True) as client:
        await client.hset(name, mapping={"f1": "one", "f2": "two"})
        for _ in range(3):
            assert await client.hget(name, "f1") == "one"
            assert await client.hget(name, "f2") == "two"
            assert await client.hmget(name, ["f2", "f1"]) == ["two", "one"]
        assert stats(client).entries == 3


async def test_a_reply_mutated_by_its_caller_does_not_change_the_cache(redis_url: str) -> None:
    name = key()
    async with cached(redis_url) as client:
        await client.rpush(name, "a", "b")
        first = await client.lrange(name, 0, -1)
        first.append(b"mine")
        assert await client.lrange(name, 0, -1) == [b"a", b"b"]
        hit = await client.lrange(name, 0, -1)
        hit.clear()
        assert await client.lrange(name, 0, -1) == [b"a", b"b"]


async def test_a_cacheable_command_without_keys_is_not_cached(redis_url: str) -> None:
    async with cached(redis_url) as client:
        for _ in range(2):
            with pytest.raises(RedisError):
                await client.execute("MGET")
        assert (stats(client).entries, stats(client).misses) == (0, 2)


async def test_this_clients_own_write_is_read_back_at_once(redis_url: str) -> None:
    name = key()
    async with cached(redis_url) as client:
        for i in range(50):
            await client.set(name, i)
            assert await client.get(name) == str(i).encode()
            assert await client.get(name) == str(i).encode()
        await client.execute("FLUSHDB")
        assert await client.get(name) is None


async def test_pipelines_bypass_the_cache_and_their_writes_invalidate(redis_url: str) -> None:
    name = key()
    async with cached(redis_url) as client, Client.from_url(redis_url) as admin:
        await admin.set(name, "old")
        assert await client.get(name) == b"old"
        await admin.execute("CONFIG", "RESETSTAT")
        async with client.pipeline(transaction=False) as pipe:
            pipe.get(name)
            assert await pipe.execute() == [b"old"]
        assert await calls(admin, "get") == 1  # the pipeline's GET reached the server
        assert await client.get(name) == b"old"  # cached again
        async with client.pipeline() as pipe:
            pipe.set(name, "new")
            await pipe.execute()
        assert await client.get(name) == b"new"  # dropped locally, at once
        async with client.pipeline(transaction=False) as pipe:
            pipe.set(name, "newer").get(name)
            await pipe.execute()
        assert await client.get(name) == b"newer"


async def _reads(client: Client, name: str, value: bytes) -> bool:
    return bool(await client.get(name) == value)


# -- the race: readers against a writer ---------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_no_reader_gets_an_old_value_once_the_invalidation_arrived(
    redis_url: str, mode: str
) -> None:
    names = [key("race") for _ in range(4)]
    versions = dict.fromkeys(names, 0)  # acknowledged and arrived: reads must not go below
    counts = {"reads": 0, "stale": 0, "errors": 0}
    stop = asyncio.Event()
    async with cached(redis_url, mode, max_size=4) as reader, Client.from_url(redis_url) as writer:
        for name in names:
            await writer.set(name, 0)

        async def read_loop() -> None:
            rng = random.Random()
            for _ in range(200_000):
                if stop.is_set():
                    return
                name = rng.choice(names)
                floor = versions[name]
                if rng.random() < 0.2:
                    other = rng.choice(names)
                    floors = [floor, versions[other]]
                    got = await reader.mget([name, other])
                    values = [int(v) for v in got]
                else:
                    floors = [floor]
                    values = [int(await reader.get(name))]
                counts["reads"] += 1
                counts["stale"] += sum(v < f for v, f in zip(values, floors, strict=True))
                await asyncio.sleep(0)  # a hit never yields to the loop: let the writer run

        readers = [asyncio.create_task(read_loop()) for _ in range(32)]
        try:
            for version in range(1, 301):
                name = names[version % len(names)]
                await writer.set(name, version)  # acknowledged
                await barrier(reader, mode)  # the invalidation reached every reader connection
                versions[name] = version
                if version % 10 == 0:
                    await asyncio.sleep(0)
        finally:
            stop.set()
            await asyncio.gather(*readers)
        snapshot = stats(reader)
    print(
        f"\n{mode}: reads={counts['reads']} stale_after_invalidation={counts['stale']} "
        f"hit_ratio={snapshot.hit_ratio:.3f} invalidations={snapshot.invalidations} "
        f"stale_skips={snapshot.stale_skips}"
    )
    assert counts["reads"] > 1000
    assert snapshot.hits > 0
    assert counts["stale"] == 0


# -- losing the tracking connection ----------------------------------------------------------------


async def test_a_killed_tracking_connection_drops_what_it_read(redis_url: str) -> None:
    name = key()
    async with cached(redis_url, max_size=1) as client, Client.from_url(redis_url) as admin:
        await admin.set(name, "old")
        assert await client.get(name) == b"old"
        async with client.pool.acquire() as conn:
            conn_id = await conn.execute("CLIENT", "ID")
        flushes = stats(client).flushes
        await admin.execute("CLIENT", "KILL", "ID", conn_id)
        await admin.set(name, "new")  # no connection tracks it now: no invalidation
        await until(lambda: stats(client).flushes > flushes, "the client noticing the kill")
        assert stats(client).entries == 0
        assert await client.get(name) == b"new"


async def test_a_killed_connection_drops_only_what_it_read(redis_url: str) -> None:
    on_a, on_b = key(), key()
    async with cached(redis_url, max_size=2) as client, Client.from_url(redis_url) as admin:
        await admin.set(on_a, "a")
        await admin.set(on_b, "b")
        async with client.pool.acquire() as conn_b:  # held: the read goes out on the other
            assert await client.get(on_a) == b"a"
        async with client.pool.acquire() as conn_a:
            a_id = await conn_a.execute("CLIENT", "ID")
            assert await client.get(on_b) == b"b"
        del conn_b
        flushes = stats(client).flushes
        await admin.execute("CLIENT", "KILL", "ID", a_id)
        await admin.set(on_a, "a2")
        await until(lambda: stats(client).flushes > flushes, "the client noticing the kill")
        hits = stats(client).hits
        assert await client.get(on_b) == b"b"  # read on the surviving connection: kept
        assert stats(client).hits == hits + 1
        assert await client.get(on_a) == b"a2"


@pytest.mark.parametrize("fault", ["reset", "blackhole"])
async def test_an_old_value_is_never_served_after_a_reset_or_after_ttl(
    redis_url: str, fault_proxy: FaultProxy, fault: str
) -> None:
    name = key()
    ttl = 1.0
    async with AsyncExitStack() as stack:
        client = await stack.enter_async_context(
            cached(
                fault_proxy.url,
                max_size=1,
                cache=CacheOptions(ttl=ttl),
                command_timeout=0.3,
                connect_timeout=0.3,
            )
        )
        admin = await stack.enter_async_context(Client.from_url(redis_url))
        await admin.set(name, "old")
        assert await client.get(name) == b"old"
        cached_at = time.monotonic()
        flushes = stats(client).flushes
        if fault == "reset":
            fault_proxy.reset_all()
            await admin.set(name, "new")
            await until(lambda: stats(client).flushes > flushes, "the client noticing the reset")
            assert await client.get(name) == b"new"
            return
        fault_proxy.blackhole(drop=True)  # the invalidation is lost on the way
        await admin.set(name, "new")
        served_old_after_ttl = 0
        for _ in range(200):
            now = time.monotonic()
            try:
                value = await client.get(name)
            except RedisError:
                value = None  # the miss after ttl meets the blackhole: an error, never "old"
            if value == b"old" and now - cached_at >= ttl:
                served_old_after_ttl += 1
            if now - cached_at > ttl + 0.5:
                break
            await asyncio.sleep(0.02)
        print(f"\nblackhole: old values served after ttl: {served_old_after_ttl}")
        assert served_old_after_ttl == 0
        fault_proxy.heal()
        await until(lambda: _reads(client, name, b"new"), "a read after heal", timeout=10)


async def test_flushdb_by_another_client_empties_the_cache(redis_url: str) -> None:
    async with cached(redis_url) as client, Client.from_url(redis_url) as admin:
        names = [key() for _ in range(20)]
        for name in names:
            await admin.set(name, "v")
            await client.get(name)
        assert stats(client).entries == 20
        await admin.execute("FLUSHDB")
        await until(lambda: stats(client).entries == 0, "the flush push")
        assert await client.get(names[0]) is None


# -- bounds and cancellation ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_max_entries_and_max_bytes_hold_under_load(redis_url: str, mode: str) -> None:
    limits = CacheOptions(max_entries=50, max_bytes=8_000)
    async with cached(redis_url, mode, cache=limits) as client, Client.from_url(redis_url) as w:
        names = [key("bound") for _ in range(300)]
        for i, name in enumerate(names):
            await w.set(name, "x" * (i % 200))
        worst = {"entries": 0, "bytes": 0}

        async def load(seed: int) -> None:
            rng = random.Random(seed)
            for _ in range(300):
                await client.get(rng.choice(names))
                snapshot = stats(client)
                worst["entries"] = max(worst["entries"], snapshot.entries)
                worst["bytes"] = max(worst["bytes"], snapshot.bytes)
                await asyncio.sleep(0)

        await asyncio.gather(*(load(i) for i in range(20)))
        snapshot = stats(client)
    print(f"\n{mode}: worst={worst} evictions={snapshot.evictions}")
    assert worst["entries"] <= 50
    assert worst["bytes"] <= 8_000
    assert snapshot.evictions > 0


async def test_a_cancelled_miss_leaves_no_placeholder(
    redis_url: str, fault_proxy: FaultProxy
) -> None:
    name = key()
    async with cached(fault_proxy.url) as client, Client.from_url(redis_url) as admin:
        await admin.set(name, "old")
        fault_proxy.latency(0.3)
        task = asyncio.create_task(client.get(name))
        await fault_proxy.wait_for_command("GET")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert stats(client).pending == 0
        fault_proxy.latency(0)
        await admin.set(name, "new")
        assert await client.get(name) == b"new"
        assert await client.get(name) == b"new"
        assert stats(client).hits >= 1


# -- cluster -------------------------------------------------------------------------------------------


@pytest.fixture
async def cluster_client(private_redis_cluster: RedisCluster) -> AsyncIterator[ClusterClient]:
    async with ClusterClient.from_url(private_redis_cluster.startup_url, cache=True) as client:
        yield client


async def test_cluster_caches_per_node_and_drops_a_node_cache_when_its_slot_moves(
    private_redis_cluster: RedisCluster, cluster_client: ClusterClient
) -> None:
    cluster = private_redis_cluster
    names = [f"{{t{i}}}:k" for i in range(6)]
    async with ClusterClient.from_url(cluster.startup_url) as writer:
        for name in names:
            await writer.set(name, "v1")
        for _ in range(3):
            for name in names:
                assert await cluster_client.get(name) == b"v1"
        per_node = cluster_client.cache_stats()
        assert sum(s.entries for s in per_node.values()) == len(names)
        assert sum(s.hits for s in per_node.values()) == 2 * len(names)
        assert len([s for s in per_node.values() if s.entries]) >= 2  # several nodes

        # A cached miss: the key does not exist on its node, then its slot moves away.
        ghost = "{ghost}:k"
        assert await cluster_client.get(ghost) is None
        slot = cluster.slot_of(ghost)
        old = cluster.owner_of(slot)
        target = next(m for m in cluster.masters() if m is not old)
        cluster.move_slot(slot, target)
        await writer.set(ghost, "born elsewhere")
        await cluster_client._topology.refresh(force=True)
        assert await cluster_client.get(ghost) == b"born elsewhere"
        old_address = f"127.0.0.1:{old.port}"
        assert cluster_client.cache_stats()[old_address].flushes >= 1
        # and a write through another client still invalidates on the new owner
        assert await cluster_client.get(ghost) == b"born elsewhere"
        await writer.set(ghost, "v2")
        await until(lambda: _cluster_reads(cluster_client, ghost, b"v2"), "the invalidation")


async def _cluster_reads(client: ClusterClient, name: str, value: bytes) -> bool:
    return bool(await client.get(name) == value)


class _Seen:
    def __init__(self) -> None:
        self.commands: list[tuple[Any, ...]] = []

    def command(self, args: tuple[Any, ...]) -> _Seen:
        self.commands.append(args)
        return self

    def batch(self, name: str, size: int) -> _Seen:
        return self

    def end(self, error: BaseException | None) -> None:
        pass


async def test_an_observed_caching_client_still_caches_and_sees_hits(redis_url: str) -> None:
    name = key()
    async with cached(redis_url) as client:
        seen = _Seen()
        client._observe(seen)
        await client.set(name, "v")
        assert await client.get(name) == b"v"
        assert await client.get(name) == b"v"
        assert len(seen.commands) == 3
        assert (stats(client).hits, stats(client).misses) == (1, 1)
        client._observe(None)
        assert await client.get(name) == b"v"
        assert stats(client).hits == 2
        assert type(client).__name__ == "_CachingClient"


async def test_invalidations_waiting_unread_on_an_idle_connection_do_not_close_it(
    redis_url: str,
) -> None:
    """Pushes the loop has not read yet when a connection is borrowed are read then, not fatal.

    The writer is a blocking socket, so the event loop does not run between
    the write and the next borrow: the invalidation is still in the kernel's
    buffer of the idle tracking connection when the pool hands it out.
    """
    import socket

    host, port = redis_url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    k = key()
    async with cached(redis_url, max_size=1) as client:
        await client.set(k, "v1")
        assert await client.get(k) == b"v1"  # read: tracked on the one connection
        before = stats(client).invalidations
        for round_ in range(5):
            with socket.create_connection((host, int(port)), timeout=5) as writer:
                writer.sendall(f"SET {k} v{round_ + 2}\r\n".encode())
                assert writer.recv(16) == b"+OK\r\n"
            time.sleep(0.05)  # noqa: ASYNC251 (on purpose: the loop must not run)
            assert await client.get(key("other")) is None  # borrows that connection
            assert await client.get(k) == f"v{round_ + 2}".encode()
        assert client.pool.stats().closed == 0
        assert stats(client).invalidations >= before + 5


@pytest.mark.parametrize("mode", MODES)
async def test_concurrent_misses_of_one_read_reach_the_server_once(
    redis_url: str, mode: str
) -> None:
    k = key()
    async with Client.from_url(redis_url) as plain, cached(redis_url, mode) as client:
        await plain.set(k, "v")
        before = await calls(plain, "get")
        got = await asyncio.gather(*(client.get(k) for _ in range(20)))
        assert got == [b"v"] * 20
        assert await calls(plain, "get") == before + 1
        assert (stats(client).hits, stats(client).misses) == (19, 1)


async def test_a_miss_raced_by_this_clients_write_is_not_shared_with_later_readers(
    redis_url: str, fault_proxy: FaultProxy
) -> None:
    k = key()
    async with cached(fault_proxy.url) as client:
        await client.set(k, "v1")
        fault_proxy.latency(0.3)
        first = asyncio.create_task(client.get(k))  # in flight, will answer v1
        await asyncio.sleep(0.05)
        assert await client.set(k, "v2") is True  # ran after that GET on the server
        # Started after the write returned: must see v2, whether or not the
        # first read is still in flight (it is marked stale, never stored).
        assert await client.get(k) == b"v2"
        assert await first == b"v1"
        fault_proxy.latency(0)
        assert await client.get(k) == b"v2"


async def test_a_cancelled_first_miss_lets_the_waiting_ones_read(
    redis_url: str, fault_proxy: FaultProxy
) -> None:
    k = key()
    async with cached(fault_proxy.url, max_size=4) as client:
        await client.set(k, "v")
        fault_proxy.latency(0.2)
        first = asyncio.create_task(client.get(k))
        await asyncio.sleep(0.02)
        waiting = [asyncio.create_task(client.get(k)) for _ in range(3)]
        await asyncio.sleep(0.02)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        assert await asyncio.wait_for(asyncio.gather(*waiting), 5) == [b"v"] * 3
        fault_proxy.latency(0)
        assert await client.get(k) == b"v"
