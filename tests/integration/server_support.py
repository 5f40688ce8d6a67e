"""Which server the suite runs, for the few checks where Redis 7.0 and Valkey 8+ differ.

``aiopool.testing`` picks the executable (``AIOPOOL_REDIS_SERVER``, else
``redis-server`` on PATH, else the packaged ``valkey-server``); CI runs the
suite on Redis 7.0 and a subset of it on Valkey 9.1. Each check that depends
on the server says why next to its use.
"""

from __future__ import annotations

import re

from aiopool.testing import RedisServerUnavailable, locate_redis_server


def _server() -> tuple[str, tuple[int, ...]]:
    try:
        version = locate_redis_server().version
    except RedisServerUnavailable:
        return "none", ()
    name, _, number = version.partition(" ")
    return name.lower(), tuple(int(part) for part in re.findall(r"\d+", number)[:3])


SERVER_NAME, SERVER_VERSION = _server()
IS_VALKEY = SERVER_NAME == "valkey"

# Valkey 8+ runs Lua as a built-in module, so MODULE LIST names it with no module loaded.
BUILTIN_MODULES = [{b"name": b"lua", b"ver": 1, b"path": b"lua", b"args": []}] if IS_VALKEY else []
