"""``client.monitor()`` against a real ``redis-server``: the commands other clients run, parsed
as redis-py's ``Monitor`` parses them, on a connection of its own that the pool never sees and
that is gone once the ``async with`` block is left (cancelled or not)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from aiopool import (
    Client,
    ClusterClient,
    ConnectionFailure,
    ConnectionLost,
    Monitor,
    PermissionDenied,
    SessionCommandError,
)
from aiopool.testing import RedisCluster

from .cluster_support import address


async def monitors(client: Client) -> list[dict[str, str]]:
    """The server's monitoring connections, from ``CLIENT LIST`` (flag ``O``)."""
    info = await client.execute("CLIENT", "LIST")
    text = info.decode() if isinstance(info, bytes) else info
    found = []
    for line in text.splitlines():
        fields = dict(part.split("=", 1) for part in line.split(" ") if "=" in part)
        if "O" in fields.get("flags", ""):
            found.append(fields)
    return found


async def until(monitor: Monitor, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The first event ``wanted`` accepts, reading at most 50 events within 5 seconds."""
    async with asyncio.timeout(5):
        for _ in range(50):
            event = await monitor.next_command()
            if wanted(event):
                return event
    raise AssertionError("the command never showed up in the monitor")


async def no_monitor_left(client: Client, within: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while await monitors(client):
        assert loop.time() < deadline, "a monitor connection is still open"
        await asyncio.sleep(0.01)


async def test_sees_commands_another_client_runs_with_parsed_fields(
    r: Client, redis_url: str
) -> None:
    async with Client.from_url(redis_url, max_size=1) as other:
        info = await other.execute("CLIENT", "INFO")
        port = info.decode().split(" addr=", 1)[1].split(" ", 1)[0].rsplit(":", 1)[1]
        loop_time = asyncio.get_running_loop().time
        async with r.monitor() as m:
            start = loop_time()
            await other.set("greeting", 'say "hi"\n')
            event = await until(m, lambda e: e["command"].startswith("SET"))
            assert loop_time() - start < 5
    assert set(event) == {"time", "db", "client_address", "client_port", "client_type", "command"}
    assert event["command"] == 'SET greeting say "hi"\n'
    assert event["db"] == 0
    assert event["client_address"] == "127.0.0.1"
    assert event["client_port"] == port
    assert event["client_type"] == "tcp"
    assert isinstance(event["time"], float)
    assert abs(event["time"] - float((await r.time())[0])) < 60


async def test_scripts_show_as_lua_and_other_databases_by_number(r: Client, redis_url: str) -> None:
    async with Client.from_url(redis_url.replace("/0", "/3", 1)) as db3, r.monitor() as m:
        await db3.execute("EVAL", "return redis.call('SET', KEYS[1], 'x')", 1, "from-lua")
        event = await until(m, lambda e: e["client_type"] == "lua")
        assert event["command"] == "SET from-lua x"
        assert (event["client_address"], event["client_port"], event["db"]) == ("lua", "", 3)
        await db3.get("in-three")
        event = await until(m, lambda e: e["command"] == "GET in-three")
        assert event["db"] == 3


async def test_binary_arguments_come_back_unescaped(r: Client) -> None:
    async with r.monitor() as m:
        await r.set(b"bin\x00\xff", "caf\u00e9 \\ end\\")
        event = await until(m, lambda e: e["command"].startswith("SET bin"))
    assert event["command"] == "SET bin\x00\\xff caf\u00e9 \\ end\\"


async def test_decoded_client_gets_the_same_shape(rs: Client) -> None:
    async with rs.monitor() as m:
        await rs.hset("h", "f", "v")
        event = await until(m, lambda e: e["command"].startswith("HSET"))
    assert event["command"] == "HSET h f v"
    assert event["client_type"] == "tcp"


async def test_runs_on_its_own_connection_closed_on_exit_and_the_pool_never_sees_it(
    r: Client, redis_url: str
) -> None:
    async with Client.from_url(redis_url) as client:
        await client.ping()
        before = client.pool.stats()
        async with client.monitor() as m:
            assert "monitoring" in repr(m)
            listed = await monitors(r)
            assert len(listed) == 1
            await client.ping()
            await until(m, lambda e: e["command"] == "PING")
            during = client.pool.stats()
            assert (during.created, during.size) == (before.created, before.size)
        assert m.is_closed()
        assert "closed" in repr(m)
        await no_monitor_left(r)
        after = client.pool.stats()
        assert (after.created, after.closed, after.size) == (before.created, before.closed, 1)
        assert after.in_use == 0
        with pytest.raises(RuntimeError, match="closed"):
            await m.next_command()


async def test_a_cancelled_listener_closes_its_connection(r: Client) -> None:
    started = asyncio.Event()
    seen: list[dict[str, Any]] = []

    async def listen() -> None:
        async with r.monitor() as m:
            started.set()
            async for event in m.listen():
                seen.append(event)

    task = asyncio.create_task(listen())
    await asyncio.wait_for(started.wait(), 5)
    assert len(await monitors(r)) == 1
    async with asyncio.timeout(5):
        while not seen:  # the listener is reading
            await r.ping()
            await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await no_monitor_left(r)
    assert any(e["command"] == "PING" for e in seen)


async def test_cancelling_next_command_loses_nothing(r: Client, redis_url: str) -> None:
    async with Client.from_url(redis_url) as other, r.monitor() as m:
        waiting = asyncio.create_task(m.next_command())
        await asyncio.sleep(0.05)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await other.incr("after-cancel")
        event = await until(m, lambda e: e["command"].startswith("INCR"))
        assert event["command"] == "INCR after-cancel"


async def test_a_killed_monitor_connection_raises_connection_failure(r: Client) -> None:
    async with r.monitor() as m:
        (listed,) = await monitors(r)
        assert await r.execute("CLIENT", "KILL", "ID", listed["id"]) == 1
        with pytest.raises(ConnectionLost):
            await until(m, lambda e: False)
        with pytest.raises(ConnectionFailure):  # and again: it does not reconnect
            await m.next_command()
    await no_monitor_left(r)


async def test_next_command_outside_async_with_opens_and_client_aclose_closes(
    r: Client, redis_url: str
) -> None:
    client = Client.from_url(redis_url)
    m = client.monitor()
    try:
        assert "idle" in repr(m)
        first = asyncio.create_task(m.next_command())  # opens it
        async with asyncio.timeout(5):
            while not first.done():
                await r.ping()
                await asyncio.sleep(0.01)
        assert (await first)["command"] == "PING"
        assert len(await monitors(r)) == 1
    finally:
        await client.aclose()
    assert m.is_closed()
    await no_monitor_left(r)


async def test_monitor_via_execute_stays_refused_naming_client_monitor(r: Client) -> None:
    with pytest.raises(SessionCommandError, match=r"client\.monitor\(\)"):
        await r.execute("MONITOR")
    async with r.pool.acquire() as conn:
        with pytest.raises(SessionCommandError, match=r"client\.monitor\(\)"):
            await conn.execute("MONITOR")
    assert await monitors(r) == []


async def test_a_user_without_monitor_permission_is_refused_and_nothing_stays_open(
    r: Client, redis_url: str
) -> None:
    await r.execute("ACL", "SETUSER", "nomonitor", "on", ">pw", "~*", "+@all", "-monitor")
    try:
        url = redis_url.replace("redis://", "redis://nomonitor:pw@")
        async with Client.from_url(url) as client:
            with pytest.raises(PermissionDenied, match="NOPERM"):
                async with client.monitor():
                    pytest.fail("MONITOR was allowed")
            assert client.pool.stats().created == 0
    finally:
        await r.execute("ACL", "DELUSER", "nomonitor")
    await no_monitor_left(r)


async def test_cluster_monitors_one_node_through_node(redis_cluster: RedisCluster) -> None:
    c = redis_cluster
    async with ClusterClient.from_url(c.startup_url) as cc:
        assert not hasattr(cc, "monitor")
        key = "monitored"
        owner = c.owner_of(c.slot_of(key))
        async with cc.node(address(owner)).monitor() as m:
            await cc.set(key, "v")
            event = await until(m, lambda e: e["command"].startswith("SET"))
        assert event["command"] == "SET monitored v"
