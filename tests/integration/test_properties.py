"""Property-based tests against a real server: byte-exact round trips, no
command injection, and what a client does with replies that are not what they
should be.

* Any key, value, field or list item (binary with CR, LF, NUL, a RESP request
  embedded, the empty string, unicode text) comes back byte-exact through the
  typed commands, raw ``execute`` and a pipeline; so do 10 MB values.
* CR/LF in an argument never starts a second command: the fault proxy, which
  parses the request stream as the server does, and the server's own
  ``INFO commandstats`` both see exactly the commands that were sent.
* A reply that is not valid RESP (sent by the fault proxy in place of the real
  one) raises ``ProtocolError`` at once, the connection is discarded and the
  next command gets its own reply; a truncated reply costs ``command_timeout``
  (``CommandTimeout``), never a hang. Valid RESP of the wrong shape is returned
  as is by commands without a transform; a typed command whose transform
  cannot read it raises ``ProtocolError`` naming the server and the command.
"""

from __future__ import annotations

import random
import re
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, Final

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiopool import (
    Client,
    CommandTimeout,
    OutcomeUnknown,
    ProtocolError,
)
from aiopool._protocol import NOT_ENOUGH, make_reader
from aiopool.testing import FaultProxy, RedisServer

from .pool_support import admin, assert_balanced, assert_own_replies

# Each example makes a few loopback round trips; the fixtures' client, proxy
# and server are shared by the examples of a test (each example uses its own
# keys), hence the suppressed function-scoped-fixture check.
on_server = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

TEN_MB: Final = 10 * 1024 * 1024

# Bytes that matter to a RESP framer, and commands smuggled inside an argument.
SPECIAL: Final = [
    b"",
    b"\r\n",
    b"\r",
    b"\n",
    b"\x00",
    b"\x00\r\n\x00",
    b"*1\r\n$4\r\nPING\r\n",
    b"$-1\r\n",
    b"-ERR x\r\n",
    b"\xff\xfe",
    "é€😀".encode(),
]
INJECTIONS: Final = [
    b"\r\nFLUSHALL\r\n",
    b"\r\n*1\r\n$8\r\nFLUSHALL\r\n",
    b"*1\r\n$8\r\nFLUSHALL\r\n",
    b"FLUSHDB\r\n",
    b"\nFLUSHDB\n",
    b"\r\n*3\r\n$3\r\nSET\r\n$8\r\nsentinel\r\n$6\r\nhacked\r\n",
    b"\x00\r\n*1\r\n$4\r\nPING\r\n",
    b"$8\r\nFLUSHALL\r\n",
]
# The commands an injection above would run, as the proxy and INFO name them.
INJECTED_NAMES: Final = ["FLUSHALL", "FLUSHDB", "PING", "DEL", "CONFIG"]

blobs = st.one_of(
    st.binary(max_size=48),
    st.sampled_from(SPECIAL),
    st.lists(st.sampled_from([*SPECIAL, *INJECTIONS, b"a"]), max_size=5).map(b"".join),
)
# What a key, field or value may be: bytes, or str (sent as UTF-8).
items = st.one_of(blobs, st.text(max_size=16), blobs.map(lambda b: b.decode("utf-8", "replace")))
# What a raw argument may be besides: numbers, sent as their repr.
raw_args = st.one_of(
    items, st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True)
)


def as_sent(item: Any) -> bytes:
    """The bytes the server stores for an argument."""
    if isinstance(item, str):
        return item.encode()
    if isinstance(item, bytes):
        return item
    return repr(item).encode()


def ten_megabytes() -> bytes:
    """10 MB of random bytes laced with CRLF, NUL and smuggled commands."""
    block = b"".join(INJECTIONS) * 64 + random.Random(6).randbytes(64 * 1024)
    return (block * (TEN_MB // len(block) + 1))[:TEN_MB]


def tagged(tag: bytes, item: bytes | str) -> bytes | str:
    """``item`` under this example's own prefix, keeping its type (bytes or str)."""
    return tag + item if isinstance(item, bytes) else tag.decode() + item


def new_tag() -> bytes:
    return f"prop:{uuid.uuid4().hex[:8]}:".encode()


# -- round trips -------------------------------------------------------------------


@on_server
@given(key=items, value=raw_args)
async def test_any_key_and_value_round_trip_byte_exact_through_set_get_and_execute(
    r: Client, key: bytes | str, value: Any
) -> None:
    name = tagged(new_tag(), key)
    stored = as_sent(value)
    try:
        if isinstance(value, str | bytes):
            assert await r.set(name, value) is True
            assert await r.get(name) == stored
        assert await r.execute("SET", name, value) == b"OK"
        assert await r.execute("GET", name) == stored
        assert await r.strlen(name) == len(stored)
        # The key is stored under exactly its UTF-8 bytes.
        assert await r.exists(as_sent(name)) == 1
        assert await r.execute("ECHO", value) == stored
    finally:
        await r.delete(name)
    await assert_own_replies(r, tasks=5)
    assert_balanced(r.pool)


@on_server
@given(key=items, values=st.lists(items, min_size=1, max_size=8))
async def test_any_list_items_round_trip_byte_exact_through_rpush_lrange(
    r: Client, key: bytes | str, values: list[bytes | str]
) -> None:
    name = tagged(new_tag(), key)
    try:
        assert await r.rpush(name, *values) == len(values)
        assert await r.lrange(name, 0, -1) == [as_sent(v) for v in values]
        assert await r.execute("LINDEX", name, -1) == as_sent(values[-1])
    finally:
        await r.delete(name)
    await assert_own_replies(r, tasks=5)
    assert_balanced(r.pool)


@on_server
@given(key=items, pairs=st.lists(st.tuples(items, items), min_size=1, max_size=8))
async def test_any_hash_fields_and_values_round_trip_byte_exact_through_hset_hgetall(
    r: Client, key: bytes | str, pairs: list[tuple[bytes | str, bytes | str]]
) -> None:
    name = tagged(new_tag(), key)
    mapping = dict(pairs)
    expected: dict[bytes, bytes] = {}
    for field, value in mapping.items():
        # "a" and b"a" are one field: the later argument wins, as in HSET.
        expected[as_sent(field)] = as_sent(value)
    try:
        assert await r.hset(name, mapping=mapping) == len(expected)
        assert await r.hgetall(name) == expected
        field = pairs[-1][0]
        assert await r.hget(name, field) == expected[as_sent(field)]
    finally:
        await r.delete(name)
    await assert_own_replies(r, tasks=5)
    assert_balanced(r.pool)


@on_server
@given(key=st.text(max_size=16), value=st.text(max_size=40))
async def test_any_unicode_text_round_trips_exactly_with_decode_responses(
    rs: Client, key: str, value: str
) -> None:
    name = new_tag().decode() + key
    try:
        assert await rs.set(name, value) is True
        assert await rs.get(name) == value
        assert await rs.execute("ECHO", value) == value
    finally:
        await rs.delete(name)
    assert_balanced(rs.pool)


async def test_special_keys_are_keys_in_their_own_right(r: Client) -> None:
    assert len(set(SPECIAL + INJECTIONS)) == len(SPECIAL + INJECTIONS)
    # The exact bytes as whole keys, not under a prefix: b"" is a valid key too.
    for index, key in enumerate(SPECIAL + INJECTIONS):
        value = key + b"#%d" % index
        assert await r.set(key, value) is True
    for index, key in enumerate(SPECIAL + INJECTIONS):
        assert await r.get(key) == key + b"#%d" % index
    assert await r.dbsize() == len(set(SPECIAL + INJECTIONS))
    assert set(await r.keys("*")) == set(SPECIAL + INJECTIONS)
    await assert_own_replies(r)
    assert_balanced(r.pool)


async def test_a_10mb_value_round_trips_byte_exact(r: Client) -> None:
    value = ten_megabytes()
    assert await r.set(b"big\r\n", value) is True
    assert await r.strlen(b"big\r\n") == TEN_MB
    assert await r.get(b"big\r\n") == value
    assert await r.execute("GETRANGE", b"big\r\n", TEN_MB - 5, -1) == value[-5:]
    await assert_own_replies(r)
    assert_balanced(r.pool)


async def test_10mb_values_round_trip_byte_exact_in_a_pipeline(r: Client) -> None:
    value = ten_megabytes()
    reversed_value = value[::-1]
    async with r.pipeline(transaction=False) as p:
        p.set("a", value).rpush("list", value, b"\r\n", reversed_value).get("a")
        p.lrange("list", 0, -1).hset("h", mapping={b"\r\n": value}).hgetall("h")
        results = await p.execute()
    assert results[:2] == [True, 3]
    assert results[2] == value
    assert results[3] == [value, b"\r\n", reversed_value]
    assert results[4] == 1
    assert results[5] == {b"\r\n": value}
    await assert_own_replies(r)
    assert_balanced(r.pool)


async def test_strided_memoryview_value_is_stored_as_the_bytes_it_views(r: Client) -> None:
    view = memoryview(b"0123456789abcdef")[:8][::2]
    assert await r.set("view", view) is True
    assert await r.get("view") == bytes(view) == b"0246"


# -- injection ---------------------------------------------------------------------


def command_calls(server: RedisServer) -> Counter[str]:
    """Calls per command from ``INFO commandstats``, read outside the pool under test."""
    info: bytes = admin(server, "INFO", "commandstats")
    return Counter(
        {
            name.decode(): int(calls)
            for name, calls in re.findall(rb"cmdstat_([^:]+):calls=(\d+)", info)
        }
    )


def assert_server_ran(before: Counter[str], after: Counter[str], expected: dict[str, int]) -> None:
    """Exactly ``expected`` ran between two ``command_calls`` snapshots.

    Each snapshot is a PING and an INFO on its own connection, and INFO
    counts once it finished: so one of each is added to what ran.
    """
    ran = after - before
    assert ran == Counter({**expected, "ping": expected.get("ping", 0) + 1, "info": 1}), ran


@pytest.fixture
async def proxied(fault_proxy: FaultProxy, redis_url: str) -> AsyncIterator[Client]:
    """One connection through the fault proxy, opened already; no keepalive PINGs."""
    async with Client.from_url(
        fault_proxy.url,
        max_size=1,
        command_timeout=1.0,
        health_check_interval=None,
        keepalive_interval=None,
    ) as client:
        assert await client.ping() is True
        yield client


def proxy_counts(proxy: FaultProxy, names: list[str]) -> Counter[str]:
    return Counter({name: proxy.command_count(name) for name in names})


SENT_NAMES: Final = ["SET", "GET", "RPUSH", "LRANGE", "HSET", "HGET", "ECHO", *INJECTED_NAMES]


@on_server
@given(
    key=st.lists(st.sampled_from(INJECTIONS) | items, min_size=1, max_size=4),
    value=st.lists(st.sampled_from(INJECTIONS) | items, min_size=1, max_size=4),
)
async def test_crlf_in_keys_and_values_never_runs_a_second_command(
    proxied: Client,
    fault_proxy: FaultProxy,
    redis_server: RedisServer,
    key: list[bytes | str],
    value: list[bytes | str],
) -> None:
    name = b"inj:" + b"".join(as_sent(part) for part in key)
    data = b"".join(as_sent(part) for part in value)
    admin(redis_server, "SET", "sentinel", "alive")
    seen = proxy_counts(fault_proxy, SENT_NAMES)
    before = command_calls(redis_server)

    assert await proxied.set(name, data) is True
    assert await proxied.get(name) == data
    assert await proxied.rpush(name + b":l", data, name) == 2
    assert await proxied.lrange(name + b":l", 0, -1) == [data, name]
    assert await proxied.hset(name + b":h", data, name) == 1
    assert await proxied.hget(name + b":h", data) == name
    assert await proxied.execute("ECHO", data) == data

    after = command_calls(redis_server)
    sent = {"SET": 1, "GET": 1, "RPUSH": 1, "LRANGE": 1, "HSET": 1, "HGET": 1, "ECHO": 1}
    assert proxy_counts(fault_proxy, SENT_NAMES) - seen == Counter(sent)
    assert_server_ran(before, after, {k.lower(): v for k, v in sent.items()})
    assert admin(redis_server, "GET", "sentinel") == b"alive"
    assert await proxied.delete(name, name + b":l", name + b":h") == 3
    await assert_own_replies(proxied, tasks=5)
    assert_balanced(proxied.pool)


async def test_injection_payloads_as_whole_arguments_and_in_a_pipeline_run_nothing_else(
    proxied: Client, fault_proxy: FaultProxy, redis_server: RedisServer
) -> None:
    admin(redis_server, "SET", "sentinel", "alive")
    seen = proxy_counts(fault_proxy, SENT_NAMES)
    before = command_calls(redis_server)
    for payload in INJECTIONS:
        assert await proxied.set(payload, payload) is True
        assert await proxied.execute("ECHO", payload) == payload
    async with proxied.pipeline(transaction=False) as p:
        for payload in INJECTIONS:
            p.hset(b"h" + payload, payload, payload).get(payload)
        results = await p.execute()
    assert results == [item for payload in INJECTIONS for item in (1, payload)]
    after = command_calls(redis_server)

    n = len(INJECTIONS)
    assert proxy_counts(fault_proxy, SENT_NAMES) - seen == Counter(
        {"SET": n, "ECHO": n, "HSET": n, "GET": n}
    )
    assert_server_ran(before, after, {"set": n, "echo": n, "hset": n, "get": n})
    assert await proxied.get("sentinel") == b"alive"
    assert await proxied.dbsize() == 1 + 2 * n
    await assert_own_replies(proxied)
    assert_balanced(proxied.pool)


# -- malformed replies -------------------------------------------------------------

VALID_TYPES: Final = frozenset(b"+-:$*_,#(=%~>|")
line = st.binary(max_size=12).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))
non_canonical = st.one_of(
    st.sampled_from([b"", b"+3", b"03", b"-0", b" 3", b"3 ", b"1e3", b"0x1", b"--1", b"3.0"]),
    st.sampled_from([b"9223372036854775808", b"-9223372036854775809", b"99999999999999999999"]),
    line.filter(lambda b: re.fullmatch(rb"-?[0-9]*", b) is None),
)
single_invalid = st.one_of(
    # A type byte hiredis does not know (RESP3's "!" blob error included).
    st.tuples(st.integers(0, 255).filter(lambda b: b not in VALID_TYPES), line).map(
        lambda t: bytes([t[0]]) + t[1] + b"\r\n"
    ),
    st.tuples(st.sampled_from([b"$", b"*", b":"]), non_canonical).map(
        lambda t: t[0] + t[1] + b"\r\n"
    ),
    # Negative lengths other than -1, and more elements than hiredis allows.
    st.tuples(st.sampled_from([b"$", b"*"]), st.integers(2, 2**63)).map(lambda t: b"%s-%d\r\n" % t),
    st.integers(2**32, 2**63 - 1).map(lambda n: b"*%d\r\n" % n),
    # A status or error line with a lone CR or LF in it.
    st.tuples(st.sampled_from([b"+", b"-"]), line, st.sampled_from([b"\r", b"\n"]), line).map(
        lambda t: t[0] + t[1] + t[2] + t[3] + b"\r\n"
    ),
)
invalid_replies = st.one_of(
    single_invalid,
    # ... nested after valid elements.
    st.tuples(st.integers(3, 5), single_invalid).map(
        lambda t: b"*%d\r\n$1\r\na\r\n:1\r\n" % t[0] + t[1]
    ),
)


def fails_at_once(data: bytes) -> bool:
    """Whether hiredis rejects ``data`` without waiting for more bytes."""
    reader = make_reader(None)
    reader.feed(data)
    try:
        reader.gets()
    except ProtocolError:
        return True
    return False


Command = Callable[[Client], Coroutine[Any, Any, Any]]
COMMANDS: Final[dict[str, Command]] = {
    "GET": lambda c: c.get("malformed:key"),
    "INCR": lambda c: c.incr("malformed:counter"),
    "HGETALL": lambda c: c.hgetall("malformed:hash"),
    "LRANGE": lambda c: c.lrange("malformed:list", 0, -1),
    "ECHO": lambda c: c.execute("ECHO", "x\r\ny"),
}


@on_server
@given(data=invalid_replies, command=st.sampled_from(sorted(COMMANDS)))
async def test_invalid_reply_raises_protocol_error_at_once_and_the_next_command_is_served(
    proxied: Client, fault_proxy: FaultProxy, data: bytes, command: str
) -> None:
    assert fails_at_once(data), data  # the strategy makes only replies hiredis rejects
    await proxied.set("malformed:key", "value")
    closed = proxied.pool.stats().closed
    fault_proxy.replace_next_reply(data)
    started = time.monotonic()
    with pytest.raises(ProtocolError) as caught:
        await COMMANDS[command](proxied)
    assert time.monotonic() - started < 0.5  # at once, not at command_timeout (1 s)
    message = str(caught.value)
    assert f"127.0.0.1:{fault_proxy.port} sent an invalid reply to {command}" in message
    assert "the connection was closed" in message
    assert proxied.pool.stats().closed == closed + 1
    assert await proxied.get("malformed:key") == b"value"
    assert await proxied.execute("ECHO", data) == data
    await assert_own_replies(proxied, tasks=5)
    assert_balanced(proxied.pool)


async def test_pool_serves_own_replies_after_many_invalid_replies(
    proxied: Client, fault_proxy: FaultProxy
) -> None:
    for data in [b"!x\r\n", b"$-2\r\n", b":1.5\r\n", b"*2\r\n:1\r\n+a\nb\r\n", b"$03\r\nabc\r\n"]:
        # Open the next connection first, so that its handshake gets a real reply.
        assert await proxied.execute("ECHO", "warm") == b"warm"
        fault_proxy.replace_next_reply(data)
        with pytest.raises(ProtocolError):
            await proxied.execute("ECHO", "x")
    await assert_own_replies(proxied)
    stats = assert_balanced(proxied.pool)
    assert stats.closed == 5


@pytest.mark.parametrize(
    "data",
    [
        b"",  # the reply is swallowed
        b"$5\r\nval",
        b"$5\r\nvalue\r",
        b"*2\r\n$1\r\na\r\n",
        b"+OK",
        b":12\r",
        # Not a prefix of any valid reply, but hiredis judges a line at its CRLF.
        b":1\n",
        b"+OK\rX",
    ],
    ids=repr,
)
async def test_truncated_reply_raises_command_timeout_not_a_hang(
    data: bytes, fault_proxy: FaultProxy, redis_url: str
) -> None:
    reader = make_reader(None)
    reader.feed(data)
    assert reader.gets() is NOT_ENOUGH
    async with Client.from_url(fault_proxy.url, max_size=1, command_timeout=0.3) as client:
        await client.set("k", "value")
        fault_proxy.replace_next_reply(data)
        started = time.monotonic()
        with pytest.raises(CommandTimeout) as caught:
            await client.get("k")
        elapsed = time.monotonic() - started
        assert 0.28 <= elapsed < 1.0
        assert isinstance(caught.value, OutcomeUnknown)
        assert caught.value.command == "GET"
        message = str(caught.value)
        assert f"no reply from 127.0.0.1:{fault_proxy.port} to GET within 0.3s" in message
        assert "command_timeout" in message
        assert client.pool.stats().closed == 1
        assert await client.get("k") == b"value"
        await assert_own_replies(client)
        assert_balanced(client.pool)


async def test_resp3_attribute_before_a_reply_never_reaches_the_next_command(
    proxied: Client, fault_proxy: FaultProxy
) -> None:
    # Unsolicited bytes after a reply are covered by test_faults.py; this is
    # the RESP3 way of getting there, with no byte hiredis calls invalid.
    await proxied.set("k", "value")
    fault_proxy.replace_next_reply(b"|1\r\n+a\r\n+b\r\n$5\r\nvalue\r\n")
    try:
        got = await proxied.get("k")
    except ProtocolError:
        pass
    else:
        assert got == b"value"  # today: [b"a", b"b"], the attribute
    assert await proxied.incr("counter") == 1  # today: b"value", GET's reply
    assert await proxied.get("k") == b"value"
    assert_balanced(proxied.pool)


async def test_bulk_reply_with_a_wrong_terminator_is_taken_by_its_length(
    proxied: Client, fault_proxy: FaultProxy
) -> None:
    # hiredis skips the two bytes after a bulk payload unchecked: this invalid
    # reply reads as "value", and the connection stays in step.
    await proxied.set("k", "value")
    fault_proxy.replace_next_reply(b"$5\r\nvalueXY")
    assert await proxied.get("k") == b"value"
    assert await proxied.incr("counter") == 1
    stats = assert_balanced(proxied.pool)
    assert stats.closed == 0


# -- valid RESP of the wrong shape -------------------------------------------------


async def test_command_without_transform_returns_a_wrong_shaped_reply_as_is(
    proxied: Client, fault_proxy: FaultProxy
) -> None:
    await proxied.set("k", "value")
    for data, expected in [
        (b":5\r\n", 5),
        (b"*2\r\n$1\r\na\r\n:1\r\n", [b"a", 1]),
        (b"+OK\r\n", b"OK"),
        (b"*-1\r\n", None),
    ]:
        fault_proxy.replace_next_reply(data)
        got = await proxied.get("k")
        assert got == expected
        assert type(got) is type(expected)
    assert await proxied.get("k") == b"value"
    stats = assert_balanced(proxied.pool)
    assert stats.closed == 0  # valid RESP: the connection stayed in step and was reused


async def test_set_reads_any_reply_but_ok_as_not_set(
    proxied: Client, fault_proxy: FaultProxy
) -> None:
    # SET's transform maps +OK to True and anything else to None, the result
    # of an NX/XX condition that prevented the write.
    for data in [b":1\r\n", b"+QUEUED\r\n", b"$-1\r\n", b"*0\r\n"]:
        fault_proxy.replace_next_reply(data)
        assert await proxied.set("k", "v") is None
    fault_proxy.replace_next_reply(b"$2\r\nOK\r\n")  # a bulk "OK" passes for +OK
    assert await proxied.set("k", "v") is True
    fault_proxy.replace_next_reply(b"$2\r\nOK\r\n")
    assert await proxied.execute("SET", "k", "v") == b"OK"
    assert await proxied.set("k", "v") is True
    assert_balanced(proxied.pool)


WRONG_SHAPES: Final[list[tuple[str, Command, bytes]]] = [
    ("hgetall-int", lambda c: c.hgetall("h"), b":5\r\n"),
    ("hgetall-odd-array", lambda c: c.hgetall("h"), b"*1\r\n$1\r\na\r\n"),
    ("hgetall-nil", lambda c: c.hgetall("h"), b"$-1\r\n"),
    ("smembers-int", lambda c: c.smembers("s"), b":5\r\n"),
    ("incrbyfloat-text", lambda c: c.incrbyfloat("f", 1.5), b"$3\r\nabc\r\n"),
    ("zscore-text", lambda c: c.zscore("z", "m"), b"$3\r\nabc\r\n"),
]


@pytest.mark.parametrize(
    ("command", "data"),
    [(run, data) for _, run, data in WRONG_SHAPES],
    ids=[w[0] for w in WRONG_SHAPES],
)
async def test_typed_command_given_a_wrong_shaped_reply_raises_a_protocol_error(
    command: Command, data: bytes, proxied: Client, fault_proxy: FaultProxy
) -> None:
    fault_proxy.replace_next_reply(data)
    with pytest.raises(ProtocolError, match=f"127.0.0.1:{fault_proxy.port} answered"):
        await command(proxied)


@pytest.mark.parametrize(
    ("command", "data"),
    [(run, data) for _, run, data in WRONG_SHAPES],
    ids=[w[0] for w in WRONG_SHAPES],
)
async def test_wrong_shaped_reply_leaves_the_connection_in_step(
    command: Command, data: bytes, proxied: Client, fault_proxy: FaultProxy
) -> None:
    # Whatever the transform raises, the reply was read whole: the same
    # connection serves the next command its own reply.
    fault_proxy.replace_next_reply(data)
    with pytest.raises(ProtocolError):
        await command(proxied)
    assert await proxied.incr("counter") == 1
    await assert_own_replies(proxied)
    stats = assert_balanced(proxied.pool)
    assert stats.closed == 0


async def test_pipeline_given_a_wrong_shaped_reply_names_the_command_and_stays_in_step(
    proxied: Client, fault_proxy: FaultProxy
) -> None:
    # Pipelines transform all replies in one pass and fall back to a careful
    # loop only when a transform fails: that loop must still name the command.
    await proxied.set("k", "v")
    fault_proxy.replace_next_reply(b"+OK\r\n:5\r\n$1\r\nv\r\n")  # HGETALL answered 5
    with pytest.raises(ProtocolError, match=r"answered HGETALL with 5"):
        await proxied.pipeline(transaction=False).set("k", "v").hgetall("h").get("k").execute()
    assert await proxied.pipeline(transaction=False).set("k", "w").hgetall("h").get(
        "k"
    ).execute() == [
        True,
        {},
        b"w",
    ]
    stats = assert_balanced(proxied.pool)
    assert stats.closed == 0


# -- replies the parser chokes on --------------------------------------------------

CHOKING: Final = [
    # A valid header declaring 2**32 - 1 elements: hiredis allocates the list
    # up front, and where that fails it raises MemoryError.
    pytest.param(b"*4294967295\r\n", id="huge-array-header"),
    # RESP3 (which aiopool never asks for) map with a list as a key: TypeError.
    pytest.param(b"%1\r\n*0\r\n:1\r\n", id="resp3-map-unhashable-key"),
]


@pytest.mark.parametrize("data", CHOKING)
async def test_reply_the_parser_chokes_on_raises_protocol_error(
    data: bytes, proxied: Client, fault_proxy: FaultProxy
) -> None:
    fault_proxy.replace_next_reply(data)
    with pytest.raises(ProtocolError, match=f"127.0.0.1:{fault_proxy.port}"):
        await proxied.execute("ECHO", "x")


@pytest.mark.parametrize("data", CHOKING)
async def test_reply_the_parser_chokes_on_still_discards_the_connection(
    data: bytes, fault_proxy: FaultProxy, redis_url: str
) -> None:
    # Where calloc of 32 GiB succeeds (a big machine) the header waits for its
    # elements instead: CommandTimeout.
    async with Client.from_url(fault_proxy.url, max_size=1, command_timeout=0.5) as client:
        await client.set("k", "value")
        fault_proxy.replace_next_reply(data)
        with pytest.raises((ProtocolError, MemoryError, TypeError, CommandTimeout)):
            await client.execute("ECHO", "x")
        assert client.pool.stats().closed == 1
        assert await client.get("k") == b"value"
        await assert_own_replies(client)
        assert_balanced(client.pool)
