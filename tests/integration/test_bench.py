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
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import hiredis
import pytest

from aiopool._bench import main
from aiopool._bench.progress import Progress
from aiopool._bench.runner import ADAPTERS
from aiopool._bench.stats import Summary, percentile_us
from aiopool._bench.tune import TunePoint, recommend
from aiopool.testing import RedisServer

TINY = ["--duration", "0.05", "--warmup", "0.01", "--rounds", "1", "--no-progress"]
# Skipped by design (there is no pool to wait on), not for being absent.
NO_POOL = {("W6", "coredis"), ("W6", "valkey-glide")}


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
        elif key in NO_POOL:
            assert row["status"] == "skipped"
            assert "no" in row["reason"]
        else:
            assert row["status"] == "ok", (key, row["reason"])
            assert row["median"]["ops_per_s"] > 0


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
        (["bench", "--url", "http://example"], "argument --url: invalid Redis URL"),
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
