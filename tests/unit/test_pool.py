"""Pool logic driven through its ``connector`` hook with fake connections: no sockets.

``fake_connection.FakeConnection`` has only the surface the pool needs, so
these tests exercise what the pool decides (slots, waiting, limits, timeouts,
cancellation, reaping, refilling, health checks, leak detection, closing)
and nothing of a real connection.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import random
import re
import time
from typing import Any

import pytest

from aiopool import (
    ConnectError,
    ConnectionLost,
    Pool,
    PoolClosed,
    PoolTimeout,
    ReplyError,
)

from .fake_connection import (
    HANG,
    FakeConnection,
    FakeConnector,
    assert_balanced,
    fake,
    make_pool,
    wait_until,
)


@pytest.fixture
def connector() -> FakeConnector:
    return FakeConnector()


async def borrow_for(pool: Pool, seconds: float) -> None:
    async with pool.acquire():
        await asyncio.sleep(seconds)


# -- limits and reuse -------------------------------------------------------------------


async def test_connections_are_opened_lazily_and_reused(connector: FakeConnector) -> None:
    async with make_pool(connector, max_size=4) as pool:
        assert connector.calls == 0
        async with pool.acquire() as first:
            assert fake(first).state == "ready"
        assert fake(first).state == "pooled"
        async with pool.acquire() as again:
            assert again is first
        stats = assert_balanced(pool)
        assert (stats.created, stats.acquired, stats.size) == (1, 2, 1)


async def test_max_size_bounds_the_connector_calls(connector: FakeConnector) -> None:
    async with make_pool(connector, max_size=3, acquire_timeout=5) as pool:
        peak = 0

        async def borrow() -> None:
            nonlocal peak
            async with pool.acquire():
                peak = max(peak, pool.stats().in_use)
                await asyncio.sleep(0)

        await asyncio.gather(*(borrow() for _ in range(100)))
        assert peak == 3
        assert connector.calls == pool.stats().created == 3
        assert pool.stats().acquired == 100
        assert_balanced(pool)


async def test_the_most_recently_used_idle_connection_is_handed_out_first(
    connector: FakeConnector,
) -> None:
    # LIFO for idle connections lets the least used ones age into reaping.
    async with make_pool(connector, max_size=3) as pool:
        async with pool.acquire() as a, pool.acquire() as b:
            pass  # b goes back after a: b is the most recent
        async with pool.acquire() as next_one:
            assert next_one is a  # released last (the exit order is b, then a)
        assert b is not a


# -- the waiting line: fairness, timeouts, cancellation ----------------------------------


async def test_waiters_are_served_in_arrival_order(connector: FakeConnector) -> None:
    async with make_pool(connector, max_size=1, acquire_timeout=5) as pool:
        served: list[int] = []

        async def waiter(index: int) -> None:
            async with pool.acquire():
                served.append(index)
                await asyncio.sleep(0)

        async with pool.acquire():
            tasks = []
            for index in range(8):
                tasks.append(asyncio.create_task(waiter(index)))
                await wait_until(lambda: pool.stats().waiting == len(tasks), "queueing")
        await asyncio.gather(*tasks)
        assert served == list(range(8))
        assert_balanced(pool)


async def test_a_newcomer_cannot_overtake_a_woken_waiter(connector: FakeConnector) -> None:
    async with make_pool(connector, max_size=1, acquire_timeout=5) as pool:
        order: list[str] = []

        async def take(name: str) -> None:
            async with pool.acquire():
                order.append(name)

        holder = pool.acquire()
        await holder.__aenter__()
        waiter = asyncio.create_task(take("waiter"))
        await wait_until(lambda: pool.stats().waiting == 1, "the waiter to queue")
        await holder.__aexit__(None, None, None)  # hands the connection to the waiter
        # The waiter has not run yet; a newcomer arriving now must queue behind it.
        assert pool.stats().idle == 0
        newcomer = asyncio.create_task(take("newcomer"))
        await asyncio.gather(waiter, newcomer)
        assert order == ["waiter", "newcomer"]
        assert_balanced(pool)


async def test_acquire_times_out_when_the_pool_is_exhausted(connector: FakeConnector) -> None:
    async with make_pool(connector, max_size=1, acquire_timeout=0.05) as pool:
        async with pool.acquire():
            started = time.monotonic()
            with pytest.raises(PoolTimeout) as caught:
                async with pool.acquire():
                    pass
            assert 0.045 <= time.monotonic() - started < 0.5
        message = str(caught.value)
        assert "acquire_timeout=0.05s" in message
        assert "1 of max_size=1 in use" in message
        assert "held by (oldest first) task" in message
        stats = assert_balanced(pool)
        assert stats.timeouts == 1
        assert connector.calls == 1  # waiting touched no connection


async def test_waiters_time_out_each_at_its_own_deadline(connector: FakeConnector) -> None:
    async with make_pool(connector, max_size=1, acquire_timeout=0.1) as pool:
        outcomes: dict[int, float] = {}
        started = time.monotonic()

        async def waiter(index: int) -> None:
            with pytest.raises(PoolTimeout):
                async with pool.acquire():
                    pass
            outcomes[index] = time.monotonic() - started

        async with pool.acquire():
            first = asyncio.create_task(waiter(0))
            await asyncio.sleep(0.05)
            second = asyncio.create_task(waiter(1))
            await asyncio.gather(first, second)
        assert 0.095 <= outcomes[0] < 1, outcomes
        assert outcomes[1] - outcomes[0] >= 0.045, outcomes  # its own deadline, not the first's
        assert pool.stats().timeouts == 2
        assert_balanced(pool)


async def test_cancelling_a_waiter_leaves_the_line_and_the_stats_balanced(
    connector: FakeConnector,
) -> None:
    async with make_pool(connector, max_size=1, acquire_timeout=5) as pool:
        async with pool.acquire():
            task = asyncio.create_task(borrow_for(pool, 0))
            await wait_until(lambda: pool.stats().waiting == 1, "the waiter to queue")
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert pool.stats().waiting == 0
            assert len(pool._slots.line) == 0
        assert_balanced(pool)
        async with asyncio.timeout(0.5), pool.acquire():
            pass


async def test_a_waiter_cancelled_after_being_handed_a_connection_passes_it_on(
    connector: FakeConnector,
) -> None:
    async with make_pool(connector, max_size=1, acquire_timeout=5) as pool:
        holder = pool.acquire()
        conn = await holder.__aenter__()
        first = asyncio.create_task(borrow_for(pool, 0))
        second = asyncio.create_task(borrow_for(pool, 0))
        await wait_until(lambda: pool.stats().waiting == 2, "both waiters to queue")
        await holder.__aexit__(None, None, None)  # handed to the first waiter...
        first.cancel()  # ...which is cancelled before it could run
        with pytest.raises(asyncio.CancelledError):
            await first
        await asyncio.wait_for(second, 1)  # the second got it instead
        assert connector.calls == 1
        assert conn.is_pooled_and_open()
        assert_balanced(pool)


async def test_waiter_whose_timeout_fires_as_the_slot_arrives_loses_no_slot(
    connector: FakeConnector,
) -> None:
    async with make_pool(connector, max_size=1, acquire_timeout=0.05) as pool:
        outcome: list[str] = []

        async def waiter() -> None:
            try:
                async with pool.acquire():
                    outcome.append("served")
            except PoolTimeout:
                outcome.append("timed out")

        async with pool.acquire():
            task = asyncio.create_task(waiter())
            await wait_until(lambda: pool.stats().waiting == 1, "the waiter to queue")
            # Block the loop past the waiter's deadline, then yield once: the
            # timer and the release below land in the same loop iteration.
            time.sleep(0.08)  # noqa: ASYNC251 - deliberately lines up the race
            await asyncio.sleep(0)
        await task
        assert len(outcome) == 1
        async with asyncio.timeout(0.5), pool.acquire():
            pass
        assert pool.stats().created == connector.calls == 1
        assert_balanced(pool)


async def test_random_cancellations_leave_the_stats_balanced(connector: FakeConnector) -> None:
    rng = random.Random(1234)
    async with make_pool(connector, max_size=3, acquire_timeout=5) as pool:

        async def worker() -> None:
            async with pool.acquire() as conn:
                if rng.random() < 0.2:
                    conn.abort()  # as if its command were interrupted
                await asyncio.sleep(rng.random() / 200)

        tasks = [asyncio.create_task(worker()) for _ in range(200)]
        await asyncio.sleep(0.01)
        for task in tasks:
            if rng.random() < 0.3:
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        stats = assert_balanced(pool)
        assert stats.created - stats.closed == stats.size
        open_fakes = [c for c in connector.made if c.state != "closed"]
        assert len(open_fakes) == stats.idle


# -- connecting ------------------------------------------------------------------------


async def test_connect_error_counts_every_attempt_within_acquire_timeout(
    connector: FakeConnector,
) -> None:
    connector.failures = 10_000
    async with make_pool(
        connector, acquire_timeout=0.3, reconnect_backoff=0.01, reconnect_backoff_max=0.05
    ) as pool:
        started = time.monotonic()
        with pytest.raises(ConnectError) as caught:
            async with pool.acquire():
                pass
        assert time.monotonic() - started <= 0.35
        attempts = re.search(r"after (\d+) attempt\(s\)", str(caught.value))
        assert attempts is not None, str(caught.value)
        assert int(attempts.group(1)) == connector.calls == pool.stats().connect_errors >= 3
        assert "acquire_timeout=0.3s" in str(caught.value)
        assert "last error: could not connect to fake:1: refused" in str(caught.value)
        assert_balanced(pool)


async def test_reconnect_backoff_max_caps_the_delay_between_attempts(
    connector: FakeConnector,
) -> None:
    connector.failures = 10_000
    async with make_pool(
        connector, acquire_timeout=0.3, reconnect_backoff=1.0, reconnect_backoff_max=0.01
    ) as pool:
        with pytest.raises(ConnectError):
            async with pool.acquire():
                pass
        # Uncapped, the first delay alone could take the whole 0.3 s; capped at
        # 10 ms, there is time for at least 20 attempts.
        assert connector.calls >= 20
        assert_balanced(pool)


async def test_acquire_timeout_none_makes_a_single_connect_attempt(
    connector: FakeConnector,
) -> None:
    connector.failures = 10_000
    async with make_pool(connector, acquire_timeout=None) as pool:
        with pytest.raises(ConnectError):
            async with pool.acquire():
                pass
        assert connector.calls == 1
        assert_balanced(pool)


async def test_without_connect_retries_a_refusal_fails_at_once(connector: FakeConnector) -> None:
    connector.failures = 10_000
    async with make_pool(connector, acquire_timeout=5) as pool:
        pool._retry_connect = False  # the cluster client's setting
        with pytest.raises(ConnectError):
            async with pool.acquire():
                pass
        assert connector.calls == 1
        assert_balanced(pool)


async def test_acquire_succeeds_once_the_connector_recovers(connector: FakeConnector) -> None:
    connector.failures = 3
    async with make_pool(
        connector, acquire_timeout=5, reconnect_backoff=0.005, reconnect_backoff_max=0.01
    ) as pool:
        async with pool.acquire() as conn:
            assert fake(conn).ident == 0
        stats = pool.stats()
        assert (stats.created, stats.connect_errors, connector.calls) == (1, 3, 4)
        assert_balanced(pool)


async def test_a_handshake_reply_error_is_not_retried(connector: FakeConnector) -> None:
    connector.failures = 10_000
    connector.failure = ReplyError("WRONGPASS invalid username-password pair")
    async with make_pool(connector, acquire_timeout=5) as pool:
        with pytest.raises(ReplyError):
            async with pool.acquire():
                pass
        assert connector.calls == pool.stats().connect_errors == 1
        assert_balanced(pool)


async def test_cancel_while_the_connector_is_pending_returns_the_slot(
    connector: FakeConnector,
) -> None:
    connector.gate = asyncio.Event()
    async with make_pool(connector, max_size=1, acquire_timeout=1) as pool:
        task = asyncio.create_task(borrow_for(pool, 0))
        await wait_until(lambda: pool.stats().opening == 1, "the connect to start")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert_balanced(pool)
        assert pool.stats().size == 0
        connector.gate.set()
        async with asyncio.timeout(0.5), pool.acquire():
            assert pool.stats().size == 1


# -- returning, discarding, min_size ---------------------------------------------------


async def test_a_connection_returned_unusable_is_discarded_and_its_slot_freed(
    connector: FakeConnector,
) -> None:
    async with make_pool(connector, max_size=1) as pool:
        async with pool.acquire() as conn:
            fake(conn).session_changed = True  # e.g. SELECT ran on it
        assert conn.is_closed()
        stats = assert_balanced(pool)
        assert (stats.closed, stats.size) == (1, 0)
        async with pool.acquire() as other:
            assert other is not conn


async def test_an_idle_connection_the_peer_closed_is_replaced_at_acquire(
    connector: FakeConnector,
) -> None:
    async with make_pool(connector, max_size=1) as pool:
        async with pool.acquire() as conn:
            pass
        fake(conn).peer_closed = True
        async with pool.acquire() as other:
            assert other is not conn
        assert conn.is_closed()
        assert (pool.stats().created, pool.stats().closed) == (2, 1)


async def test_min_size_is_opened_by_open_and_refilled_after_a_discard(
    connector: FakeConnector,
) -> None:
    async with make_pool(connector, min_size=2, max_size=4) as pool:
        assert pool.stats().idle == 2
        async with pool.acquire() as conn:
            conn.abort()  # as if its command had been interrupted
        assert pool.stats().closed == 1
        await wait_until(lambda: pool.stats().idle == 2, "the background refill")
        assert pool.stats().created == connector.calls == 3
        assert_balanced(pool)


async def test_failing_refill_is_logged_and_the_pool_stays_usable(
    connector: FakeConnector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="aiopool")
    async with make_pool(
        connector, min_size=1, max_size=2, acquire_timeout=0.1, reconnect_backoff=0.01
    ) as pool:
        connector.failures = 10_000
        async with pool.acquire() as conn:
            conn.abort()
        await wait_until(lambda: "could not keep min_size=1 open" in caplog.text, "the warning")
        assert_balanced(pool)
        assert pool.stats().size == 0
        connector.failures = 0
        async with asyncio.timeout(0.5), pool.acquire():
            pass
        assert_balanced(pool)


# -- reaping and lifetimes --------------------------------------------------------------


async def test_idle_connections_beyond_min_size_are_reaped(connector: FakeConnector) -> None:
    async with make_pool(connector, min_size=1, max_size=3, idle_timeout=0.05) as pool:
        await asyncio.gather(*(borrow_for(pool, 0.01) for _ in range(3)))
        assert pool.stats().idle == 3
        await wait_until(lambda: pool.stats().idle == 1, "reaping down to min_size")
        stats = assert_balanced(pool)
        assert stats.closed == 2
        assert sum(c.state == "closed" for c in connector.made) == 2


async def test_max_lifetime_retires_connections_on_release_and_while_idle(
    connector: FakeConnector,
) -> None:
    async with make_pool(connector, max_size=2, max_lifetime=0.05) as pool:
        async with pool.acquire() as old:
            await asyncio.sleep(0.06)
        assert old.is_closed()  # too old to go back
        assert pool.stats().closed == 1
        async with pool.acquire() as young:
            pass
        assert young.is_pooled_and_open()
        await wait_until(young.is_closed, "the reaper to retire the idle connection")
        stats = assert_balanced(pool)
        assert (stats.closed, stats.size) == (2, 0)


async def test_the_reaper_stops_once_nothing_is_idle(connector: FakeConnector) -> None:
    async with make_pool(connector, max_size=1, idle_timeout=0.02) as pool:
        async with pool.acquire():
            pass
        await wait_until(lambda: pool.stats().idle == 0, "the reap")
        await wait_until(lambda: pool._reaper is None, "the reaper to disarm")


# -- health checks and keepalive ---------------------------------------------------------


async def test_a_connection_idle_past_the_interval_is_pinged_before_use(
    connector: FakeConnector,
) -> None:
    async with make_pool(connector, health_check_interval=0.02) as pool:
        async with pool.acquire() as conn:
            pass
        async with pool.acquire():
            pass  # right away: no check
        assert fake(conn).requests == []
        await asyncio.sleep(0.03)
        async with pool.acquire() as again:
            assert again is conn
        assert fake(conn).requests == [("PING",)]


async def test_a_connection_failing_its_health_check_is_replaced_before_use(
    connector: FakeConnector,
) -> None:
    async with make_pool(connector, health_check_interval=0.01) as pool:
        async with pool.acquire() as conn:
            pass
        fake(conn).replies.append(ConnectionLost("lost", "fake:1"))
        await asyncio.sleep(0.02)
        async with pool.acquire() as other:
            assert other is not conn
        assert conn.is_closed()
        stats = assert_balanced(pool)
        assert (stats.created, stats.closed) == (2, 1)


async def test_an_error_reply_to_the_health_check_counts_as_alive(
    connector: FakeConnector,
) -> None:
    async with make_pool(connector, health_check_interval=0.01) as pool:
        async with pool.acquire() as conn:
            pass
        fake(conn).replies.append(ReplyError("NOPERM this user has no permissions to run PING"))
        await asyncio.sleep(0.02)
        async with pool.acquire() as again:
            assert again is conn
        assert pool.stats().closed == 0


async def test_a_custom_checker_replaces_the_ping(connector: FakeConnector) -> None:
    checked: list[Any] = []

    async def checker(conn: Any, timeout: float) -> BaseException | None:
        checked.append((conn, timeout))
        return ConnectionLost("declared dead", "fake:1") if len(checked) == 1 else None

    async with make_pool(connector, health_check_interval=0.01, checker=checker) as pool:
        async with pool.acquire() as first:
            pass
        await asyncio.sleep(0.02)
        async with pool.acquire() as second:
            pass
        assert second is not first
        assert first.is_closed()
        assert fake(first).requests == []  # no PING: the checker decided
        assert checked == [(first, 5.0)]  # no connect/command timeout set: the default


async def test_cancelling_a_health_check_aborts_the_connection_and_frees_its_slot(
    connector: FakeConnector,
) -> None:
    async with make_pool(connector, max_size=1, health_check_interval=0.01) as pool:
        async with pool.acquire() as conn:
            pass
        fake(conn).replies.append(HANG)
        await asyncio.sleep(0.02)
        task = asyncio.create_task(borrow_for(pool, 0))
        await wait_until(lambda: fake(conn).requests == [("PING",)], "the check to start")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert conn.is_closed()
        stats = assert_balanced(pool)
        assert (stats.size, stats.closed) == (0, 1)


async def test_keepalive_checks_idle_connections_and_replaces_dead_ones(
    connector: FakeConnector,
) -> None:
    async with make_pool(
        connector, min_size=2, max_size=2, keepalive_interval=0.03, idle_timeout=None
    ) as pool:
        alive, dead = connector.made
        dead.replies.append(ConnectionLost("lost", "fake:1"))
        await wait_until(lambda: dead.is_closed(), "the keepalive round")
        await wait_until(lambda: len(alive.requests) >= 2, "a second round")
        assert set(alive.requests) == {("PING",)}
        await wait_until(lambda: pool.stats().idle == 2, "the refill")
        stats = assert_balanced(pool)
        assert (stats.created, stats.closed) == (3, 1)


async def test_closing_during_a_keepalive_round_aborts_the_checked_connection(
    connector: FakeConnector,
) -> None:
    pool = make_pool(connector, min_size=1, keepalive_interval=0.02, idle_timeout=None)
    await pool.open()
    (conn,) = connector.made
    conn.replies.append(HANG)
    await wait_until(lambda: conn.requests == [("PING",)], "the keepalive PING")
    assert pool.stats().opening == 1  # taken out of the idle set while checked
    await pool.aclose()
    assert conn.is_closed()
    assert pool.stats().closed == 1


# -- leak detection ----------------------------------------------------------------------


async def test_a_borrow_longer_than_the_threshold_is_logged_with_task_and_site(
    connector: FakeConnector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="aiopool.pool")
    async with make_pool(connector, leak_detection_threshold=0.03) as pool:
        await asyncio.create_task(borrow_for(pool, 0.08), name="slow-worker")
        async with pool.acquire():
            pass  # returned in time: not reported
        assert_balanced(pool)
    warnings = [r for r in caplog.records if "leak_detection_threshold=0.03" in r.getMessage()]
    assert len(warnings) == 1, caplog.text
    message = warnings[0].getMessage()
    assert "'slow-worker'" in message
    assert "test_pool.py" in message
    assert "borrow_for" in message
    assert "aiopool/_pool.py" not in message
    assert "aiopool/_holds.py" not in message


async def test_without_a_threshold_long_borrows_are_not_reported(
    connector: FakeConnector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="aiopool.pool")
    async with make_pool(connector) as pool:
        await borrow_for(pool, 0.05)
    assert "leak_detection_threshold" not in caplog.text


async def test_pool_timeout_names_every_holder_and_where_it_acquired(
    connector: FakeConnector,
) -> None:
    async with make_pool(
        connector, max_size=2, acquire_timeout=0.05, leak_detection_threshold=10
    ) as pool:
        release = asyncio.Event()

        async def holder() -> None:
            async with pool.acquire():
                await release.wait()

        holders = [asyncio.create_task(holder(), name=f"holder-{i}") for i in range(2)]
        await wait_until(lambda: pool.stats().in_use == 2, "both holders")
        with pytest.raises(PoolTimeout) as caught:
            async with pool.acquire():
                pass
        release.set()
        await asyncio.gather(*holders)
    message = str(caught.value)
    assert "'holder-0' for" in message
    assert "'holder-1' for" in message
    assert message.count("acquired at") == 2
    assert "test_pool.py" in message


@pytest.mark.parametrize(
    ("threshold", "report"),
    [
        (30.0, "garbage-collected without returning it"),
        (None, "when its coroutine was closed"),
    ],
    ids=["leak-detection-on", "leak-detection-off"],
)
async def test_a_task_collected_while_borrowing_gives_its_slot_back(
    threshold: float | None,
    report: str,
    connector: FakeConnector,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="aiopool.pool")
    loop = asyncio.get_running_loop()
    handler = loop.get_exception_handler()
    loop.set_exception_handler(lambda loop, context: None)  # "Task was destroyed..."
    try:
        async with make_pool(
            connector, max_size=1, acquire_timeout=2, leak_detection_threshold=threshold
        ) as pool:

            async def stuck() -> None:
                async with pool.acquire():
                    await loop.create_future()  # nobody will ever resolve it

            task = asyncio.create_task(stuck(), name="abandoned")
            await wait_until(lambda: pool.stats().in_use == 1, "the stuck task to borrow")
            del task
            for _ in range(3):
                gc.collect()
            await wait_until(lambda: pool.stats().in_use == 0, "the slot to come back")
            reports = [r for r in caplog.records if r.levelno >= logging.ERROR]
            assert len(reports) == 1, caplog.text
            assert report in reports[0].getMessage()
            assert "'abandoned'" in reports[0].getMessage()
            async with asyncio.timeout(0.5), pool.acquire():
                pass
            assert_balanced(pool)
    finally:
        loop.set_exception_handler(handler)


# -- closing ---------------------------------------------------------------------------


async def test_close_fails_waiters_and_waits_for_borrowed_connections(
    connector: FakeConnector,
) -> None:
    pool = make_pool(connector, max_size=2, acquire_timeout=5, close_timeout=1)
    await pool.open()
    async with pool.acquire():
        pass  # one idle connection
    returned = asyncio.Event()

    async def holder() -> None:
        async with pool.acquire():
            await returned.wait()

    holding = asyncio.create_task(holder())
    held = asyncio.create_task(holder())
    await wait_until(lambda: pool.stats().in_use == 2, "both borrows")
    waiter = asyncio.create_task(borrow_for(pool, 0))
    await wait_until(lambda: pool.stats().waiting == 1, "the waiter")
    closing = asyncio.create_task(pool.aclose())
    with pytest.raises(PoolClosed):
        await waiter
    assert not closing.done()  # waits for the borrowed connections
    returned.set()
    await asyncio.gather(holding, held, closing)
    assert all(conn.is_closed() for conn in connector.made)
    assert pool.is_closed()
    with pytest.raises(PoolClosed):
        async with pool.acquire():
            pass
    assert pool.stats().closed == len(connector.made) == 2


async def test_close_aborts_connections_still_borrowed_after_close_timeout(
    connector: FakeConnector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="aiopool.pool")
    pool = make_pool(connector, close_timeout=0.05)
    forever = asyncio.Event()

    async def holder() -> None:
        async with pool.acquire():
            await forever.wait()

    task = asyncio.create_task(holder())
    await wait_until(lambda: pool.stats().in_use == 1, "the borrow")
    await pool.aclose()
    (conn,) = connector.made
    assert conn.is_closed()
    assert conn.abort_reason is not None
    assert "close_timeout=0.05s" in conn.abort_reason
    assert "still borrowed after close_timeout" in caplog.text
    assert pool.stats().in_use == 0
    forever.set()
    await task  # its late return is harmless
    assert pool.stats().closed == 1


async def test_close_is_idempotent_and_concurrent_closers_all_wait(
    connector: FakeConnector,
) -> None:
    pool = make_pool(connector, min_size=1)
    await pool.open()
    await asyncio.gather(pool.aclose(), pool.aclose())
    await pool.aclose()
    assert connector.made[0].is_closed()


def test_fake_connection_has_only_the_surface_the_pool_needs() -> None:
    conn = FakeConnection(0)
    with pytest.raises(AttributeError):
        conn.state_of_something_else = 1  # type: ignore[attr-defined]
