"""Bitmap and HyperLogLog commands: SETBIT, BITCOUNT, BITOP, PFADD, PFCOUNT, ..."""

from __future__ import annotations

from typing import Literal

from ._base import Arg, Command, Key, Value, integer, need_keys, not_negative, ok, to_bool

# How BITCOUNT and BITPOS read ``start`` and ``end``: byte (the default) or bit offsets.
RangeMode = Literal["BYTE", "BIT", "byte", "bit"]
BitOperation = Literal["AND", "OR", "XOR", "NOT", "and", "or", "xor", "not"]

_OPERATIONS = ("AND", "OR", "XOR", "NOT")


def _bit(name: str, value: object) -> int:
    """``value`` as a bit, 0 or 1 (``True``/``False`` too, as redis-py takes them)."""
    if isinstance(value, bool):
        return int(value)
    if integer(name, value) not in (0, 1):
        raise ValueError(f"{name} must be 0 or 1, got {value!r}")
    return value  # type: ignore[return-value]


def _word(name: str, value: object, choices: tuple[str, ...]) -> str:
    """``value`` as one of ``choices``, in capitals (any case accepted)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    word = value.upper()
    if word not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return word


def _range(
    name: str, start: int | None, end: int | None, mode: RangeMode | None, *, need_end: bool
) -> list[Arg]:
    """``[start [end [BYTE|BIT]]]`` for BITCOUNT and BITPOS."""
    if start is None:
        if end is not None:
            raise ValueError(f"{name}(): end needs start")
        if mode is not None:
            raise ValueError(f"{name}(): mode needs start and end")
        return []
    args: list[Arg] = [integer("start", start)]
    if end is None:
        if need_end:
            raise ValueError(f"{name}(): give start and end together, or neither")
        if mode is not None:
            raise ValueError(f"{name}(): mode needs start and end")
        return args
    args.append(integer("end", end))
    if mode is not None:
        args.append(_word("mode", mode, ("BYTE", "BIT")))
    return args


# -- bitmaps ----------------------------------------------------------------------------


def setbit(key: Key, offset: int, value: int) -> Command[int]:
    """SETBIT: set the bit at ``offset`` to ``value`` (0 or 1); the bit's old value.

    The string grows (zero-filled) to reach ``offset``; a missing key counts
    as an empty string.
    """
    return ("SETBIT", key, not_negative("offset", offset), _bit("value", value)), None


def getbit(key: Key, offset: int) -> Command[int]:
    """GETBIT: the bit (0 or 1) at ``offset``; 0 beyond the end or when ``key`` is missing."""
    return ("GETBIT", key, not_negative("offset", offset)), None


def bitcount(
    key: Key, start: int | None = None, end: int | None = None, mode: RangeMode | None = None
) -> Command[int]:
    """BITCOUNT: how many bits are set in the string at ``key`` (0 when missing).

    ``start`` and ``end`` (given together; inclusive, negative counts from
    the end) limit the count to a range of bytes, or of bits with
    ``mode="BIT"`` (Redis 7).
    """
    return ("BITCOUNT", key, *_range("bitcount", start, end, mode, need_end=True)), None


def bitpos(
    key: Key,
    bit: int,
    start: int | None = None,
    end: int | None = None,
    mode: RangeMode | None = None,
) -> Command[int]:
    """BITPOS: the position of the first bit equal to ``bit`` (0 or 1); -1 if there is none.

    ``start`` (and ``end``) limit the search to a range of bytes, or of bits
    with ``mode="BIT"`` (Redis 7; needs both ``start`` and ``end``). Looking
    for a 0 without ``end`` finds the first bit past the string when all
    are set.
    """
    return (
        "BITPOS",
        key,
        _bit("bit", bit),
        *_range("bitpos", start, end, mode, need_end=False),
    ), None


def bitop(operation: BitOperation, dest: Key, *keys: Key) -> Command[int]:
    """BITOP: store the bitwise ``operation`` of ``keys`` at ``dest``; the length of the result.

    ``operation`` is ``"AND"``, ``"OR"``, ``"XOR"`` (one or more keys) or
    ``"NOT"`` (exactly one key); any case. Shorter strings count as
    zero-padded; missing keys as empty strings.
    """
    word = _word("operation", operation, _OPERATIONS)
    need_keys("bitop", keys, "source key")
    if word == "NOT" and len(keys) != 1:
        raise ValueError(f"bitop(): NOT takes exactly one source key, got {len(keys)}")
    return ("BITOP", word, dest, *keys), None


# -- HyperLogLog ---------------------------------------------------------------------------


def pfadd(key: Key, *elements: Value) -> Command[bool]:
    """PFADD: add ``elements`` to the HyperLogLog at ``key``; ``True`` if its estimate changed.

    Without elements it only creates the HyperLogLog (``True`` if it was
    missing).
    """
    return ("PFADD", key, *elements), to_bool


def pfcount(*keys: Key) -> Command[int]:
    """PFCOUNT: the estimated number of distinct elements in the union of ``keys``' HyperLogLogs.

    Missing keys count as empty; the standard error is 0.81%.
    """
    need_keys("pfcount", keys)
    return ("PFCOUNT", *keys), None


def pfmerge(dest: Key, *sources: Key) -> Command[bool]:
    """PFMERGE: store the union of ``dest`` and ``sources``' HyperLogLogs at ``dest``; ``True``."""
    return ("PFMERGE", dest, *sources), ok
