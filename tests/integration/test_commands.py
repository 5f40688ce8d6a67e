"""Every typed method of ``aiopool.Client`` against a real ``redis-server``."""

from __future__ import annotations

import datetime
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from aiopool import Client, ClusterClient, CrossSlotError, ProtocolError, ReplyError
from aiopool.testing import RedisCluster

UTC = datetime.UTC


# -- GET / SET ---------------------------------------------------------------------


async def test_get_missing_key_returns_none(r: Client) -> None:
    assert await r.get("missing") is None


async def test_set_then_get_round_trips_bytes(r: Client) -> None:
    assert await r.set("k", b"\x00\xffbinary\r\n") is True
    assert await r.get("k") == b"\x00\xffbinary\r\n"


async def test_set_accepts_str_int_float_and_memoryview(r: Client) -> None:
    await r.set("s", "héllo")
    await r.set("i", 42)
    await r.set("f", 1.5)
    await r.set("m", memoryview(b"view"))
    assert await r.mget("s", "i", "f", "m") == ["héllo".encode(), b"42", b"1.5", b"view"]


async def test_set_with_ex_sets_ttl_in_seconds(r: Client) -> None:
    await r.set("k", "v", ex=100)
    assert 90 <= await r.ttl("k") <= 100


async def test_set_with_timedelta_ex(r: Client) -> None:
    await r.set("k", "v", ex=datetime.timedelta(minutes=5))
    assert 290 <= await r.ttl("k") <= 300


async def test_set_with_px_sets_ttl_in_milliseconds(r: Client) -> None:
    await r.set("k", "v", px=50_000)
    assert 40_000 <= await r.pttl("k") <= 50_000


async def test_set_with_exat_expires_at_unix_time(r: Client) -> None:
    await r.set("k", "v", exat=int(time.time()) + 100)
    assert 90 <= await r.ttl("k") <= 100


async def test_set_with_exat_datetime(r: Client) -> None:
    await r.set("k", "v", exat=datetime.datetime.now(UTC) + datetime.timedelta(seconds=100))
    assert 90 <= await r.ttl("k") <= 100


async def test_set_with_pxat_expires_at_unix_millis(r: Client) -> None:
    await r.set("k", "v", pxat=int(time.time() * 1000) + 50_000)
    assert 40_000 <= await r.pttl("k") <= 50_000


async def test_set_nx_only_sets_missing_key(r: Client) -> None:
    assert await r.set("k", "first", nx=True) is True
    assert await r.set("k", "second", nx=True) is None
    assert await r.get("k") == b"first"


async def test_set_xx_only_sets_existing_key(r: Client) -> None:
    assert await r.set("k", "v", xx=True) is None
    assert await r.exists("k") == 0
    await r.set("k", "old")
    assert await r.set("k", "new", xx=True) is True
    assert await r.get("k") == b"new"


async def test_set_keepttl_keeps_the_expiry(r: Client) -> None:
    await r.set("k", "v", ex=100)
    await r.set("k", "w", keepttl=True)
    assert 90 <= await r.ttl("k") <= 100
    await r.set("k", "x")
    assert await r.ttl("k") == -1


async def test_set_get_returns_the_old_value(r: Client) -> None:
    assert await r.set("k", "first", get=True) is None
    assert await r.set("k", "second", get=True) == b"first"
    assert await r.get("k") == b"second"


async def test_set_conflicting_options_raise_before_sending(r: Client) -> None:
    with pytest.raises(ValueError, match="ex, px"):
        await r.set("k", "v", ex=1, px=1000)
    assert await r.exists("k") == 0


# -- other string commands ------------------------------------------------------------


async def test_mget_returns_none_for_missing_keys(r: Client) -> None:
    await r.set("a", "1")
    await r.set("c", "3")
    assert await r.mget("a", "b", "c") == [b"1", None, b"3"]


async def test_mset_sets_every_key(r: Client) -> None:
    assert await r.mset({"a": "1", b"b": 2, "c": b"3"}) is True
    assert await r.mget("a", "b", "c") == [b"1", b"2", b"3"]


async def test_incr_and_decr_variants_return_the_new_value(r: Client) -> None:
    assert await r.incr("n") == 1
    assert await r.incrby("n", 10) == 11
    assert await r.decr("n") == 10
    assert await r.decrby("n", 4) == 6
    result = await r.incrbyfloat("n", 0.5)
    assert isinstance(result, float)
    assert result == 6.5


async def test_incr_on_non_integer_raises_reply_error(r: Client) -> None:
    await r.set("k", "abc")
    with pytest.raises(ReplyError, match="not an integer") as info:
        await r.incr("k")
    assert info.value.code == "ERR"


async def test_append_returns_new_length(r: Client) -> None:
    assert await r.append("k", "ab") == 2
    assert await r.append("k", b"cde") == 5
    assert await r.get("k") == b"abcde"


async def test_getdel_returns_value_and_deletes(r: Client) -> None:
    await r.set("k", "v")
    assert await r.getdel("k") == b"v"
    assert await r.exists("k") == 0
    assert await r.getdel("k") is None


async def test_getex_sets_expiry(r: Client) -> None:
    await r.set("k", "v")
    assert await r.getex("k", ex=100) == b"v"
    assert 90 <= await r.ttl("k") <= 100


async def test_getex_persist_removes_expiry(r: Client) -> None:
    await r.set("k", "v", ex=100)
    assert await r.getex("k", persist=True) == b"v"
    assert await r.ttl("k") == -1


async def test_strlen_counts_bytes_and_is_zero_for_missing_key(r: Client) -> None:
    await r.set("k", "héllo")
    assert await r.strlen("k") == 6
    assert await r.strlen("missing") == 0


# -- keys ------------------------------------------------------------------------------


async def test_delete_counts_existing_keys(r: Client) -> None:
    await r.mset({"a": 1, "b": 2})
    assert await r.delete("a", "b", "c") == 2
    assert await r.exists("a", "b") == 0


async def test_unlink_counts_existing_keys(r: Client) -> None:
    await r.mset({"a": 1, "b": 2})
    assert await r.unlink("a", "c") == 1
    assert await r.exists("a", "b") == 1


async def test_exists_counts_repeated_keys(r: Client) -> None:
    await r.set("a", 1)
    assert await r.exists("a", "a", "missing") == 2


async def test_expire_sets_ttl_and_is_false_for_missing_key(r: Client) -> None:
    assert await r.ttl("missing") == -2
    assert await r.expire("missing", 10) is False
    await r.set("k", "v")
    assert await r.ttl("k") == -1
    assert await r.expire("k", 100) is True
    assert 90 <= await r.ttl("k") <= 100


async def test_expire_nx_only_when_no_expiry(r: Client) -> None:
    await r.set("k", "v")
    assert await r.expire("k", 100, nx=True) is True
    assert await r.expire("k", 200, nx=True) is False
    assert await r.ttl("k") <= 100


async def test_expire_xx_only_when_expiry_exists(r: Client) -> None:
    await r.set("k", "v")
    assert await r.expire("k", 100, xx=True) is False
    assert await r.ttl("k") == -1
    await r.expire("k", 100)
    assert await r.expire("k", 200, xx=True) is True
    assert await r.ttl("k") > 100


async def test_expire_gt_only_extends(r: Client) -> None:
    await r.set("k", "v", ex=100)
    assert await r.expire("k", 50, gt=True) is False
    assert await r.expire("k", 200, gt=True) is True
    assert await r.ttl("k") > 100


async def test_expire_lt_only_shortens(r: Client) -> None:
    await r.set("k", "v", ex=100)
    assert await r.expire("k", 200, lt=True) is False
    assert await r.expire("k", 50, lt=True) is True
    assert await r.ttl("k") <= 50


async def test_pexpire_sets_ttl_in_milliseconds_with_conditions(r: Client) -> None:
    assert await r.pttl("missing") == -2
    await r.set("k", "v")
    assert await r.pexpire("k", 50_000) is True
    assert 40_000 <= await r.pttl("k") <= 50_000
    assert await r.pexpire("k", 10_000, gt=True) is False
    assert await r.pexpire("k", 10_000, lt=True) is True
    assert await r.pttl("k") <= 10_000


async def test_persist_removes_expiry(r: Client) -> None:
    await r.set("k", "v", ex=100)
    assert await r.persist("k") is True
    assert await r.ttl("k") == -1
    assert await r.persist("k") is False


async def test_type_names_the_value_type(r: Client) -> None:
    await r.set("s", "v")
    await r.execute("RPUSH", "l", "a")
    await r.execute("HSET", "h", "f", "v")
    assert await r.type("s") == b"string"  # bytes, as redis-py's
    assert await r.type("l") == b"list"
    assert await r.type("h") == b"hash"
    assert await r.type("missing") == b"none"


async def test_rename_moves_the_value(r: Client) -> None:
    await r.set("old", "v")
    assert await r.rename("old", "new") is True
    assert await r.get("new") == b"v"
    assert await r.exists("old") == 0


async def test_rename_of_missing_key_raises_reply_error(r: Client) -> None:
    with pytest.raises(ReplyError, match="no such key") as info:
        await r.rename("missing", "new")
    assert info.value.code == "ERR"
    assert await r.ping() is True


async def test_scan_iter_collects_every_key(r: Client) -> None:
    names = {f"key:{i}".encode() for i in range(300)}
    await r.mset(dict.fromkeys(names, "v"))
    seen = {key async for key in r.scan_iter()}
    assert seen == names


async def test_scan_iter_with_count_hint_collects_every_key(r: Client) -> None:
    names = {f"key:{i}".encode() for i in range(300)}
    await r.mset(dict.fromkeys(names, "v"))
    seen = {key async for key in r.scan_iter(count=7)}
    assert seen == names


async def test_scan_iter_match_filters_by_pattern(r: Client) -> None:
    await r.mset({f"user:{i}": "v" for i in range(150)})
    await r.mset({f"order:{i}": "v" for i in range(150)})
    seen = {key async for key in r.scan_iter(match="user:*", count=50)}
    assert seen == {f"user:{i}".encode() for i in range(150)}


async def test_scan_iter_type_filters_by_value_type(r: Client) -> None:
    await r.mset({f"s:{i}": "v" for i in range(100)})
    for i in range(20):
        await r.execute("RPUSH", f"l:{i}", "x")
    seen = {key async for key in r.scan_iter(type_="list")}
    assert seen == {f"l:{i}".encode() for i in range(20)}


async def test_scan_iter_holds_no_connection_between_batches(r: Client) -> None:
    await r.mset({f"k:{i}": "v" for i in range(50)})
    async for _ in r.scan_iter(count=10):
        assert r.pool.stats().in_use == 0


# -- server ------------------------------------------------------------------------------


async def test_ping_returns_true_or_echoes_the_message(r: Client) -> None:
    assert await r.ping() is True
    assert await r.ping("hello") == b"hello"


async def test_echo_returns_the_message_as_bytes(r: Client) -> None:
    assert await r.echo("héllo") == "héllo".encode()


async def test_flushdb_empties_the_database_and_dbsize_counts_keys(r: Client) -> None:
    await r.mset({"a": 1, "b": 2, "c": 3})
    assert await r.dbsize() == 3
    assert await r.flushdb() is True
    assert await r.dbsize() == 0
    await r.set("a", 1)
    assert await r.flushdb(asynchronous=True) is True
    assert await r.dbsize() == 0


async def test_info_returns_parsed_dict(r: Client) -> None:
    info = await r.info()
    assert isinstance(info["redis_version"], str)
    assert info["redis_version"].count(".") == 2
    assert isinstance(info["connected_clients"], int)
    assert isinstance(info["tcp_port"], int)


async def test_info_keyspace_section_parses_per_db_counts(r: Client) -> None:
    await r.mset({"a": 1, "b": 2})
    await r.expire("a", 100)
    info = await r.info("keyspace")
    assert info["db0"]["keys"] == 2
    assert info["db0"]["expires"] == 1
    assert "redis_version" not in info


async def test_execute_runs_raw_command(r: Client) -> None:
    assert await r.execute("SET", "k", "v") == b"OK"
    assert await r.execute("GET", "k") == b"v"
    assert await r.execute("RPUSH", "l", "a", "b") == 2
    assert await r.execute("LRANGE", "l", 0, -1) == [b"a", b"b"]


# -- errors keep the connection --------------------------------------------------------------


async def test_wrongtype_raises_reply_error_and_connection_is_reused(r: Client) -> None:
    await r.execute("RPUSH", "l", "a")
    created = r.pool.stats().created
    assert created == 1
    with pytest.raises(ReplyError, match="wrong kind of value") as info:
        await r.get("l")
    assert info.value.code == "WRONGTYPE"
    assert await r.ping() is True
    stats = r.pool.stats()
    assert stats.created == created
    assert stats.closed == 0


async def test_unknown_command_raises_reply_error_and_connection_is_reused(r: Client) -> None:
    await r.ping()
    with pytest.raises(ReplyError, match="unknown command") as info:
        await r.execute("NOSUCHCOMMAND", "x")
    assert info.value.code == "ERR"
    assert await r.ping() is True
    assert r.pool.stats().created == 1


# -- decode_responses ---------------------------------------------------------------------


async def test_decode_responses_gives_str_everywhere(rs: Client) -> None:
    await rs.set("k", "héllo")
    await rs.mset({"a": "1", "b": "2"})
    assert await rs.get("k") == "héllo"
    assert await rs.mget("a", "b", "missing") == ["1", "2", None]
    assert await rs.set("k", "new", get=True) == "héllo"
    assert await rs.getdel("k") == "new"
    assert await rs.echo("x") == "x"
    assert await rs.ping("p") == "p"
    assert await rs.type("a") == "string"
    assert await rs.execute("LRANGE", "missing", 0, -1) == []
    assert sorted([key async for key in rs.scan_iter()]) == ["a", "b"]
    assert isinstance((await rs.info("server"))["redis_version"], str)


async def test_non_utf8_value_with_decode_responses_raises_clear_error_and_pool_recovers(
    r: Client, rs: Client
) -> None:
    await r.set("binary", b"\xff\xfe\xfd")
    with pytest.raises(ProtocolError) as info:
        await rs.get("binary")
    message = str(info.value)
    assert "utf-8" in message
    assert "GET" in message
    assert "decode_responses=False" in message
    assert rs.pool.stats().in_use == 0
    await rs.set("text", "fine")
    assert await rs.get("text") == "fine"


# -- sizes and argument checks ---------------------------------------------------------------


async def test_large_value_round_trips(r: Client) -> None:
    value = bytes(range(256)) * (5 * 1024 * 1024 // 256)
    assert await r.set("big", value) is True
    assert await r.strlen("big") == len(value)
    assert await r.get("big") == value
    assert await r.ping() is True


@pytest.mark.parametrize(
    ("call", "position"),
    [
        (lambda c: c.set("k", None), "argument 2 of SET"),
        (lambda c: c.set("k", True), "argument 2 of SET"),
        (lambda c: c.set("k", {"a": 1}), "argument 2 of SET"),
        (lambda c: c.get(None), "argument 1 of GET"),
        (lambda c: c.mget("a", None), "argument 2 of MGET"),
        (lambda c: c.mset({"a": None}), "argument 2 of MSET"),
        (lambda c: c.delete("a", ["b"]), r"delete\(\) takes keys as arguments or one list first"),
        (lambda c: c.echo(object()), "argument 1 of ECHO"),
        (lambda c: c.append("k", False), "argument 2 of APPEND"),
        (lambda c: c.execute("SET", "k", None), "argument 2 of SET"),
    ],
    ids=[
        "set-none",
        "set-bool",
        "set-dict",
        "get-none",
        "mget-none",
        "mset-none",
        "delete-list",
        "echo-object",
        "append-bool",
        "execute-none",
    ],
)
async def test_bad_argument_type_raises_type_error_before_borrowing(
    r: Client, call: Any, position: str
) -> None:
    await r.ping()
    before = r.pool.stats()
    with pytest.raises(TypeError, match=position):
        await call(r)
    after = r.pool.stats()
    assert after.acquired == before.acquired
    assert after.in_use == 0


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.set("k", "v", ex="10"),
        lambda c: c.expire("k", "10"),
        lambda c: c.getex("k", px="100"),
    ],
    ids=["set-ex-str", "expire-str", "getex-px-str"],
)
async def test_expiry_of_wrong_type_raises_type_error_before_borrowing(
    r: Client, call: Any
) -> None:
    before = r.pool.stats().acquired
    with pytest.raises(TypeError, match="int"):
        await call(r)
    assert r.pool.stats().acquired == before


# -- redis-py's string commands: SETEX, PSETEX, SETNX, GETSET, LCS, SUBSTR ---------------------


async def check_redis_py_string_commands(c: Any, t: str) -> None:
    """The string commands redis-py has, with its arguments and results, on ``c``."""
    assert await c.setex(t + "ex", 100, "v") is True
    assert 99 <= await c.ttl(t + "ex") <= 100
    assert await c.setex(t + "ex", datetime.timedelta(seconds=50), "w") is True
    assert 49 <= await c.ttl(t + "ex") <= 50
    assert await c.psetex(t + "px", 5000, "v") is True
    assert 4000 < await c.pttl(t + "px") <= 5000
    assert await c.psetex(t + "px", datetime.timedelta(milliseconds=1500), "w") is True
    assert 1000 < await c.pttl(t + "px") <= 1500
    assert await c.setnx(t + "nx", "first") is True
    assert await c.setnx(t + "nx", "second") is False
    assert await c.get(t + "nx") == b"first"
    assert await c.getset(t + "nx", "third") == b"first"
    assert await c.getset(t + "fresh", "x") is None
    assert await c.get(t + "fresh") == b"x"
    await c.set(t + "s", "Hello World")
    assert await c.substr(t + "s", 0, 4) == b"Hello"
    assert await c.substr(t + "s", 6) == b"World"  # end defaults to -1
    assert await c.substr(t + "missing", 0) == b""
    await c.mset({t + "k1": "ohmytext", t + "k2": "mynewtext"})
    assert await c.lcs(t + "k1", t + "k2") == b"mytext"
    assert await c.lcs(t + "k1", t + "k2", len=True) == 6
    assert await c.lcs(t + "k1", t + "k2", idx=True) == [
        b"matches",
        [[[4, 7], [5, 8]], [[2, 3], [0, 1]]],
        b"len",
        6,
    ]
    matches = await c.lcs(t + "k1", t + "k2", idx=True, minmatchlen=4, withmatchlen=True)
    assert matches == [b"matches", [[[4, 7], [5, 8], 4]], b"len", 6]
    # The failure side: a list where a string must be.
    await c.rpush(t + "list", "a")
    calls: list[Callable[[], Awaitable[Any]]] = [
        lambda: c.getset(t + "list", "x"),
        lambda: c.substr(t + "list", 0),
        lambda: c.lcs(t + "list", t + "k1"),
    ]
    for call in calls:
        with pytest.raises(ReplyError):
            await call()


async def test_redis_py_string_commands_on_a_client(r: Client) -> None:
    await check_redis_py_string_commands(r, "{t}:")


async def test_redis_py_string_commands_on_the_cluster(redis_cluster: RedisCluster) -> None:
    async with ClusterClient.from_url(redis_cluster.startup_url) as cc:
        await check_redis_py_string_commands(cc, "{strings}:")
        with pytest.raises(CrossSlotError):
            await cc.lcs("{a}k", "{b}k")


async def test_redis_py_string_commands_in_a_pipeline(r: Client) -> None:
    async with r.pipeline() as p:
        p.setex("a", 10, "1").psetex("b", 10_000, "2").setnx("a", "x").getset("a", "3")
        p.substr("a", 0).set("c", "abcd").lcs("c", "a").lcs("c", "c", len=True)
        assert await p.execute() == [True, True, False, b"1", b"3", True, b"", 4]


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda c: c.setex("k", 0, "v"), ValueError, "time must be positive"),
        (lambda c: c.setex("k", "10", "v"), TypeError, "time must be an int"),
        (lambda c: c.psetex("k", 1.5, "v"), TypeError, "time_ms must be an int"),
        (lambda c: c.substr("k", "0"), TypeError, "start must be an int"),
        (lambda c: c.lcs("a", "b", len=True, idx=True), ValueError, "len, idx"),
        (lambda c: c.lcs("a", "b", idx=True, minmatchlen=-1), ValueError, "minmatchlen"),
    ],
    ids=["setex-zero", "setex-str", "psetex-float", "substr-str", "lcs-len-idx", "lcs-minmatchlen"],
)
async def test_redis_py_string_command_arguments_are_checked_before_sending(
    r: Client, call: Any, error: type[Exception], match: str
) -> None:
    before = r.pool.stats().acquired
    with pytest.raises(error, match=match):
        call(r)
    assert r.pool.stats().acquired == before


async def test_set_and_getex_take_redis_py_positional_options(r: Client) -> None:
    # redis-py's order: set(name, value, ex, px, nx, xx, keepttl, get, exat, pxat).
    assert await r.set("k", "v", 100) is True
    assert 99 <= await r.ttl("k") <= 100
    assert await r.set("k", "w", None, None, True) is None  # nx: exists already
    assert await r.set("k", "w", None, None, False, True, True, True) == b"v"  # xx keepttl get
    assert 99 <= await r.ttl("k") <= 100
    # getex(name, ex, px, exat, pxat, persist)
    assert await r.getex("k", None, None, None, None, True) == b"w"
    assert await r.ttl("k") == -1
    assert await r.getex("k", 50) == b"w"
    assert 49 <= await r.ttl("k") <= 50
    with pytest.raises(ValueError, match="at most one of ex, px"):
        r.set("k", "v", 10, 10_000)  # type: ignore[unused-coroutine]
