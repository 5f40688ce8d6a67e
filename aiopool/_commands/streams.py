"""Stream commands: XADD, XRANGE, XREAD, consumer groups, XCLAIM, XINFO, ..."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, cast

from .._errors import DataTypeError, DataValueError
from ._base import (
    Arg,
    Command,
    Deadline,
    Key,
    Value,
    named_fields,
    need_keys,
    not_negative,
    ok,
    one_of,
    pairs,
    positive,
    to_bool,
    to_dict,
    unix,
)

# An entry ID ("1700000000000-0"), or a special one ("*", "$", ">", "-", "+", "0").
StreamId = str | bytes | int
# Milliseconds as an int, or a timedelta.
Millis = int | datetime.timedelta
# One entry: its ID and its fields.
Entry = tuple[Any, dict[Any, Any]]
# An entry read back from a group's pending list: deleted since, its fields are None.
PendingEntry = tuple[Any, dict[Any, Any] | None]


# -- argument checks ---------------------------------------------------------------------


_MILLISECOND: Final = datetime.timedelta(milliseconds=1)


def _millis(name: str, value: object) -> int:
    """Milliseconds >= 0 from an int or ``timedelta``."""
    if isinstance(value, datetime.timedelta):
        # Exact integer arithmetic (total_seconds() * 1000 makes 1001 ms 1000),
        # rounded up: a positive wait must not become BLOCK 0, "for ever".
        value = -(-value // _MILLISECOND)
    if isinstance(value, bool) or not isinstance(value, int):
        raise DataTypeError(
            f"{name} must be an int of milliseconds or a timedelta, got "
            f"{type(value).__name__} {value!r}"
        )
    if value < 0:
        raise DataValueError(f"{name} must be >= 0 milliseconds, got {value!r}")
    return value


def _ids(name: str, ids: StreamId | Iterable[StreamId]) -> tuple[StreamId, ...]:
    """One entry ID or an iterable of them as a non-empty tuple (a str is one ID)."""
    if isinstance(ids, str | bytes | int):
        return (ids,)
    result = tuple(ids)
    need_keys(name, result, "entry ID")
    return result


def _read_args(
    name: str,
    streams: Mapping[Any, StreamId],
    count: int | None,
    block: Millis | None,
    noack: bool = False,
) -> list[Arg]:
    """``[COUNT n] [BLOCK ms] [NOACK] STREAMS k1 k2 id1 id2``, BLOCK before STREAMS.

    The connection finds the blocking time by reading the options up to
    STREAMS (``_protocol.blocking_timeout``), which is also where Redis wants them.
    """
    if not isinstance(streams, Mapping):
        raise DataTypeError(
            f"{name}() takes streams as a mapping of stream key -> last seen ID, "
            f"got {type(streams).__name__}"
        )
    if not streams:
        raise DataValueError(f"{name}() needs a non-empty streams mapping of stream key -> ID")
    options: list[Arg] = []
    if count is not None:
        options += ("COUNT", positive("count", count))
    if block is not None:
        options += ("BLOCK", _millis("block", block))
    if noack:
        options.append("NOACK")
    return [*options, "STREAMS", *streams.keys(), *streams.values()]


def _trim_args(
    name: str,
    maxlen: int | None,
    minid: StreamId | None,
    approximate: bool,
    limit: int | None,
    *,
    required: bool,
) -> list[Arg]:
    """``MAXLEN|MINID [~] threshold [LIMIT n]`` for XADD and XTRIM."""
    which = one_of(maxlen=maxlen is not None, minid=minid is not None)
    if which is None:
        if required:
            raise DataValueError(f"{name}() needs maxlen or minid")
        if limit is not None:
            raise DataValueError(f"{name}(): limit only applies when trimming with maxlen or minid")
        return []
    args: list[Arg] = ["MAXLEN"] if which == "maxlen" else ["MINID"]
    if approximate:
        args.append("~")
    args.append(not_negative("maxlen", maxlen) if which == "maxlen" else cast(StreamId, minid))
    if limit is not None:
        if not approximate:
            raise DataValueError(
                f"{name}(): limit needs approximate=True (Redis caps only approximate trimming)"
            )
        args += ("LIMIT", not_negative("limit", limit))
    return args


# -- reply transforms -------------------------------------------------------------------


def _entry(item: Any) -> PendingEntry:
    entry_id, fields = item
    return entry_id, None if fields is None else to_dict(fields)


def _pending_entries(reply: Any) -> list[PendingEntry]:
    """``[[id, [f, v, ...]], ...]`` as ``[(id, {f: v}), ...]``; a deleted entry's fields are None."""
    return [_entry(item) for item in reply]


# XRANGE and XREAD never carry a nil fields payload (only entries read back from
# a group's pending list do), so they share the tolerant transform under the
# narrower type.
_entries = cast(Callable[[Any], list[Entry]], _pending_entries)


def _per_stream(reply: Any) -> list[list[Any]]:
    """``[[key, entries], ...]`` with each entry as ``(id, fields)``; ``[]`` for nil (BLOCK timed out).

    redis-py's RESP2 shape: ``for stream, entries in reply`` and ``reply[0][1]``
    work as in redis-py code; ``dict(reply)`` gives ``{stream: entries}``.
    """
    if reply is None:
        return []
    if isinstance(reply, dict):  # RESP3: a map of stream to entries
        reply = reply.items()
    return [[key, _pending_entries(entries)] for key, entries in reply]


def _pending_summary(reply: Any) -> dict[str, Any]:
    count, low, high, consumers = reply
    return {
        "pending": int(count),
        "min": low,
        "max": high,
        "consumers": [{"name": name, "pending": int(pending)} for name, pending in consumers or ()],
    }


def _pending_details(reply: Any) -> list[dict[str, Any]]:
    return [
        {
            "message_id": message_id,
            "consumer": consumer,
            "time_since_delivered": int(idle),
            "times_delivered": int(delivered),
        }
        for message_id, consumer, idle, delivered in reply
    ]


def _autoclaimed(reply: Any) -> list[Any]:
    # Redis 6.2 replies without the third element (deleted IDs).
    deleted = list(reply[2]) if len(reply) > 2 else []
    return [reply[0], _pending_entries(reply[1]), deleted]


def _autoclaimed_ids(reply: Any) -> list[Any]:
    return list(reply[1])


def _stream_info(reply: Any) -> dict[str, Any]:
    info = named_fields(reply)
    for name in ("first-entry", "last-entry"):
        if info.get(name) is not None:
            info[name] = _entry(info[name])
    return info


def _groups_info(reply: Any) -> list[dict[str, Any]]:
    return [named_fields(group) for group in reply]


def _full_stream_info(reply: Any) -> dict[str, Any]:
    info = named_fields(reply)
    info["entries"] = {entry_id: to_dict(fields) for entry_id, fields in info["entries"]}
    groups = _groups_info(info["groups"])
    for group in groups:
        group["consumers"] = _groups_info(group["consumers"])
    info["groups"] = groups
    return info


# -- adding, reading, deleting ------------------------------------------------------------


def xadd(
    name: Key,
    fields: Mapping[Any, Value],
    id: StreamId = "*",
    maxlen: int | None = None,
    approximate: bool = True,
    nomkstream: bool = False,
    minid: StreamId | None = None,
    limit: int | None = None,
) -> Command[Any]:
    """XADD: append an entry with ``fields`` to the stream at ``name``; its ID.

    ``id`` defaults to ``"*"`` (the server picks one). With ``maxlen`` (keep
    that many entries) or ``minid`` (drop entries below that ID), give at most
    one, the stream is trimmed in the same call; ``approximate`` (the default)
    trims only whole nodes, which is much cheaper, and ``limit`` caps how many
    entries one approximate trim evicts. With ``nomkstream=True`` a missing
    stream is not created and the result is ``None``. The options take
    redis-py's positional order (``id, maxlen, approximate, nomkstream,
    minid, limit``).
    """
    args: list[Arg] = ["XADD", name]
    if nomkstream:
        args.append("NOMKSTREAM")
    args += _trim_args("xadd", maxlen, minid, approximate, limit, required=False)
    args.append(id)
    args += pairs("xadd", fields, "fields mapping of field -> value")
    return tuple(args), None


def xlen(name: Key) -> Command[int]:
    """XLEN: the number of entries in the stream at ``name`` (0 when missing)."""
    return ("XLEN", name), None


def xrange(
    name: Key, min: StreamId = "-", max: StreamId = "+", count: int | None = None
) -> Command[list[Entry]]:
    """XRANGE: the entries with IDs from ``min`` to ``max``, oldest first, as ``[(id, fields)]``.

    ``"-"`` and ``"+"`` are the smallest and greatest IDs; a ``"("`` prefix
    makes a bound exclusive. ``count`` returns at most that many. Empty when
    the stream is missing.
    """
    args: list[Arg] = ["XRANGE", name, min, max]
    if count is not None:
        args += ("COUNT", positive("count", count))
    return tuple(args), _entries


def xrevrange(
    name: Key, max: StreamId = "+", min: StreamId = "-", count: int | None = None
) -> Command[list[Entry]]:
    """XREVRANGE: like ``xrange``, newest first; note ``max`` comes before ``min``."""
    args: list[Arg] = ["XREVRANGE", name, max, min]
    if count is not None:
        args += ("COUNT", positive("count", count))
    return tuple(args), _entries


def xread(
    streams: Mapping[Any, StreamId],
    count: int | None = None,
    block: Millis | None = None,
) -> Command[list[list[Any]]]:
    """XREAD: entries after the given IDs, as ``[[stream key, [(id, fields), ...]], ...]``.

    redis-py's RESP2 shape (``dict(result)`` makes it ``{stream: entries}``).
    ``streams`` maps each stream key to the last ID seen (``"0"`` for the
    whole stream, ``"$"`` for only what is added from now on); streams with
    nothing new are left out, so the result may be ``[]``. ``count`` caps the
    entries per stream.

    ``block`` (milliseconds or a timedelta; 0 waits for ever) waits for new
    entries and gives ``[]`` when none came in time. The command timeout is
    extended by ``block`` (and dropped for 0). Cancelling a blocked call
    closes its connection.
    """
    return ("XREAD", *_read_args("xread", streams, count, block)), _per_stream


def xdel(name: Key, *ids: StreamId) -> Command[int]:
    """XDEL: delete the entries ``ids`` from the stream at ``name``; how many existed."""
    need_keys("xdel", ids, "entry ID")
    return ("XDEL", name, *ids), None


def xtrim(
    name: Key,
    maxlen: int | None = None,
    approximate: bool = True,
    minid: StreamId | None = None,
    limit: int | None = None,
) -> Command[int]:
    """XTRIM: trim the stream at ``name``; how many entries were removed.

    Give exactly one of ``maxlen`` (keep the newest that many) and ``minid``
    (drop entries with a smaller ID). ``approximate`` (the default) trims only
    whole nodes, so it may remove fewer; ``limit`` caps how many one
    approximate trim evicts.
    """
    return (
        "XTRIM",
        name,
        *_trim_args("xtrim", maxlen, minid, approximate, limit, required=True),
    ), None


# -- consumer groups ------------------------------------------------------------------------


def xgroup_create(
    name: Key,
    groupname: Key,
    id: StreamId = "$",
    mkstream: bool = False,
    entries_read: int | None = None,
) -> Command[bool]:
    """XGROUP CREATE: create consumer ``groupname`` on the stream at ``name``; ``True``.

    The group delivers entries after ``id`` (``"$"``: only new ones, ``"0"``:
    the whole stream). A missing stream raises ``ReplyError`` unless
    ``mkstream=True`` creates it; an existing group raises ``ReplyError``
    (code ``BUSYGROUP``). ``entries_read`` sets the group's read counter,
    which the lag in ``xinfo_groups`` is computed from.
    """
    args: list[Arg] = ["XGROUP", "CREATE", name, groupname, id]
    if mkstream:
        args.append("MKSTREAM")
    if entries_read is not None:
        args += ("ENTRIESREAD", not_negative("entries_read", entries_read))
    return tuple(args), ok


def xgroup_destroy(name: Key, groupname: Key) -> Command[bool]:
    """XGROUP DESTROY: delete consumer ``groupname`` and its pending list; ``True`` if it existed."""
    return ("XGROUP", "DESTROY", name, groupname), to_bool


def xgroup_createconsumer(name: Key, groupname: Key, consumername: Key) -> Command[bool]:
    """XGROUP CREATECONSUMER: add ``consumername`` to ``groupname``; ``True`` if it was new."""
    return ("XGROUP", "CREATECONSUMER", name, groupname, consumername), to_bool


def xgroup_delconsumer(name: Key, groupname: Key, consumername: Key) -> Command[int]:
    """XGROUP DELCONSUMER: remove ``consumername`` from ``groupname``; how many entries it had pending.

    Those entries leave the group's pending list: nobody can acknowledge or
    claim them any more.
    """
    return ("XGROUP", "DELCONSUMER", name, groupname, consumername), None


def xreadgroup(
    groupname: Key,
    consumername: Key,
    streams: Mapping[Any, StreamId],
    count: int | None = None,
    block: Millis | None = None,
    noack: bool = False,
) -> Command[list[list[Any]]]:
    """XREADGROUP: entries for a consumer of a group, as ``[[stream key, [(id, fields)]], ...]``.

    The shape of ``xread`` (redis-py's RESP2 one; ``[]`` when nothing came).
    ``streams`` maps each stream key to ``">"`` (entries never delivered to
    ``groupname``, which become pending for ``consumername``) or to an ID (this
    consumer's own pending entries after it; an entry deleted since is
    ``(id, None)``). ``count`` caps the entries per stream; ``noack=True``
    skips the pending list (the entries count as acknowledged).

    ``block`` (milliseconds or a timedelta; 0 waits for ever) waits for new
    entries and gives ``[]`` when none came in time. The command timeout is
    extended by ``block`` (and dropped for 0). Cancelling a blocked call
    closes its connection before the server can deliver to it, so no entry
    is lost to a cancelled call: a later read still gets it as new.
    """
    read = _read_args("xreadgroup", streams, count, block, noack)
    return ("XREADGROUP", "GROUP", groupname, consumername, *read), _per_stream


def xack(name: Key, groupname: Key, *ids: StreamId) -> Command[int]:
    """XACK: acknowledge ``ids`` for ``groupname``; how many were pending and now are not."""
    need_keys("xack", ids, "entry ID")
    return ("XACK", name, groupname, *ids), None


def xpending(name: Key, groupname: Key) -> Command[dict[str, Any]]:
    """XPENDING: a summary of ``groupname``'s pending entries.

    A dict with ``"pending"`` (the count), ``"min"`` and ``"max"`` (the
    smallest and greatest pending IDs, ``None`` when nothing is pending) and
    ``"consumers"`` (``[{"name": ..., "pending": int}, ...]``). A missing
    stream or group raises ``ReplyError`` (code ``NOGROUP``).
    """
    return ("XPENDING", name, groupname), _pending_summary


def xpending_range(
    name: Key,
    groupname: Key,
    min: StreamId,
    max: StreamId,
    count: int,
    consumername: Key | None = None,
    idle: Millis | None = None,
) -> Command[list[dict[str, Any]]]:
    """XPENDING: up to ``count`` pending entries of ``groupname`` from ``min`` to ``max``, in detail.

    Each is a dict with ``"message_id"``, ``"consumer"``,
    ``"time_since_delivered"`` (milliseconds) and ``"times_delivered"``.
    ``consumername`` keeps only that consumer's entries; ``idle``
    (milliseconds or a timedelta) only those idle at least that long.
    """
    args: list[Arg] = ["XPENDING", name, groupname]
    if idle is not None:
        args += ("IDLE", _millis("idle", idle))
    args += (min, max, positive("count", count))
    if consumername is not None:
        args.append(consumername)
    return tuple(args), _pending_details


def xclaim(
    name: Key,
    groupname: Key,
    consumername: Key,
    min_idle_time: Millis,
    message_ids: StreamId | Iterable[StreamId] | None = None,
    idle: Millis | None = None,
    time: Deadline | None = None,
    retrycount: int | None = None,
    force: bool = False,
    justid: bool = False,
    *,
    ids: StreamId | Iterable[StreamId] | None = None,
) -> Command[list[Any]]:
    """XCLAIM: give ``consumername`` the pending ``message_ids`` idle at least ``min_idle_time`` ms.

    ``message_ids`` (redis-py's name; ``ids=`` works too) is one ID or a list.
    The result is the claimed entries as ``[(id, fields), ...]``, or with
    ``justid=True`` only their IDs (and the delivery count is not
    incremented). Entries deleted from the stream are dropped from the
    pending list and left out (Redis 7). ``idle`` (ms) or ``time`` (unix ms
    or a datetime), at most one, set the entries' last delivery time;
    ``retrycount`` sets their delivery count; ``force=True`` claims IDs that
    are not pending yet (if they exist in the stream).
    """
    if ids is not None:
        if message_ids is not None:
            raise DataValueError("give message_ids or ids (the same thing), not both")
        message_ids = ids
    if message_ids is None:
        raise DataTypeError("xclaim() missing the argument message_ids")
    claimed = _ids("xclaim", message_ids)
    args: list[Arg] = [
        "XCLAIM",
        name,
        groupname,
        consumername,
        _millis("min_idle_time", min_idle_time),
    ]
    args += claimed
    which = one_of(idle=idle is not None, time=time is not None)
    if which == "idle":
        args += ("IDLE", _millis("idle", idle))
    elif which == "time":
        args += ("TIME", unix("time", time, in_millis=True))
    if retrycount is not None:
        args += ("RETRYCOUNT", not_negative("retrycount", retrycount))
    if force:
        args.append("FORCE")
    if justid:
        args.append("JUSTID")
        return tuple(args), None
    return tuple(args), _pending_entries


def xautoclaim(
    name: Key,
    groupname: Key,
    consumername: Key,
    min_idle_time: Millis,
    start_id: StreamId = "0-0",
    count: int | None = None,
    justid: bool = False,
) -> Command[list[Any]]:
    """XAUTOCLAIM: give ``consumername`` pending entries idle for at least ``min_idle_time`` ms.

    Scans the pending list from ``start_id`` (up to ``count`` entries, 100 by
    default) and returns ``[next_start_id, claimed, deleted_ids]``, as
    redis-py's: the ID to continue from (``"0-0"`` when the scan is
    complete), the claimed entries as ``[(id, fields), ...]``, and the IDs
    that were pending but are gone from the stream (dropped from the list).
    With ``justid=True`` the result is only the list of claimed IDs (as
    redis-py's; the next start ID is not returned then).
    """
    args: list[Arg] = [
        "XAUTOCLAIM",
        name,
        groupname,
        consumername,
        _millis("min_idle_time", min_idle_time),
        start_id,
    ]
    if count is not None:
        args += ("COUNT", positive("count", count))
    if justid:
        args.append("JUSTID")
        return tuple(args), _autoclaimed_ids
    return tuple(args), _autoclaimed


# -- introspection ------------------------------------------------------------------------


def xinfo_stream(name: Key, full: bool = False) -> Command[dict[str, Any]]:
    """XINFO STREAM: facts about the stream at ``name`` as a dict with ``str`` keys.

    The keys are Redis's names (``"length"``, ``"groups"``,
    ``"last-generated-id"``, ...); ``"first-entry"`` and ``"last-entry"``
    are ``(id, fields)``, or ``None`` for an empty stream. A missing key
    raises ``ReplyError``.

    With ``full=True`` (XINFO STREAM FULL) as redis-py's: ``"entries"`` is a
    dict ``{id: fields}`` and ``"groups"`` a list of dicts, each with its
    ``"consumers"`` as a list of dicts (``str`` keys throughout).
    """
    if full:
        return ("XINFO", "STREAM", name, "FULL"), _full_stream_info
    return ("XINFO", "STREAM", name), _stream_info


def xinfo_groups(name: Key) -> Command[list[dict[str, Any]]]:
    """XINFO GROUPS: the consumer groups of the stream at ``name``, one dict each.

    Each has ``str`` keys ``"name"``, ``"consumers"``, ``"pending"``,
    ``"last-delivered-id"``, and since Redis 7 ``"entries-read"`` and
    ``"lag"`` (``None`` when unknown). A missing key raises ``ReplyError``.
    """
    return ("XINFO", "GROUPS", name), _groups_info


def xinfo_consumers(name: Key, groupname: Key) -> Command[list[dict[str, Any]]]:
    """XINFO CONSUMERS: the consumers of ``groupname``, one dict each.

    Each has ``str`` keys ``"name"``, ``"pending"``, ``"idle"``
    (milliseconds), and since Redis 7.2 ``"inactive"``. A missing stream or
    group raises ``ReplyError``.
    """
    return ("XINFO", "CONSUMERS", name, groupname), _groups_info


def xgroup_setid(
    name: Key, groupname: Key, id: StreamId, entries_read: int | None = None
) -> Command[bool]:
    """XGROUP SETID: make ``id`` the last entry ``groupname`` delivered; ``True``.

    ``"$"`` is the stream's last entry, ``"0"`` redelivers everything.
    ``entries_read`` sets the group's read counter (the lag in
    ``xinfo_groups``). A missing stream or group raises ``ReplyError``.
    """
    args: list[Arg] = ["XGROUP", "SETID", name, groupname, id]
    if entries_read is not None:
        args += ("ENTRIESREAD", not_negative("entries_read", entries_read))
    return tuple(args), ok
