"""Latency percentiles, process CPU time, and the median of several rounds.

Latencies are kept as raw ``perf_counter_ns`` differences (one list append per
operation, the cheapest record there is) and sorted once after the measured
window. CPU time is ``resource.getrusage(RUSAGE_SELF)`` user + system, which
counts every thread of the process (valkey-glide's Rust threads included) and
nothing of the server's.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

try:
    import resource
except ImportError:  # pragma: no cover - not Unix: process_time() counts the same
    resource = None  # type: ignore[assignment]

__all__ = ["Sample", "Summary", "cpu_seconds", "percentile_us", "summarize"]


def cpu_seconds() -> float:
    """User + system CPU seconds used by this process so far (all threads)."""
    if resource is None:  # pragma: no cover
        return time.process_time()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile_us(ordered_ns: Sequence[int], fraction: float) -> float:
    """The nearest-rank percentile of sorted nanosecond values, in microseconds.

    ``fraction`` is 0.5 for the median, 0.99 for p99. An empty sequence gives 0.
    """
    if not ordered_ns:
        return 0.0
    rank = max(0, min(len(ordered_ns) - 1, math.ceil(fraction * len(ordered_ns)) - 1))
    return ordered_ns[rank] / 1000.0


@dataclass(frozen=True)
class Sample:
    """What one measured window of one client on one workload produced.

    ``ops`` counts operations completed inside the window (commands for a
    pipeline workload), ``seconds`` is the window's length and ``cpu`` the
    process CPU seconds spent in it. Latencies are per operation (per whole
    pipeline for W2), in microseconds. ``payload`` is the bytes of value one
    operation reads (for MB/s). ``wait_*`` and ``hold_mean_us`` are set for
    the checkout workload (W6) only: time to get a connection, and how long
    one was held; ``served`` is how many of its tasks completed an operation
    in the window (all of them, with a fair pool). ``cache_hit_pct`` is the
    share of reads a client-side cache served in the window (W8, clients with
    a cache whose stats can be read), in percent.
    """

    ops: int
    seconds: float
    cpu: float
    p50_us: float
    p99_us: float
    mean_us: float
    payload: int = 0
    wait_p50_us: float | None = None
    wait_p99_us: float | None = None
    hold_mean_us: float | None = None
    served: int | None = None
    cache_hit_pct: float | None = None

    @property
    def ops_per_s(self) -> float:
        """Operations per second of wall time."""
        return self.ops / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_per_100k(self) -> float:
        """Client CPU seconds per 100,000 operations."""
        return self.cpu / self.ops * 100_000 if self.ops else 0.0

    @property
    def mb_per_s(self) -> float | None:
        """Value bytes read per second, in MB (10**6), when the workload reads values."""
        return self.payload * self.ops_per_s / 1e6 if self.payload else None


@dataclass(frozen=True)
class Summary:
    """The median over rounds of every figure of a ``Sample``, plus the spread of ops/s.

    ``spread_pct`` is (max - min) / median of ops/s across rounds, in percent:
    a large one says the machine was noisy during that row.
    """

    rounds: int
    ops_per_s: float
    p50_us: float
    p99_us: float
    mean_us: float
    cpu_per_100k: float
    spread_pct: float
    mb_per_s: float | None = None
    wait_p50_us: float | None = None
    wait_p99_us: float | None = None
    hold_mean_us: float | None = None
    served: float | None = None
    cache_hit_pct: float | None = None
    samples: list[Sample] = field(default_factory=list, repr=False)


def _median_or_none(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def summarize(samples: Sequence[Sample]) -> Summary:
    """The per-figure median of ``samples`` (at least one)."""
    if not samples:
        raise ValueError("summarize() needs at least one sample")
    rates = [s.ops_per_s for s in samples]
    middle = statistics.median(rates)
    return Summary(
        rounds=len(samples),
        ops_per_s=middle,
        p50_us=statistics.median(s.p50_us for s in samples),
        p99_us=statistics.median(s.p99_us for s in samples),
        mean_us=statistics.median(s.mean_us for s in samples),
        cpu_per_100k=statistics.median(s.cpu_per_100k for s in samples),
        spread_pct=(max(rates) - min(rates)) / middle * 100 if middle > 0 else 0.0,
        mb_per_s=_median_or_none(s.mb_per_s for s in samples),
        wait_p50_us=_median_or_none(s.wait_p50_us for s in samples),
        wait_p99_us=_median_or_none(s.wait_p99_us for s in samples),
        hold_mean_us=_median_or_none(s.hold_mean_us for s in samples),
        served=_median_or_none(s.served for s in samples),
        cache_hit_pct=_median_or_none(s.cache_hit_pct for s in samples),
        samples=list(samples),
    )
