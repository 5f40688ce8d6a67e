"""The extra KEY and SERVER commands against a real ``redis-server``."""

from __future__ import annotations

import asyncio
import datetime
import time as clock
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from aiopool import Client, ClusterClient, CrossSlotError, ProtocolError, ReplyError
from aiopool.testing import RedisCluster, RedisServer

from .server_support import IS_VALKEY

UTC = datetime.UTC


@pytest.fixture
async def r1(redis_url: str) -> AsyncIterator[Client]:
    """A bytes client on database 1 of the shared server (flushed with the rest)."""
    base, mark, query = redis_url.partition("?")  # ?protocol=3 under AIOPOOL_TEST_PROTOCOL
    async with Client.from_url(base.removesuffix("/0") + "/1" + mark + query) as client:
        yield client


@pytest.fixture
async def restore_config(r: Client) -> AsyncIterator[None]:
    """Put back the parameters a test changes on the shared server."""
    names = ("maxmemory-policy", "slowlog-max-len", "slowlog-log-slower-than")
    saved = await r.config_get(*names)
    yield
    await r.config_set(saved)


# -- EXPIREAT / PEXPIREAT / EXPIRETIME / PEXPIRETIME -------------------------------------------


async def test_expireat_sets_the_expiry_time_and_expiretime_reads_it(r: Client) -> None:
    when = int(clock.time()) + 100
    await r.set("k", "v")
    assert await r.expireat("k", when) is True
    assert await r.expiretime("k") == when
    assert 90 <= await r.ttl("k") <= 100


async def test_expireat_accepts_an_aware_datetime(r: Client) -> None:
    when = datetime.datetime.now(UTC).replace(microsecond=0) + datetime.timedelta(minutes=5)
    await r.set("k", "v")
    assert await r.expireat("k", when) is True
    assert await r.expiretime("k") == int(when.timestamp())


async def test_expireat_of_missing_key_is_false(r: Client) -> None:
    assert await r.expireat("missing", int(clock.time()) + 100) is False
    assert await r.exists("missing") == 0


async def test_expireat_conditions_decide_whether_it_is_set(r: Client) -> None:
    now = int(clock.time())
    await r.set("k", "v")
    assert await r.expireat("k", now + 100, xx=True) is False
    assert await r.expireat("k", now + 100, nx=True) is True
    assert await r.expireat("k", now + 200, nx=True) is False
    assert await r.expireat("k", now + 50, gt=True) is False
    assert await r.expireat("k", now + 200, gt=True) is True
    assert await r.expireat("k", now + 300, lt=True) is False
    assert await r.expireat("k", now + 150, lt=True) is True
    assert await r.expiretime("k") == now + 150


async def test_expireat_in_the_past_deletes_the_key(r: Client) -> None:
    await r.set("k", "v")
    assert await r.expireat("k", 1) is True
    assert await r.exists("k") == 0


async def test_pexpireat_sets_a_millisecond_expiry_read_by_pexpiretime(r: Client) -> None:
    when = int(clock.time() * 1000) + 50_123
    await r.set("k", "v")
    assert await r.pexpireat("k", when) is True
    assert await r.pexpiretime("k") == when
    assert await r.expiretime("k") == (when + 500) // 1000  # rounded to the nearest second
    assert await r.pexpireat("missing", when) is False


async def test_pexpireat_accepts_a_datetime_to_the_millisecond(r: Client) -> None:
    when = datetime.datetime.now(UTC).replace(microsecond=250_000) + datetime.timedelta(hours=1)
    await r.set("k", "v")
    assert await r.pexpireat("k", when, nx=True) is True
    assert await r.pexpiretime("k") == int(when.timestamp()) * 1000 + 250


async def test_expiretime_is_minus_one_without_expiry_and_minus_two_when_missing(
    r: Client,
) -> None:
    await r.set("k", "v")
    assert await r.expiretime("k") == -1
    assert await r.pexpiretime("k") == -1
    assert await r.expiretime("missing") == -2
    assert await r.pexpiretime("missing") == -2


async def test_touch_counts_the_existing_keys(r: Client) -> None:
    await r.set("a", "1")
    await r.set("b", "2")
    assert await r.touch("a", "b", "missing") == 2
    assert await r.touch("missing") == 0


# -- COPY / DUMP / RESTORE ------------------------------------------------------------------------


async def test_copy_duplicates_the_value_and_keeps_the_source(r: Client) -> None:
    await r.rpush("src", "a", "b")
    assert await r.copy("src", "dst") is True
    assert await r.lrange("dst", 0, -1) == [b"a", b"b"]
    assert await r.lrange("src", 0, -1) == [b"a", b"b"]


async def test_copy_is_false_for_a_missing_source_or_existing_destination(r: Client) -> None:
    assert await r.copy("missing", "dst") is False
    await r.set("src", "new")
    await r.set("dst", "old")
    assert await r.copy("src", "dst") is False
    assert await r.get("dst") == b"old"
    assert await r.copy("src", "dst", replace=True) is True
    assert await r.get("dst") == b"new"


async def test_copy_into_another_database(r: Client, r1: Client) -> None:
    await r.set("src", "v")
    assert await r.copy("src", "dst", destination_db=1) is True
    assert await r1.get("dst") == b"v"
    assert await r.exists("dst") == 0


async def test_copy_to_a_database_out_of_range_raises_reply_error(r: Client) -> None:
    await r.set("src", "v")
    with pytest.raises(ReplyError, match="out of range"):
        await r.copy("src", "dst", destination_db=10_000)
    assert await r.get("src") == b"v"


async def test_dump_returns_bytes_and_none_for_a_missing_key(r: Client) -> None:
    await r.hset("h", mapping={"f": "v"})
    payload = await r.dump("h")
    assert isinstance(payload, bytes)
    assert payload
    assert await r.dump("missing") is None


async def test_dump_then_restore_copies_a_value_without_expiry(r: Client) -> None:
    await r.hset("h", mapping={"a": "1", "b": "2"})
    payload = await r.dump("h")
    assert payload is not None
    assert await r.restore("copy", 0, payload) is True
    assert await r.hgetall("copy") == {b"a": b"1", b"b": b"2"}
    assert await r.ttl("copy") == -1


async def test_restore_with_a_ttl_sets_the_expiry(r: Client) -> None:
    await r.set("k", "v")
    payload = await r.dump("k")
    assert payload is not None
    assert await r.restore("ms", 50_000, payload) is True
    assert 40_000 <= await r.pttl("ms") <= 50_000
    assert await r.restore("td", datetime.timedelta(minutes=5), payload) is True
    assert 290 <= await r.ttl("td") <= 300


async def test_restore_absttl_expires_at_the_given_time(r: Client) -> None:
    await r.set("k", "v")
    payload = await r.dump("k")
    assert payload is not None
    when = datetime.datetime.now(UTC).replace(microsecond=0) + datetime.timedelta(hours=1)
    assert await r.restore("copy", when, payload, absttl=True) is True
    assert await r.pexpiretime("copy") == int(when.timestamp()) * 1000


async def test_restore_over_an_existing_key_raises_busykey_unless_replace(r: Client) -> None:
    await r.set("k", "new")
    payload = await r.dump("k")
    assert payload is not None
    await r.set("dst", "old")
    with pytest.raises(ReplyError) as info:
        await r.restore("dst", 0, payload)
    assert info.value.code == "BUSYKEY"
    assert await r.get("dst") == b"old"
    assert await r.restore("dst", 0, payload, replace=True) is True
    assert await r.get("dst") == b"new"


async def test_restore_of_a_corrupt_payload_raises_reply_error(r: Client) -> None:
    with pytest.raises(ReplyError, match="payload"):
        await r.restore("k", 0, b"not a dump payload")
    assert await r.exists("k") == 0


async def test_restore_idletime_sets_the_idle_time(r: Client) -> None:
    await r.set("k", "v")
    payload = await r.dump("k")
    assert payload is not None
    assert await r.restore("copy", 0, payload, idletime=1000) is True
    assert await r.object_idletime("copy") >= 1000  # type: ignore[operator]


@pytest.mark.usefixtures("restore_config")
async def test_restore_frequency_sets_the_lfu_counter(r: Client) -> None:
    await r.config_set("maxmemory-policy", "allkeys-lfu")
    await r.set("k", "v")
    payload = await r.dump("k")
    assert payload is not None
    assert await r.restore("copy", 0, payload, frequency=100) is True
    assert await r.object_freq("copy") == 100
    assert await r.object_freq("missing") is None


async def test_dump_with_decode_responses_raises_protocol_error_and_pool_recovers(
    r: Client, rs: Client
) -> None:
    await r.set("k", "v")
    payload = await r.dump("k")
    assert payload is not None
    with pytest.raises(UnicodeDecodeError):
        payload.decode()  # this payload is not text; the decoding client cannot return it
    with pytest.raises(ProtocolError, match="decode_responses=False"):
        await rs.dump("k")
    assert rs.pool.stats().in_use == 0
    assert await rs.get("k") == "v"


# -- introspection ------------------------------------------------------------------------------


async def test_object_encoding_names_the_encoding_as_str(r: Client, rs: Client) -> None:
    await r.set("number", 12345)
    await r.set("text", "short")
    await r.hset("hash", mapping={"f": "v"})
    assert await r.object_encoding("number") == "int"
    assert await r.object_encoding("text") == "embstr"
    assert await rs.object_encoding("hash") == "listpack"
    assert await r.object_encoding("missing") is None


async def test_object_idletime_and_refcount_are_ints_or_none(r: Client) -> None:
    await r.set("k", "a value")
    idle = await r.object_idletime("k")
    assert isinstance(idle, int)
    assert 0 <= idle < 5
    refcount = await r.object_refcount("k")
    assert isinstance(refcount, int)
    assert refcount >= 1
    assert await r.object_idletime("missing") is None
    assert await r.object_refcount("missing") is None


async def test_object_freq_without_an_lfu_policy_raises_reply_error(r: Client) -> None:
    await r.set("k", "v")
    with pytest.raises(ReplyError, match="LFU"):
        await r.object_freq("k")


async def test_randomkey_returns_a_key_or_none_when_empty(r: Client, rs: Client) -> None:
    assert await r.randomkey() is None
    await r.set("only", "v")
    assert await r.randomkey() == b"only"
    assert await rs.randomkey() == "only"


async def test_keys_lists_the_keys_matching_the_pattern(r: Client, rs: Client) -> None:
    assert await r.keys() == []
    await r.mset({"user:1": "a", "user:2": "b", "other": "c"})
    assert sorted(await r.keys()) == [b"other", b"user:1", b"user:2"]
    assert sorted(await r.keys("user:*")) == [b"user:1", b"user:2"]
    assert sorted(await rs.keys("user:?")) == ["user:1", "user:2"]
    assert await r.keys("nothing*") == []


# -- TIME / LASTSAVE ------------------------------------------------------------------------------


async def test_time_returns_the_server_clock_as_ints(r: Client) -> None:
    seconds, micros = await r.time()
    assert isinstance(seconds, int)
    assert isinstance(micros, int)
    assert 0 <= micros < 1_000_000
    assert abs(seconds + micros / 1e6 - clock.time()) < 5


async def test_lastsave_is_an_aware_utc_datetime_not_after_the_server_time(
    r: Client, rs: Client
) -> None:
    saved = await r.lastsave()
    assert saved.tzinfo is UTC
    seconds, _ = await r.time()
    assert saved <= datetime.datetime.fromtimestamp(seconds, UTC)
    assert await rs.lastsave() == saved


# -- CONFIG ---------------------------------------------------------------------------------------


async def test_config_get_returns_str_names_and_str_values(r: Client, rs: Client) -> None:
    config = await r.config_get("maxmemory*")
    assert "maxmemory" in config
    assert all(isinstance(name, str) for name in config)
    assert all(isinstance(value, str) for value in config.values())
    assert all(name.startswith("maxmemory") for name in config)
    assert config["maxmemory-policy"] == "noeviction"  # str even without decode_responses
    assert (await rs.config_get("maxmemory-policy")) == {"maxmemory-policy": "noeviction"}


async def test_config_get_defaults_to_every_parameter_and_omits_unknown_ones(r: Client) -> None:
    everything = await r.config_get()
    assert {"port", "maxmemory", "hz"} <= everything.keys()
    assert await r.config_get("no-such-parameter") == {}
    both = await r.config_get("port", "hz")
    assert both.keys() == {"port", "hz"}


@pytest.mark.usefixtures("restore_config")
async def test_config_set_changes_one_or_several_parameters(r: Client) -> None:
    assert await r.config_set("slowlog-max-len", 200) is True
    assert await r.config_get("slowlog-max-len") == {"slowlog-max-len": "200"}
    assert await r.config_set({"slowlog-max-len": 300, "slowlog-log-slower-than": 5000}) is True
    assert await r.config_get("slowlog-*") == {
        "slowlog-max-len": "300",
        "slowlog-log-slower-than": "5000",
    }
    # redis-py's form: further parameters as name, value arguments.
    assert await r.config_set("slowlog-max-len", 400, "slowlog-log-slower-than", 6000) is True
    assert await r.config_get("slowlog-*") == {
        "slowlog-max-len": "400",
        "slowlog-log-slower-than": "6000",
    }


@pytest.mark.usefixtures("restore_config")
async def test_config_set_with_an_invalid_value_raises_and_changes_nothing(r: Client) -> None:
    before = await r.config_get("slowlog-max-len", "maxmemory-policy")
    with pytest.raises(ReplyError, match="maxmemory-policy"):
        await r.config_set({"slowlog-max-len": 999, "maxmemory-policy": "no-such-policy"})
    assert await r.config_get("slowlog-max-len", "maxmemory-policy") == before


# -- CLIENT ---------------------------------------------------------------------------------------


async def test_client_setname_names_the_connection_that_runs_it(redis_url: str) -> None:
    async with Client.from_url(redis_url, max_size=1) as one:
        assert await one.client_getname() is None
        assert await one.client_setname("worker-1") is True
        assert await one.client_getname() == "worker-1"
        own_id = await one.client_id()
        listed = {c["id"]: c["name"] for c in await one.client_list()}
        assert listed[str(own_id)] == "worker-1"


async def test_client_setname_leaves_the_other_pooled_connections_unnamed(
    redis_url: str,
) -> None:
    async with Client.from_url(redis_url, min_size=2, max_size=2) as two:
        await two.client_setname("only-one")
        # Two commands at once borrow both connections of the pool.
        ids = {str(i) for i in await asyncio.gather(two.client_id(), two.client_id())}
        assert len(ids) == 2
        names = sorted(c["name"] for c in await two.client_list() if c["id"] in ids)
        assert names == ["", "only-one"]


async def test_client_setname_with_a_space_raises_reply_error(r: Client) -> None:
    with pytest.raises(ReplyError):
        await r.client_setname("has space")
    assert await r.ping() is True


async def test_client_name_option_names_every_connection(redis_url: str) -> None:
    async with Client.from_url(redis_url, client_name="app", decode_responses=True) as app:
        assert await app.client_getname() == "app"


async def test_client_id_is_an_int_listed_by_client_list(r: Client, rs: Client) -> None:
    own_id = await r.client_id()
    assert isinstance(own_id, int)
    for client in (r, rs):
        clients = await client.client_list()
        assert all(isinstance(name, str) for c in clients for name in c)
        assert str(own_id) in {c["id"] for c in clients}


async def test_client_list_type_filters_the_connections(r: Client) -> None:
    normal = await r.client_list("normal")
    assert normal
    assert all("N" in c["flags"] for c in normal)
    assert await r.client_list("replica") == []
    assert await r.client_list("master") == []


async def test_client_list_shows_a_pubsub_connection_under_its_type(r: Client) -> None:
    async with r.pubsub() as pubsub:
        await pubsub.subscribe("news")
        subscribers = await r.client_list("pubsub")
        assert len(subscribers) == 1
        assert subscribers[0]["sub"] == "1"


# -- MEMORY USAGE / WAIT / FLUSHALL ----------------------------------------------------------------


async def test_memory_usage_is_bytes_used_or_none_for_missing_key(r: Client) -> None:
    await r.set("small", "v")
    await r.set("large", "x" * 10_000)
    small = await r.memory_usage("small")
    large = await r.memory_usage("large", samples=0)
    assert isinstance(small, int)
    assert isinstance(large, int)
    assert large > 10_000 > small > 0
    assert await r.memory_usage("missing") is None


async def test_wait_without_replicas_returns_zero(r: Client) -> None:
    await r.set("k", "v")
    assert await r.wait(0, 0) == 0
    assert await r.wait(1, 10) == 0


async def test_wait_gets_its_blocking_time_on_top_of_command_timeout(redis_url: str) -> None:
    # The server ends a WAIT up to 1/hz (100 ms) late; 300 ms + command_timeout covers that.
    async with Client.from_url(redis_url, command_timeout=0.15) as quick:
        started = clock.monotonic()
        assert await quick.wait(1, 300) == 0
        assert clock.monotonic() - started >= 0.29  # twice command_timeout


async def test_flushall_empties_every_database(r: Client, r1: Client) -> None:
    await r.set("a", "1")
    await r1.set("b", "2")
    assert await r.flushall() is True
    assert await r.dbsize() == 0
    assert await r1.dbsize() == 0
    await r.set("c", "3")
    assert await r.flushall(asynchronous=True) is True
    assert await r.dbsize() == 0


# -- pipelines ------------------------------------------------------------------------------------


@pytest.mark.parametrize("transaction", [False, True], ids=["pipeline", "transaction"])
async def test_keys_and_server_commands_in_a_pipeline_return_transformed_results(
    r: Client, transaction: bool
) -> None:
    when = int(clock.time()) + 100
    async with r.pipeline(transaction=transaction) as p:
        p.set("src", 42).copy("src", "dst").expireat("dst", when).expiretime("dst")
        p.object_encoding("dst").touch("src", "dst", "missing").keys("d*").dump("missing")
        p.time().lastsave().config_get("maxmemory").memory_usage("missing").client_getname()
        results = await p.execute()
    assert results[:8] == [True, True, True, when, "int", 2, [b"dst"], None]
    seconds, micros = results[8]
    assert isinstance(seconds, int)
    assert isinstance(micros, int)
    assert results[9].tzinfo is UTC
    assert results[10] == {"maxmemory": "0"}
    assert results[11:] == [None, None]


async def test_wait_in_a_pipeline_waits_for_the_writes_queued_before_it(r: Client) -> None:
    async with r.pipeline(transaction=False) as p:
        p.set("k", "v").wait(0, 0)
        assert await p.execute() == [True, 0]


# -- redis-py's key commands: MOVE, OBJECT, SORT, SORT_RO, MIGRATE; its argument shapes ---------


async def test_move_moves_a_key_to_another_database(r: Client, r1: Client) -> None:
    await r.set("k", "v")
    assert await r.move("k", 1) is True
    assert await r.exists("k") == 0
    assert await r1.get("k") == b"v"
    assert await r.move("k", 1) is False  # gone from here
    await r.set("k", "again")
    assert await r.move("k", "1") is False  # exists there; an integer str as redis-py sends
    async with r.pipeline() as p:
        p.set("p", "1").move("p", 1).move("missing", 1)
        assert await p.execute() == [True, True, False]
    with pytest.raises(ReplyError):
        await r.move("k", 0)  # the same database
    with pytest.raises(ValueError, match="db must be an int >= 0"):
        r.move("k", -1)  # type: ignore[unused-coroutine]


async def test_object_returns_redis_py_raw_replies(r: Client, rs: Client) -> None:
    await r.set("n", "12")
    await r.rpush("l", "a")
    assert await r.object("encoding", "n") == b"int"
    assert await r.object("ENCODING", "l") in (b"listpack", b"quicklist")  # 7.2 / 7.0
    assert await rs.object("encoding", "n") == "int"
    assert await r.object("refcount", "l") == 1
    assert isinstance(await r.object("idletime", "l"), int)
    assert await r.object("encoding", "missing") is None
    with pytest.raises(ReplyError):
        await r.object("freq", "l")  # needs an LFU maxmemory-policy
    with pytest.raises(ValueError, match="infotype must be one of"):
        r.object("size", "l")  # type: ignore[unused-coroutine]


async def check_sort(c: Any, t: str, *, patterns: bool = True) -> None:
    """SORT and SORT_RO with redis-py's arguments; BY/GET patterns only with ``patterns``."""
    key = t + "ids"
    await c.rpush(key, "3", "1", "2")
    await c.mset({t + "w_1": "30", t + "w_2": "20", t + "w_3": "10"})
    await c.mset({t + "name_1": "one", t + "name_2": "two", t + "name_3": "three"})
    assert await c.sort(key) == [b"1", b"2", b"3"]
    assert await c.sort(key, desc=True) == [b"3", b"2", b"1"]
    assert await c.sort(key, 1, 1) == [b"2"]
    assert await c.sort(key, desc=True, store=t + "sorted") == 3
    assert await c.lrange(t + "sorted", 0, -1) == [b"3", b"2", b"1"]
    assert await c.sort_ro(key, 0, 2, desc=True) == [b"3", b"2"]
    await c.rpush(t + "words", "b", "a")
    assert await c.sort(t + "words", alpha=True) == [b"a", b"b"]
    with pytest.raises(ReplyError):
        await c.sort(t + "words")  # not numbers, and no alpha=True
    await c.hset(t + "h", "f", "v")
    with pytest.raises(ReplyError, match="WRONGTYPE"):
        await c.sort_ro(t + "h")
    if not patterns:
        return
    assert await c.sort(key, by=t + "w_*") == [b"3", b"2", b"1"]
    assert await c.sort(key, get=t + "name_*") == [b"one", b"two", b"three"]
    assert await c.sort(key, get=["#", t + "name_*"], groups=True) == [
        (b"1", b"one"),
        (b"2", b"two"),
        (b"3", b"three"),
    ]
    assert await c.sort_ro(key, by=t + "w_*", get="#") == [b"3", b"2", b"1"]


async def test_sort_and_sort_ro_take_redis_py_arguments(r: Client) -> None:
    await check_sort(r, "")
    async with r.pipeline() as p:
        p.sort("ids", desc=True).sort_ro("ids", alpha=True).sort("ids", store="copy")
        assert await p.execute() == [[b"3", b"2", b"1"], [b"1", b"2", b"3"], 3]


async def test_sort_on_the_cluster_leaves_patterns_to_the_server_and_needs_one_slot(
    redis_cluster: RedisCluster,
) -> None:
    async with ClusterClient.from_url(redis_cluster.startup_url) as cc:
        # A BY/GET pattern names keys the client cannot route: Redis 7.0 refuses every
        # pattern in cluster mode; Valkey 8+ runs those with the key's hash tag (their keys
        # are in its slot) and refuses the others, with the same message.
        await check_sort(cc, "{sort}", patterns=IS_VALKEY)
        by, get = ("w_*", "name_*") if IS_VALKEY else ("{sort}w_*", "{sort}name_*")
        with pytest.raises(ReplyError, match="BY option of SORT denied in Cluster mode"):
            await cc.sort("{sort}ids", by=by)
        with pytest.raises(ReplyError, match="GET option of SORT denied in Cluster mode"):
            await cc.sort_ro("{sort}ids", get=get)
        with pytest.raises(CrossSlotError):
            await cc.sort("{sort}ids", store="{other}sorted")


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda c: c.sort("k", start=1), ValueError, "start and num together"),
        (lambda c: c.sort("k", get="#", groups=True), ValueError, "at least two patterns"),
        (lambda c: c.sort("k", num=1), ValueError, "start and num together"),
        (lambda c: c.sort_ro("k", "0", 1), TypeError, "start must be an int"),
    ],
    ids=["start-only", "groups-one-get", "num-only", "start-str"],
)
async def test_sort_arguments_are_checked_before_sending(
    r: Client, call: Any, error: type[Exception], match: str
) -> None:
    before = r.pool.stats().acquired
    with pytest.raises(error, match=match):
        call(r)
    assert r.pool.stats().acquired == before


async def test_migrate_moves_keys_to_another_server(
    r: Client, private_redis_server: RedisServer
) -> None:
    other = private_redis_server
    await r.mset({"a": "1", "b": "2", "c": "3"})
    assert await r.migrate(other.host, other.port, ["a", "b"], 0, 5000) == b"OK"
    assert await r.exists("a", "b") == 0
    assert await r.migrate(other.host, other.port, "c", 0, 5000, copy=True) == b"OK"
    assert await r.get("c") == b"3"  # copy=True keeps it here
    assert await r.migrate(other.host, other.port, "missing", 0, 5000) == b"NOKEY"
    async with Client.from_url(other.url) as there:
        assert await there.mget("a", "b", "c") == [b"1", b"2", b"3"]
        await r.set("c", "new")
        with pytest.raises(ReplyError, match="BUSYKEY"):
            await r.migrate(other.host, other.port, "c", 0, 5000)
        assert await r.migrate(other.host, other.port, "c", 0, 5000, replace=True) == b"OK"
        assert await there.get("c") == b"new"
    with pytest.raises(ValueError, match="at least one key"):
        r.migrate(other.host, other.port, [], 0, 5000)  # type: ignore[unused-coroutine]


async def test_expiry_commands_take_redis_py_argument_shapes(r: Client) -> None:
    await r.set("k", "v")
    assert await r.expire("k", time=100) is True  # redis-py's keyword
    assert await r.expire("k", 50, False, False, False, True) is True  # lt, positionally
    assert 49 <= await r.ttl("k") <= 50
    assert await r.expire("k", datetime.timedelta(minutes=1), nx=True) is False
    assert await r.pexpire("k", time=datetime.timedelta(seconds=30)) is True
    assert 29_000 < await r.pttl("k") <= 30_000
    assert await r.expire("k", seconds=40) is True  # aiopool's earlier keyword
    assert await r.pexpire("k", millis=40_000) is True
    when = datetime.datetime.now(UTC) + datetime.timedelta(seconds=90)
    assert await r.expireat("k", when, False, True) is True  # xx, positionally
    assert 88 <= await r.ttl("k") <= 90
    assert await r.expire("k", 0) is True  # 0 or less deletes the key, as in Redis
    assert await r.exists("k") == 0
    await r.set("k", "v")
    assert await r.pexpire("k", -1) is True
    assert await r.exists("k") == 0
    await r.set("src", "v")
    assert await r.copy("src", "dst", "1") is True  # destination_db as redis-py types it
    with pytest.raises(ValueError, match="not both"):
        r.expire("k", 10, seconds=10)  # type: ignore[unused-coroutine]
    with pytest.raises(TypeError, match="missing the argument time"):
        r.expire("k")  # type: ignore[unused-coroutine]
    with pytest.raises(ValueError, match="whole seconds"):
        r.expire("k", datetime.timedelta(seconds=1.5))  # type: ignore[unused-coroutine]


async def test_expiry_shapes_on_the_cluster(redis_cluster: RedisCluster) -> None:
    async with ClusterClient.from_url(redis_cluster.startup_url) as cc:
        await cc.set("{keys}k", "v")
        assert await cc.expire("{keys}k", time=100) is True
        assert await cc.pexpire("{keys}k", 50_000, gt=True) is False
        assert await cc.object("encoding", "{keys}k") == b"embstr"
        with pytest.raises(ReplyError):
            await cc.move("{keys}k", 1)  # Redis Cluster has only database 0
        calls: list[Callable[[], Awaitable[Any]]] = [lambda: cc.type("{keys}missing")]
        for call in calls:
            assert await call() == b"none"
