"""The committed command table matches what the test server's ``COMMAND INFO`` says."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from aiopool import _command_table as table
from aiopool.testing import RedisServer

TOOL = Path(__file__).resolve().parents[2] / "tools" / "command_table.py"


def load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("command_table_tool", TOOL)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


async def test_command_table_is_what_command_info_reports(redis_server: RedisServer) -> None:
    tool = load_tool()
    version, entries = await tool.command_info(redis_server.url)
    if version != table.SERVER_VERSION:
        pytest.skip(
            f"the table is from redis-server {table.SERVER_VERSION}, this server is {version}"
        )
    rendered = tool.render(version, entries)
    committed = await asyncio.to_thread(Path(table.__file__).read_text)
    assert rendered == committed, (
        "aiopool/_command_table.py is stale: run python tools/command_table.py"
    )


async def test_render_marks_readonly_flags_and_subcommands(redis_server: RedisServer) -> None:
    tool = load_tool()
    version, entries = await tool.command_info(redis_server.url)
    namespace: dict[str, object] = {}
    exec(compile(tool.render(version, entries), "<table>", "exec"), namespace)
    read_only = namespace["READ_ONLY"]
    assert isinstance(read_only, frozenset)
    assert {"get", "object|encoding", "xinfo|stream"} <= read_only
    assert not {"set", "incr", "config|set"} & read_only
