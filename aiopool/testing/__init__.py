"""Test helpers shipped with aiopool: throwaway servers, a fault proxy, pytest fixtures.

``RedisServer`` starts a private ``redis-server`` on a free loopback port;
``RedisCluster`` starts a Redis Cluster of them (masters and replicas) that a
test can kill, fail over and reshard. ``FaultProxy`` sits between a client and a server and injects faults a test
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
from ._server import RedisServer, RedisServerUnavailable, find_redis_server

__all__ = [
    "ClusterReplyError",
    "FaultProxy",
    "RedisCluster",
    "RedisServer",
    "RedisServerUnavailable",
    "find_redis_server",
]
