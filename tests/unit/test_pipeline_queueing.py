"""The generated ``Pipeline`` methods: the definition's parameters, and memoryviews encoded right."""

from __future__ import annotations

import ast
import inspect
import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aiopool import Client, Pipeline
from aiopool import _commands as cmd
from aiopool._pipeline import _queued
from aiopool._protocol import encode_command


@pytest.fixture
def pipeline() -> Pipeline:
    # Queuing needs no connection: nothing is sent until execute().
    return Client.from_url("redis://127.0.0.1:1/0").pipeline(transaction=False)


def _strided() -> memoryview:
    return memoryview(b"a_b_c_d_")[::2]  # its own bytes: b"abcd"


def _reversed() -> memoryview:
    return memoryview(b"dcba")[::-1]  # b"abcd"; hiredis alone would read past its end


# (what is queued, the arguments it must send); each puts a view in another kind of place.
QUEUED: list[tuple[str, Callable[[Pipeline], object], tuple[Any, ...]]] = [
    ("positional", lambda p: p.set("k", _strided()), ("SET", "k", b"abcd")),
    ("positional key", lambda p: p.get(_reversed()), ("GET", b"abcd")),
    ("by keyword", lambda p: p.set(name="k", value=_reversed()), ("SET", "k", b"abcd")),
    ("with an option", lambda p: p.set("k", _strided(), ex=5), ("SET", "k", b"abcd", "EX", 5)),
    ("var-positional", lambda p: p.delete("a", _strided()), ("DEL", "a", b"abcd")),
    ("in a mapping", lambda p: p.mset({"k": _reversed()}), ("MSET", "k", b"abcd")),
    ("in a list", lambda p: p.blpop(["q", _strided()], 1), ("BLPOP", "q", b"abcd", 1)),
    (
        "in an option's mapping",
        lambda p: p.hset("h", mapping={"f": _strided()}),
        ("HSET", "h", "f", b"abcd"),
    ),
]


@pytest.mark.parametrize(("where", "queue", "sent"), QUEUED, ids=[q[0] for q in QUEUED])
def test_a_strided_memoryview_is_sent_as_the_bytes_it_views(
    pipeline: Pipeline, where: str, queue: Callable[[Pipeline], object], sent: tuple[Any, ...]
) -> None:
    queue(pipeline)
    assert pipeline._encoded == [encode_command(sent)], where


def test_plain_arguments_are_packed_as_encode_command_packs_them(pipeline: Pipeline) -> None:
    contiguous = memoryview(b"xyz")
    pipeline.set("k", b"v").get(b"k").set("n", 1.5).incrby("n", 2).get(contiguous)
    pipeline.set("k", "v", nx=True).delete("a", b"b").hset("h", "f", "v")
    assert pipeline._encoded == [
        encode_command(args)
        for args in [
            ("SET", "k", b"v"),
            ("GET", b"k"),
            ("SET", "n", 1.5),
            ("INCRBY", "n", 2),
            ("GET", b"xyz"),
            ("SET", "k", "v", "NX"),
            ("DEL", "a", b"b"),
            ("HSET", "h", "f", "v"),
        ]
    ]


@pytest.mark.parametrize(
    "queue",
    [
        lambda p: p.get(None),
        lambda p: p.set("k", True),
        lambda p: p.set("k", object()),
        lambda p: p.delete("a", None),
        lambda p: p.hset("h", mapping={"f": None}),
    ],
)
def test_a_bad_argument_raises_at_the_queuing_line_and_queues_nothing(
    pipeline: Pipeline, queue: Callable[[Pipeline], object]
) -> None:
    with pytest.raises(TypeError, match="Redis arguments must be"):
        queue(pipeline)
    assert len(pipeline) == 0
    assert pipeline._encoded == []


def test_wrong_calls_fail_as_the_definition_would(pipeline: Pipeline) -> None:
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'name'"):
        pipeline.get()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'nope'"):
        pipeline.set("k", "v", nope=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="positional"):
        pipeline.get("k", "extra")  # type: ignore[call-arg]
    assert len(pipeline) == 0


@pytest.mark.parametrize("name", sorted(cmd.BINDINGS))
def test_each_method_takes_its_definition_positional_parameters(name: str) -> None:
    definition = cmd.BINDINGS[name]
    method = getattr(Pipeline, name)
    code = method.__code__
    own = code.co_varnames[1 : code.co_argcount]  # after _self
    expected = [
        p
        for p in inspect.signature(definition).parameters.values()
        if p.kind is p.POSITIONAL_OR_KEYWORD
    ]
    assert list(own) == [p.name for p in expected]
    assert (method.__defaults__ or ()) == (definition.__defaults__ or ())
    assert method.__name__ == name
    assert method._command is definition


def test_blocking_commands_flag_the_pipeline_and_others_do_not(pipeline: Pipeline) -> None:
    pipeline.get("k").set("k", "v").xadd("s", {"f": "v"})
    assert not pipeline._may_block
    pipeline.blpop("q", 1)
    assert pipeline._may_block


def test_a_parameter_the_generated_code_could_shadow_is_refused() -> None:
    def bad(_build: str) -> cmd.Command[Any]:
        return ("GET", _build), None

    with pytest.raises(ValueError, match="starts with _"):
        _queued(bad)


def test_no_command_definition_makes_a_memoryview() -> None:
    # The pipeline packs plain positional arguments without looking for
    # memoryviews: that is sound only while no definition creates one.
    for info in pkgutil.iter_modules(cmd.__path__):
        path = Path(cmd.__path__[0]) / f"{info.name}.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "memoryview", f"{path.name}:{node.lineno}"
