"""The eight workloads (W1-W8): what each one runs, on which keys, and the task loops.

W8 is a read-mostly cache workload: every client walks the same precomputed
sequence of GETs and SETs over 1,000 keys with a Zipf-like popularity
(``key_sequence``), and ``cache_ceiling`` says what share of its reads any
cache invalidated on writes could serve at best.

Every task loop is written out per workload rather than built from a generic
"one operation" callback: the client's own bound method is awaited directly
(``await get(key)``), so the harness adds two clock reads and a list append
per operation and nothing else, the same for every client.
"""

from __future__ import annotations

import functools
import itertools
import random
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .adapters import Adapter

__all__ = [
    "KEY_PREFIX",
    "WORKLOADS",
    "Kind",
    "Recorder",
    "Window",
    "Workload",
    "cache_ceiling",
    "key_sequence",
    "preload",
    "task_loops",
]

KEY_PREFIX = "aiopool-bench:"

Kind = Literal["mixed", "pipeline", "get", "connect", "checkout", "zipf"]

# W8's key sequence: its length (each task starts at its own offset and wraps
# around), the seed of its RNG, and the Zipf exponent of key popularity.
SEQUENCE_LENGTH = 100_000
SEQUENCE_SEED = 16
ZIPF_EXPONENT = 1.1


@dataclass(frozen=True)
class Workload:
    """One workload: ``tasks`` concurrent tasks doing ``kind`` operations.

    ``pool_size`` is the connection limit given to every pooled client (equal
    to ``tasks`` unless the workload is about tasks waiting for a connection:
    W6, W7);
    ``value_size`` is the size of the values written and read; ``batch`` is
    the number of commands in one operation (a pipeline's length);
    ``reports_mb`` adds MB/s of values read to the row. For the ``zipf``
    kind (W8), ``keyspace`` is the number of keys and ``write_fraction`` the
    share of SETs in ``key_sequence()``.
    """

    name: str
    title: str
    kind: Kind
    tasks: int
    pool_size: int
    value_size: int = 100
    batch: int = 1
    reports_mb: bool = False
    keyspace: int = 0
    write_fraction: float = 0.0

    def keys(self, task: int) -> list[str]:
        """The keys task ``task`` uses (distinct per task except for W3/W6's single key).

        W8's tasks share all ``keyspace`` keys.
        """
        if self.kind == "zipf":
            return [f"{KEY_PREFIX}{self.name}:{i}" for i in range(self.keyspace)]
        if self.kind == "pipeline":
            return [f"{KEY_PREFIX}{self.name}:{task}:{j}" for j in range(self.batch // 2)]
        if self.kind in ("mixed", "get") and self.tasks > 1:
            return [f"{KEY_PREFIX}{self.name}:{task}"]
        return [f"{KEY_PREFIX}{self.name}"]

    @property
    def reference_key(self) -> str:
        """The one key the ``redis-benchmark`` reference row writes and reads."""
        return f"{KEY_PREFIX}{self.name}:redis-benchmark"

    def all_keys(self) -> list[str]:
        """Every key the workload touches, to preload and to delete afterwards."""
        if self.kind == "connect":
            return []
        if self.kind == "zipf":
            return self.keys(0)
        found: dict[str, None] = {}
        for task in range(self.tasks):
            found.update(dict.fromkeys(self.keys(task)))
        if self.kind == "mixed":
            found[self.reference_key] = None
        return list(found)

    @property
    def value(self) -> bytes:
        """The value written (and preloaded) for this workload."""
        return b"v" * self.value_size


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload("W1", "50 tasks, mixed SET/GET, 100 B values", "mixed", tasks=50, pool_size=50),
        Workload(
            "W2",
            "10 tasks, pipelines of 100 (50 SET + 50 GET), 100 B",
            "pipeline",
            tasks=10,
            pool_size=10,
            batch=100,
        ),
        Workload("W3", "1 task, sequential GET, 100 B", "get", tasks=1, pool_size=1),
        Workload(
            "W4",
            "10 tasks, GET of 100 KB values",
            "get",
            tasks=10,
            pool_size=10,
            value_size=100_000,
            reports_mb=True,
        ),
        Workload("W5", "1 task, new client + connect + PING + close", "connect", 1, 1),
        Workload(
            "W6", "1000 tasks on a pool of 10, GET 100 B", "checkout", tasks=1000, pool_size=10
        ),
        Workload(
            "W7",
            "500 tasks on a pool of 50 (W1's), mixed SET/GET, 100 B values",
            "mixed",
            tasks=500,
            pool_size=50,
        ),
        Workload(
            "W8",
            "50 tasks, 99% GET / 1% SET over 1,000 keys, Zipf 1.1 popularity, 100 B",
            "zipf",
            tasks=50,
            pool_size=50,
            keyspace=1000,
            write_fraction=0.01,
        ),
    )
}


@functools.cache
def key_sequence(workload: Workload) -> tuple[tuple[str, bool], ...]:
    """W8's ``(key, is_write)`` sequence: the same for every client and every run.

    ``SEQUENCE_LENGTH`` operations from a ``random.Random(SEQUENCE_SEED)``:
    key number ``r`` (0-based) is drawn with a weight of ``1 / (r + 1) **
    ZIPF_EXPONENT``, and an operation is a SET with ``write_fraction``
    probability, else a GET.
    """
    if workload.kind != "zipf":
        raise ValueError(f"{workload.name} has no key sequence (not a zipf workload)")
    rng = random.Random(SEQUENCE_SEED)
    keys = workload.keys(0)
    weights = list(
        itertools.accumulate(1 / (rank + 1) ** ZIPF_EXPONENT for rank in range(len(keys)))
    )
    picks = rng.choices(keys, cum_weights=weights, k=SEQUENCE_LENGTH)
    return tuple((key, rng.random() < workload.write_fraction) for key in picks)


def cache_ceiling(sequence: Sequence[tuple[str, bool]]) -> float:
    """The best fraction of reads any cache invalidated on writes could serve, 0 to 1.

    A read can be a hit only if its key was read since it was last written
    (or since the start). The sequence is walked twice, as the task loops
    wrap around it, and the second lap is counted: the steady state after a
    warm-up, without the first lap's cold misses. An unbounded cache is
    assumed; concurrent tasks missing the same key at once would lower it.
    """
    cached: set[str] = set()
    reads = hits = 0
    for lap in range(2):
        for key, write in sequence:
            if write:
                cached.discard(key)
                continue
            if lap:
                reads += 1
                hits += key in cached
            cached.add(key)
    return hits / reads if reads else 0.0


class Window:
    """Shared by the tasks of one measurement: record results? stop looping?

    The tasks run through a warm-up, then ``recording`` is switched on for the
    measured window and off again, then ``stopped`` ends their loops.
    """

    __slots__ = ("recording", "stopped")

    def __init__(self) -> None:
        self.recording = False
        self.stopped = False

    def __repr__(self) -> str:
        return f"<Window recording={self.recording} stopped={self.stopped}>"


class Recorder:
    """Per-operation figures of one measured window, in nanoseconds.

    ``latencies`` has one entry per operation (per pipeline for W2);
    ``waits`` and ``holds`` (W6) are the time to get a connection and the
    time it was held. W6 also tracks each task's operation in flight
    (``inflight``, its start, 0 when none) and how many operations each task
    completed in the window (``counts``): a task starved by an unfair pool
    completes nothing, so ``close()`` adds the time it has waited so far as a
    (censored) sample instead of letting it vanish from the percentiles.
    """

    __slots__ = ("counts", "holds", "inflight", "latencies", "waits")

    def __init__(self, tasks: int = 0) -> None:
        self.latencies: list[int] = []
        self.waits: list[int] = []
        self.holds: list[int] = []
        self.inflight = [0] * tasks
        self.counts = [0] * tasks

    def __repr__(self) -> str:
        return f"<Recorder {len(self.latencies)} operations>"

    def close(self, now_ns: int) -> None:
        """End the window at ``now_ns``: count every operation still in flight as waiting."""
        for start in self.inflight:
            if start:
                self.latencies.append(now_ns - start)
                self.waits.append(now_ns - start)

    @property
    def served(self) -> int:
        """How many tasks completed at least one operation in the window."""
        return sum(1 for count in self.counts if count)


async def _mixed(
    adapter: Adapter, task: int, key: str, value: bytes, window: Window, out: Recorder
) -> None:
    get, set_ = adapter.commands(task)
    clock = time.perf_counter_ns
    append = out.latencies.append
    while not window.stopped:
        start = clock()
        await set_(key, value)
        middle = clock()
        if window.recording:
            append(middle - start)
        await get(key)
        end = clock()
        if window.recording:
            append(end - middle)


async def _gets(adapter: Adapter, task: int, key: str, window: Window, out: Recorder) -> None:
    get = adapter.commands(task).get
    clock = time.perf_counter_ns
    append = out.latencies.append
    while not window.stopped:
        start = clock()
        await get(key)
        end = clock()
        if window.recording:
            append(end - start)


async def _sequence(
    adapter: Adapter,
    task: int,
    sequence: Sequence[tuple[str, bool]],
    start_at: int,
    value: bytes,
    window: Window,
    out: Recorder,
) -> None:
    get, set_ = adapter.commands(task)
    clock = time.perf_counter_ns
    append = out.latencies.append
    length, at = len(sequence), start_at
    while not window.stopped:
        key, write = sequence[at]
        at = at + 1 if at + 1 < length else 0
        start = clock()
        if write:
            await set_(key, value)
        else:
            await get(key)
        end = clock()
        if window.recording:
            append(end - start)


async def _pipelines(
    adapter: Adapter, task: int, keys: Sequence[str], value: bytes, window: Window, out: Recorder
) -> None:
    pipeline = adapter.pipeline
    clock = time.perf_counter_ns
    append = out.latencies.append
    while not window.stopped:
        start = clock()
        await pipeline(task, keys, value)
        end = clock()
        if window.recording:
            append(end - start)


async def _connects(adapter: Adapter, window: Window, out: Recorder) -> None:
    connect = adapter.connect_ping_close
    clock = time.perf_counter_ns
    append = out.latencies.append
    while not window.stopped:
        start = clock()
        await connect()
        end = clock()
        if window.recording:
            append(end - start)


async def _checkouts(adapter: Adapter, task: int, key: str, window: Window, out: Recorder) -> None:
    checkout = adapter.checkout()
    clock = time.perf_counter_ns
    latency, wait, hold = out.latencies.append, out.waits.append, out.holds.append
    inflight, counts = out.inflight, out.counts
    while not window.stopped:
        start = inflight[task] = clock()
        acquired, released = await checkout(key)
        end = clock()
        inflight[task] = 0
        if window.recording:
            latency(end - start)
            wait(acquired - start)
            hold(released - acquired)
            counts[task] += 1


def task_loops(
    workload: Workload, adapter: Adapter, window: Window, out: Recorder
) -> list[Coroutine[Any, Any, None]]:
    """One coroutine per task of ``workload``, each looping until ``window.stopped``."""
    value = workload.value
    loops: list[Coroutine[Any, Any, None]] = []
    if workload.kind == "zipf":
        # Every task walks the same sequence from its own offset, spread evenly.
        sequence = key_sequence(workload)
        step = len(sequence) // workload.tasks
        return [
            _sequence(adapter, task, sequence, task * step, value, window, out)
            for task in range(workload.tasks)
        ]
    for task in range(workload.tasks):
        keys = workload.keys(task)
        if workload.kind == "mixed":
            loops.append(_mixed(adapter, task, keys[0], value, window, out))
        elif workload.kind == "get":
            loops.append(_gets(adapter, task, keys[0], window, out))
        elif workload.kind == "pipeline":
            loops.append(_pipelines(adapter, task, keys, value, window, out))
        elif workload.kind == "connect":
            loops.append(_connects(adapter, window, out))
        else:
            loops.append(_checkouts(adapter, task, keys[0], window, out))
    return loops


def preload(workloads: Sequence[Workload]) -> list[tuple[str, bytes]]:
    """The ``(key, value)`` pairs to SET before measuring ``workloads``."""
    return [(key, w.value) for w in workloads for key in w.all_keys()]
