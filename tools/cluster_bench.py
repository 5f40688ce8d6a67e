"""W1 through ``ClusterClient`` on a 3-master cluster, beside ``Client`` on one server.

    python tools/cluster_bench.py                 # 5 rounds of 2 s, uvloop when installed
    python tools/cluster_bench.py --rounds 3 --duration 1

Starts a throwaway standalone ``redis-server`` and a throwaway cluster (3
masters, no replicas, all on loopback), runs the bench's W1 workload (50
tasks, mixed SET/GET of 100 B values) through each client in alternating
rounds, and prints the medians: ops/s, p50/p99 latency and client CPU per
100k ops. On a 2-core machine the four servers share the cores with the
client, so the cluster's figure measures the client's routing cost more
than the cluster's capacity.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from aiopool import ClusterClient, PoolOptions
from aiopool._bench.adapters import AiopoolAdapter, Commands
from aiopool._bench.runner import Settings, measure
from aiopool._bench.stats import Sample, summarize
from aiopool._bench.target import Target, parse_target
from aiopool._bench.workloads import WORKLOADS, Workload
from aiopool.testing import RedisServer
from aiopool.testing._cluster import RedisCluster


class ClusterAdapter(AiopoolAdapter):
    """aiopool's ``ClusterClient``, ``max_size`` per node as the workload's pool size."""

    name = "aiopool-cluster"

    def __init__(self, target: Target) -> None:
        super().__init__(target)
        self._cluster: ClusterClient | None = None

    def __repr__(self) -> str:
        return f"<ClusterAdapter {self.target.shown} client={self._cluster!r}>"

    async def setup(self, workload: Workload) -> None:
        self._cluster = ClusterClient(
            [(self.target.options.host, self.target.options.port)],
            self.target.options,
            PoolOptions(max_size=workload.pool_size),
        )
        await self._cluster.open()

    async def teardown(self) -> None:
        if self._cluster is not None:
            await self._cluster.aclose()

    def commands(self, task: int) -> Commands:
        assert self._cluster is not None
        return Commands(self._cluster.get, self._cluster.set)


async def run(single: Target, cluster: Target, settings: Settings) -> dict[str, list[Sample]]:
    workload = WORKLOADS["W1"]
    samples: dict[str, list[Sample]] = {"aiopool (1 node)": [], "aiopool-cluster (3 masters)": []}
    for _ in range(settings.rounds):
        samples["aiopool (1 node)"].append(
            await measure(AiopoolAdapter, single, workload, settings)
        )
        samples["aiopool-cluster (3 masters)"].append(
            await measure(ClusterAdapter, cluster, workload, settings)
        )
    return samples


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=2.0)
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--no-uvloop", action="store_true")
    args = parser.parse_args(argv)
    settings = Settings(duration=args.duration, warmup=args.warmup, rounds=args.rounds)
    loop_name = "asyncio"
    runner = asyncio.run
    if not args.no_uvloop:
        try:
            import uvloop

            runner, loop_name = uvloop.run, "uvloop"
        except ImportError:
            pass
    with RedisServer() as server, RedisCluster(masters=3, replicas_per_master=0) as nodes:
        single = parse_target(server.url, throwaway=True)
        cluster = parse_target(nodes.startup_url, throwaway=True)
        samples = runner(run(single, cluster, settings))
    print(
        f"W1: 50 tasks, mixed SET/GET, 100 B; {args.rounds} rounds of {args.duration}s; {loop_name}"
    )
    print(f"{'client':30} {'ops/s':>10} {'p50 us':>8} {'p99 us':>8} {'CPU s/100k':>11}")
    base = summarize(samples["aiopool (1 node)"]).ops_per_s
    for name, rows in samples.items():
        s = summarize(rows)
        print(
            f"{name:30} {s.ops_per_s:10,.0f} {s.p50_us:8,.0f} {s.p99_us:8,.0f} "
            f"{s.cpu_per_100k:11.2f}  ({s.ops_per_s / base:.2f}x one node)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
