"""A server without HELLO (as before Redis 6) refuses protocol=3 loudly; no silent RESP2.

The server is a real redis-server with HELLO renamed away, so it answers
HELLO as Redis 5 did: an unknown command. docs/guide/resp3.md promises an
error naming protocol=2, and that the same server still works with it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aiopool import Client, ReplyError
from aiopool.testing import RedisServer


@pytest.fixture
def server_without_hello() -> Iterator[RedisServer]:
    with RedisServer(args=["--rename-command", "HELLO", ""]) as server:
        yield server


async def test_protocol_3_on_a_server_without_hello_raises_naming_protocol_2(
    server_without_hello: RedisServer,
) -> None:
    base = server_without_hello.url.split("?", 1)[0]
    async with Client.from_url(base, protocol=3, connect_timeout=2) as client:
        with pytest.raises(ReplyError) as caught:
            await client.set("k", "v")
        stats = client.pool.stats()
        assert (stats.size, stats.connect_errors) == (0, 1)  # no connection kept, none fell back
    message = str(caught.value)
    assert "refused HELLO 3" in message
    assert "use protocol=2" in message
    async with Client.from_url(base, protocol=2) as client:
        assert await client.get("k") is None  # the SET above never ran
        assert await client.set("k", "v") is True
