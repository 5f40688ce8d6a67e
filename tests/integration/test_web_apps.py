"""The web examples as real servers: FastAPI under uvicorn, aiohttp under its runner.

Each test starts ``examples/<app>.py --serve`` as a process of its own (uvloop,
``PYTHONDEVMODE=1`` so an unclosed transport or a destroyed pending task is
reported on stderr) against a private redis-server, and drives it with httpx
over loopback: concurrent keep-alive connections, the Redis failures mapped to
statuses, and SIGTERM while requests are in flight. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hiredis
import httpx
import pytest

from aiopool.testing import RedisServer

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parents[2]
APPS = {
    "fastapi": ROOT / "examples" / "fastapi_app.py",
    "aiohttp": ROOT / "examples" / "aiohttp_app.py",
}
# What a clean shutdown never prints (asyncio's and the stdlib's wording).
UNCLEAN = ("nclosed", "Task was destroyed", "ResourceWarning", "Traceback", "Exception ignored")
PATHS = ("/one", "/five", "/pipeline", "/healthz")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def redis_command(server: RedisServer, *args: Any) -> Any:
    """One command on a fresh socket (not the app's client): the parsed reply."""
    reader = hiredis.Reader()
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(hiredis.pack_command(args))
        reply = reader.gets()
        while reply is False:
            reader.feed(sock.recv(65536))
            reply = reader.gets()
    return reply


def connections_named(server: RedisServer, name: str) -> int:
    listing: bytes = redis_command(server, "CLIENT", "LIST")
    return sum(f" name={name} ".encode() in b" " + line + b" " for line in listing.splitlines())


@dataclass
class App:
    process: subprocess.Popen[bytes]
    base: str
    name: str  # the client_name the app's connections carry
    stderr_path: Path

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, then the exit status (SIGKILL and fail if it does not exit in time)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
            pytest.fail(f"the app did not exit within {timeout} s of SIGTERM:\n{self.stderr()}")


@contextmanager
def run_app(kind: str, server: RedisServer, **options: object) -> Iterator[App]:
    """``examples/<kind>_app.py --serve`` on a free port; answers /healthz before this yields."""
    name = f"web-test-{uuid.uuid4().hex[:8]}"
    query = "&".join(f"{k}={v}" for k, v in {"client_name": name, **options}.items())
    port = free_port()
    joined = f"{server.url}&{query}" if "?" in server.url else f"{server.url}?{query}"
    env = {**os.environ, "REDIS_URL": joined, "PYTHONDEVMODE": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        stderr_path = Path(tmp) / "stderr"
        with stderr_path.open("wb") as stderr:
            process = subprocess.Popen(
                [sys.executable, str(APPS[kind]), "--serve", "--port", str(port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        app = App(process, f"http://127.0.0.1:{port}", name, stderr_path)
        try:
            deadline = time.monotonic() + 20
            while True:
                assert process.poll() is None, f"the app exited at startup:\n{app.stderr()}"
                assert time.monotonic() < deadline, f"the app never answered:\n{app.stderr()}"
                try:
                    if httpx.get(app.base + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.05)
            yield app
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(5)


async def wait_for_in_use(client: httpx.AsyncClient, app: App, at_least: int) -> dict[str, Any]:
    """Poll /healthz (no round trip to Redis) until that many connections are borrowed."""
    for _ in range(200):
        pool: dict[str, Any] = (await client.get(app.base + "/healthz")).json()["pool"]
        if pool["in_use"] >= at_least:
            return pool
        await asyncio.sleep(0.01)
    raise AssertionError(f"never {at_least} connections in use: {pool}")


def check_body(path: str, body: dict[str, Any]) -> None:
    if path == "/one":
        assert body["hits"] >= 1
    elif path == "/five":
        assert body["value"] == "hello"
        assert body["count"] >= 1
        assert 0 < body["ttl"] <= 3600
    elif path == "/pipeline":
        assert body["replies"] == 20
        assert body["total"] >= 20
    else:
        assert body["status"] in ("ok", "saturated")
        assert body["pool"]["max_size"] == 10


@pytest.mark.parametrize("kind", list(APPS))
async def test_app_serves_concurrently_and_drains_on_sigterm(kind: str) -> None:
    with RedisServer() as server, run_app(kind, server, max_size=10) as app:
        limits = httpx.Limits(max_connections=20, max_keepalive_connections=20)
        async with httpx.AsyncClient(limits=limits, timeout=10) as client:

            async def worker(offset: int) -> None:
                for step in range(12):
                    path = PATHS[(offset + step) % len(PATHS)]
                    response = await client.get(app.base + path)
                    assert response.status_code == 200, response.text
                    check_body(path, response.json())

            async with asyncio.TaskGroup() as group:
                for offset in range(20):
                    group.create_task(worker(offset))
            assert int(redis_command(server, "GET", "aiopool:example:web:hits")) == 60
            assert connections_named(server, app.name) >= 2  # what the last check expects gone

            # Requests in flight at SIGTERM: Redis stopped, so they wait for their replies.
            outcomes: list[tuple[float, str]] = []

            async def keep_asking(offset: int) -> None:
                for step in range(200):  # bounded: stops at the first refusal or close
                    started = time.monotonic()
                    try:
                        response = await client.get(app.base + PATHS[(offset + step) % 3])
                    except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
                        outcomes.append((started, type(exc).__name__))
                        return
                    outcomes.append((started, str(response.status_code)))

            server.pause()
            try:
                async with asyncio.TaskGroup() as group:
                    for offset in range(10):
                        group.create_task(keep_asking(offset))
                    await wait_for_in_use(client, app, at_least=10)
                    sigterm_at = time.monotonic()
                    app.process.send_signal(signal.SIGTERM)
                    await asyncio.sleep(0.3)  # the app stops listening and waits for the 10
                    server.resume()
            finally:
                server.resume()

        status = app.wait(15)
        in_flight = [o for started, o in outcomes if started < sigterm_at]
        errors = {o for _, o in outcomes if not o.isdigit()}
        assert in_flight == ["200"] * 10, outcomes  # every one answered after SIGTERM
        assert {o for _, o in outcomes if o.isdigit()} == {"200"}, outcomes
        assert errors <= {"ConnectError", "RemoteProtocolError", "ReadError"}, outcomes
        assert status == 0, app.stderr()
        assert not [word for word in UNCLEAN if word in app.stderr()], app.stderr()
        assert connections_named(server, app.name) == 0


@pytest.mark.parametrize("kind", list(APPS))
async def test_app_maps_redis_failures_to_statuses(kind: str) -> None:
    options = {"max_size": 1, "min_size": 1, "command_timeout": 0.5, "acquire_timeout": 0.2}
    with RedisServer() as server, run_app(kind, server, **options) as app:
        async with httpx.AsyncClient(timeout=10) as client:
            assert (await client.get(app.base + "/one")).json() == {"hits": 1}

            # Redis stops answering: the request holding the one connection times
            # out (504) and the one queued behind it finds the pool busy (503).
            server.pause()
            try:
                holder = asyncio.create_task(client.get(app.base + "/one"))
                await wait_for_in_use(client, app, at_least=1)
                queued = await client.get(app.base + "/five")
                held = await holder
            finally:
                server.resume()
            assert queued.status_code == 503, queued.text
            assert queued.headers["retry-after"] == "1"
            assert queued.json() == {"error": "busy, retry shortly"}
            assert held.status_code == 504, held.text
            assert held.json() == {"error": "Redis did not answer in time"}

            # Back: a fresh connection replaces the aborted one.
            # The timed-out INCR was written: Redis may run it once resumed (OutcomeUnknown).
            assert (await client.get(app.base + "/one")).json()["hits"] in (2, 3)
            pool = (await client.get(app.base + "/healthz")).json()["pool"]
            assert pool["timeouts"] == 1
            assert pool["created"] == 2

            # Gone: the connection drops, and connecting is refused.
            server.kill()
            for path in ("/one", "/five", "/pipeline"):
                failed = await client.get(app.base + path)
                assert failed.status_code == 502, failed.text
                assert failed.json() == {"error": "Redis is unreachable"}
            assert (await client.get(app.base + "/healthz")).status_code == 200

        assert app.stop() == 0, app.stderr()
        log = app.stderr()
        assert "503 for /five" in log
        assert "504 for /one" in log
        assert "502 for /pipeline" in log
        assert not [word for word in UNCLEAN if word in log], log


def test_web_bench_prints_both_clients_side_by_side() -> None:
    """``tools/web_bench.py`` with a tiny duration: the table is complete (no figure checked)."""
    argv = [sys.executable, str(ROOT / "tools" / "web_bench.py"), "--rounds", "1"]
    argv += ["--duration", "0.2", "--warmup", "0", "--connections", "4", "--max-size", "2"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=50, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    for client in ("aiopool", "redis.asyncio"):
        for path in PATHS[:3]:
            assert any(f"round 1 {client}" in line and f" {path} " in line for line in lines)
    table = lines[lines.index(next(line for line in lines if line.startswith("endpoint"))) + 1 :]
    assert [row.split()[0] for row in table] == list(PATHS[:3])
    for row in table:
        figures = row.split()[1:]
        assert len(figures) == 8, row
        assert float(figures[0].replace(",", "")) > 0
        assert figures[-1].endswith("x")
        assert figures[-2].endswith("x")


def test_web_bench_refuses_bad_arguments() -> None:
    argv = [sys.executable, str(ROOT / "tools" / "web_bench.py"), "--rounds", "0"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 2
    assert "1 <= --rounds <= 20" in done.stderr
