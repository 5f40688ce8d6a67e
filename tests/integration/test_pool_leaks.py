"""Leak detection: long borrows are reported with where they started; abandoned ones recovered."""

from __future__ import annotations

import asyncio
import gc
import logging

import pytest

from aiopool import Client, Pool, PoolOptions, PoolTimeout

from .pool_support import assert_balanced, assert_own_replies, wait_until


async def test_a_borrow_longer_than_the_threshold_is_logged_with_task_and_site(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="aiopool.pool")
    async with Pool.from_url(redis_url, leak_detection_threshold=0.05) as pool:

        async def hold_too_long() -> None:
            async with pool.acquire():
                await asyncio.sleep(0.2)

        await asyncio.create_task(hold_too_long(), name="slow-worker")
        assert_balanced(pool)
    warnings = [r for r in caplog.records if "leak_detection_threshold=0.05" in r.getMessage()]
    assert len(warnings) == 1, caplog.text
    message = warnings[0].getMessage()
    assert "'slow-worker'" in message
    assert "test_pool_leaks.py" in message
    assert "hold_too_long" in message
    assert "aiopool/_pool.py" not in message  # the site is the caller's code, not ours


async def test_a_borrow_returned_in_time_is_not_reported(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="aiopool.pool")
    async with Client.from_url(redis_url, leak_detection_threshold=0.2) as client:
        for _ in range(20):
            await client.set("k", "v")
        async with client.pool.acquire() as conn:
            await conn.execute("PING")
        await asyncio.sleep(0.3)  # past the threshold: a timer left running would fire now
        assert_balanced(client.pool)
    assert "leak_detection_threshold" not in caplog.text


async def test_without_the_option_long_borrows_are_not_reported(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="aiopool.pool")
    async with Pool.from_url(redis_url) as pool:
        assert pool.options.leak_detection_threshold is None
        async with pool.acquire():
            await asyncio.sleep(0.1)
    assert "leak_detection_threshold" not in caplog.text


async def test_pool_timeout_lists_every_holder_and_where_it_acquired(redis_url: str) -> None:
    async with Pool.from_url(
        redis_url, max_size=2, acquire_timeout=0.1, leak_detection_threshold=10
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
        assert "test_pool_leaks.py" in message
        assert_balanced(pool)


@pytest.mark.parametrize(
    ("threshold", "report"),
    [
        (30.0, "garbage-collected without returning it"),
        (None, "when its coroutine was closed"),
    ],
    ids=["leak-detection-on", "leak-detection-off"],
)
async def test_a_task_collected_while_borrowing_gives_its_slot_back(
    threshold: float | None, report: str, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="aiopool.pool")
    loop = asyncio.get_running_loop()
    handler = loop.get_exception_handler()
    # asyncio reports "Task was destroyed but it is pending!": that is the point here.
    loop.set_exception_handler(lambda loop, context: None)
    try:
        async with Client.from_url(
            redis_url, max_size=1, acquire_timeout=2, leak_detection_threshold=threshold
        ) as client:
            pool = client.pool

            async def stuck() -> None:
                async with pool.acquire():
                    await loop.create_future()  # nobody will ever resolve it

            task = asyncio.create_task(stuck(), name="abandoned")
            await wait_until(lambda: pool.stats().in_use == 1, "the stuck task to borrow")
            del task
            for _ in range(3):
                gc.collect()
            await wait_until(lambda: pool.stats().in_use == 0, "the slot to come back")
            assert "'abandoned'" in caplog.text
            reports = [r for r in caplog.records if r.levelno >= logging.ERROR]
            assert len(reports) == 1, caplog.text
            assert report in reports[0].getMessage()
            assert ("test_pool_leaks.py" in reports[0].getMessage()) == (threshold is not None)
            # The only slot is usable again.
            assert await client.ping() is True
            await assert_own_replies(client)
            assert_balanced(pool)
    finally:
        loop.set_exception_handler(handler)


def test_the_threshold_is_validated_and_read_from_urls() -> None:
    with pytest.raises(ValueError, match="leak_detection_threshold"):
        PoolOptions(leak_detection_threshold=0)
    with pytest.raises(ValueError, match="leak_detection_threshold"):
        PoolOptions(leak_detection_threshold=-1.0)
    pool = Pool.from_url("redis://127.0.0.1:6379/0?leak_detection_threshold=2.5")
    assert pool.options.leak_detection_threshold == 2.5
