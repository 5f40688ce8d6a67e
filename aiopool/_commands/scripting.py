"""Lua scripts and functions: EVAL, EVALSHA, SCRIPT *, FCALL, FUNCTION *."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .._errors import DataTypeError, DataValueError
from ._base import Arg, Command, Key, Value, bool_list, need_keys, ok, one_of, to_str
from .server import _fields, _resp2


def _keys_and_args(
    name: str,
    numkeys: int | Iterable[Key] | None,
    keys_and_args: tuple[Any, ...],
    keys: Iterable[Key],
    args: Iterable[Value],
) -> list[Arg]:
    """``numkeys key... arg...`` from redis-py's form or aiopool's lists.

    redis-py's ``(numkeys, *keys_and_args)`` when ``numkeys`` is an int;
    otherwise the lists ``keys`` and ``args``, by keyword or (aiopool's
    earlier positional form) as the second and third arguments.
    """
    if isinstance(numkeys, int) and not isinstance(numkeys, bool):
        if keys or args:
            raise DataValueError(f"{name}() takes numkeys and keys_and_args, or keys= and args=")
        if not 0 <= numkeys <= len(keys_and_args):
            raise DataValueError(
                f"{name}(): numkeys must be between 0 and the {len(keys_and_args)} keys and "
                f"args given, got {numkeys!r}"
            )
        return [numkeys, *keys_and_args]
    if numkeys is not None:
        if isinstance(numkeys, str | bytes) or not isinstance(numkeys, Iterable):
            raise DataTypeError(
                f"{name}(): numkeys must be an int, or keys and args are lists (a lone "
                f"string would be split); got {type(numkeys).__name__} {numkeys!r}"
            )
        if keys or len(keys_and_args) > 1:
            raise DataValueError(f"{name}() takes keys as the second argument or keys=, not both")
        keys = numkeys
        if keys_and_args:
            if args:
                raise DataValueError(
                    f"{name}() takes args as the third argument or args=, not both"
                )
            args = keys_and_args[0]
    elif keys_and_args:
        raise DataValueError(f"{name}(): keys_and_args given without numkeys")
    if isinstance(keys, str | bytes) or isinstance(args, str | bytes):
        raise DataTypeError(f"{name}(): keys and args are lists (a lone string would be split)")
    key_list = list(keys)
    return [len(key_list), *key_list, *args]


def eval_(
    script: str | bytes,
    numkeys: int | Iterable[Key] | None = None,
    *keys_and_args: Any,
    keys: Iterable[Key] = (),
    args: Iterable[Value] = (),
) -> Command[Any]:
    """EVAL: run the Lua ``script`` with its keys (KEYS) and args (ARGV); its reply.

    As in redis-py, ``numkeys`` counts the keys that lead ``keys_and_args``:
    ``eval(script, 1, "key", "arg")``. Or give the lists ``keys=`` and
    ``args=`` (``eval(script, keys=["key"], args=["arg"])``, or positionally
    ``eval(script, ["key"], ["arg"])``), which cannot disagree with a count.
    Mixing the forms, or a ``numkeys`` above the number of ``keys_and_args``,
    raises ``ValueError``. ``evalsha``, ``eval_ro``, ``fcall``... take the same.

    Prefer ``register_script()``, which sends the script only when the server
    lacks it. The reply is the script's, as sent: under ``protocol=3`` what a
    script returns as a RESP3 type (``{double=1.5}``, ``{map={...}}``, a map
    from ``redis.setresp(3)``) arrives as one (``float``, ``dict``), where
    RESP2 sends text and flat lists.
    """
    return ("EVAL", script, *_keys_and_args("eval", numkeys, keys_and_args, keys, args)), None


def eval_ro(
    script: str | bytes,
    numkeys: int | Iterable[Key] | None = None,
    *keys_and_args: Any,
    keys: Iterable[Key] = (),
    args: Iterable[Value] = (),
) -> Command[Any]:
    """EVAL_RO: like ``eval`` for a script that only reads (runs on replicas too)."""
    return (
        ("EVAL_RO", script, *_keys_and_args("eval_ro", numkeys, keys_and_args, keys, args)),
        None,
    )


def evalsha(
    sha: str,
    numkeys: int | Iterable[Key] | None = None,
    *keys_and_args: Any,
    keys: Iterable[Key] = (),
    args: Iterable[Value] = (),
) -> Command[Any]:
    """EVALSHA: run the loaded script with SHA1 ``sha``; ``NoScriptError`` when not loaded."""
    return (
        ("EVALSHA", sha, *_keys_and_args("evalsha", numkeys, keys_and_args, keys, args)),
        None,
    )


def evalsha_ro(
    sha: str,
    numkeys: int | Iterable[Key] | None = None,
    *keys_and_args: Any,
    keys: Iterable[Key] = (),
    args: Iterable[Value] = (),
) -> Command[Any]:
    """EVALSHA_RO: like ``evalsha`` for a script that only reads."""
    tail = _keys_and_args("evalsha_ro", numkeys, keys_and_args, keys, args)
    return ("EVALSHA_RO", sha, *tail), None


def script_load(script: str | bytes) -> Command[str]:
    """SCRIPT LOAD: load ``script`` without running it; its SHA1 as ``str``."""
    return ("SCRIPT", "LOAD", script), to_str


def script_exists(*shas: str) -> Command[list[bool]]:
    """SCRIPT EXISTS: for each SHA1, whether the server has that script loaded."""
    need_keys("script_exists", shas, "SHA1")
    return ("SCRIPT", "EXISTS", *shas), bool_list


def _flush_mode(name: str, mode: object, asynchronous: bool, sync: bool = False) -> tuple[Arg, ...]:
    """``("ASYNC",)``, ``("SYNC",)`` or ``()`` from redis-py's mode word or aiopool's flags.

    A bool ``mode`` is aiopool's earlier positional ``asynchronous``.
    """
    if isinstance(mode, bool):
        asynchronous, mode = asynchronous or mode, None
    if mode is not None:
        if not isinstance(mode, str):
            raise DataTypeError(
                f"{name} must be 'SYNC', 'ASYNC' or None, got {type(mode).__name__}"
            )
        word = mode.upper()
        if word not in ("SYNC", "ASYNC"):
            raise DataValueError(f"{name} must be 'SYNC', 'ASYNC' or None, got {mode!r}")
        if asynchronous or sync:
            raise DataValueError(f"give {name} or asynchronous=/sync=, not both")
        return (word,)
    flag = one_of(asynchronous=asynchronous, sync=sync)
    return {"asynchronous": ("ASYNC",), "sync": ("SYNC",), None: ()}[flag]


def script_flush(
    sync_type: str | None = None, *, asynchronous: bool = False, sync: bool = False
) -> Command[bool]:
    """SCRIPT FLUSH: drop every loaded script; ``True``.

    ``sync_type`` is ``"SYNC"`` or ``"ASYNC"`` as in redis-py (``None``: the
    server's default); ``asynchronous=True``/``sync=True`` say the same.
    """
    return ("SCRIPT", "FLUSH", *_flush_mode("sync_type", sync_type, asynchronous, sync)), ok


def fcall(
    function: str,
    numkeys: int | Iterable[Key] | None = None,
    *keys_and_args: Any,
    keys: Iterable[Key] = (),
    args: Iterable[Value] = (),
) -> Command[Any]:
    """FCALL: call the library function ``function`` with its keys and args; its reply.

    The keys and args come as in ``eval``: ``fcall(function, 1, "key", "arg")``
    (redis-py's) or ``fcall(function, keys=["key"], args=["arg"])``.
    """
    return (
        ("FCALL", function, *_keys_and_args("fcall", numkeys, keys_and_args, keys, args)),
        None,
    )


def fcall_ro(
    function: str,
    numkeys: int | Iterable[Key] | None = None,
    *keys_and_args: Any,
    keys: Iterable[Key] = (),
    args: Iterable[Value] = (),
) -> Command[Any]:
    """FCALL_RO: like ``fcall`` for a function flagged ``no-writes``."""
    tail = _keys_and_args("fcall_ro", numkeys, keys_and_args, keys, args)
    return ("FCALL_RO", function, *tail), None


def function_load(code: str | bytes, replace: bool = False) -> Command[str]:
    """FUNCTION LOAD: load a library (``#!lua name=...`` source); the library name."""
    tail = ("REPLACE",) if replace else ()
    return ("FUNCTION", "LOAD", *tail, code), to_str


def function_delete(library: str) -> Command[bool]:
    """FUNCTION DELETE: delete the library named ``library``; ``True``."""
    return ("FUNCTION", "DELETE", library), ok


def function_flush(mode: str | None = "SYNC", *, asynchronous: bool = False) -> Command[bool]:
    """FUNCTION FLUSH: delete every library; ``True``.

    ``mode`` is ``"SYNC"`` (redis-py's default) or ``"ASYNC"``; ``None`` with
    ``asynchronous=True`` flushes in the background too.
    """
    if asynchronous and mode == "SYNC":
        mode = None  # the default, overridden by the flag
    return ("FUNCTION", "FLUSH", *_flush_mode("mode", mode, asynchronous)), ok


def function_list(
    library: str | None = "*", withcode: bool = False
) -> Command[list[dict[str, Any]]]:
    """FUNCTION LIST: the loaded libraries, each a dict (``library_name``, ``functions``, ...).

    ``library`` is a glob pattern of the library names to list (all by default).
    """
    args: list[Arg] = ["FUNCTION", "LIST"]
    if library is not None:
        args += ("LIBRARYNAME", library)
    if withcode:
        args.append("WITHCODE")
    return tuple(args), _libraries


def _libraries(reply: Any) -> list[dict[str, Any]]:
    libraries = []
    for raw in reply:
        library = _fields(raw)
        library["functions"] = [_fields(fn) for fn in library.get("functions", [])]
        libraries.append(library)
    return libraries


def script_kill() -> Command[bool]:
    """SCRIPT KILL: stop the Lua script running now (if it wrote nothing); ``True``.

    No script running raises ``ReplyError`` (``NOTBUSY``). On a
    ``ClusterClient``: not offered (the script runs on one node:
    ``cluster.node(address).script_kill()``).
    """
    return ("SCRIPT", "KILL"), ok


def function_dump() -> Command[bytes]:
    """FUNCTION DUMP: every library as one binary payload for ``function_restore``.

    The payload is binary: with ``decode_responses=True`` it cannot be
    decoded and raises ``ProtocolError`` (redis-py skips decoding for it).
    On a ``ClusterClient``: any one primary.
    """
    return ("FUNCTION", "DUMP"), None


_RESTORE_POLICIES = ("APPEND", "REPLACE", "FLUSH")


def function_restore(payload: bytes, policy: str | None = "APPEND") -> Command[bool]:
    """FUNCTION RESTORE: load the libraries of a ``function_dump`` payload; ``True``.

    ``policy``: ``"APPEND"`` (a library that exists already raises
    ``ReplyError``), ``"REPLACE"`` or ``"FLUSH"`` (drop every library
    first). On a ``ClusterClient``: every primary.
    """
    if policy is None:
        return ("FUNCTION", "RESTORE", payload), ok
    if not isinstance(policy, str) or policy.upper() not in _RESTORE_POLICIES:
        raise DataValueError(f"policy must be APPEND, REPLACE or FLUSH, got {policy!r}")
    return ("FUNCTION", "RESTORE", payload, policy), ok


def function_stats() -> Command[list[Any]]:
    """FUNCTION STATS: the running function and the engines, as sent (as redis-py's).

    ``[b"running_script", None, b"engines", [b"LUA", [b"libraries_count",
    1, b"functions_count", 1]]]``, RESP2's flat lists under RESP3 too (where the
    server sends maps). On a ``ClusterClient``: any one primary.
    """
    return ("FUNCTION", "STATS"), _resp2


def function_kill() -> Command[bool]:
    """FUNCTION KILL: stop the function running now (if it wrote nothing); ``True``.

    redis-py returns the raw ``OK``. No function running raises
    ``ReplyError`` (``NOTBUSY``). On a ``ClusterClient``: not offered.
    """
    return ("FUNCTION", "KILL"), ok
