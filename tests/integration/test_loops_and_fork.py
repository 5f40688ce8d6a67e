"""Event loops and processes: import-time clients, a second loop, fork().

A client binds to nothing until first use, so one made at import time is
adopted by the loop (or forked process) that first uses it. Once used, it
raises ``RuntimeError`` naming the fix from any other event loop (a second
``asyncio.run()``, pytest-asyncio's per-test loops) and in any process forked
afterwards, whose copies of the parent's sockets are let go of at the fork
without touching the parent's connections. The import-time and pytest cases
run in subprocesses, as an application or a test suite would; the fork cases
use ``multiprocessing`` with the fork start method.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import Any

import pytest

from aiopool import Client, PubSub
from aiopool.testing import RedisServer

from .pool_support import (
    assert_balanced,
    assert_own_replies,
    blocked_ids,
    client_ids,
    clients_named,
    unique_name,
    wait_until,
)

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()"),
    # Python 3.12+ warns about fork() in a process with threads (the suite's
    # other tests may leave executor threads); these children only use asyncio.
    pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning"),
]

LOOP_FIX = "create one client per event loop"
FORK_FIX = "Create one client per process after the fork"


def run_python(code: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``code`` as a script in a fresh interpreter; bounded, output captured."""
    script = cwd / "app.py"
    script.write_text(textwrap.dedent(code))
    return subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error", str(script)],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# -- a client made at import time ------------------------------------------------------


IMPORT_TIME_APP = """
    import asyncio
    import os

    import aiopool

    # At import time, outside any event loop, as module-level globals.
    client = aiopool.Client.from_url(os.environ["REDIS_URL"])
    spare = aiopool.Client.from_url(os.environ["REDIS_URL"])
    stats = client.pool.stats()
    print("at import:", stats.size, stats.created)

    async def first() -> None:
        # Nothing was bound at import: this loop adopts the client.
        print("first:", await client.execute("ECHO", "one"))
        print("spare untouched:", spare.pool.stats().created)
        await client.aclose()

    async def second() -> None:
        # The spare, never used, is adopted by this second loop.
        print("spare:", await spare.execute("ECHO", "two"))
        await spare.aclose()
        try:
            await client.execute("ECHO", "again")
        except RuntimeError as exc:
            print("second:", exc)

    asyncio.run(first())
    asyncio.run(second())
    print("done")
"""


def test_client_made_at_import_binds_on_first_use_and_refuses_a_second_loop(
    redis_url: str, tmp_path: Path
) -> None:
    result = run_python(IMPORT_TIME_APP, tmp_path, {"REDIS_URL": redis_url})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "at import: 0 0", lines
    assert lines[1] == "first: b'one'", lines
    assert lines[2] == "spare untouched: 0", lines
    assert lines[3] == "spare: b'two'", lines
    second = lines[4]
    assert second.startswith("second: <Pool redis://"), second
    assert "bound to the event loop it was first used on" in second
    assert LOOP_FIX in second
    assert "lifespan/startup" in second
    assert lines[5] == "done", lines
    assert "Traceback" not in result.stderr, result.stderr


def test_aclose_from_a_second_loop_raises_and_closes_nothing(redis_server: RedisServer) -> None:
    name = unique_name("second-loop")
    client = Client.from_url(redis_server.url, client_name=name)

    async def use() -> None:
        assert await client.execute("ECHO", "first") == b"first"

    async def close() -> None:
        await client.aclose()

    with asyncio.Runner() as runner:
        runner.run(use())
        with pytest.raises(RuntimeError, match=LOOP_FIX):
            asyncio.run(close())
        # Nothing was closed from the wrong loop: the pool still serves its own.
        assert not client.pool.is_closed()
        assert len(clients_named(redis_server, name)) == 1
        runner.run(use())
        runner.run(close())
    assert client.pool.is_closed()


# -- pytest-asyncio's per-test event loops ---------------------------------------------


PER_TEST_LOOPS = """
    import os

    import pytest

    from aiopool import Client, PubSub

    URL = os.environ["AIOPOOL_TEST_URL"]
    module_client = Client.from_url(URL)


    @pytest.fixture(scope="session")
    def session_client():
        # A sync session fixture: the client is made outside any loop.
        return Client.from_url(URL)


    @pytest.fixture
    async def own_client():
        # The fix: a client per test, made and closed on the test's own loop.
        async with Client.from_url(URL) as client:
            yield client


    async def test_module_client_first():
        assert await module_client.execute("ECHO", "a") == b"a"


    async def test_module_client_second():
        await module_client.execute("ECHO", "b")


    async def test_session_client_first(session_client):
        assert await session_client.execute("ECHO", "c") == b"c"


    async def test_session_client_second(session_client):
        await session_client.execute("ECHO", "d")


    async def test_own_client_first(own_client):
        assert await own_client.execute("ECHO", "e") == b"e"


    async def test_own_client_second(own_client):
        assert await own_client.execute("ECHO", "f") == b"f"
"""


def test_client_shared_by_tests_with_per_test_loops_names_the_fix(
    redis_url: str, tmp_path: Path
) -> None:
    (tmp_path / "test_app.py").write_text(textwrap.dedent(PER_TEST_LOOPS))
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
        "asyncio_default_test_loop_scope = function\n"
    )
    report = tmp_path / "report.xml"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-c",
            str(tmp_path / "pytest.ini"),
            "--rootdir",
            str(tmp_path),
            f"--junitxml={report}",
            "-q",
            str(tmp_path / "test_app.py"),
        ],
        cwd=tmp_path,
        env={**os.environ, "AIOPOOL_TEST_URL": redis_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert report.exists(), result.stdout + result.stderr
    outcomes: dict[str, str] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        failure = case.find("failure")
        outcomes[case.attrib["name"]] = "passed" if failure is None else failure.attrib["message"]
    assert len(outcomes) == 6, result.stdout
    for name in (
        "test_module_client_first",
        "test_session_client_first",
        "test_own_client_first",
        "test_own_client_second",
    ):
        assert outcomes[name] == "passed", (name, result.stdout)
    for name in ("test_module_client_second", "test_session_client_second"):
        message = outcomes[name]
        assert message.startswith("RuntimeError: <Pool redis://"), (name, message)
        assert "pytest-asyncio's per-test loops" in message, message
        assert LOOP_FIX in message, message
        assert "a fixture with the loop's scope" in message, message
    assert result.returncode == 1, result.stdout


# -- fork() --------------------------------------------------------------------------


async def _try_inherited(client: Client, channel: PubSub | None) -> list[str]:
    """In the child: every way of using the inherited client, and what each raised."""
    seen = [f"inherited={client.pool.is_inherited()}"]

    async def execute() -> None:
        await client.execute("ECHO", "child")

    async def pipeline() -> None:
        async with client.pipeline(transaction=False) as pipe:
            pipe.echo("child")
            await pipe.execute()

    async def acquire() -> None:
        async with client.pool.acquire() as conn:
            await conn.execute("ECHO", "child")

    async def pubsub() -> None:
        assert channel is not None
        await channel.get_message(timeout=0.5)

    attempts = [execute, pipeline, acquire] + ([pubsub] if channel is not None else [])
    for attempt in attempts:
        try:
            await attempt()
        except RuntimeError as exc:
            seen.append(f"{attempt.__name__}: {exc}")
        else:
            seen.append(f"{attempt.__name__}: no error")
    await client.aclose()
    seen.append(f"aclose: closed={client.pool.is_closed()}")
    return seen


def _child(
    client: Client, url: str, channel: PubSub | None, report: Pipe, parent_done: Any
) -> None:
    """The forked child's body: report what the inherited client did, then a fresh one."""

    async def main() -> list[str]:
        seen = await _try_inherited(client, channel) if client.pool.is_inherited() else []
        if not seen:  # never used before the fork: adopted here
            seen.append(f"adopted: {(await client.execute('ECHO', 'adopted'))!r}")
            await client.aclose()
        async with Client.from_url(url) as fresh:
            seen.append(f"fresh: {(await fresh.execute('ECHO', 'fresh'))!r}")
        return seen

    report.send(asyncio.run(main()))
    # Stay alive (holding whatever this process still holds) until the parent is done.
    parent_done.wait(20)


async def _wait_for_exit(child: Any) -> None:
    await wait_until(lambda: child.exitcode is not None, "the child to exit", timeout=10)


@pytest.mark.parametrize("auto_pipeline", [False, True], ids=["plain", "auto_pipeline"])
async def test_forked_child_refuses_the_parents_client_and_leaves_its_sockets(
    redis_server: RedisServer, auto_pipeline: bool
) -> None:
    name = unique_name("forked")
    key = f"{name}:list"
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    parent_done = ctx.Event()
    client = Client.from_url(
        redis_server.url, client_name=name, min_size=2, auto_pipeline=auto_pipeline
    )
    async with client:
        await assert_own_replies(client)
        # Across the fork: a command in flight, and a subscribed pub/sub connection.
        blocked = asyncio.create_task(client.execute("BLPOP", key, 10))
        await wait_until(lambda: bool(blocked_ids(redis_server, name)), "BLPOP to block")
        channel = client.pubsub()
        await channel.subscribe(name)
        before = client_ids(redis_server, name)
        child = ctx.Process(
            target=_child, args=(client, redis_server.url, channel, send, parent_done)
        )
        child.start()
        try:
            await wait_until(receive.poll, "the child's report", timeout=20)
            seen: list[str] = receive.recv()
            # The parent's connections are all open and still its own.
            assert before <= client_ids(redis_server, name)
            await client.execute("RPUSH", key, "after-fork")
            assert await blocked == [key.encode(), b"after-fork"]
            await client.publish(name, "to-the-parent")
            message = await channel.get_message(timeout=2)
            assert message is not None
            assert message["data"] == b"to-the-parent"
            await assert_own_replies(client)
            await channel.aclose()
            if auto_pipeline:  # its shared connections stay borrowed
                stats = client.pool.stats()
                assert (stats.in_use, stats.waiting) == (stats.shared, 0), stats
            else:
                assert_balanced(client.pool)
        except BaseException:
            blocked.cancel()
            parent_done.set()
            child.join(5)
            if child.exitcode is None:
                child.kill()
            raise
    try:
        # The child still runs: had it kept its copies of the sockets, the
        # server would not see the parent's connections close.
        assert child.exitcode is None
        await wait_until(
            lambda: not clients_named(redis_server, name),
            "the server to see the parent's connections closed while the child lives",
        )
    finally:
        parent_done.set()
        await _wait_for_exit(child)
    assert child.exitcode == 0
    assert seen[0] == "inherited=True", seen
    assert seen[-2:] == ["aclose: closed=True", "fresh: b'fresh'"], seen
    attempts = seen[1:-2]
    assert [line.split(":")[0] for line in attempts] == ["execute", "pipeline", "acquire", "pubsub"]
    for line in attempts[:3]:
        assert "was forked from it afterwards" in line, line
        assert FORK_FIX in line, line
    assert "its connection is the parent's" in attempts[3], attempts[3]
    assert FORK_FIX in attempts[3], attempts[3]


async def test_client_never_used_before_fork_is_adopted_by_the_child(
    redis_server: RedisServer,
) -> None:
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    parent_done = ctx.Event()
    parent_done.set()
    client = Client.from_url(redis_server.url)
    child = ctx.Process(target=_child, args=(client, redis_server.url, None, send, parent_done))
    child.start()
    try:
        await wait_until(receive.poll, "the child's report", timeout=20)
        seen = receive.recv()
    finally:
        await _wait_for_exit(child)
    assert seen == ["adopted: b'adopted'", "fresh: b'fresh'"]
    assert child.exitcode == 0
    # The parent's copy is still unused, and its own to use.
    assert client.pool.stats().created == 0
    async with client:
        assert await client.execute("ECHO", "parent") == b"parent"
