"""``python -m aiopool bench`` and ``tune`` against a real server: output, JSON, errors.

The tools are run in-process through ``main(argv)`` with tiny durations (and
once as ``python -m aiopool`` in a subprocess). Nothing here asserts a
timing: only that every requested figure is there and sane, that missing
clients are skipped, that the tools clean up after themselves, and that bad
arguments are refused with a usage message.
"""

from __future__ import annotations

import io
import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import hiredis
import pytest

from aiopool._bench import main
from aiopool._bench.cached import has_aiopool_cache
from aiopool._bench.progress import Progress
from aiopool._bench.reference import parse_csv
from aiopool._bench.runner import ADAPTERS, factory
from aiopool._bench.stats import Summary, percentile_us
from aiopool._bench.target import parse_target
from aiopool._bench.tune import TunePoint, recommend
from aiopool._bench.workloads import WORKLOADS, cache_ceiling, key_sequence
from aiopool.testing import RedisServer

TINY = ["--duration", "0.05", "--warmup", "0.01", "--rounds", "1", "--no-progress"]
# Skipped by design, not for being absent: what the reason says.
BY_DESIGN = {
    ("W6", "coredis"): "no per-command checkout",
    ("W6", "valkey-glide"): "no pool to wait on",
    ("W3", "redis-benchmark"): "(W1, W7) only",
    ("W6", "redis-benchmark"): "(W1, W7) only",
    **{
        (w, c): "for W8 only"
        for w in ("W3", "W6")
        for c in ("aiopool-cache", "aiopool-cache-auto", "coredis-cache", "valkey-glide-cache")
    },
}
CACHE_ROWS = ("aiopool-cache", "aiopool-cache-auto")
HAS_REDIS_BENCHMARK = shutil.which("redis-benchmark") is not None


def command(server: RedisServer, *args: Any) -> Any:
    """One command on a fresh socket to ``server``; the parsed reply."""
    reader = hiredis.Reader()
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(hiredis.pack_command(args))
        reply = reader.gets()
        while reply is False:
            reader.feed(sock.recv(65536))
            reply = reader.gets()
    return reply


def run_json(argv: list[str], path: Path) -> tuple[int, dict[str, Any]]:
    status = main([*argv, "--json", str(path)])
    return status, json.loads(path.read_text(encoding="utf-8"))


def test_bench_json_has_every_requested_workload_with_sane_figures(
    redis_server: RedisServer, redis_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    command(redis_server, "SET", "app:key", "kept")
    status, data = run_json(
        [
            *("bench", "--url", redis_url, "--workloads", "W1,W2,W3,W4,W5,W6"),
            *("--clients", "aiopool,bare", *TINY),
        ],
        tmp_path / "bench.json",
    )
    assert status == 0
    rows = {(r["workload"], r["client"]): r for r in data["results"]}
    assert set(rows) == {
        (w, c) for w in ("W1", "W2", "W3", "W4", "W5", "W6") for c in ("aiopool", "bare")
    }
    for (workload, client), row in rows.items():
        assert row["status"] == "ok", (workload, client, row["reason"])
        median = row["median"]
        assert median["ops_per_s"] > 0, (workload, client)
        assert 0 < median["p50_us"] <= median["p99_us"], (workload, client)
        assert median["cpu_per_100k"] >= 0
        assert len(row["rounds"]) == 1
        assert row["rounds"][0]["ops"] > 0
        assert row["ratios"]["ops_vs_bare"] > 0
    assert rows["W4", "aiopool"]["median"]["mb_per_s"] > 0
    assert rows["W1", "aiopool"]["median"]["mb_per_s"] is None
    w6 = rows["W6", "aiopool"]
    assert w6["median"]["served"] > 0
    assert 0 <= w6["median"]["wait_p50_us"] <= w6["median"]["wait_p99_us"]
    assert w6["ratios"]["ideal_wait_us"] > 0
    assert w6["ratios"]["wait_p99_vs_ideal"] > 0
    assert data["machine"]["cores"] >= 1
    assert (
        data["machine"]["redis_server"]
        == command(redis_server, "INFO", "server").decode().split("redis_version:")[1].split()[0]
    )
    assert data["settings"] == {"duration": 0.05, "warmup": 0.01, "rounds": 1}
    out = capsys.readouterr().out
    assert "ops/bare" in out
    assert "W6 acquire wait" in out
    assert "Rerun: python -m aiopool bench --url" in out
    # Its own keys are deleted afterwards; nobody else's is touched.
    assert command(redis_server, "KEYS", "aiopool-bench:*") == []
    assert command(redis_server, "GET", "app:key") == b"kept"


def test_compare_runs_installed_clients_and_reports_missing_ones_as_skipped(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if coredis were not installed: importing it raises ModuleNotFoundError.
    monkeypatch.setitem(sys.modules, "coredis", None)
    status, data = run_json(
        ["bench", "--url", redis_url, "--compare", "--workloads", "W3,W6", *TINY],
        tmp_path / "compare.json",
    )
    assert status == 0
    clients = {c["name"]: c for c in data["clients"]}
    assert list(clients) == list(ADAPTERS)
    assert clients["coredis"]["version"] is None
    assert "not installed" in clients["coredis"]["skipped"]
    assert "aiopool[bench]" in clients["coredis"]["skipped"]
    for row in data["results"]:
        key = (row["workload"], row["client"])
        if row["client"] == "coredis":
            assert row["status"] == "skipped"
            assert "not installed" in row["reason"]
        elif clients[row["client"]]["skipped"] is not None:  # absent here (CI): skipped too
            assert row["status"] == "skipped"
        elif key in BY_DESIGN:
            assert row["status"] == "skipped"
            assert BY_DESIGN[key] in row["reason"]
        else:
            assert row["status"] == "ok", (key, row["reason"])
            assert row["median"]["ops_per_s"] > 0


def test_auto_pipeline_client_and_w7_report_positive_figures_and_ratios_to_aiopool(
    redis_server: RedisServer, redis_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, data = run_json(
        [
            *("bench", "--url", redis_url, "--workloads", "W1,W2,W3,W6,W7"),
            *("--clients", "aiopool,aiopool-auto,bare", *TINY),
        ],
        tmp_path / "auto.json",
    )
    assert status == 0
    rows = {(r["workload"], r["client"]): r for r in data["results"]}
    skipped = rows["W2", "aiopool-auto"]
    assert skipped["status"] == "skipped"
    assert "pipeline" in skipped["reason"]
    for workload in ("W1", "W3", "W6", "W7"):
        for client in ("aiopool", "aiopool-auto", "bare"):
            row = rows[workload, client]
            assert row["status"] == "ok", (workload, client, row["reason"])
            median = row["median"]
            assert median["ops_per_s"] > 0, (workload, client)
            assert 0 < median["p50_us"] <= median["p99_us"], (workload, client)
            assert row["ratios"]["ops_vs_aiopool"] > 0, (workload, client)
            assert row["ratios"]["p99_vs_aiopool"] > 0, (workload, client)
        assert rows[workload, "aiopool"]["ratios"]["ops_vs_aiopool"] == 1.0
        assert "auto_pipeline_connections=2" in rows[workload, "aiopool-auto"]["note"]
    # W3's pool of 1 cannot hold a shared connection and keep one for exclusive use.
    assert "max_size=3" in rows["W3", "aiopool-auto"]["note"]
    # W6 without a checkout: the GET's latency is the wait, the ideal is tasks / ops/s.
    w6 = rows["W6", "aiopool-auto"]
    assert "no checkout" in w6["note"]
    assert w6["median"]["served"] > 0
    assert w6["median"]["hold_mean_us"] is None
    assert 0 < w6["median"]["wait_p50_us"] <= w6["median"]["wait_p99_us"]
    assert w6["ratios"]["ideal_wait_us"] == pytest.approx(1000 / w6["median"]["ops_per_s"] * 1e6)
    assert w6["ratios"]["wait_p99_vs_ideal"] > 0
    # W7: 500 tasks on W1's 50 connections, bare included (a FIFO hand-over of 50).
    assert data["workloads"]["W7"]["tasks"] == 500
    assert data["workloads"]["W7"]["pool_size"] == 50
    assert "50 connections" in rows["W7", "bare"]["note"]
    out = capsys.readouterr().out
    assert "ops/aiopool" in out
    for workload in ("W1", "W3", "W6", "W7"):
        assert f"{workload}    aiopool-auto" in out
    waits = out.split("W6 acquire wait", 1)[1].splitlines()
    assert any(line.startswith("W6    aiopool-auto") for line in waits)
    assert command(redis_server, "KEYS", "aiopool-bench:*") == []


def test_auto_pipeline_connections_flag_reaches_the_client_and_the_rerun_line(
    redis_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, data = run_json(
        [
            *("bench", "--url", redis_url, "--workloads", "W1"),
            *("--clients", "aiopool-auto", "--auto-pipeline-connections", "4", *TINY),
        ],
        tmp_path / "auto4.json",
    )
    assert status == 0
    (row,) = data["results"]
    assert row["status"] == "ok", row["reason"]
    assert "auto_pipeline_connections=4" in row["note"]
    assert "--auto-pipeline-connections 4" in data["command"]
    assert "--auto-pipeline-connections 4" in capsys.readouterr().out


@pytest.mark.skipif(not HAS_REDIS_BENCHMARK, reason="redis-benchmark is not on PATH")
def test_redis_benchmark_reference_row_runs_on_w1_and_w7_only(
    redis_server: RedisServer, redis_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    command(redis_server, "SET", "app:key", "kept")
    status, data = run_json(
        [
            *("bench", "--url", redis_url, "--workloads", "W1,W3,W7"),
            *("--clients", "aiopool,redis-benchmark", *TINY),
        ],
        tmp_path / "reference.json",
    )
    assert status == 0
    clients = {c["name"]: c for c in data["clients"]}
    assert clients["redis-benchmark"]["version"]
    rows = {(r["workload"], r["client"]): r for r in data["results"]}
    for workload, connections in (("W1", 50), ("W7", 500)):
        row = rows[workload, "redis-benchmark"]
        assert row["status"] == "ok", (workload, row["reason"])
        assert f"-c {connections} connections" in row["note"]
        median = row["median"]
        assert median["ops_per_s"] > 0
        assert 0 < median["p50_us"] <= median["p99_us"]
        assert median["cpu_per_100k"] > 0  # its own process's CPU, from RUSAGE_CHILDREN
        assert row["ratios"]["ops_vs_aiopool"] > 0
    w3 = rows["W3", "redis-benchmark"]
    assert w3["status"] == "skipped"
    assert "(W1, W7) only" in w3["reason"]
    out = capsys.readouterr().out
    assert "W1    redis-benchmark" in out
    assert "W7    redis-benchmark" in out
    assert "W3    redis-benchmark" not in out  # the JSON keeps the row, the table does not
    assert f"redis-benchmark {clients['redis-benchmark']['version']} (reference program)" in out
    # Its key is deleted with the others; nobody else's is touched.
    assert command(redis_server, "KEYS", "aiopool-bench:*") == []
    assert command(redis_server, "KEYS", "key:*") == []
    assert command(redis_server, "GET", "app:key") == b"kept"


def test_redis_benchmark_not_on_path_is_reported_as_skipped(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    status, data = run_json(
        [
            *("bench", "--url", redis_url, "--workloads", "W1"),
            *("--clients", "aiopool,redis-benchmark", *TINY),
        ],
        tmp_path / "no-reference.json",
    )
    assert status == 0
    clients = {c["name"]: c for c in data["clients"]}
    assert clients["redis-benchmark"]["version"] is None
    assert "not on PATH" in clients["redis-benchmark"]["skipped"]
    rows = {r["client"]: r for r in data["results"]}
    assert rows["redis-benchmark"]["status"] == "skipped"
    assert rows["aiopool"]["status"] == "ok"


def test_w8_reports_cache_hit_rates_against_the_ceiling_of_its_key_sequence(
    redis_server: RedisServer, redis_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    command(redis_server, "SET", "app:key", "kept")
    status, data = run_json(
        [
            *("bench", "--url", redis_url, "--workloads", "W8,W3"),
            *("--clients", "aiopool,aiopool-auto,aiopool-cache,aiopool-cache-auto,bare"),
            # A longer warm-up than TINY's: 50 connections per client open in it.
            *("--duration", "0.1", "--warmup", "0.2", "--rounds", "1", "--no-progress"),
        ],
        tmp_path / "w8.json",
    )
    assert status == 0
    rows = {(r["workload"], r["client"]): r for r in data["results"]}
    ceiling = data["workloads"]["W8"]["cache_ceiling_pct"]
    assert ceiling == pytest.approx(cache_ceiling(key_sequence(WORKLOADS["W8"])) * 100)
    assert 90 < ceiling < 100  # 1% writes: about one read in a hundred follows a write
    assert data["workloads"]["W8"]["keyspace"] == 1000
    for client in ("aiopool", "aiopool-auto", "bare"):
        row = rows["W8", client]
        assert row["status"] == "ok", (client, row["reason"])
        assert row["median"]["ops_per_s"] > 0
        assert 0 < row["median"]["p50_us"] <= row["median"]["p99_us"]
        assert row["median"]["cache_hit_pct"] is None  # no cache: a blank column
    for client in CACHE_ROWS:
        row = rows["W8", client]
        if not has_aiopool_cache():
            assert row["status"] == "skipped"
            assert "aiopool.CacheOptions" in row["reason"]
            continue
        assert row["status"] == "ok", (client, row["reason"])
        assert row["median"]["ops_per_s"] > 0
        assert 0 <= row["median"]["cache_hit_pct"] <= 100
        assert row["rounds"][0]["cache_hit_pct"] is not None
        assert "protocol=3, cache=True" in row["note"]
        if client == "aiopool-cache-auto":
            assert "auto_pipeline_connections=2" in row["note"]
    # The cache rows run W8 only: their W3 rows are in the JSON, not in the table.
    for client in CACHE_ROWS:
        assert rows["W3", client]["status"] == "skipped"
        assert "for W8 only" in rows["W3", client]["reason"]
    out = capsys.readouterr().out
    assert f"Ceiling on this key sequence: {ceiling:.1f}% of reads" in out
    table = out.split("W8 client-side cache", 1)[1]
    assert "cache hit %" in table
    assert "W8    aiopool-cache-auto" in table
    assert "W3    aiopool-cache" not in out
    assert "W3    aiopool " in out
    assert command(redis_server, "KEYS", "aiopool-bench:*") == []
    assert command(redis_server, "GET", "app:key") == b"kept"


def test_key_sequence_is_seeded_skewed_and_its_ceiling_counts_reads_since_writes() -> None:
    w8 = WORKLOADS["W8"]
    sequence = key_sequence(w8)
    key_sequence.cache_clear()
    assert key_sequence(w8) == sequence  # the same for every client and every run
    assert len(sequence) == 100_000
    writes = sum(write for _, write in sequence)
    assert 0.007 < writes / len(sequence) < 0.013
    counts: dict[str, int] = {}
    for key, _ in sequence:
        counts[key] = counts.get(key, 0) + 1
    assert set(counts) <= set(w8.all_keys())
    ranked = sorted(counts, key=counts.__getitem__, reverse=True)
    assert ranked[0] == "aiopool-bench:W8:0"
    assert counts[ranked[0]] > 10 * counts["aiopool-bench:W8:99"]  # Zipf: rank 1 vs rank 100
    with pytest.raises(ValueError, match="W1 has no key sequence"):
        key_sequence(WORKLOADS["W1"])
    # The second lap counts: a read hits only if its key was read since its last write.
    a, b = "a", "b"
    assert cache_ceiling([(a, False), (a, False), (a, True), (a, False), (a, False)]) == 0.75
    assert cache_ceiling([(a, False), (a, True)]) == 0.0
    assert cache_ceiling([(a, False), (b, False)]) == 1.0
    assert cache_ceiling([(a, True)]) == 0.0


def test_protocol_both_adds_resp3_twins_of_the_aiopool_rows(
    redis_server: RedisServer, redis_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, data = run_json(
        [
            *("bench", "--url", redis_url, "--workloads", "W1,W5"),
            *("--clients", "aiopool,aiopool-auto,bare", "--protocol", "both", *TINY),
        ],
        tmp_path / "both.json",
    )
    assert status == 0
    assert [c["name"] for c in data["clients"]] == [
        "aiopool",
        "aiopool-resp3",
        "aiopool-auto",
        "aiopool-auto-resp3",
        "bare",
    ]
    rows = {(r["workload"], r["client"]): r for r in data["results"]}
    for client in ("aiopool-resp3", "aiopool-auto-resp3"):
        row = rows["W1", client]
        assert row["status"] == "ok", (client, row["reason"])
        assert row["median"]["ops_per_s"] > 0
        assert row["ratios"]["ops_vs_aiopool"] > 0
        assert "protocol=3" in row["note"]
    assert "protocol=3" not in rows["W1", "aiopool"]["note"]
    w5 = rows["W5", "aiopool-resp3"]
    assert w5["status"] == "ok", w5["reason"]
    assert w5["ratios"]["ops_vs_bare"] > 0
    assert "--protocol both" in data["command"]
    out = capsys.readouterr().out
    assert "W5    aiopool-resp3" in out
    assert "--protocol both" in out


@pytest.mark.parametrize(("protocol", "hellos"), [("2", False), ("3", True)])
def test_protocol_option_reaches_the_server_handshake(
    redis_server: RedisServer, redis_url: str, protocol: str, hellos: bool
) -> None:
    assert command(redis_server, "CONFIG", "RESETSTAT") == b"OK"
    argv = ["bench", "--url", redis_url, "--workloads", "W3", "--protocol", protocol, *TINY]
    assert main(argv) == 0
    stats = command(redis_server, "INFO", "commandstats").decode()
    assert ("cmdstat_hello:" in stats) is hellos
    target = parse_target(redis_url)
    assert factory("aiopool", protocol=int(protocol))(target).options.protocol == int(protocol)  # type: ignore[attr-defined]
    assert factory("aiopool-resp3")(target).options.protocol == 3  # type: ignore[attr-defined]


def test_redis_benchmark_csv_is_parsed_into_rate_and_latencies() -> None:
    text = (
        '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",'
        '"p95_latency_ms","p99_latency_ms","max_latency_ms"\n'
        '"SET aiopool-bench:W1:redis-benchmark vvv","43196.54","0.738","0.176","0.623",'
        '"1.511","3.111","13.463"\n'
    )
    assert parse_csv(text) == (43196.54, 0.738, 0.623, 3.111)
    with pytest.raises(ValueError, match="no --csv result"):
        parse_csv("Could not connect to Redis at 127.0.0.1:1: Connection refused\n")


def test_tune_recommends_one_of_the_sizes_and_writes_a_text_chart_without_matplotlib(
    redis_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)
    plot = tmp_path / "tune.png"
    status, data = run_json(
        [
            *("tune", "--url", redis_url, "--sizes", "2,1", "--concurrency", "4"),
            *("--plot", str(plot), *TINY),
        ],
        tmp_path / "tune.json",
    )
    assert status == 0
    assert data["recommended"] in (1, 2)
    assert [p["size"] for p in data["points"]] == [1, 2]
    assert all(p["ops_per_s"] > 0 and p["wait_p99_us"] is not None for p in data["points"])
    assert not plot.exists()
    chart = (tmp_path / "tune.txt").read_text(encoding="utf-8")
    assert "ops/s by max_size" in chart
    assert "p99 latency" in chart
    out = capsys.readouterr().out
    assert f"recommendation: max_size={data['recommended']}" in out
    assert "matplotlib is not installed" in out


def test_tune_writes_a_png_with_matplotlib(redis_url: str, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    plot = tmp_path / "tune.png"
    status = main(
        [
            *("tune", "--url", redis_url, "--workload", "W6", "--sizes", "1,2"),
            *("--concurrency", "4", "--plot", str(plot), *TINY),
        ]
    )
    assert status == 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (tmp_path / "tune.txt").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "the following arguments are required"),
        (["bench", "--workloads", "W9"], "unknown workload 'W9' (choose from W1, W2"),
        (["bench", "--clients", "aiopool,nope"], "unknown client 'nope'"),
        (["bench", "--compare", "--clients", "aiopool"], "not allowed with argument --compare"),
        (["bench", "--duration", "0"], "argument --duration: '0' must be a finite number"),
        (["bench", "--rounds", "two"], "argument --rounds: 'two' is not a whole number"),
        (
            ["bench", "--auto-pipeline-connections", "0"],
            "argument --auto-pipeline-connections: '0' must be 1 or more",
        ),
        (["bench", "--url", "http://example"], "argument --url: invalid Redis URL"),
        (["bench", "--protocol", "4"], "argument --protocol: invalid choice: '4'"),
        (["tune", "--sizes", "0,4"], "pool sizes must be integers >= 1"),
        (["tune", "--sizes", "1,x"], "is not a comma-separated list of pool sizes"),
        (["tune", "--workload", "W2"], "argument --workload: invalid choice: 'W2'"),
        (["tune", "--concurrency", "0"], "argument --concurrency: '0' must be 1 or more"),
    ],
)
def test_bad_arguments_give_a_usage_error(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "usage: python -m aiopool" in err
    assert message in err


def test_python_dash_m_aiopool_runs_bench_on_a_throwaway_server() -> None:
    # No --url: the tool starts (and stops) its own redis-server. Not a tty: no progress bar.
    done = subprocess.run(
        [
            *(sys.executable, "-m", "aiopool", "bench", "--workloads", "W3", "--quick"),
            *("--duration", "0.05", "--rounds", "1"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "(throwaway)" in done.stdout
    assert "W3    aiopool" in done.stdout
    assert "\r" not in done.stderr


def test_an_unreachable_url_is_an_error_naming_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert main(["bench", "--url", f"redis://127.0.0.1:{port}/0", *TINY]) == 1
    err = capsys.readouterr().err
    assert "could not reach the Redis server" in err
    assert str(port) in err


def test_a_json_path_that_cannot_be_written_is_an_error_naming_it(
    redis_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "missing-dir" / "out.json"
    assert main(["bench", "--url", redis_url, "--workloads", "W3", *TINY, "--json", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"could not write {path}" in err
    assert not path.exists()


def test_recommendation_is_the_smallest_size_within_5_percent_of_the_best() -> None:
    def point(size: int, ops: float) -> TunePoint:
        return TunePoint(size, Summary(1, ops, 1.0, 2.0, 1.0, 1.0, 0.0))

    assert recommend([point(1, 50), point(2, 96), point(4, 100), point(8, 99)]) == 2
    assert recommend([point(1, 50), point(2, 94), point(4, 100)]) == 4
    assert recommend([point(8, 10)]) == 8


def test_percentiles_are_nearest_rank() -> None:
    values = list(range(1000, 101_000, 1000))  # 1..100 us
    assert percentile_us(values, 0.5) == 50.0
    assert percentile_us(values, 0.99) == 99.0
    assert percentile_us([7000], 0.99) == 7.0
    assert percentile_us([], 0.5) == 0.0


def test_progress_bar_redraws_one_line_and_clears_it() -> None:
    stream = io.StringIO()
    progress = Progress(enabled=True, stream=stream)
    progress.add(4)
    progress.step("W1 round 1/2 aiopool")
    progress.step("W1 round 1/2 bare")
    assert progress.finished == 1
    progress.done()
    text = stream.getvalue()
    assert text.count("\r") == 4  # two draws, then a blank-out that returns to column 0
    assert "1/4 W1 round 1/2 bare" in text
    assert "\n" not in text
    silent = io.StringIO()
    Progress(enabled=False, stream=silent).step("x")
    assert silent.getvalue() == ""
