"""``Client.pubsub()`` and the publishing commands against real ``redis-server``s.

Delivery, state, back-pressure, cancellation, closing, and the reconnect
story: a connection killed by the server, a restarted server and a frozen one
each end in a ``disconnected``/``reconnected`` pair with every subscription
back in place. Tests that kill, restart or pause a server own it. Every wait
is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest

from aiopool import (
    Client,
    CommandTimeout,
    ConnectError,
    Message,
    PermissionDenied,
    PubSub,
    ReplyError,
)
from aiopool.testing import RedisServer

from .pool_support import RawConnection, admin, free_port, wait_until

# -- helpers -------------------------------------------------------------------------


async def next_message(ps: PubSub, timeout: float = 2.0) -> Message:
    """The next message; fail the test when none arrives within ``timeout`` seconds."""
    message = await ps.get_message(timeout=timeout)
    assert message is not None, f"no message within {timeout}s on {ps!r}"
    return message


async def message_of_type(ps: PubSub, kind: str, timeout: float = 5.0) -> list[Message]:
    """Every message up to and including the first of type ``kind`` (bounded)."""
    seen: list[Message] = []
    async with asyncio.timeout(timeout):
        while not seen or seen[-1].type != kind:
            message = await ps.get_message(timeout=None)
            assert message is not None
            seen.append(message)
    return seen


def pubsub_client_count(server: RedisServer) -> int:
    """How many connections ``server`` has in pub/sub mode (seen from outside aiopool)."""
    listing: bytes = admin(server, "CLIENT", "LIST", "TYPE", "pubsub")
    return len(listing.splitlines())


def reader_tasks() -> list[asyncio.Task[object]]:
    """The PubSub reader tasks still alive in this event loop."""
    return [
        task
        for task in asyncio.all_tasks()
        if task.get_name().startswith("aiopool pubsub reader") and not task.done()
    ]


@pytest.fixture
async def ps(r: Client) -> AsyncIterator[PubSub]:
    """A ``PubSub`` of the bytes client ``r``, closed after the test."""
    async with r.pubsub() as pubsub:
        yield pubsub


# -- subscribing and delivery ---------------------------------------------------------


async def test_subscribe_returns_once_confirmed_so_an_immediate_publish_reaches_it(
    r: Client, ps: PubSub
) -> None:
    await ps.subscribe("ch")
    assert await r.publish("ch", "hello") == 1
    message = await next_message(ps)
    assert message == Message("message", b"ch", b"hello")
    assert isinstance(message.channel, bytes)
    assert isinstance(message.data, bytes)
    assert message.pattern is None


async def test_message_data_is_binary_safe(r: Client, ps: PubSub) -> None:
    await ps.subscribe(b"bin\x00")
    payload = b"\x00\xff\r\n\x80"
    assert await r.publish(b"bin\x00", payload) == 1
    assert await next_message(ps) == Message("message", b"bin\x00", payload)


async def test_psubscribe_delivers_a_pmessage_naming_the_pattern(r: Client, ps: PubSub) -> None:
    await ps.psubscribe("news.*")
    assert await r.publish("news.tech", "chips") == 1
    assert await r.publish("sport.tech", "ignored") == 0
    assert await next_message(ps) == Message("pmessage", b"news.tech", b"chips", b"news.*")
    assert await ps.get_message(timeout=0.1) is None


async def test_ssubscribe_delivers_an_smessage_from_spublish(r: Client, ps: PubSub) -> None:
    await ps.ssubscribe("shard")
    assert await r.spublish("shard", "payload") == 1
    assert await next_message(ps) == Message("smessage", b"shard", b"payload")


async def test_a_channel_and_a_matching_pattern_each_get_a_copy(r: Client, ps: PubSub) -> None:
    await ps.subscribe("news.tech")
    await ps.psubscribe("news.*")
    assert await r.publish("news.tech", "x") == 2
    got = {await next_message(ps), await next_message(ps)}
    assert got == {
        Message("message", b"news.tech", b"x"),
        Message("pmessage", b"news.tech", b"x", b"news.*"),
    }


async def test_messages_are_str_with_decode_responses(rs: Client) -> None:
    async with rs.pubsub() as ps:
        await ps.subscribe("ch")
        await ps.psubscribe("p.*")
        await ps.ssubscribe("sch")
        assert await rs.publish("ch", "héllo") == 1
        assert await rs.publish("p.1", "two") == 1
        assert await rs.spublish("sch", "three") == 1
        assert await next_message(ps) == Message("message", "ch", "héllo")
        assert await next_message(ps) == Message("pmessage", "p.1", "two", "p.*")
        assert await next_message(ps) == Message("smessage", "sch", "three")


async def test_channels_patterns_shard_channels_and_is_subscribed_reflect_the_state(
    ps: PubSub,
) -> None:
    assert not ps.is_subscribed()
    assert ps.channels == ps.patterns == ps.shard_channels == frozenset()
    await ps.subscribe("a", b"b")
    await ps.psubscribe("p*")
    await ps.ssubscribe("s")
    assert ps.is_subscribed()
    assert ps.channels == {"a", b"b"}  # as given
    assert ps.patterns == {"p*"}
    assert ps.shard_channels == {"s"}
    assert "channels=2 patterns=1 shard_channels=1" in repr(ps)
    await ps.unsubscribe("a", b"b")
    await ps.punsubscribe("p*")
    assert ps.is_subscribed()
    await ps.sunsubscribe("s")
    assert not ps.is_subscribed()
    assert ps.channels == ps.patterns == ps.shard_channels == frozenset()


async def test_subscribing_twice_to_a_channel_keeps_one_subscription(r: Client, ps: PubSub) -> None:
    await ps.subscribe("a", "a")
    await ps.subscribe("a")
    assert ps.channels == {"a"}
    assert await r.publish("a", "once") == 1
    assert await next_message(ps) == Message("message", b"a", b"once")
    assert await ps.get_message(timeout=0.1) is None


async def test_unsubscribe_by_name_stops_delivery_for_that_channel_only(
    r: Client, ps: PubSub
) -> None:
    await ps.subscribe("a", "b")
    await ps.unsubscribe("a")
    assert ps.channels == {"b"}
    assert await r.publish("a", "lost") == 0
    assert await r.publish("b", "kept") == 1
    assert await next_message(ps) == Message("message", b"b", b"kept")
    assert dict(await r.pubsub_numsub("a", "b")) == {b"a": 0, b"b": 1}


async def test_unsubscribe_with_bytes_undoes_a_str_subscription(r: Client, ps: PubSub) -> None:
    await ps.subscribe("a")
    await ps.unsubscribe(b"a")
    assert not ps.is_subscribed()
    assert await r.publish("a", "x") == 0


async def test_unsubscribing_from_a_name_never_subscribed_changes_nothing(
    r: Client, ps: PubSub
) -> None:
    await ps.subscribe("a")
    await ps.unsubscribe("never")
    await ps.punsubscribe("never*")
    await ps.sunsubscribe("never")
    assert ps.channels == {"a"}
    assert await r.publish("a", "x") == 1
    assert await next_message(ps) == Message("message", b"a", b"x")


async def test_unsubscribe_without_names_drops_every_channel_but_not_the_patterns(
    r: Client, ps: PubSub
) -> None:
    await ps.subscribe("a", "b", "c")
    await ps.psubscribe("p*")
    await ps.ssubscribe("s1", "s2")
    await ps.unsubscribe()
    assert ps.channels == frozenset()
    assert ps.patterns == {"p*"}
    assert dict(await r.pubsub_numsub("a", "b", "c")) == {b"a": 0, b"b": 0, b"c": 0}
    assert await r.publish("a", "x") == 0
    await ps.punsubscribe()
    assert ps.patterns == frozenset()
    assert await r.pubsub_numpat() == 0
    await ps.sunsubscribe()
    assert ps.shard_channels == frozenset()
    assert await r.spublish("s1", "x") == 0
    assert not ps.is_subscribed()


async def test_listen_yields_in_publish_order_and_ends_once_everything_is_unsubscribed(
    r: Client, ps: PubSub
) -> None:
    await ps.subscribe("ch")
    for i in range(20):
        assert await r.publish("ch", str(i)) == 1
    received: list[bytes] = []
    async with asyncio.timeout(5):
        async for message in ps.listen():
            assert message.type == "message"
            received.append(message.data)
            if len(received) == 20:
                await ps.unsubscribe()
    assert received == [str(i).encode() for i in range(20)]


async def test_a_waiting_listen_ends_when_another_task_unsubscribes_everything(
    ps: PubSub,
) -> None:
    await ps.subscribe("a")
    await ps.psubscribe("p*")

    async def consume() -> list[Message]:
        return [message async for message in ps.listen()]

    listener = asyncio.create_task(consume())
    await asyncio.sleep(0.05)
    assert not listener.done()
    await ps.unsubscribe()
    await asyncio.sleep(0.05)
    assert not listener.done(), "listen() ended while a pattern was still subscribed"
    await ps.punsubscribe()
    async with asyncio.timeout(2):
        assert await listener == []


async def test_listen_yields_the_buffered_messages_then_ends_after_aclose(
    r: Client, ps: PubSub
) -> None:
    await ps.subscribe("ch")
    for i in range(3):
        await r.publish("ch", str(i))
    await wait_until(lambda: len(ps._buffer) == 3, "three buffered messages")
    await ps.aclose()
    async with asyncio.timeout(2):
        received = [message.data async for message in ps.listen()]
    assert received == [b"0", b"1", b"2"]


async def test_a_waiting_listen_ends_when_the_pubsub_is_closed(ps: PubSub) -> None:
    await ps.subscribe("ch")

    async def consume() -> list[Message]:
        return [message async for message in ps.listen()]

    listener = asyncio.create_task(consume())
    await asyncio.sleep(0.05)
    assert not listener.done()
    await ps.aclose()
    async with asyncio.timeout(2):
        assert await listener == []


async def test_get_message_returns_none_when_nothing_arrives_in_time(ps: PubSub) -> None:
    await ps.subscribe("quiet")
    started = time.monotonic()
    assert await ps.get_message(timeout=0.1) is None
    assert 0.09 <= time.monotonic() - started < 1.0


async def test_get_message_with_timeout_zero_polls_the_buffer(r: Client, ps: PubSub) -> None:
    await ps.subscribe("ch")
    assert await ps.get_message(timeout=0) is None
    await r.publish("ch", "x")
    await wait_until(lambda: len(ps._buffer) == 1, "the message to be buffered")
    assert await ps.get_message(timeout=0) == Message("message", b"ch", b"x")


async def test_get_message_after_aclose_drains_the_buffer_then_raises_runtime_error(
    r: Client, ps: PubSub
) -> None:
    await ps.subscribe("ch")
    await r.publish("ch", "last")
    await wait_until(lambda: len(ps._buffer) == 1, "the message to be buffered")
    await ps.aclose()
    assert await ps.get_message(timeout=1) == Message("message", b"ch", b"last")
    with pytest.raises(RuntimeError, match="closed"):
        await ps.get_message(timeout=1)
    with pytest.raises(RuntimeError, match="closed"):
        await ps.get_message()


async def test_a_waiting_get_message_raises_runtime_error_when_the_pubsub_is_closed(
    ps: PubSub,
) -> None:
    await ps.subscribe("ch")
    getter = asyncio.create_task(ps.get_message(timeout=None))
    await asyncio.sleep(0.05)
    assert not getter.done()
    await ps.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        async with asyncio.timeout(2):
            await getter


@pytest.mark.parametrize("method", ["subscribe", "psubscribe", "ssubscribe"])
async def test_subscribing_to_no_names_raises_value_error(method: str, ps: PubSub) -> None:
    await ps.subscribe("kept")
    with pytest.raises(ValueError, match="at least one name"):
        await getattr(ps, method)()
    assert ps.channels == {"kept"}
    assert ps.patterns == ps.shard_channels == frozenset()


@pytest.mark.parametrize(
    "method", ["subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe"]
)
@pytest.mark.parametrize("bad", [1, 1.5, None, ["a"]], ids=["int", "float", "None", "list"])
async def test_a_name_that_is_not_str_or_bytes_raises_type_error_and_changes_nothing(
    method: str, bad: object, r: Client, ps: PubSub
) -> None:
    await ps.subscribe("kept")
    with pytest.raises(TypeError, match="str or bytes"):
        await getattr(ps, method)("fine", bad)
    assert ps.channels == {"kept"}
    assert ps.patterns == ps.shard_channels == frozenset()
    assert dict(await r.pubsub_numsub("fine", "kept")) == {b"fine": 0, b"kept": 1}


async def test_the_pubsub_connection_is_not_one_of_the_pools(
    r: Client, redis_server: RedisServer
) -> None:
    await r.ping()
    before = r.pool.stats()
    async with r.pubsub() as ps:
        await ps.subscribe("a")
        await ps.psubscribe("b*")
        assert r.pool.stats() == before
        assert pubsub_client_count(redis_server) == 1
        # The pool still serves commands while the PubSub holds its connection.
        assert await r.publish("a", "x") == 1
        assert r.pool.stats().size == before.size


async def test_subscribing_when_the_server_is_unreachable_raises_connect_error_and_rolls_back() -> (
    None
):
    url = f"redis://127.0.0.1:{free_port()}/0"
    async with Client.from_url(url, connect_timeout=1) as client, client.pubsub() as ps:
        with pytest.raises(ConnectError):
            async with asyncio.timeout(5):
                await ps.subscribe("a")
        assert not ps.is_subscribed()
        assert reader_tasks() == []


# -- publishing and PUBSUB introspection --------------------------------------------------


async def test_publish_returns_how_many_subscribers_received_it(r: Client) -> None:
    assert await r.publish("ch", "nobody") == 0
    async with r.pubsub() as one, r.pubsub() as two:
        await one.subscribe("ch")
        await two.psubscribe("c*")
        assert await r.publish("ch", "both") == 2
        assert await r.publish("cx", "pattern only") == 1
        assert await r.publish("other", "nobody") == 0


async def test_spublish_returns_how_many_shard_subscribers_received_it(r: Client) -> None:
    assert await r.spublish("sch", "nobody") == 0
    async with r.pubsub() as one, r.pubsub() as two:
        await one.ssubscribe("sch")
        await two.ssubscribe("sch")
        assert await r.spublish("sch", "both") == 2
        # A shard channel is not a channel: PUBLISH does not reach it.
        assert await r.publish("sch", "nobody") == 0


async def test_pubsub_channels_lists_the_channels_with_subscribers(r: Client, ps: PubSub) -> None:
    assert await r.pubsub_channels() == []
    await ps.subscribe("news.a", "news.b", "sport")
    await ps.psubscribe("ignored*")  # patterns are not channels
    await ps.ssubscribe("shard")  # nor are shard channels
    assert sorted(await r.pubsub_channels()) == [b"news.a", b"news.b", b"sport"]
    assert sorted(await r.pubsub_channels("news.*")) == [b"news.a", b"news.b"]
    assert sorted(await r.pubsub_channels(b"news.*")) == [b"news.a", b"news.b"]
    assert await r.pubsub_channels("none*") == []


async def test_pubsub_numsub_returns_redis_py_s_list_of_pairs(r: Client) -> None:
    assert await r.pubsub_numsub() == []
    async with r.pubsub() as one, r.pubsub() as two:
        await one.subscribe("a", "b")
        await two.subscribe("a")
        pairs = await r.pubsub_numsub("a", "b", "c")
        assert pairs == [(b"a", 2), (b"b", 1), (b"c", 0)]  # in the order asked
        counts = dict(pairs)
        assert all(type(count) is int for count in counts.values())


async def test_pubsub_numsub_has_str_keys_with_decode_responses(rs: Client) -> None:
    async with rs.pubsub() as ps:
        await ps.subscribe("a")
        assert dict(await rs.pubsub_numsub("a", "b")) == {"a": 1, "b": 0}
        assert await rs.pubsub_channels() == ["a"]


async def test_pubsub_numpat_counts_the_patterns_of_every_client(r: Client) -> None:
    assert await r.pubsub_numpat() == 0
    async with r.pubsub() as one, r.pubsub() as two:
        await one.psubscribe("a*", "b*")
        await two.psubscribe("c*")
        await two.subscribe("not-a-pattern")
        assert await r.pubsub_numpat() == 3
        await one.punsubscribe("a*")
        assert await r.pubsub_numpat() == 2


async def test_pubsub_shardchannels_and_shardnumsub(r: Client, ps: PubSub) -> None:
    assert await r.pubsub_shardchannels() == []
    await ps.ssubscribe("s.a", "s.b", "t")
    await ps.subscribe("plain")  # not a shard channel
    assert sorted(await r.pubsub_shardchannels()) == [b"s.a", b"s.b", b"t"]
    assert sorted(await r.pubsub_shardchannels("s.*")) == [b"s.a", b"s.b"]
    assert dict(await r.pubsub_shardnumsub("s.a", "plain")) == {b"s.a": 1, b"plain": 0}
    assert dict(await r.pubsub_shardnumsub()) == {}


async def test_publish_rejects_a_none_message_before_sending(r: Client) -> None:
    with pytest.raises(TypeError):
        await r.publish("ch", None)  # type: ignore[arg-type]


async def test_pubsub_with_a_wrong_subcommand_arity_is_a_reply_error(r: Client) -> None:
    # The family's only server-side error: the typed methods cannot produce
    # one, so the raw form shows what a refused PUBSUB looks like.
    with pytest.raises(ReplyError):
        await r.execute("PUBSUB", "NUMPAT", "extra")


async def test_publishing_and_pubsub_commands_in_a_pipeline(r: Client, ps: PubSub) -> None:
    await ps.subscribe("a")
    await ps.psubscribe("p*")
    await ps.ssubscribe("s")
    async with r.pipeline(transaction=False) as p:
        p.publish("a", "one").spublish("s", "two").pubsub_channels().pubsub_numsub("a", "b")
        p.pubsub_numpat().pubsub_shardchannels().pubsub_shardnumsub("s")
        results = await p.execute()
    assert results == [1, 1, [b"a"], [(b"a", 1), (b"b", 0)], 1, [b"s"], [(b"s", 1)]]
    assert await next_message(ps) == Message("message", b"a", b"one")
    assert await next_message(ps) == Message("smessage", b"s", b"two")


# -- reconnecting --------------------------------------------------------------------


async def test_a_connection_killed_by_the_server_is_reported_and_every_subscription_restored(
    r: Client, ps: PubSub
) -> None:
    await ps.subscribe("ch")
    await ps.psubscribe("pat.*")
    await ps.ssubscribe("sch")
    assert await r.execute("CLIENT", "KILL", "TYPE", "pubsub") == 1

    gone = await next_message(ps)
    assert gone.type == "disconnected"
    assert isinstance(gone.data, str)
    assert gone.data
    assert await next_message(ps, timeout=5) == Message("reconnected")
    assert ps.reconnects == 1
    assert ps.channels == {"ch"}
    assert ps.patterns == {"pat.*"}
    assert ps.shard_channels == {"sch"}

    assert await r.publish("ch", "1") == 1
    assert await r.publish("pat.x", "2") == 1
    assert await r.spublish("sch", "3") == 1
    assert await next_message(ps) == Message("message", b"ch", b"1")
    assert await next_message(ps) == Message("pmessage", b"pat.x", b"2", b"pat.*")
    assert await next_message(ps) == Message("smessage", b"sch", b"3")
    assert await ps.get_message(timeout=0.1) is None


async def test_gap_markers_come_after_the_messages_received_before_the_drop(
    r: Client, ps: PubSub
) -> None:
    await ps.subscribe("ch")
    assert await r.publish("ch", "before") == 1
    await wait_until(lambda: len(ps._buffer) == 1, "the first message to be buffered")
    assert await r.execute("CLIENT", "KILL", "TYPE", "pubsub") == 1
    seen = await message_of_type(ps, "reconnected")
    assert [m.type for m in seen] == ["message", "disconnected", "reconnected"]
    assert seen[0].data == b"before"


async def test_a_subscription_made_while_reconnecting_is_in_place_after_the_reconnect(
    r: Client, ps: PubSub
) -> None:
    await ps.subscribe("old")
    assert await r.execute("CLIENT", "KILL", "TYPE", "pubsub") == 1
    async with asyncio.timeout(5):
        await ps.subscribe("new")  # returns only once confirmed, on whichever connection
    await message_of_type(ps, "reconnected")
    assert await r.publish("new", "n") == 1
    assert await r.publish("old", "o") == 1
    assert await next_message(ps) == Message("message", b"new", b"n")
    assert await next_message(ps) == Message("message", b"old", b"o")


async def test_gap_markers_are_str_with_decode_responses(rs: Client) -> None:
    async with rs.pubsub() as ps:
        await ps.subscribe("ch")
        assert await rs.execute("CLIENT", "KILL", "TYPE", "pubsub") == 1
        seen = await message_of_type(ps, "reconnected")
        assert [m.type for m in seen] == ["disconnected", "reconnected"]
        assert isinstance(seen[0].data, str)
        assert await rs.publish("ch", "x") == 1
        assert await next_message(ps) == Message("message", "ch", "x")


async def test_a_restarted_server_is_reconnected_and_resubscribed(
    private_redis_server: RedisServer,
) -> None:
    server = private_redis_server
    async with Client.from_url(server.url) as client, client.pubsub() as ps:
        await ps.subscribe("ch")
        await ps.psubscribe("p.*")
        server.restart()
        seen = await message_of_type(ps, "reconnected", timeout=10)
        assert seen[0].type == "disconnected"
        assert "127.0.0.1" in seen[0].data
        assert [m.type for m in seen].count("reconnected") == 1
        assert ps.reconnects >= 1
        assert admin(server, "PUBLISH", "ch", "after") == 1
        assert admin(server, "PUBLISH", "p.1", "pattern") == 1
        assert await next_message(ps) == Message("message", b"ch", b"after")
        assert await next_message(ps) == Message("pmessage", b"p.1", b"pattern", b"p.*")


async def test_a_server_that_is_down_for_a_while_is_retried_until_it_is_back(
    private_redis_server: RedisServer,
) -> None:
    server = private_redis_server
    async with (
        Client.from_url(server.url, reconnect_backoff=0.01, reconnect_backoff_max=0.1) as client,
        client.pubsub() as ps,
    ):
        await ps.subscribe("ch")
        server.kill()
        assert (await next_message(ps)).type == "disconnected"
        await asyncio.sleep(0.3)  # several failed attempts while nothing listens
        assert await ps.get_message(timeout=0) is None, "a failed attempt made a message"
        await asyncio.to_thread(server.restart)
        assert await next_message(ps, timeout=5) == Message("reconnected")
        assert admin(server, "PUBLISH", "ch", "back") == 1
        assert await next_message(ps) == Message("message", b"ch", b"back")


async def test_a_frozen_server_is_detected_by_the_health_check_and_recovered_after_resume(
    private_redis_server: RedisServer,
) -> None:
    server = private_redis_server
    async with (
        Client.from_url(server.url, health_check_interval=0.2, command_timeout=0.5) as client,
        client.pubsub() as ps,
    ):
        await ps.subscribe("ch")
        server.pause()
        try:
            started = time.monotonic()
            gone = await next_message(ps, timeout=3)
            assert gone.type == "disconnected"
            assert time.monotonic() - started < 3
        finally:
            server.resume()
        await message_of_type(ps, "reconnected", timeout=10)
        assert admin(server, "PUBLISH", "ch", "thawed") == 1
        assert await next_message(ps) == Message("message", b"ch", b"thawed")


async def test_one_freeze_gives_disconnected_and_reconnected_markers_in_pairs(
    private_redis_server: RedisServer,
) -> None:
    # "disconnected" means "from now on messages are lost" and "reconnected"
    # that every subscription is back (Message, PubSub docstrings: a
    # disconnected/reconnected pair). An outage longer than one health check
    # must not repeat "disconnected" before the subscriptions are back, nor
    # count reconnects whose subscriptions were never confirmed.
    server = private_redis_server
    async with (
        Client.from_url(
            server.url,
            health_check_interval=0.1,
            command_timeout=0.2,
            reconnect_backoff=0.01,
            reconnect_backoff_max=0.02,
        ) as client,
        client.pubsub() as ps,
    ):
        await ps.subscribe("ch")
        server.pause()
        try:
            assert (await next_message(ps, timeout=3)).type == "disconnected"
            await asyncio.sleep(0.8)  # two or three more health-check periods, still frozen
        finally:
            server.resume()
        seen = [Message("disconnected"), *await message_of_type(ps, "reconnected", timeout=10)]
        kinds = [m.type for m in seen]
        assert kinds == ["disconnected", "reconnected"], kinds
        assert ps.reconnects == 1


async def test_an_undecodable_message_with_decode_responses_is_reported_as_a_gap(
    rs: Client,
) -> None:
    async with rs.pubsub() as ps:
        await ps.subscribe("ch")
        assert await rs.publish("ch", b"\xff\xfe") == 1
        seen = await message_of_type(ps, "reconnected")
        assert [m.type for m in seen] == ["disconnected", "reconnected"]
        assert "decode" in seen[0].data
        assert await rs.publish("ch", "fine") == 1
        assert await next_message(ps) == Message("message", "ch", "fine")


async def test_health_check_pings_keep_a_quiet_subscription_alive(
    r: Client, redis_url: str, redis_server: RedisServer
) -> None:
    async with (
        Client.from_url(redis_url, health_check_interval=0.05, command_timeout=0.5) as client,
        client.pubsub() as ps,
    ):
        await ps.subscribe("ch")
        await asyncio.sleep(0.3)  # several quiet intervals: PINGs answered, no reconnect
        listing: bytes = admin(redis_server, "CLIENT", "LIST", "TYPE", "pubsub")
        assert b"cmd=ping" in listing, listing
        assert await r.publish("ch", "x") == 1
        assert await next_message(ps) == Message("message", b"ch", b"x")
        assert await ps.get_message(timeout=0.1) is None  # the PONGs are not messages
        assert ps.reconnects == 0


# -- back-pressure ---------------------------------------------------------------------


async def test_a_full_buffer_holds_at_most_max_messages_and_loses_none(r: Client) -> None:
    async with r.pubsub(max_messages=5) as ps:
        await ps.subscribe("ch")
        for i in range(50):
            assert await r.publish("ch", str(i)) == 1
        await wait_until(lambda: len(ps._buffer) == 5, "the buffer to fill")
        for _ in range(20):
            await asyncio.sleep(0)  # let the reader try to push more
        assert len(ps._buffer) == 5
        assert "buffered=5" in repr(ps)
        received = []
        for _ in range(50):
            message = await next_message(ps)
            assert len(ps._buffer) <= 5
            received.append(message)
        assert received == [Message("message", b"ch", str(i).encode()) for i in range(50)]
        assert await ps.get_message(timeout=0.1) is None
        assert ps.reconnects == 0


async def test_a_subscriber_dropped_by_the_server_for_not_reading_sees_an_ordered_prefix_and_a_gap(
    private_redis_server: RedisServer,
) -> None:
    server = private_redis_server
    admin(server, "CONFIG", "SET", "client-output-buffer-limit", "pubsub 256kb 0 0")
    # Messages under 16 kB: Valkey 9 queues larger ones by reference and leaves them out of
    # the output buffer it checks against the limit, so 100 kB messages never trip it there.
    count, size = 2000, 10_000
    async with Client.from_url(server.url) as client, client.pubsub(max_messages=1) as ps:
        await ps.subscribe("ch")
        await asyncio.to_thread(publish_many, server, "ch", count, size)
        await wait_until(
            lambda: pubsub_client_count(server) == 0 or ps._conn is None,
            "the server to drop the slow subscriber",
            timeout=10,
        )
        seen = await message_of_type(ps, "reconnected", timeout=20)
    kinds = [m.type for m in seen]
    assert kinds[-2:] == ["disconnected", "reconnected"], kinds[-5:]
    data = [m.data for m in seen[:-2]]
    assert set(kinds[:-2]) <= {"message"}
    # What arrived is the start of what was published, in order, with no holes.
    assert [int(d[:8]) for d in data] == list(range(len(data)))
    assert len(data) < count


def publish_many(server: RedisServer, channel: str, count: int, size: int) -> None:
    """PUBLISH ``count`` messages of ``size`` bytes (numbered 00000000, 00000001, ...)."""
    filler = "x" * (size - 8)
    with contextlib.closing(RawConnection(server)) as raw:
        for i in range(count):
            raw.call("PUBLISH", channel, f"{i:08d}{filler}")


# -- cancellation ----------------------------------------------------------------------


async def test_cancelling_get_message_loses_no_message(r: Client, ps: PubSub) -> None:
    await ps.subscribe("ch")
    for i in range(30):
        getter = asyncio.create_task(ps.get_message(timeout=None))
        for _ in range(i % 4):
            await asyncio.sleep(0)
        assert await r.publish("ch", str(i)) == 1
        for _ in range(i % 3):
            await asyncio.sleep(0)  # sometimes the message is already pushed, the getter woken
        getter.cancel()
        results = await asyncio.gather(getter, return_exceptions=True)
        got = [] if isinstance(results[0], asyncio.CancelledError) else [results[0]]
        if not got:
            got.append(await next_message(ps))
        assert got == [Message("message", b"ch", str(i).encode())], i
    assert await ps.get_message(timeout=0.1) is None


async def test_cancelling_a_subscribe_in_flight_rolls_it_back(
    private_redis_server: RedisServer,
) -> None:
    server = private_redis_server
    async with Client.from_url(server.url) as client, client.pubsub() as ps:
        await ps.subscribe("kept")
        server.pause()
        try:
            task = asyncio.create_task(ps.subscribe("lost"))
            await wait_until(lambda: "lost" in ps.channels, "the subscription to be in flight")
            await asyncio.sleep(0.05)
            assert not task.done()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                async with asyncio.timeout(2):
                    await task
            assert ps.channels == {"kept"}
        finally:
            server.resume()
        await ps.subscribe("sync")  # one round trip: the server saw everything sent before
        assert ps.channels == {"kept", "sync"}
        assert admin(server, "PUBSUB", "NUMSUB", "lost", "kept") == [b"lost", 0, b"kept", 1]
        assert admin(server, "PUBLISH", "lost", "x") == 0
        assert admin(server, "PUBLISH", "kept", "y") == 1
        assert await next_message(ps) == Message("message", b"kept", b"y")
        assert await ps.get_message(timeout=0.1) is None


async def test_cancelling_a_resubscribe_of_a_channel_keeps_the_subscription(
    private_redis_server: RedisServer,
) -> None:
    server = private_redis_server
    async with Client.from_url(server.url) as client, client.pubsub() as ps:
        await ps.subscribe("kept")
        server.pause()
        try:
            task = asyncio.create_task(ps.subscribe("kept"))
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                async with asyncio.timeout(2):
                    await task
            assert ps.channels == {"kept"}
        finally:
            server.resume()
        await ps.subscribe("sync")
        assert admin(server, "PUBLISH", "kept", "y") == 1
        assert await next_message(ps) == Message("message", b"kept", b"y")


@pytest.mark.parametrize("connected", [True, False], ids=["connected", "first-subscription"])
async def test_subscribing_on_a_frozen_server_raises_command_timeout_and_rolls_back(
    connected: bool, private_redis_server: RedisServer
) -> None:
    server = private_redis_server
    async with (
        Client.from_url(server.url, command_timeout=0.5, connect_timeout=0.5) as client,
        client.pubsub() as ps,
    ):
        if connected:
            await ps.subscribe("kept")
        server.pause()
        try:
            started = time.monotonic()
            # Connected: the confirmation never comes. First subscription: the
            # connection's handshake PING never comes back.
            expected = (
                (CommandTimeout, "command_timeout")
                if connected
                else (
                    ConnectError,
                    "connect_timeout",
                )
            )
            with pytest.raises(expected[0], match=expected[1]) as caught:
                await ps.psubscribe("lost*")
            if connected:
                assert isinstance(caught.value, TimeoutError)
            assert 0.4 <= time.monotonic() - started < 2
            assert ps.patterns == frozenset()
            assert ps.channels == ({"kept"} if connected else frozenset())
        finally:
            server.resume()
        await ps.subscribe("sync")
        assert admin(server, "PUBSUB", "NUMPAT") == 0
        assert admin(server, "PUBLISH", "lost.x", "x") == 0
        assert admin(server, "PUBLISH", "sync", "y") == 1
        seen = await message_of_type(ps, "message")
        assert seen[-1] == Message("message", b"sync", b"y")
        # The freeze (one command_timeout) was shorter than the reader's limit
        # (the confirmation's command_timeout, then a PING's), so the
        # connection was kept: no gap, no markers.
        assert len(seen) == 1, seen


async def test_aclose_during_a_subscribe_in_flight_fails_it_without_cancelling_its_task(
    private_redis_server: RedisServer,
) -> None:
    # The task calling subscribe() was not cancelled, so it must not end as
    # cancelled (a TaskGroup or an outer timeout would misread that); it gets
    # the same RuntimeError as a subscribe() on a closed PubSub.
    server = private_redis_server
    async with Client.from_url(server.url) as client:
        ps = client.pubsub()
        await ps.subscribe("kept")
        server.pause()
        try:
            task = asyncio.create_task(ps.subscribe("lost"))
            await wait_until(lambda: "lost" in ps.channels, "the subscription to be in flight")
            async with asyncio.timeout(5):
                await ps.aclose()
                await asyncio.gather(task, return_exceptions=True)
        finally:
            server.resume()
        assert not task.cancelled(), "subscribe() raised CancelledError in a task nobody cancelled"
        assert isinstance(task.exception(), RuntimeError)


async def test_a_refused_subscription_raises_permission_denied_and_rolls_back(
    private_redis_server: RedisServer,
) -> None:
    server = private_redis_server
    admin(server, "ACL", "SETUSER", "limited", "on", ">secret", "~*", "&allowed*", "+@all")
    url = f"redis://limited:secret@127.0.0.1:{server.port}/0"
    async with Client.from_url(url) as client, client.pubsub() as ps:
        await ps.subscribe("allowed.1")
        with pytest.raises(PermissionDenied):
            await ps.subscribe("forbidden")
        assert ps.channels == {"allowed.1"}
        await ps.subscribe("allowed.2")
        assert admin(server, "PUBLISH", "allowed.2", "x") == 1
        assert await next_message(ps) == Message("message", b"allowed.2", b"x")


async def test_a_refused_subscription_does_not_fail_a_concurrent_permitted_one(
    private_redis_server: RedisServer,
) -> None:
    server = private_redis_server
    admin(server, "ACL", "SETUSER", "limited", "on", ">secret", "~*", "&allowed*", "+@all")
    url = f"redis://limited:secret@127.0.0.1:{server.port}/0"
    async with Client.from_url(url) as client, client.pubsub() as ps:
        await ps.subscribe("allowed.1")
        refused = asyncio.create_task(ps.subscribe("forbidden"))
        permitted = asyncio.create_task(ps.subscribe("allowed.2"))
        async with asyncio.timeout(5):
            results = await asyncio.gather(refused, permitted, return_exceptions=True)
        assert isinstance(results[0], PermissionDenied)
        assert results[1] is None, f"subscribe('allowed.2') failed with {results[1]!r}"
        assert ps.channels == {"allowed.1", "allowed.2"}
        assert admin(server, "PUBLISH", "allowed.2", "x") == 1


# -- closing ---------------------------------------------------------------------------


async def test_aclose_is_idempotent_and_refuses_new_subscriptions(r: Client) -> None:
    ps = r.pubsub()
    await ps.subscribe("ch")
    assert not ps.is_closed()
    await ps.aclose()
    await ps.aclose()
    assert ps.is_closed()
    assert not ps.is_subscribed()
    assert "closed" in repr(ps)
    with pytest.raises(RuntimeError, match="closed"):
        await ps.subscribe("again")
    with pytest.raises(RuntimeError, match="closed"):
        await ps.unsubscribe("ch")


async def test_aclose_of_a_pubsub_that_never_subscribed_is_harmless(r: Client) -> None:
    ps = r.pubsub()
    await ps.aclose()
    assert ps.is_closed()
    assert reader_tasks() == []


async def test_async_with_closes_the_pubsub_on_exit(r: Client, redis_server: RedisServer) -> None:
    async with r.pubsub() as ps:
        await ps.subscribe("ch")
        assert pubsub_client_count(redis_server) == 1
    assert ps.is_closed()
    await wait_until(lambda: pubsub_client_count(redis_server) == 0, "no pubsub client")
    assert await r.publish("ch", "x") == 0


async def test_async_with_closes_the_pubsub_when_the_body_raises(
    r: Client, redis_server: RedisServer
) -> None:
    ps = r.pubsub()

    async def fail_inside() -> None:
        async with ps:
            await ps.subscribe("ch")
            raise LookupError

    with pytest.raises(LookupError):
        await fail_inside()
    assert ps.is_closed()
    assert reader_tasks() == []
    await wait_until(lambda: pubsub_client_count(redis_server) == 0, "no pubsub client")


async def test_aclose_leaves_no_server_client_no_task_and_no_transport(
    r: Client, redis_server: RedisServer
) -> None:
    ps = r.pubsub()
    await ps.subscribe("a")
    await ps.psubscribe("b*")
    await ps.ssubscribe("c")
    conn = ps._conn
    assert conn is not None
    assert len(reader_tasks()) == 1
    await ps.aclose()
    assert reader_tasks() == []
    assert ps._conn is None
    assert conn.is_closed()
    assert conn.is_closed()
    await wait_until(lambda: pubsub_client_count(redis_server) == 0, "no pubsub client")
    assert await r.pubsub_numpat() == 0


async def test_aclose_while_reconnecting_stops_the_reconnect_attempts(
    private_redis_server: RedisServer,
) -> None:
    server = private_redis_server
    async with Client.from_url(server.url, reconnect_backoff=0.01) as client:
        ps = client.pubsub()
        await ps.subscribe("ch")
        server.kill()
        assert (await next_message(ps)).type == "disconnected"
        async with asyncio.timeout(2):
            await ps.aclose()
        assert reader_tasks() == []
        assert ps._conn is None
