"""Bytes nobody asked for never reach a caller, whatever the connection is doing.

A misbehaving proxy, a late reply replayed by the network or an unexpected
RESP3 push can put bytes on a connection while no reply is owed. RESP pairs
replies with commands by position only, so such bytes would pass for the
next command's reply, and every reply after it would be one off. The
connection's one read path counts the replies it is owed: bytes that arrive
while nothing is owed break the connection at once, and bytes that reached
the socket but were not read yet are found by a poll before the next write.

Each case injects ``$3\r\nbad\r\n`` (a well-formed bulk string, the hardest
case: it parses) through ``FaultProxy.inject()`` at one moment, in both client
modes, and checks that no caller ever receives ``bad`` and that the next
commands on the same client get their own replies.

Bytes injected *inside* a reply stream (after a command was written and
before its reply arrived) cannot be told from the reply: RESP has no request
ids. Those are out of reach of any client and not tested here.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from aiopool import Client, ConnectionFailure, Message, ProtocolError
from aiopool.testing import FaultProxy

from .fault_support import CLIENT_MODES, ClientFactory, assert_recovered, build_client, outcome_of
from .pool_support import wait_until

pytestmark = pytest.mark.timeout(30)

STRAY = b"$3\r\nbad\r\n"
# A RESP3 push frame (type byte ``>``), as a server with CLIENT TRACKING sends one.
PUSH = b">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\na\r\n"


@pytest.fixture(params=list(CLIENT_MODES))
def client_mode(request: pytest.FixtureRequest) -> str:
    mode: str = request.param
    return mode


@pytest.fixture
async def make_client(client_mode: str) -> AsyncIterator[ClientFactory]:
    clients: list[Client] = []

    def make(url: str, **options: object) -> Client:
        client = build_client(client_mode, url, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


def smallest_pool(client_mode: str) -> int:
    """A plain pool of one connection; auto-pipelining needs one shared plus one exclusive."""
    return 2 if client_mode == "auto" else 1


def tag() -> str:
    return uuid.uuid4().hex[:8]


async def seed(client: Client, n: int) -> dict[str, bytes]:
    """``n`` keys with distinct values, so a reply one off is caught by value."""
    t = tag()
    values = {f"stray:{t}:{i}": f"value-{t}-{i}".encode() for i in range(n)}
    for key, value in values.items():
        assert await client.execute("SET", key, value) == b"OK"
    return values


async def assert_each_gets_its_own(client: Client, values: dict[str, bytes]) -> None:
    for key, value in values.items():
        reply = await client.execute("GET", key)
        assert reply != b"bad", f"GET {key} was handed the injected bytes"
        assert reply == value, f"GET {key}: {reply!r}, expected {value!r}"


@pytest.mark.parametrize("read_first", [True, False], ids=["read-by-the-loop", "still-in-kernel"])
async def test_stray_reply_on_an_idle_pooled_connection_never_reaches_the_next_caller(
    fault_proxy: FaultProxy,
    make_client: ClientFactory,
    client_mode: str,
    read_first: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The README's case: a pool of one, PING, stray bytes, then GET a and GET b."""
    client = make_client(fault_proxy.url, max_size=smallest_pool(client_mode))
    values = await seed(client, 2)
    for _ in range(3):
        assert await client.execute("PING") == b"PONG"
        closed = client.pool.stats().closed
        with caplog.at_level(logging.WARNING, logger="aiopool.connection"):
            assert fault_proxy.inject(STRAY) >= 1
            if read_first:
                # The loop reads the bytes while the connection owes nothing.
                await wait_until(
                    lambda: "nobody asked for" in caplog.text, "the stray bytes to be read"
                )
            # Otherwise they sit in the socket: the poll before the next write finds them.
            await assert_each_gets_its_own(client, values)
        assert "nobody asked for" in caplog.text
        caplog.clear()
        if client_mode == "pool":
            assert client.pool.stats().closed == closed + 1, client.pool.stats()
    await assert_recovered(client, sockets=lambda: fault_proxy.connections)


async def test_stray_bytes_between_release_and_the_next_acquire_are_never_read_as_a_reply(
    fault_proxy: FaultProxy, redis_url: str
) -> None:
    async with Client.from_url(fault_proxy.url, max_size=1) as client:
        values = await seed(client, 1)
        ((key, value),) = values.items()
        pool = client.pool
        for _ in range(5):
            async with pool.acquire() as conn:
                assert await conn.execute("PING") == b"PONG"
            fault_proxy.inject(STRAY)
            async with pool.acquire() as conn:
                assert await conn.execute("GET", key) == value
        stats = pool.stats()
        assert stats.closed == 5, stats
        assert stats.created == 6, stats


async def test_stray_bytes_on_a_borrowed_connection_fail_the_next_command_unsent(
    fault_proxy: FaultProxy, redis_url: str
) -> None:
    """Between two commands on one borrow: the next write finds them, nothing is sent."""
    async with Client.from_url(fault_proxy.url, max_size=1) as client:
        values = await seed(client, 1)
        ((key, value),) = values.items()
        sets = fault_proxy.command_count("GET")
        async with client.pool.acquire() as conn:
            assert await conn.execute("PING") == b"PONG"
            fault_proxy.inject(STRAY)
            result = await outcome_of(conn.execute("GET", key), bound=5, what="GET")
            assert isinstance(result.error, ConnectionFailure), result
            assert "nobody asked for" in str(result.error)
            assert "not sent" in str(result.error)
            assert conn.is_closed()
        assert fault_proxy.command_count("GET") == sets  # the GET never left
        assert await client.execute("GET", key) == value


async def test_stray_bytes_after_a_pipelines_replies_never_reach_it_or_the_next_caller(
    fault_proxy: FaultProxy, make_client: ClientFactory, client_mode: str
) -> None:
    client = make_client(fault_proxy.url, max_size=smallest_pool(client_mode))
    values = await seed(client, 10)
    for _ in range(3):
        pipe = client.pipeline(transaction=False)
        for key in values:
            pipe.get(key)
        fault_proxy.inject_after_next_reply(STRAY)
        result = await outcome_of(pipe.execute(), bound=5, what="pipeline")
        if result.error is None:
            # The replies came in a chunk of their own before the bytes.
            assert result.value == list(values.values())
        else:
            # The bytes rode on the replies: the whole chunk is refused.
            assert isinstance(result.error, ProtocolError), result
            assert "nobody asked for" in str(result.error)
        await assert_each_gets_its_own(client, values)
    await assert_recovered(client, sockets=lambda: fault_proxy.connections)


async def test_stray_bytes_while_a_pipeline_is_queued_never_reach_it(
    fault_proxy: FaultProxy, make_client: ClientFactory, client_mode: str
) -> None:
    client = make_client(fault_proxy.url, max_size=smallest_pool(client_mode))
    values = await seed(client, 5)
    await client.execute("PING")
    pipe = client.pipeline(transaction=False)
    for key in values:
        pipe.get(key)
    fault_proxy.inject(STRAY)
    assert await pipe.execute() == list(values.values())
    await assert_each_gets_its_own(client, values)


async def test_stray_bytes_on_a_watched_connection_fail_its_command_never_reply(
    fault_proxy: FaultProxy, make_client: ClientFactory, client_mode: str
) -> None:
    client = make_client(fault_proxy.url, max_size=smallest_pool(client_mode))
    values = await seed(client, 2)
    key = next(iter(values))
    async with client.pipeline(transaction=True) as pipe:
        watched = await pipe.watch(key)
        assert await watched.get(key) == values[key]
        fault_proxy.inject(STRAY)
        result = await outcome_of(watched.get(key), bound=5, what="GET on the watched connection")
        assert result.value != b"bad"
        assert isinstance(result.error, ConnectionFailure), result
        pipe.set(key, b"new")
        outcome = await outcome_of(pipe.execute(), bound=5, what="EXEC after the watch broke")
        assert isinstance(outcome.error, ConnectionFailure | RuntimeError), outcome
    # The transaction did not run, and the client serves its own replies.
    await assert_each_gets_its_own(client, values)
    await assert_recovered(client, sockets=lambda: fault_proxy.connections)


async def test_stray_bytes_on_a_shared_connection_break_it_and_callers_get_their_own(
    fault_proxy: FaultProxy, redis_url: str
) -> None:
    """Auto-pipelining under load: injections between bursts never reach a caller."""
    async with Client.from_url(
        fault_proxy.url, max_size=3, auto_pipeline=True, auto_pipeline_connections=2
    ) as client:
        values = await seed(client, 20)
        for _ in range(5):
            replies = await asyncio.gather(*(client.execute("GET", key) for key in values))
            assert replies == list(values.values())
            fault_proxy.inject(STRAY)
        await assert_recovered(client, sockets=lambda: fault_proxy.connections)


async def test_stray_frame_on_a_subscribed_connection_is_a_gap_never_a_message(
    fault_proxy: FaultProxy, redis_url: str
) -> None:
    async with Client.from_url(fault_proxy.url) as client, client.pubsub() as ps:
        await ps.subscribe("news")
        assert fault_proxy.inject(STRAY) == 1
        seen: list[Message] = []
        async with asyncio.timeout(10):
            while not seen or seen[-1].type != "reconnected":
                message = await ps.get_message(timeout=5)
                assert message is not None, seen
                seen.append(message)
        assert [m.type for m in seen] == ["disconnected", "reconnected"], seen
        assert "not a pub/sub message" in str(seen[0].data)
        assert await client.publish("news", "after") == 1
        message = await ps.get_message(timeout=5)
        assert message == Message("message", b"news", b"after"), message


async def test_push_frame_without_a_handler_breaks_the_connection(
    fault_proxy: FaultProxy, make_client: ClientFactory, client_mode: str
) -> None:
    client = make_client(fault_proxy.url, max_size=smallest_pool(client_mode))
    values = await seed(client, 2)
    await client.execute("PING")
    fault_proxy.inject(PUSH)
    await assert_each_gets_its_own(client, values)
    await wait_until(lambda: client.pool.stats().closed >= 1, "the connection to be discarded")


async def test_push_frame_goes_to_the_connections_handler_and_the_next_reply_is_its_own(
    fault_proxy: FaultProxy, redis_url: str
) -> None:
    async with Client.from_url(fault_proxy.url, max_size=1) as client:
        values = await seed(client, 1)
        ((key, value),) = values.items()
        pushed: list[Any] = []
        async with client.pool.acquire() as conn:
            conn.set_push_handler(pushed.append)
            fault_proxy.inject(PUSH)
            await wait_until(lambda: bool(pushed), "the push frame to be handled")
            assert pushed == [[b"invalidate", [b"a"]]]
            assert await conn.execute("GET", key) == value
            assert not conn.is_closed()
            conn.set_push_handler(None)
        assert client.pool.stats().closed == 0
