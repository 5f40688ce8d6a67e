"""``redis+sentinel://`` clients against real sentinels (``aiopool.testing.RedisSentinel``).

Discovery and replicas run on the shared kit; anything that kills, restarts
or fails over gets a private one. The failover tests print their figures:
the time from the sentinels' ``+switch-master`` to the first acknowledged
write after it, the error window (first to last failed command), the errors
by type, and the acknowledged writes the new primary does not have.
"""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from aiopool import (
    Client,
    CommandTimeout,
    ConnectError,
    ConnectionFailure,
    MasterNotFoundError,
    OutcomeUnknown,
    PoolTimeout,
)
from aiopool._sentinel import SentinelOptions, Sentinels, parse_url
from aiopool.testing import RedisSentinel

from .sentinel_support import SwitchWatcher, WriteLoad, missing_on

# What a command may fail with while the primary changes: typed, nothing else.
FAILOVER_ERRORS = (ConnectionFailure, OutcomeUnknown, PoolTimeout, CommandTimeout)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def client_names(kit: RedisSentinel, server_port: int) -> list[str]:
    raw = kit._data(kit._by_port(server_port), "CLIENT", "LIST")
    text = raw.decode() if isinstance(raw, bytes) else raw
    return [
        field[5:] for line in text.splitlines() for field in line.split() if field[:5] == "name="
    ]


def subscribed(kit: RedisSentinel, server_port: int, name: str) -> bool:
    """Whether a client named ``name`` of ``server_port`` is subscribed to a channel."""
    raw = kit._data(kit._by_port(server_port), "CLIENT", "LIST")
    text = raw.decode() if isinstance(raw, bytes) else raw
    return any(f" name={name} " in line and " sub=1 " in line for line in text.splitlines())


def report(title: str, load: WriteLoad, announced: float, missing: int) -> str:
    first = load.first_success_after(announced)
    window = load.error_window()
    line = (
        f"{title}: acked={len(load.acked)} failed={len(load.failed)} {load.error_kinds()} "
        f"announcement->first write="
        f"{'-' if first is None else f'{(first - announced) * 1000:.0f}ms'} "
        f"error window={'-' if window is None else f'{(window[1] - window[0]) * 1000:.0f}ms'} "
        f"acked but missing on the new primary={missing}"
    )
    print(line)
    return line


# -- the URL ----------------------------------------------------------------------------


def test_url_gives_sentinels_in_order_service_db_and_server_credentials() -> None:
    settings, connection, pool = parse_url(
        "redis+sentinel://u:s3cret@h1:26380,h2,[::1]:26381/svc/3?max_size=7",
        {"sentinel_password": "other", "sentinel_timeout": 0.5},
        where="test",
    )
    assert settings.sentinels == (("h1", 26380), ("h2", 26379), ("::1", 26381))
    assert settings.service_name == "svc"
    assert settings.timeout == 0.5
    assert (connection.username, connection.password, connection.db) == ("u", "s3cret", 3)
    assert pool.max_size == 7
    assert "s3cret" not in repr(settings)
    assert "other" not in repr(settings)
    assert "s3cret" not in repr(connection)


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("redis+sentinel://h1:26379", "no service name"),
        ("redis+sentinel://u:pw@h1:x/svc", "bad sentinel address"),
    ],
)
def test_bad_url_raises_value_error_without_the_password(url: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment) as info:
        Client.from_url(url)
    assert "pw" not in str(info.value)


def test_bad_sentinel_options_are_named() -> None:
    with pytest.raises(ValueError, match="read_from"):
        Client.from_url("redis+sentinel://h:1/s", read_from="nearest")
    with pytest.raises(ValueError, match="sentinel_timeout"):
        Client.from_url("redis+sentinel://h:1/s", sentinel_timeout=0)
    with pytest.raises(TypeError, match="sentinel_password must be a str or None, got <hidden>"):
        SentinelOptions("s", (("h", 1),), password=123)  # type: ignore[arg-type]


# -- discovery --------------------------------------------------------------------------


async def test_client_writes_to_the_primary_the_sentinels_name(
    redis_sentinel: RedisSentinel,
) -> None:
    kit = redis_sentinel
    async with Client.from_url(kit.url, client_name="sentinel-discovery") as client:
        await client.set("where", "here")
        primary = kit.primary
        assert client.pool.sentinels.primary == ("127.0.0.1", primary.port)  # type: ignore[attr-defined]
        assert "sentinel-discovery" in client_names(kit, primary.port)
        for replica in kit.replicas:
            assert "sentinel-discovery" not in client_names(kit, replica.port)
        async with Client.from_url(primary.url) as direct:
            assert await direct.get("where") == b"here"
    assert "s3cret" not in repr(client)


async def test_a_dead_sentinel_at_start_is_skipped_and_the_answering_one_moves_first(
    redis_sentinel: RedisSentinel,
) -> None:
    kit = redis_sentinel
    dead = free_port()
    real = ",".join(f"127.0.0.1:{s.port}" for s in kit.sentinel_servers)
    url = f"redis+sentinel://127.0.0.1:{dead},{real}/{kit.service_name}"
    async with Client.from_url(url, sentinel_timeout=0.5) as client:
        assert await client.ping()
        sentinels: Sentinels = client.pool.sentinels  # type: ignore[attr-defined]
        assert sentinels._order[0] == ("127.0.0.1", kit.sentinel_servers[0].port)
        assert sentinels._order[1] == ("127.0.0.1", dead)


async def test_unknown_service_raises_master_not_found_naming_each_sentinel(
    redis_sentinel: RedisSentinel,
) -> None:
    kit = redis_sentinel
    dead = free_port()
    hosts = ",".join([f"127.0.0.1:{dead}", *(f"127.0.0.1:{s.port}" for s in kit.sentinel_servers)])
    client = Client.from_url(f"redis+sentinel://{hosts}/nosuch", acquire_timeout=0.5)
    async with client:
        with pytest.raises(MasterNotFoundError) as info:
            await client.ping()
    message = str(info.value)
    assert f"127.0.0.1:{dead}" in message
    for s in kit.sentinel_servers:
        assert f"127.0.0.1:{s.port}: does not know the service" in message


async def test_read_from_replicas_reads_on_a_replica(redis_sentinel: RedisSentinel) -> None:
    kit = redis_sentinel
    async with Client.from_url(kit.url) as writer:
        await writer.set("shared", "v")
        await writer.execute("WAIT", 2, 5000)
    async with Client.from_url(kit.url, read_from="replicas", client_name="reader") as reader:
        assert await reader.get("shared") == b"v"
        assert "reader" not in client_names(kit, kit.primary.port)
        assert any("reader" in client_names(kit, r.port) for r in kit.replicas)


# -- failover ---------------------------------------------------------------------------


@pytest.mark.timeout(180)
async def test_kill_primary_under_write_load(private_redis_sentinel: RedisSentinel) -> None:
    """kill -9 of the primary: typed errors only during the failover, then writes succeed.

    Every write acknowledged after the sentinels announced the new primary is
    on the new primary; the old primary, restarted, takes no write of ours
    (ROLE verification) while it is still a primary, and becomes a replica.
    """
    kit = private_redis_sentinel
    old = kit.primary
    options = {"client_name": "sentinel-load", "acquire_timeout": 3.0, "command_timeout": 2.0}
    async with Client.from_url(kit.url, max_size=20, **options) as client:
        load = WriteLoad(client.set, FAILOVER_ERRORS, tasks=20, pause=0.01)
        async with SwitchWatcher(kit) as watcher:
            load.start()
            await asyncio.sleep(0.5)
            killed = time.monotonic()
            kit.kill(old)
            announced, new_port = await watcher.wait(30)
            new = await asyncio.to_thread(kit.wait_for_failover, old, 30)
            assert new.port == new_port
            await asyncio.sleep(1.0)
            # The old primary comes back empty, as a primary, until a sentinel converts it.
            kit.restart(old)
            seen_as_primary = 0
            for _ in range(3000):  # bounded: at most ~60 s
                try:
                    role = kit.role(old)
                except OSError:
                    break
                if role != "master":
                    break
                seen_as_primary += 1
                if kit.announced_primary() != old.port:  # not (yet) a primary the sentinels chose
                    assert "sentinel-load" not in client_names(kit, old.port)
                await asyncio.sleep(0.02)
            await asyncio.to_thread(kit.wait_for_failover, old, 60)
            assert kit.role(old) == "slave"
            await asyncio.sleep(0.5)
            await load.stop()
    after = [k for k, t in load.acked.items() if t >= announced]
    missing_after = await missing_on(kit, after)
    missing = await missing_on(kit, list(load.acked))
    print(f"\nkill -9: failover announced {announced - killed:.2f}s after the kill")
    report("aiopool kill -9", load, announced, len(missing))
    print(f"old primary polled {seen_as_primary} times as a primary after its restart")
    assert missing_after == []
    assert load.first_success_after(announced) is not None
    late = [t for t in load.acked.values() if t > announced + 1.0]
    assert late, "no write succeeded a second after the announcement"
    window = load.error_window()
    if window is not None:
        assert window[0] >= killed


@pytest.mark.timeout(180)
async def test_graceful_failover_under_write_load(private_redis_sentinel: RedisSentinel) -> None:
    """SENTINEL FAILOVER: the old primary is demoted under live connections.

    Connections to it are retired (READONLY is resent, never surfaced); every
    write acknowledged after the announcement is on the new primary.
    """
    kit = private_redis_sentinel
    old = kit.primary
    options = {"max_size": 20, "acquire_timeout": 3.0, "client_name": "graceful"}
    async with Client.from_url(kit.url, **options) as client:
        pubsub = client.pubsub()
        await pubsub.subscribe("news")
        assert subscribed(kit, old.port, "graceful")
        load = WriteLoad(client.set, FAILOVER_ERRORS, tasks=20, pause=0.01)
        async with SwitchWatcher(kit) as watcher:
            load.start()
            await asyncio.sleep(0.5)
            new = await asyncio.to_thread(kit.failover, 60)
            announced, new_port = await watcher.wait(5)
            assert new.port == new_port
            assert new is not old
            await asyncio.sleep(1.0)
            await load.stop()
        # The subscription followed the primary: a message published there arrives.
        for _ in range(100):  # bounded: at most ~10 s
            if subscribed(kit, new.port, "graceful"):
                break
            await asyncio.sleep(0.1)
        await client.publish("news", "after")
        messages = []
        for _ in range(50):  # bounded: at most ~10 s
            message = await pubsub.get_message(timeout=0.2)
            if message is not None:
                messages.append(message)
            if any(m["type"] == "message" for m in messages):
                break
        assert [m["data"] for m in messages if m["type"] == "message"] == [b"after"]
    assert "ReadOnlyError" not in load.error_kinds()
    after = [k for k, t in load.acked.items() if t >= announced]
    missing = await missing_on(kit, list(load.acked))
    report("aiopool SENTINEL FAILOVER", load, announced, len(missing))
    assert await missing_on(kit, after) == []
    assert [t for t in load.acked.values() if t > announced + 0.5]


@pytest.mark.timeout(120)
async def test_all_sentinels_down_then_back(private_redis_sentinel: RedisSentinel) -> None:
    kit = private_redis_sentinel
    for sentinel in kit.sentinel_servers:
        kit.kill(sentinel)
    async with Client.from_url(kit.url, acquire_timeout=1.0, sentinel_timeout=0.2) as client:
        with pytest.raises(MasterNotFoundError) as info:
            await client.ping()
        assert isinstance(info.value, ConnectError)
        for sentinel in kit.sentinel_servers:
            assert f"127.0.0.1:{sentinel.port}" in str(info.value)
        for sentinel in kit.sentinel_servers:
            kit.restart(sentinel)
        for _ in range(100):  # bounded: at most ~10 s
            try:
                assert await client.ping()
                break
            except MasterNotFoundError:
                await asyncio.sleep(0.1)
        else:
            pytest.fail("no command succeeded after the sentinels came back")
        await client.set("back", "1")


@pytest.mark.timeout(60)
async def test_sentinel_password_is_used_and_never_shown() -> None:
    async with RedisSentinel(
        replicas=1, sentinels=1, password="data-pw", sentinel_password="sent-pw"
    ) as kit:
        url = kit.url.replace("://", "://:data-pw@")
        async with Client.from_url(url, sentinel_password="sent-pw") as client:
            await client.set("k", "v")
            shown = repr(client) + repr(client.pool.sentinels.options)  # type: ignore[attr-defined]
            assert "sent-pw" not in shown
            assert "data-pw" not in shown
        async with Client.from_url(url, sentinel_password="wrong", acquire_timeout=0.5) as bad:
            with pytest.raises(MasterNotFoundError) as info:
                await bad.ping()
        assert "wrong" not in str(info.value)


@pytest.mark.timeout(60)
async def test_read_from_replicas_falls_back_to_the_primary_without_replicas() -> None:
    async with RedisSentinel(replicas=0, sentinels=1) as kit:
        client = Client.from_url(kit.url, read_from="replicas", client_name="fallback")
        async with client:
            await client.set("k", "v")  # on the primary: there is no replica to read from
            assert await client.get("k") == b"v"
            assert "fallback" in client_names(kit, kit.primary.port)


async def test_a_replica_where_a_primary_was_expected_fails_the_role_check(
    redis_sentinel: RedisSentinel,
) -> None:
    kit = redis_sentinel
    settings, connection, _ = parse_url(kit.url, {}, where="test")
    sentinels = Sentinels(settings, connection)
    replica = kit.replicas[0]
    with pytest.raises(ConnectError, match="answers ROLE slave, not master"):
        await sentinels._open(("127.0.0.1", replica.port), "master", None)
    conn = await sentinels._open(("127.0.0.1", kit.primary.port), "master", None)
    conn.abort()
    await sentinels.aclose()


async def test_readonly_closes_the_connection_and_counts_as_never_sent(
    redis_sentinel: RedisSentinel,
) -> None:
    """A primary demoted under a live connection: READONLY, nothing ran, so it is resent."""
    kit = redis_sentinel
    settings, connection, _ = parse_url(kit.url, {}, where="test")
    sentinels = Sentinels(settings, connection)
    replica = kit.replicas[0]
    conn = await sentinels._open(("127.0.0.1", replica.port), "slave", None)
    conn._role = "master"  # as if it had been the primary when it was opened
    sentinels._set_primary(("127.0.0.1", replica.port))
    with pytest.raises(ConnectionFailure, match="READONLY") as info:
        await conn.execute("SET", "k", "v")
    assert not isinstance(info.value, OutcomeUnknown)
    assert conn.is_closed()
    assert sentinels.primary is None  # asked of the sentinels again on the next connect
    assert await sentinels.discover_primary() == ("127.0.0.1", kit.primary.port)
    await sentinels.aclose()
