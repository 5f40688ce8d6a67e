"""Test helpers shipped with aiopool: throwaway servers and pytest fixtures.

``RedisServer`` starts a private ``redis-server`` on a free loopback port.
The pytest plugin (``aiopool.testing.plugin``, registered automatically when
aiopool is installed) provides the ``redis_server`` and ``redis_url`` fixtures.
"""

from __future__ import annotations

from ._server import RedisServer, RedisServerUnavailable, find_redis_server

__all__ = ["RedisServer", "RedisServerUnavailable", "find_redis_server"]
