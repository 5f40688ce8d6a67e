"""The retry rules (``aiopool._retry``): the named cases, the errors guide's table, each rule applied.

The rules run against a real ``Pool`` over fake connections
(``fake_connection``), so what is resent, repeated or raised is decided by
the code under test and observed on connections that script their replies.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import pytest

from aiopool import (
    AskError,
    BusyLoadingError,
    ClusterDownError,
    CommandTimeout,
    ConnectError,
    ConnectionFailure,
    ConnectionLost,
    MovedError,
    NoScriptError,
    OutcomeUnknown,
    Pool,
    PoolClosed,
    ReplyError,
    TryAgainError,
    WatchError,
)
from aiopool._protocol import encode_command
from aiopool._retry import (
    CASES,
    SLOT_UNSERVABLE_ERRORS,
    SlotRetry,
    group_never_sent,
    rerun_while_watched_keys_change,
    resend,
    resend_many,
    routed_again,
    run_loading_script,
)

from .fake_connection import FakeConnection, FakeConnector, assert_balanced, make_pool

ERRORS_GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide" / "errors.md"


@pytest.fixture
def connector() -> FakeConnector:
    return FakeConnector()


# -- the table -----------------------------------------------------------------------------


def render_cases() -> str:
    """The errors guide's failure-semantics table, as ``CASES`` says it must read."""
    rows = [
        "| case | what happened | error you see | did the command run? | what aiopool does |",
        "|---|---|---|---|---|",
    ]
    rows += [f"| `{c.name}` | {c.what} | {c.error} | {c.ran} | {c.action} |" for c in CASES]
    return "\n".join(rows)


def guide_table() -> str:
    text = ERRORS_GUIDE.read_text(encoding="utf-8")
    section = text.split("\n## Failure semantics\n", 1)[1].split("\n## ", 1)[0]
    tables = re.findall(r"(?m)^\|.*\|$(?:\n^\|.*\|$)*", section)
    assert tables, "no table under ## Failure semantics in docs/guide/errors.md"
    return str(tables[0])


def test_the_guide_s_failure_table_is_the_retry_modules_table() -> None:
    assert guide_table() == render_cases(), (
        "docs/guide/errors.md's failure-semantics table differs from aiopool._retry.CASES; "
        "replace it with:\n\n" + render_cases()
    )


def test_the_readme_check_would_see_a_changed_row() -> None:
    # A guard on the guard: the comparison is over the rows, not just the header.
    table = guide_table()
    assert table.count("\n") == len(CASES) + 1
    assert "`never-sent`" in table
    assert "Resent on a fresh connection" in table


def test_every_case_has_a_unique_name_and_says_what_is_done() -> None:
    names = [case.name for case in CASES]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+)*", name) for name in names), names
    for case in CASES:
        assert all((case.what, case.error, case.ran, case.action)), case
        assert "|" not in case.what + case.error + case.ran + case.action, case


# -- never sent, outcome unknown -------------------------------------------------------------

GET = ("GET", "k")
INCR = ("INCR", "k")


def not_sent() -> ConnectionFailure:
    return ConnectionFailure("GET was not sent: the connection was reset", "fake:1")


def lost() -> ConnectionLost:
    return ConnectionLost("the connection was lost after GET was written", "fake:1")


def replies_on_new_connections(connector: FakeConnector, *replies: Any) -> None:
    """The n-th connection the pool opens answers its first request with ``replies[n]``."""
    pending = list(replies)

    def script(conn: FakeConnection) -> None:
        if pending:
            conn.replies.append(pending.pop(0))

    connector.on_new = script


async def first_attempt(pool: Pool, args: tuple[Any, ...]) -> Any:
    """What ``Client`` does: one try on a pooled connection, then ``resend``."""
    data = encode_command(args)
    conn = await pool._acquire()
    try:
        return await conn.request(data, args, True)
    except (ConnectionFailure, OutcomeUnknown) as exc:
        failure = exc
    finally:
        pool._release(conn)
    return await resend(pool, failure, data, args)


async def test_a_command_never_sent_is_resent_whatever_it_is(connector: FakeConnector) -> None:
    replies_on_new_connections(connector, not_sent(), 11)
    async with make_pool(connector, max_size=2) as pool:
        assert await first_attempt(pool, INCR) == 11
        assert [c.requests for c in connector.made] == [[INCR], [INCR]]
        stats = assert_balanced(pool)
        assert (stats.acquired, stats.closed) == (2, 1)


async def test_resends_are_bounded_by_max_size_then_the_failure_is_raised(
    connector: FakeConnector,
) -> None:
    replies_on_new_connections(connector, *(not_sent() for _ in range(10)))
    async with make_pool(connector, max_size=2) as pool:
        with pytest.raises(ConnectionFailure) as caught:
            await first_attempt(pool, INCR)
        assert not isinstance(caught.value, OutcomeUnknown)
        assert connector.calls == 3  # the first attempt and max_size=2 resends
        assert_balanced(pool)


async def test_an_unknown_outcome_is_raised_without_retry_safe_commands(
    connector: FakeConnector,
) -> None:
    replies_on_new_connections(connector, lost(), b"v")
    async with make_pool(connector, max_size=2) as pool:
        with pytest.raises(ConnectionLost):
            await first_attempt(pool, GET)
        assert connector.calls == 1
        assert_balanced(pool)


async def test_an_unknown_outcome_is_repeated_only_when_safe_and_allowed(
    connector: FakeConnector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="aiopool.client")
    replies_on_new_connections(connector, lost(), b"v")
    async with make_pool(connector, max_size=2, retry_safe_commands=1) as pool:
        assert await first_attempt(pool, GET) == b"v"  # safe: repeated
        assert "repeating GET (safe to repeat)" in caplog.text
        connector.made[1].replies.append(lost())
        with pytest.raises(ConnectionLost):
            await first_attempt(pool, INCR)  # not safe: raised
        assert [c.requests for c in connector.made] == [[GET], [GET, INCR]]
        assert connector.calls == 2
        assert_balanced(pool)


async def test_a_command_timeout_is_an_unknown_outcome_too(connector: FakeConnector) -> None:
    timeout = CommandTimeout("no reply to GET within command_timeout=0.1s", "fake:1")
    replies_on_new_connections(connector, timeout, b"v")
    async with make_pool(connector, max_size=2, retry_safe_commands=1) as pool:
        assert await first_attempt(pool, GET) == b"v"


async def test_once_an_outcome_was_unknown_a_later_not_sent_never_hides_it(
    connector: FakeConnector,
) -> None:
    first = lost()
    replies_on_new_connections(connector, first, not_sent(), not_sent(), not_sent())
    async with make_pool(connector, max_size=2, retry_safe_commands=1) as pool:
        with pytest.raises(ConnectionLost) as caught:
            await first_attempt(pool, GET)
        assert caught.value is first
        assert_balanced(pool)


async def test_a_repeat_that_cannot_get_a_connection_raises_the_unknown_outcome(
    connector: FakeConnector,
) -> None:
    first = lost()
    replies_on_new_connections(connector, first)
    async with make_pool(
        connector, min_size=1, max_size=1, retry_safe_commands=1, acquire_timeout=0.1
    ) as pool:
        connector.failures = 10_000  # the repeat's connection cannot be opened
        with pytest.raises(ConnectionLost) as caught:
            await first_attempt(pool, GET)
        assert caught.value is first
        assert isinstance(caught.value.__cause__, ConnectError)
        assert connector.calls > 1


async def test_a_pipeline_is_repeated_only_if_every_command_is_safe(
    connector: FakeConnector,
) -> None:
    replies_on_new_connections(connector, [b"a", b"b"], [b"c", b"d"])

    async def many(pool: Pool, commands: list[tuple[Any, ...]]) -> list[Any]:
        data = b"".join(encode_command(args) for args in commands)
        return await resend_many(pool, lost(), data, len(commands), "a pipeline", 1.0, commands)

    async with make_pool(connector, max_size=2, retry_safe_commands=1) as pool:
        assert await many(pool, [GET, ("MGET", "a")]) == [b"a", b"b"]
        with pytest.raises(ConnectionLost):
            await many(pool, [GET, INCR])
        assert connector.calls == 1  # the unsafe pipeline was never repeated
        assert_balanced(pool)


# -- transactions and scripts ------------------------------------------------------------------


class FakeAttempt:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def __aenter__(self) -> FakeAttempt:
        self.log.append("open")
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.log.append("close")


async def test_a_transaction_runs_again_while_exec_finds_a_watched_key_changed() -> None:
    log: list[str] = []
    outcomes: list[Any] = [WatchError("changed"), WatchError("changed"), ["OK"]]

    async def prepare(attempt: FakeAttempt) -> None:
        log.append("prepare")

    async def execute(attempt: FakeAttempt) -> list[Any]:
        outcome = outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return list(outcome)

    result = await rerun_while_watched_keys_change(
        lambda: FakeAttempt(log), prepare, execute, attempts=5
    )
    assert result == ["OK"]
    assert log == ["open", "prepare", "close"] * 3


async def test_a_transaction_gives_up_after_its_attempts() -> None:
    calls = 0

    async def execute(attempt: FakeAttempt) -> list[Any]:
        nonlocal calls
        calls += 1
        raise WatchError("changed")

    async def prepare(attempt: FakeAttempt) -> None:
        pass

    with pytest.raises(WatchError, match="during each of 3 attempts"):
        await rerun_while_watched_keys_change(lambda: FakeAttempt([]), prepare, execute, 3)
    assert calls == 3


async def test_a_watch_error_from_the_users_function_is_not_a_conflict() -> None:
    async def prepare(attempt: FakeAttempt) -> None:
        raise WatchError("from a transaction of the user's own")

    async def execute(attempt: FakeAttempt) -> list[Any]:
        raise AssertionError("never reached")

    log: list[str] = []
    with pytest.raises(WatchError, match="of the user's own"):
        await rerun_while_watched_keys_change(lambda: FakeAttempt(log), prepare, execute, 5)
    assert log == ["open", "close"]


async def test_noscript_loads_the_script_and_runs_it_again_once() -> None:
    log: list[str] = []
    replies: list[Any] = [NoScriptError("NOSCRIPT"), "result"]

    async def run() -> Any:
        log.append("evalsha")
        reply = replies.pop(0)
        if isinstance(reply, BaseException):
            raise reply
        return reply

    async def load() -> None:
        log.append("load")

    assert await run_loading_script(run, load) == "result"
    assert log == ["evalsha", "load", "evalsha"]
    replies[:] = [NoScriptError("NOSCRIPT"), NoScriptError("NOSCRIPT again")]
    with pytest.raises(NoScriptError, match="again"):
        await run_loading_script(run, load)


# -- the cluster -------------------------------------------------------------------------------


def test_redirects_and_unservable_slots_are_routed_again() -> None:
    assert routed_again(MovedError("MOVED 3 10.0.0.1:7000"))
    assert routed_again(AskError("ASK 3 10.0.0.1:7000"))
    assert routed_again(TryAgainError("TRYAGAIN"))
    assert routed_again(ClusterDownError("CLUSTERDOWN"))
    assert not routed_again(ReplyError("WRONGTYPE"))
    assert not routed_again(b"OK")


def test_a_group_that_never_left_is_routed_command_by_command() -> None:
    assert group_never_sent(not_sent())
    assert group_never_sent(PoolClosed("the node's pool was closed"))
    assert group_never_sent(ConnectError("refused", "fake:1"))
    assert not group_never_sent(lost())
    assert not group_never_sent(ReplyError("ERR"))


def test_the_unservable_slot_errors_are_those_where_nothing_ran() -> None:
    assert set(SLOT_UNSERVABLE_ERRORS) == {
        TryAgainError,
        ClusterDownError,
        BusyLoadingError,
        ConnectError,
        PoolClosed,
    }


async def test_a_slot_is_retried_with_backoff_until_retry_timeout() -> None:
    retrying = SlotRetry(timeout=0.2)
    started = time.monotonic()
    error = TryAgainError("TRYAGAIN")
    pauses = 0

    async def until_given_up() -> None:
        nonlocal pauses
        while True:
            await retrying.pause(error, 42)
            pauses += 1

    with pytest.raises(TryAgainError) as caught:
        await until_given_up()
    elapsed = time.monotonic() - started
    assert caught.value is error
    assert any("retry_timeout=0.2s" in note and "slot 42" in note for note in error.__notes__)
    assert pauses >= 3  # ceilings of 20, 40, 80 ms fit several tries in 0.2 s
    assert elapsed < 0.2 + 0.01  # never sleeps past the deadline


async def test_slot_retries_are_cancellable() -> None:
    retrying = SlotRetry(timeout=30)
    retrying.attempt = 10  # a long backoff
    task = asyncio.create_task(retrying.pause(TryAgainError("TRYAGAIN"), 1))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_cluster_transaction_refused_with_moved_counts_as_an_attempt() -> None:
    moves: list[tuple[int, str]] = []
    outcomes: list[Any] = [MovedError("MOVED 7 10.0.0.2:7000"), ["OK"]]

    async def prepare(attempt: FakeAttempt) -> None:
        pass

    async def execute(attempt: FakeAttempt) -> list[Any]:
        outcome = outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return list(outcome)

    def moved(exc: MovedError) -> None:
        moves.append((exc.slot, exc.address))

    log: list[str] = []
    result = await rerun_while_watched_keys_change(
        lambda: FakeAttempt(log), prepare, execute, 5, moved=moved
    )
    assert result == ["OK"]
    assert moves == [(7, "10.0.0.2:7000")]
    assert log == ["open", "close"] * 2
    outcomes[:] = [MovedError("MOVED 7 10.0.0.3:7000")] * 2
    with pytest.raises(WatchError, match="or their slot moved"):
        await rerun_while_watched_keys_change(
            lambda: FakeAttempt(log), prepare, execute, 2, moved=moved
        )
    outcomes[:] = [MovedError("MOVED 7 10.0.0.3:7000")]
    with pytest.raises(MovedError):  # without moved=, a MOVED is not this rule's business
        await rerun_while_watched_keys_change(lambda: FakeAttempt(log), prepare, execute, 2)
