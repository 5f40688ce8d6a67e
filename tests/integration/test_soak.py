"""The soak (``tools/soak.py``, issue 4): mixed load under seeded chaos, then its invariants.

The soak runs as a user and CI run it, ``python tools/soak.py``, in a child
process of this interpreter: it measures process-wide resources (open file
descriptors, RSS, leftover tasks, ``ResourceWarning``) that the pytest process
and its other fixtures would blur, it installs its own event loop and loop
exception handler, and it kills, pauses and restarts a server of its own. The
child writes its report as JSON; the tests read it. ``AIOPOOL_SOAK_SECONDS``
lengthens the budget (default 12 s under chaos after a 1.5 s warm-up).

The other tests here pin down, deterministically, what the soak found in
aiopool and its test kit (both fixed).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from aiopool import Client, OutcomeUnknown
from aiopool.testing import FaultProxy, RedisServer
from aiopool.testing._proxy import _Pipe
from aiopool.testing.plugin import require_redis_server

from .pool_support import admin, assert_balanced, assert_own_replies, wait_until

SOAK = Path(__file__).resolve().parents[2] / "tools" / "soak.py"
# Seconds under chaos; 12 s is enough for the seed below to plan every kind of fault.
BUDGET = max(12.0, float(os.environ.get("AIOPOOL_SOAK_SECONDS", "12")))
FAULT_KINDS = ("kill", "pause", "pause_long", "reset", "blackhole", "blackhole_long")


def run_soak(tmp_path: Path, *args: str, timeout: float) -> tuple[int, dict[str, Any], str]:
    """Run the soak with ``args``; its exit status, JSON report and printed output.

    On timeout the child gets SIGTERM first, so that it stops its server.
    """
    require_redis_server()
    report_path = tmp_path / "soak.json"
    process = subprocess.Popen(
        [sys.executable, str(SOAK), *args, "--json", str(report_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGTERM)
        try:
            output, _ = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        pytest.fail(f"the soak ran for more than {timeout}s:\n{output}")
    assert report_path.exists(), f"the soak wrote no report (exit {process.returncode}):\n{output}"
    report: dict[str, Any] = json.loads(report_path.read_text())
    return process.returncode, report, output


@pytest.mark.slow
@pytest.mark.timeout(BUDGET + 60)
def test_soak_under_kills_pauses_resets_blackholes_and_cancellations_keeps_every_invariant(
    tmp_path: Path,
) -> None:
    code, report, output = run_soak(
        tmp_path,
        *("--duration", str(BUDGET), "--warmup", "1.5", "--seed", "2024"),
        timeout=BUDGET + 35,
    )
    assert report["violations"] == [], output
    assert (code, report["ok"]) == (0, True), output

    # It did what it says, so the empty list above means something.
    planned = {fault["kind"] for fault in report["schedule"]}
    assert planned == set(FAULT_KINDS), report["schedule"]
    for kind in FAULT_KINDS:
        assert report["faults"].get(kind, 0) >= 1, (kind, report["faults"])
    assert report["faults"]["restart"] == report["faults"]["kill"], report["faults"]
    assert report["outcomes"]["acked"] > 1000, output
    errors = report["errors"]
    assert errors.get("cancelled (soak's task.cancel)", 0) >= 1, errors
    assert errors.get("deadline (soak's asyncio.timeout)", 0) >= 1, errors
    assert errors.get("CommandTimeout", 0) + errors.get("ConnectionLost", 0) >= 1, errors
    assert not [label for label in errors if label.startswith("UNEXPECTED")], errors
    # The final checks ran over every acknowledged write and every counter.
    assert report["sets"]["acked"] > 500, report["sets"]
    assert report["sets"].get("acked_lost", 0) == 0, report["sets"]
    assert report["incrs"]["acked"] > 500, report["incrs"]
    size = report["config"]["max_size"]
    connections = report["connections"]
    assert connections["final_pool"] == connections["final_server"] == size, connections
    assert connections["final_proxy"] == size, connections
    assert abs(report["fds"]["final"] - report["fds"]["baseline"]) <= 2, report["fds"]


@pytest.mark.slow
def test_soak_fails_when_the_server_loses_acknowledged_writes(tmp_path: Path) -> None:
    # Without AOF a kill loses what the server acknowledged: the soak must say so.
    code, report, output = run_soak(
        tmp_path,
        *("--duration", "2", "--warmup", "0.5", "--seed", "7", "--tasks", "10"),
        *("--faults", "kill", "--no-persistence"),
        timeout=45,
    )
    assert code == 1, output
    assert report["ok"] is False
    assert report["faults"]["kill"] >= 1, report["faults"]
    kinds = report["violation_kinds"]
    assert kinds.get("lost write", 0) == report["sets"]["acked_lost"] > 0, output
    assert kinds.get("counter", 0) >= 1, output
    violations = report["violations"]
    assert any(
        v.startswith("[lost write] acknowledged SET soak:")
        and v.endswith("is missing after the soak")
        for v in violations
    ), output
    assert any(v.startswith("[counter] counter soak:") and "outside [A=" in v for v in violations)
    assert "FAILED" in output


# -- what the soak found ---------------------------------------------------------------


async def test_a_repeated_safe_command_that_cannot_reconnect_still_reports_an_unknown_outcome(
    fault_proxy: FaultProxy, redis_server: RedisServer
) -> None:
    key = f"soak-repeat:{uuid.uuid4().hex[:10]}"
    async with Client.from_url(
        fault_proxy.url, retry_safe_commands=1, acquire_timeout=0.3, max_size=2
    ) as client:
        await client.ping()
        fault_proxy.latency(5.0)  # the reply to SET waits in the proxy
        setting = asyncio.create_task(client.set(key, "v"))
        await fault_proxy.wait_for_command(b"SET")
        await wait_until(lambda: admin(redis_server, "GET", key) == b"v", "the SET to run")
        fault_proxy.refuse_new()  # the repeat cannot get a connection
        fault_proxy.reset_all()  # the first run's reply is lost
        with pytest.raises(OutcomeUnknown) as caught:
            await setting
        assert caught.value.command == "SET"
        assert admin(redis_server, "GET", key) == b"v"  # it did run
        fault_proxy.clear_faults()
        await assert_own_replies(client)
        assert_balanced(client.pool)


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_fault_proxy_closes_promptly_after_a_pipe_closed_as_its_upstream_connect_completed(
    loop: str, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner: Callable[[Coroutine[Any, Any, None]], None] = asyncio.run
    if loop == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        runner = uvloop.run

    async def scenario() -> None:
        proxy = await FaultProxy(redis_server.host, redis_server.port).start()
        original = _Pipe.upstream_made

        def upstream_made_then_reset(pipe: _Pipe, side: Any) -> None:
            # The soak's race, made exact: the pipe closes (a client reset) right
            # after the upstream connection is made, before the task that
            # opened it has resumed.
            original(pipe, side)
            asyncio.get_running_loop().call_soon(proxy.reset_all)

        monkeypatch.setattr(_Pipe, "upstream_made", upstream_made_then_reset)
        try:
            _, writer = await asyncio.open_connection(proxy.host, proxy.port)
            try:
                await wait_until(lambda: proxy.accepted == 1 and proxy.connections == 0, "reset")
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
        finally:
            await proxy.aclose(timeout=1.0)

    runner(scenario())
