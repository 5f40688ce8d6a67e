"""The four surfaces expose the same methods, bound from one table, except what it lists.

``aiopool/_commands/_bindings.py`` is the one binding table: ``BINDINGS``
(method -> command definition) generates the command methods of ``Client``,
``Pipeline``, ``ClusterClient`` and ``ClusterPipeline``, and ``ABSENT`` lists,
with the reason, each public method a surface lacks although another has it.
"""

from __future__ import annotations

import importlib.util
import inspect
import pkgutil
import re
from pathlib import Path
from types import ModuleType

import pytest

from aiopool import Client, ClusterClient, ClusterPipeline, Pipeline
from aiopool import _commands as cmd

ROOT = Path(__file__).resolve().parents[2]
CLASSES: dict[str, type] = {
    "Client": Client,
    "Pipeline": Pipeline,
    "ClusterClient": ClusterClient,
    "ClusterPipeline": ClusterPipeline,
}
PIPELINES = {"Pipeline", "ClusterPipeline"}


def _bind_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bind_commands", ROOT / "tools/bind_commands.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _public(cls: type) -> dict[str, object]:
    """Public method (or property) name -> the command definition it is bound to, if any."""
    found: dict[str, object] = {}
    for name, value in vars(cls).items():
        if name.startswith("_"):
            continue
        if inspect.isfunction(value) or isinstance(value, classmethod | staticmethod | property):
            found[name] = getattr(value, "_command", None)
    return found


def _family_definitions() -> set[object]:
    """Every public function of the command family modules: the command definitions."""
    found: set[object] = set()
    for info in pkgutil.iter_modules(cmd.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{cmd.__name__}.{info.name}")
        found |= {
            function
            for name, function in inspect.getmembers(module, inspect.isfunction)
            if function.__module__ == module.__name__ and not name.startswith("_")
        }
    return found


def test_the_surfaces_of_the_table_are_the_four_classes() -> None:
    assert set(cmd.SURFACES) == set(CLASSES)
    assert set(cmd.ABSENT) <= set(cmd.SURFACES)
    assert set(_bind_tool().SURFACES) == set(cmd.SURFACES)


def test_the_table_binds_every_command_definition_once() -> None:
    definitions = list(cmd.BINDINGS.values())
    assert len(set(definitions)) == len(definitions), "a definition is bound under two names"
    assert set(definitions) == _family_definitions()
    for method, definition in cmd.BINDINGS.items():
        assert definition.__name__.removesuffix("_") == method


@pytest.mark.parametrize("surface", CLASSES)
def test_every_table_row_is_a_method_of_each_surface_bound_to_its_definition(
    surface: str,
) -> None:
    absent = cmd.ABSENT.get(surface, {})
    bound = {name: c for name, c in _public(CLASSES[surface]).items() if c is not None}
    expected = {name: d for name, d in cmd.BINDINGS.items() if name not in absent}
    assert bound.keys() == expected.keys(), (
        f"missing: {sorted(expected.keys() - bound.keys())}; "
        f"not in the table: {sorted(bound.keys() - expected.keys())}"
    )
    for name, definition in expected.items():
        assert bound[name] is definition, f"{surface}.{name} is bound to another definition"


@pytest.mark.parametrize("surface", CLASSES)
def test_every_public_method_is_on_all_four_surfaces_or_listed_absent(surface: str) -> None:
    everywhere = set().union(*(_public(cls) for cls in CLASSES.values()))
    missing = everywhere - _public(CLASSES[surface]).keys()
    listed = set(cmd.ABSENT.get(surface, {}))
    assert not missing - listed, (
        f"{surface} lacks {sorted(missing - listed)}, which another surface has: add them, or "
        "list them with the reason in aiopool/_commands/_bindings.py (ABSENT)"
    )
    assert not listed - missing, (
        f"ABSENT lists {sorted(listed - missing)} for {surface}, which has them (or no "
        "surface has them): remove the entries"
    )


def test_every_absence_has_a_reason() -> None:
    for surface, absent in cmd.ABSENT.items():
        for name, reason in absent.items():
            assert isinstance(reason, str), (surface, name)
            assert len(reason) > 20, f"{surface}.{name}: say why, not just {reason!r}"


@pytest.mark.parametrize("surface", CLASSES)
def test_generated_blocks_are_up_to_date(surface: str) -> None:
    tool = _bind_tool()
    path, _ = tool.SURFACES[surface]
    current, expected = tool.updated(path, surface)
    assert current == expected, f"{path.name} is stale: run python tools/bind_commands.py"


def test_the_bind_tool_check_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert _bind_tool().main(["--check"]) == 0, capsys.readouterr().out


def test_a_stale_block_is_reported(tmp_path: Path) -> None:
    tool = _bind_tool()
    source = (ROOT / "aiopool/_cluster_pipeline.py").read_text(encoding="utf-8")
    stale = source.replace("    get = _queued(cmd.strings.get)\n", "")
    assert stale != source
    target = tmp_path / "_cluster_pipeline.py"
    target.write_text(stale, encoding="utf-8")
    current, expected = tool.updated(target, "ClusterPipeline")
    assert current != expected
    assert "    get = _queued(cmd.strings.get)\n" in expected


def test_an_absent_command_is_left_out_of_that_surface_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tool = _bind_tool()
    monkeypatch.setitem(cmd.ABSENT, "ClusterPipeline", {"get": "only to test the generator"})
    assert "    get = _queued(cmd.strings.get)\n" not in tool.render("ClusterPipeline")
    assert "    get = _queued(cmd.strings.get)\n" in tool.render("Pipeline")


def test_every_command_has_a_docstring_naming_its_command() -> None:
    for name, definition in cmd.BINDINGS.items():
        doc = inspect.getdoc(definition)
        assert doc, f"{name} has no docstring"
        assert doc.split(":", 1)[0].replace("_", " ").isupper(), (
            f"{name}'s docstring should start with the Redis command name, got {doc[:30]!r}"
        )


@pytest.mark.parametrize("name", ["get", "set", "hscan", "type", "delete"])
@pytest.mark.parametrize("surface", CLASSES)
def test_methods_carry_the_command_signature_and_docstring(surface: str, name: str) -> None:
    method = getattr(CLASSES[surface], name)
    definition = cmd.BINDINGS[name]
    assert method.__doc__ == definition.__doc__
    assert method.__name__ == name
    assert list(inspect.signature(method).parameters)[1:] == list(
        inspect.signature(definition).parameters
    )
    returned = inspect.signature(method).return_annotation
    if surface in PIPELINES:
        assert returned == surface
    else:
        assert returned == inspect.signature(definition).return_annotation.removeprefix(
            "Command["
        ).removesuffix("]")


def test_every_command_method_is_in_the_command_reference() -> None:
    reference = (ROOT / "docs" / "commands.md").read_text(encoding="utf-8")
    missing = [name for name in sorted(cmd.BINDINGS) if f"| `{name}(" not in reference]
    assert not missing, f"docs/commands.md does not list {missing}"


def test_every_hand_written_method_is_in_the_readme_or_the_docs() -> None:
    texts = [(ROOT / "README.md").read_text(encoding="utf-8")]
    texts += [path.read_text(encoding="utf-8") for path in sorted((ROOT / "docs").rglob("*.md"))]
    hand_written = {
        name for cls in (Client, ClusterClient) for name, c in _public(cls).items() if c is None
    }
    missing = [
        name
        for name in sorted(hand_written)
        # as `name`, `name(...)`, or `r.name(...)` in code
        if not any(re.search(rf"[`.]{name}[`(]", text) for text in texts)
    ]
    assert not missing, f"neither README.md nor docs/ mention {missing}"


def test_the_readme_links_the_command_reference() -> None:
    assert "docs/commands.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_says_where_absent_methods_are_listed() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "aiopool/_commands/_bindings.py" in readme
