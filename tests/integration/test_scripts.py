"""Lua scripts and functions against a real ``redis-server``: EVAL, SCRIPT, FCALL, FUNCTION,
``register_script`` and scripts in pipelines."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from aiopool import Client, NoScriptError, ReplyError
from aiopool._script import Script

# FLUSHALL (run before each test) keeps loaded scripts and function libraries.


@pytest.fixture(autouse=True)
async def _no_scripts_or_functions(r: Client) -> AsyncIterator[None]:
    await r.script_flush()
    await r.function_flush()
    yield
    await r.script_flush()
    await r.function_flush()


INCR_BY = "return redis.call('INCRBY', KEYS[1], ARGV[1])"
ECHO_ALL = "return {KEYS[1], KEYS[2], ARGV[1], ARGV[2]}"
LIBRARY = """#!lua name=mylib
redis.register_function('concat', function(keys, args)
    local value = redis.call('GET', keys[1]) or ''
    redis.call('SET', keys[1], value .. args[1])
    return redis.call('GET', keys[1])
end)
redis.register_function{
    function_name='peek',
    callback=function(keys, args) return redis.call('GET', keys[1]) end,
    flags={'no-writes'},
}
"""


def sha1(source: str) -> str:
    return hashlib.sha1(source.encode()).hexdigest()


async def calls(r: Client, command: str) -> int:
    """How many times the server ran ``command`` (``"script|load"``, ``"evalsha"``)."""
    stats = await r.info("commandstats")
    entry = stats.get(f"cmdstat_{command}")
    return int(entry["calls"]) if isinstance(entry, dict) else 0


# -- EVAL / EVAL_RO / EVALSHA / EVALSHA_RO -------------------------------------------------


async def test_eval_passes_keys_and_args(r: Client) -> None:
    await r.set("counter", 10)
    assert await r.eval(INCR_BY, ["counter"], [5]) == 15
    assert await r.get("counter") == b"15"


async def test_eval_keys_and_args_arrive_as_keys_and_argv(r: Client) -> None:
    reply = await r.eval(ECHO_ALL, ["k1", b"k2"], ["a1", 2])
    assert reply == [b"k1", b"k2", b"a1", b"2"]


async def test_eval_without_keys_or_args(r: Client) -> None:
    assert await r.eval("return 'hello'") == b"hello"


async def test_eval_ro_runs_a_read_only_script(r: Client) -> None:
    await r.set("k", "v")
    assert await r.eval_ro("return redis.call('GET', KEYS[1])", ["k"]) == b"v"


async def test_eval_ro_refuses_a_write(r: Client) -> None:
    with pytest.raises(ReplyError, match="Write commands are not allowed"):
        await r.eval_ro("return redis.call('SET', KEYS[1], 'x')", ["k"])
    assert await r.exists("k") == 0


async def test_evalsha_runs_a_script_loaded_with_script_load(r: Client) -> None:
    sha = await r.script_load(INCR_BY)
    assert await r.evalsha(sha, ["n"], [3]) == 3
    ro_sha = await r.script_load("return redis.call('GET', KEYS[1])")
    assert await r.evalsha_ro(ro_sha, ["n"]) == b"3"


async def test_evalsha_of_an_unknown_sha_raises_no_script_error(r: Client) -> None:
    with pytest.raises(NoScriptError) as info:
        await r.evalsha(sha1("return 1"), [], [])
    assert info.value.code == "NOSCRIPT"
    with pytest.raises(NoScriptError):
        await r.evalsha_ro(sha1("return 1"))
    assert await r.ping() is True


async def test_lua_runtime_error_raises_reply_error_and_the_client_keeps_working(
    r: Client,
) -> None:
    with pytest.raises(ReplyError, match="boom") as info:
        await r.eval("error('boom')")
    assert not isinstance(info.value, NoScriptError)
    await r.set("k", "not a number")
    with pytest.raises(ReplyError, match="not an integer"):
        await r.eval(INCR_BY, ["k"], [1])
    assert r.pool.stats().in_use == 0
    assert await r.eval("return 7") == 7


async def test_lua_syntax_error_raises_reply_error(r: Client) -> None:
    with pytest.raises(ReplyError):
        await r.eval("this is not lua")
    with pytest.raises(ReplyError):
        await r.script_load("this is not lua")
    assert await r.ping() is True


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("return 42", 42),
        ("return 3.99", 3),  # Lua numbers become integers, truncated
        ("return -1", -1),
        ("return 'bulk'", b"bulk"),
        ("return true", 1),
        ("return false", None),
        ("return nil", None),
        ("return {1, 'two', {3, {'four'}}}", [1, b"two", [3, [b"four"]]]),
        ("return {}", []),
        ("return {1, nil, 3}", [1]),  # a Lua array ends at its first nil
        ("return redis.status_reply('FINE')", b"FINE"),
    ],
    ids=[
        "int",
        "float-truncated",
        "negative",
        "bulk",
        "true",
        "false",
        "nil",
        "nested",
        "empty-table",
        "table-with-nil",
        "status",
    ],
)
async def test_script_reply_types(r: Client, script: str, expected: Any) -> None:
    assert await r.eval(script) == expected


async def test_script_error_reply_inside_a_table_stays_a_value(r: Client) -> None:
    reply = await r.eval("return {1, redis.error_reply('MYERR inner')}")
    assert reply[0] == 1
    assert isinstance(reply[1], ReplyError)
    assert reply[1].code == "MYERR"


async def test_decode_responses_client_gets_str_from_scripts(rs: Client) -> None:
    assert await rs.eval(ECHO_ALL, ["k1", "k2"], ["a1", 2]) == ["k1", "k2", "a1", "2"]
    assert await rs.eval("return 5") == 5
    sha = await rs.script_load("return 'x'")
    assert isinstance(sha, str)
    assert await rs.evalsha(sha) == "x"
    script = rs.register_script("return {ARGV[1], 1}")
    assert await script(args=["héllo"]) == ["héllo", 1]


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.eval("return 1", "key"),
        lambda c: c.eval("return 1", [], "arg"),
        lambda c: c.eval_ro("return 1", b"key"),
        lambda c: c.evalsha(sha1("return 1"), "key"),
        lambda c: c.evalsha_ro(sha1("return 1"), [], b"arg"),
        lambda c: c.fcall("concat", "key"),
        lambda c: c.fcall_ro("peek", [], "arg"),
    ],
    ids=["eval-keys", "eval-args", "eval_ro-keys", "evalsha", "evalsha_ro", "fcall", "fcall_ro"],
)
async def test_keys_or_args_given_as_a_lone_string_raise_type_error_before_sending(
    r: Client, call: Any
) -> None:
    await r.ping()
    before = r.pool.stats().acquired
    with pytest.raises(TypeError, match="keys and args are lists"):
        await call(r)
    assert r.pool.stats().acquired == before


# -- SCRIPT LOAD / EXISTS / FLUSH ---------------------------------------------------------------


async def test_script_load_returns_the_sha1_that_script_computes_locally(r: Client) -> None:
    sha = await r.script_load(INCR_BY)
    assert isinstance(sha, str)
    assert sha == sha1(INCR_BY)
    assert sha == r.register_script(INCR_BY).sha
    assert sha == r.register_script(INCR_BY.encode()).sha


async def test_script_exists_reports_each_sha(r: Client) -> None:
    sha = await r.script_load("return 1")
    assert await r.script_exists(sha, sha1("never loaded")) == [True, False]


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"sync": True},
        {"asynchronous": True},
        {"sync_type": "SYNC"},
        {"sync_type": "async"},
    ],
    ids=["default", "sync", "async", "redis-py SYNC", "redis-py async"],
)
async def test_script_flush_drops_every_loaded_script(r: Client, options: dict[str, Any]) -> None:
    one = await r.script_load("return 1")
    two = await r.script_load("return 2")
    assert await r.script_flush(**options) is True
    assert await r.script_exists(one, two) == [False, False]


async def test_script_flush_sync_and_async_together_raise_value_error(r: Client) -> None:
    with pytest.raises(ValueError, match="asynchronous, sync"):
        await r.script_flush(asynchronous=True, sync=True)


# -- FUNCTION LOAD / LIST / DELETE, FCALL / FCALL_RO -----------------------------------------------


async def test_function_load_returns_the_library_name_and_fcall_runs_it(r: Client) -> None:
    assert await r.function_load(LIBRARY) == "mylib"
    assert await r.fcall("concat", ["k"], ["ab"]) == b"ab"
    assert await r.fcall("concat", ["k"], ["cd"]) == b"abcd"
    assert await r.fcall_ro("peek", ["k"]) == b"abcd"


async def test_fcall_ro_refuses_a_function_without_no_writes(r: Client) -> None:
    await r.function_load(LIBRARY)
    with pytest.raises(ReplyError, match="write flag"):
        await r.fcall_ro("concat", ["k"], ["x"])
    assert await r.exists("k") == 0


async def test_fcall_of_an_unknown_function_raises_reply_error(r: Client) -> None:
    with pytest.raises(ReplyError, match="Function not found"):
        await r.fcall("nope")


async def test_function_load_twice_needs_replace(r: Client) -> None:
    await r.function_load(LIBRARY)
    with pytest.raises(ReplyError, match="already exists"):
        await r.function_load(LIBRARY)
    replaced = LIBRARY.replace("or ''", "or '>'")
    assert await r.function_load(replaced, replace=True) == "mylib"
    assert await r.fcall("concat", ["k"], ["x"]) == b">x"


async def test_function_list_describes_libraries_with_str_field_names(
    r: Client, rs: Client
) -> None:
    assert await r.function_list() == []
    await r.function_load(LIBRARY)
    (library,) = await r.function_list()
    assert library["library_name"] == b"mylib"
    assert library["engine"] == b"LUA"
    assert "library_code" not in library
    functions = {f["name"]: f for f in library["functions"]}
    assert set(functions) == {b"concat", b"peek"}
    assert functions[b"peek"]["flags"] == [b"no-writes"]
    assert all(isinstance(name, str) for f in library["functions"] for name in f)
    (decoded,) = await rs.function_list(withcode=True)
    assert decoded["library_name"] == "mylib"
    assert decoded["library_code"] == LIBRARY


async def test_function_list_filters_by_library_name(r: Client) -> None:
    await r.function_load(LIBRARY)
    await r.function_load(
        "#!lua name=other\nredis.register_function('one', function() return 1 end)"
    )
    assert [lib["library_name"] for lib in await r.function_list("other")] == [b"other"]
    assert len(await r.function_list()) == 2


async def test_function_delete_removes_the_library(r: Client) -> None:
    await r.function_load(LIBRARY)
    assert await r.function_delete("mylib") is True
    assert await r.function_list() == []
    with pytest.raises(ReplyError, match="Function not found"):
        await r.fcall("concat", ["k"], ["x"])
    with pytest.raises(ReplyError, match="not found"):
        await r.function_delete("mylib")


async def test_flushall_keeps_functions_and_scripts_but_function_flush_removes_them(
    r: Client,
) -> None:
    sha = await r.script_load("return 1")
    await r.function_load(LIBRARY)
    await r.flushall()
    assert await r.script_exists(sha) == [True]
    assert len(await r.function_list()) == 1
    assert await r.function_flush() is True
    assert await r.function_list() == []


# -- register_script ------------------------------------------------------------------------------


async def test_register_script_sends_nothing_until_called(r: Client) -> None:
    script = r.register_script(INCR_BY)
    assert isinstance(script, Script)
    assert script.sha == sha1(INCR_BY)
    assert await r.script_exists(script.sha) == [False]


async def test_registered_script_loads_itself_on_first_call_after_script_flush(
    r: Client,
) -> None:
    script = r.register_script(INCR_BY)
    await r.script_load(INCR_BY)
    await r.script_flush()
    assert await r.script_exists(script.sha) == [False]
    assert await script(keys=["n"], args=[2]) == 2  # NOSCRIPT, SCRIPT LOAD, EVALSHA
    assert await r.script_exists(script.sha) == [True]
    assert await r.get("n") == b"2"  # the script ran once, not twice


async def test_registered_script_second_call_does_not_reload(r: Client) -> None:
    script = r.register_script(INCR_BY)
    loads, evalshas = await calls(r, "script|load"), await calls(r, "evalsha")
    assert await script(["n"], [1]) == 1
    assert await calls(r, "script|load") == loads + 1
    assert await calls(r, "evalsha") == evalshas + 2  # NOSCRIPT, then the run
    assert await script(["n"], [1]) == 2
    assert await r.run_script(script, ["n"], [1]) == 3
    assert await calls(r, "script|load") == loads + 1
    assert await calls(r, "evalsha") == evalshas + 4


async def test_registered_script_error_propagates_as_reply_error(r: Client) -> None:
    script = r.register_script("return redis.call('INCR', KEYS[1])")
    await r.set("k", "text")
    with pytest.raises(ReplyError, match="not an integer") as info:
        await script(["k"])
    assert not isinstance(info.value, NoScriptError)
    assert await r.script_exists(script.sha) == [True]


async def test_registered_script_with_a_lone_string_raises_type_error(r: Client) -> None:
    script = r.register_script(INCR_BY)
    with pytest.raises(TypeError, match="keys and args are lists"):
        await script("n", [1])
    with pytest.raises(TypeError, match="keys and args are lists"):
        await script(["n"], "1")
    assert await r.script_exists(script.sha) == [False]


async def test_run_script_rejects_anything_but_a_script(r: Client) -> None:
    with pytest.raises(TypeError, match="register_script"):
        await r.run_script(INCR_BY, ["n"], [1])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="register_script"):
        r.pipeline(transaction=False).run_script(INCR_BY)  # type: ignore[arg-type]


# -- scripts in pipelines ---------------------------------------------------------------------------


@pytest.mark.parametrize("transaction", [False, True], ids=["pipeline", "transaction"])
async def test_pipeline_loads_its_scripts_in_the_same_write(r: Client, transaction: bool) -> None:
    script = r.register_script(INCR_BY)
    other = r.register_script("return redis.call('GET', KEYS[1])")
    await r.script_flush()
    loads = await calls(r, "script|load")
    async with r.pipeline(transaction=transaction) as p:
        p.run_script(script, ["n"], [5]).run_script(script, ["n"], [1]).run_script(other, ["n"])
        p.get("n")
        results = await p.execute()
    assert results == [5, 6, b"6", b"6"]
    assert await calls(r, "script|load") == loads + 2  # once per distinct script
    assert await r.script_exists(script.sha, other.sha) == [True, True]


@pytest.mark.parametrize("transaction", [False, True], ids=["pipeline", "transaction"])
async def test_script_error_in_a_pipeline_raises_after_every_reply(
    r: Client, transaction: bool
) -> None:
    script = r.register_script("return redis.call('INCR', KEYS[1])")
    await r.set("text", "abc")
    async with r.pipeline(transaction=transaction) as p:
        p.run_script(script, ["n"]).run_script(script, ["text"]).set("after", 1)
        results = await p.execute(raise_on_error=False)
    assert results[0] == 1
    assert isinstance(results[1], ReplyError)
    assert results[2] is True
    assert await r.eval("return 1") == 1


async def test_pipeline_run_script_with_a_lone_string_raises_type_error(r: Client) -> None:
    script = r.register_script(INCR_BY)
    async with r.pipeline(transaction=False) as p:
        with pytest.raises(TypeError, match="keys and args are lists"):
            p.run_script(script, "n", [1])
        assert len(p) == 0


async def test_pipeline_run_script_refused_for_bad_arguments_loads_nothing(r: Client) -> None:
    script = r.register_script(INCR_BY)
    async with r.pipeline(transaction=True) as p:
        with pytest.raises(TypeError):
            p.run_script(script, ["n"], "1")
        p.set("k", "v")
        assert await p.execute() == [True]
    assert await r.script_exists(script.sha) == [False]


async def test_script_commands_in_a_pipeline_return_transformed_results(r: Client) -> None:
    sha = sha1("return ARGV[1]")
    async with r.pipeline(transaction=False) as p:
        p.script_load("return ARGV[1]").script_exists(sha).evalsha(sha, [], ["x"])
        p.eval("return #KEYS", ["a", "b"]).function_load(LIBRARY).fcall("concat", ["k"], ["z"])
        p.function_list().script_flush()
        results = await p.execute()
    assert results[:6] == [sha, [True], b"x", 2, "mylib", b"z"]
    assert results[6][0]["library_name"] == b"mylib"
    assert results[7] is True
