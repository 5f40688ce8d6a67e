"""Structural rules from STYLE.md: one-way imports, docstrings, informative reprs."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import aiopool
import aiopool.testing
from aiopool import Client, Connection, Pipeline, Pool, PubSub, Script

PACKAGE_DIR = Path(aiopool.__file__).parent

# The layers, lowest first. A module may import only modules in lower layers.
# ``_pipeline``/``_pubsub`` sit under ``_client`` (which offers pipeline() and
# pubsub()); ``_cluster`` sits on top. ``_topology`` (the slot map and the
# ``Topology`` that refreshes it over its own connections) sits beside the
# pool, above the connection: it never needs a pool or a client (the cluster
# client hands it a PING callable). ``_cluster_pipeline`` sees its cluster
# client only through the ``Router`` protocol it defines. A new module must
# be placed here; a package (``_commands/``) is one module to the others.
LAYERS: dict[str, float] = {
    "_errors": 0,
    "_affinity": 0,  # which loop and process objects belong to; the fork hook
    "exceptions": 1,  # public: redis-py's exception names for _errors' classes
    "_command_table": 0,
    "_backoff": 0,
    "_deadline": 0,
    "_stats": 0,
    "_cache": 0,  # client-side caching: the LRU, the race, the options; no imports
    "_holds": 0,
    "_waitline": 1,
    "_protocol": 1,  # holds the command-name normaliser everything above uses
    "_safety": 2,
    "_keys": 2,
    "_config": 2,
    "_handshake": 2.5,  # the connection's failures as typed errors; pure functions
    "_health": 2,
    "_credentials": 2.5,  # credential providers, their generations, re-AUTH: no sockets
    "_opener": 3,
    "_connection": 3,
    "_pool": 4,
    # Sentinel: a Pool subclass whose connector asks the sentinels; the client builds it.
    "_sentinel": 4.5,
    "_commands": 5,
    # Retry policy sits above the pool (mechanism) and below every client surface.
    "_retry": 5,
    "_autopipeline": 6,
    "_script": 6,
    "_pipeline": 7,
    "_pubsub": 7,
    "_lock": 7,  # a Lock drives its client through execute() and register_script()
    "_monitor": 7,
    "_client": 8,
    "_topology": 4,
    "_cluster_pipeline": 9,
    "_cluster_pubsub": 9,  # ClusterPubSub: sees its cluster client only through ShardRouter
    "_fanout": 9,  # routing tables of the cluster client: data, no imports
    "_cluster": 10,
    "_observe": 0,  # the observer protocols the pool and the client call: no imports
    "otel": 11,  # public: OpenTelemetry for Client and ClusterClient, on top of both
}
# Commands are data shared by Client, Pipeline and the cluster client: they may
# know how arguments are encoded (and the errors below that), nothing about
# connections, pools or options.
ALLOWED_FOR_COMMANDS = {"_errors", "_protocol"}
# The package façade re-exports everything, so it may import anything; ``__main__``
# (``python -m aiopool``: the bench and tune tools of ``_bench/``) sits on top of it all.
UNLAYERED = {"__init__", "__main__"}


def core_modules() -> list[Path]:
    return sorted(PACKAGE_DIR.glob("*.py")) + sorted((PACKAGE_DIR / "_commands").glob("*.py"))


def layer_name(path: Path) -> str:
    """The module a file counts as: itself, or its package below aiopool/."""
    return path.stem if path.parent == PACKAGE_DIR else path.parent.name


def _sibling(module: str) -> str:
    """The first component of a module path inside aiopool; ``""`` is the package itself."""
    return module.split(".")[0] if module else "__init__"


# Imports under ``if TYPE_CHECKING:`` exist for annotations only; the one
# allowed upward: a pipeline's watch() returns a Client (built by the client).
TYPE_ONLY_UPWARD = {("_pipeline", "_client")}
# The one import cycle left, for annotations only: ``Client.pipeline(transaction=False)`` returns
# a ``Pipeline`` and ``Pipeline.watch()``/``immediate`` return a ``Client``, so
# the two public types name each other. Breaking it would take a Protocol that
# restates every command method of ``Client``; ``test_no_import_cycles`` fails
# when the cycle is gone, so this entry goes with it.
KNOWN_TYPE_CYCLES = {("_pipeline", "_client")}


def _type_checking_blocks(tree: ast.AST) -> list[ast.If]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.If)
        and isinstance(node.test, ast.Name)
        and node.test.id == "TYPE_CHECKING"
    ]


def imported_siblings(path: Path, *, type_only: bool = False) -> set[str]:
    """The aiopool modules ``path`` imports at run time (or, with ``type_only``, for types)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    blocks = _type_checking_blocks(tree)
    if type_only:
        tree = ast.Module(body=[stmt for block in blocks for stmt in block.body], type_ignores=[])
    else:
        for block in blocks:
            block.body = [ast.Pass()]
    # In a subpackage, ``from .x`` stays inside it and ``from ..x`` reaches aiopool/.
    depth = 0 if path.parent == PACKAGE_DIR else 1
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top, _, rest = alias.name.partition(".")
                if top == "aiopool":
                    found.add(_sibling(rest))
            continue
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level == 1 and depth:
            continue  # a module of the same subpackage
        level = node.level - depth
        if level > 1:
            found.add("__init__")  # reaching out of the package's top level
            continue
        if level == 1:
            module = node.module or ""
        else:
            top, _, module = (node.module or "").partition(".")
            if top != "aiopool":
                continue
        if module:
            found.add(_sibling(module))
            continue
        # ``from . import X``: X is a sibling module, or a name from __init__.
        for alias in node.names:
            is_module = (PACKAGE_DIR / f"{alias.name}.py").exists() or (
                PACKAGE_DIR / alias.name
            ).is_dir()
            found.add(alias.name if is_module else "__init__")
    return found


def test_import_parser_sees_relative_and_absolute_forms() -> None:
    client = imported_siblings(PACKAGE_DIR / "_client.py")
    assert {"_commands", "_pool", "_protocol"} <= client  # incl. "from . import _commands"


@pytest.mark.parametrize(
    "path", core_modules(), ids=lambda path: str(path.relative_to(PACKAGE_DIR))
)
def test_imports_point_down_the_layers(path: Path) -> None:
    name = layer_name(path)
    if name in UNLAYERED:
        return
    assert name in LAYERS, (
        f"aiopool/{path.name} is not in the layer table of {__file__}; "
        "decide which modules it may import and add it"
    )
    imports = imported_siblings(path)
    if name == "_commands":
        bad = imports - ALLOWED_FOR_COMMANDS
        assert not bad, (
            f"_commands may import only {sorted(ALLOWED_FOR_COMMANDS)}, imports {sorted(bad)}"
        )
        return
    upward = sorted(
        other for other in imports if other not in LAYERS or LAYERS[other] >= LAYERS[name]
    )
    assert not upward, f"{name} imports {upward}, which are not below it in {list(LAYERS)}"


@pytest.mark.parametrize(
    "path", core_modules(), ids=lambda path: str(path.relative_to(PACKAGE_DIR))
)
def test_type_only_imports_point_up_only_where_allowed(path: Path) -> None:
    name = layer_name(path)
    if name in UNLAYERED:
        return
    upward = {
        other
        for other in imported_siblings(path, type_only=True)
        if other not in LAYERS or LAYERS[other] >= LAYERS[name]
    }
    assert {(name, other) for other in upward} <= TYPE_ONLY_UPWARD


def test_type_only_imports_are_told_apart() -> None:
    pipeline = PACKAGE_DIR / "_pipeline.py"
    assert "_client" not in imported_siblings(pipeline)
    assert "_client" in imported_siblings(pipeline, type_only=True)


def import_graph() -> dict[str, set[str]]:
    """Every module of aiopool (a subpackage counts as one) -> the siblings it imports.

    Run-time and ``TYPE_CHECKING`` imports alike: an import for annotations
    only still ties the two modules together for a reader and for mypy.
    """
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        name = path.relative_to(PACKAGE_DIR).parts[0].removesuffix(".py")
        found = imported_siblings(path) | imported_siblings(path, type_only=True)
        graph.setdefault(name, set()).update(found - {name})
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (``[a, b, ..., a]``), or None when it has none."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for other in sorted(graph.get(node, ())):
            cycle = visit(other, [*path, node])
            if cycle is not None:
                return cycle
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start, [])
        if cycle is not None:
            return cycle
    return None


def test_cycle_finder_finds_cycles_of_any_length() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    # The graph sees TYPE_CHECKING imports: the known cycle is in it.
    assert "_client" in import_graph()["_pipeline"]


def test_no_import_cycles() -> None:
    graph = import_graph()
    for module, other in KNOWN_TYPE_CYCLES:
        stale = (
            f"{module} and {other} no longer import each other: drop the KNOWN_TYPE_CYCLES entry"
        )
        assert other in graph[module], stale
        assert module in graph[other], stale
        graph[module].discard(other)
    cycle = find_cycle(graph)
    assert cycle is None, f"import cycle (TYPE_CHECKING imports included): {' -> '.join(cycle)}"


def test_cluster_pipeline_never_imports_the_cluster_client() -> None:
    path = PACKAGE_DIR / "_cluster_pipeline.py"
    assert "_cluster" not in imported_siblings(path)
    assert "_cluster" not in imported_siblings(path, type_only=True)


def test_connection_never_imports_pool() -> None:
    assert "_pool" not in imported_siblings(PACKAGE_DIR / "_connection.py")


# What a command is, and whether one may be repeated, is known above the pool
# (``_retry``): the pool hands out connections and never sees a command.
COMMAND_KNOWLEDGE = {"_safety", "_keys", "_commands", "_command_table", "_protocol", "_retry"}


@pytest.mark.parametrize("module", ["_pool", "_waitline", "_holds", "_opener", "_backoff"])
def test_the_pool_and_its_parts_import_no_command_knowledge(module: str) -> None:
    imports = imported_siblings(PACKAGE_DIR / f"{module}.py")
    assert not imports & COMMAND_KNOWLEDGE, sorted(imports & COMMAND_KNOWLEDGE)


def _names_imported_from(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == module and node.level == 1
        for alias in node.names
    }


def test_the_command_knowledge_check_sees_an_import() -> None:
    # The check above would pass vacuously if the parser missed these forms.
    assert {"_protocol", "_safety"} <= imported_siblings(PACKAGE_DIR / "_retry.py")
    assert "is_safe_to_repeat" in _names_imported_from(PACKAGE_DIR / "_retry.py", "_safety")
    assert "_retry" in imported_siblings(PACKAGE_DIR / "_client.py")


# A backoff written out again: a random delay, or a base multiplied up.
_BACKOFF_FORMULA = re.compile(r"uniform\(|backoff\w*\s*\*|\*\s*2(\.0)?\s*\*\*")
# Modules still computing their own backoff, each to call _retry.backoff instead:
# PubSub._backoff (being rewritten by its owner). Remove a module once it does.
OWN_BACKOFF_PENDING: set[str] = set()


def test_retry_decisions_live_in_the_retry_module() -> None:
    # Only _retry asks whether a command is safe to repeat; nobody but _backoff
    # writes the backoff formula.
    for path in core_modules():
        name = layer_name(path)
        if name != "_retry":
            assert not _names_imported_from(path, "_safety"), path.name
        if name == "_backoff":
            assert _BACKOFF_FORMULA.search(path.read_text(encoding="utf-8"))
            continue
        own = _BACKOFF_FORMULA.search(path.read_text(encoding="utf-8"))
        if name in OWN_BACKOFF_PENDING:
            assert own, f"{path.name} uses the one backoff now: drop it from OWN_BACKOFF_PENDING"
        else:
            assert not own, f"{path.name} computes a backoff of its own ({own.group()!r})"


# Sizes are a design signal (STYLE.md, 14): the pool grew from 613 to 943 lines
# by accretion before its waiting line, leak tracking, connecting and retry
# rules moved out. A pool that needs more than this is doing someone else's job.
# 550 grew to 570 for two things only the pool can do at the points where its
# state changes: refusing use in a forked child (_after_fork; the rules and the
# messages live in _affinity) and reporting borrows and returns to an observer
# (the hook is None unless aiopool.otel instruments the pool; _observe holds the rest).
POOL_LINE_BUDGET = 570
# Every other core module fits in one sitting's read, with room to grow by a
# feature. One is allowed more, for a reason that splitting would not fix:
# the connection is the one module that touches the socket (open, handshake,
# the read path, exclusive and streaming use); moving any of that out would
# expose its internals, which test_only_the_connection_touches_... forbids.
# Generated data has no budget: the command table, and the block of command
# bindings tools/bind_commands.py writes into each surface (one line per
# command: it is a table, not code to read) does not count.
# The connection's 900 grew to 960 with RESP3: push frames enter through the
# one read path, so routing them (to the cache's invalidation handler, to a
# subscriber), telling their owner the socket is gone, and reading the pushes
# a tracking connection received while idle before its next write live there too.
LINE_BUDGETS: dict[str, int] = {
    "_pool.py": POOL_LINE_BUDGET,
    "_connection.py": 960,
}
DEFAULT_LINE_BUDGET = 750
NO_BUDGET = {"_command_table.py"}


def written_lines(text: str) -> int:
    """Lines of ``text`` outside the generated command block (``tools/bind_commands.py``)."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if "generated by tools/bind_commands.py" in line]
    ends = [i for i, line in enumerate(lines) if line.strip() == "# -- end of generated commands"]
    if starts and ends:
        return len(lines) - (ends[0] - starts[0] + 1)
    return len(lines)


def test_generated_blocks_do_not_count_against_the_budget() -> None:
    text = "a\n# -- commands: generated by tools/bind_commands.py\nx\ny\n# -- end of generated commands\nb\n"
    assert written_lines(text) == 2
    assert written_lines("a\nb\nc\n") == 3


def test_the_pool_stays_within_its_line_budget() -> None:
    lines = len((PACKAGE_DIR / "_pool.py").read_text(encoding="utf-8").splitlines())
    assert lines <= POOL_LINE_BUDGET, (
        f"aiopool/_pool.py has {lines} lines, over its budget of {POOL_LINE_BUDGET}: "
        "split a responsibility out (as _waitline, _holds, _opener, _health were)"
    )


@pytest.mark.parametrize(
    "path",
    [p for p in core_modules() if p.name not in NO_BUDGET],
    ids=lambda path: str(path.relative_to(PACKAGE_DIR)),
)
def test_core_modules_stay_within_their_line_budget(path: Path) -> None:
    budget = LINE_BUDGETS.get(path.name, DEFAULT_LINE_BUDGET)
    lines = written_lines(path.read_text(encoding="utf-8"))
    assert lines <= budget, (
        f"{path.relative_to(PACKAGE_DIR)} has {lines} lines, over its budget of {budget}: "
        "split it along a responsibility (a waiting line, a policy, a data table)"
    )


def test_core_never_imports_the_testing_helpers() -> None:
    for path in core_modules():
        assert "testing" not in imported_siblings(path), path.name


# -- docstrings -----------------------------------------------------------------------


def _exported(module: ModuleType) -> list[str]:
    # ``__version__`` is a str constant; it cannot carry a docstring of its own.
    return [name for name in module.__all__ if name != "__version__"]


@pytest.mark.parametrize(
    ("module", "name"),
    [(aiopool, name) for name in _exported(aiopool)]
    + [(aiopool.testing, name) for name in _exported(aiopool.testing)],
    ids=lambda value: value if isinstance(value, str) else value.__name__,
)
def test_every_public_name_has_a_docstring(module: ModuleType, name: str) -> None:
    obj = getattr(module, name)
    doc = obj.__doc__
    assert doc, f"{module.__name__}.{name} has no docstring"
    assert doc.strip(), f"{module.__name__}.{name} has an empty docstring"


def _public_methods(cls: type) -> Iterator[tuple[str, object]]:
    for name, value in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(value, classmethod | staticmethod):
            yield name, value.__func__
        elif isinstance(value, property):
            yield name, value.fget
        elif inspect.isfunction(value):
            yield name, value


@pytest.mark.parametrize(
    ("cls", "method"),
    [
        (cls, name)
        for cls in (Client, Pool, Connection, Pipeline, PubSub, Script)
        for name, _ in _public_methods(cls)
    ],
    ids=lambda value: value if isinstance(value, str) else value.__name__,
)
def test_every_public_method_has_a_docstring(cls: type, method: str) -> None:
    func = dict(_public_methods(cls))[method]
    doc = getattr(func, "__doc__", None)
    assert doc, f"{cls.__name__}.{method} has no docstring"
    assert doc.strip(), f"{cls.__name__}.{method} has an empty docstring"


def test_the_main_classes_have_public_methods_to_check() -> None:
    assert {"execute", "get", "set", "aclose"} <= dict(_public_methods(Client)).keys()
    assert {"acquire", "stats", "aclose"} <= dict(_public_methods(Pool)).keys()
    assert {"open", "execute", "abort", "aclose"} <= dict(_public_methods(Connection)).keys()


# -- reprs -------------------------------------------------------------------------------


def _all_modules() -> list[ModuleType]:
    modules = [aiopool]
    for info in pkgutil.walk_packages(aiopool.__path__, prefix="aiopool."):
        modules.append(importlib.import_module(info.name))
    return modules


def _is_namedtuple(cls: type) -> bool:
    return issubclass(cls, tuple) and hasattr(cls, "_fields")


def _classes_needing_repr() -> list[type]:
    found: dict[str, type] = {}
    for module in _all_modules():
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            if issubclass(cls, BaseException) or _is_namedtuple(cls):
                continue
            if getattr(cls, "_is_protocol", False):  # a typing.Protocol: never instantiated
                continue
            found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return [found[key] for key in sorted(found)]


def test_repr_check_finds_the_main_classes() -> None:
    names = {cls.__name__ for cls in _classes_needing_repr()}
    assert {"Client", "Pool", "Connection", "RedisServer"} <= names


@pytest.mark.parametrize(
    "cls", _classes_needing_repr(), ids=lambda cls: f"{cls.__module__}.{cls.__qualname__}"
)
def test_every_class_defines_its_own_repr(cls: type) -> None:
    if dataclasses.is_dataclass(cls):
        params = cls.__dataclass_params__  # type: ignore[attr-defined]
        assert params.repr or "__repr__" in vars(cls), f"{cls.__qualname__} turned its repr off"
        return
    assert "__repr__" in vars(cls), (
        f"{cls.__module__}.{cls.__qualname__} has no __repr__ of its own "
        f"(it inherits {inspect.getmodule(cls.__repr__)!r}'s)"
    )


def test_pool_internals_repr_does_not_raise() -> None:
    # The inherited asyncio.Queue repr lists the queue's contents, which the
    # slot store cannot provide: a repr must never raise while debugging.
    pool = Pool()
    assert "Pool" in repr(pool)
    assert "slots" in repr(pool._slots).lower()


# -- the connection owns its stream and its state ------------------------------------


def _connection_private_names() -> set[str]:
    """Private attributes and methods of ``Connection`` that no other aiopool class defines."""
    from aiopool._connection import Connection

    ours = {name for name in Connection.__slots__ if name.startswith("_")}
    ours |= {name for name in vars(Connection) if name.startswith("_") and not name.endswith("__")}
    theirs: set[str] = set()
    for path in core_modules():
        if path.name == "_connection.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                theirs.add(node.name)
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "self"
                and isinstance(node.ctx, ast.Store)
            ):
                theirs.add(node.attr)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                theirs.add(node.value)  # __slots__ entries
    return ours - theirs


def _reaches_into_a_connection(path: Path, private: set[str]) -> list[str]:
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        is_self = isinstance(node.value, ast.Name) and node.value.id == "self"
        if node.attr in private and not is_self:
            found.append(f"line {node.lineno}: .{node.attr}")
        if node.attr == "state" and isinstance(node.ctx, ast.Store) and not is_self:
            found.append(f"line {node.lineno}: assigns .state")
    return found


def test_connection_private_names_are_found() -> None:
    private = _connection_private_names()
    assert {"_transport", "_parser", "_inbox", "_owed", "_write"} <= private


@pytest.mark.parametrize(
    "path",
    [p for p in core_modules() if p.name != "_connection.py"],
    ids=lambda path: str(path.relative_to(PACKAGE_DIR)),
)
def test_only_the_connection_touches_its_stream_parser_and_state(path: Path) -> None:
    """STYLE.md 11-12: one owner per piece of state, one read path per connection."""
    found = _reaches_into_a_connection(path, _connection_private_names())
    assert not found, f"{path.name} reaches into a Connection: {found}"


def test_reaching_into_a_connection_is_caught(tmp_path: Path) -> None:
    offender = tmp_path / "offender.py"
    offender.write_text("def f(conn):\n    conn._transport.write(b'')\n    conn.state = 1\n")
    found = _reaches_into_a_connection(offender, _connection_private_names())
    assert sorted(found) == ["line 2: ._transport", "line 3: assigns .state"]
