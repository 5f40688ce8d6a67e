"""Connection and server commands: PING, INFO, FLUSHDB, ..."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from ._base import (
    Arg,
    Command,
    Key,
    Value,
    named_fields,
    not_negative,
    ok,
    pairs,
    to_bool,
    to_str,
    to_str_or_none,
)


def ping(message: Value | None = None) -> Command[Any]:
    """PING: ``True`` when the server answers; with ``message``, the message echoed."""
    if message is None:
        return ("PING",), to_bool
    return ("PING", message), None


def echo(message: Value) -> Command[Any]:
    """ECHO: ``message`` as the server returns it."""
    return ("ECHO", message), None


def flushdb(asynchronous: bool = False) -> Command[bool]:
    """FLUSHDB: delete every key of the current database; ``True``."""
    return ("FLUSHDB", "ASYNC") if asynchronous else ("FLUSHDB",), ok


def dbsize() -> Command[int]:
    """DBSIZE: the number of keys in the current database."""
    return ("DBSIZE",), None


def info(*sections: str) -> Command[dict[str, Any]]:
    """INFO: server information parsed into a dict (numbers converted)."""
    return ("INFO", *sections), _info


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


def flushall(asynchronous: bool = False) -> Command[bool]:
    """FLUSHALL: delete every key of every database; ``True``.

    Loaded scripts and function libraries are kept (see ``script_flush`` and
    ``function_flush``). ``asynchronous=True`` frees the memory in the
    background.
    """
    return ("FLUSHALL", "ASYNC") if asynchronous else ("FLUSHALL",), ok


def time() -> Command[tuple[int, int]]:
    """TIME: the server's clock as ``(unix_seconds, microseconds)``."""
    return ("TIME",), _time


def _time(reply: Any) -> tuple[int, int]:
    return int(reply[0]), int(reply[1])


def lastsave() -> Command[datetime.datetime]:
    """LASTSAVE: when the last successful save to disk happened, as an aware UTC datetime.

    A server that never saved reports its start time.
    """
    return ("LASTSAVE",), _utc


def _utc(reply: Any) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(int(reply), datetime.UTC)


# -- configuration ---------------------------------------------------------------------------


def config_get(*patterns: str) -> Command[dict[str, Any]]:
    """CONFIG GET: the parameters matching the glob ``patterns`` (all by default) as a dict.

    Names are ``str``; values are as the server sent them (``bytes``, or
    ``str`` with ``decode_responses=True``). An unknown name is simply
    absent from the result.
    """
    return ("CONFIG", "GET", *(patterns or ("*",))), named_fields


def config_set(name: str | Mapping[Any, Value], value: Value | None = None) -> Command[bool]:
    """CONFIG SET: set one parameter (``name``, ``value``) or several (a mapping); ``True``.

    Several parameters are set atomically: an invalid one raises
    ``ReplyError`` and none is changed. Flags take ``"yes"``/``"no"``, not
    ``bool``.
    """
    if isinstance(name, Mapping):
        if value is not None:
            raise ValueError("config_set(): give a mapping, or a name and a value, not both")
        args = pairs("config_set", name, "mapping of parameter -> value")
    else:
        if value is None:
            raise ValueError(f"config_set(): the parameter {name!r} needs a value")
        args = [name, value]
    for item in args:
        if isinstance(item, bool):
            raise TypeError("config_set(): give flags as 'yes' or 'no', not a bool")
    return ("CONFIG", "SET", *args), ok


# -- this connection ------------------------------------------------------------------------


def client_id() -> Command[int]:
    """CLIENT ID: the server's id of the pooled connection that ran this command.

    Another call may run on another connection of the pool, with another id.
    """
    return ("CLIENT", "ID"), None


def client_setname(name: str) -> Command[bool]:
    """CLIENT SETNAME: name the connection that runs it; ``True``.

    Only the one pooled connection that happens to run the command is named;
    the others (and connections opened later) are not. To name every
    connection, use the ``client_name`` option. An empty ``name`` removes
    the name; spaces are refused by the server (``ReplyError``).
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__} {name!r}")
    return ("CLIENT", "SETNAME", name), ok


def client_getname() -> Command[str | None]:
    """CLIENT GETNAME: the name of the pooled connection that ran it; ``None`` if unnamed."""
    return ("CLIENT", "GETNAME"), to_str_or_none


_CLIENT_TYPES = ("normal", "master", "replica", "pubsub")


def client_list(type_: str | None = None) -> Command[list[dict[str, str]]]:
    """CLIENT LIST: every client connection, each a dict of ``str`` fields (``"id"``, ...).

    Values are the server's text (``"id": "7"``). ``type_`` is ``"normal"``,
    ``"master"``, ``"replica"`` or ``"pubsub"``.
    """
    args: list[Arg] = ["CLIENT", "LIST"]
    if type_ is not None:
        if type_ not in _CLIENT_TYPES:
            raise ValueError(f"type_ must be one of {', '.join(_CLIENT_TYPES)}; got {type_!r}")
        args += ("TYPE", type_)
    return tuple(args), _client_list


def _client_list(reply: Any) -> list[dict[str, str]]:
    clients = []
    for line in to_str(reply).splitlines():
        if line:
            fields = (item.partition("=") for item in line.split(" "))
            clients.append({name: value for name, _, value in fields})
    return clients


# -- memory and replication ---------------------------------------------------------------------


def memory_usage(key: Key, samples: int | None = None) -> Command[int | None]:
    """MEMORY USAGE: bytes used by ``key`` and its value; ``None`` if missing.

    For aggregate values ``samples`` nested values are sampled (default 5;
    0 samples them all).
    """
    args: list[Arg] = ["MEMORY", "USAGE", key]
    if samples is not None:
        args += ("SAMPLES", not_negative("samples", samples))
    return tuple(args), None


def wait(numreplicas: int, timeout: int) -> Command[int]:
    """WAIT: block until ``numreplicas`` replicas acknowledged earlier writes; how many did.

    ``timeout`` is in milliseconds (0 waits for ever); the result may be
    lower than ``numreplicas`` when it ran out. The blocking time is added to
    ``command_timeout``. It waits for the writes of the connection that runs
    it, which in a pool is not necessarily the one that ran your writes: to
    wait for given writes, queue ``wait`` after them in one pipeline.
    """
    return (
        "WAIT",
        not_negative("numreplicas", numreplicas),
        not_negative("timeout", timeout),
    ), None
