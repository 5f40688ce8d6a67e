"""Connection and server commands: PING, INFO, FLUSHDB, ..."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from .._errors import DataTypeError, DataValueError
from ._base import (
    Arg,
    Command,
    Key,
    Value,
    integer,
    named_fields,
    not_negative,
    ok,
    pairs,
    to_bool,
    to_str,
    to_str_or_none,
)

# -- both protocols ------------------------------------------------------------------------
# Under RESP3 the server sends maps (hiredis: ``dict``), sets (``list``), doubles
# (``float``) and booleans where RESP2 sent flat arrays, bulk strings and 0/1.
# These turn either shape into the RESP2-era one, so a typed method returns the
# same value under ``protocol=2`` and ``protocol=3``. The families of this
# package (admin, cluster_admin, scripting, pubsub) share them.


def _fields(reply: Any) -> dict[str, Any]:
    """A RESP3 map or a RESP2 flat ``[name, value, ...]`` array as a dict keyed by ``str``."""
    if isinstance(reply, dict):
        return {to_str(name): value for name, value in reply.items()}
    return named_fields(reply)


def _mapping(reply: Any) -> dict[Any, Any]:
    """A RESP3 map or a RESP2 flat ``[key, value, ...]`` array as a dict, keys as sent."""
    if isinstance(reply, dict):
        return reply
    it = iter(reply)
    return dict(zip(it, it, strict=True))


def _resp2(value: Any) -> Any:
    """A reply in its RESP2 shape: maps (nested too) as flat lists, booleans as 0/1.

    For the replies returned "as sent": a RESP2 reply comes back unchanged.
    """
    if isinstance(value, dict):
        flat: list[Any] = []
        for name, item in value.items():
            flat += (name, _resp2(item))
        return flat
    if isinstance(value, list):
        return [_resp2(item) for item in value]
    if isinstance(value, bool):
        return int(value)
    return value


def _double_text(value: Any) -> Any:
    """A RESP3 double as the text RESP2 sent for it (``%.17g``, Redis 7.0's format).

    Other values pass through. Redis 7.2+ sends the shortest round-trip text
    in RESP2, which may have fewer digits: ``float()`` of both is the same.
    """
    if isinstance(value, float):
        return format(value, ".17g")
    return value


def ping(message: Value | None = None) -> Command[Any]:
    """PING: ``True`` when the server answers; with ``message``, the message echoed."""
    if message is None:
        return ("PING",), to_bool
    return ("PING", message), None


def echo(value: Value) -> Command[Any]:
    """ECHO: ``value`` as the server returns it."""
    return ("ECHO", value), None


def flushdb(asynchronous: bool = False) -> Command[bool]:
    """FLUSHDB: delete every key of the current database; ``True``."""
    return ("FLUSHDB", "ASYNC") if asynchronous else ("FLUSHDB",), ok


def dbsize() -> Command[int]:
    """DBSIZE: the number of keys in the current database."""
    return ("DBSIZE",), None


def info(section: str | None = None, *args: str) -> Command[dict[str, Any]]:
    """INFO: server information parsed into a dict (numbers converted).

    ``section`` (and further sections in ``args``) picks what to report, as
    in redis-py; without one, the default sections.
    """
    if section is None:
        return ("INFO", *args), _info
    return ("INFO", section, *args), _info


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


def config_get(pattern: str = "*", *args: str) -> Command[dict[str, str]]:
    """CONFIG GET: the parameters matching the glob patterns as a dict of ``str`` -> ``str``.

    Names and values are ``str`` whatever ``decode_responses`` says, as in
    redis-py. ``config_get()`` returns every parameter; an unknown name is
    simply absent. On a ``ClusterClient``: any one node.
    """
    return ("CONFIG", "GET", pattern, *args), _config


def _config(reply: Any) -> dict[str, str]:
    if isinstance(reply, dict):  # RESP3
        return {to_str(name): to_str(value) for name, value in reply.items()}
    it = iter(reply)
    return {to_str(name): to_str(value) for name, value in zip(it, it, strict=True)}


def config_set(
    name: str | Mapping[Any, Value], value: Value | None = None, *args: Value
) -> Command[bool]:
    """CONFIG SET: set one parameter, or several (``name, value, name2, value2``, or a mapping).

    Several parameters are set atomically: an invalid one raises
    ``ReplyError`` and none is changed. Flags take ``"yes"``/``"no"``, not
    ``bool``. On a ``ClusterClient``: every primary.
    """
    if isinstance(name, Mapping):
        if value is not None or args:
            raise DataValueError("config_set(): give a mapping, or a name and a value, not both")
        pieces = pairs("config_set", name, "mapping of parameter -> value")
    else:
        if value is None:
            raise DataValueError(f"config_set(): the parameter {name!r} needs a value")
        if len(args) % 2:
            raise DataValueError("config_set(): further parameters come as name, value pairs")
        pieces = [name, value, *args]
    for item in pieces:
        if isinstance(item, bool):
            raise DataTypeError("config_set(): give flags as 'yes' or 'no', not a bool")
    return ("CONFIG", "SET", *pieces), ok


def config_resetstat() -> Command[bool]:
    """CONFIG RESETSTAT: reset the statistics INFO reports; ``True``.

    On a ``ClusterClient``: every node, primaries and replicas.
    """
    return ("CONFIG", "RESETSTAT"), ok


def config_rewrite() -> Command[bool]:
    """CONFIG REWRITE: write the running configuration to the server's config file; ``True``.

    A server started without a config file raises ``ReplyError``. redis-py
    returns the raw ``OK``. On a ``ClusterClient``: every node, primaries
    and replicas.
    """
    return ("CONFIG", "REWRITE"), ok


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
        raise DataTypeError(f"name must be a str, got {type(name).__name__} {name!r}")
    return ("CLIENT", "SETNAME", name), ok


def client_getname() -> Command[str | None]:
    """CLIENT GETNAME: the name of the pooled connection that ran it; ``None`` if unnamed."""
    return ("CLIENT", "GETNAME"), to_str_or_none


_CLIENT_TYPES = ("normal", "master", "replica", "pubsub")


def _either(name: str, value: Any, redis_py: Any) -> Any:
    """``value``, or redis-py's underscored spelling of the argument; ``ValueError`` for both."""
    if redis_py is None:
        return value
    if value is not None:
        raise DataValueError(f"give {name} or _{name.rstrip('_')} (redis-py's name), not both")
    return redis_py


def client_list(
    type_: str | None = None, client_id: Iterable[int] = (), *, _type: str | None = None
) -> Command[list[dict[str, str]]]:
    """CLIENT LIST: the client connections, each a dict of ``str`` fields (``"id"``, ...).

    Values are the server's text (``"id": "7"``), as in redis-py.
    ``type_`` (redis-py's ``_type``) is ``"normal"``, ``"master"``,
    ``"replica"`` or ``"pubsub"``; ``client_id`` keeps only those ids. On
    a ``ClusterClient``: any one node.
    """
    type_ = _either("type_", type_, _type)
    args: list[Arg] = ["CLIENT", "LIST"]
    if type_ is not None:
        if not isinstance(type_, str) or type_.lower() not in _CLIENT_TYPES:
            raise DataValueError(f"type_ must be one of {', '.join(_CLIENT_TYPES)}; got {type_!r}")
        args += ("TYPE", type_)
    if isinstance(client_id, str | bytes | int):
        raise DataTypeError(f"client_id must be a list of ints, got {type(client_id).__name__}")
    ids = [integer("client_id", item) for item in client_id]
    if ids:
        args += ("ID", *ids)
    return tuple(args), _client_list


def _client_list(reply: Any) -> list[dict[str, str]]:
    clients = []
    for line in to_str(reply).splitlines():
        fields: dict[str, str] = {}
        last = ""
        for token in line.split(" "):
            name, sep, value = token.partition("=")
            if sep:
                fields[name] = value
                last = name
            elif last:  # a value with a space (a unix socket path)
                fields[last] += " " + token
        if fields:
            clients.append(fields)
    return clients


_INT_FIELDS = (
    "id",
    "age",
    "idle",
    "db",
    "sub",
    "psub",
    "multi",
    "qbuf",
    "qbuf-free",
    "obl",
    "argv-mem",
    "oll",
    "omem",
    "tot-mem",
)


def _client_fields(text: Any) -> dict[str, Any]:
    """One ``CLIENT INFO`` line as a dict, its counters (``id``, ``age``, ...) ints (redis-py's)."""
    fields: dict[str, Any] = {}
    for item in to_str(text).strip().split():
        name, _, value = item.partition("=")
        fields[name] = value
    for name in _INT_FIELDS:
        if name in fields:
            fields[name] = int(fields[name])
    return fields


def client_info() -> Command[dict[str, Any]]:
    """CLIENT INFO: the connection that ran it, as a dict (counters as ints, as redis-py's)."""
    return ("CLIENT", "INFO"), _client_fields


def client_kill(address: str) -> Command[bool]:
    """CLIENT KILL: close the client connection at ``address`` (``"ip:port"``); ``True``.

    An address no client has raises ``ReplyError``. On a ``ClusterClient``:
    not offered (a client is on one node: ``cluster.node(address)``).
    """
    if not isinstance(address, str):
        raise DataTypeError(f"address must be an 'ip:port' str, got {type(address).__name__}")
    return ("CLIENT", "KILL", address), ok


def client_kill_filter(
    id_: int | str | None = None,
    type_: str | None = None,
    addr: str | None = None,
    skipme: bool | None = None,
    laddr: str | None = None,
    user: str | None = None,
    maxage: int | None = None,
    *,
    _id: int | str | None = None,
    _type: str | None = None,
) -> Command[int]:
    """CLIENT KILL: close every client matching all the filters given; how many.

    ``id_`` (redis-py's ``_id``) a client id, ``type_`` (``_type``)
    ``normal``/``master``/``replica``/``slave``/``pubsub``, ``addr``/``laddr``
    ``"ip:port"``, ``user``, ``maxage`` seconds; ``skipme=False`` lets the
    calling connection be closed too (the server's default skips it). At
    least one filter, or ``ValueError``. On a ``ClusterClient``: not offered.
    """
    _id = _either("id_", id_, _id)
    _type = _either("type_", type_, _type)
    args: list[Arg] = ["CLIENT", "KILL"]
    if _type is not None:
        if not isinstance(_type, str) or _type.lower() not in (*_CLIENT_TYPES, "slave"):
            raise DataValueError(
                f"_type must be normal, master, replica, slave or pubsub; got {_type!r}"
            )
        args += ("TYPE", _type)
    if skipme is not None:
        if not isinstance(skipme, bool):
            raise DataTypeError(f"skipme must be a bool, got {type(skipme).__name__}")
        args += ("SKIPME", "YES" if skipme else "NO")
    if _id is not None:
        args += ("ID", _id if isinstance(_id, str) else integer("_id", _id))
    for word, value in (("ADDR", addr), ("LADDR", laddr), ("USER", user)):
        if value is not None:
            args += (word, value)
    if maxage is not None:
        args += ("MAXAGE", not_negative("maxage", maxage))
    if len(args) == 2 or args[2:] in (["SKIPME", "YES"], ["SKIPME", "NO"]):
        raise DataValueError("client_kill_filter() needs at least one filter besides skipme")
    return tuple(args), None


def client_pause(timeout: int, all: bool = True) -> Command[bool]:
    """CLIENT PAUSE: hold every client's commands (``all=False``: writes only) for ``timeout`` ms.

    ``True``. This client is paused too: its next commands wait for the
    pause to end (``client_unpause``), so mind ``command_timeout``. On a
    ``ClusterClient``: not offered (per node: ``cluster.node(address)``).
    """
    args: tuple[Arg, ...] = ("CLIENT", "PAUSE", not_negative("timeout", timeout))
    return (args if all else (*args, "WRITE")), ok


def client_unpause() -> Command[bool]:
    """CLIENT UNPAUSE: end a ``client_pause``; ``True`` (redis-py returns the raw ``OK``)."""
    return ("CLIENT", "UNPAUSE"), ok


def client_unblock(client_id: int, error: bool = False) -> Command[bool]:
    """CLIENT UNBLOCK: wake the client ``client_id`` blocked in BLPOP, XREAD, ...; whether it was.

    It gets its timeout reply, or with ``error=True`` an ``UNBLOCKED`` error.
    """
    args: tuple[Arg, ...] = ("CLIENT", "UNBLOCK", integer("client_id", client_id))
    return ((*args, "ERROR") if error else args), to_bool


def client_getredir() -> Command[int]:
    """CLIENT GETREDIR: where the connection's tracking messages go; -1 when not tracking.

    Pooled connections never track (``CLIENT TRACKING`` is refused), so -1.
    """
    return ("CLIENT", "GETREDIR"), None


def client_trackinginfo() -> Command[list[Any]]:
    """CLIENT TRACKINGINFO: the connection's tracking state, redis-py's flat list.

    ``["flags", [b"off"], "redirect", -1, "prefixes", []]``: the names as
    ``str``, the nested values as sent; the same flat list under RESP3,
    where the server sends a map.
    """
    return ("CLIENT", "TRACKINGINFO"), _tracking


def _tracking(reply: Any) -> list[Any]:
    if isinstance(reply, dict):  # RESP3: a map
        reply = _resp2(reply)
    return [to_str(item) if isinstance(item, bytes) else item for item in reply]


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


def wait(num_replicas: int, timeout: int) -> Command[int]:
    """WAIT: block until ``num_replicas`` replicas acknowledged earlier writes; how many did.

    ``timeout`` is in milliseconds (0 waits for ever); the result may be
    lower than ``num_replicas`` when it ran out. The blocking time is added to
    ``command_timeout``. It waits for the writes of the connection that runs
    it, which in a pool is not necessarily the one that ran your writes: to
    wait for given writes, queue ``wait`` after them in one pipeline.
    """
    return (
        "WAIT",
        not_negative("num_replicas", num_replicas),
        not_negative("timeout", timeout),
    ), None
