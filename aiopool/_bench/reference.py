"""The ``redis-benchmark`` reference row: Redis's own C load generator, run as a subprocess.

For the mixed workloads (W1, W7) it runs ``redis-benchmark -c <tasks>`` with
one command per round trip (no ``-P``) against the same server, between the
other clients' turns. It cannot alternate SET and GET per connection, so
each measurement is a run of SETs then a run of GETs of the same 100 B value,
on one key of the benchmark's own prefix (``-t get,set`` would write
``key:__rand_int__``, a name the tool does not own). First a short run warms
up and estimates the rate, then each run gets requests for about half of
``duration``. Figures are parsed from ``--csv``: ops/s is both runs'
requests over the time redis-benchmark measured for them (its own start-up
excluded); p50 and p99 are the larger of the two runs' (an upper bound for
the mix); CPU is the two processes' user+sys time, from
``getrusage(RUSAGE_CHILDREN)`` deltas (children reaped in between are these
runs only: a throwaway redis-server is reaped at the end).
"""

from __future__ import annotations

import asyncio
import csv
import shutil
import subprocess
from typing import NamedTuple

from .adapters import Contender
from .stats import Sample
from .workloads import Workload

try:
    import resource
except ImportError:  # pragma: no cover - not Unix
    resource = None  # type: ignore[assignment]

__all__ = ["RedisBenchmarkReference"]

PROGRAM = "redis-benchmark"
# Requests of the warm-up run per connection, and the least a measured run gets.
_WARMUP_PER_CLIENT = 20
_MIN_PER_CLIENT = 10
# Seconds a run may take beyond its planned length before it is stopped as hung.
_RUN_SLACK = 60.0


class _Run(NamedTuple):
    requests: int
    rps: float
    avg_ms: float
    p50_ms: float
    p99_ms: float


def _children_cpu() -> float | None:
    if resource is None:  # pragma: no cover
        return None
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def parse_csv(text: str) -> tuple[float, float, float, float]:
    """``(rps, avg_ms, p50_ms, p99_ms)`` of the one test in redis-benchmark's ``--csv`` output.

    ``ValueError`` when the output has no such row (an old redis-benchmark
    without latency columns gives ``0.0`` for them).
    """
    rows = list(csv.DictReader(line for line in text.splitlines() if line.strip()))
    if not rows or "rps" not in rows[-1]:
        raise ValueError(f"no --csv result in redis-benchmark's output: {text[-200:]!r}")
    row = rows[-1]

    def figure(column: str) -> float:
        value = row.get(column)
        return float(value) if value else 0.0

    return (
        figure("rps"),
        figure("avg_latency_ms"),
        figure("p50_latency_ms"),
        figure("p99_latency_ms"),
    )


class RedisBenchmarkReference(Contender):
    """``redis-benchmark`` from the Redis distribution, on W1 and W7 only."""

    name = "redis-benchmark"
    module = PROGRAM
    distribution = PROGRAM
    install = "it comes with redis-server (e.g. apt install redis-tools)"
    quiet_skips = True

    def __repr__(self) -> str:
        return f"<RedisBenchmarkReference {self.target.shown}>"

    @classmethod
    def probe(cls) -> tuple[str | None, str | None]:
        path = shutil.which(PROGRAM)
        if path is None:
            return None, f"not on PATH ({cls.install})"
        try:
            done = subprocess.run(
                [path, "--version"], capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.SubprocessError) as exc:
            return None, f"{PROGRAM} --version failed: {exc}"
        words = done.stdout.split()
        version = words[1] if len(words) > 1 and words[0] == PROGRAM else "?"
        return version, None

    def runs(self, workload: Workload) -> bool:
        return workload.kind == "mixed"

    def unsupported(self, workload: Workload) -> str | None:
        if not self.runs(workload):
            return "skipped: a reference for the mixed SET/GET workloads (W1, W7) only"
        options = self.target.options
        if options.password is not None:
            return "skipped: redis-benchmark takes a password only on its command line"
        if options.ssl:
            return "skipped: the reference runs without TLS only"
        return None

    def note(self, workload: Workload) -> str:
        cpu = "its own" if resource is not None else "not measured"
        return (
            f"C, -c {workload.tasks} connections; a SET run + a GET run, "
            f"p50/p99 the worse run's; CPU {cpu}"
        )

    def _argv(self, clients: int, requests: int, *command: str) -> list[str]:
        options = self.target.options
        where = (
            ["-s", options.path] if options.path else ["-h", options.host, "-p", str(options.port)]
        )
        db = ["--dbnum", str(options.db)] if options.db else []
        return [
            PROGRAM,
            *where,
            *db,
            *("-c", str(clients), "-n", str(requests), "--csv"),
            *command,
        ]

    async def _run(self, clients: int, requests: int, command: list[str], budget: float) -> _Run:
        argv = self._argv(clients, requests, *command)
        done = await asyncio.to_thread(
            subprocess.run,
            argv,
            capture_output=True,
            text=True,
            timeout=budget + _RUN_SLACK,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{PROGRAM} exited with {done.returncode}: {(done.stderr or done.stdout)[-300:]}"
            )
        rps, avg_ms, p50_ms, p99_ms = parse_csv(done.stdout)
        if rps <= 0:
            raise RuntimeError(f"{PROGRAM} reported {rps} requests per second")
        return _Run(requests, rps, avg_ms, p50_ms, p99_ms)

    async def sample(self, workload: Workload, duration: float, warmup: float) -> Sample:
        """Warm up, then one SET run and one GET run of about ``duration`` together.

        A run that fails or hangs (``duration`` + 60 s) raises; the row shows the error.
        """
        clients = workload.tasks
        key = workload.reference_key
        value = workload.value.decode()
        set_cmd, get_cmd = ["SET", key, value], ["GET", key]
        probe_run = await self._run(clients, clients * _WARMUP_PER_CLIENT, set_cmd, warmup)
        requests = max(clients * _MIN_PER_CLIENT, int(probe_run.rps * duration / 2))
        cpu_start = _children_cpu()
        runs = [
            await self._run(clients, requests, set_cmd, duration),
            await self._run(clients, requests, get_cmd, duration),
        ]
        cpu_end = _children_cpu()
        seconds = sum(run.requests / run.rps for run in runs)
        ops = sum(run.requests for run in runs)
        cpu = cpu_end - cpu_start if cpu_start is not None and cpu_end is not None else 0.0
        return Sample(
            ops=ops,
            seconds=seconds,
            cpu=cpu,
            p50_us=max(run.p50_ms for run in runs) * 1000,
            p99_us=max(run.p99_ms for run in runs) * 1000,
            mean_us=sum(run.avg_ms * run.requests for run in runs) / ops * 1000,
        )
