"""The fault suite: every fault aiopool is tested against, in one place.

Each case checks three things: the operation fails (or succeeds) within a
bounded time with the right typed error and a message naming the server and
the option at fault; the same pool then serves every caller its own replies;
and the pool's counts balance (nothing borrowed, nothing opening, every
connection ever opened either idle or closed, and the server side sees no
socket the pool does not own). A hanging test is a failing one: every
operation runs under a finite bound, and the module has a per-test timeout.

Every client is built by ``make_client`` in the mode of ``client_mode``
(``fault_support.CLIENT_MODES``): the plain pool (``pool``) and
auto-pipelining (``auto``), where commands share one or two of the pool's
connections. The table gives the plain pool's outcomes. With auto-pipelining
they are the same, except:

* a shared connection stays lent (``in_use``, ``stats().shared``) until idle
  for a second: "at rest" means nothing queued, in flight or waiting on it
  (``fault_support.settle``; ``release=True`` waits for it to go back);
* a caller cancelled after its command was written on a shared connection
  leaves the connection in place (``closed`` unchanged): its reply is read and
  dropped, and the next callers get their own (a pipeline still has a
  connection of its own, aborted as in the plain pool);
* a reply followed by bytes nobody asked for may reach its caller (the bytes
  are the protocol error, on the connection they came on);
* a test whose fault must hit a pipeline's commands first opens the
  pipeline's own connection (``warm_exclusive``), or the fault would hit its
  handshake; a pool of one is a pool of two (one shared, one exclusive), and
  the maxclients case leaves room for one connection (the second shared one
  is refused) since 2 shared connections serve every worker.

================================================  ===============================================
fault                                             expected outcome
================================================  ===============================================
cancelled after the send (GET, INCR, pipeline),   ``CancelledError`` / ``TimeoutError`` at once;
by ``task.cancel()`` or ``asyncio.timeout``       the connection aborted (``closed`` +1; auto:
                                                  the reply dropped, ``closed`` +0); the INCR
                                                  ran exactly once
cancelled after the send, 60 times at 20 delays   every caller gets its own reply or
around the reply's arrival, under load            ``CancelledError``; ``closed`` == cancellations
                                                  (auto: cancelled pipelines); the counter ==
                                                  INCRs that reached the server
reply late, or stops mid-reply (single command    ``CommandTimeout`` (``OutcomeUnknown``) within
and pipeline)                                     ``command_timeout``, naming it and the command
garbled reply (bad type byte, bad integer, bad    ``ProtocolError`` naming the server and the
bulk or array length, undecodable with            command; connection aborted
``decode_responses``; single and pipeline)
bytes after a complete reply (an unsolicited      ``ProtocolError`` naming the server and the
extra reply; a bulk longer than its length)       command; the next caller gets its own reply
truncated reply (0, 1, 4, 50 bytes; pipeline;     ``ConnectionLost`` (``OutcomeUnknown``) naming
a 8 MB reply cut at 3 MB)                         the command; not repeated (retries off)
server killed then restarted, under load          ``ConnectionLost`` / ``ConnectionFailure`` /
(AOF ``always``)                                  ``ConnectError`` / ``PoolTimeout``, each within
                                                  its bound; every acknowledged SET survives;
                                                  counters within [acked, acked + unknown]
server paused (SIGSTOP) then resumed, under load  ``CommandTimeout`` / ``ConnectError`` /
                                                  ``PoolTimeout``; same ledger checks
blackhole (held, or dropped) then heal, under     as for the paused server
load
idle connections reset (RST)                      next commands all succeed, INCR exactly once:
                                                  the EOF is seen, or the health check PING finds
                                                  them; a GET written on one is repeated with
                                                  ``retry_safe_commands=1``
connect fails: nothing listening, refused,        ``ConnectError`` within ``acquire_timeout``
accepted and never answered, SYN never answered   naming host:port, the attempts and (for hangs)
                                                  ``connect_timeout``; the pool works once the
                                                  server does
connect retries cut short by acquire_timeout      ``ConnectError`` naming the last real failure,
(the loop woke up late from a backoff)            not the attempt the deadline cut short
maxclients reached, under load                    ``ConnectError`` naming the limit, or
                                                  ``PoolTimeout``; callers that got a
                                                  connection get their replies; nothing ran
server ``LOADING`` while it starts                commands wait and succeed within
                                                  ``acquire_timeout``; past it ``ConnectError``
                                                  naming LOADING, also with ``client_name``/``db``
                                                  (the handshake always ends with a PING)
``LOADING`` on a pooled connection (DEBUG         ``BusyLoadingError`` at once (a reply error,
RELOAD)                                           not retried); the connection is kept
huge replies: a 32 MB value, a pipeline of 16 MB  correct bytes, others served meanwhile
3000 tasks on a pool of 2                         every task its own replies; 2 connections
retry rules (``retry_safe_commands``) after a     GET, plain SET and an all-read pipeline are
cut reply or a timeout                            repeated once (proxy sees 2); INCR, SET NX,
                                                  SET GET, a pipeline with INCR, and anything
                                                  with the option at 0 raise ``OutcomeUnknown``
                                                  (proxy sees 1); the budget is one repeat
================================================  ===============================================

Also fault cases, tested where they were written (not repeated here):
``test_pool_faults.py``: idle connection killed server-side (health check /
EOF), killed just before a command, refill to ``min_size``, restart under load
of ECHO, server coming up during backoff, failed warm-up, frozen server during
the handshake (password), command timeout on a frozen server, a 32 MB write to
a frozen server, aclose while connecting, wrong or missing password,
maxclients for one connection (plain, password, client name).
``test_cancellation.py``: cancellation while waiting for a slot, connecting,
in the backoff, in the health check, writing a 32 MB value, blocked in BLPOP,
aclose cancelled, and a 150-cancellation sweep with BLPOP and explicit
borrows. ``test_fault_proxy.py``: the proxy itself, held vs. dropped requests
of a timed-out INCR, a command written right after a reset, close_after,
garbled handshake reply. ``test_pipeline.py``: cancel mid-way through a
large pipeline reply, killed server during a pipeline.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from aiopool import (
    BusyLoadingError,
    Client,
    CommandTimeout,
    ConnectError,
    ConnectionFailure,
    ConnectionLost,
    OutcomeUnknown,
    PoolTimeout,
    ProtocolError,
)
from aiopool.testing import FaultProxy, RedisServer

from .fault_support import (
    CLIENT_MODES,
    ClientFactory,
    Ledger,
    assert_no_leak,
    assert_recovered,
    build_client,
    fails_within,
    full_backlog_port,
    is_auto,
    no_time_left,
    outcome_of,
    proxy_address,
    server_is_loading,
    settle,
    warm_exclusive,
)
from .pool_support import (
    RawConnection,
    address,
    admin,
    assert_own_replies,
    cancel_and_settle,
    connected_clients,
    free_port,
    wait_until,
)

# A hang fails the test well before pytest's global 60 s.
pytestmark = pytest.mark.timeout(30)


# -- fixtures ----------------------------------------------------------------------


@pytest.fixture(params=list(CLIENT_MODES))
def client_mode(request: pytest.FixtureRequest) -> str:
    """How the suite's clients drive the pool (``fault_support.CLIENT_MODES``)."""
    return str(request.param)


@pytest.fixture
async def make_client(client_mode: str) -> AsyncIterator[ClientFactory]:
    """``make_client(url, **options)``: a client in the mode under test, closed after."""
    made: list[Client] = []

    def factory(url: str, **options: object) -> Client:
        client = build_client(client_mode, url, **options)
        made.append(client)
        return client

    yield factory
    for client in made:
        await client.aclose()


def key(prefix: str = "fault") -> str:
    return f"{prefix}:{uuid.uuid4().hex[:10]}"


# -- cancellation after the send ------------------------------------------------------


async def _run(client: Client, kind: str, counter: str, name: str) -> Any:
    if kind == "GET":
        return await client.get(name)
    if kind == "INCR":
        return await client.incr(counter)
    async with client.pipeline(transaction=False) as pipe:
        pipe.incr(counter).get(name)
        return await pipe.execute()


@pytest.mark.parametrize("kind", ["GET", "INCR", "pipeline"])
@pytest.mark.parametrize("how", ["cancel", "asyncio.timeout"])
async def test_cancelled_after_the_send_never_leaks_the_reply_and_the_command_ran(
    how: str, kind: str, make_client: ClientFactory, fault_proxy: FaultProxy, redis_url: str
) -> None:
    counter, name = key("counter"), key()
    async with make_client(fault_proxy.url, max_size=2) as client:
        await client.set(name, "mine")
        await warm_exclusive(client)  # the pipeline's connection is open before the latency
        created = client.pool.stats().created
        fault_proxy.latency(0.3)  # the reply is still on its way when the caller gives up
        sent = "GET" if kind == "GET" else "INCR"
        started = time.monotonic()
        if how == "cancel":
            task = asyncio.create_task(_run(client, kind, counter, name))
            await fault_proxy.wait_for_command(sent, timeout=2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                async with asyncio.timeout(2):
                    await task
        else:
            with pytest.raises(TimeoutError) as caught:
                async with asyncio.timeout(0.15):
                    await _run(client, kind, counter, name)
            assert type(caught.value) is TimeoutError  # asyncio's, not a CommandTimeout
            assert fault_proxy.command_count(sent) == 1
        assert time.monotonic() - started < 0.3, "the caller waited for the late reply"
        shared = is_auto(client) and kind != "pipeline"
        if shared:
            # Auto-pipelining: the reply is still owed on the shared connection, which
            # stays; it is read and dropped when it comes.
            auto = client.auto_pipeline_stats()
            assert auto is not None
            assert auto.in_flight == 1, auto
            stats = await settle(client)
            assert stats.closed == 0, f"the shared connection was aborted: {stats}"
            assert stats.created == created, stats
        else:
            # The plain pool (and a pipeline, which never shares): the connection is aborted.
            stats = await settle(client)
            assert stats.closed == 1, stats
        fault_proxy.latency(0)
        if kind != "GET":
            assert await client.get(counter) == b"1", "the INCR ran once, as it reached the server"
        assert await client.get(name) == b"mine"
        await assert_recovered(client, sockets=lambda: fault_proxy.connections, release=shared)


async def test_cancel_after_the_send_swept_over_reply_timings_never_misdelivers(
    make_client: ClientFactory, fault_proxy: FaultProxy, redis_url: str
) -> None:
    latency = 0.02
    big = b"B" * 300_000  # arrives in several reads: some cancels land mid-reply
    counter, big_key = key("counter"), key("big")
    async with make_client(fault_proxy.url, max_size=4, command_timeout=5) as client:
        await client.set(big_key, big)
        stop = asyncio.Event()
        wrong: list[str] = []

        async def worker(i: int) -> None:
            for j in range(100_000):
                if stop.is_set():
                    return
                tag = f"w{i}-{j}"
                if await client.execute("SET", f"{big_key}:{i}", tag) != b"OK":
                    wrong.append(f"SET {tag}")
                if (got := await client.execute("GET", f"{big_key}:{i}")) != tag.encode():
                    wrong.append(f"GET {tag}: {got!r}")
                if (got := await client.execute("ECHO", tag)) != tag.encode():
                    wrong.append(f"ECHO {tag}: {got!r}")

        async def victim(n: int) -> None:
            kind = n % 3
            if kind == 0:
                if not isinstance(got := await client.execute("INCR", counter), int):
                    wrong.append(f"INCR {n}: {got!r:.80}")
            elif kind == 1:
                got = await client.execute("GETRANGE", big_key, 0, -1)
                if got != big:
                    wrong.append(f"GETRANGE {n}: {len(got)} bytes")
            else:
                async with client.pipeline(transaction=False) as pipe:
                    pipe.command("INCR", counter).command("GETRANGE", big_key, 0, 9)
                    got = await pipe.execute()
                if not (isinstance(got[0], int) and got[1] == big[:10]):
                    wrong.append(f"pipeline {n}: {got!r:.80}")

        workers = [asyncio.create_task(worker(i)) for i in range(3)]
        fault_proxy.latency(latency)
        outcomes: collections.Counter[str] = collections.Counter()
        for n in range(60):
            task = asyncio.create_task(victim(n))
            await fault_proxy.wait_for_command("INCR" if n % 3 != 1 else "GETRANGE", timeout=2)
            # 0 .. 1.5x the reply latency after the send: before, around and after it.
            await asyncio.sleep((n % 20) * latency * 0.075)
            outcome = await cancel_and_settle(task, timeout=2)
            outcomes[outcome] += 1
            if n % 3 == 2:
                outcomes[f"pipeline {outcome}"] += 1
        stop.set()
        async with asyncio.timeout(5):
            await asyncio.gather(*workers)
        fault_proxy.latency(0)

        assert not wrong, f"replies handed to the wrong caller: {wrong[:3]}"
        assert outcomes["cancelled"] > 0, outcomes
        assert outcomes["completed"] > 0, outcomes
        stats = await settle(client)
        if is_auto(client):
            # A pipeline has a connection of its own, aborted when cancelled after the
            # send; a shared connection drops a cancelled caller's reply and stays.
            assert stats.closed == outcomes["pipeline cancelled"], (stats, outcomes)
            assert outcomes["cancelled"] > outcomes["pipeline cancelled"], outcomes
        else:
            # Each cancelled command had been written: exactly one aborted connection each.
            assert stats.closed == outcomes["cancelled"], (stats, outcomes)
        # Every INCR reached the server, cancelled or not, and ran exactly once.
        assert int(await client.get(counter) or 0) == fault_proxy.command_count("INCR") == 40
        await assert_recovered(
            client, sockets=lambda: fault_proxy.connections, release=is_auto(client)
        )


# -- replies that are late, cut or not RESP -------------------------------------------


@pytest.mark.parametrize("shape", ["partial-reply", "late-reply", "pipeline-partial"])
async def test_reply_not_complete_within_command_timeout_raises_command_timeout(
    shape: str, make_client: ClientFactory, fault_proxy: FaultProxy, redis_url: str
) -> None:
    name = key()
    async with make_client(fault_proxy.url, command_timeout=0.3, max_size=2) as client:
        await client.set(name, "x" * 100)
        await warm_exclusive(client)  # a pipeline's fault hits its commands
        if shape == "late-reply":
            fault_proxy.latency(0.6)
        else:
            fault_proxy.replace_next_reply(b"$100\r\nxxxxxxxxxx")  # then the server goes quiet
        operation: Awaitable[Any]
        if shape == "pipeline-partial":
            pipe = client.pipeline(transaction=False).get(name).get(name).get(name)
            operation, command = pipe.execute(), "a pipeline of 3 commands"
        else:
            operation, command = client.get(name), "GET"
        error, elapsed = await fails_within(2, CommandTimeout, operation, shape)
        assert 0.28 <= elapsed < 0.8, elapsed
        assert isinstance(error, OutcomeUnknown)
        assert isinstance(error, TimeoutError)
        assert error.command == command
        message = str(error)
        for part in (proxy_address(fault_proxy), command, "command_timeout", "0.3s"):
            assert part in message, message
        assert "may or may not have run" in message
        stats = await settle(client)
        assert stats.closed == 1, stats
        fault_proxy.latency(0)
        assert await client.get(name) == b"x" * 100
        await assert_recovered(client, sockets=lambda: fault_proxy.connections)


_GARBLED = [
    pytest.param("garble", None, False, "GET", id="bad-type-byte"),
    pytest.param("replace", b":notanumber\r\n", False, "GET", id="bad-integer"),
    pytest.param("replace", b"$-5\r\n", False, "GET", id="bad-bulk-length"),
    pytest.param("replace", b"*-2\r\n", False, "GET", id="bad-array-length"),
    pytest.param("replace", b"$2\r\n\xff\xfe\r\n", True, "GET", id="undecodable"),
    pytest.param("garble", None, False, "a pipeline of 2 commands", id="pipeline"),
]


@pytest.mark.parametrize(("how", "data", "decode", "command"), _GARBLED)
async def test_garbled_reply_raises_protocol_error_naming_server_and_command(
    how: str,
    data: bytes | None,
    decode: bool,
    command: str,
    make_client: ClientFactory,
    fault_proxy: FaultProxy,
    redis_url: str,
) -> None:
    name = key()
    async with make_client(fault_proxy.url, max_size=2, decode_responses=decode) as client:
        await client.set(name, "value")
        await warm_exclusive(client)  # a pipeline's fault hits its commands
        if data is None:
            fault_proxy.garble_next_reply()
        else:
            fault_proxy.replace_next_reply(data)
        operation: Awaitable[Any]
        if command == "GET":
            operation = client.get(name)
        else:
            operation = client.pipeline(transaction=False).get(name).echo("two").execute()
        error, _ = await fails_within(2, ProtocolError, operation, how)
        message = str(error)
        assert proxy_address(fault_proxy) in message, message
        assert f"to {command}" in message, message
        assert "connection was closed" in message.lower(), message
        if decode:
            assert "utf-8" in message, message
            assert "decode_responses=False" in message, message
        stats = await settle(client)
        assert stats.closed == 1, stats
        assert await client.get(name) in (b"value", "value")
        await assert_recovered(client, sockets=lambda: fault_proxy.connections)


@pytest.mark.parametrize(
    ("command", "data"),
    [
        pytest.param("SET", b"+OK\r\n:666\r\n", id="unsolicited-extra-reply"),
        pytest.param("GET", b"$3\r\nabcdef\r\n", id="bulk-longer-than-its-length"),
    ],
)
async def test_bytes_after_the_reply_are_a_protocol_error_never_the_next_callers_reply(
    command: str,
    data: bytes,
    client_mode: str,
    make_client: ClientFactory,
    fault_proxy: FaultProxy,
    redis_url: str,
) -> None:
    name = key()
    # One connection for everything (auto-pipelining shares one, and keeps one of
    # its own for what it cannot share).
    async with make_client(fault_proxy.url, max_size=2 if client_mode == "auto" else 1) as client:
        await client.set(name, "value")
        fault_proxy.replace_next_reply(data)  # a reply, then bytes nobody asked for
        operation = client.set(name, "value") if command == "SET" else client.get(name)
        result = await outcome_of(operation, bound=2, what=command)
        following = await outcome_of(client.get(name), bound=2, what="the next GET")
        assert following.value == b"value", f"the next caller got {following!r}"
        if is_auto(client) and result.error is None:
            # A shared connection hands each caller the reply parsed in its place, and
            # bytes that follow it while nothing else is in flight are the protocol
            # error (hiredis reads "$3\r\nabcdef\r\n" as b"abc", then fails on "f").
            in_its_place = {"SET": True, "GET": b"abc"}[command]
            assert result.value == in_its_place, f"{command} returned {result!r}"
        else:
            assert isinstance(result.error, ProtocolError), f"{command} returned {result!r}"
            message = str(result.error)
            assert proxy_address(fault_proxy) in message, message
            assert f"reply to {command}" in message, message
            assert "connection was closed" in message, message
        # Either way the bytes nobody asked for closed the connection they came on.
        assert client.pool.stats().closed == 1
        await assert_recovered(client, sockets=lambda: fault_proxy.connections)


_TRUNCATED = [
    pytest.param(0, "GET", id="nothing"),
    pytest.param(1, "GET", id="type-byte-only"),
    pytest.param(4, "GET", id="mid-length"),
    pytest.param(50, "GET", id="mid-payload"),
    pytest.param(12, "a pipeline of 3 commands", id="pipeline-after-first-reply"),
    pytest.param(3_000_000, "GET", id="huge-reply-cut-at-3MB"),
]


@pytest.mark.parametrize(("after_bytes", "command"), _TRUNCATED)
async def test_truncated_reply_raises_connection_lost_and_is_not_repeated(
    after_bytes: int,
    command: str,
    make_client: ClientFactory,
    fault_proxy: FaultProxy,
    redis_url: str,
) -> None:
    name = key()
    value = b"v" * (8 << 20 if after_bytes > 1000 else 100)
    async with make_client(fault_proxy.url, max_size=2) as client:
        await client.set(name, value)
        await warm_exclusive(client)  # a pipeline's fault hits its commands
        if after_bytes > 1000:
            fault_proxy.close_after(after_bytes)  # a huge reply comes in many chunks
        else:
            fault_proxy.cut_next_reply(after_bytes)
        gets = fault_proxy.command_count("GET")
        operation: Awaitable[Any]
        if command == "GET":
            operation = client.get(name)
        else:
            operation = (
                client.pipeline(transaction=False).echo("first").get(name).get(name).execute()
            )
        error, _ = await fails_within(5, ConnectionLost, operation, "the cut command")
        fault_proxy.close_after(None)
        assert isinstance(error, OutcomeUnknown)
        assert isinstance(error, ConnectionFailure)
        assert not isinstance(error, ConnectError)
        assert error.address == proxy_address(fault_proxy)
        assert error.command == command
        message = str(error)
        assert proxy_address(fault_proxy) in message, message
        assert command in message, message
        assert "may or may not have run" in message, message
        sent = 1 if command == "GET" else 2
        assert fault_proxy.command_count("GET") == gets + sent, "repeated with retries off"
        stats = await settle(client)
        assert stats.closed == 1, stats
        assert await client.get(name) == value
        await assert_recovered(client, sockets=lambda: fault_proxy.connections)


# -- outages under concurrent load ------------------------------------------------------

_OUTAGE_OPTIONS: dict[str, object] = {
    "max_size": 4,
    "acquire_timeout": 0.5,
    "connect_timeout": 0.2,
    "command_timeout": 0.3,
    "reconnect_backoff": 0.02,
    "reconnect_backoff_max": 0.1,
}
# The longest one operation may take: waiting for a slot and opening a connection
# share acquire_timeout, then command_timeout; plus one resend of a command that
# provably never left (its connection was found closed as it was written), and
# scheduling slack on two busy cores.
_OP_LIMIT = 2 * (0.5 + 0.3) + 0.5


@dataclass(frozen=True)
class _Outage:
    allowed: tuple[type[BaseException], ...]  # every error must be one of these
    seen: tuple[type[BaseException], ...]  # the fault lasts until each was seen


_OUTAGES = {
    "kill-restart": _Outage(
        allowed=(ConnectionLost, ConnectionFailure, ConnectError, PoolTimeout),
        seen=(ConnectError,),
    ),
    "pause-resume": _Outage(
        allowed=(CommandTimeout, ConnectError, PoolTimeout), seen=(CommandTimeout, ConnectError)
    ),
    "blackhole-hold": _Outage(
        allowed=(CommandTimeout, ConnectError, PoolTimeout), seen=(CommandTimeout, ConnectError)
    ),
    "blackhole-drop": _Outage(
        allowed=(CommandTimeout, ConnectError, PoolTimeout), seen=(CommandTimeout, ConnectError)
    ),
}


@pytest.mark.parametrize("outage", list(_OUTAGES))
async def test_outage_under_load_fails_typed_in_bounded_time_and_loses_no_acknowledged_write(
    outage: str, make_client: ClientFactory
) -> None:
    expected = _OUTAGES[outage]
    # kill -9 keeps only what was fsynced: with appendfsync always, every acknowledged write.
    args = ["--appendonly", "yes", "--appendfsync", "always"] if outage == "kill-restart" else []
    server = await asyncio.to_thread(RedisServer(args=args).start)
    try:
        async with contextlib.AsyncExitStack() as stack:
            proxy: FaultProxy | None = None
            url, where = server.url, address(server)
            if outage.startswith("blackhole"):
                proxy = await stack.enter_async_context(FaultProxy(server.host, server.port))
                url, where = proxy.url, proxy_address(proxy)

            def sockets() -> int:
                return proxy.connections if proxy is not None else connected_clients(server) - 1

            client = await stack.enter_async_context(make_client(url, **_OUTAGE_OPTIONS))
            ledger = Ledger(client, workers=8, op_bound=5.0)
            ledger.start()
            try:
                await wait_until(
                    lambda: min(ledger.successes) >= 6, "load before the fault", timeout=5
                )
                if outage == "kill-restart":
                    await asyncio.to_thread(server.kill)
                elif outage == "pause-resume":
                    server.pause()
                else:
                    assert proxy is not None
                    proxy.blackhole(drop=outage == "blackhole-drop")
                try:
                    await wait_until(
                        lambda: all(ledger.errors_of(kind) for kind in expected.seen),
                        f"{[kind.__name__ for kind in expected.seen]} during the {outage}",
                        timeout=5,
                    )
                finally:
                    if outage == "kill-restart":
                        await asyncio.to_thread(server.restart)
                    elif outage == "pause-resume":
                        server.resume()
                    else:
                        assert proxy is not None
                        proxy.heal()
                ledger.mark()
                await wait_until(
                    lambda: min(ledger.successes) >= 9, "every worker to recover", timeout=10
                )
            finally:
                await ledger.stop()

            ledger.check_errors(expected.allowed, where)
            assert ledger.slowest <= _OP_LIMIT, f"an operation took {ledger.slowest:.2f}s"
            assert len(ledger.acked_sets) >= 8 * 2
            await asyncio.to_thread(ledger.check_server, server)
            stats = await assert_recovered(client, sockets=sockets)
            assert stats.connect_errors >= 1, stats
    finally:
        await asyncio.to_thread(server.stop)


# -- resets of idle connections --------------------------------------------------------


@pytest.mark.parametrize("noticed_by", ["eof", "health-check", "retry-safe-get"])
async def test_reset_of_every_idle_connection_is_survived_by_the_next_commands(
    noticed_by: str, make_client: ClientFactory, fault_proxy: FaultProxy, redis_url: str
) -> None:
    options: dict[str, object] = {"max_size": 4, "min_size": 4, "idle_timeout": None}
    if noticed_by == "health-check":
        options["health_check_interval"] = 0.01
    else:
        options["health_check_interval"] = None
    if noticed_by == "retry-safe-get":
        options["retry_safe_commands"] = 1
    name, counter = key(), key("counter")
    async with make_client(fault_proxy.url, **options) as client:
        await client.set(name, "kept")
        await settle(client, release=True)  # auto-pipelining gives its connection back
        async with contextlib.AsyncExitStack() as stack:
            idle = [await stack.enter_async_context(client.pool.acquire()) for _ in range(4)]
        assert fault_proxy.connections == 4
        if noticed_by == "health-check":
            await asyncio.sleep(0.02)  # idle past health_check_interval
        fault_proxy.reset_all()
        if noticed_by == "eof":
            await wait_until(
                lambda: not any(conn.is_pooled_and_open() for conn in idle),
                "the pool to see every reset",
            )

        async def one(i: int) -> Any:
            if noticed_by == "retry-safe-get":
                return await client.get(name)  # may be written on a reset connection
            return (await client.incr(counter), await client.get(name))

        results = await outcome_of(
            asyncio.gather(*(one(i) for i in range(20))), bound=5, what="commands after the reset"
        )
        assert results.error is None, f"{results.error!r} after the reset ({noticed_by})"
        if noticed_by == "retry-safe-get":
            assert results.value == [b"kept"] * 20
        else:
            assert sorted(count for count, _ in results.value) == list(range(1, 21))
            assert {value for _, value in results.value} == {b"kept"}
            assert await client.get(counter) == b"20", "an INCR ran twice or not at all"
        if is_auto(client):
            # The shared connections took only some of the reset ones; the pool finds
            # the others when it next lends them (as with fewer callers than
            # connections in the plain pool mode): borrow each.
            async with contextlib.AsyncExitStack() as stack:
                for _ in range(client.pool.stats().idle):
                    await stack.enter_async_context(client.pool.acquire())
        stats = await assert_recovered(client, sockets=lambda: fault_proxy.connections)
        assert stats.closed >= 4, stats


# -- connections that cannot be opened ------------------------------------------------


@pytest.mark.parametrize(
    "fault", ["nothing-listening", "refused", "accepted-never-answered", "syn-never-answered"]
)
async def test_connection_that_cannot_be_opened_raises_connect_error_within_acquire_timeout(
    fault: str, make_client: ClientFactory, redis_server: RedisServer
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        proxy: FaultProxy | None = None
        if fault in ("refused", "accepted-never-answered"):
            proxy = await stack.enter_async_context(
                FaultProxy(redis_server.host, redis_server.port)
            )
            if fault == "refused":
                proxy.refuse_new()
            else:
                proxy.hang_new()
            port = proxy.port
        elif fault == "syn-never-answered":
            port = stack.enter_context(full_backlog_port())
        else:
            port = free_port()
        where = f"127.0.0.1:{port}"
        client = make_client(
            f"redis://{where}/0",
            acquire_timeout=0.5,
            connect_timeout=0.2,
            reconnect_backoff=0.02,
            reconnect_backoff_max=0.05,
        )
        error, elapsed = await fails_within(3, ConnectError, client.ping(), fault)
        assert elapsed < 0.5 + 0.3, elapsed
        assert error.address == where
        message = str(error)
        assert where in message, message
        assert "acquire_timeout=0.5s" in message, message
        assert "attempt(s)" in message, message
        if fault in ("accepted-never-answered", "syn-never-answered"):
            assert "connect_timeout=0.2s" in message, message
        stats = assert_no_leak(client)
        assert (stats.size, stats.created) == (0, 0), stats
        assert stats.connect_errors >= 2, stats
        if proxy is not None:
            await wait_until(lambda: proxy.hanging == 0, "the abandoned sockets to be closed")
            proxy.accept_new()
            await assert_recovered(client, sockets=lambda: proxy.connections)
            return
    # Nothing listens on the port any more: a server comes up there, and the pool uses it.
    late = RedisServer(port=port)
    await asyncio.to_thread(late.start)
    try:
        await assert_recovered(client, sockets=lambda: connected_clients(late) - 1)
    finally:
        await client.aclose()
        await asyncio.to_thread(late.stop)


async def test_connect_error_names_the_last_real_failure_when_the_deadline_cuts_the_retries(
    make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(random, "uniform", lambda low, high: high)  # no jitter: backoff 0.1 s
    with RedisServer(args=["--maxclients", "1"]) as server:
        hog = RawConnection(server)  # every connection of the pool is refused at once
        try:
            async with make_client(
                server.url, acquire_timeout=0.3, reconnect_backoff=0.05, reconnect_backoff_max=0.1
            ) as client:
                # A busy event loop: the task sleeping out its 0.1 s backoff wakes up late,
                # after acquire_timeout has run out.
                asyncio.get_running_loop().call_later(0.05, time.sleep, 0.3)
                error, _ = await fails_within(2, ConnectError, client.ping(), "PING")
                message = str(error)
                assert "max number of clients" in message, message
                assert "no time left" not in message, message
                hog.close()
                await assert_recovered(client, tasks=1)
        finally:
            hog.close()


async def test_maxclients_reached_under_load_raises_connect_error_naming_the_limit(
    client_mode: str, make_client: ClientFactory
) -> None:
    # The plain pool can have 4 connections at most, and 12 workers want more.
    # Auto-pipelining serves them all on 2 shared connections: it can have 1, so
    # opening the second is refused.
    room = 1 if client_mode == "auto" else 4
    with RedisServer(args=["--maxclients", "6"]) as server:
        hogs = [RawConnection(server) for _ in range(6 - room)]
        try:
            async with make_client(
                server.url,
                max_size=8,
                acquire_timeout=0.5,
                reconnect_backoff=0.02,
                reconnect_backoff_max=0.05,
            ) as client:
                ledger = Ledger(client, workers=12, op_bound=5.0)
                ledger.start()
                try:
                    await wait_until(
                        lambda: min(ledger.successes) >= 6 and bool(ledger.errors_of(ConnectError)),
                        "replies, and a refused connection",
                        timeout=10,
                    )
                finally:
                    await ledger.stop()
                ledger.check_errors((ConnectError, PoolTimeout), address(server))
                refusals = [
                    exc
                    for exc in ledger.errors_of(ConnectError)
                    if "max number of clients" in str(exc)
                ]
                assert refusals, "no ConnectError named the maxclients refusal"
                for exc in ledger.errors_of(ConnectError):
                    if exc in refusals:
                        assert "maxclients" in str(exc), exc
                    else:
                        assert no_time_left(exc), exc
                assert not ledger.errors_of(OutcomeUnknown), "a refused command may have run"
                assert ledger.slowest <= 0.5 + 0.5, ledger.slowest
                assert client.pool.stats().size <= room
                for hog in hogs:
                    hog.close()
                await asyncio.to_thread(ledger.check_server, server)
                # 4 callers at a time: the pool needs no connection beyond the 4 it has.
                await assert_recovered(
                    client, sockets=lambda: connected_clients(server) - 1, tasks=4
                )
        finally:
            for hog in hogs:
                hog.close()


# -- a server loading its dataset --------------------------------------------------------

_LOADING_KEYS = 8000  # with key-load-delay, about 0.8 s of LOADING


@pytest.fixture
def loading_server() -> Iterator[RedisServer]:
    """A server with a saved dataset that takes about a second to load at each (re)start."""
    args = [
        "--enable-debug-command",
        "yes",
        "--key-load-delay",
        "10",  # microseconds per key (a debugging option of Redis)
        "--loading-process-events-interval-bytes",
        "1024",  # answer LOADING promptly while loading
    ]
    with RedisServer(args=args) as server:
        admin(server, "DEBUG", "POPULATE", _LOADING_KEYS)
        admin(server, "SAVE")
        yield server


async def _restart_loading(server: RedisServer) -> asyncio.Task[None]:
    """Restart ``server`` in a thread; return once it answers LOADING (the thread ends loaded)."""
    restart = asyncio.create_task(asyncio.to_thread(server.restart))
    await wait_until(lambda: server_is_loading(server), "the server to be LOADING", timeout=5)
    return restart


async def test_commands_while_the_server_loads_wait_and_succeed_within_acquire_timeout(
    make_client: ClientFactory, loading_server: RedisServer
) -> None:
    server = loading_server
    async with make_client(
        server.url, max_size=4, acquire_timeout=8, reconnect_backoff=0.02, reconnect_backoff_max=0.1
    ) as client:
        restart = await _restart_loading(server)
        try:
            results = await outcome_of(
                asyncio.gather(*(client.get(f"key:{i}") for i in range(12))),
                bound=8,
                what="GETs during LOADING",
            )
        finally:
            await restart
        assert results.error is None, repr(results.error)
        assert results.value == [f"value:{i}".encode() for i in range(12)]
        assert results.elapsed < 8
        stats = await assert_recovered(client, sockets=lambda: connected_clients(server) - 1)
        assert stats.connect_errors >= 1, "LOADING was never seen"
        assert await client.dbsize() >= _LOADING_KEYS


async def test_loading_longer_than_acquire_timeout_raises_connect_error_naming_loading(
    make_client: ClientFactory, loading_server: RedisServer
) -> None:
    server = loading_server
    async with make_client(
        server.url, acquire_timeout=0.3, reconnect_backoff=0.02, reconnect_backoff_max=0.05
    ) as client:
        restart = await _restart_loading(server)
        try:
            error, elapsed = await fails_within(2, ConnectError, client.get("key:1"), "GET")
            assert server_is_loading(server), "loading ended before the GET gave up"
        finally:
            await restart
        assert elapsed < 0.3 + 0.3, elapsed
        message = str(error)
        for part in (address(server), "acquire_timeout=0.3s", "attempt(s)"):
            assert part in message, message
        assert "LOADING" in message, message
        assert_no_leak(client)
        assert await client.get("key:1") == b"value:1"
        await assert_recovered(client, sockets=lambda: connected_clients(server) - 1)


@pytest.mark.parametrize("extra", [{"client_name": "loader"}, {"db": 1}], ids=["client_name", "db"])
async def test_commands_while_loading_wait_also_when_the_handshake_is_allowed_during_loading(
    extra: dict[str, object], make_client: ClientFactory, loading_server: RedisServer
) -> None:
    server = loading_server
    async with make_client(
        server.url, acquire_timeout=8, reconnect_backoff=0.02, reconnect_backoff_max=0.1, **extra
    ) as client:
        restart = await _restart_loading(server)
        try:
            result = await outcome_of(client.dbsize(), bound=8, what="DBSIZE during LOADING")
        finally:
            await restart
        assert result.error is None, repr(result.error)
        await assert_recovered(client)


async def test_loading_reply_on_a_pooled_connection_raises_busy_loading_error_at_once(
    make_client: ClientFactory, loading_server: RedisServer
) -> None:
    server = loading_server
    async with make_client(server.url, max_size=2) as client:
        assert await client.get("key:1") == b"value:1"  # one pooled connection
        reload = asyncio.create_task(asyncio.to_thread(admin, server, "DEBUG", "RELOAD"))
        try:
            await wait_until(lambda: server_is_loading(server), "DEBUG RELOAD to load", timeout=5)
            error, elapsed = await fails_within(2, BusyLoadingError, client.get("key:1"), "GET")
            assert server_is_loading(server)
        finally:
            assert await reload == b"OK"
        assert elapsed < 0.3, "a LOADING reply is an answer: not retried, not waited on"
        assert error.code == "LOADING", error
        assert "loading" in str(error), error
        stats = assert_no_leak(client)
        assert (stats.created, stats.closed) == (1, 0), "a reply error keeps its connection"
        assert await client.get("key:1") == b"value:1"
        await assert_recovered(
            client, sockets=lambda: connected_clients(server) - 1, release=is_auto(client)
        )


# -- big and many ----------------------------------------------------------------------


async def test_huge_value_of_32_mb_round_trips_while_other_callers_get_their_replies(
    make_client: ClientFactory, redis_url: str
) -> None:
    value = b"0123456789abcdef" * (2 << 20)  # 32 MB
    name = key("huge")
    async with make_client(redis_url, max_size=4) as client:

        async def huge() -> bytes:
            assert await client.set(name, value) is True
            got: bytes = await client.get(name)
            return got

        results = await outcome_of(
            asyncio.gather(huge(), assert_own_replies(client, tasks=30)),
            bound=20,
            what="a 32 MB round trip",
        )
        assert results.error is None, repr(results.error)
        assert results.value[0] == value
        assert await client.strlen(name) == len(value)
        assert await client.delete(name) == 1
        await assert_recovered(client)


async def test_pipeline_of_16_mb_each_way_returns_every_value(
    make_client: ClientFactory, redis_url: str
) -> None:
    values = {key("mb"): bytes([65 + i]) * (1 << 20) for i in range(16)}
    async with make_client(redis_url, max_size=2) as client:
        pipe = client.pipeline(transaction=False)
        for name, value in values.items():
            pipe.set(name, value)
        for name in values:
            pipe.get(name)
        results = await outcome_of(pipe.execute(), bound=20, what="a 16 MB pipeline")
        assert results.error is None, repr(results.error)
        assert results.value == [True] * 16 + list(values.values())
        assert await client.delete(*values) == 16
        await assert_recovered(client)


async def test_three_thousand_tasks_on_a_pool_of_two_each_get_their_own_replies(
    make_client: ClientFactory, redis_url: str
) -> None:
    tasks, counter, tag = 3000, key("counter"), key("many")
    async with make_client(redis_url, max_size=2, acquire_timeout=30) as client:
        largest = 0

        async def one(i: int) -> tuple[int, Any, Any]:
            nonlocal largest
            name = f"{tag}:{i}"
            await client.set(name, i)
            largest = max(largest, client.pool.stats().size)
            return i, await client.get(name), await client.incr(counter)

        results = await outcome_of(
            asyncio.gather(*(one(i) for i in range(tasks))), bound=25, what="3000 tasks"
        )
        assert results.error is None, repr(results.error)
        wrong = [(i, got) for i, got, _ in results.value if got != str(i).encode()]
        assert not wrong, f"replies handed to the wrong task: {wrong[:5]}"
        assert sorted(count for _, _, count in results.value) == list(range(1, tasks + 1))
        assert largest <= 2
        stats = await assert_recovered(client)
        auto = client.auto_pipeline_stats()
        if auto is None:
            assert (stats.created, stats.closed) == (2, 0), stats
            assert stats.acquired >= 3 * tasks
        else:
            # Every command went over the one shared connection (the other is kept
            # for what cannot be shared), many to a write.
            assert (stats.created, stats.closed) == (1, 0), stats
            assert auto.commands >= 3 * tasks, auto
            assert auto.writes < auto.commands, auto


# -- what is repeated, and what is not ---------------------------------------------------


@dataclass(frozen=True)
class _RetryCase:
    retries: int  # retry_safe_commands
    fault: str  # "cut": the reply is cut; "cut-twice"; "timeout": the reply is late
    command: str  # the command counted at the proxy
    named: str  # what the error names
    repeated: bool  # the command is run again (and the call succeeds, unless cut twice)


_RETRY_CASES = {
    "GET-retry-1": _RetryCase(1, "cut", "GET", "GET", True),
    "GET-retry-0": _RetryCase(0, "cut", "GET", "GET", False),
    "INCR-retry-1": _RetryCase(1, "cut", "INCR", "INCR", False),
    "SET-retry-1": _RetryCase(1, "cut", "SET", "SET", True),
    "SET-NX-retry-1": _RetryCase(1, "cut", "SET", "SET", False),
    "SET-GET-retry-1": _RetryCase(1, "cut", "SET", "SET", False),
    "pipeline-of-reads-retry-1": _RetryCase(1, "cut", "GET", "a pipeline of 3 commands", True),
    "pipeline-with-INCR-retry-1": _RetryCase(1, "cut", "INCR", "a pipeline of 2 commands", False),
    "GET-cut-twice-retry-1": _RetryCase(1, "cut-twice", "GET", "GET", True),
    "GET-timeout-retry-1": _RetryCase(1, "timeout", "GET", "GET", True),
}


def _retry_operation(case_id: str, client: Client, name: str) -> Awaitable[Any]:
    if case_id.startswith("GET"):
        return client.get(name)
    if case_id == "INCR-retry-1":
        return client.incr(f"{name}:n")
    if case_id == "SET-retry-1":
        return client.set(name, "new")
    if case_id == "SET-NX-retry-1":
        return client.set(f"{name}:nx", "new", nx=True)
    if case_id == "SET-GET-retry-1":
        return client.set(name, "new", get=True)
    if case_id == "pipeline-of-reads-retry-1":
        return (
            client.pipeline(transaction=False)
            .get(name)
            .mget(name, f"{name}:none")
            .exists(name)
            .execute()
        )
    assert case_id == "pipeline-with-INCR-retry-1"
    return client.pipeline(transaction=False).get(name).incr(f"{name}:n").execute()


@pytest.mark.parametrize("case_id", list(_RETRY_CASES))
async def test_outcome_unknown_is_repeated_only_when_safe_and_allowed(
    case_id: str, make_client: ClientFactory, fault_proxy: FaultProxy, redis_url: str
) -> None:
    case = _RETRY_CASES[case_id]
    name = key()
    async with make_client(
        fault_proxy.url, max_size=2, command_timeout=0.2, retry_safe_commands=case.retries
    ) as client:
        await client.set(name, "old")
        await warm_exclusive(client)  # a pipeline's fault hits its commands
        before = fault_proxy.command_count(case.command)
        if case.fault == "timeout":
            fault_proxy.latency(0.3)  # every reply later than command_timeout
        elif case.fault == "cut-twice":
            fault_proxy.latency(0.05)  # time to arm the second cut before the repeat's reply
        if case.fault != "timeout":
            fault_proxy.cut_next_reply(3)
        operation = asyncio.ensure_future(_retry_operation(case_id, client, name))
        if case.fault == "cut-twice":
            await fault_proxy.wait_for_command(case.command, count=before + 2, timeout=2)
            fault_proxy.cut_next_reply(3)
        result = await outcome_of(operation, bound=3, what=case_id)
        fault_proxy.latency(0)
        seen = fault_proxy.command_count(case.command) - before

        assert seen == (2 if case.repeated else 1), f"{case.command} sent {seen} time(s)"
        if case.repeated and case.fault == "cut":
            assert result.error is None, f"not repeated: {result.error!r}"
            expected: Any = {
                "GET-retry-1": b"old",
                "SET-retry-1": True,
                "pipeline-of-reads-retry-1": [b"old", [b"old", None], 1],
            }[case_id]
            assert result.value == expected
        else:
            wanted = CommandTimeout if case.fault == "timeout" else ConnectionLost
            assert isinstance(result.error, wanted), repr(result.error)
            assert isinstance(result.error, OutcomeUnknown)
            assert result.error.command == case.named
            message = str(result.error)
            assert proxy_address(fault_proxy) in message, message
            assert case.named in message, message
            assert "may or may not have run" in message, message
        # What ran, ran exactly as often as the proxy forwarded it.
        if case_id in ("INCR-retry-1", "pipeline-with-INCR-retry-1"):
            assert await client.get(f"{name}:n") == b"1"
        elif case_id == "SET-NX-retry-1":
            assert await client.get(f"{name}:nx") == b"new"
        elif case_id == "SET-GET-retry-1":
            assert await client.get(name) == b"new"
        answered = 1 if case.repeated and case.fault == "cut" else 0
        stats = await settle(client)
        assert stats.closed == seen - answered, stats  # one aborted connection per unanswered send
        await assert_recovered(client, sockets=lambda: fault_proxy.connections)
