"""The ``Command`` value and what the command families share.

A command is a plain pair, ``(args, transform)``: the arguments to send,
and how to turn the raw reply into the result (``None``: the raw reply is
the result). A tuple, not a class, because every queued pipeline command
builds one: a tuple display costs no call at all, where a ``NamedTuple``
runs a Python ``__new__`` (about 2,500 instructions, half what packing the
command costs; ``python tools/pipeline_cost.py --callgrind`` counts them).

Argument checks raise here, before anything is sent: ``TypeError`` for a
value of the wrong type and ``ValueError`` for a wrong value or a bad
combination of options, each naming the argument to fix. Reply transforms
accept both ``bytes`` and ``str`` replies (``decode_responses``).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeAlias, TypeVar

from .._errors import DataTypeError, DataValueError, ProtocolError
from .._protocol import Arg, display_name

__all__ = [
    "Arg",
    "Command",
    "Deadline",
    "Expiry",
    "Key",
    "KeyOrKeys",
    "Number",
    "Value",
    "apply",
]

T = TypeVar("T")

Key = str | bytes | memoryview
Value = str | bytes | int | float | memoryview
Number = int | float
# One key, or an iterable of keys (a str or bytes counts as one key).
KeyOrKeys = Key | Iterable[Key]
# Mappings are typed ``Mapping[Any, ...]``: ``Mapping`` is invariant in its key
# type, so ``Mapping[Key, ...]`` would reject a plain ``dict[str, str]``
# variable. Keys are checked when the command is encoded.
Expiry = int | datetime.timedelta
Deadline = int | datetime.datetime


# ``(args, transform)``: what to send, and how the raw reply becomes a ``T``
# (``None`` when the raw reply is already the result).
Command: TypeAlias = tuple[tuple[Arg, ...], Callable[[Any], T] | None]


def apply(command: Command[T], reply: Any, address: str) -> T:
    """``command``'s result from its raw ``reply`` (from the server at ``address``).

    A reply of a shape the command cannot have (an integer for ``HGETALL``,
    text for ``INCRBYFLOAT``) raises ``ProtocolError`` naming the server and
    the command, never a bare ``TypeError``/``ValueError`` from the transform.
    The reply was read whole, so the connection is still in step.
    """
    args, transform = command
    if transform is None:
        return reply  # type: ignore[no-any-return]
    try:
        return transform(reply)
    except Exception as exc:
        shown = repr(reply)
        shown = shown if len(shown) <= 80 else f"{shown[:77]}..."
        raise ProtocolError(
            f"{address} answered {display_name(args)} with {shown}, which that command "
            f"cannot return ({type(exc).__name__}: {exc}); is it a Redis server, or a proxy "
            "that rewrites replies?"
        ) from exc


# -- argument checks ------------------------------------------------------------------


def integer(name: str, value: object) -> int:
    """``value`` as an int argument; ``TypeError`` naming ``name`` otherwise (bool too)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise DataTypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    return value


def int_like(name: str, value: object) -> int:
    """An int argument that may come as an integer str or bytes (``"0"``), as redis-py passes them."""
    if isinstance(value, str | bytes) and not isinstance(value, bool):
        try:
            return int(value)
        except ValueError:
            raise DataValueError(f"{name} must be an integer, got {value!r}") from None
    return integer(name, value)


def number(name: str, value: object) -> int | float:
    """``value`` as an int or float argument; ``TypeError`` naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DataTypeError(f"{name} must be an int or float, got {type(value).__name__} {value!r}")
    return value


def positive(name: str, value: object) -> int:
    """``value`` as an int > 0; ``TypeError``/``ValueError`` naming ``name`` otherwise."""
    if integer(name, value) <= 0:
        raise DataValueError(f"{name} must be a positive int, got {value!r}")
    return value  # type: ignore[return-value]


def not_negative(name: str, value: object) -> int:
    """``value`` as an int >= 0; ``TypeError``/``ValueError`` naming ``name`` otherwise."""
    if integer(name, value) < 0:
        raise DataValueError(f"{name} must be an int >= 0, got {value!r}")
    return value  # type: ignore[return-value]


def block_seconds(name: str, value: object) -> int | float:
    """A blocking time in seconds (0 blocks for ever); ``ValueError`` if negative."""
    if isinstance(value, datetime.timedelta):
        value = value.total_seconds()
    if number(name, value) < 0:
        raise DataValueError(f"{name} must be >= 0 seconds (0 blocks for ever), got {value!r}")
    return value  # type: ignore[return-value]


def _whole(name: str, value: object, unit: str, alternative: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DataTypeError(
            f"{name} must be an int of {unit} or a {alternative}, got {type(value).__name__} "
            f"{value!r}"
        )
    if value <= 0:
        raise DataValueError(f"{name} must be positive, got {value!r}")
    return value


def seconds(name: str, value: object) -> int:
    """Whole seconds from an int or ``timedelta``; must be positive."""
    if isinstance(value, datetime.timedelta):
        total = value.total_seconds()
        if total != int(total):
            raise DataValueError(f"{name} must be whole seconds, got {value!r}; use the ms variant")
        value = int(total)
    return _whole(name, value, "seconds", "timedelta")


def millis(name: str, value: object) -> int:
    """Whole milliseconds from an int or ``timedelta``; must be positive."""
    if isinstance(value, datetime.timedelta):
        # Exact integer arithmetic (1001 ms stays 1001, where float seconds
        # times 1000 gives 1000); a fraction is refused, as in ``seconds``.
        whole, rest = divmod(value, datetime.timedelta(milliseconds=1))
        if rest:
            raise DataValueError(f"{name} must be whole milliseconds, got {value!r}")
        value = whole
    return _whole(name, value, "milliseconds", "timedelta")


def unix(name: str, value: object, *, in_millis: bool) -> int:
    """A unix time (seconds, or milliseconds) from an int or ``datetime``."""
    if isinstance(value, datetime.datetime):
        stamp = value.timestamp()
        # round(): stamp * 1000 of a whole millisecond can land a hair below it.
        value = round(stamp * 1000) if in_millis else int(stamp)
    return _whole(name, value, "unix milliseconds" if in_millis else "unix seconds", "datetime")


def one_of(**given: object) -> str | None:
    """The name of the one truthy option, ``None`` if none; ``ValueError`` for several."""
    chosen = [name for name, value in given.items() if value]
    if len(chosen) > 1:
        raise DataValueError(f"give at most one of {', '.join(given)}; got {', '.join(chosen)}")
    return chosen[0] if chosen else None


def need_keys(name: str, keys: tuple[Any, ...], what: str = "key") -> None:
    """``ValueError`` when a variadic command was given nothing."""
    if not keys:
        raise DataValueError(f"{name}() needs at least one {what}")


def keys_or_list(
    name: str, keys: tuple[Key | Sequence[Key], ...], what: str = "key"
) -> tuple[Key, ...]:
    """redis-py's list-or-varargs: ``mget("a", "b")``, ``mget(["a", "b"])``, ``mget(["a"], "b")``.

    A list or tuple given first stands for its items; ``ValueError`` when
    nothing is left, ``TypeError`` for a list anywhere else.
    """
    if keys and isinstance(keys[0], list | tuple):
        keys = (*keys[0], *keys[1:])
    for index, key in enumerate(keys):
        if isinstance(key, list | tuple):
            raise DataTypeError(
                f"{name}() takes {what}s as arguments or one list first, got a "
                f"{type(key).__name__} at position {index}"
            )
    need_keys(name, keys, what)
    return keys  # type: ignore[return-value]


def key_list(name: str, keys: KeyOrKeys) -> tuple[Key, ...]:
    """One key or an iterable of keys as a non-empty tuple (a str is one key)."""
    if isinstance(keys, str | bytes | memoryview):
        return (keys,)
    result = tuple(keys)
    need_keys(name, result)
    return result


def pairs(name: str, mapping: Mapping[Any, Any], what: str = "mapping") -> list[Arg]:
    """A non-empty mapping flattened to ``[k1, v1, k2, v2, ...]``."""
    if not isinstance(mapping, Mapping):
        raise DataTypeError(f"{name}() takes a mapping, got {type(mapping).__name__}")
    if not mapping:
        raise DataValueError(f"{name}() needs a non-empty {what}")
    flat: list[Arg] = []
    for key, value in mapping.items():
        flat += (key, value)
    return flat


def scan_args(
    name: str, key: Key | None, cursor: int, match: str | bytes | None, count: int | None
) -> list[Arg]:
    """``[NAME, (key,) cursor, MATCH m, COUNT c]`` for the SCAN family."""
    args: list[Arg] = [name, cursor] if key is None else [name, key, cursor]
    if match is not None:
        args += ("MATCH", match)
    if count is not None:
        args += ("COUNT", positive("count", count))
    return args


def expiry_args(
    ex: Expiry | None, px: Expiry | None, exat: Deadline | None, pxat: Deadline | None
) -> list[Arg]:
    """``EX``/``PX``/``EXAT``/``PXAT`` arguments; at most one may be given."""
    which = one_of(
        ex=ex is not None, px=px is not None, exat=exat is not None, pxat=pxat is not None
    )
    if which == "ex":
        return ["EX", seconds("ex", ex)]
    if which == "px":
        return ["PX", millis("px", px)]
    if which == "exat":
        return ["EXAT", unix("exat", exat, in_millis=False)]
    if which == "pxat":
        return ["PXAT", unix("pxat", pxat, in_millis=True)]
    return []


# -- reply transforms ---------------------------------------------------------------------


def ok(reply: Any) -> bool:
    """``True`` for a ``+OK`` reply."""
    return reply in (b"OK", "OK")


def ok_or_none(reply: Any) -> bool | None:
    """``True`` for ``+OK``, ``None`` for a nil reply (a condition prevented it)."""
    return True if reply in (b"OK", "OK") else None


def to_bool(reply: Any) -> bool:
    """An integer reply (0 or 1) as a bool."""
    return bool(reply)


def to_float(reply: Any) -> float:
    """A score or other number as a float: text under RESP2 (``b"3.5"``, ``b"inf"``), a double under RESP3."""
    return float(reply)


def to_float_or_none(reply: Any) -> float | None:
    """Like ``to_float``, with nil as ``None``."""
    return None if reply is None else float(reply)


def to_str(reply: Any) -> str:
    """A status or bulk reply as ``str`` whatever ``decode_responses`` says."""
    return reply.decode() if isinstance(reply, bytes) else str(reply)


def to_str_or_none(reply: Any) -> str | None:
    """Like ``to_str``, with nil as ``None``."""
    return None if reply is None else to_str(reply)


def bool_list(reply: Any) -> list[bool]:
    """An array of 0/1 integers as a list of bools."""
    return [bool(item) for item in reply]


def float_list(reply: Any) -> list[float | None]:
    """An array of numbers-as-strings (nil allowed) as floats."""
    return [None if item is None else float(item) for item in reply]


def to_set(reply: Any) -> set[Any]:
    """An array (RESP2) or a RESP3 set (a list, from hiredis) as a set."""
    return set(reply)


# -- RESP2 or RESP3: one result ----------------------------------------------------------
#
# Under ``protocol=3`` the server sends some replies in richer types: a map
# where RESP2 sends a flat ``[k1, v1, k2, v2, ...]`` array, ``[[k, v], ...]``
# pairs where it sends a flat list, a double where it sends a number as text.
# The transforms below take either shape and give the RESP2-era result, so a
# typed method returns the same value under both protocols. Each shape check
# is one ``isinstance``: these run on every reply of their commands.


def to_dict(reply: Any) -> dict[Any, Any]:
    """A RESP3 map (a dict, from hiredis) or a flat RESP2 ``[k1, v1, ...]`` array as a dict.

    The dict hiredis built is returned as it is: it is new for each reply.
    """
    if isinstance(reply, dict):
        return reply
    it = iter(reply)
    return dict(zip(it, it, strict=True))


def named_fields(reply: Any) -> dict[str, Any]:
    """A map or a flat array of field names and values as a dict keyed by ``str`` names."""
    if isinstance(reply, dict):
        return {to_str(name): value for name, value in reply.items()}
    it = iter(reply)
    return {to_str(name): value for name, value in zip(it, it, strict=True)}


def flat_pairs(reply: Any) -> list[Any]:
    """A map, ``[[k1, v1], ...]`` pairs or a flat list as the flat ``[k1, v1, k2, v2, ...]`` list.

    For results that redis-py's RESP2 client leaves flat (``hrandfield(...,
    withvalues=True)``, ``lcs(..., idx=True)``). A flat list comes back as it
    is; RESP2 never puts a list where a key is, so a list first means pairs.
    """
    if isinstance(reply, dict):
        return [part for pair in reply.items() for part in pair]
    if reply and isinstance(reply[0], list):
        return [part for pair in reply for part in pair]
    return reply  # type: ignore[no-any-return]


def pair_list(reply: Any) -> list[Any]:
    """``[[k1, v1], ...]`` pairs (RESP3) or a flat ``[k1, v1, ...]`` list (RESP2) as pair lists.

    Either way each pair is a 2-item sequence, ready for ``for k, v in ...``.
    A flat list is split; pairs come back as they are.
    """
    if not reply or isinstance(reply[0], list):
        return reply  # type: ignore[no-any-return]
    it = iter(reply)
    return list(zip(it, it, strict=True))


def cursor_batch(reply: Any) -> tuple[int, list[Any]]:
    """A SCAN-family reply as ``(next_cursor, items)``."""
    return int(reply[0]), reply[1]


def scored(reply: Any) -> list[tuple[Any, float]]:
    """Member and score replies as ``[(member, score), ...]`` with float scores.

    RESP2 sends a flat ``[member, b"score", ...]`` list; RESP3 sends
    ``[[member, score], ...]`` pairs with double scores (or, for ZPOPMIN
    without a count, one flat pair). Both give the same result.
    """
    return [(member, float(score)) for member, score in pair_list(reply)]
