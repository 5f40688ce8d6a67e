"""Lua scripts and functions: EVAL, EVALSHA, SCRIPT *, FCALL, FUNCTION *."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._base import Arg, Command, Key, Value, bool_list, named_fields, need_keys, ok, one_of, to_str


def _keys_and_args(name: str, keys: Iterable[Key], args: Iterable[Value]) -> list[Arg]:
    if isinstance(keys, str | bytes) or isinstance(args, str | bytes):
        raise TypeError(f"{name}(): keys and args are lists (a lone string would be split)")
    key_list = list(keys)
    return [len(key_list), *key_list, *args]


def _script_args(
    name: str,
    numkeys: int | Iterable[Key] | None,
    keys_and_args: tuple[Any, ...],
    keys: Iterable[Key] | None,
    args: Iterable[Value] | None,
) -> list[Arg]:
    """``numkeys, *keys, *args`` from redis-py's form or aiopool's.

    redis-py's: ``eval(script, 2, "k1", "k2", "a1")`` (a key count, then the
    keys and the arguments). aiopool's: ``eval(script, ["k1", "k2"], ["a1"])``
    or ``keys=``/``args=``.
    """
    if isinstance(numkeys, bool):
        raise TypeError(f"{name}(): numkeys must be an int or a list of keys, got {numkeys!r}")
    if isinstance(numkeys, int):
        if keys is not None or args is not None:
            raise ValueError(
                f"{name}(): give numkeys and then the keys and args (redis-py's form), or "
                "keys= and args=, not both"
            )
        if numkeys < 0 or numkeys > len(keys_and_args):
            raise ValueError(
                f"{name}(): numkeys={numkeys}, but {len(keys_and_args)} keys and args follow it"
            )
        return [numkeys, *keys_and_args]
    if numkeys is not None:
        if keys is not None:
            raise ValueError(f"{name}(): keys given twice (as the second argument and keys=)")
        keys = numkeys
    if keys_and_args:
        if len(keys_and_args) > 1 or args is not None:
            raise TypeError(
                f"{name}() takes a list of keys and one list of args, or redis-py's form: "
                "a key count, then the keys and args"
            )
        args = keys_and_args[0]
    return _keys_and_args(name, keys or (), args or ())


def eval_(
    script: str | bytes,
    numkeys: int | Iterable[Key] | None = None,
    *keys_and_args: Any,
    keys: Iterable[Key] | None = None,
    args: Iterable[Value] | None = None,
) -> Command[Any]:
    """EVAL: run the Lua ``script`` with ``keys`` (KEYS) and ``args`` (ARGV); its reply.

    Both redis-py's form, ``eval(script, numkeys, *keys_and_args)``, and
    aiopool's, ``eval(script, keys, args)`` (lists, or ``keys=``/``args=``),
    work; so do they for ``eval_ro``, ``evalsha``, ``evalsha_ro``, ``fcall``
    and ``fcall_ro``.

    Prefer ``register_script()``, which sends the script only when the server
    lacks it.
    """
    return ("EVAL", script, *_script_args("eval", numkeys, keys_and_args, keys, args)), None


def eval_ro(
    script: str | bytes,
    numkeys: int | Iterable[Key] | None = None,
    *keys_and_args: Any,
    keys: Iterable[Key] | None = None,
    args: Iterable[Value] | None = None,
) -> Command[Any]:
    """EVAL_RO: like ``eval`` for a script that only reads (runs on replicas too)."""
    return ("EVAL_RO", script, *_script_args("eval_ro", numkeys, keys_and_args, keys, args)), None


def evalsha(
    sha: str,
    numkeys: int | Iterable[Key] | None = None,
    *keys_and_args: Any,
    keys: Iterable[Key] | None = None,
    args: Iterable[Value] | None = None,
) -> Command[Any]:
    """EVALSHA: run the loaded script with SHA1 ``sha``; ``NoScriptError`` when not loaded."""
    return ("EVALSHA", sha, *_script_args("evalsha", numkeys, keys_and_args, keys, args)), None


def evalsha_ro(
    sha: str,
    numkeys: int | Iterable[Key] | None = None,
    *keys_and_args: Any,
    keys: Iterable[Key] | None = None,
    args: Iterable[Value] | None = None,
) -> Command[Any]:
    """EVALSHA_RO: like ``evalsha`` for a script that only reads."""
    return (
        "EVALSHA_RO",
        sha,
        *_script_args("evalsha_ro", numkeys, keys_and_args, keys, args),
    ), None


def script_load(script: str | bytes) -> Command[str]:
    """SCRIPT LOAD: load ``script`` without running it; its SHA1 as ``str``."""
    return ("SCRIPT", "LOAD", script), to_str


def script_exists(*shas: str) -> Command[list[bool]]:
    """SCRIPT EXISTS: for each SHA1, whether the server has that script loaded."""
    need_keys("script_exists", shas, "SHA1")
    return ("SCRIPT", "EXISTS", *shas), bool_list


def script_flush(asynchronous: bool = False, *, sync: bool = False) -> Command[bool]:
    """SCRIPT FLUSH: drop every loaded script (``ASYNC`` or ``SYNC`` when asked); ``True``."""
    mode = one_of(asynchronous=asynchronous, sync=sync)
    tail = {"asynchronous": ("ASYNC",), "sync": ("SYNC",), None: ()}[mode]
    return ("SCRIPT", "FLUSH", *tail), ok


def fcall(
    function: str,
    numkeys: int | Iterable[Key] | None = None,
    *keys_and_args: Any,
    keys: Iterable[Key] | None = None,
    args: Iterable[Value] | None = None,
) -> Command[Any]:
    """FCALL: call the library function ``function`` with ``keys`` and ``args``; its reply."""
    return ("FCALL", function, *_script_args("fcall", numkeys, keys_and_args, keys, args)), None


def fcall_ro(
    function: str,
    numkeys: int | Iterable[Key] | None = None,
    *keys_and_args: Any,
    keys: Iterable[Key] | None = None,
    args: Iterable[Value] | None = None,
) -> Command[Any]:
    """FCALL_RO: like ``fcall`` for a function flagged ``no-writes``."""
    return (
        "FCALL_RO",
        function,
        *_script_args("fcall_ro", numkeys, keys_and_args, keys, args),
    ), None


def function_load(code: str | bytes, replace: bool = False) -> Command[str]:
    """FUNCTION LOAD: load a library (``#!lua name=...`` source); the library name."""
    tail = ("REPLACE",) if replace else ()
    return ("FUNCTION", "LOAD", *tail, code), to_str


def function_delete(library: str) -> Command[bool]:
    """FUNCTION DELETE: delete the library named ``library``; ``True``."""
    return ("FUNCTION", "DELETE", library), ok


def function_flush(asynchronous: bool = False) -> Command[bool]:
    """FUNCTION FLUSH: delete every library; ``True``."""
    return ("FUNCTION", "FLUSH", "ASYNC") if asynchronous else ("FUNCTION", "FLUSH"), ok


def function_list(
    library: str | None = None, withcode: bool = False
) -> Command[list[dict[str, Any]]]:
    """FUNCTION LIST: the loaded libraries, each a dict (``library_name``, ``functions``, ...)."""
    args: list[Arg] = ["FUNCTION", "LIST"]
    if library is not None:
        args += ("LIBRARYNAME", library)
    if withcode:
        args.append("WITHCODE")
    return tuple(args), _libraries


def _libraries(reply: Any) -> list[dict[str, Any]]:
    libraries = []
    for raw in reply:
        library = named_fields(raw)
        library["functions"] = [named_fields(fn) for fn in library.get("functions", [])]
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
        raise ValueError(f"policy must be APPEND, REPLACE or FLUSH, got {policy!r}")
    return ("FUNCTION", "RESTORE", payload, policy), ok


def function_stats() -> Command[list[Any]]:
    """FUNCTION STATS: the running function and the engines, as sent (as redis-py's).

    ``[b"running_script", None, b"engines", [b"LUA", [b"libraries_count",
    1, b"functions_count", 1]]]``. On a ``ClusterClient``: any one primary.
    """
    return ("FUNCTION", "STATS"), None


def function_kill() -> Command[bool]:
    """FUNCTION KILL: stop the function running now (if it wrote nothing); ``True``.

    redis-py returns the raw ``OK``. No function running raises
    ``ReplyError`` (``NOTBUSY``). On a ``ClusterClient``: not offered.
    """
    return ("FUNCTION", "KILL"), ok
