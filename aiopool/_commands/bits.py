"""Bitmap and HyperLogLog commands: SETBIT, BITCOUNT, BITOP, PFADD, PFCOUNT, ..."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, Literal, TypeVar

from .._errors import DataTypeError, DataValueError
from ._base import Arg, Command, Key, Value, integer, need_keys, not_negative, ok, to_bool

R = TypeVar("R")
# A BITFIELD offset: bits as an int, or "#n" for n times the field's width.
Offset = int | str

# How BITCOUNT and BITPOS read ``start`` and ``end``: byte (the default) or bit offsets.
RangeMode = Literal["BYTE", "BIT", "byte", "bit"]
BitOperation = Literal["AND", "OR", "XOR", "NOT", "and", "or", "xor", "not"]

_OPERATIONS = ("AND", "OR", "XOR", "NOT")


def _bit(name: str, value: object) -> int:
    """``value`` as a bit, 0 or 1 (``True``/``False`` too, as redis-py takes them)."""
    if isinstance(value, bool):
        return int(value)
    if integer(name, value) not in (0, 1):
        raise DataValueError(f"{name} must be 0 or 1, got {value!r}")
    return value  # type: ignore[return-value]


def _word(name: str, value: object, choices: tuple[str, ...]) -> str:
    """``value`` as one of ``choices``, in capitals (any case accepted)."""
    if not isinstance(value, str):
        raise DataTypeError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    word = value.upper()
    if word not in choices:
        raise DataValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return word


def _range(
    name: str, start: int | None, end: int | None, mode: RangeMode | None, *, need_end: bool
) -> list[Arg]:
    """``[start [end [BYTE|BIT]]]`` for BITCOUNT and BITPOS."""
    if start is None:
        if end is not None:
            raise DataValueError(f"{name}(): end needs start")
        if mode is not None:
            raise DataValueError(f"{name}(): mode needs start and end")
        return []
    args: list[Arg] = [integer("start", start)]
    if end is None:
        if need_end:
            raise DataValueError(f"{name}(): give start and end together, or neither")
        if mode is not None:
            raise DataValueError(f"{name}(): mode needs start and end")
        return args
    args.append(integer("end", end))
    if mode is not None:
        args.append(_word("mode", mode, ("BYTE", "BIT")))
    return args


# -- bitmaps ----------------------------------------------------------------------------


def setbit(name: Key, offset: int, value: int) -> Command[int]:
    """SETBIT: set the bit at ``offset`` to ``value`` (0 or 1); the bit's old value.

    The string grows (zero-filled) to reach ``offset``; a missing key counts
    as an empty string.
    """
    return ("SETBIT", name, not_negative("offset", offset), _bit("value", value)), None


def getbit(name: Key, offset: int) -> Command[int]:
    """GETBIT: the bit (0 or 1) at ``offset``; 0 beyond the end or when ``name`` is missing."""
    return ("GETBIT", name, not_negative("offset", offset)), None


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
        raise DataValueError(f"bitop(): NOT takes exactly one source key, got {len(keys)}")
    return ("BITOP", word, dest, *keys), None


# -- HyperLogLog ---------------------------------------------------------------------------


def pfadd(name: Key, *elements: Value) -> Command[bool]:
    """PFADD: add ``elements`` to the HyperLogLog at ``name``; ``True`` if its estimate changed.

    Without elements it only creates the HyperLogLog (``True`` if it was
    missing).
    """
    return ("PFADD", name, *elements), to_bool


def pfcount(*keys: Key) -> Command[int]:
    """PFCOUNT: the estimated number of distinct elements in the union of ``keys``' HyperLogLogs.

    Missing keys count as empty; the standard error is 0.81%.
    """
    need_keys("pfcount", keys)
    return ("PFCOUNT", *keys), None


def pfmerge(dest: Key, *sources: Key) -> Command[bool]:
    """PFMERGE: store the union of ``dest`` and ``sources``' HyperLogLogs at ``dest``; ``True``."""
    return ("PFMERGE", dest, *sources), ok


# -- BITFIELD -----------------------------------------------------------------------------


def _overflow(value: object) -> str:
    return _word("overflow", value, ("WRAP", "SAT", "FAIL"))


def _field(encoding: object, offset: object) -> tuple[str, Offset]:
    """``(encoding, offset)`` checked: ``"u8"``/``"i16"``..., and an int or ``"#n"`` offset."""
    if not isinstance(encoding, str):
        raise DataTypeError(f"fmt must be an encoding str such as 'u8' or 'i16', got {encoding!r}")
    if isinstance(offset, str):
        if not offset.startswith("#") or not offset[1:].isdigit():
            raise DataValueError(f"offset must be an int or '#n' (n fields in), got {offset!r}")
        return encoding, offset
    return encoding, not_negative("offset", offset)


class BitFieldOperation(Generic[R]):
    """redis-py's BITFIELD builder: ``get``/``set``/``incrby``/``overflow`` chain, ``execute()`` runs.

    ``client.bitfield(key)`` makes one. Each call adds one subcommand and
    returns the builder; ``execute()`` sends them all as one BITFIELD and
    empties the builder (as redis-py's). Its result is the surface's: on
    ``Client`` and ``ClusterClient`` an awaitable of the list of results (one
    per ``get``/``set``/``incrby``: an int, or ``None`` for an ``incrby``
    that ``overflow("FAIL")`` stopped); on a pipeline ``execute()`` queues
    the BITFIELD and returns the pipeline (nothing is sent until the
    pipeline's own ``execute()``), so ``pipe.bitfield(k).set(...).execute()``
    chains on as in redis-py. ``default_overflow`` (``"WRAP"``, the Redis
    default, ``"SAT"`` or ``"FAIL"``) starts the builder with that mode.
    Bad arguments raise ``TypeError``/``ValueError`` at the call that gives them.
    """

    __slots__ = ("_default_overflow", "_last_overflow", "_submit", "key", "operations")

    def __init__(
        self,
        submit: Callable[[Command[list[int | None]]], R],
        key: Key,
        default_overflow: str | None = None,
    ) -> None:
        self._submit = submit
        self.key = key
        self._default_overflow = None if default_overflow is None else _overflow(default_overflow)
        self.operations: list[tuple[Arg, ...]] = []
        self._last_overflow = "WRAP"
        self.reset()

    def __repr__(self) -> str:
        return f"<BitFieldOperation key={self.key!r} operations={len(self.operations)}>"

    def reset(self) -> None:
        """Drop every queued subcommand; the overflow mode is the default again."""
        self.operations = []
        self._last_overflow = "WRAP"
        self.overflow(self._default_overflow or "WRAP")

    def overflow(self, overflow: str) -> BitFieldOperation[R]:
        """OVERFLOW ``WRAP``/``SAT``/``FAIL`` for the ``incrby`` (and ``set``) calls after it."""
        word = _overflow(overflow)
        if word != self._last_overflow:
            self._last_overflow = word
            self.operations.append(("OVERFLOW", word))
        return self

    def incrby(
        self, fmt: str, offset: Offset, increment: int, overflow: str | None = None
    ) -> BitFieldOperation[R]:
        """INCRBY: add ``increment`` to the field ``fmt`` at ``offset`` (with this ``overflow``)."""
        field = _field(fmt, offset)
        amount = integer("increment", increment)
        if overflow is not None:
            self.overflow(overflow)
        self.operations.append(("INCRBY", *field, amount))
        return self

    def get(self, fmt: str, offset: Offset) -> BitFieldOperation[R]:
        """GET: read the field ``fmt`` (``"u8"``, ``"i5"``, ...) at bit ``offset`` (or ``"#n"``)."""
        self.operations.append(("GET", *_field(fmt, offset)))
        return self

    def set(self, fmt: str, offset: Offset, value: int) -> BitFieldOperation[R]:
        """SET: write ``value`` to the field ``fmt`` at ``offset``; its result is the old value."""
        self.operations.append(("SET", *_field(fmt, offset), integer("value", value)))
        return self

    @property
    def command(self) -> list[Arg]:
        """The BITFIELD command as it will be sent."""
        return ["BITFIELD", self.key, *(arg for operation in self.operations for arg in operation)]

    def execute(self) -> R:
        """Send (or on a pipeline queue) the subcommands as one BITFIELD, and reset the builder."""
        args = tuple(self.command)
        self.reset()
        return self._submit((args, None))


def bitfield_ro(
    key: Key,
    encoding: str,
    offset: Offset,
    items: Sequence[tuple[str, Offset]] | None = None,
) -> Command[list[int]]:
    """BITFIELD_RO: the values of the field ``encoding`` at ``offset`` and of ``items``, in order.

    ``items`` is a list of further ``(encoding, offset)`` pairs to read. The
    read-only form of ``bitfield(key).get(...)``: replicas may serve it.
    """
    args: list[Arg] = ["BITFIELD_RO", key, "GET", *_field(encoding, offset)]
    for item in items or ():
        args += ("GET", *_field(*item))
    return tuple(args), None
