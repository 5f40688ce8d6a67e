"""Code written the way redis-py users write it, run unchanged on aiopool.

Each ``app_*`` function below is written for ``redis.asyncio`` (lists of
keys, dict messages, ``setex``, ``zrevrange``, ``geoadd``/``geosearch``,
``lock``, ``watch``/``multi``, ``except`` clauses with redis-py's names); only
the client they are given comes from aiopool. They run on a ``Client`` and,
with keys sharing a hash tag, on a ``ClusterClient``. The app of
docs/migrating-from-redis-py.md is here too, as written there.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

import aiopool
from aiopool.exceptions import DataError, LockError, ResponseError, WatchError
from aiopool.testing import RedisCluster

from .redis_py_style_app import make_app


@pytest.fixture(params=["client", "cluster"])
async def r(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """A ``Client`` on the shared server, or a ``ClusterClient`` on the shared cluster."""
    if request.param == "client":
        url = request.getfixturevalue("redis_url")
        async with aiopool.Client.from_url(url, decode_responses=True) as client:
            yield client
    else:
        cluster: RedisCluster = request.getfixturevalue("redis_cluster")
        async with aiopool.ClusterClient.from_url(cluster.startup_url, decode_responses=True) as rc:
            yield rc


def k(name: str) -> str:
    """A key in the test's own hash slot: ``{tag}name`` (one slot for every key of a test)."""
    return f"{{{TAG}}}{name}"


TAG = uuid.uuid4().hex[:8]


# -- what redis-py apps do every day -----------------------------------------------------


async def app_sessions(r: Any) -> None:
    await r.setex(k("session:1"), 3600, "alice")
    await r.setex(k("session:2"), timedelta(hours=1), "bob")
    assert await r.mget([k("session:1"), k("session:2"), k("session:3")]) == [
        "alice",
        "bob",
        None,
    ]
    assert 3500 < await r.ttl(k("session:1")) <= 3600
    assert await r.setnx(k("session:1"), "mallory") is False
    assert await r.getset(k("session:2"), "carol") == "bob"
    assert await r.delete(*[k("session:1"), k("session:2")]) == 2
    assert await r.exists(k("session:1")) == 0
    assert await r.incr(k("hits"), amount=5) == 5
    assert await r.type(k("hits")) == "string"


async def app_leaderboard(r: Any) -> None:
    board = k("board")
    await r.zadd(board, {"ann": 30, "bo": 10, "cy": 20})
    await r.zincrby(board, 15, "bo")
    assert await r.zrevrange(board, 0, 1, withscores=True) == [("ann", 30.0), ("bo", 25.0)]
    assert await r.zrangebyscore(board, 15, "+inf") == ["cy", "bo", "ann"]
    assert await r.zrange(board, 0, 0, desc=True) == ["ann"]
    assert await r.zscore(board, "cy") == 20.0
    assert await r.zrevrank(board, "cy") == 2


async def app_places(r: Any) -> None:
    places = k("places")
    await r.geoadd(places, [13.361389, 38.115556, "Palermo", 15.087269, 37.502669, "Catania"])
    distance = await r.geodist(places, "Palermo", "Catania", unit="km")
    assert 166 < distance < 167
    near = await r.geosearch(
        places, longitude=15, latitude=37, radius=200, unit="km", withdist=True, sort="ASC"
    )
    assert [name for name, _ in near] == ["Catania", "Palermo"]


async def app_profile(r: Any) -> None:
    user = k("user:1")
    await r.hset(user, mapping={"name": "ann", "visits": 0})
    await r.hset(user, "plan", "pro")
    await r.hincrby(user, "visits", 1)
    assert await r.hgetall(user) == {"name": "ann", "visits": "1", "plan": "pro"}
    assert await r.hmget(user, "name", "plan") == ["ann", "pro"]
    assert await r.hmget(user, ["name", "nope"]) == ["ann", None]


async def app_queue(r: Any) -> None:
    jobs, done = k("jobs"), k("done")
    await r.rpush(jobs, "a", "b", "c")
    assert await r.blpop([jobs], timeout=1) == (jobs, "a")
    assert await r.rpoplpush(jobs, done) == "c"
    assert await r.lrange(done, 0, -1) == ["c"]
    assert await r.lindex(jobs, "0") == "b"
    assert await r.blpop([k("empty")], timeout=0.1) is None


async def app_pipeline(r: Any) -> None:
    async with r.pipeline() as pipe:
        assert pipe  # always true, as redis-py's, even empty
        assert await pipe.set(k("p:a"), "1") is pipe  # awaiting a queued command: the pipeline
        pipe.incr(k("p:a"))
        pipe.get(k("p:a"))
        assert await pipe.execute() == [True, 2, "2"]


async def app_errors(r: Any) -> None:
    await r.set(k("str"), "x")
    message = ""
    try:
        await r.lpush(k("str"), "y")
    except ResponseError as exc:
        message = str(exc)
    assert "WRONGTYPE" in message
    with pytest.raises(DataError):
        await r.set(k("none"), None)


async def app_lock(r: Any) -> None:
    counter = k("counter")
    await r.set(counter, 0)

    async def worker() -> None:
        for _ in range(5):
            async with r.lock(k("lock"), timeout=5, blocking_timeout=5):
                value = int(await r.get(counter))
                await asyncio.sleep(0)
                await r.set(counter, value + 1)

    await asyncio.gather(*(worker() for _ in range(8)))
    assert await r.get(counter) == "40"
    held = r.lock(k("held"), timeout=5)
    assert await held.acquire()
    with pytest.raises(LockError):
        async with r.lock(k("held"), blocking_timeout=0.1):
            pass
    await held.release()


async def app_scripts(r: Any) -> None:
    assert await r.eval("return {KEYS[1], ARGV[1]}", 1, k("a"), "x") == [k("a"), "x"]
    assert await r.eval("return #KEYS", 2, k("a"), k("b")) == 2
    sha = await r.script_load("return ARGV[1]")
    assert await r.evalsha(sha, 0, "hi") == "hi"
    assert await r.eval_ro("return ARGV[1]", 0, "ro") == "ro"


async def app_checkout(r: Any) -> None:
    cart, orders, n = k("cart"), k("orders"), k("n")
    await r.hset(cart, mapping={"apple": 2})
    async with r.pipeline(transaction=True) as pipe:
        await pipe.watch(cart)
        items = await pipe.hgetall(cart)  # runs now, on the watched connection
        pipe.multi()
        pipe.rpush(orders, str(sorted(items.items())))
        pipe.delete(cart)
        assert await pipe.execute() == [1, 1]
    assert await r.lrange(orders, 0, -1) == ["[('apple', '2')]"]

    async def bump(pipe: Any) -> None:
        value = int(await pipe.get(n) or 0)
        pipe.multi()
        pipe.set(n, value + 1)

    assert await r.transaction(bump, n) == [True]
    assert await r.transaction(bump, n) == [True]
    assert await r.get(n) == "2"

    async def read_then_bump(pipe: Any) -> int:
        value = int(await pipe.get(n))
        pipe.multi()
        pipe.set(n, value + 1)
        return value + 1

    assert await r.transaction(read_then_bump, n, value_from_callable=True, watch_delay=0) == 3
    with pytest.raises(ValueError, match="watch_delay"):
        await r.transaction(read_then_bump, n, watch_delay=-1)


@pytest.mark.parametrize(
    "app",
    [
        app_sessions,
        app_leaderboard,
        app_places,
        app_profile,
        app_queue,
        app_pipeline,
        app_errors,
        app_lock,
        app_scripts,
        app_checkout,
    ],
    ids=lambda f: f.__name__,
)
async def test_redis_py_code_runs_unchanged(r: Any, app: Any) -> None:
    await app(r)


# -- pub/sub, as redis-py's docs write it ------------------------------------------------


async def test_a_redis_py_pubsub_loop_runs_unchanged(r: Any) -> None:
    pubsub = r.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe("news")
    received: list[Any] = []

    async def reader() -> None:
        async for message in pubsub.listen():
            if message["type"] == "message":
                received.append(message["data"])
                if message["data"] == "stop":
                    break

    task = asyncio.create_task(reader())
    for _ in range(50):  # bounded: wait until the subscription reaches the publisher's node
        if await r.publish("news", "hello"):
            break
        await asyncio.sleep(0.05)
    await r.publish("news", "stop")
    await asyncio.wait_for(task, 5)
    assert received[-1] == "stop"
    assert "hello" in received
    await pubsub.aclose()


# -- the migration guide's app, as written there (a Client: its transaction spans keys) -----


async def test_the_migration_guide_app_runs_as_written(redis_url: str) -> None:
    app = make_app(redis_url)
    r = app["r"]
    async with r:
        assert await app["add_to_cart"]("ann", "apple") == 1
        assert await app["add_to_cart"]("ann", "apple") == 2
        watcher = asyncio.create_task(app["watch_carts"]())
        await asyncio.sleep(0.1)
        await app["add_to_cart"]("ann", "pear")
        assert await app["checkout"]("ann") is True
        assert await app["checkout"]("ann") is False  # the cart is gone
        assert await r.lrange("orders", 0, -1) == ["ann:[('apple', '2'), ('pear', '1')]"]
        watcher.cancel()
        with pytest.raises(asyncio.CancelledError):
            await watcher
        assert WatchError is aiopool.WatchError
