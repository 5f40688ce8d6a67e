"""Auto-pipelining against real ``redis-server`` processes.

What each test checks is read from outside the client where it can be: the
server's ``CLIENT LIST`` / ``CLIENT ID`` / ``INFO commandstats`` (through
``pool_support``'s blocking sockets), the ``FaultProxy``'s count of forwarded
commands, and the values stored. Faults: ``RedisServer.pause()`` (SIGSTOP),
``CLIENT PAUSE WRITE`` plus ``CLIENT KILL`` (a shared connection killed with
commands in flight that the server has not run), and the proxy's
``latency()`` / ``blackhole()`` / ``reset_all()``. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from aiopool import (
    AuthenticationError,
    AutoPipelineStats,
    Client,
    CommandTimeout,
    ConnectError,
    ConnectionLost,
    NoScriptError,
    OutcomeUnknown,
    Pipeline,
    PoolClosed,
    PoolTimeout,
    ProtocolError,
    ReplyError,
)
from aiopool.testing import FaultProxy, RedisServer

from .pool_support import (
    address,
    admin,
    blocked_ids,
    client_ids,
    clients_named,
    free_port,
    unique_name,
    wait_until,
)

pytestmark = pytest.mark.timeout(30)


def auto_client(url: str, **options: Any) -> Client:
    """A client with auto-pipelining on; ``options`` as for ``Client.from_url``."""
    return Client.from_url(url, auto_pipeline=True, **options)


def ap(client: Client) -> AutoPipelineStats:
    stats = client.auto_pipeline_stats()
    assert stats is not None, "auto-pipelining is off"
    return stats


def command_calls(server: RedisServer, command: str) -> int:
    """How many times ``server`` ran ``command`` (``get``, ``client|id``), per INFO commandstats."""
    text: bytes = admin(server, "INFO", "commandstats")
    for line in text.decode().splitlines():
        if line.startswith(f"cmdstat_{command}:"):
            fields = dict(part.split("=", 1) for part in line.split(":", 1)[1].split(","))
            return int(fields["calls"])
    return 0


@contextlib.contextmanager
def paused(server: RedisServer) -> Iterator[None]:
    """SIGSTOP ``server`` for the duration of the block; it is resumed whatever happens."""
    server.pause()
    try:
        yield
    finally:
        server.resume()


@contextlib.contextmanager
def writes_paused(server: RedisServer) -> Iterator[None]:
    """``CLIENT PAUSE WRITE``: a connection that sends a write blocks there, reads still run."""
    admin(server, "CLIENT", "PAUSE", 20_000, "WRITE")
    try:
        yield
    finally:
        admin(server, "CLIENT", "UNPAUSE")


async def settled(tasks: list[asyncio.Task[Any]], bound: float) -> list[Any]:
    """Every task's result or exception, within ``bound`` seconds (a hang fails the test)."""
    async with asyncio.timeout(bound):
        return await asyncio.gather(*tasks, return_exceptions=True)


@pytest.fixture
async def proxy(redis_server: RedisServer, redis_url: str) -> AsyncIterator[FaultProxy]:
    """A ``FaultProxy`` in front of the shared server, flushed first (``redis_url``)."""
    async with FaultProxy(redis_server.host, redis_server.port) as fault_proxy:
        yield fault_proxy


# -- batching ---------------------------------------------------------------------------


async def test_concurrent_commands_share_at_most_the_configured_connections_in_few_writes(
    private_redis_server: RedisServer,
) -> None:
    server = private_redis_server
    name = unique_name("ap-batch")
    callers = 300
    async with auto_client(
        server.url, client_name=name, auto_pipeline_connections=2, max_size=10
    ) as c:

        async def one(i: int) -> int:
            key, value = f"batch:{i}", f"value-{i}-{uuid.uuid4().hex}"
            assert await c.set(key, value) is True
            assert await c.get(key) == value.encode(), key
            return await c.client_id()

        async with asyncio.timeout(10):
            ids = await asyncio.gather(*(one(i) for i in range(callers)))
        stats = ap(c)
        pool = c.pool.stats()
        listed = client_ids(server, name)

    # Server side: every command ran on one of at most two connections, all this client's.
    assert 1 <= len(set(ids)) <= 2, set(ids)
    assert set(ids) == listed, (set(ids), listed)
    assert pool.created == len(listed), pool
    assert command_calls(server, "set") == callers
    assert command_calls(server, "get") == callers
    assert command_calls(server, "client|id") == callers
    # Client side: every command written, many to a write.
    assert stats.commands == 3 * callers, stats
    assert stats.writes * 10 <= stats.commands, f"mean batch below 10: {stats}"
    assert stats.queued == stats.in_flight == stats.waiting == stats.full == stats.timeouts == 0


@pytest.mark.parametrize("decode", [False, True], ids=["bytes", "decoded"])
async def test_every_caller_gets_exactly_its_own_reply(redis_url: str, decode: bool) -> None:
    tag = uuid.uuid4().hex[:8]

    def text(value: str) -> Any:
        return value if decode else value.encode()

    async with auto_client(
        redis_url, decode_responses=decode, auto_pipeline_connections=3, max_size=5
    ) as c:
        await c.set(f"{tag}:string", "not a list")

        async def one(i: int) -> None:
            key = f"{tag}:{i}"
            value = f"välue-{i}-✓" if decode else f"value-{i}"
            assert await c.set(key, value) is True
            assert await c.get(key) == text(value), key
            assert await c.incrby(f"{key}:n", i) == i
            assert await c.hset(f"{key}:h", mapping={"i": i, "tag": tag}) == 2
            assert await c.hgetall(f"{key}:h") == {text("i"): text(str(i)), text("tag"): text(tag)}
            assert await c.rpush(f"{key}:l", "a", i) == 2
            assert await c.lrange(f"{key}:l", 0, -1) == [text("a"), text(str(i))]
            assert await c.echo(f"echo-{i}") == text(f"echo-{i}")
            assert await c.get(f"{key}:missing") is None
            if i % 10 == 0:
                # An error reply goes to its own caller, and to no one else.
                with pytest.raises(ReplyError) as caught:
                    await c.execute("LPUSH", f"{tag}:string", i)
                assert caught.value.code == "WRONGTYPE"

        async with asyncio.timeout(10):
            await asyncio.gather(*(one(i) for i in range(200)))
        stats = ap(c)
    assert stats.commands == 1 + 200 * 9 + 20, stats  # the error replies' LPUSHes too
    assert stats.writes < stats.commands / 5, stats


async def test_binary_values_come_back_byte_for_byte(redis_url: str) -> None:
    async with auto_client(redis_url) as c:
        values = {
            f"bin:{i}": bytes(range(256)) * (i + 1) + i.to_bytes(2, "big") for i in range(100)
        }

        async def one(key: str, value: bytes) -> None:
            assert await c.set(key, value) is True
            assert await c.get(key) == value, key

        async with asyncio.timeout(10):
            await asyncio.gather(*(one(k, v) for k, v in values.items()))


async def test_large_values_interleaved_with_small_commands_keep_their_replies(
    redis_url: str,
) -> None:
    big = 300 * 1024  # past the size at which a shared connection writes at once
    async with auto_client(redis_url, auto_pipeline_connections=2, max_size=4) as c:

        async def large(i: int) -> None:
            value = bytes([i]) * big
            assert await c.set(f"big:{i}", value) is True
            assert await c.get(f"big:{i}") == value, i

        async def small(i: int) -> None:
            assert await c.echo(f"small-{i}") == f"small-{i}".encode()

        async with asyncio.timeout(15):
            await asyncio.gather(*(large(i) for i in range(20)), *(small(i) for i in range(300)))
        stats = ap(c)
    assert stats.commands == 20 * 2 + 300, stats


async def test_each_tasks_sequential_commands_run_in_the_order_it_sent_them(
    redis_url: str,
) -> None:
    async with auto_client(redis_url, auto_pipeline_connections=2, max_size=4) as c:

        async def worker(i: int) -> list[int]:
            replies = []
            for j in range(40):
                replies.append(await c.rpush(f"seq:{i}", j))
            return replies

        async with asyncio.timeout(10):
            replies = await asyncio.gather(*(worker(i) for i in range(50)))
        for i in range(50):
            assert replies[i] == list(range(1, 41)), i
            assert await c.lrange(f"seq:{i}", 0, -1) == [str(j).encode() for j in range(40)]
        assert ap(c).writes < ap(c).commands, "the workers' commands were never batched"


# -- what keeps a connection of its own --------------------------------------------------


async def test_blpop_blocks_only_its_own_connection_while_shared_commands_complete(
    redis_server: RedisServer, redis_url: str
) -> None:
    name = unique_name("ap-blpop")
    async with auto_client(redis_url, client_name=name, max_size=4) as c:
        await c.mset({f"g:{i}": i for i in range(500)})
        blpop = asyncio.create_task(c.blpop("jobs", 2))
        await wait_until(lambda: len(blocked_ids(redis_server, name)) == 1, "BLPOP to block")
        before = ap(c).commands
        async with asyncio.timeout(5):
            got = await asyncio.gather(*(c.get(f"g:{i}") for i in range(500)))
        assert got == [str(i).encode() for i in range(500)]
        assert not blpop.done(), "BLPOP returned before anything was pushed"
        assert len(blocked_ids(redis_server, name)) == 1
        assert ap(c).commands - before == 500, "the GETs did not run on the shared connections"
        blocked = {int(e["id"]) for e in clients_named(redis_server, name) if e["cmd"] == "blpop"}
        assert blocked == blocked_ids(redis_server, name)
        assert await c.rpush("jobs", "work") == 1
        async with asyncio.timeout(5):
            assert await blpop == (b"jobs", b"work")


BLOCKING = [
    ("BLPOP", "{b}l", "0.01"),
    ("BRPOP", "{b}l", "0.01"),
    ("BRPOPLPUSH", "{b}l", "{b}m", "0.01"),
    ("BLMOVE", "{b}l", "{b}m", "LEFT", "RIGHT", "0.01"),
    ("BLMPOP", "0.01", "1", "{b}l", "LEFT"),
    ("BZPOPMIN", "{b}z", "0.01"),
    ("BZPOPMAX", "{b}z", "0.01"),
    ("BZMPOP", "0.01", "1", "{b}z", "MIN"),
    ("WAIT", "0", "10"),
    ("XREAD", "COUNT", "1", "STREAMS", "{b}s", "0"),
    ("XREAD", "BLOCK", "10", "STREAMS", "{b}s", "$"),
    ("blpop", "{b}l", "0.01"),
    (b"BLPOP", "{b}l", "0.01"),
]


@pytest.mark.parametrize("args", BLOCKING, ids=lambda args: " ".join(map(str, args[:2])))
async def test_blocking_commands_run_on_an_exclusive_connection(
    redis_url: str, args: tuple[Any, ...]
) -> None:
    async with auto_client(redis_url, max_size=4) as c:
        await c.ping()
        before, borrowed = ap(c).commands, c.pool.stats().acquired
        reply = await c.execute(*args)
        assert reply in (None, 0), reply
        assert ap(c).commands == before, "a blocking command went through a shared connection"
        assert c.pool.stats().acquired == borrowed + 1


async def test_blocking_command_named_by_a_memoryview_keeps_a_connection_of_its_own(
    redis_url: str,
) -> None:
    async with auto_client(redis_url, auto_pipeline_connections=1, max_size=3) as c:
        await c.ping()
        before = ap(c).commands
        blpop = asyncio.create_task(c.execute(memoryview(b"BLPOP"), "mv:jobs", 1))
        await asyncio.sleep(0.05)
        async with asyncio.timeout(5):
            assert await c.echo("not blocked") == b"not blocked"
        pending = not blpop.done()
        async with asyncio.timeout(5):
            assert await blpop is None
        assert pending, "the ECHO waited behind the BLPOP on the shared connection"
        assert ap(c).commands == before + 1, "the BLPOP went through a shared connection"


async def test_pipelines_and_transactions_run_on_their_own_connection_under_load(
    redis_url: str,
) -> None:
    async with auto_client(redis_url, max_size=4) as c:
        stop = asyncio.Event()

        async def load(i: int) -> int:
            done = 0
            for j in range(100_000):
                if stop.is_set():
                    break
                assert await c.echo(f"{i}-{j}") == f"{i}-{j}".encode()
                done += 1
            return done

        loaders = [asyncio.create_task(load(i)) for i in range(20)]
        try:
            await wait_until(lambda: ap(c).commands > 200, "shared load")
            async with c.pipeline(transaction=False) as p:
                p.set("p:a", 1).incr("p:a").get("p:a").command("ECHO", "piped")
                assert await p.execute() == [True, 2, b"2", b"piped"]
            async with c.pipeline(transaction=True) as t:
                t.incr("t:n").incr("t:n").get("t:n")
                assert await t.execute() == [1, 2, b"2"]
            results = await c.transaction(lambda p: _queue_incr(p, "t:m"), "t:m")
            assert results == [1]
        finally:
            stop.set()
            async with asyncio.timeout(5):
                counts = await asyncio.gather(*loaders)
        assert sum(counts) == ap(c).commands, "only the ECHOs went through shared connections"


async def _queue_incr(p: Pipeline, key: str) -> None:
    p.incr(key)


async def test_a_watched_key_changed_through_the_shared_connection_retries_the_transaction(
    redis_url: str,
) -> None:
    async with auto_client(redis_url, max_size=4) as c:
        await c.set("balance", 100)
        attempts = 0

        async def transfer(p: Pipeline) -> None:
            nonlocal attempts
            attempts += 1
            balance = int(await p.immediate.get("balance"))
            if attempts == 1:
                assert await c.incrby("balance", 5) == 105  # on a shared connection
            p.set("balance", balance - 10).incrby("spent", 10)

        before = ap(c).commands
        async with asyncio.timeout(5):
            assert await c.transaction(transfer, "balance") == [True, 10]
        assert attempts == 2, "the change made on the shared connection was not seen by WATCH"
        assert await c.get("balance") == b"95"
        # The INCRBY was shared; the GETs of `immediate` ran on the watched connection.
        assert ap(c).commands - before == 2


async def test_pubsub_receives_what_the_auto_pipelined_client_publishes(redis_url: str) -> None:
    async with auto_client(redis_url) as c, c.pubsub() as ps:
        await ps.subscribe("news")
        assert await c.publish("news", "hello") == 1
        message = await ps.get_message(timeout=2)
        assert message is not None
        assert (message.type, message.channel, message.data) == ("message", b"news", b"hello")
        replies = await asyncio.gather(*(c.publish("news", f"m{i}") for i in range(50)))
        assert replies == [1] * 50
        got = []
        for _ in range(50):
            message = await ps.get_message(timeout=2)
            assert message is not None
            got.append(message.data)
        # Concurrent publishers on two shared connections: no order between them.
        assert sorted(got) == sorted(f"m{i}".encode() for i in range(50))


async def test_scripts_reload_after_noscript_for_every_concurrent_caller(redis_url: str) -> None:
    async with auto_client(redis_url) as c:
        script = c.register_script("return {KEYS[1], ARGV[1]}")
        assert await c.script_flush() is True
        async with asyncio.timeout(10):
            replies = await asyncio.gather(
                *(script(keys=[f"sk:{i}"], args=[f"sa:{i}"]) for i in range(100))
            )
        assert replies == [[f"sk:{i}".encode(), f"sa:{i}".encode()] for i in range(100)]
        with pytest.raises(NoScriptError):
            await c.evalsha("0" * 40, [], [])
        assert await c.eval("return ARGV[1] + 1", [], [41]) == 42


# -- back-pressure ------------------------------------------------------------------------


async def test_callers_beyond_max_pending_wait_their_turn_and_all_succeed(redis_url: str) -> None:
    async with auto_client(
        redis_url, auto_pipeline_connections=1, auto_pipeline_max_pending=4, max_size=3
    ) as c:
        loads: list[int] = []
        waiting: list[int] = []
        stop = asyncio.Event()

        async def sample() -> None:
            for _ in range(1_000_000):
                stats = ap(c)
                loads.append(stats.in_flight + stats.queued)
                waiting.append(stats.waiting)
                if stop.is_set():
                    return
                await asyncio.sleep(0)

        async def one(i: int) -> int:
            assert await c.set(f"bp:{i}", i) is True
            return await c.incr(f"bp:{i}")

        sampler = asyncio.create_task(sample())
        try:
            async with asyncio.timeout(10):
                results = await asyncio.gather(*(one(i) for i in range(200)))
        finally:
            stop.set()
            async with asyncio.timeout(5):
                await sampler
        stats = ap(c)
        created = c.pool.stats().created
    assert results == [i + 1 for i in range(200)]
    assert max(loads) == 4, f"the cap of 4 was exceeded or never reached: max {max(loads)}"
    assert max(waiting) > 0, "no caller ever waited for room"
    assert stats.commands == 400, stats
    assert stats.commands <= 4 * stats.writes, f"a write carried more than 4 commands: {stats}"
    assert stats.full == 0, stats
    assert created == 1


async def test_waiting_for_room_on_a_frozen_server_raises_pool_timeout_naming_max_pending(
    private_redis_server: RedisServer,
) -> None:
    server = private_redis_server
    admin(server, "MSET", *(x for i in range(10) for x in (f"k{i}", f"v{i}")))
    async with auto_client(
        server.url,
        auto_pipeline_connections=1,
        auto_pipeline_max_pending=4,
        max_size=3,
        acquire_timeout=0.5,
        command_timeout=10.0,
    ) as c:
        await c.ping()
        with paused(server):
            started = time.monotonic()
            tasks = [asyncio.create_task(c.get(f"k{i}")) for i in range(10)]
            await wait_until(
                lambda: ap(c).in_flight == 4 and ap(c).waiting == 6, "4 in flight, 6 waiting"
            )
            late = await settled(tasks[4:], bound=5)
            elapsed = time.monotonic() - started
            stats = ap(c)
            assert not any(task.done() for task in tasks[:4]), "an in-flight GET ended"
        for error in late:
            assert isinstance(error, PoolTimeout), repr(error)
            message = str(error)
            assert "auto_pipeline_max_pending=4" in message
            assert "acquire_timeout=0.5s" in message
            assert "GET" in message
            assert address(server) in message
        assert 0.45 <= elapsed < 4, elapsed
        assert (stats.full, stats.waiting, stats.in_flight) == (6, 0, 4), stats
        early = await settled(tasks[:4], bound=5)
        assert early == [f"v{i}".encode() for i in range(4)]
        assert await c.get("k9") == b"v9"


# -- timeouts -----------------------------------------------------------------------------


async def test_each_command_on_a_frozen_server_times_out_at_its_own_deadline(
    private_redis_server: RedisServer,
) -> None:
    server = private_redis_server
    admin(server, "MSET", *(x for i in range(10) for x in (f"k{i}", f"v{i}")))
    timeout = 0.6
    async with auto_client(
        server.url, auto_pipeline_connections=1, max_size=3, command_timeout=timeout
    ) as c:
        await c.ping()
        ended: dict[int, float] = {}

        async def get(i: int) -> Any:
            try:
                return await c.get(f"k{i}")
            finally:
                ended[i] = time.monotonic()

        with paused(server):
            first_at = time.monotonic()
            first = [asyncio.create_task(get(i)) for i in range(5)]
            await asyncio.sleep(0.3)
            second_at = time.monotonic()
            second = [asyncio.create_task(get(i)) for i in range(5, 10)]
            errors = await settled(first + second, bound=5)
            stats = ap(c)
        for i, error in enumerate(errors):
            assert isinstance(error, CommandTimeout), repr(error)
            assert isinstance(error, OutcomeUnknown)
            assert error.command == "GET"
            assert f"within {timeout}s (command_timeout)" in str(error)
            assert address(server) in str(error)
            since = ended[i] - (first_at if i < 5 else second_at)
            assert timeout - 0.05 <= since < timeout + 1.0, (i, since)
        assert min(ended[i] for i in range(5, 10)) > max(ended[i] for i in range(5)), (
            "the later commands did not get deadlines of their own"
        )
        assert stats.timeouts == 10, stats
        # Nobody waits for the replies it owes: the shared connection was aborted.
        await wait_until(lambda: c.pool.stats().closed == 1, "the shared connection aborted")
        async with asyncio.timeout(5):
            replies = await asyncio.gather(*(c.get(f"k{i}") for i in range(10)))
        assert replies == [f"v{i}".encode() for i in range(10)]


async def test_replies_owed_after_a_timeout_go_to_their_own_callers_and_the_connection_is_kept(
    private_redis_server: RedisServer,
) -> None:
    server = private_redis_server
    admin(server, "MSET", *(x for i in range(10) for x in (f"k{i}", f"v{i}")))
    async with auto_client(
        server.url, auto_pipeline_connections=1, max_size=3, command_timeout=1.0
    ) as c:
        await c.ping()
        with paused(server):
            first = [asyncio.create_task(c.get(f"k{i}")) for i in range(5)]
            await asyncio.sleep(0.4)
            second = [asyncio.create_task(c.get(f"k{i}")) for i in range(5, 10)]
            timed_out = await settled(first, bound=5)
            assert all(isinstance(e, CommandTimeout) for e in timed_out), timed_out
            assert not any(task.done() for task in second), "the later GETs ended early"
        # Resumed before the later GETs' deadline: the first five replies are read
        # and dropped, the next five reach their callers.
        assert await settled(second, bound=5) == [f"v{i}".encode() for i in range(5, 10)]
        assert ap(c).timeouts == 5
        await wait_until(lambda: c.pool.stats().shared == 0, "the retired connection back")
        pool = c.pool.stats()
        assert (pool.created, pool.closed, pool.idle) == (1, 0, 1), pool
        async with asyncio.timeout(5):
            replies = await asyncio.gather(*(c.echo(f"after-{i}") for i in range(20)))
        assert replies == [f"after-{i}".encode() for i in range(20)]
        assert c.pool.stats().created == 1, "the kept connection was not reused"


# -- cancellation ---------------------------------------------------------------------------


async def test_a_caller_cancelled_before_the_write_never_sends_its_command(
    proxy: FaultProxy,
) -> None:
    async with auto_client(proxy.url, auto_pipeline_connections=1, max_size=3) as c:
        await c.ping()
        task = asyncio.create_task(c.incr("never"))
        await asyncio.sleep(0)  # the INCR is queued for the end of this turn
        assert ap(c).queued == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await c.echo("after") == b"after"
        assert proxy.command_count("INCR") == 0, "the cancelled INCR was written"
        assert await c.get("never") is None
        assert ap(c).commands == 3  # PING, ECHO, GET


async def test_a_caller_cancelled_after_the_write_leaves_its_reply_to_be_dropped(
    proxy: FaultProxy,
) -> None:
    async with auto_client(proxy.url, auto_pipeline_connections=1, max_size=3) as c:
        await c.mset({"k1": "v1", "k2": "v2"})
        proxy.latency(0.2)
        first = asyncio.create_task(c.get("k1"))
        await proxy.wait_for_command("GET")
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        assert ap(c).in_flight == 1, "the cancelled GET's reply is still owed"
        # The next caller on the same connection reads its own reply, not k1's.
        async with asyncio.timeout(5):
            assert await c.get("k2") == b"v2"
        proxy.latency(0)
        replies = await asyncio.gather(*(c.echo(f"e{i}") for i in range(20)))
        assert replies == [f"e{i}".encode() for i in range(20)]
        pool = c.pool.stats()
        assert (pool.created, pool.closed) == (1, 0), f"the shared connection was replaced: {pool}"


async def test_callers_cancelled_at_random_points_never_see_another_callers_reply(
    proxy: FaultProxy,
) -> None:
    rng = random.Random(7)
    keys = 200
    async with auto_client(
        proxy.url,
        auto_pipeline_connections=2,
        auto_pipeline_max_pending=64,
        max_size=4,
        command_timeout=0.5,
    ) as c:
        await c.mset({f"own:{k}": f"v{k}" for k in range(keys)})
        wrong: list[str] = []
        counts = {"ok": 0, "cancelled": 0, "timeout": 0}

        async def worker(w: int) -> None:
            for j in range(60):
                k = (w * 37 + j) % keys
                try:
                    async with asyncio.timeout(rng.uniform(0.0002, 0.02)):
                        reply = await c.get(f"own:{k}")
                except TimeoutError:
                    counts["cancelled"] += 1
                    continue
                except CommandTimeout:
                    counts["timeout"] += 1
                    continue
                counts["ok"] += 1
                if reply != f"v{k}".encode():
                    wrong.append(f"GET own:{k} -> {reply!r}")

        async def weather() -> None:
            for _ in range(200):
                proxy.latency(rng.choice([0, 0, 0.002, 0.01]))
                await asyncio.sleep(0.01)

        async with asyncio.timeout(20):
            weather_task = asyncio.create_task(weather())
            await asyncio.gather(*(worker(w) for w in range(40)))
            weather_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await weather_task
        proxy.latency(0)
        assert not wrong, wrong[:5]
        assert counts["ok"] > 0, counts
        assert counts["cancelled"] > 0, counts
        replies = await asyncio.gather(*(c.get(f"own:{k}") for k in range(keys)))
        assert replies == [f"v{k}".encode() for k in range(keys)]
        await wait_until(lambda: c.pool.stats().shared == 0, "the shared connections back", 5)
        pool = c.pool.stats()
        assert pool.in_use == 0, pool
        assert pool.created - pool.closed == pool.size, pool
        assert ap(c).in_flight == ap(c).queued == ap(c).waiting == 0


# -- a shared connection that breaks ---------------------------------------------------------


@pytest.mark.parametrize("retry", [0, 1])
async def test_killed_shared_connection_fails_what_it_carried_and_moves_what_it_did_not(
    private_redis_server: RedisServer, retry: int
) -> None:
    server = private_redis_server
    name = unique_name("ap-kill")
    admin(server, "MSET", *(x for i in range(5) for x in (f"k{i}", f"v{i}")))
    async with auto_client(
        server.url,
        client_name=name,
        auto_pipeline_connections=1,
        auto_pipeline_max_pending=6,
        max_size=4,
        retry_safe_commands=retry,
    ) as c:
        await c.ping()
        (shared_id,) = client_ids(server, name)
        with writes_paused(server):
            carried = [asyncio.create_task(c.incr("counter"))]
            carried += [asyncio.create_task(c.get(f"k{i}")) for i in range(5)]
            held = [asyncio.create_task(c.echo(f"held-{i}")) for i in range(4)]
            await wait_until(
                lambda: ap(c).in_flight == 6 and ap(c).waiting == 4, "6 in flight, 4 waiting"
            )
            await wait_until(
                lambda: shared_id in blocked_ids(server, name), "the INCR blocked on the server"
            )
            assert admin(server, "CLIENT", "KILL", "ID", shared_id) == 1
            outcomes = await settled(carried + held, bound=5)
        incr, gets, echoes = outcomes[0], outcomes[1:6], outcomes[6:]
        assert isinstance(incr, ConnectionLost), repr(incr)
        assert isinstance(incr, OutcomeUnknown)
        assert incr.command == "INCR"
        assert incr.address == address(server)
        assert "may or may not have run" in str(incr)
        if retry:
            assert gets == [f"v{i}".encode() for i in range(5)], "GETs were not repeated"
        else:
            for error in gets:
                assert isinstance(error, ConnectionLost), repr(error)
                assert error.command == "GET"
        assert echoes == [f"held-{i}".encode() for i in range(4)]
        # The INCR never ran (the server held it) and was not repeated.
        assert admin(server, "GET", "counter") is None
        assert await c.incr("counter") == 1
        assert shared_id not in client_ids(server, name)


@pytest.mark.parametrize("retry", [0, 1])
async def test_reset_after_the_server_ran_the_commands_repeats_a_get_but_never_an_incr(
    redis_server: RedisServer, proxy: FaultProxy, retry: int
) -> None:
    admin(redis_server, "SET", "key", "value")
    async with auto_client(
        proxy.url, auto_pipeline_connections=1, max_size=3, retry_safe_commands=retry
    ) as c:
        await c.ping()
        proxy.latency(10)  # replies wait in the proxy; requests go straight through
        incr = asyncio.create_task(c.incr("counter"))
        get = asyncio.create_task(c.get("key"))
        await proxy.wait_for_command("GET", count=1)
        await wait_until(lambda: admin(redis_server, "GET", "counter") == b"1", "INCR to run")
        proxy.latency(0)
        proxy.reset_all()
        incr_outcome, get_outcome = await settled([incr, get], bound=5)
    assert isinstance(incr_outcome, ConnectionLost), repr(incr_outcome)
    assert incr_outcome.command == "INCR"
    assert proxy.command_count("INCR") == 1, "the INCR was repeated"
    assert admin(redis_server, "GET", "counter") == b"1", "the INCR ran other than once"
    if retry:
        assert get_outcome == b"value"
        assert proxy.command_count("GET") == 2
    else:
        assert isinstance(get_outcome, ConnectionLost), repr(get_outcome)
        assert get_outcome.command == "GET"
        assert proxy.command_count("GET") == 1


async def test_commands_queued_behind_a_stalled_write_move_to_a_new_connection_when_it_breaks(
    proxy: FaultProxy,
) -> None:
    big = b"x" * (32 << 20)  # far more than the kernel buffers: the write stalls
    async with auto_client(proxy.url, auto_pipeline_connections=1, max_size=3) as c:
        await c.mset({f"k{i}": f"v{i}" for i in range(5)})
        proxy.blackhole()  # held: the proxy stops reading
        stalled = asyncio.create_task(c.set("big", big))
        await wait_until(lambda: ap(c).in_flight == 1, "the big SET written")
        gets = [asyncio.create_task(c.get(f"k{i}")) for i in range(5)]
        await wait_until(lambda: ap(c).queued == 5, "the GETs queued behind the stalled write")
        proxy.reset_all()
        proxy.heal()
        outcomes = await settled([stalled, *gets], bound=10)
    assert isinstance(outcomes[0], ConnectionLost), repr(outcomes[0])
    assert outcomes[0].command == "SET"
    assert outcomes[1:] == [f"v{i}".encode() for i in range(5)]
    assert proxy.command_count("GET") == 5, "a GET was sent twice"


async def test_a_garbled_reply_fails_its_command_and_the_rest_in_flight_by_the_retry_rules(
    proxy: FaultProxy,
) -> None:
    async with auto_client(
        proxy.url, auto_pipeline_connections=1, max_size=4, retry_safe_commands=1
    ) as c:
        await c.mset({"a": "1", "b": "2"})
        proxy.latency(0.1)  # all three replies arrive in one chunk, after all three are sent
        tasks = [
            asyncio.create_task(c.get("a")),
            asyncio.create_task(c.get("b")),
            asyncio.create_task(c.incr("n")),
        ]
        await wait_until(lambda: ap(c).in_flight == 3, "three in flight")
        proxy.garble_next_reply()
        first, second, incr = await settled(tasks, bound=5)
        assert isinstance(first, ProtocolError), repr(first)
        assert "GET" in str(first)
        assert f"{proxy.host}:{proxy.port}" in str(first)
        assert second == b"2", "a GET after the garbled reply was not repeated"
        assert isinstance(incr, ConnectionLost), repr(incr)
        assert "invalid reply to an earlier command" in str(incr)
        assert proxy.command_count("INCR") == 1
        proxy.latency(0)
        assert await c.get("n") == b"1"
        assert await c.echo("fine") == b"fine"


async def test_failure_to_connect_reaches_every_queued_caller(redis_url: str) -> None:
    port = free_port()
    async with auto_client(
        f"redis://127.0.0.1:{port}/0",
        max_size=3,
        acquire_timeout=0.3,
        connect_timeout=0.2,
    ) as c:
        tasks = [asyncio.create_task(c.get(f"k{i}")) for i in range(5)]
        errors = await settled(tasks, bound=5)
        for error in errors:
            assert isinstance(error, ConnectError), repr(error)
            assert f"127.0.0.1:{port}" in str(error)
            assert error.address == f"127.0.0.1:{port}"
        assert len({id(error) for error in errors}) == 5, "callers share one exception object"
        assert ap(c).connections == 0
        assert c.pool.stats().in_use == 0


async def test_wrong_password_reaches_every_queued_caller() -> None:
    with RedisServer(password="right-password") as server:
        url = f"redis://:wrong-password@127.0.0.1:{server.port}/0"
        async with auto_client(url, max_size=3, acquire_timeout=2) as c:
            errors = await settled([asyncio.create_task(c.ping()) for _ in range(5)], bound=5)
        for error in errors:
            assert isinstance(error, AuthenticationError), repr(error)
            assert "wrong-password" not in str(error)


async def test_shared_connection_waiting_for_a_pool_slot_fails_with_pool_timeout(
    redis_url: str,
) -> None:
    async with auto_client(
        redis_url, auto_pipeline_connections=1, max_size=2, acquire_timeout=0.3
    ) as c:
        blockers = [asyncio.create_task(c.blpop(f"hold:{i}", 3)) for i in range(2)]
        await wait_until(lambda: c.pool.stats().in_use == 2, "both connections held")
        errors = await settled([asyncio.create_task(c.get(f"k{i}")) for i in range(3)], bound=5)
        for error in errors:
            assert isinstance(error, PoolTimeout), repr(error)
            assert "max_size=2" in str(error)
        assert c.pool.stats().in_use == 2
        assert ap(c).connections == 0
        async with Client.from_url(redis_url) as other:
            await other.rpush("hold:0", "x")
            await other.rpush("hold:1", "y")
        assert await settled(blockers, bound=5) == [(b"hold:0", b"x"), (b"hold:1", b"y")]
        assert await c.get("hold:0") is None


# -- linger -----------------------------------------------------------------------------


async def test_shared_connections_go_back_to_the_pool_once_idle(redis_url: str) -> None:
    async with auto_client(redis_url, auto_pipeline_connections=2, max_size=4) as c:
        async with asyncio.timeout(5):
            await asyncio.gather(*(c.incr(f"linger:{i}") for i in range(200)))
        lent = c.pool.stats()
        assert (lent.shared, lent.in_use) == (2, 2), lent
        stopped = time.monotonic()
        await wait_until(lambda: c.pool.stats().shared == 0, "the connections back", timeout=3)
        back_after = time.monotonic() - stopped
        pool = c.pool.stats()
        assert (pool.in_use, pool.idle, pool.closed) == (0, 2, 0), pool
        assert ap(c).connections == 0
        assert back_after >= 0.9, f"given back after {back_after:.2f}s, before the 1 s linger"
        assert pool.oldest_held == 0.0
        assert await c.get("linger:7") == b"1"
        again = c.pool.stats()
        assert (again.shared, again.created) == (1, 2), again


async def test_a_connection_in_steady_use_is_kept_while_commands_keep_coming(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="aiopool")
    async with auto_client(
        redis_url, auto_pipeline_connections=1, max_size=3, leak_detection_threshold=0.3
    ) as c:
        ids = set()
        started = time.monotonic()
        for _ in range(40):
            ids.add(await c.client_id())
            assert c.pool.stats().shared == 1
            if time.monotonic() - started > 1.6:
                break
            await asyncio.sleep(0.2)
        assert time.monotonic() - started > 1.6, "the loop ended early"
        assert len(ids) == 1, f"the shared connection was replaced: {ids}"
        assert c.pool.stats().created == 1
        assert c.pool.stats().oldest_held == 0.0, "a shared connection counts as held"
        leaks = [r.getMessage() for r in caplog.records if "leak_detection" in r.getMessage()]
        assert not leaks, f"the shared connection was reported as a leak: {leaks}"
        # The detector is on: a connection a task holds too long is reported.
        async with c.pool.acquire():
            await asyncio.sleep(0.4)
    leaks = [r.getMessage() for r in caplog.records if "leak_detection" in r.getMessage()]
    assert len(leaks) == 1, leaks
    assert "borrowed by task" in leaks[0], leaks


async def test_max_lifetime_recycles_a_shared_connection_in_steady_use(redis_url: str) -> None:
    async with auto_client(
        redis_url, auto_pipeline_connections=1, max_size=3, max_lifetime=0.3
    ) as c:
        ids = set()
        started = time.monotonic()
        for _ in range(100):
            ids.add(await c.client_id())
            if len(ids) > 1 or time.monotonic() - started > 1.2:
                break
            await asyncio.sleep(0.05)
        # Without auto-pipelining the same loop sees a new connection every 0.3 s.
        assert len(ids) > 1, f"one connection served {time.monotonic() - started:.1f}s"


# -- closing ----------------------------------------------------------------------------


async def test_aclose_lets_commands_in_flight_finish_and_fails_those_waiting_for_room(
    proxy: FaultProxy,
) -> None:
    c = auto_client(proxy.url, auto_pipeline_connections=1, auto_pipeline_max_pending=4, max_size=3)
    async with c:
        await c.mset({f"k{i}": f"v{i}" for i in range(10)})
        proxy.latency(0.3)
        tasks = [asyncio.create_task(c.get(f"k{i}")) for i in range(10)]
        await wait_until(lambda: ap(c).in_flight == 4 and ap(c).waiting == 6, "4 + 6")
    # `async with` closed the client: the four in flight got their replies.
    outcomes = await settled(tasks, bound=5)
    assert outcomes[:4] == [f"v{i}".encode() for i in range(4)]
    for error in outcomes[4:]:
        assert isinstance(error, PoolClosed), repr(error)
        assert "waited for room" in str(error)
    assert proxy.command_count("GET") == 4, "a GET waiting for room was sent"
    with pytest.raises(PoolClosed):
        await c.get("k0")
    with pytest.raises(PoolClosed):
        await c.execute("ECHO", "x")
    assert c.pool.stats().size == 0


async def test_aclose_fails_commands_queued_for_a_connection_the_pool_never_lent(
    redis_url: str,
) -> None:
    c = auto_client(
        redis_url, auto_pipeline_connections=1, max_size=2, close_timeout=0.3, acquire_timeout=10
    )
    async with c:
        blockers = [asyncio.create_task(c.blpop(f"hold:{i}", 2)) for i in range(2)]
        await wait_until(lambda: c.pool.stats().in_use == 2, "both connections held")
        tasks = [asyncio.create_task(c.get(f"k{i}")) for i in range(3)]
        await wait_until(lambda: ap(c).queued == 3, "three GETs queued on an opening connection")
        async with asyncio.timeout(8):
            await c.aclose()
    for error in await settled(tasks, bound=5):
        assert isinstance(error, PoolClosed), repr(error)
    await settled(blockers, bound=5)


async def test_aclose_aborts_commands_still_in_flight_after_close_timeout(
    proxy: FaultProxy,
) -> None:
    c = auto_client(proxy.url, auto_pipeline_connections=1, max_size=3, close_timeout=0.3)
    async with c:
        await c.ping()
        proxy.blackhole()
        tasks = [asyncio.create_task(c.echo(f"e{i}")) for i in range(5)]
        await wait_until(lambda: ap(c).in_flight == 5, "5 in flight")
        closing = time.monotonic()
        async with asyncio.timeout(5):
            await c.aclose()
        took = time.monotonic() - closing
    errors = await settled(tasks, bound=5)
    for error in errors:
        assert isinstance(error, ConnectionLost), repr(error)
        assert error.command == "ECHO"
        assert error.address == f"{proxy.host}:{proxy.port}"
        assert "close_timeout=0.3s ran out" in str(error)
    assert 0.25 <= took < 3, took
    with pytest.raises(PoolClosed):
        await c.ping()
