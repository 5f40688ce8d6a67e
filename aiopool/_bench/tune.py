"""``python -m aiopool tune``: sweep aiopool's pool size at a fixed concurrency.

Every size runs the same workload with ``concurrency`` tasks; within a round
the sizes take turns, and the figures are medians of the rounds. Each
command borrows its connection through ``pool.acquire()`` so the time spent
waiting for one is measured directly. The recommendation is the smallest
size whose throughput is within 5% of the best.
"""

from __future__ import annotations

import dataclasses
import importlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import Pool
from .adapters import AiopoolAdapter, Commands
from .progress import Progress
from .report import num, render_table, us
from .runner import Settings, measure
from .stats import Summary, summarize
from .target import Target
from .workloads import Recorder, Window, Workload

__all__ = [
    "TUNABLE",
    "TunePoint",
    "format_tune",
    "plot",
    "recommend",
    "run_tune",
    "text_chart",
    "tune_json",
    "tune_table",
]

# Workloads whose operation is one command on one borrowed connection.
TUNABLE = ("W1", "W3", "W4", "W6")

WITHIN = 0.05


class _TimedCommands:
    """GET and SET through ``pool.acquire()``, recording the wait for the connection."""

    __slots__ = ("_pool", "_wait", "_window")

    def __init__(self, pool: Pool, window: Window, out: Recorder) -> None:
        self._pool = pool
        self._window = window
        self._wait = out.waits.append

    def __repr__(self) -> str:
        return f"<_TimedCommands {self._pool!r}>"

    async def get(self, key: str) -> Any:
        start = time.perf_counter_ns()
        async with self._pool.acquire() as conn:
            acquired = time.perf_counter_ns()
            reply = await conn.execute("GET", key)
        if self._window.recording:
            self._wait(acquired - start)
        return reply

    async def set(self, key: str, value: bytes) -> Any:
        start = time.perf_counter_ns()
        async with self._pool.acquire() as conn:
            acquired = time.perf_counter_ns()
            reply = await conn.execute("SET", key, value)
        if self._window.recording:
            self._wait(acquired - start)
        return reply


class TuneAdapter(AiopoolAdapter):
    """aiopool whose GET/SET borrow explicitly, so acquire wait is recorded for every size."""

    def __init__(self, target: Target) -> None:
        super().__init__(target)
        self._window: Window | None = None
        self._out: Recorder | None = None

    def __repr__(self) -> str:
        return f"<TuneAdapter {self.target.shown}>"

    def attach(self, window: Window, out: Recorder) -> None:
        self._window, self._out = window, out

    def commands(self, task: int) -> Commands:
        assert self._window is not None, "attach() was not called"
        assert self._out is not None, "attach() was not called"
        timed = _TimedCommands(self._open().pool, self._window, self._out)
        return Commands(timed.get, timed.set)


@dataclasses.dataclass(frozen=True)
class TunePoint:
    """The medians measured at one pool size."""

    size: int
    summary: Summary


def sized(workload: Workload, concurrency: int, size: int) -> Workload:
    """``workload`` with ``concurrency`` tasks on a pool of ``size``."""
    return dataclasses.replace(workload, tasks=concurrency, pool_size=size)


async def run_tune(
    target: Target,
    workload: Workload,
    sizes: Sequence[int],
    concurrency: int,
    settings: Settings,
    progress: Progress,
) -> list[TunePoint]:
    """Measure every size ``settings.rounds`` times, sizes in turns within a round."""
    samples: dict[int, list[Any]] = {size: [] for size in sizes}
    progress.add(len(sizes) * settings.rounds)
    try:
        for round_ in range(1, settings.rounds + 1):
            for size in sizes:
                progress.step(f"max_size={size} round {round_}/{settings.rounds}")
                run = sized(workload, concurrency, size)
                samples[size].append(await measure(TuneAdapter, target, run, settings))
    finally:
        progress.done()
    return [TunePoint(size, summarize(samples[size])) for size in sizes]


def recommend(points: Sequence[TunePoint]) -> int:
    """The smallest size whose ops/s is within 5% of the best size's."""
    best = max(p.summary.ops_per_s for p in points)
    return min(p.size for p in points if p.summary.ops_per_s >= (1 - WITHIN) * best)


def tune_table(points: Sequence[TunePoint]) -> str:
    """Size, ops/s, latency, acquire wait and CPU per size; the recommended row marked."""
    best = max(p.summary.ops_per_s for p in points)
    chosen = recommend(points)
    body = [
        [
            str(p.size),
            num(p.summary.ops_per_s),
            f"{p.summary.ops_per_s / best * 100:.0f}%" if best > 0 else "-",
            num(p.summary.spread_pct),
            us(p.summary.p50_us),
            us(p.summary.p99_us),
            us(p.summary.wait_p99_us),
            num(p.summary.cpu_per_100k, 2),
            "<- recommended" if p.size == chosen else "",
        ]
        for p in points
    ]
    header = [
        "max_size",
        "ops/s",
        "of best",
        "sprd%",
        "p50 us",
        "p99 us",
        "wait p99 us",
        "CPU s/100k",
        "",
    ]
    return render_table(header, body, left=1)


def _bar(value: float, top: float, width: int) -> str:
    filled = round(width * value / top) if top > 0 else 0
    return "#" * filled + " " * (width - filled)


def text_chart(points: Sequence[TunePoint], title: str, width: int = 40) -> str:
    """Two bar charts, ops/s and p99 latency per size, in plain text."""
    lines = [f"{title}: ops/s by max_size"]
    top = max(p.summary.ops_per_s for p in points)
    lines += [
        f"{p.size:>6} |{_bar(p.summary.ops_per_s, top, width)}| {num(p.summary.ops_per_s)}"
        for p in points
    ]
    lines.append(f"{title}: p99 latency (us) by max_size")
    top = max(p.summary.p99_us for p in points)
    lines += [
        f"{p.size:>6} |{_bar(p.summary.p99_us, top, width)}| {us(p.summary.p99_us)}" for p in points
    ]
    return "\n".join(lines)


def format_tune(
    points: Sequence[TunePoint], title: str, machine: str, settings: Settings, concurrency: int
) -> str:
    """The text report: what ran, the table, the chart and the recommendation."""
    return "\n".join(
        [
            f"aiopool tune: {title}; {settings.rounds} round(s) of {settings.duration:g}s "
            f"after a {settings.warmup:g}s warm-up per size, sizes in turns",
            machine,
            "",
            tune_table(points),
            "",
            text_chart(points, title),
            "",
            f"recommendation: max_size={recommend(points)}, the smallest size within 5% of the "
            f"best throughput at {concurrency} concurrent tasks",
            "sprd% is the spread of ops/s over the rounds: where it is larger than the gaps "
            "between sizes, rerun with more --rounds or a longer --duration",
        ]
    )


def tune_json(
    points: Sequence[TunePoint],
    workload: Workload,
    concurrency: int,
    settings: Settings,
    machine: dict[str, Any],
    command: str,
) -> dict[str, Any]:
    """Everything as plain JSON types: settings, machine, the medians per size, the choice."""
    return {
        "tool": "aiopool tune",
        "command": command,
        "machine": machine,
        "settings": dataclasses.asdict(settings),
        "workload": workload.name,
        "concurrency": concurrency,
        "recommended": recommend(points),
        "points": [
            {
                "size": p.size,
                **{k: v for k, v in dataclasses.asdict(p.summary).items() if k != "samples"},
                "samples": [dataclasses.asdict(sample) for sample in p.summary.samples],
            }
            for p in points
        ],
    }


def plot(points: Sequence[TunePoint], path: Path, title: str) -> Path:
    """Write the sweep as a PNG with matplotlib, or as a text chart next to ``path``.

    Returns the file written: ``path`` itself, or ``path`` with a ``.txt``
    suffix when matplotlib is not installed.
    """
    try:
        figure_mod = importlib.import_module("matplotlib.figure")
        agg = importlib.import_module("matplotlib.backends.backend_agg")
    except ImportError:
        text_path = path.with_suffix(".txt")
        text_path.write_text(text_chart(points, title) + "\n", encoding="utf-8")
        return text_path
    sizes = [p.size for p in points]
    chosen = recommend(points)
    fig = figure_mod.Figure(figsize=(8, 6), layout="constrained")
    agg.FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True)
    top.plot(sizes, [p.summary.ops_per_s for p in points], marker="o", label="ops/s")
    top.set_ylabel("ops/s")
    top.set_title(title)
    bottom.plot(sizes, [p.summary.p99_us for p in points], marker="o", label="p99 latency")
    waits = [p.summary.wait_p99_us or 0.0 for p in points]
    bottom.plot(sizes, waits, marker="s", label="acquire wait p99")
    bottom.set_ylabel("microseconds")
    bottom.set_xlabel("max_size")
    bottom.set_xscale("log", base=2)
    bottom.set_xticks(sizes, [str(s) for s in sizes])
    for axes in (top, bottom):
        axes.axvline(chosen, linestyle="--", color="grey", label=f"recommended: {chosen}")
        axes.grid(True, alpha=0.3)
        axes.legend()
    fig.savefig(path, dpi=100)
    return path
