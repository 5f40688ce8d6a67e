"""Rotating credentials (``credential_provider=``) against real servers whose ACLs change.

What the server thinks is read from the server: ``ACL LOG`` (every refused
AUTH is logged there), ``CLIENT LIST`` (the user each connection is logged in
as) and ``ACL DELUSER`` (which closes every connection of the deleted user,
so a connection that did not move to the new credentials breaks).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from aiopool import (
    AuthenticationError,
    Client,
    ClusterClient,
    ConnectError,
    RotatingCredentials,
)
from aiopool.testing import RedisCluster, RedisServer
from aiopool.testing.plugin import require_redis_server

ADMIN = "admin-secret-0"
RULES = ("on", "~*", "&*", "+@all")


@pytest.fixture
def acl_server() -> Iterator[RedisServer]:
    """A private server whose default user needs ``ADMIN``: a refused AUTH cannot pass as it."""
    require_redis_server()
    with RedisServer(password=ADMIN) as server:
        yield server


@pytest.fixture
async def admin(acl_server: RedisServer) -> AsyncIterator[Client]:
    async with Client.from_url(acl_server.url, decode_responses=True) as client:
        yield client


def plain_url(server: RedisServer) -> str:
    return f"redis://127.0.0.1:{server.port}/0"


class Source:
    """The credentials the "secrets store" hands out now; ``fetch`` is what a provider calls."""

    def __init__(self, username: str, password: str) -> None:
        self.current = (username, password)
        self.calls = 0

    async def fetch(self) -> tuple[str | None, str]:
        self.calls += 1
        return self.current


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 5) -> None:
    """Poll ``check`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    for _ in range(100_000):
        if await check():
            return
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


async def client_users(admin: Client) -> list[str]:
    """The user of every connection but the admin's (logged in as ``default``)."""
    listing = await admin.execute("CLIENT", "LIST")
    users = []
    for line in listing.splitlines():
        fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
        if fields.get("user") != "default":
            users.append(fields.get("user", "?"))
    return users


def refused_auths(log: list[Any]) -> int:
    """How many AUTHs ``ACL LOG`` says were refused (it groups repeats in one entry's count)."""
    total = 0
    for entry in log:
        fields = (
            entry if isinstance(entry, dict) else dict(zip(entry[::2], entry[1::2], strict=True))
        )
        fields = {k.decode() if isinstance(k, bytes) else k: v for k, v in fields.items()}
        if fields.get("reason") in ("auth", b"auth"):
            total += int(fields["count"])
    return total


async def auth_failures(admin: Client) -> int:
    """Refused AUTHs on the server, from ``ACL LOG`` (the user is logged, never the password)."""
    return refused_auths(await admin.execute("ACL", "LOG"))


# -- asked for every connection --------------------------------------------------------------


async def test_every_new_connection_asks_the_provider(
    acl_server: RedisServer, admin: Client
) -> None:
    await admin.execute("ACL", "SETUSER", "app", *RULES, ">pw-1")
    source = Source("app", "pw-1")

    class Provider:
        async def get_credentials(self) -> tuple[str | None, str]:
            return await source.fetch()

    async with Client.from_url(plain_url(acl_server), credential_provider=Provider()) as client:
        async with client.pool.acquire() as a, client.pool.acquire() as b:
            assert a is not b
        assert source.calls == 2
        assert await client.execute("ACL", "WHOAMI") == b"app"
        assert await auth_failures(admin) == 0


@pytest.mark.parametrize("protocol", [2, 3])
async def test_a_provider_that_raises_is_a_connect_error_naming_it(
    acl_server: RedisServer, protocol: int
) -> None:
    class VaultProvider:
        async def get_credentials(self) -> tuple[str | None, str]:
            raise LookupError("vault sealed; token s3cr3t-token")

    async with Client.from_url(
        plain_url(acl_server),
        credential_provider=VaultProvider(),
        protocol=protocol,
        acquire_timeout=0.3,
    ) as client:
        with pytest.raises(ConnectError) as info:
            await client.ping()
    message = str(info.value)
    assert "VaultProvider.get_credentials() raised LookupError" in message
    assert "s3cr3t" not in message


async def test_a_provider_that_hangs_fails_within_connect_timeout(acl_server: RedisServer) -> None:
    class Stuck:
        async def get_credentials(self) -> tuple[str | None, str]:
            await asyncio.sleep(30)
            raise AssertionError("unreachable")

    async with Client.from_url(
        plain_url(acl_server), credential_provider=Stuck(), connect_timeout=0.2, acquire_timeout=0.5
    ) as client:
        started = time.monotonic()
        with pytest.raises(ConnectError, match=r"Stuck.get_credentials\(\) did not answer"):
            await client.ping()
        assert time.monotonic() - started < 2


async def test_wrong_credentials_from_a_provider_are_an_authentication_error(
    acl_server: RedisServer, admin: Client
) -> None:
    await admin.execute("ACL", "SETUSER", "app", *RULES, ">right")
    provider = RotatingCredentials(Source("app", "wrong-pw").fetch, refresh_every=60)
    async with Client.from_url(plain_url(acl_server), credential_provider=provider) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.ping()
    await provider.aclose()
    assert "credential_provider RotatingCredentials" in str(info.value)
    assert "wrong-pw" not in str(info.value)


async def test_no_secret_in_any_repr_or_message(acl_server: RedisServer, admin: Client) -> None:
    secret = "tok-" + uuid.uuid4().hex
    await admin.execute("ACL", "SETUSER", "app", *RULES, f">{secret}")
    source = Source("app", secret)
    provider = RotatingCredentials(source.fetch, refresh_every=60)
    async with Client.from_url(plain_url(acl_server), credential_provider=provider) as client:
        await client.ping()
        shown = [
            repr(client),
            repr(client.pool),
            repr(client.pool.connection_options),
            repr(provider),
        ]
        async with client.pool.acquire() as conn:
            shown.append(repr(conn))
        source.current = ("app", secret + "-new")  # not on the server: the re-AUTH fails
        await provider.refresh()
        with pytest.raises(AuthenticationError) as info:
            await client.ping()
        shown.append(str(info.value))
    await provider.aclose()
    assert all(secret not in text for text in shown), shown


def test_credential_provider_with_a_password_is_a_value_error() -> None:
    provider = RotatingCredentials(Source("u", "p").fetch, refresh_every=60)
    with pytest.raises(ValueError, match="credential_provider and password"):
        Client.from_url("redis://:pw@127.0.0.1:1/0", credential_provider=provider)
    with pytest.raises(ValueError, match="credential_provider and password"):
        ClusterClient.from_url("redis://:pw@127.0.0.1:1", credential_provider=provider)


# -- rotation --------------------------------------------------------------------------------


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("rotate", "protocol", "auto_pipeline"),
    [
        ("password", 2, False),
        ("password", 3, False),
        ("user", 2, False),
        ("user", 3, False),
        ("user", 2, True),  # shared connections in steady use move too
    ],
)
async def test_rotating_the_password_under_load_fails_no_command(
    acl_server: RedisServer, admin: Client, protocol: int, rotate: str, auto_pipeline: bool
) -> None:
    # "password": ACL SETUSER app >new, and <old `grace` rotations later (the
    # server keeps sessions logged in with a removed password, so this proves
    # new connections use the newest one). "user": a new user per rotation and
    # ACL DELUSER of the old one, which closes every connection still on it:
    # a connection that did not re-AUTH breaks, and a command on it fails.
    # The grace period (4 rotations, over 0.8 s) must outlast the longest
    # command on the old credentials (a BLPOP of 0.3 s plus the loop's delays).
    rotations, grace = 60, 4
    passwords = [f"pw-0-{uuid.uuid4().hex}"]
    users = ["app" if rotate == "password" else "app-0"]
    await admin.execute("ACL", "SETUSER", users[0], *RULES, f">{passwords[0]}")
    await admin.execute("ACL", "LOG", "RESET")
    source = Source(users[0], passwords[0])
    provider = RotatingCredentials(source.fetch, refresh_every=3600)
    stop = asyncio.Event()

    async def retire(user: str, password: str) -> None:
        if rotate == "password":
            await admin.execute("ACL", "SETUSER", user, f"<{password}")
        else:
            await admin.execute("ACL", "DELUSER", user)

    done = {"commands": 0, "blocking": 0, "transactions": 0, "messages": 0}
    failures: list[BaseException] = []

    async with Client.from_url(
        plain_url(acl_server),
        credential_provider=provider,
        protocol=protocol,
        max_size=12,
        # Connections are replaced all the time, so new ones ask the provider,
        # except with auto-pipelining: its shared connections then stay in
        # steady use, and must move by themselves.
        max_lifetime=None if auto_pipeline else 0.7,
        auto_pipeline=auto_pipeline,
        decode_responses=True,
    ) as client:

        async def worker(n: int) -> None:
            while not stop.is_set():
                try:
                    await client.set(f"k{n}", n)
                    assert await client.get(f"k{n}") == str(n)
                    done["commands"] += 2
                except Exception as exc:
                    failures.append(exc)
                await asyncio.sleep(0)

        async def blocker() -> None:
            while not stop.is_set():
                try:
                    await client.blpop(["queue"], timeout=0.3)  # held across rotations
                    done["blocking"] += 1
                except Exception as exc:
                    failures.append(exc)

        async def watcher() -> None:
            while not stop.is_set():
                try:
                    async with client.pipeline() as pipe:
                        await pipe.watch("counter")
                        await asyncio.sleep(0.05)  # the watched connection stays pinned
                        value = int(await pipe.immediate.get("counter") or 0)
                        pipe.multi()
                        pipe.set("counter", value + 1)
                        await pipe.execute()
                    done["transactions"] += 1
                except Exception as exc:
                    failures.append(exc)

        # Pub/sub under RESP3 is another change's (push frames for a
        # subscriber); until then the subscription rides along under RESP2.
        # A RESP2 subscriber cannot AUTH: it keeps its session (so ACL
        # DELUSER would close it; see test_a_subscription_survives_a_rotation).
        async with client.pubsub() as ps:
            if protocol == 2 and rotate == "password":
                await ps.subscribe("news")
            published = 0

            async def reader() -> None:
                async for message in ps.listen():
                    if message["type"] != "message":
                        failures.append(RuntimeError(f"pub/sub gap: {message}"))
                    else:
                        done["messages"] += 1

            tasks = [asyncio.create_task(worker(n)) for n in range(40)]
            tasks += [asyncio.create_task(blocker()) for _ in range(2)]
            tasks.append(asyncio.create_task(watcher()))
            listening = asyncio.create_task(reader())
            try:
                for i in range(1, rotations + 1):
                    new = f"pw-{i}-{uuid.uuid4().hex}"
                    user = "app" if rotate == "password" else f"app-{i}"
                    await admin.execute("ACL", "SETUSER", user, *RULES, f">{new}")
                    passwords.append(new)
                    users.append(user)
                    source.current = (user, new)
                    await provider.refresh()
                    if i > grace:
                        await retire(users[i - grace - 1], passwords[i - grace - 1])
                    published += await client.publish("news", str(i)) > 0
                    await asyncio.sleep(0.2)
                # After one more grace period, only the newest credentials are left.
                await asyncio.sleep(1.0)
                for j in range(rotations - grace, rotations):
                    await retire(users[j], passwords[j])
                await asyncio.sleep(0.5)
            finally:
                stop.set()
                await asyncio.gather(*tasks)

            async def all_arrived() -> bool:
                return done["messages"] >= published

            await eventually(all_arrived, "every published message")
            listening.cancel()
            await asyncio.gather(listening, return_exceptions=True)

        # Every connection the pool still has answers on the newest password alone.
        await asyncio.gather(*(client.ping() for _ in range(30)))
        refused = await auth_failures(admin)
        created = client.pool.stats().created
    await provider.aclose()
    print(
        f"\nrotate={rotate} protocol={protocol} auto_pipeline={auto_pipeline} rotations={rotations} connections={created} commands={done['commands']} "
        f"blocking={done['blocking']} transactions={done['transactions']} "
        f"messages={done['messages']}/{published} failed={len(failures)} "
        f"provider_calls={source.calls} refused_auth={refused}"
    )
    assert failures == [], failures[:5]
    assert refused == 0
    subscribed = protocol == 2 and rotate == "password"
    assert done["messages"] == published == (rotations if subscribed else 0)
    assert done["blocking"] > 0
    assert done["transactions"] > 0


@pytest.mark.timeout(60)
@pytest.mark.parametrize("protocol", [2, 3])
async def test_idle_borrowed_and_pinned_connections_move_to_the_newest_user(
    acl_server: RedisServer, admin: Client, protocol: int
) -> None:
    # A new user per rotation: CLIENT LIST shows who each connection is, and
    # ACL DELUSER closes whatever stayed behind.
    await admin.execute("ACL", "SETUSER", "u0", *RULES, ">p0")
    source = Source("u0", "p0")
    provider = RotatingCredentials(source.fetch, refresh_every=3600)
    async with Client.from_url(
        plain_url(acl_server),
        credential_provider=provider,
        protocol=protocol,
        min_size=5,
        max_size=5,
    ) as client:
        assert await client_users(admin) == ["u0"] * 5
        pipe = client.pipeline()
        await pipe.watch("w")  # pinned by a watch across the rotation
        blocked = asyncio.create_task(client.blpop(["nothing"], timeout=1.0))
        await asyncio.sleep(0.2)  # the BLPOP is on the server; 3 connections idle

        await admin.execute("ACL", "SETUSER", "u1", *RULES, ">p1")
        source.current = ("u1", "p1")
        await provider.refresh()

        async def idle_moved() -> bool:
            return (await client_users(admin)).count("u1") == 3

        await eventually(idle_moved, "the idle connections to re-AUTH")
        assert await blocked is None  # the blocking command was not disturbed
        pipe.multi()
        pipe.set("w", 1)
        assert await pipe.execute() == [True]  # nor the watch
        assert (await client_users(admin)).count("u0") == 2  # both returned, not yet lent
        async with contextlib.AsyncExitStack() as stack:  # lend all five at once
            conns = [await stack.enter_async_context(client.pool.acquire()) for _ in range(5)]
            assert len(set(conns)) == 5
            assert sorted(await client_users(admin)) == ["u1"] * 5  # re-AUTHed before use
        await admin.execute("ACL", "DELUSER", "u0")  # would close anything still on u0
        assert await client_users(admin) == ["u1"] * 5
        assert await client.execute("ACL", "WHOAMI") == b"u1"
        assert await auth_failures(admin) == 0
    await provider.aclose()


async def test_a_subscription_survives_a_rotation(acl_server: RedisServer, admin: Client) -> None:
    await admin.execute("ACL", "SETUSER", "app", *RULES, ">a")
    source = Source("app", "a")
    provider = RotatingCredentials(source.fetch, refresh_every=3600)
    async with (
        Client.from_url(plain_url(acl_server), credential_provider=provider) as client,
        client.pubsub() as ps,
    ):
        await ps.subscribe("ch")
        await admin.execute("ACL", "SETUSER", "app", ">b", "<a")
        source.current = ("app", "b")
        await provider.refresh()
        assert await client.publish("ch", "after") == 1
        message = await ps.get_message(timeout=2)
        assert message is not None
        assert message["type"] == "message", message
        assert message["data"] == b"after"
        # A reconnect of the subscriber (the server closed it) asks for the newest credentials.
        await admin.execute("CLIENT", "KILL", "TYPE", "pubsub")
        # The old password is gone: the reconnect can only succeed on the newest.
        kinds = []
        for _ in range(2):
            marker = await ps.get_message(timeout=3)
            kinds.append(None if marker is None else marker["type"])
        assert kinds == ["disconnected", "reconnected"], kinds
        assert await client.publish("ch", "again") == 1
        message = await ps.get_message(timeout=2)
        assert message is not None
        assert message["data"] == b"again"
    assert await auth_failures(admin) == 0
    await provider.aclose()


async def test_a_refused_re_auth_closes_the_connection(
    acl_server: RedisServer, admin: Client
) -> None:
    await admin.execute("ACL", "SETUSER", "app", *RULES, ">good")
    source = Source("app", "good")
    provider = RotatingCredentials(source.fetch, refresh_every=3600)
    async with Client.from_url(
        plain_url(acl_server), credential_provider=provider, min_size=2, acquire_timeout=0.5
    ) as client:
        assert len(await client_users(admin)) == 2
        closed = client.pool.stats().closed
        source.current = ("app", "not-on-the-server")
        await provider.refresh()

        async def none_left() -> bool:
            return not await client_users(admin)

        await eventually(none_left, "the refused connections to close")
        # A failed AUTH leaves the old session logged in on the server: closed, not kept.
        assert await client_users(admin) == []
        assert client.pool.stats().closed >= closed + 2
        assert await auth_failures(admin) >= 2
        with pytest.raises(AuthenticationError):  # new connections get the bad pair too
            await client.ping()
        await admin.execute("ACL", "SETUSER", "app", ">not-on-the-server")
        assert await client.ping() is True
    await provider.aclose()


# -- the cluster client ----------------------------------------------------------------------


@pytest.mark.timeout(60)
async def test_the_cluster_client_rotates_on_every_node(redis_cluster: RedisCluster) -> None:
    # A user per rotation, on every node (ACLs are per node): ACL DELUSER of the
    # old one closes any connection, on any node, that did not move.
    tag = uuid.uuid4().hex[:8]
    old, new = f"old-{tag}", f"new-{tag}"
    nodes = redis_cluster.nodes

    def on_every_node(*args: str) -> None:
        for node in nodes:
            redis_cluster.execute(node, "ACL", *args)

    def users_of(name: str) -> int:
        count = 0
        for node in nodes:
            listing = redis_cluster.execute(node, "CLIENT", "LIST").decode()
            count += sum(f" user={name} " in f" {line} " for line in listing.splitlines())
        return count

    on_every_node("SETUSER", old, *RULES, ">c0")
    source = Source(old, "c0")
    provider = RotatingCredentials(source.fetch, refresh_every=3600)
    try:
        async with ClusterClient.from_url(
            redis_cluster.startup_url, credential_provider=provider
        ) as rc:
            keys = [f"key-{i}" for i in range(30)]  # on every master
            for key in keys:
                await rc.set(key, key)
            assert users_of(old) >= 3
            on_every_node("SETUSER", new, *RULES, ">c1")
            source.current = (new, "c1")
            await provider.refresh()

            async def moved() -> bool:
                return users_of(old) == 0

            await eventually(moved, "every node's connections to re-AUTH")
            assert users_of(old) == 0
            on_every_node("DELUSER", old)
            for key in keys:
                assert await rc.get(key) == key.encode()
            assert users_of(new) >= 3
            for node in nodes:
                assert refused_auths(redis_cluster.execute(node, "ACL", "LOG")) == 0
    finally:
        await provider.aclose()
        on_every_node("DELUSER", old, new)


async def test_a_returned_connection_re_auths_at_the_next_reap_without_a_checkout(
    acl_server: RedisServer, admin: Client
) -> None:
    await admin.execute("ACL", "SETUSER", "r0", *RULES, ">p0")
    source = Source("r0", "p0")
    provider = RotatingCredentials(source.fetch, refresh_every=3600)
    async with Client.from_url(
        plain_url(acl_server), credential_provider=provider, keepalive_interval=0.2
    ) as client:
        async with client.pool.acquire():  # borrowed across the rotation
            await admin.execute("ACL", "SETUSER", "r1", *RULES, ">p1")
            source.current = ("r1", "p1")
            await provider.refresh()
            assert await client_users(admin) == ["r0"]
        acquired = client.pool.stats().acquired

        async def moved() -> bool:
            return await client_users(admin) == ["r1"]

        await eventually(moved, "the returned connection to re-AUTH in a keepalive round")
        assert client.pool.stats().acquired == acquired  # nobody checked it out
    await provider.aclose()


async def test_a_resp3_subscriber_re_auths_in_its_stream_without_a_gap(
    acl_server: RedisServer, admin: Client
) -> None:
    await admin.execute("ACL", "SETUSER", "app1", *RULES, ">a")
    source = Source("app1", "a")
    provider = RotatingCredentials(source.fetch, refresh_every=3600)
    async with (
        Client.from_url(plain_url(acl_server), protocol=3, credential_provider=provider) as client,
        client.pubsub() as ps,
    ):
        await ps.subscribe("ch")
        await admin.execute("ACL", "SETUSER", "app2", *RULES, ">b")
        source.current = ("app2", "b")
        await provider.refresh()

        async def subscriber_moved() -> bool:
            listing = await admin.execute("CLIENT", "LIST", "TYPE", "pubsub")
            return "user=app2" in listing and "user=app1" not in listing

        await eventually(subscriber_moved, "the subscriber to run as app2")
        # Deleting the old user closes its sessions: the subscriber is no longer one.
        await admin.execute("ACL", "DELUSER", "app1")
        assert await client.publish("ch", "after") == 1
        message = await ps.get_message(timeout=2)
        assert message is not None
        assert (message["type"], message["data"]) == ("message", b"after")
        assert ps.reconnects == 0
        assert await ps.get_message(timeout=0.2) is None  # no gap marker
    await provider.aclose()


async def test_a_refused_in_stream_re_auth_reconnects_the_subscriber(
    acl_server: RedisServer, admin: Client
) -> None:
    await admin.execute("ACL", "SETUSER", "app1", *RULES, ">a")
    source = Source("app1", "a")
    provider = RotatingCredentials(source.fetch, refresh_every=3600)
    async with (
        Client.from_url(plain_url(acl_server), protocol=3, credential_provider=provider) as client,
        client.pubsub() as ps,
    ):
        await ps.subscribe("ch")
        source.current = ("app1", "not-the-password")
        await provider.refresh()
        marker = await ps.get_message(timeout=3)
        assert marker is not None
        assert marker["type"] == "disconnected"
        assert "re-AUTH" in str(marker["data"])
        assert "not-the-password" not in str(marker["data"])
    await provider.aclose()
