"""Client and Pipeline expose the same commands, each bound to one command definition."""

from __future__ import annotations

import importlib.util
import inspect
import re
from pathlib import Path
from types import ModuleType

import pytest

from aiopool import Client, ClusterClient, ClusterPipeline, Pipeline
from aiopool import _commands as cmd

ROOT = Path(__file__).resolve().parents[2]

# Methods one surface has and the other must not: how each is used differs.
CLIENT_ONLY = {
    "aclose",
    "auto_pipeline_stats",
    "execute",  # a raw command now; Pipeline.execute() sends the queue
    "from_url",
    "hscan_iter",
    "pipeline",
    "pubsub",
    "register_script",
    "scan_iter",
    "sscan_iter",
    "transaction",
    "zscan_iter",
}
PIPELINE_ONLY = {"command", "execute", "reset", "watch"}
SHARED_BY_HAND = {"run_script"}


def _bind_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bind_commands", ROOT / "tools/bind_commands.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _bound(cls: type) -> dict[str, object]:
    """Public method name -> the command definition it is bound to (if any)."""
    return {
        name: getattr(value, "_command", None)
        for name, value in vars(cls).items()
        if not name.startswith("_") and (callable(value) or isinstance(value, classmethod))
    }


def _definitions() -> dict[str, object]:
    return {
        name.removesuffix("_"): getattr(module, name)
        for module in cmd.FAMILIES
        for name in module.__all__
    }


def test_client_and_pipeline_expose_the_same_commands() -> None:
    client, pipeline = _bound(Client), _bound(Pipeline)
    client_commands = {n for n, c in client.items() if c is not None}
    pipeline_commands = {n for n, c in pipeline.items() if c is not None}
    assert client_commands == pipeline_commands, (
        f"only on Client: {sorted(client_commands - pipeline_commands)}; "
        f"only on Pipeline: {sorted(pipeline_commands - client_commands)}"
    )
    for name in client_commands:
        assert client[name] is pipeline[name], f"{name} is bound to different definitions"


def test_every_command_definition_is_a_method_of_both_surfaces() -> None:
    definitions = _definitions()
    for surface in (Client, Pipeline, ClusterClient, ClusterPipeline):
        bound = {n: c for n, c in _bound(surface).items() if c is not None}
        assert bound == definitions, surface.__name__


def test_hand_written_methods_are_the_documented_ones() -> None:
    client = {n for n, c in _bound(Client).items() if c is None}
    pipeline = {n for n, c in _bound(Pipeline).items() if c is None}
    assert client == CLIENT_ONLY | SHARED_BY_HAND
    assert pipeline == PIPELINE_ONLY | SHARED_BY_HAND


def test_generated_blocks_are_up_to_date() -> None:
    tool = _bind_tool()
    for path, binder in tool.SURFACES.items():
        current, expected = tool.updated(path, binder)
        assert current == expected, f"{path.name} is stale: run python tools/bind_commands.py"


def test_every_command_has_a_docstring_naming_its_command() -> None:
    for name, definition in _definitions().items():
        doc = inspect.getdoc(definition)
        assert doc, f"{name} has no docstring"
        assert doc.split(":", 1)[0].replace("_", " ").isupper(), (
            f"{name}'s docstring should start with the Redis command name, got {doc[:30]!r}"
        )


@pytest.mark.parametrize("name", ["get", "set", "hscan", "type"])
def test_methods_carry_the_command_signature_and_docstring(name: str) -> None:
    client_method = getattr(Client, name)
    pipeline_method = getattr(Pipeline, name)
    definition = _definitions()[name]
    assert client_method.__doc__ == pipeline_method.__doc__ == definition.__doc__
    assert list(inspect.signature(client_method).parameters)[1:] == list(
        inspect.signature(definition).parameters  # type: ignore[arg-type]
    )
    assert inspect.signature(pipeline_method).return_annotation == "Pipeline"


def test_a_stale_block_is_reported(tmp_path: Path) -> None:
    tool = _bind_tool()
    source = (ROOT / "aiopool/_pipeline.py").read_text(encoding="utf-8")
    stale = source.replace("    get = _queued(cmd.strings.get)\n", "")
    assert stale != source
    target = tmp_path / "_pipeline.py"
    target.write_text(stale, encoding="utf-8")
    current, expected = tool.updated(target, "_queued")
    assert current != expected
    assert "    get = _queued(cmd.strings.get)\n" in expected


def test_every_command_method_is_listed_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [
        name
        for name in sorted(_definitions()) + sorted(CLIENT_ONLY | SHARED_BY_HAND)
        # as `name`, `name(...)`, or `r.name(...)` in code
        if not re.search(rf"[`.]{name}[`(]", readme)
    ]
    assert not missing, f"README.md does not mention {missing}"
