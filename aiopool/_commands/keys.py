"""Commands on keys of any type: deletion, expiry, renaming, scanning."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from typing import Any

from .._errors import DataTypeError, DataValueError
from ._base import (
    Arg,
    Command,
    Deadline,
    Expiry,
    Key,
    KeyOrKeys,
    cursor_batch,
    int_like,
    integer,
    key_list,
    keys_or_list,
    not_negative,
    ok,
    one_of,
    scan_args,
    to_bool,
    to_str_or_none,
    unix,
)


def delete(*keys: Key | Sequence[Key]) -> Command[int]:
    """DEL: delete ``keys``; how many existed."""
    keys = keys_or_list("delete", keys)
    return ("DEL", *keys), None


def unlink(*keys: Key | Sequence[Key]) -> Command[int]:
    """UNLINK: delete ``keys``, reclaiming memory in the background; how many existed."""
    keys = keys_or_list("unlink", keys)
    return ("UNLINK", *keys), None


def exists(*keys: Key | Sequence[Key]) -> Command[int]:
    """EXISTS: how many of ``keys`` exist (a key named twice counts twice)."""
    keys = keys_or_list("exists", keys)
    return ("EXISTS", *keys), None


def _expire(
    name: str, key: Key, amount: int, nx: bool, xx: bool, gt: bool, lt: bool
) -> Command[bool]:
    args: list[Arg] = [name, key, amount]
    condition = one_of(nx=nx, xx=xx, gt=gt, lt=lt)
    if condition:
        args.append(condition.upper())
    return tuple(args), to_bool


def _ttl(name: str, value: object, *, in_millis: bool) -> int:
    """A relative expiry: any int (<= 0 deletes the key, as in Redis) or a whole ``timedelta``."""
    if isinstance(value, datetime.timedelta):
        unit = datetime.timedelta(milliseconds=1) if in_millis else datetime.timedelta(seconds=1)
        whole, rest = divmod(value, unit)
        if rest:
            what = "milliseconds" if in_millis else "seconds; use the ms variant"
            raise DataValueError(f"{name} must be whole {what}, got {value!r}")
        return int(whole)
    if isinstance(value, bool) or not isinstance(value, int):
        unit_name = "milliseconds" if in_millis else "seconds"
        raise DataTypeError(
            f"{name} must be an int of {unit_name} or a timedelta, got {type(value).__name__} "
            f"{value!r}"
        )
    return value


def _alias(name: str, given: object, alias: str, other: object) -> object:
    """redis-py's argument ``name``, or aiopool's earlier name ``alias`` for it; not both."""
    if other is None:
        if given is None:
            raise DataTypeError(f"missing the argument {name}")
        return given
    if given is not None:
        raise DataValueError(f"give {name} or {alias} (the same thing), not both")
    return other


def expire(
    name: Key,
    time: Expiry | None = None,
    nx: bool = False,
    xx: bool = False,
    gt: bool = False,
    lt: bool = False,
    *,
    seconds: Expiry | None = None,
) -> Command[bool]:
    """EXPIRE: set a time to live in seconds; ``False`` if the key is missing or a condition failed.

    ``time`` (redis-py's name; ``seconds=`` works too) is an int or a
    whole-second ``timedelta``; 0 or less deletes the key, as in Redis.
    ``nx``, ``xx``, ``gt`` and ``lt`` (at most one) make it conditional. A
    fractional ``timedelta`` raises ``ValueError`` (redis-py truncates it).
    """
    amount = _ttl("time", _alias("time", time, "seconds", seconds), in_millis=False)
    return _expire("EXPIRE", name, amount, nx, xx, gt, lt)


def pexpire(
    name: Key,
    time: Expiry | None = None,
    nx: bool = False,
    xx: bool = False,
    gt: bool = False,
    lt: bool = False,
    *,
    millis: Expiry | None = None,
) -> Command[bool]:
    """PEXPIRE: set a time to live in milliseconds; ``False`` if not set.

    ``time`` (redis-py's name; ``millis=`` works too) is an int or a
    ``timedelta`` of whole milliseconds; options as for ``expire``.
    """
    amount = _ttl("time", _alias("time", time, "millis", millis), in_millis=True)
    return _expire("PEXPIRE", name, amount, nx, xx, gt, lt)


def ttl(name: Key) -> Command[int]:
    """TTL: seconds left to live; -1 without expiry, -2 when the key is missing."""
    return ("TTL", name), None


def pttl(name: Key) -> Command[int]:
    """PTTL: milliseconds left to live; -1 without expiry, -2 when missing."""
    return ("PTTL", name), None


def persist(name: Key) -> Command[bool]:
    """PERSIST: remove the expiry; ``True`` if there was one."""
    return ("PERSIST", name), to_bool


def type_(name: Key) -> Command[Any]:
    """TYPE: the type name of the value at ``name`` (``b"none"`` when missing).

    As redis-py's: bytes (``b"string"``, ``b"hash"``, ...), or str with
    ``decode_responses``.
    """
    return ("TYPE", name), None


def rename(src: Key, dst: Key) -> Command[bool]:
    """RENAME: rename ``src``; ``True``. A missing key raises ``ReplyError``."""
    return ("RENAME", src, dst), ok


def renamenx(src: Key, dst: Key) -> Command[bool]:
    """RENAMENX: rename ``src`` only if ``dst`` does not exist; ``True`` if renamed."""
    return ("RENAMENX", src, dst), to_bool


def _one_type(type_: str | None, _type: str | None) -> str | None:
    """``type_``, or redis-py's ``_type`` for it; ``ValueError`` for both."""
    if _type is None:
        return type_
    if type_ is not None:
        raise DataValueError("give type_ or _type (redis-py's name), not both")
    return _type


def scan(
    cursor: int = 0,
    match: str | bytes | None = None,
    count: int | None = None,
    type_: str | None = None,
    *,
    _type: str | None = None,
) -> Command[tuple[int, list[Any]]]:
    """SCAN: one batch, ``(next_cursor, keys)``; the cursor is 0 when done.

    Most code wants ``scan_iter``, which runs the batches for you.
    """
    type_ = _one_type(type_, _type)
    args = scan_args("SCAN", None, cursor, match, count)
    if type_ is not None:
        args += ("TYPE", type_)
    return tuple(args), cursor_batch


# -- more expiry -------------------------------------------------------------------------


def expireat(
    name: Key,
    when: Deadline,
    nx: bool = False,
    xx: bool = False,
    gt: bool = False,
    lt: bool = False,
) -> Command[bool]:
    """EXPIREAT: expire ``name`` at unix time ``when``; ``False`` if missing or a condition failed.

    ``when`` is a positive int of unix seconds or a ``datetime`` (a naive one
    is local time; fractions of a second are dropped); ``nx``, ``xx``, ``gt``
    and ``lt`` (at most one) make it conditional, as for ``expire``.
    """
    return _expire("EXPIREAT", name, unix("when", when, in_millis=False), nx, xx, gt, lt)


def pexpireat(
    name: Key,
    when: Deadline,
    nx: bool = False,
    xx: bool = False,
    gt: bool = False,
    lt: bool = False,
) -> Command[bool]:
    """PEXPIREAT: expire ``name`` at unix time ``when`` in milliseconds; ``False`` if not set.

    ``when`` is a positive int of unix milliseconds or a ``datetime``.
    """
    return _expire("PEXPIREAT", name, unix("when", when, in_millis=True), nx, xx, gt, lt)


def expiretime(key: Key) -> Command[int]:
    """EXPIRETIME: the unix time in seconds ``key`` expires at; -1 without expiry, -2 if missing.

    A millisecond expiry (``pexpireat``) is rounded to the nearest second.
    """
    return ("EXPIRETIME", key), None


def pexpiretime(key: Key) -> Command[int]:
    """PEXPIRETIME: the unix time in milliseconds ``key`` expires at; -1 / -2 as ``expiretime``."""
    return ("PEXPIRETIME", key), None


def touch(*keys: Key | Sequence[Key]) -> Command[int]:
    """TOUCH: update the last access time of ``keys``; how many exist."""
    keys = keys_or_list("touch", keys)
    return ("TOUCH", *keys), None


# -- copying and serializing ---------------------------------------------------------------


def copy(
    source: Key, destination: Key, destination_db: int | str | None = None, replace: bool = False
) -> Command[bool]:
    """COPY: copy the value at ``source`` to ``destination``; ``True`` if copied.

    ``False`` when ``source`` is missing or ``destination`` exists (unless
    ``replace=True``). ``destination_db`` copies into another database of
    the same server.
    """
    args: list[Arg] = ["COPY", source, destination]
    if destination_db is not None:
        args += ("DB", not_negative("destination_db", int_like("destination_db", destination_db)))
    if replace:
        args.append("REPLACE")
    return tuple(args), to_bool


def dump(name: Key) -> Command[bytes | None]:
    """DUMP: the value at ``name`` serialized for ``restore``; ``None`` when missing.

    The payload is binary (RDB encoding plus a checksum), not text: use a
    client with ``decode_responses=False``. With ``decode_responses=True``
    the reply is decoded as UTF-8, which fails for most payloads with
    ``ProtocolError`` (the connection is closed and replaced).
    """
    return ("DUMP", name), None


def restore(
    name: Key,
    ttl: int | datetime.timedelta | datetime.datetime,
    value: bytes | memoryview,
    replace: bool = False,
    absttl: bool = False,
    idletime: int | None = None,
    frequency: int | None = None,
) -> Command[bool]:
    """RESTORE: create ``name`` from ``value``, a payload from ``dump``; ``True``.

    ``ttl`` is the time to live in milliseconds (int or ``timedelta``; 0
    means no expiry), or with ``absttl=True`` the unix time in milliseconds
    to expire at (int or ``datetime``). An existing ``name`` raises
    ``ReplyError`` (``BUSYKEY``) unless ``replace=True``; a corrupt payload
    raises ``ReplyError`` too. ``idletime`` (seconds) or ``frequency``
    (0-255), not both, set the key's eviction statistics.
    """
    if isinstance(value, str) or not isinstance(value, bytes | memoryview):
        raise DataTypeError(
            f"value must be the bytes dump() returned (from a client without "
            f"decode_responses), got {type(value).__name__}"
        )
    args: list[Arg] = ["RESTORE", name, _restore_ttl(ttl, absttl), value]
    if replace:
        args.append("REPLACE")
    if absttl:
        args.append("ABSTTL")
    one_of(idletime=idletime is not None, frequency=frequency is not None)
    if idletime is not None:
        args += ("IDLETIME", not_negative("idletime", idletime))
    if frequency is not None:
        if not 0 <= integer("frequency", frequency) <= 255:
            raise DataValueError(f"frequency must be between 0 and 255, got {frequency!r}")
        args += ("FREQ", frequency)
    return tuple(args), ok


def _restore_ttl(ttl: object, absttl: bool) -> int:
    if isinstance(ttl, datetime.datetime):
        if not absttl:
            raise DataValueError("ttl is a datetime: pass absttl=True to expire at that time")
        return unix("ttl", ttl, in_millis=True)
    if isinstance(ttl, datetime.timedelta):
        if absttl:
            raise DataValueError("with absttl=True, ttl is a unix time (int ms or datetime)")
        ttl = -(-ttl // datetime.timedelta(milliseconds=1))  # exact, rounded up
    if isinstance(ttl, bool) or not isinstance(ttl, int):
        raise DataTypeError(
            f"ttl must be an int of milliseconds, a timedelta or (with absttl) a datetime, "
            f"got {type(ttl).__name__} {ttl!r}"
        )
    if ttl < 0:
        raise DataValueError(f"ttl must be >= 0 (0 means no expiry), got {ttl!r}")
    return ttl


# -- introspection --------------------------------------------------------------------------


def object_encoding(key: Key) -> Command[str | None]:
    """OBJECT ENCODING: the value's internal encoding (``"int"``, ...); ``None`` if missing."""
    return ("OBJECT", "ENCODING", key), to_str_or_none


def object_idletime(key: Key) -> Command[int | None]:
    """OBJECT IDLETIME: seconds since ``key`` was last accessed; ``None`` if missing.

    Raises ``ReplyError`` when the server's ``maxmemory-policy`` is an LFU one.
    """
    return ("OBJECT", "IDLETIME", key), None


def object_freq(key: Key) -> Command[int | None]:
    """OBJECT FREQ: the logarithmic access counter of ``key``; ``None`` if missing.

    Only with an LFU ``maxmemory-policy``; otherwise raises ``ReplyError``.
    """
    return ("OBJECT", "FREQ", key), None


def object_refcount(key: Key) -> Command[int | None]:
    """OBJECT REFCOUNT: the reference count of the value at ``key``; ``None`` if missing."""
    return ("OBJECT", "REFCOUNT", key), None


def randomkey() -> Command[Any]:
    """RANDOMKEY: a random key of the current database; ``None`` when it is empty."""
    return ("RANDOMKEY",), None


def keys(pattern: str | bytes = "*") -> Command[list[Any]]:
    """KEYS: every key matching the glob-style ``pattern``, as a list.

    KEYS walks the whole keyspace in one go and blocks the server (every
    other client) meanwhile: on a database of any size use ``scan_iter``.
    """
    return ("KEYS", pattern), None


def move(name: Key, db: int | str) -> Command[bool]:
    """MOVE: move ``name`` to database ``db`` of the same server; ``True`` if it moved.

    ``False`` when ``name`` is missing here or exists in ``db``. Redis Cluster
    has only database 0, so on a cluster the server refuses it (``ReplyError``).
    """
    return ("MOVE", name, not_negative("db", int_like("db", db))), to_bool


def object_(infotype: str, key: Key) -> Command[Any]:
    """OBJECT: the raw reply of OBJECT ``infotype`` for ``key`` (redis-py's ``object()``).

    ``infotype`` is ``"encoding"`` (bytes, or str with ``decode_responses``),
    ``"idletime"``, ``"refcount"`` or ``"freq"`` (ints); ``None`` when ``key``
    is missing. ``object_encoding`` and friends are the typed forms.
    """
    word = infotype.upper() if isinstance(infotype, str) else None
    if word not in ("ENCODING", "IDLETIME", "REFCOUNT", "FREQ"):
        raise DataValueError(
            f"infotype must be one of 'encoding', 'idletime', 'refcount', 'freq'; got {infotype!r}"
        )
    return ("OBJECT", word, key), None


def _sort_args(
    name: str,
    key: Key,
    start: int | None,
    num: int | None,
    by: str | bytes | None,
    get: str | bytes | Sequence[str | bytes] | None,
    desc: bool,
    alpha: bool,
) -> list[Arg]:
    if (start is None) != (num is None):
        raise DataValueError(f"{name}(): give start and num together, or neither")
    args: list[Arg] = [name.upper(), key]
    if by is not None:
        args += ("BY", by)
    if start is not None:
        args += ("LIMIT", integer("start", start), integer("num", num))
    if isinstance(get, str | bytes):
        args += ("GET", get)
    elif get is not None:
        for pattern in get:
            args += ("GET", pattern)
    if desc:
        args.append("DESC")
    if alpha:
        args.append("ALPHA")
    return args


def sort(
    name: Key,
    start: int | None = None,
    num: int | None = None,
    by: str | bytes | None = None,
    get: str | bytes | Sequence[str | bytes] | None = None,
    desc: bool = False,
    alpha: bool = False,
    store: Key | None = None,
    groups: bool = False,
) -> Command[Any]:
    """SORT: the elements of the list, set or sorted set at ``name``, sorted; or stored.

    Numerically, or by their bytes with ``alpha=True``; ``desc=True``
    reverses. ``start`` and ``num`` (together) take a slice. ``by`` sorts by
    the values of other keys (``"weight_*"``: ``*`` is the element), ``get``
    (one pattern or a list; ``"#"`` is the element itself) returns values of
    other keys instead. ``store`` writes the result to that key and returns
    its length. With ``groups=True`` (and at least two ``get`` patterns) the
    result is a list of tuples, one per element, as redis-py's.

    On a cluster the keys a ``by``/``get`` pattern names cannot be routed:
    the server decides (Redis 7.0 refuses every pattern with ``ReplyError``,
    later versions accept one carrying the key's hash tag, ``"{user}:w_*"``
    for key ``"{user}:ids"``); ``store`` must share the key's slot
    (``CrossSlotError`` otherwise, nothing sent).
    """
    args = _sort_args("sort", name, start, num, by, get, desc, alpha)
    if store is not None:
        args += ("STORE", store)
    if not groups:
        return tuple(args), None
    if get is None or isinstance(get, str | bytes) or len(get) < 2:
        raise DataValueError("sort(): groups=True needs get= with at least two patterns")
    if store is not None:
        raise DataValueError(
            "sort(): groups=True groups the returned values; store= returns a count"
        )
    return tuple(args), _grouper(len(get))


def _grouper(size: int) -> Callable[[Any], list[tuple[Any, ...]]]:
    def grouped(reply: Any) -> list[tuple[Any, ...]]:
        return list(zip(*(reply[i::size] for i in range(size)), strict=True))

    return grouped


def sort_ro(
    key: Key,
    start: int | None = None,
    num: int | None = None,
    by: str | bytes | None = None,
    get: str | bytes | Sequence[str | bytes] | None = None,
    desc: bool = False,
    alpha: bool = False,
) -> Command[list[Any]]:
    """SORT_RO: ``sort`` without ``store``, which replicas may serve; the sorted elements."""
    return tuple(_sort_args("sort_ro", key, start, num, by, get, desc, alpha)), None


def migrate(
    host: str,
    port: int,
    keys: KeyOrKeys,
    destination_db: int,
    timeout: int,
    copy: bool = False,
    replace: bool = False,
    auth: str | None = None,
) -> Command[Any]:
    """MIGRATE: move ``keys`` to database ``destination_db`` of the server at ``host:port``.

    The reply as Redis gives it: ``b"OK"``, or ``b"NOKEY"`` when no key
    existed. ``timeout`` (milliseconds) bounds each step of the transfer;
    ``copy=True`` keeps the keys here, ``replace=True`` overwrites them
    there, ``auth`` is the other server's password. The other server must
    be reachable from this one (the address is the server's view, not the
    client's). An error there raises ``ReplyError`` (``IOERR``, ``BUSYKEY``).
    """
    names = key_list("migrate", keys)
    args: list[Arg] = [
        "MIGRATE",
        host,
        integer("port", port),
        "",
        not_negative("destination_db", destination_db),
        not_negative("timeout", timeout),
    ]
    if copy:
        args.append("COPY")
    if replace:
        args.append("REPLACE")
    if auth is not None:
        args += ("AUTH", auth)
    return (*args, "KEYS", *names), None
