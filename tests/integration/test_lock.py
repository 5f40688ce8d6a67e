"""``client.lock()`` against a real ``redis-server``: redis-py's ``Lock`` contract, and the
cancellation story (a cancelled acquire or holder never leaves the lock held).

What a test checks on the server is read with a second client that does not go
through the lock (``r``, or the cluster kit's own sockets).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from aiopool import (
    Client,
    ClusterClient,
    ConnectionFailure,
    ConnectionLost,
    Lock,
    LockError,
    LockNotOwnedError,
    RedisError,
    ReplyError,
)
from aiopool.testing import FaultProxy, RedisCluster, RedisServer

from .cluster_support import unique_tag


async def wait_gone(client: Client, key: str, within: float = 5.0) -> None:
    """Poll until ``key`` no longer exists (it expires), at most ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while await client.exists(key):
        assert loop.time() < deadline, f"{key} still exists after {within}s"
        await asyncio.sleep(0.01)


async def bump(client: Client | ClusterClient, lock: Lock | None, counter: str) -> None:
    """A read-modify-write that loses updates unless something serialises it."""

    async def step() -> None:
        value = int(await client.get(counter) or 0)
        await asyncio.sleep(0)  # let every other task read the same value
        await client.set(counter, value + 1)

    if lock is None:
        await step()
        return
    async with lock:
        await step()


# -- mutual exclusion ----------------------------------------------------------------------


async def test_fifty_tasks_serialise_a_read_modify_write(r: Client) -> None:
    locks = [
        r.lock("lock:counter", timeout=10, sleep=0.002, blocking_timeout=20) for _ in range(50)
    ]
    await asyncio.gather(*(bump(r, lock, "counter") for lock in locks))
    assert await r.get("counter") == b"50"
    assert await r.exists("lock:counter") == 0
    stats = r.pool.stats()
    assert (stats.in_use, stats.waiting) == (0, 0)
    # The same tasks without the lock lose updates: the test above has teeth.
    await asyncio.gather(*(bump(r, None, "unlocked") for _ in range(50)))
    assert int(await r.get("unlocked") or 0) < 50


async def test_a_blocking_acquire_gets_the_lock_once_the_holder_releases(r: Client) -> None:
    holder = r.lock("lk", timeout=10)
    assert await holder.acquire(blocking=False) is True
    waiter = r.lock("lk", sleep=0.01)
    waiting = asyncio.create_task(waiter.acquire(blocking_timeout=5))
    await asyncio.sleep(0.1)
    assert not waiting.done()
    await holder.release()
    assert await asyncio.wait_for(waiting, 5) is True
    assert await waiter.owned()
    assert not await holder.owned()
    await waiter.release()
    assert await r.exists("lk") == 0


# -- timeouts --------------------------------------------------------------------------------


async def test_acquire_gives_up_after_blocking_timeout(r: Client) -> None:
    holder = r.lock("lk", timeout=10)
    assert await holder.acquire()
    other = r.lock("lk", sleep=0.05)
    loop = asyncio.get_running_loop()
    start = loop.time()
    assert await other.acquire(blocking_timeout=0.3) is False
    assert 0.3 <= loop.time() - start < 1.5
    start = loop.time()
    assert await other.acquire(blocking=False) is False
    assert loop.time() - start < 0.5
    # A sleep longer than blocking_timeout still ends at blocking_timeout.
    slow = r.lock("lk", sleep=10, blocking_timeout=0.2)
    start = loop.time()
    assert await slow.acquire() is False
    assert loop.time() - start < 1.5
    with pytest.raises(LockError, match="Unable to acquire lock") as info:
        async with r.lock("lk", blocking_timeout=0.1):
            pytest.fail("entered a lock another task holds")
    assert not isinstance(info.value, LockNotOwnedError)
    assert info.value.lock_name == "lk"
    assert isinstance(info.value, RedisError)
    assert isinstance(info.value, ValueError)
    assert await holder.owned()
    assert not await other.owned()
    assert await other.locked()
    await holder.release()
    assert not await other.locked()


async def test_a_lock_expires_after_its_timeout_and_one_without_never_does(r: Client) -> None:
    lock = r.lock("lk", timeout=0.2)
    assert await lock.acquire()
    assert 0 < await r.pttl("lk") <= 200
    await wait_gone(r, "lk")
    assert not await lock.owned()
    assert not await lock.locked()
    assert await r.lock("lk", timeout=10).acquire(blocking=False)  # free again
    forever = r.lock("lk2")
    assert await forever.acquire()
    assert await r.pttl("lk2") == -1
    # A sub-millisecond timeout is rounded up, never sent as PX 0 or dropped.
    tiny = r.lock("lk3", timeout=0.0001)
    assert await tiny.acquire()
    assert await r.pttl("lk3") in (-2, 0, 1)


# -- release, extend, reacquire -------------------------------------------------------------


async def test_release_without_holding_raises_lock_error(r: Client) -> None:
    lock = r.lock("lk")
    with pytest.raises(LockError, match="not owned") as info:
        await lock.release()
    assert type(info.value) is LockError
    assert await r.exists("lk") == 0


async def test_release_after_expiry_raises_not_owned_and_spares_the_new_holder(r: Client) -> None:
    first = r.lock("lk", timeout=0.05)
    assert await first.acquire()
    await wait_gone(r, "lk")
    second = r.lock("lk", timeout=10)
    assert await second.acquire(blocking=False)
    with pytest.raises(LockNotOwnedError, match="no longer owned"):
        await first.release()
    assert await second.owned()
    with pytest.raises(LockError, match="not owned"):  # the token was dropped
        await first.release()
    await second.release()
    assert await r.exists("lk") == 0


async def test_async_with_raises_not_owned_on_exit_unless_told_not_to(
    r: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(LockNotOwnedError):
        async with r.lock("lk", timeout=0.05):
            await wait_gone(r, "lk")
    with caplog.at_level(logging.WARNING, logger="aiopool.lock"):
        async with r.lock("lk", timeout=0.05, raise_on_release_error=False) as lock:
            await wait_gone(r, "lk")
    assert lock.local.token is None
    assert "release on leaving async with failed" in caplog.text


async def test_extend_adds_or_replaces_time_and_reacquire_rearms(r: Client) -> None:
    lock = r.lock("lk", timeout=1)
    assert await lock.acquire()
    assert await lock.extend(2) is True
    assert 2000 < await r.pttl("lk") <= 3000
    assert await lock.extend(5, replace_ttl=True) is True
    assert 4000 < await r.pttl("lk") <= 5000
    assert await lock.reacquire() is True
    assert 500 < await r.pttl("lk") <= 1000
    await r.set("lk", "someone else")
    with pytest.raises(LockNotOwnedError):
        await lock.extend(1)
    with pytest.raises(LockNotOwnedError):
        await lock.reacquire()
    assert await r.get("lk") == b"someone else"
    assert await r.pttl("lk") == -1  # the scripts left the other holder's key alone


async def test_extend_and_reacquire_refuse_at_the_call(r: Client) -> None:
    lock = r.lock("lk", timeout=1)
    with pytest.raises(LockError, match="unlocked"):
        _ = lock.extend(1)  # no await: the check runs at the call, as redis-py's
    with pytest.raises(LockError, match="unlocked"):
        _ = lock.reacquire()
    with pytest.raises(TypeError, match="additional_time"):
        _ = lock.extend("1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="additional_time"):
        _ = lock.extend(-1)
    with pytest.raises(TypeError, match="replace_ttl"):
        _ = lock.extend(1, replace_ttl=1)  # type: ignore[arg-type]
    forever = r.lock("lk2")
    assert await forever.acquire()
    with pytest.raises(LockError, match="no timeout"):
        _ = forever.extend(1)
    with pytest.raises(LockError, match="no timeout"):
        _ = forever.reacquire()
    assert await r.pttl("lk2") == -1


# -- arguments and types ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "named"),
    [
        ({"name": 1}, TypeError, "name"),
        ({"name": None}, TypeError, "name"),
        ({"timeout": "1"}, TypeError, "timeout"),
        ({"timeout": True}, TypeError, "timeout"),
        ({"timeout": 0}, ValueError, "timeout"),
        ({"timeout": -1}, ValueError, "timeout"),
        ({"timeout": float("inf")}, ValueError, "timeout"),
        ({"sleep": -0.1}, ValueError, "sleep"),
        ({"sleep": None}, TypeError, "sleep"),
        ({"blocking": 1}, TypeError, "blocking"),
        ({"blocking_timeout": -1}, ValueError, "blocking_timeout"),
        ({"blocking_timeout": "2"}, TypeError, "blocking_timeout"),
        ({"thread_local": None}, TypeError, "thread_local"),
        ({"raise_on_release_error": "no"}, TypeError, "raise_on_release_error"),
    ],
    ids=lambda value: repr(value) if isinstance(value, dict) else None,
)
async def test_bad_lock_arguments_raise_naming_them_before_anything_is_sent(
    r: Client, options: dict[str, Any], error: type[Exception], named: str
) -> None:
    before = r.pool.stats().acquired
    with pytest.raises(error, match=named):
        r.lock(**{"name": "lk", **options})
    assert r.pool.stats().acquired == before


async def test_bad_acquire_arguments_raise_naming_them_before_anything_is_sent(r: Client) -> None:
    lock = r.lock("lk")
    before = r.pool.stats().acquired
    with pytest.raises(TypeError, match="token"):
        await lock.acquire(token=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="blocking"):
        await lock.acquire(blocking="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="blocking_timeout"):
        await lock.acquire(blocking_timeout=-1)
    assert r.pool.stats().acquired == before
    assert await r.exists("lk") == 0


async def test_a_key_of_another_type_is_never_taken_and_reads_raise_wrongtype(r: Client) -> None:
    await r.rpush("lk", "x")
    lock = r.lock("lk")
    assert await lock.acquire(blocking=False) is False
    with pytest.raises(ReplyError) as info:
        await lock.locked()
    assert info.value.code == "WRONGTYPE"
    with pytest.raises(ReplyError, match="WRONGTYPE"):
        await lock.owned()
    # A holder whose key was replaced by a list: the script refuses, the list stays.
    held = r.lock("lk2", timeout=10)
    assert await held.acquire()
    await r.delete("lk2")
    await r.rpush("lk2", "y")
    with pytest.raises(ReplyError, match="WRONGTYPE"):
        await held.release()
    assert await r.lrange("lk2", 0, -1) == [b"y"]


async def test_a_given_token_and_owned_work_with_decoded_replies(rs: Client) -> None:
    lock = rs.lock("lk", timeout=10)
    assert await lock.acquire(token="my-token")
    assert await rs.get("lk") == "my-token"
    assert await lock.owned()
    assert lock.local.token == b"my-token"
    assert "my-token" not in repr(lock) + repr(lock.local)
    assert repr(lock) == "<Lock 'lk' held timeout=10.0>"
    await lock.release()
    assert repr(lock) == "<Lock 'lk' not held timeout=10.0>"
    assert await rs.exists("lk") == 0


async def test_lock_class_builds_the_lock_and_pipelines_have_none(r: Client) -> None:
    class Mine(Lock):
        __slots__ = ()

        def __repr__(self) -> str:
            return "<Mine>"

    lock = r.lock("lk", timeout=5, lock_class=Mine)
    assert type(lock) is Mine
    assert lock.timeout == 5.0
    async with lock:
        assert await lock.owned()
    assert not hasattr(r.pipeline(), "lock")


# -- cancellation ------------------------------------------------------------------------------


async def _cancel_acquire(lock: Lock, proxy: FaultProxy, point: int) -> bool | None:
    """Start ``lock.acquire()``, cancel it at ``point``; True when it finished first."""
    task = asyncio.create_task(lock.acquire())
    if point == 0:
        await proxy.wait_for_command("SET")  # written, its reply not back yet
    else:
        for _ in range(point):
            await asyncio.sleep(0.004)
    task.cancel()
    try:
        return await task
    except asyncio.CancelledError:
        return None


@pytest.mark.parametrize("auto_pipeline", [False, True], ids=["exclusive", "auto_pipeline"])
async def test_cancelling_acquire_at_any_point_never_leaves_the_lock_held(
    r: Client, fault_proxy: FaultProxy, auto_pipeline: bool
) -> None:
    fault_proxy.latency(0.02)  # a window between the SET's arrival and its reply
    outcomes: set[bool | None] = set()
    async with Client.from_url(fault_proxy.url, auto_pipeline=auto_pipeline) as client:
        for i in range(24):
            # timeout=None half the time: a leaked lock would then be held for ever.
            lock = client.lock("lk", timeout=None if i % 2 else 30)
            took = await _cancel_acquire(lock, fault_proxy, i % 8)
            outcomes.add(took)
            if took:
                assert await lock.owned()
                await lock.release()
            else:
                assert lock.local.token is None
            assert await r.exists("lk") == 0, f"round {i}: the cancelled acquire left the lock"
        stats = client.pool.stats()  # auto-pipelining keeps its shared connection
        assert (stats.in_use - stats.shared, stats.waiting) == (0, 0)
    assert None in outcomes  # cancellations did land mid-acquire


async def test_cancelled_acquires_beside_a_live_holder_leave_only_its_lock(
    r: Client, fault_proxy: FaultProxy
) -> None:
    fault_proxy.latency(0.01)
    stop = asyncio.Event()
    rounds = 0

    async def live_holder(client: Client) -> None:
        nonlocal rounds
        while not stop.is_set():
            # With a leak (no expiry) this would give up after 5 s and fail the test.
            async with client.lock("lk", sleep=0.005, blocking_timeout=5) as held:
                value = await r.get("lk")
                assert value == held.local.token  # nobody else's token in between
                rounds += 1

    async with Client.from_url(fault_proxy.url) as client:
        holder = asyncio.create_task(live_holder(client))
        for i in range(16):
            lock = client.lock("lk", sleep=0.005)
            if await _cancel_acquire(lock, fault_proxy, 1 + i % 6):
                await lock.release()
        stop.set()
        await asyncio.wait_for(holder, 10)
    assert rounds > 0
    assert await r.exists("lk") == 0


async def test_an_acquire_whose_reply_is_lost_gives_the_lock_back(
    r: Client, fault_proxy: FaultProxy
) -> None:
    async with Client.from_url(fault_proxy.url) as client:
        await client.ping()
        lock = client.lock("lk")  # no expiry
        fault_proxy.cut_next_reply(0)  # the SET runs; its reply never arrives
        with pytest.raises(ConnectionLost):
            await lock.acquire()
        assert lock.local.token is None
        assert await r.exists("lk") == 0
        assert await lock.acquire(blocking=False)  # and it can be taken again
        await lock.release()


async def test_a_holder_cancelled_inside_async_with_releases(r: Client) -> None:
    inside = asyncio.Event()

    async def hold() -> None:
        async with r.lock("lk"):  # no expiry
            inside.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(hold())
    await asyncio.wait_for(inside.wait(), 5)
    assert await r.exists("lk") == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await r.exists("lk") == 0


async def test_a_cancelled_holder_whose_lock_was_lost_still_raises_cancelled(
    r: Client, caplog: pytest.LogCaptureFixture
) -> None:
    inside = asyncio.Event()

    async def hold() -> None:
        async with r.lock("lk", timeout=0.05):
            inside.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(hold())
    await asyncio.wait_for(inside.wait(), 5)
    await wait_gone(r, "lk")
    other = r.lock("lk", timeout=10)
    assert await other.acquire(blocking=False)
    with caplog.at_level(logging.WARNING, logger="aiopool.lock"):
        task.cancel()
        with pytest.raises(asyncio.CancelledError):  # not LockNotOwnedError
            await task
    assert "LockNotOwnedError" in caplog.text
    assert await other.owned()


async def test_a_cancelled_release_finishes_before_the_cancellation_propagates(
    r: Client, fault_proxy: FaultProxy
) -> None:
    async with Client.from_url(fault_proxy.url) as client:
        lock = client.lock("lk")
        assert await lock.acquire()
        fault_proxy.latency(0.05)
        releasing = asyncio.create_task(lock.release())
        await fault_proxy.wait_for_command("EVALSHA")
        releasing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await releasing
        assert lock.local.token is None
        assert await r.exists("lk") == 0


# -- the holder's connection broken mid-hold ------------------------------------------------------


async def test_release_works_after_the_holders_connections_were_killed(
    r: Client, redis_url: str
) -> None:
    async with Client.from_url(redis_url, max_size=2) as client:
        lock = client.lock("lk", timeout=30)
        assert await lock.acquire()
        killed = await r.execute("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        assert killed >= 1
        await lock.release()  # on a new connection: the pool dropped the killed one
        assert await r.exists("lk") == 0
        assert client.pool.stats().closed >= 1


async def test_release_while_the_server_is_unreachable_raises_and_can_be_retried(
    r: Client, fault_proxy: FaultProxy
) -> None:
    async with Client.from_url(fault_proxy.url, acquire_timeout=0.5) as client:
        lock = client.lock("lk", timeout=30)
        assert await lock.acquire()
        fault_proxy.refuse_new()
        fault_proxy.reset_all()
        with pytest.raises(ConnectionFailure):
            await lock.release()
        assert lock.local.token is not None  # kept: the release can be tried again
        assert await r.exists("lk") == 1
        fault_proxy.accept_new()
        await lock.release()
        assert await r.exists("lk") == 0


# -- cluster ------------------------------------------------------------------------------------


def tag_on(cluster: RedisCluster, master: RedisServer, prefix: str) -> str:
    """A hash tag ``{...}`` whose slot ``master`` serves."""
    for i in range(10_000):
        tag = f"{{{prefix}-{i}}}"
        if cluster.owner_of(cluster.slot_of(tag)) is master:
            return tag
    raise AssertionError(f"no tag found on {master!r}")


async def test_cluster_locks_live_on_their_slots_primary_and_serialise(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    async with ClusterClient.from_url(c.startup_url) as cc:
        for master in c.masters():
            tag = tag_on(c, master, unique_tag("lock"))
            key, counter = f"{tag}:lock", f"{tag}:n"
            probe = cc.lock(key, timeout=10)
            assert await probe.acquire()
            assert c.execute(master, "GET", key) == probe.local.token
            assert await probe.owned()
            assert await probe.locked()
            assert await probe.extend(5) is True
            await probe.release()
            assert c.execute(master, "EXISTS", key) == 0
            locks = [cc.lock(key, timeout=10, sleep=0.002, blocking_timeout=20) for _ in range(20)]
            await asyncio.gather(*(bump(cc, lock, counter) for lock in locks))
            assert c.execute(master, "GET", counter) == b"20"
            assert c.execute(master, "EXISTS", key) == 0
        lost = cc.lock(unique_tag("lost"), timeout=10)
        assert await lost.acquire()
        await cc.delete(lost.name)
        with pytest.raises(LockNotOwnedError):
            await lost.release()


async def test_cluster_cancelled_acquire_and_killed_connections_leave_no_lock(
    redis_cluster: RedisCluster,
) -> None:
    c = redis_cluster
    master = c.masters()[0]
    key = tag_on(c, master, unique_tag("lock")) + ":lock"
    async with ClusterClient.from_url(c.startup_url) as cc:
        await cc.ping()
        for point in range(6):
            lock = cc.lock(key)  # no expiry
            task = asyncio.create_task(lock.acquire())
            for _ in range(point):
                await asyncio.sleep(0)
            task.cancel()
            try:
                took = await task
            except asyncio.CancelledError:
                took = False
            if took:
                await lock.release()
            assert c.execute(master, "EXISTS", key) == 0, f"cancelled at step {point}"
        holder = cc.lock(key, timeout=30)
        assert await holder.acquire()
        assert c.execute(master, "CLIENT", "KILL", "TYPE", "normal") >= 1
        await holder.release()
        assert c.execute(master, "EXISTS", key) == 0
