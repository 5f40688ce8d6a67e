"""Server administration commands (ACL, CLIENT, CONFIG, SLOWLOG, LATENCY, MEMORY, MODULE,
COMMAND, persistence, SHUTDOWN, SCRIPT/FUNCTION KILL) against real ``redis-server``s.

Commands that change a server run on a private one (``admin``: an ``aclfile``,
DEBUG and MODULE enabled for local connections), started per test; read-only
ones also run on the shared server, whose defaults (no config file, no
``aclfile``, DEBUG and MODULE disabled) give their failure side.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from aiopool import AuthenticationError, Client, ConnectError, ReplyError
from aiopool.testing import RedisServer
from aiopool.testing.plugin import require_redis_server

from .server_support import BUILTIN_MODULES, IS_VALKEY

BUSY_LOOP = "local i = 0 while true do i = i + 1 end"


@pytest.fixture
def admin_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private server with an (empty) ``aclfile`` and DEBUG/MODULE allowed locally."""
    require_redis_server()
    acl = tmp_path / "users.acl"
    acl.write_text("")
    args = ["--aclfile", str(acl), "--enable-debug-command", "local"]
    args += ["--enable-module-command", "local", "--busy-reply-threshold", "50"]
    with RedisServer(args=args) as server:
        yield server


@pytest.fixture
async def admin(admin_server: RedisServer) -> AsyncIterator[Client]:
    async with Client.from_url(admin_server.url) as client:
        yield client


async def until(check: object, what: str, attempts: int = 200) -> None:
    """Poll the coroutine function ``check`` until it returns true (bounded)."""
    for _ in range(attempts):
        if await check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


# -- ACL --------------------------------------------------------------------------------------


async def test_acl_setuser_builds_the_rules_acl_getuser_reads_back(admin: Client) -> None:
    assert (
        await admin.acl_setuser(
            "ann",
            enabled=True,
            passwords=["+secret1", "+secret2"],
            categories=["+hash", "+@list"],
            commands=["+set", "+ping"],
            keys=["cache:*", "%R~logs:*"],
            channels=["news"],
            selectors=[("+get", "other:*")],
        )
        is True
    )
    user = await admin.acl_getuser("ann")
    assert user is not None
    assert user["enabled"] is True
    assert "on" in user["flags"]
    assert len(user["passwords"]) == 2
    assert all(len(p) == 64 for p in user["passwords"])
    assert "+@hash" in user["categories"]
    assert "+@list" in user["categories"]
    assert "+set" in user["commands"]
    assert "+ping" in user["commands"]
    assert user["keys"] == ["~cache:*", "%R~logs:*"]
    assert user["channels"] == ["&news"]
    assert user["selectors"]
    assert "~other:*" in user["selectors"][0]
    assert await admin.acl_getuser("nobody") is None
    assert "ann" in await admin.acl_users()
    assert any(rule.startswith("user ann on") for rule in await admin.acl_list())


async def test_acl_setuser_reset_and_nopass_replace_the_rules(admin: Client) -> None:
    await admin.acl_setuser("bob", enabled=True, passwords="+pw", keys=["a"])
    assert await admin.acl_setuser("bob", reset=True, nopass=True, enabled=False) is True
    user = await admin.acl_getuser("bob")
    assert user is not None
    assert user["enabled"] is False
    assert "nopass" in user["flags"]
    assert user["passwords"] == []
    assert user["keys"] == []


async def test_acl_setuser_bad_arguments_raise_without_showing_the_password(
    admin: Client,
) -> None:
    with pytest.raises(ValueError, match=r"passwords\[1\] must start") as caught:
        await admin.acl_setuser("eve", passwords=["+fine", "hunter2"])
    assert "hunter2" not in str(caught.value)
    with pytest.raises(ValueError, match="nopass or passwords"):
        await admin.acl_setuser("eve", nopass=True, passwords="+x")
    with pytest.raises(ValueError, match=r"categories\[0\]"):
        await admin.acl_setuser("eve", categories=["read"])
    with pytest.raises(TypeError, match="categories must be a list"):
        await admin.acl_setuser("eve", categories="+read")
    with pytest.raises(ReplyError, match="Error in ACL SETUSER"):
        await admin.acl_setuser("eve", commands=["+no-such-command"])
    assert await admin.acl_getuser("eve") is None


async def test_acl_deluser_counts_the_deleted_users(admin: Client) -> None:
    await admin.acl_setuser("u1")
    await admin.acl_setuser("u2")
    assert await admin.acl_deluser("u1", "u2", "u3") == 2
    assert await admin.acl_deluser("u1") == 0
    with pytest.raises(ValueError, match="at least one username"):
        await admin.acl_deluser()
    with pytest.raises(ReplyError, match="default"):
        await admin.acl_deluser("default")


async def test_acl_cat_whoami_genpass_and_dryrun(r: Client, rs: Client) -> None:
    categories = await r.acl_cat()
    assert "read" in categories
    assert all(isinstance(c, str) for c in categories)
    assert "get" in await r.acl_cat("read")
    with pytest.raises(ReplyError, match="Unknown category"):
        await r.acl_cat("no-such-category")
    assert await r.acl_whoami() == "default"
    password = await r.acl_genpass()
    assert isinstance(password, str)
    assert len(password) == 64
    assert len(await r.acl_genpass(128)) == 32
    with pytest.raises(ValueError, match="between 1 and 4096"):
        await r.acl_genpass(0)
    with pytest.raises(TypeError, match="bits must be an int"):
        await r.acl_genpass("64")  # type: ignore[arg-type]
    assert await r.acl_dryrun("default", "get", "k") == b"OK"
    assert await rs.acl_dryrun("default", "set", "k", "v") == "OK"
    with pytest.raises(ReplyError, match="User 'nobody' not found"):
        await r.acl_dryrun("nobody", "get", "k")


async def test_acl_log_records_a_refused_login_and_acl_log_reset_empties_it(
    admin: Client, admin_server: RedisServer
) -> None:
    await admin.acl_setuser("carl", enabled=True, passwords="+right")
    bad = Client.from_url(f"redis://carl:wrong@127.0.0.1:{admin_server.port}")
    with pytest.raises(AuthenticationError):
        await bad.ping()
    await bad.aclose()
    log = await admin.acl_log()
    assert log
    assert log[0]["reason"] == "auth"
    assert log[0]["username"] == "carl"
    assert isinstance(log[0]["age-seconds"], float)
    assert isinstance(log[0]["client-info"], dict)
    assert isinstance(log[0]["client-info"]["id"], int)
    assert "wrong" not in repr(log)
    assert len(await admin.acl_log(count=1)) == 1
    with pytest.raises(ValueError, match="count must be a positive int"):
        await admin.acl_log(count=0)
    assert await admin.acl_log_reset() is True
    assert await admin.acl_log() == []


async def test_acl_save_and_load_use_the_aclfile(admin: Client, admin_server: RedisServer) -> None:
    await admin.acl_setuser("dora", enabled=True, nopass=True)
    assert await admin.acl_save() is True
    await admin.acl_deluser("dora")
    assert await admin.acl_load() is True
    assert await admin.acl_getuser("dora") is not None


async def test_acl_save_and_load_without_an_aclfile_raise_reply_error(r: Client) -> None:
    with pytest.raises(ReplyError, match="ACL file"):
        await r.acl_save()
    with pytest.raises(ReplyError, match="ACL file"):
        await r.acl_load()


# -- CLIENT -----------------------------------------------------------------------------------


async def test_client_info_is_the_connection_that_ran_it(r: Client) -> None:
    info = await r.client_info()
    assert isinstance(info["id"], int)
    assert isinstance(info["age"], int)
    assert info["cmd"] == "client|info"
    assert isinstance(info["addr"], str)
    listed = await r.client_list(client_id=[info["id"]])
    assert [c["id"] for c in listed] == [str(info["id"])]


async def test_client_list_filters_by_id_and_redis_py_type_argument(r: Client) -> None:
    own = (await r.client_info())["id"]
    assert await r.client_list(client_id=[10**9]) == []
    assert all(c["flags"] != "P" for c in await r.client_list(_type="normal"))
    assert str(own) in {c["id"] for c in await r.client_list(_type="normal")}
    with pytest.raises(ValueError, match="not both"):
        await r.client_list("normal", _type="normal")
    with pytest.raises(ValueError, match="type_ must be one of"):
        await r.client_list(_type="slave")
    with pytest.raises(TypeError, match="client_id must be a list"):
        await r.client_list(client_id=7)  # type: ignore[arg-type]


async def test_client_kill_closes_another_clients_connection(redis_url: str, r: Client) -> None:
    async with Client.from_url(redis_url) as other:
        victim = await other.client_info()
        assert await r.client_kill(victim["addr"]) is True
        assert str(victim["id"]) not in {c["id"] for c in await r.client_list()}
        assert await other.ping() is True  # the pool replaces the dead connection
    with pytest.raises(ReplyError, match="No such client"):
        await r.client_kill("127.0.0.1:1")
    with pytest.raises(TypeError, match="address must be"):
        await r.client_kill(("127.0.0.1", 1))  # type: ignore[arg-type]


async def test_client_kill_filter_counts_the_closed_clients(redis_url: str, r: Client) -> None:
    async with Client.from_url(redis_url) as other:
        victim = (await other.client_info())["id"]
        assert await r.client_kill_filter(_id=victim) == 1
        assert await r.client_kill_filter(id_=victim) == 0
        assert await r.client_kill_filter(addr="127.0.0.1:1", skipme=True) == 0
    with pytest.raises(ValueError, match="at least one filter"):
        await r.client_kill_filter()
    with pytest.raises(ValueError, match="at least one filter"):
        await r.client_kill_filter(skipme=False)
    with pytest.raises(ValueError, match="_type must be"):
        await r.client_kill_filter(_type="nobody")
    with pytest.raises(TypeError, match="skipme must be a bool"):
        await r.client_kill_filter(addr="x:1", skipme="yes")  # type: ignore[arg-type]


async def test_client_pause_holds_writes_until_client_unpause(
    admin: Client, admin_server: RedisServer
) -> None:
    async with Client.from_url(admin_server.url) as writer:
        assert await admin.client_pause(10_000, all=False) is True
        write = asyncio.create_task(writer.set("k", "v"))
        await asyncio.sleep(0.2)
        assert not write.done()
        assert await admin.get("k") is None  # reads still run
        assert await admin.client_unpause() is True
        assert await asyncio.wait_for(write, 5) is True
    with pytest.raises(ValueError, match="timeout must be an int >= 0"):
        await admin.client_pause(-1)


async def test_client_unblock_wakes_a_blocked_client(redis_url: str, r: Client) -> None:
    async with Client.from_url(redis_url) as blocked:
        for error in (False, True):
            pop = asyncio.create_task(blocked.blpop(["q"], 0))
            found: list[int] = []

            async def blocking(found: list[int] = found) -> bool:
                found[:] = [int(c["id"]) for c in await r.client_list() if c["cmd"] == "blpop"]
                return bool(found)

            await until(blocking, "the BLPOP client")
            assert await r.client_unblock(found[0], error=error) is True
            if error:
                with pytest.raises(ReplyError, match="UNBLOCKED"):
                    await pop
            else:
                assert await pop is None
    assert await r.client_unblock(10**9) is False
    with pytest.raises(TypeError, match="client_id must be an int"):
        await r.client_unblock("7")  # type: ignore[arg-type]


async def test_client_getredir_and_trackinginfo_of_a_pooled_connection(
    r: Client, rs: Client
) -> None:
    assert await r.client_getredir() == -1
    assert await r.client_trackinginfo() == ["flags", [b"off"], "redirect", -1, "prefixes", []]
    assert await rs.client_trackinginfo() == ["flags", ["off"], "redirect", -1, "prefixes", []]


# -- CONFIG -----------------------------------------------------------------------------------


async def test_config_resetstat_zeroes_the_counters(admin: Client) -> None:
    await admin.get("missing")
    assert (await admin.info("stats"))["keyspace_misses"] == 1
    assert await admin.config_resetstat() is True
    assert (await admin.info("stats"))["keyspace_misses"] == 0


async def test_config_rewrite_without_a_config_file_raises_reply_error(r: Client) -> None:
    with pytest.raises(ReplyError, match="without a config file"):
        await r.config_rewrite()


# -- SLOWLOG, LATENCY, MEMORY -------------------------------------------------------------------


async def test_slowlog_get_returns_redis_py_dicts(admin: Client, admin_server: RedisServer) -> None:
    await admin.config_set("slowlog-log-slower-than", 0)
    await admin.set("slow-key", "v")
    entries = await admin.slowlog_get()
    assert entries
    mine = [e for e in entries if e["command"] == b"SET slow-key v"]
    assert mine
    entry = mine[0]
    assert {"id", "start_time", "duration", "command", "client_address", "client_name"} <= set(
        entry
    )
    assert isinstance(entry["start_time"], int)
    assert isinstance(entry["duration"], int)
    assert len(await admin.slowlog_get(1)) == 1
    assert await admin.slowlog_len() >= 2
    async with Client.from_url(admin_server.url, decode_responses=True) as decoded:
        assert "SET slow-key v" in [e["command"] for e in await decoded.slowlog_get(-1)]
    assert await admin.slowlog_reset() is True
    assert not [e for e in await admin.slowlog_get(-1) if e["command"] == b"SET slow-key v"]
    with pytest.raises(TypeError, match="num must be an int"):
        await admin.slowlog_get("1")  # type: ignore[arg-type]


async def test_latency_commands_report_a_slow_command(admin: Client) -> None:
    await admin.config_set("latency-monitor-threshold", 1)
    await admin.execute("DEBUG", "SLEEP", "0.02")
    latest = await admin.latency_latest()
    assert any(item[0] == b"command" and item[2] >= 1 for item in latest)
    history = await admin.latency_history("command")
    assert history
    assert all(len(sample) == 2 for sample in history)
    assert "command" in await admin.latency_graph("command")
    assert isinstance(await admin.latency_doctor(), str)
    await admin.set("k", "v")
    histogram = await admin.latency_histogram("set", "no-such-command")
    assert list(histogram) == ["set"]
    assert histogram["set"]["calls"] >= 1
    assert histogram["set"]["histogram_usec"]
    assert await admin.latency_reset("command") == 1
    assert await admin.latency_reset() == 0
    with pytest.raises(ReplyError, match="No samples"):
        await admin.latency_graph("command")


async def test_memory_commands(r: Client) -> None:
    await r.set("k", "v")
    stats = await r.memory_stats()
    assert isinstance(stats["peak.allocated"], int)
    assert isinstance(stats["db.0"], dict)
    assert stats["db.0"]["overhead.hashtable.main"] >= 0
    assert isinstance(stats["dataset.percentage"], str)
    assert isinstance(await r.memory_doctor(), str)
    assert isinstance(await r.memory_malloc_stats(), bytes)
    assert await r.memory_purge() is True
    assert (await r.memory_usage("k") or 0) > 0
    with pytest.raises(ValueError, match="samples must be an int >= 0"):
        await r.memory_usage("k", samples=-1)


# -- MODULE, COMMAND -----------------------------------------------------------------------------


async def test_module_commands_without_module_files(admin: Client, r: Client) -> None:
    assert await admin.module_list() == BUILTIN_MODULES
    with pytest.raises(ReplyError, match="Error loading"):
        await admin.module_load("/nonexistent/module.so", "arg")
    with pytest.raises(ReplyError, match="Error loading"):
        await admin.module_loadex("/nonexistent/module.so", options=["a", "1"], args=["x"])
    with pytest.raises(ValueError, match="pairs"):
        await admin.module_loadex("/nonexistent/module.so", options=["a"])
    with pytest.raises(ReplyError, match="no such module"):
        await admin.module_unload("nomodule")
    assert await r.module_list() == BUILTIN_MODULES
    with pytest.raises(ReplyError, match="not allowed"):
        await r.module_load("/nonexistent/module.so")  # enable-module-command is off


async def test_command_introspection(r: Client, rs: Client) -> None:
    assert await r.command_count() > 150
    docs = await r.command_docs("get", "no-such-command")
    assert list(docs) == ["get"]
    assert docs["get"]["summary"]
    assert await r.command_getkeys("MSET", "a", "1", "b", "2") == ["a", "b"]
    with pytest.raises(ReplyError, match="no key arguments"):
        await r.command_getkeys("ECHO", "hi")
    assert await r.command_getkeysandflags("LMOVE", "s", "d", "LEFT", "RIGHT") == [
        [b"s", [b"RW", b"access", b"delete"]],
        [b"d", [b"RW", b"insert"]],
    ]
    info = await r.command_info("get", "no-such-command")
    assert list(info) == ["get"]
    assert info["get"]["arity"] == 2
    assert "readonly" in info["get"]["flags"]
    assert info["get"]["first_key_pos"] == 1
    assert "@read" in info["get"]["acl_categories"]
    assert len(await r.command_info()) == await r.command_count()
    assert set(await rs.command_list(pattern="xa*")) == {"xack", "xadd", "xautoclaim"}
    assert b"get" in await r.command_list(category="read")
    assert await r.command_list(module="nomodule") == []
    with pytest.raises(ValueError, match="at most one of"):
        await r.command_list(category="read", pattern="x*")
    with pytest.raises(ValueError, match="at least one command word"):
        await r.command_getkeys()


# -- persistence and replication ----------------------------------------------------------------


async def test_save_bgsave_bgrewriteaof_and_role(admin: Client) -> None:
    before = await admin.lastsave()
    assert await admin.save() is True
    assert await admin.lastsave() >= before
    assert await admin.bgsave() is True
    assert await admin.bgrewriteaof() is True
    assert (await admin.role())[0] == b"master"

    async def idle() -> bool:
        persistence = await admin.info("persistence")
        return not persistence["rdb_bgsave_in_progress"] and not (
            persistence["aof_rewrite_in_progress"] or persistence["aof_rewrite_scheduled"]
        )

    await until(idle, "the background saves", attempts=500)
    assert await admin.bgsave(schedule=False) is True
    await until(idle, "the background save", attempts=500)


async def test_swapdb_swaps_two_databases(admin: Client, admin_server: RedisServer) -> None:
    await admin.set("k", "in-0")
    assert await admin.swapdb(0, 1) is True
    assert await admin.get("k") is None
    base, mark, query = admin_server.url.partition("?")  # ?protocol=3 under AIOPOOL_TEST_PROTOCOL
    async with Client.from_url(base.removesuffix("/0") + "/1" + mark + query) as db1:
        assert await db1.get("k") == b"in-0"
    with pytest.raises(ValueError, match="first must be an int >= 0"):
        await admin.swapdb(-1, 0)
    with pytest.raises(ReplyError, match="DB index is out of range"):
        await admin.swapdb(0, 99)


async def test_lolwut_answers_with_the_version(r: Client) -> None:
    server = b"Valkey ver." if IS_VALKEY else b"Redis ver."
    assert server in await r.lolwut()
    assert server in await r.lolwut(5, 1, 1, 1)


async def test_replicaof_and_slaveof_follow_and_leave_a_primary(
    admin: Client, redis_server: RedisServer
) -> None:
    assert await admin.replicaof("127.0.0.1", redis_server.port) is True
    assert (await admin.role())[0] == b"slave"
    assert await admin.replicaof("NO", "ONE") is True
    assert (await admin.role())[0] == b"master"
    assert await admin.slaveof("127.0.0.1", redis_server.port) is True
    assert (await admin.role())[0] == b"slave"
    assert await admin.slaveof() is True
    assert (await admin.role())[0] == b"master"
    with pytest.raises(ValueError, match="host and port"):
        await admin.replicaof("127.0.0.1")
    with pytest.raises(ValueError, match="both host and port"):
        await admin.slaveof("127.0.0.1")
    with pytest.raises(ReplyError):
        await admin.replicaof("127.0.0.1", "not-a-port")


async def test_failover_hands_the_primary_role_to_a_replica(
    admin: Client, admin_server: RedisServer
) -> None:
    with pytest.raises(ReplyError, match="replicas"):
        await admin.failover()
    with pytest.raises(ReplyError, match="No failover in progress"):
        await admin.failover(abort=True)
    with RedisServer() as replica_server:
        async with Client.from_url(replica_server.url) as replica:
            assert await replica.replicaof("127.0.0.1", admin_server.port) is True

            async def linked() -> bool:
                replica_state = (await admin.info("replication")).get("slave0", {})
                return bool(replica_state.get("state") == "online")

            await until(linked, "the replica to connect", attempts=500)
            assert await admin.failover("127.0.0.1", replica_server.port, timeout=5000) is True

            async def swapped() -> bool:
                roles = ((await admin.role())[0], (await replica.role())[0])
                return roles == (b"slave", b"master")

            await until(swapped, "the failover", attempts=500)
            await replica.shutdown(nosave=True)
    with pytest.raises(ValueError, match="both host and port"):
        await admin.failover("127.0.0.1")
    with pytest.raises(ValueError, match="force needs a target"):
        await admin.failover(force=True)


async def test_debug_object_describes_a_value(admin: Client, r: Client) -> None:
    await admin.set("k", "hello")
    described = await admin.debug_object("k")
    assert described["type"] == "Value"
    assert described["encoding"] == "embstr"
    assert isinstance(described["refcount"], int)
    assert described["serializedlength"] > 0
    with pytest.raises(ReplyError, match="no such key"):
        await admin.debug_object("missing")
    with pytest.raises(ReplyError, match="not allowed"):
        await r.debug_object("k")  # enable-debug-command is off on the shared server


# -- SHUTDOWN -------------------------------------------------------------------------------------


async def test_shutdown_stops_the_server_and_returns_none() -> None:
    require_redis_server()
    with RedisServer() as server:
        async with Client.from_url(server.url) as client:
            await client.set("k", "v")
            assert await client.shutdown(nosave=True) is None
            assert server.process is not None
            assert server.process.wait(timeout=10) == 0
            with pytest.raises(ConnectError):
                await client.ping()


async def test_shutdown_bad_arguments_and_abort_without_a_shutdown(r: Client) -> None:
    with pytest.raises(ValueError, match="save or nosave"):
        await r.shutdown(save=True, nosave=True)
    with pytest.raises(ReplyError, match="No shutdown in progress"):
        await r.shutdown(abort=True)
    assert await r.ping() is True


async def test_shutdown_of_a_server_that_is_gone_raises_connect_error(
    admin_server: RedisServer,
) -> None:
    async with Client.from_url(admin_server.url) as client:
        admin_server.kill()
        with pytest.raises(ConnectError):
            await client.shutdown()


# -- SCRIPT KILL, FUNCTION KILL/DUMP/RESTORE/STATS --------------------------------------------------


async def test_script_kill_stops_a_busy_script(admin: Client, admin_server: RedisServer) -> None:
    with pytest.raises(ReplyError, match="NOTBUSY"):
        await admin.script_kill()
    async with Client.from_url(admin_server.url) as runner:
        busy = asyncio.create_task(runner.eval(BUSY_LOOP))

        async def killed() -> bool:
            try:
                return await admin.script_kill()
            except ReplyError:  # NOTBUSY until the script runs
                return False

        await until(killed, "a script to kill")
        with pytest.raises(ReplyError, match="killed"):
            await busy


async def test_function_kill_stops_a_busy_function(
    admin: Client, admin_server: RedisServer
) -> None:
    with pytest.raises(ReplyError, match="NOTBUSY"):
        await admin.function_kill()
    code = "#!lua name=spin\nredis.register_function('spin', function() " + BUSY_LOOP + " end)"
    await admin.function_load(code)
    async with Client.from_url(admin_server.url) as runner:
        busy = asyncio.create_task(runner.fcall("spin"))

        async def killed() -> bool:
            try:
                return await admin.function_kill()
            except ReplyError:
                return False

        await until(killed, "a function to kill")
        with pytest.raises(ReplyError, match="killed"):
            await busy


async def test_function_dump_and_restore_copy_the_libraries(r: Client, rs: Client) -> None:
    await r.function_flush()
    await r.function_load("#!lua name=lib1\nredis.register_function('f1', function() return 1 end)")
    payload = await r.function_dump()
    assert isinstance(payload, bytes)
    stats = await r.function_stats()
    assert stats[0] == b"running_script"
    assert stats[3][1][1] == 1
    with pytest.raises(ReplyError, match="already exists"):
        await r.function_restore(payload)
    assert await r.function_restore(payload, "REPLACE") is True
    await r.function_flush()
    assert await r.function_restore(payload) is True
    assert await r.fcall("f1") == 1
    assert await r.function_restore(payload, policy="FLUSH") is True
    with pytest.raises(ValueError, match="policy must be"):
        await r.function_restore(payload, policy="MERGE")
    with pytest.raises(ReplyError, match="payload"):
        await r.function_restore(b"garbage")
    await r.function_flush()


# -- in a pipeline --------------------------------------------------------------------------------


async def test_admin_commands_in_a_pipeline_return_transformed_results(
    admin: Client, r: Client
) -> None:
    pipe = r.pipeline()
    pipe.acl_whoami().config_get("maxmemory-policy").slowlog_len().command_count()
    pipe.client_trackinginfo().memory_stats().acl_getuser("nobody").cluster_info()
    whoami, config, slowlog, count, tracking, memory, user, cluster = await pipe.execute(
        raise_on_error=False
    )
    assert whoami == "default"
    assert config == {"maxmemory-policy": "noeviction"}
    assert isinstance(slowlog, int)
    assert count > 150
    assert tracking[0] == "flags"
    assert isinstance(memory["peak.allocated"], int)
    assert user is None
    assert isinstance(cluster, ReplyError)
    assert "cluster support disabled" in str(cluster)
    pipe = admin.pipeline(transaction=False)  # SAVE is refused inside MULTI
    pipe.acl_setuser("piped", enabled=True, nopass=True).acl_deluser("piped").save()
    assert await pipe.execute() == [True, 1, True]
    with pytest.raises(ValueError, match="between 1 and 4096"):
        r.pipeline().acl_genpass(5000)
    assert not hasattr(r.pipeline(), "shutdown")
