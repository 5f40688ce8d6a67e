"""``tools/command_gaps.py``: every command the server lists has a method or a written reason."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from aiopool import Client
from aiopool._command_table import KNOWN, SERVER_VERSION

from .server_support import IS_VALKEY

ROOT = Path(__file__).resolve().parents[2]


def _gap_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("command_gaps", ROOT / "tools/command_gaps.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("command_gaps", module)
    spec.loader.exec_module(module)
    return module


tool = _gap_tool()

# The gap list is written for the Redis release aiopool targets (the command table's);
# Valkey 8+ lists more (hash field TTLs, COMMANDLOG, slot migration, ...) that aiopool
# does not bind yet. On Valkey the check covers the commands of that Redis release.
VALKEY_EXTRAS = (
    f"Valkey lists commands redis-server {SERVER_VERSION} does not have; the gap list "
    "is written for that release"
)


async def test_the_running_server_has_no_unexplained_gap(redis_url: str) -> None:
    commands = await tool.command_list(redis_url)
    assert len(commands) > 300  # redis-server 7.0 lists 366
    if IS_VALKEY:  # Valkey 9.1 has every command of Redis 7.0.15, and 33 more
        assert set(commands) >= KNOWN
        commands = [command for command in commands if command in KNOWN]
    gaps = tool.find_gaps(commands, tool.client_methods())
    assert gaps.unexplained == [], tool.report(gaps, show_all=False)
    assert gaps.stale == [], tool.report(gaps, show_all=False)
    assert len(gaps.covered) + len(gaps.explained) == len(set(commands))


async def test_every_reasoned_gap_is_a_command_the_server_lists(redis_url: str) -> None:
    listed = set(await tool.command_list(redis_url))
    assert set(tool.UNBOUND) <= listed


def test_a_command_without_method_or_reason_is_reported() -> None:
    methods = tool.client_methods() - {"get"}
    gaps = tool.find_gaps(["get", "set"], methods)
    assert gaps.unexplained == ["get"]
    assert ("set", "set") in gaps.covered
    assert "UNEXPLAINED get (no method get())" in tool.report(gaps, show_all=False)


def test_a_reason_for_a_command_that_has_a_method_is_stale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(tool.UNBOUND, "get", "no reason any more")
    gaps = tool.find_gaps(["get"], tool.client_methods())
    assert ("get", "has a method now (get): drop its reason") in gaps.stale


def test_a_reason_for_a_command_the_server_does_not_list_is_stale() -> None:
    gaps = tool.find_gaps(["get"], tool.client_methods())
    stale = {command for command, _ in gaps.stale}
    assert stale == set(tool.UNBOUND)


def test_session_containers_and_help_are_explained_by_rule() -> None:
    assert "pipeline" in tool.reason("multi")
    assert "pubsub" in tool.reason("ssubscribe")
    assert "container" in tool.reason("xinfo")
    assert "redis-cli" in tool.reason("client|help")
    assert tool.reason("get") is None
    assert tool.reason("client|kill") is None


def test_method_names_follow_redis_py() -> None:
    assert tool.method_name("del") == "delete"
    assert tool.method_name("CLIENT|KILL") == "client_kill"
    assert tool.method_name("memory|malloc-stats") == "memory_malloc_stats"
    assert tool.method_name("cluster|saveconfig") == "cluster_save_config"


def test_the_tool_exits_1_while_a_gap_is_unexplained(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(tool, "client_methods", lambda: {"get"})
    assert tool.main(["--url", redis_url]) == 1
    assert "UNEXPLAINED set" in capsys.readouterr().out


@pytest.mark.skipif(IS_VALKEY, reason=VALKEY_EXTRAS)
def test_the_tool_exits_0_on_the_real_surface(
    redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert tool.main(["--url", redis_url, "--all"]) == 0
    out = capsys.readouterr().out
    assert ", 0 have neither" in out
    assert "select" in out  # --all lists the explained gaps with their reasons


async def test_client_class_is_what_the_tool_checks() -> None:
    assert "get" in tool.client_methods()
    assert "_send" not in tool.client_methods()
    assert tool.client_methods() == {n for n in dir(Client) if not n.startswith("_")}
