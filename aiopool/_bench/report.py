"""The text table, the machine line, ratios, and the ``--json`` document."""

from __future__ import annotations

import dataclasses
import os
import platform
from collections.abc import Sequence
from typing import Any

from .runner import BenchResult, Row
from .stats import Summary
from .target import Target
from .workloads import Workload, cache_ceiling, key_sequence

__all__ = [
    "bench_json",
    "ceiling_pct",
    "format_bench",
    "machine_info",
    "ratios",
    "render_table",
]

BASELINE, REFERENCE, PLAIN = "bare", "redis-py", "aiopool"
# A program that measures itself, shown only on the workloads it runs.
PROGRAMS = frozenset({"redis-benchmark"})


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux), or the best platform guess."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine_info(target: Target, server_version: str, loop: str) -> dict[str, Any]:
    """What the figures depend on: CPU, cores, Python, OS, server, event loop."""
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count() or 0,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "system": f"{platform.system()} {platform.release()}",
        "redis_server": server_version,
        "server": target.shown + (" (throwaway)" if target.throwaway else ""),
        "loop": loop,
    }


def machine_line(machine: dict[str, Any]) -> str:
    """The machine as one line of text."""
    return (
        f"machine: {machine['cpu']}, {machine['cores']} cores, {machine['python']}, "
        f"{machine['system']}; redis-server {machine['redis_server']} at {machine['server']}; "
        f"loop: {machine['loop']}"
    )


def _summary_of(rows: Sequence[Row], workload: str, client: str) -> Summary | None:
    for row in rows:
        if row.workload.name == workload and row.client == client:
            return row.summary
    return None


def _ratio(mine: float | None, theirs: float | None) -> float | None:
    if mine is None or theirs is None or theirs <= 0:
        return None
    return mine / theirs


def ratios(row: Row, rows: Sequence[Row]) -> dict[str, float | None]:
    """This row's figures against bare's, redis-py's and aiopool's on the same workload.

    ``ops_vs_*`` > 1 is faster; ``cpu_vs_bare``, ``p50_vs_bare`` and
    ``p99_vs_aiopool`` < 1 is cheaper/quicker. For W6, ``ideal_wait_us`` is
    tasks / pool size x the mean time a connection was held, and
    ``wait_p99_vs_ideal`` the acquire-wait p99 against it. A client without a
    checkout (no hold time: its "wait" is the whole command) gets the same
    ideal by Little's law, tasks / ops per second.
    """
    mine = row.summary
    out: dict[str, float | None] = {}
    if mine is None:
        return out
    bare = _summary_of(rows, row.workload.name, BASELINE)
    ref = _summary_of(rows, row.workload.name, REFERENCE)
    plain = _summary_of(rows, row.workload.name, PLAIN)
    out["ops_vs_bare"] = _ratio(mine.ops_per_s, bare.ops_per_s if bare else None)
    out["ops_vs_redis_py"] = _ratio(mine.ops_per_s, ref.ops_per_s if ref else None)
    out["ops_vs_aiopool"] = _ratio(mine.ops_per_s, plain.ops_per_s if plain else None)
    out["cpu_vs_bare"] = _ratio(mine.cpu_per_100k, bare.cpu_per_100k if bare else None)
    out["p50_vs_bare"] = _ratio(mine.p50_us, bare.p50_us if bare else None)
    out["p99_vs_aiopool"] = _ratio(mine.p99_us, plain.p99_us if plain else None)
    if mine.wait_p99_us is not None:
        w = row.workload
        if mine.hold_mean_us is not None:
            ideal: float | None = w.tasks / w.pool_size * mine.hold_mean_us
        else:
            ideal = w.tasks / mine.ops_per_s * 1e6 if mine.ops_per_s > 0 else None
        out["ideal_wait_us"] = ideal
        out["wait_p99_vs_ideal"] = _ratio(mine.wait_p99_us, ideal)
    return out


def num(value: float | None, digits: int = 0) -> str:
    """``12,345`` style, or ``-`` for no value."""
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def us(value: float | None) -> str:
    """A microsecond figure with a precision that suits its size."""
    if value is None:
        return "-"
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def render_table(header: Sequence[str], body: Sequence[Sequence[str]], left: int = 2) -> str:
    """Align columns: the first ``left`` columns and the last one to the left, others right."""
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    last = len(header) - 1

    def line(cells: Sequence[str]) -> str:
        parts = [
            c.ljust(w) if i < left or i == last else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in body)])


MAIN_HEADER = (
    "work", "client", "ops/s", "sprd%", "p50 us", "p99 us", "CPU s/100k", "MB/s",
    "ops/bare", "ops/redis-py", "ops/aiopool", "cpu/bare", "p50/bare", "note",
)  # fmt: skip


def _main_rows(rows: Sequence[Row]) -> list[list[str]]:
    body: list[list[str]] = []
    for row in rows:
        s = row.summary
        if s is None:
            body.append([row.workload.name, row.client, *["-"] * 11, row.reason])
            continue
        r = ratios(row, rows)
        body.append(
            [
                row.workload.name,
                row.client,
                num(s.ops_per_s),
                num(s.spread_pct),
                us(s.p50_us),
                us(s.p99_us),
                num(s.cpu_per_100k, 2),
                num(s.mb_per_s, 0),
                num(r.get("ops_vs_bare"), 2),
                num(r.get("ops_vs_redis_py"), 2),
                num(r.get("ops_vs_aiopool"), 2),
                num(r.get("cpu_vs_bare"), 2),
                num(r.get("p50_vs_bare"), 2),
                row.note,
            ]
        )
    return body


def _wait_rows(rows: Sequence[Row]) -> list[list[str]]:
    body: list[list[str]] = []
    for row in rows:
        if row.workload.kind != "checkout":
            continue
        s = row.summary
        if s is None:
            body.append([row.workload.name, row.client, *["-"] * 6, row.reason])
            continue
        r = ratios(row, rows)
        body.append(
            [
                row.workload.name,
                row.client,
                f"{num(s.served)}/{row.workload.tasks}",
                us(s.wait_p50_us),
                us(s.wait_p99_us),
                us(s.hold_mean_us),
                us(r.get("ideal_wait_us")),
                num(r.get("wait_p99_vs_ideal"), 2),
                row.note,
            ]
        )
    return body


def ceiling_pct(workload: Workload) -> float:
    """The most any invalidation-based cache can hit on W8's key sequence, in percent."""
    return cache_ceiling(key_sequence(workload)) * 100


def _cache_rows(rows: Sequence[Row]) -> list[list[str]]:
    body: list[list[str]] = []
    for row in rows:
        if row.workload.kind != "zipf":
            continue
        s = row.summary
        if s is None:
            body.append([row.workload.name, row.client, *["-"] * 5, row.reason])
            continue
        r = ratios(row, rows)
        hit = "" if s.cache_hit_pct is None else f"{s.cache_hit_pct:.1f}"
        body.append(
            [
                row.workload.name,
                row.client,
                num(s.ops_per_s),
                us(s.p50_us),
                us(s.p99_us),
                num(r.get("ops_vs_aiopool"), 2),
                hit,
                row.note,
            ]
        )
    return body


def format_bench(result: BenchResult, machine: dict[str, Any], command: str) -> str:
    """The whole text report: what ran, where, the table, the W6 waits, how to rerun.

    A client that is not installed gets one line saying so instead of a
    skipped row per workload, and a client that runs only some workloads by
    design (a reference program, a cache row) has rows only for those (the
    JSON keeps every row). W8 gets a table of its own with the cache hit
    rate of each row and the ceiling any cache can reach on its sequence.
    """
    st = result.settings
    absent = [c for c in result.clients if c.skipped is not None]
    names = ", ".join(
        f"bare (asyncio streams + hiredis {c.version})"
        if c.name == BASELINE
        else f"{c.name} {c.version} (reference program)"
        if c.name in PROGRAMS
        else f"{c.name} {c.version}"
        for c in result.clients
        if c.skipped is None
    )
    rows = [
        row for row in result.rows if row.client not in {c.name for c in absent} and not row.hidden
    ]
    workloads = dict.fromkeys(row.workload for row in result.rows)
    lines = [
        f"aiopool bench: {len(workloads)} workload(s) x {len(result.clients)} client(s); "
        f"{st.rounds} round(s) of {st.duration:g}s after a {st.warmup:g}s warm-up, "
        "clients in turns; medians of the rounds",
        machine_line(machine),
        f"clients: {names}",
        *(f"{c.name}: {c.skipped}" for c in absent),
        "",
        *(f"  {w.name}: {w.title}" for w in workloads),
        "",
        render_table(MAIN_HEADER, _main_rows(rows)),
    ]
    waits = _wait_rows(rows)
    if waits:
        lines += [
            "",
            "W6 acquire wait: ideal = tasks / pool size x mean time a connection is held; "
            "served: tasks that completed a checkout in the window (a starved task's wait "
            "so far counts as a sample). A client without a checkout (aiopool-auto) shows "
            "its GET's latency as the wait, and tasks / ops/s as the ideal",
            render_table(
                ("work", "client", "served", "wait p50 us", "wait p99 us", "hold us",
                 "ideal us", "p99/ideal", "note"),
                waits,
            ),
        ]  # fmt: skip
    caches = _cache_rows(rows)
    if caches:
        w8 = next(row.workload for row in rows if row.workload.kind == "zipf")
        lines += [
            "",
            f"W8 client-side cache: cache hit % = reads served by the client's own cache in "
            f"the window (from its stats; blank: no cache). Ceiling on this key sequence: "
            f"{ceiling_pct(w8):.1f}% of reads (a read can hit only if its key was read since "
            "its last write: any cache invalidated on writes stays below it)",
            render_table(
                ("work", "client", "ops/s", "p50 us", "p99 us", "ops/aiopool", "cache hit %",
                 "note"),
                caches,
            ),
        ]  # fmt: skip
    lines += [
        "",
        "ops: commands (W2: 100 per pipeline, latency per pipeline; W5: connections; "
        "W6: checkouts). sprd%: (max - min) / median of ops/s over the rounds.",
        "CPU s/100k: this process's user+sys CPU seconds (all threads) per 100,000 ops "
        "(redis-benchmark: its own process's).",
        "x/bare, x/redis-py, x/aiopool: this row's figure / theirs on the same workload "
        "(ops: higher is better; cpu, p50: lower is better); aiopool is the plain pool mode, "
        "aiopool-auto the same client with auto_pipeline=True.",
        f"took {result.seconds:.1f}s. Rerun: {command}",
    ]
    return "\n".join(lines)


def _sample_dict(sample: Any) -> dict[str, Any]:
    data = dataclasses.asdict(sample)
    data.update(
        ops_per_s=sample.ops_per_s, cpu_per_100k=sample.cpu_per_100k, mb_per_s=sample.mb_per_s
    )
    return data


def bench_json(result: BenchResult, machine: dict[str, Any], command: str) -> dict[str, Any]:
    """Everything as plain JSON types: settings, machine, clients, every row and round."""
    results = []
    for row in result.rows:
        s = row.summary
        median = None
        if s is not None:
            median = {k: v for k, v in dataclasses.asdict(s).items() if k != "samples"}
        results.append(
            {
                "workload": row.workload.name,
                "client": row.client,
                "status": row.status,
                "reason": row.reason,
                "note": row.note,
                "median": median,
                "ratios": ratios(row, result.rows),
                "rounds": [_sample_dict(sample) for sample in row.samples],
            }
        )
    workloads = {row.workload.name: dataclasses.asdict(row.workload) for row in result.rows}
    for row in result.rows:
        if row.workload.kind == "zipf":
            workloads[row.workload.name]["cache_ceiling_pct"] = ceiling_pct(row.workload)
    return {
        "tool": "aiopool bench",
        "command": command,
        "machine": machine,
        "settings": dataclasses.asdict(result.settings),
        "seconds": result.seconds,
        "clients": [dataclasses.asdict(c) for c in result.clients],
        "workloads": workloads,
        "results": results,
    }
