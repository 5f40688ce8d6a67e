"""Pub/sub over RESP3 on a real server, and push frames nobody handles.

Under ``protocol=3`` every message and (un)subscription confirmation is a
push frame; a PING's answer and an error are ordinary replies. These tests
run each scenario under both protocols (whatever ``AIOPOOL_TEST_PROTOCOL``
says) and compare what the user sees: it must be the same.
"""

from __future__ import annotations

import asyncio
import logging

import hiredis
import pytest

from aiopool import (
    Client,
    Connection,
    ConnectionFailure,
    ConnectionOptions,
    Message,
    PermissionDenied,
    ProtocolError,
    PubSub,
)
from aiopool._protocol import encode_command
from aiopool.testing import RedisServer

from .pool_support import wait_until

PROTOCOLS = pytest.mark.parametrize("protocol", [2, 3])


def _base(url: str) -> str:
    """The kit's URL without its ``?query``: each test says its protocol itself."""
    return url.split("?", 1)[0]


async def _messages(ps: PubSub, count: int, timeout: float = 5.0) -> list[Message]:
    """The next ``count`` messages; fail the test when they do not come in ``timeout`` seconds."""
    seen: list[Message] = []
    async with asyncio.timeout(timeout):
        while len(seen) < count:
            message = await ps.get_message(timeout=None)
            assert message is not None
            seen.append(message)
    return seen


async def _conversation(url: str, protocol: int, decode: bool) -> list[dict[str, object]]:
    """Subscribe, publish on each kind of channel, unsubscribe: every message, as dicts."""
    async with (
        Client.from_url(url, protocol=protocol, decode_responses=decode) as client,
        client.pubsub(ignore_subscribe_messages=False) as ps,
    ):
        await ps.subscribe("news", b"sport")
        await ps.psubscribe("weather.*")
        await ps.ssubscribe("shard-a")
        assert await client.publish("news", "hello") == 1
        assert await client.publish("weather.oslo", b"\x00rain\xff" if not decode else "rain") == 1
        assert await client.spublish("shard-a", "sharded") == 1
        await ps.unsubscribe("news")
        await ps.punsubscribe()
        await ps.sunsubscribe()
        await ps.unsubscribe()
        seen = await _messages(ps, 11)  # 4 subscribes, 3 messages, 4 unsubscribes
        assert await ps.get_message(timeout=0.1) is None
        return [dict(message) for message in seen]


@pytest.mark.parametrize("decode", [False, True])
async def test_messages_and_confirmations_are_identical_under_both_protocols(
    redis_url: str, decode: bool
) -> None:
    url = _base(redis_url)
    resp2 = await _conversation(url, 2, decode)
    resp3 = await _conversation(url, 3, decode)
    assert resp3 == resp2
    channel = "news" if decode else b"news"
    assert resp3[0] == {"type": "subscribe", "pattern": None, "channel": channel, "data": 1}
    assert {m["type"] for m in resp3} == {
        "subscribe",
        "psubscribe",
        "ssubscribe",
        "message",
        "pmessage",
        "smessage",
        "unsubscribe",
        "punsubscribe",
        "sunsubscribe",
    }
    pmessage = next(m for m in resp3 if m["type"] == "pmessage")
    assert pmessage["pattern"] == ("weather.*" if decode else b"weather.*")


async def test_the_subscribed_connection_speaks_resp3(redis_url: str) -> None:
    async with (
        Client.from_url(_base(redis_url), protocol=3) as client,
        client.pubsub() as ps,
    ):
        await ps.subscribe("c")
        listing = (await client.execute("CLIENT", "LIST", "TYPE", "pubsub")).decode()
        assert "resp=3" in listing, listing
        assert "sub=1" in listing, listing


@PROTOCOLS
async def test_health_check_pongs_are_replies_not_messages(redis_url: str, protocol: int) -> None:
    # Under RESP3 the PING's answer is a plain reply between push frames; it
    # must not reach the user, nor pass for a message, nor break the reader.
    async with (
        Client.from_url(_base(redis_url), protocol=protocol, health_check_interval=0.05) as client,
        client.pubsub(ignore_subscribe_messages=False) as ps,
    ):
        await ps.subscribe("quiet")
        assert [m.type for m in await _messages(ps, 1)] == ["subscribe"]
        before = await client.execute("INFO", "commandstats")
        await asyncio.sleep(0.4)  # several quiet intervals: several PINGs answered
        after = await client.execute("INFO", "commandstats")
        assert _calls(after, "ping") >= _calls(before, "ping") + 2
        assert await client.publish("quiet", "now") == 1
        assert await _messages(ps, 1) == [Message("message", b"quiet", b"now")]
        assert await ps.get_message(timeout=0.05) is None
        assert ps.reconnects == 0


def _calls(info: object, command: str) -> int:
    text = info.decode() if isinstance(info, bytes) else str(info)
    for line in text.splitlines():
        if line.startswith(f"cmdstat_{command}:"):
            return int(line.split("calls=", 1)[1].split(",", 1)[0])
    return 0


@PROTOCOLS
async def test_a_killed_subscriber_resubscribes_between_the_gap_markers(
    redis_url: str, protocol: int
) -> None:
    async with (
        Client.from_url(_base(redis_url), protocol=protocol) as client,
        client.pubsub() as ps,
    ):
        await ps.subscribe("c")
        await ps.psubscribe("p.*")
        await ps.ssubscribe("s")
        assert await client.execute("CLIENT", "KILL", "TYPE", "pubsub") == 1
        seen = await _messages(ps, 2)
        assert [m.type for m in seen] == ["disconnected", "reconnected"]
        assert ps.reconnects == 1
        assert await client.publish("c", "1") == 1
        assert await client.publish("p.x", "2") == 1
        assert await client.spublish("s", "3") == 1
        assert await _messages(ps, 3) == [
            Message("message", b"c", b"1"),
            Message("pmessage", b"p.x", b"2", b"p.*"),
            Message("smessage", b"s", b"3"),
        ]


@PROTOCOLS
async def test_a_refused_subscription_is_an_error_reply_between_pushes(
    redis_url: str, protocol: int
) -> None:
    # The refusal (an ACL without the channel) is an ordinary error reply
    # under RESP3, among push frames: it answers the oldest subscription
    # command, and the connection carries on.
    async with (
        Client.from_url(_base(redis_url), protocol=protocol) as client,
        client.pubsub() as ps,
    ):
        await ps.subscribe("c")
        await client.execute("ACL", "SETUSER", "default", "resetchannels", "&c")
        try:
            with pytest.raises(PermissionDenied):
                await ps.subscribe("forbidden")
        finally:
            await client.execute("ACL", "SETUSER", "default", "allchannels")
        assert ps.channels == {"c"}
        assert await client.publish("c", "still") == 1
        assert await _messages(ps, 1) == [Message("message", b"c", b"still")]
        assert ps.reconnects == 0


async def test_an_invalidation_on_a_tracking_subscriber_is_dropped(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # tracking=True opens the pub/sub connection with CLIENT TRACKING ON too;
    # a FLUSHALL then sends it an ["invalidate", None] push. It is no
    # message: dropped (logged at debug), and the subscription carries on.
    caplog.set_level(logging.DEBUG, logger="aiopool.pubsub")
    async with (
        Client.from_url(_base(redis_url), protocol=3, tracking=True) as tracked,
        tracked.pubsub(ignore_subscribe_messages=False) as ps,
        Client.from_url(_base(redis_url), protocol=3) as client,
    ):
        await ps.subscribe("c")
        assert [m.type for m in await _messages(ps, 1)] == ["subscribe"]
        listing = (await client.execute("CLIENT", "LIST", "TYPE", "pubsub")).decode()
        flags = listing.split(" flags=", 1)[1].split(" ", 1)[0]
        assert "P" in flags, listing  # subscribed
        assert "t" in flags, listing  # tracking
        await client.execute("FLUSHALL")
        await wait_until(
            lambda: "dropped an invalidation push" in caplog.text,
            what="the invalidation push reaching the subscriber",
        )
        assert await client.publish("c", "after") == 1
        assert await _messages(ps, 1) == [Message("message", b"c", b"after")]
        assert await ps.get_message(timeout=0.05) is None
        assert ps.reconnects == 0


async def test_a_push_on_a_pooled_connection_without_a_handler_breaks_it(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # CLIENT TRACKING ON through execute() on a borrowed connection: a
    # session command, so the pool will not take the connection back. The
    # invalidation it then receives is a push nobody handles: a protocol
    # error for that connection, never the next command's reply.
    async with (
        Client.from_url(_base(redis_url), protocol=3, max_size=2) as client,
        Client.from_url(_base(redis_url), protocol=3) as writer,
    ):
        await client.set("k", "old")
        async with client.pool.acquire() as conn:
            assert await conn.execute("CLIENT", "TRACKING", "ON") == b"OK"
            assert await conn.execute("GET", "k") == b"old"
            await writer.set("k", "new")  # the server sends conn ["invalidate", [b"k"]]
            await wait_until(conn.is_closed, what="the unhandled push closing the connection")
            with pytest.raises((ProtocolError, ConnectionFailure)):
                await conn.execute("GET", "k")
        assert "a RESP3 push frame nobody handles" in caplog.text
        assert client.pool.stats().idle == 0  # discarded, not pooled
        assert await client.get("k") == b"new"  # a fresh connection, in step


async def test_a_subscribed_connection_reads_its_pushes_even_with_a_push_handler(
    redis_server: RedisServer,
) -> None:
    # One read path: a subscriber's pushes (messages, confirmations) stay in
    # order with its replies for its one reader; a push handler set for
    # invalidations never receives them.
    handled: list[object] = []
    options = ConnectionOptions(host=redis_server.host, port=redis_server.port, protocol=3)
    conn = await Connection.open(options)
    try:
        conn.set_push_handler(handled.append)
        conn.start_stream(subscribed=True)
        assert conn.send(encode_command(("SUBSCRIBE", "c")), 0)
        assert conn.send(encode_command(("PING",)), 0)
        frames: list[object] = []
        async with asyncio.timeout(3):
            while len(frames) < 2:
                await conn.receive(frames)
        assert [type(frame) for frame in frames] == [hiredis.PushNotification, bytes]
        assert frames == [[b"subscribe", b"c", 1], b"PONG"]
        assert handled == []
    finally:
        conn.abort()
