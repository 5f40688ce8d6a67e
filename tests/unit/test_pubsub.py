"""``PubSub`` and ``Message`` without a server: validation, state, closing; and
the argument building of the publishing commands.

The client points at a port nothing listens on, so any test that connected by
mistake would fail with ``ConnectError``.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import pytest

from aiopool import Client, Message, PubSub
from aiopool import _commands as cmd

# Port 1 on loopback: nothing listens there, so a stray connection attempt fails loudly.
NOWHERE = "redis://:hunter2@127.0.0.1:1/0"


@pytest.fixture
async def ps() -> AsyncIterator[PubSub]:
    async with Client.from_url(NOWHERE, connect_timeout=0.5) as client, client.pubsub() as pubsub:
        yield pubsub


def reader_tasks() -> list[asyncio.Task[object]]:
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("aiopool pubsub reader")]


# -- Message ---------------------------------------------------------------------------


def test_message_fields_default_to_none() -> None:
    message = Message("reconnected")
    assert (message.type, message.channel, message.data, message.pattern) == (
        "reconnected",
        None,
        None,
        None,
    )


def test_message_is_frozen_and_compares_by_value() -> None:
    message = Message("pmessage", b"news.tech", b"x", b"news.*")
    assert message == Message(type="pmessage", channel=b"news.tech", data=b"x", pattern=b"news.*")
    assert message != Message("message", b"news.tech", b"x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        message.data = b"y"  # type: ignore[misc]


# -- construction ----------------------------------------------------------------------


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "5", None])
def test_max_messages_must_be_a_positive_int(bad: object) -> None:
    client = Client.from_url(NOWHERE)
    with pytest.raises(ValueError, match="max_messages"):
        client.pubsub(max_messages=bad)  # type: ignore[arg-type]


def test_a_new_pubsub_is_idle_with_nothing_subscribed() -> None:
    ps = Client.from_url(NOWHERE).pubsub(max_messages=7)
    assert ps.max_messages == 7
    assert not ps.is_subscribed()
    assert not ps.is_closed()
    assert ps.channels == ps.patterns == ps.shard_channels == frozenset()
    assert ps.reconnects == 0
    assert repr(ps) == (
        "<PubSub 127.0.0.1:1 idle channels=0 patterns=0 shard_channels=0 buffered=0 reconnects=0>"
    )


def test_repr_never_shows_the_password() -> None:
    assert "hunter2" not in repr(Client.from_url(NOWHERE).pubsub())


# -- validation happens before any connection ------------------------------------------


@pytest.mark.parametrize("method", ["subscribe", "psubscribe", "ssubscribe"])
async def test_subscribing_to_no_names_raises_value_error_without_connecting(
    method: str, ps: PubSub
) -> None:
    with pytest.raises(ValueError, match=f"{method}\\(\\) needs at least one name"):
        await getattr(ps, method)()
    assert ps._conn is None
    assert reader_tasks() == []


@pytest.mark.parametrize(
    "method",
    ["subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe"],
)
@pytest.mark.parametrize("bad", [1, 2.5, None, ["ch"]], ids=["int", "float", "None", "list"])
async def test_a_name_that_is_not_str_or_bytes_raises_type_error_naming_its_type(
    method: str, bad: object, ps: PubSub
) -> None:
    with pytest.raises(TypeError, match=f"str or bytes, got {type(bad).__name__}"):
        await getattr(ps, method)("fine", bad)
    assert not ps.is_subscribed()
    assert ps._conn is None


@pytest.mark.parametrize("method", ["unsubscribe", "punsubscribe", "sunsubscribe"])
async def test_unsubscribing_when_nothing_is_subscribed_sends_nothing(
    method: str, ps: PubSub
) -> None:
    await getattr(ps, method)()
    await getattr(ps, method)("never")
    assert ps._conn is None
    assert reader_tasks() == []


async def test_get_message_times_out_with_none_and_nothing_subscribed(ps: PubSub) -> None:
    assert await ps.get_message(timeout=0) is None
    assert await ps.get_message(timeout=0.01) is None


async def test_listen_with_nothing_subscribed_ends_at_once(ps: PubSub) -> None:
    async with asyncio.timeout(1):
        assert [m async for m in ps.listen()] == []


# -- closing ---------------------------------------------------------------------------


async def test_a_closed_pubsub_refuses_everything_but_reading_what_is_left() -> None:
    ps = Client.from_url(NOWHERE).pubsub()
    await ps.aclose()
    await ps.aclose()
    assert ps.is_closed()
    assert "closed" in repr(ps)
    for method in ("subscribe", "psubscribe", "ssubscribe", "unsubscribe"):
        with pytest.raises(RuntimeError, match="closed"):
            await getattr(ps, method)("ch")
    with pytest.raises(RuntimeError, match="closed"):
        await ps.get_message(timeout=0.5)
    async with asyncio.timeout(1):
        assert [m async for m in ps.listen()] == []
    assert reader_tasks() == []


async def test_async_with_closes_a_pubsub_that_never_connected() -> None:
    async with Client.from_url(NOWHERE).pubsub() as ps:
        assert not ps.is_closed()
    assert ps.is_closed()


# -- the publishing commands -------------------------------------------------------------


def test_publish_and_spublish_build_their_commands() -> None:
    assert cmd.pubsub.publish("ch", "msg") == (("PUBLISH", "ch", "msg"), None)
    assert cmd.pubsub.spublish(b"ch", b"msg") == (("SPUBLISH", b"ch", b"msg"), None)


def test_pubsub_channels_takes_an_optional_pattern() -> None:
    # "*" by default, as redis-py's; None sends no pattern (the same channels).
    assert cmd.pubsub.pubsub_channels()[0] == ("PUBSUB", "CHANNELS", "*")
    assert cmd.pubsub.pubsub_channels(None)[0] == ("PUBSUB", "CHANNELS")
    assert cmd.pubsub.pubsub_channels("n*")[0] == ("PUBSUB", "CHANNELS", "n*")
    assert cmd.pubsub.pubsub_shardchannels()[0] == ("PUBSUB", "SHARDCHANNELS", "*")
    assert cmd.pubsub.pubsub_shardchannels(None)[0] == ("PUBSUB", "SHARDCHANNELS")
    assert cmd.pubsub.pubsub_shardchannels(b"s*")[0] == ("PUBSUB", "SHARDCHANNELS", b"s*")


def test_pubsub_numpat_builds_its_command() -> None:
    assert cmd.pubsub.pubsub_numpat() == (("PUBSUB", "NUMPAT"), None)


@pytest.mark.parametrize(
    ("build", "sub"),
    [(cmd.pubsub.pubsub_numsub, "NUMSUB"), (cmd.pubsub.pubsub_shardnumsub, "SHARDNUMSUB")],
)
def test_numsub_replies_become_redis_py_s_pairs_of_int_counts(build: object, sub: str) -> None:
    command = build("a", b"b")  # type: ignore[operator]
    assert command[0] == ("PUBSUB", sub, "a", b"b")
    assert command[1]([b"a", 2, b"b", 0]) == [(b"a", 2), (b"b", 0)]
    assert command[1](["a", 1]) == [("a", 1)]
    assert command[1]([]) == []
