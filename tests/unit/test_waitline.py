"""``WaitLine``: first come, first served, direct hand-off, deadlines on one timer."""

from __future__ import annotations

import asyncio
import time

import pytest

from aiopool._waitline import Slots, WaitLine


class Expired(Exception):
    pass


def make_line(kept: list[str] | None = None) -> WaitLine[str, str]:
    def give_back(item: str) -> None:
        if not line.serve(item) and kept is not None:
            kept.append(item)

    line: WaitLine[str, str] = WaitLine(lambda payload: Expired(payload), give_back)
    return line


async def test_waiters_are_served_in_arrival_order() -> None:
    line = make_line()
    futures = [line.join(f"w{i}") for i in range(5)]
    assert len(line) == 5
    assert line
    for item in "abcde":
        assert line.serve(item)
    assert [f.result() for f in futures] == list("abcde")
    assert not line
    assert len(line) == 0
    assert not line.serve("nobody")  # the caller keeps it


async def test_a_done_waiter_is_skipped() -> None:
    line = make_line()
    gone, stays = line.join("gone"), line.join("stays")
    gone.cancel()  # its task gave up
    assert len(line) == 1
    assert line.serve("x")
    assert stays.result() == "x"


async def test_first_and_pop_let_the_owner_serve_with_something_else() -> None:
    line = make_line()
    mine = asyncio.get_running_loop().create_future()
    line.add(mine, "cmd-1")
    line.join("cmd-2")
    head = line.first()
    assert head == (mine, "cmd-1")
    assert line.first() == head  # left in line
    assert line.pop() == (mine, "cmd-1")
    first = line.first()
    assert first is not None
    assert first[1] == "cmd-2"
    assert not mine.done()  # popping resolves nothing: the owner does


async def test_a_waiter_still_in_line_at_its_deadline_fails_with_expired() -> None:
    line = make_line()
    started = time.monotonic()
    with pytest.raises(Expired, match="late"):
        await line.wait("late", time.monotonic() + 0.03)
    assert time.monotonic() - started >= 0.03
    assert not line


async def test_deadlines_in_arrival_order_expire_one_by_one_on_one_timer() -> None:
    line = make_line()
    now = time.monotonic()
    futures = [line.join(f"w{i}", now + 0.02 * (i + 1)) for i in range(3)]
    assert line._timer is not None
    handle = line._timer._handle
    assert handle is not None
    line.join("no deadline")
    assert line._timer._handle is handle  # later deadlines never re-arm it
    done, _ = await asyncio.wait(futures[:1], timeout=1)
    assert futures[0] in done
    assert not futures[1].done()
    await asyncio.wait(futures, timeout=1)
    assert all(isinstance(f.exception(), Expired) for f in futures)
    assert len(line) == 1  # the waiter without a deadline is still there
    assert not line._timer.is_armed()


async def test_an_earlier_deadline_behind_a_later_one_expires_on_time() -> None:
    line = make_line()
    now = time.monotonic()
    late = line.join("late", now + 5)
    early = line.join("early", now + 0.02)
    unbounded = line.join("unbounded")
    await asyncio.wait([early], timeout=1)
    assert isinstance(early.exception(), Expired)
    assert not late.done()
    assert not unbounded.done()
    assert line.serve("x")
    assert late.result() == "x"  # order kept for the rest


async def test_a_waiter_cancelled_while_waiting_leaves_the_line_at_once() -> None:
    line = make_line()
    task = asyncio.create_task(line.wait("w", None))
    await asyncio.sleep(0)
    assert len(line._waiters) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(line._waiters) == 0


async def test_an_item_handed_to_a_cancelled_waiter_goes_to_the_next() -> None:
    kept: list[str] = []
    line = make_line(kept)
    first = asyncio.create_task(line.wait("first", None))
    second = asyncio.create_task(line.wait("second", None))
    await asyncio.sleep(0)
    assert line.serve("item")  # to the first, which has not run yet
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await second == "item"
    third = asyncio.create_task(line.wait("third", None))
    await asyncio.sleep(0)
    assert line.serve("again")
    third.cancel()
    with pytest.raises(asyncio.CancelledError):
        await third
    assert kept == ["again"]  # nobody waited: back to the owner


async def test_fail_all_fails_every_waiter_and_stops_the_timer() -> None:
    line = make_line()
    futures = [line.join(f"w{i}", time.monotonic() + 5) for i in range(3)]
    line.fail_all(lambda payload: RuntimeError(f"closed before {payload}"))
    assert [str(f.exception()) for f in futures] == [f"closed before w{i}" for i in range(3)]
    assert line._timer is not None
    assert not line._timer.is_armed()
    assert not line


async def test_slots_hand_idle_items_before_free_slots_and_keep_what_nobody_waits_for() -> None:
    slots: Slots[str] = Slots(2, lambda: Expired("slot"))
    assert slots.available()
    assert slots.take() is None
    assert slots.take() is None
    assert not slots.available()
    waiter = asyncio.create_task(slots.wait(None))
    await asyncio.sleep(0)
    slots.give("conn-a")  # straight to the waiter
    assert await waiter == "conn-a"
    assert not slots.idle
    slots.give("conn-a")
    slots.give(None)
    assert list(slots.idle) == ["conn-a"]
    assert slots.free == 1
    assert slots.take() == "conn-a"  # idle before free
    assert slots.take() is None
    assert not slots.available()
    with pytest.raises(Expired):
        await slots.wait(time.monotonic() + 0.01)
    slots.give("conn-b")
    assert slots.close(lambda: RuntimeError("closed")) == ["conn-b"]
    assert not slots.take_free()


def test_deadlines_already_past_expire_on_uvloop_too() -> None:
    # uvloop answers call_at() with a past (or sub-millisecond) time with a plain
    # Handle, which has no when(): the line's timer must not rely on it.
    uvloop = pytest.importorskip("uvloop")

    async def main() -> list[BaseException | None]:
        line = make_line()
        past = line.join("past", time.monotonic() - 1)
        later = line.join("later", time.monotonic() + 0.02)
        also_past = line.join("also past", time.monotonic() - 1)
        await asyncio.wait([past, later, also_past], timeout=1)
        return [f.exception() for f in (past, later, also_past)]

    outcomes = uvloop.run(main())
    assert [str(e) for e in outcomes] == ["past", "later", "also past"]
