"""Which keys a command touches, and which cluster hash slot they map to; no I/O.

Redis Cluster splits the keyspace into 16384 slots: a key's slot is CRC16
(XMODEM, the polynomial ``binascii.crc_hqx`` computes) of the key modulo 16384,
or of its hash tag, the part between the first ``{`` and the next ``}`` when
that part is not empty. Key positions come from the server's own ``COMMAND
INFO`` (``_command_table``); commands whose keys move with their arguments
(EVAL's numkeys, XREAD's STREAMS, ...) are read here, one rule per shape.
"""

from __future__ import annotations

from binascii import crc_hqx
from collections.abc import Callable
from typing import Any, Final

from ._command_table import KEY_POSITIONS, MOVABLE_KEYS
from ._errors import CrossSlotError
from ._protocol import canonical_name, display_form, lower_word

__all__ = ["SLOTS", "command_keys", "command_slot", "key_bytes", "key_slot"]

SLOTS: Final = 16384


def key_bytes(key: Any) -> bytes:
    """The bytes the encoder sends for key ``key``: the server's name for it.

    (hiredis: str as UTF-8, int via str(), float via repr()), so a slot is
    the server's slot and a cache entry links to the key invalidations name.
    """
    if isinstance(key, bytes):
        return key
    if isinstance(key, str):
        return key.encode()
    if isinstance(key, memoryview):
        return key.tobytes()
    if isinstance(key, bool):
        raise TypeError("a key cannot be a bool")
    if isinstance(key, int):
        return str(key).encode()
    if isinstance(key, float):
        return repr(key).encode()
    raise TypeError(f"a key must be str, bytes, int, float or memoryview, got {type(key).__name__}")


def key_slot(key: Any) -> int:
    """The cluster hash slot (0-16383) of ``key``, honouring ``{hash tags}``."""
    data = key_bytes(key)
    start = data.find(b"{")
    if start >= 0:
        end = data.find(b"}", start + 1)
        if end > start + 1:  # "{}" is not a tag: the whole key is hashed
            data = data[start + 1 : end]
    return crc_hqx(data, 0) % SLOTS


def _count(args: tuple[Any, ...], index: int) -> int:
    try:
        return max(0, int(args[index]))
    except (IndexError, TypeError, ValueError):
        return 0  # malformed: the server will say so


def _numkeys_at(index: int) -> Callable[[tuple[Any, ...]], list[Any]]:
    """Keys counted by the argument at ``index`` and following it (EVAL, ZUNION, ...)."""

    def keys(args: tuple[Any, ...]) -> list[Any]:
        count = _count(args, index)
        return list(args[index + 1 : index + 1 + count])

    return keys


def _store_after(
    first: Callable[[tuple[Any, ...]], list[Any]], *words: str
) -> Callable[[tuple[Any, ...]], list[Any]]:
    """``first``'s keys plus the argument after any of ``words`` (SORT ... STORE dest)."""
    wanted = {word.lower() for word in words}

    def keys(args: tuple[Any, ...]) -> list[Any]:
        found = first(args)
        for index in range(2, len(args) - 1):
            if lower_word(args[index]) in wanted:
                found.append(args[index + 1])
        return found

    return keys


def _streams(args: tuple[Any, ...]) -> list[Any]:
    # XREAD [COUNT n] [BLOCK ms] STREAMS k1 k2 id1 id2: keys are the first half.
    for index, arg in enumerate(args):
        if lower_word(arg) == "streams":
            rest = args[index + 1 :]
            return list(rest[: len(rest) // 2])
    return []


def _migrate(args: tuple[Any, ...]) -> list[Any]:
    # MIGRATE host port key|"" db timeout [...] [KEYS k1 k2 ...]
    for index, arg in enumerate(args):
        if index > 5 and lower_word(arg) == "keys":
            return list(args[index + 1 :])
    return [args[3]] if len(args) > 3 and args[3] not in ("", b"") else []


def _first_key(args: tuple[Any, ...]) -> list[Any]:
    return [args[1]] if len(args) > 1 else []


_MOVABLE: Final[dict[str, Callable[[tuple[Any, ...]], list[Any]]]] = {
    "eval": _numkeys_at(2),
    "eval_ro": _numkeys_at(2),
    "evalsha": _numkeys_at(2),
    "evalsha_ro": _numkeys_at(2),
    "fcall": _numkeys_at(2),
    "fcall_ro": _numkeys_at(2),
    "zunion": _numkeys_at(1),
    "zinter": _numkeys_at(1),
    "zdiff": _numkeys_at(1),
    "zintercard": _numkeys_at(1),
    "sintercard": _numkeys_at(1),
    "lmpop": _numkeys_at(1),
    "zmpop": _numkeys_at(1),
    "blmpop": _numkeys_at(2),
    "bzmpop": _numkeys_at(2),
    "zunionstore": lambda args: [*_first_key(args), *_numkeys_at(2)(args)],
    "zinterstore": lambda args: [*_first_key(args), *_numkeys_at(2)(args)],
    "zdiffstore": lambda args: [*_first_key(args), *_numkeys_at(2)(args)],
    "xread": _streams,
    "xreadgroup": _streams,
    "sort": _store_after(_first_key, "STORE"),
    "sort_ro": _first_key,
    "georadius": _store_after(_first_key, "STORE", "STOREDIST"),
    "georadiusbymember": _store_after(_first_key, "STORE", "STOREDIST"),
    "migrate": _migrate,
}


def command_keys(args: tuple[Any, ...], name: str | None = None) -> list[Any]:
    """The key arguments of the command ``args`` (empty for a keyless command).

    ``name`` is ``canonical_name(args)`` when the caller has it already. An
    unknown command is taken to have no keys; the server routes or refuses
    it. Raises ``ValueError`` for a movable-keys command aiopool has no rule
    for (none in Redis 7.0; a newer server's table could add one).
    """
    if name is None:
        name = canonical_name(args)
    movable = _MOVABLE.get(name)
    if movable is not None:
        return movable(args)
    if name in MOVABLE_KEYS:
        raise ValueError(
            f"cannot tell where the keys of {display_form(name)} are, to route it in a cluster; "
            "run it on one node's Client instead"
        )
    span = KEY_POSITIONS.get(name)
    if span is None:
        return []
    first, last, step = span
    stop = len(args) + last + 1 if last < 0 else last + 1
    return list(args[first:stop:step])


def command_slot(args: tuple[Any, ...], name: str | None = None) -> int | None:
    """The one slot every key of ``args`` maps to; ``None`` when it has no keys.

    ``name`` is as for ``command_keys``. Raises ``CrossSlotError`` (nothing
    is sent) when the keys span slots, naming two keys that differ; use a
    ``{hash tag}`` to keep them together.
    """
    if name is None:
        name = canonical_name(args)
    keys = command_keys(args, name)
    if not keys:
        return None
    slot = key_slot(keys[0])
    for key in keys[1:]:
        other = key_slot(key)
        if other != slot:
            raise CrossSlotError(
                f"CROSSSLOT {display_form(name)}: key {keys[0]!r} is in slot {slot} "
                f"and key {key!r} in slot {other}; a multi-key command must keep its keys "
                "in one slot (give them a common {hash tag}, e.g. '{user1}.a', '{user1}.b')"
            )
    return slot
