"""One command-name normaliser (``_protocol.canonical_name``), and every consumer agrees with it."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

import pytest

import aiopool
from aiopool import _commands as cmd
from aiopool._errors import CrossSlotError, ProtocolError, SessionCommandError
from aiopool._keys import command_keys, command_slot
from aiopool._protocol import (
    blocking_timeout,
    canonical_name,
    display_form,
    display_name,
    encode_command,
    may_block,
    refuse_session_command,
    session_command,
)
from aiopool._safety import is_safe_to_repeat

# Every form a name may take on its way in, each in two cases.
FORMS: dict[str, Callable[[str], object]] = {
    "str": str,
    "str lower": str.lower,
    "bytes": str.encode,
    "bytes lower": lambda word: word.lower().encode(),
    "bytearray": lambda word: bytearray(word.encode()),
    "memoryview": lambda word: memoryview(word.encode()),
    "memoryview lower": lambda word: memoryview(word.lower().encode()),
    # A strided view: its own bytes are every other byte of the buffer.
    "strided memoryview": lambda word: memoryview("".join(c + "_" for c in word).encode())[::2],
}

# (name words, the other arguments, canonical name, display name)
COMMANDS: list[tuple[tuple[str, ...], tuple[Any, ...], str, str]] = [
    (("GET",), ("k",), "get", "GET"),
    (("SET",), ("k", "v"), "set", "SET"),
    (("SET",), ("k", "v", "NX"), "set", "SET"),
    (("MSET",), ("{a}1", "1", "{a}2", "2"), "mset", "MSET"),
    (("CONFIG", "GET"), ("maxmemory",), "config|get", "CONFIG GET"),
    (("CONFIG", "SET"), ("maxmemory", "1"), "config|set", "CONFIG SET"),
    (("OBJECT", "ENCODING"), ("k",), "object|encoding", "OBJECT ENCODING"),
    (("CLIENT", "SETNAME"), ("me",), "client|setname", "CLIENT SETNAME"),
    (("CLIENT", "REPLY"), ("OFF",), "client|reply", "CLIENT REPLY"),
    (("CLIENT", "LIST"), (), "client|list", "CLIENT LIST"),
    (("XINFO", "STREAM"), ("s",), "xinfo|stream", "XINFO STREAM"),
    (("SELECT",), (2,), "select", "SELECT"),
    (("SCRIPT", "DEBUG"), ("YES",), "script|debug", "SCRIPT DEBUG"),
    (("BLPOP",), ("q", 2), "blpop", "BLPOP"),
    (("XREAD",), ("BLOCK", 500, "STREAMS", "s", "$"), "xread", "XREAD"),
    (("WAIT",), (1, 250), "wait", "WAIT"),
    (("EVAL",), ("return 1", 2, "{t}a", "{t}b"), "eval", "EVAL"),
    (("CONFIG",), (), "config", "CONFIG"),
]


def _spelled(words: tuple[str, ...], rest: tuple[Any, ...], form: str) -> tuple[Any, ...]:
    return (*(FORMS[form](word) for word in words), *rest)


def _outcome(call: Callable[[], object]) -> object:
    """What ``call`` returns, or the type and message of what it raises."""
    try:
        return call()
    except Exception as exc:
        return (type(exc), str(exc))


def _consumers(args: tuple[Any, ...]) -> dict[str, object]:
    """Everything in the package that looks at a command's name, on ``args``."""
    return {
        "canonical": canonical_name(args),
        "display": display_name(args),
        "safety": is_safe_to_repeat(args),
        "keys": _outcome(lambda: command_keys(args)),
        "slot": _outcome(lambda: command_slot(args)),
        "session": session_command(args),
        "refused": _outcome(lambda: refuse_session_command(args, "is refused")),
        "blocks": may_block(args),
        "timeout": blocking_timeout(args, 10.0),
    }


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(
    ("words", "rest", "canonical", "display"), COMMANDS, ids=[c[3] for c in COMMANDS]
)
def test_every_consumer_agrees_whatever_form_the_name_takes(
    words: tuple[str, ...], rest: tuple[Any, ...], canonical: str, display: str, form: str
) -> None:
    args = _spelled(words, rest, form)
    seen = _consumers(args)
    assert seen["canonical"] == canonical
    assert seen["display"] == display
    assert seen == _consumers(_spelled(words, rest, "str"))


@pytest.mark.parametrize("form", FORMS)
def test_the_consumers_see_the_command_they_should(form: str) -> None:
    # Agreement alone would pass if every consumer ignored the name: check each reads it.
    def spelled(*words: str) -> Callable[..., tuple[Any, ...]]:
        return lambda *rest: _spelled(words, rest, form)

    get, set_, config_get, client_reply = (
        spelled("GET"),
        spelled("SET"),
        spelled("CONFIG", "GET"),
        spelled("CLIENT", "REPLY"),
    )
    assert is_safe_to_repeat(get("k"))
    assert is_safe_to_repeat(config_get("maxmemory"))
    assert not is_safe_to_repeat(set_("k", "v", "NX"))
    assert not is_safe_to_repeat(spelled("CONFIG", "SET")("maxmemory", "1"))
    assert command_keys(get("k")) == ["k"]
    assert command_keys(spelled("OBJECT", "ENCODING")("k")) == ["k"]
    assert command_keys(spelled("EVAL")("return 1", 1, "k", "arg")) == ["k"]
    assert command_keys(spelled("XREAD")("STREAMS", "a", "b", "0", "0")) == ["a", "b"]
    assert session_command(client_reply("OFF")) == (
        "CLIENT REPLY",
        "a command whose reply you read (replies cannot be switched off)",
    )
    assert session_command(spelled("CLIENT", "SETNAME")("me")) is None
    assert may_block(spelled("BLPOP")("q", 2))
    assert blocking_timeout(spelled("BLPOP")("q", 2), 10.0) == 12.0
    assert blocking_timeout(spelled("WAIT")(1, 250), 1.0) == pytest.approx(1.25)
    assert blocking_timeout(spelled("XREAD")("BLOCK", 500, "STREAMS", "s", "$"), 1.0) == 1.5
    with pytest.raises(SessionCommandError, match=r"^CLIENT REPLY is refused; use "):
        refuse_session_command(client_reply("OFF"), "is refused")
    with pytest.raises(CrossSlotError, match=r"^CROSSSLOT MSET: "):
        command_slot(spelled("MSET")("a", "1", "b", "2"))


@pytest.mark.parametrize("form", FORMS)
def test_messages_name_the_command_in_display_form(form: str) -> None:
    args = _spelled(("CONFIG", "GET"), ("maxmemory", None), form)
    with pytest.raises(TypeError, match=r" of CONFIG GET is "):
        encode_command(args)
    command: cmd.Command[Any] = (_spelled(("OBJECT", "ENCODING"), ("k",), form), int)
    with pytest.raises(ProtocolError, match=r"answered OBJECT ENCODING with b'x'"):
        cmd.apply(command, b"x", "127.0.0.1:6379")


@pytest.mark.parametrize("args", [(), (None,), (5, "k"), (1.5,)])
def test_arguments_without_a_name_have_no_canonical_name(args: tuple[Any, ...]) -> None:
    assert canonical_name(args) == ""
    assert display_name(args) == "the command"
    assert not is_safe_to_repeat(args)
    assert session_command(args) is None


def test_display_form_is_derived_from_the_canonical_name() -> None:
    assert display_form("get") == "GET"
    assert display_form("config|get") == "CONFIG GET"
    assert display_form("client|no-evict") == "CLIENT NO-EVICT"
    assert display_form("") == "the command"


def test_a_container_without_its_subcommand_is_the_container() -> None:
    assert canonical_name(("CONFIG",)) == "config"
    assert canonical_name((b"client",)) == "client"
    assert canonical_name(("GET", "CONFIG")) == "get"  # only a container takes a subcommand


def test_the_old_normalisers_are_gone() -> None:
    # They disagreed on a memoryview name; one normaliser, in _protocol, replaced them.
    modules = [aiopool] + [
        importlib.import_module(info.name)
        for info in pkgutil.walk_packages(aiopool.__path__, prefix="aiopool.")
    ]
    for module in modules:
        for old in ("command_name", "command_key", "command_name_key"):
            assert not hasattr(module, old), f"{module.__name__}.{old} is back"
