"""The RESP3 handshake on a real server: HELLO 3 with AUTH and SETNAME, tracking, refusals."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aiopool import AuthenticationError, Client
from aiopool.testing import RedisServer


@pytest.fixture
def server_with_password(private_redis_server: RedisServer) -> Iterator[RedisServer]:
    with RedisServer(password="hello-s3cret") as server:
        yield server


def _info(raw: object) -> dict[str, str]:
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    return dict(part.split("=", 1) for part in text.split() if "=" in part)


async def test_protocol_3_speaks_resp3_with_the_name_and_db_set(redis_url: str) -> None:
    base = redis_url.split("?", 1)[0].rsplit("/", 1)[0]
    async with Client.from_url(f"{base}/2?protocol=3", client_name="resp3-app") as client:
        info = _info(await client.execute("CLIENT", "INFO"))
        assert (info["resp"], info["name"], info["db"]) == ("3", "resp3-app", "2")
        # execute() gives RESP3's own types: a map is a dict.
        await client.hset("h", mapping={"a": "1"})
        assert await client.execute("HGETALL", "h") == {b"a": b"1"}
    async with Client.from_url(f"{base}/0?protocol=2") as client:
        assert _info(await client.execute("CLIENT", "INFO"))["resp"] == "2"
        assert await client.execute("HGETALL", "h") == []  # db 0: the hash is in db 2


async def test_hello_authenticates_with_the_password_folded_in(
    server_with_password: RedisServer,
) -> None:
    async with Client.from_url(server_with_password.url, protocol=3) as client:
        assert await client.ping() is True
        assert _info(await client.execute("CLIENT", "INFO"))["resp"] == "3"


async def test_a_wrong_password_under_hello_is_an_authentication_error_without_it(
    server_with_password: RedisServer,
) -> None:
    url = server_with_password.url.replace("hello-s3cret", "wrong-pass-42")
    async with Client.from_url(url, protocol=3, connect_timeout=2) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.ping()
    assert "wrong-pass-42" not in str(caught.value)
    assert "refused AUTH for the default user" in str(caught.value)


async def test_no_password_under_hello_names_the_password_option(
    server_with_password: RedisServer,
) -> None:
    url = server_with_password.url.replace(":hello-s3cret@", "")
    async with Client.from_url(url, protocol=3, connect_timeout=2) as client:
        with pytest.raises(AuthenticationError, match="requires a password"):
            await client.ping()


async def test_tracking_turns_client_tracking_on_in_the_handshake(redis_url: str) -> None:
    base = redis_url.split("?", 1)[0]
    async with Client.from_url(base, protocol=3, tracking=True) as client:
        info = await client.execute("CLIENT", "TRACKINGINFO")  # a RESP3 map
        assert b"on" in info[b"flags"]
    async with Client.from_url(base, protocol=3) as client:
        info = await client.execute("CLIENT", "TRACKINGINFO")
        assert b"off" in info[b"flags"]
