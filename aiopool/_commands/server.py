"""Connection and server commands: PING, INFO, FLUSHDB, ..."""

from __future__ import annotations

from typing import Any

from ._base import Command, Value, ok, to_bool

__all__ = ["dbsize", "echo", "flushdb", "info", "ping"]


def ping(message: Value | None = None) -> Command[Any]:
    """PING: ``True`` when the server answers; with ``message``, the message echoed."""
    if message is None:
        return Command(("PING",), to_bool)
    return Command(("PING", message))


def echo(message: Value) -> Command[Any]:
    """ECHO: ``message`` as the server returns it."""
    return Command(("ECHO", message))


def flushdb(asynchronous: bool = False) -> Command[bool]:
    """FLUSHDB: delete every key of the current database; ``True``."""
    return Command(("FLUSHDB", "ASYNC") if asynchronous else ("FLUSHDB",), ok)


def dbsize() -> Command[int]:
    """DBSIZE: the number of keys in the current database."""
    return Command(("DBSIZE",))


def info(*sections: str) -> Command[dict[str, Any]]:
    """INFO: server information parsed into a dict (numbers converted)."""
    return Command(("INFO", *sections), _info)


def _info_value(text: str) -> Any:
    if "," in text and "=" in text:
        return {k: _info_value(v) for k, _, v in (part.partition("=") for part in text.split(","))}
    try:
        number = int(text)
    except ValueError:
        try:
            return float(text) if text[:1].isdigit() or text[:1] == "-" else text
        except ValueError:
            return text
    # Keep identifiers such as a git sha of "00000000" as text.
    return number if str(number) == text else text


def _info(reply: Any) -> dict[str, Any]:
    text = reply.decode() if isinstance(reply, bytes) else reply
    result: dict[str, Any] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if sep:
            result[key] = _info_value(value)
    return result
