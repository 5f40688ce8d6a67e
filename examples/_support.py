"""Shared by the examples: find a Redis server (or start one) and run ``main``.

The examples are run as scripts (``python examples/quickstart.py``), so this
directory is on ``sys.path`` and they import this module as ``_support``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import os
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, TypeVar

import aiopool
from aiopool.testing import RedisServer, RedisServerUnavailable

__all__ = ["event_loop_name", "redis_url_or_throwaway", "run"]

T = TypeVar("T")

DEFAULT_URL = "redis://127.0.0.1:6379/0"


async def _probe(url: str) -> tuple[str, str | None]:
    """The URL without its password, and ``None`` if a server answers PING there, else why not."""
    # Short limits all round: a refused connection is retried only within
    # acquire_timeout, and something that accepts but never answers like
    # Redis fails within connect_timeout or command_timeout.
    client = aiopool.Client.from_url(
        url, max_size=1, connect_timeout=0.5, acquire_timeout=0.5, command_timeout=0.5
    )
    shown = client.pool.connection_options.url()
    try:
        async with client:
            await client.ping()
    except (aiopool.ConnectionFailure, aiopool.CommandTimeout, aiopool.ProtocolError) as exc:
        return shown, f"{type(exc).__name__}: {exc}"
    return shown, None


@contextlib.asynccontextmanager
async def redis_url_or_throwaway() -> AsyncIterator[str]:
    """Yield the URL of a Redis server to use.

    That is ``$REDIS_URL`` (default ``redis://127.0.0.1:6379/0``) when a
    server answers there; otherwise a throwaway server (``redis-server`` from
    PATH, or the packaged ``valkey-server``: ``aiopool.testing.RedisServer``
    says which) is started on a free loopback port and stopped when the block exits. A
    server that answers but refuses the command (wrong password, say) is an
    error, not a reason to start another.
    """
    url = os.environ.get("REDIS_URL") or DEFAULT_URL
    shown, why_not = await _probe(url)
    if why_not is None:
        yield url
        return
    server = RedisServer()
    try:
        # Blocks for the few milliseconds redis-server takes to answer PING;
        # nothing else runs on the loop yet, and a thread could leave an
        # orphaned server behind if the caller were cancelled meanwhile.
        server.start()
    except RedisServerUnavailable as exc:
        raise SystemExit(f"no Redis server answers at {shown} ({why_not}), and {exc}") from None
    print(
        f"[no Redis server answers at {shown}; started a throwaway {server.version}"
        f" at {server.url}]"
    )
    try:
        yield server.url
    finally:
        server.stop()


def event_loop_name() -> str:
    """``"uvloop 0.x"`` or ``"asyncio"``: the running loop, as ``run`` chose it."""
    loop = asyncio.get_running_loop()
    if type(loop).__module__.startswith("uvloop"):
        return f"uvloop {importlib.metadata.version('uvloop')}"
    return "asyncio"


def run(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``main()`` on uvloop when it is installed, else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main())
    return uvloop.run(main())
