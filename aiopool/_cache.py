"""Server-assisted client-side caching: the cache itself, its options and stats; no I/O.

Each pooled connection runs ``CLIENT TRACKING ON`` (default mode): the
server remembers which keys that connection read and, when one changes,
pushes ``["invalidate", [key, ...]]`` to it (``["invalidate", None]`` after
FLUSHDB/FLUSHALL). This module keeps the replies of ``CACHEABLE`` reads in
an LRU bounded by ``max_entries`` and ``max_bytes`` and drops them on those
pushes. The client (``_client``) decides what to look up and feeds it.

The race that makes caches permanently stale (Lettuce #3481): a read is
written, the key changes, the invalidation is pushed, and only then does the
read's (old) reply get stored. So every miss registers as pending on its
keys *before* it is sent (``begin``) and stays registered until its reply is
stored (``finish``): an invalidation of one of its keys, a flush or the loss
of a connection in between marks it stale, and a stale reply goes back to
its caller but is never stored. A read that fails or is cancelled
unregisters (``abandon``); nothing is ever left as a placeholder that
another read would wait on or be served.

The cache key is the whole encoded command (every argument: ``HGET k f1``
and ``HGET k f2`` never share an entry, redis-py #3612); each entry is
indexed under every key it read, so one invalidation drops all of them.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "CACHEABLE",
    "FLUSHING",
    "Cache",
    "CacheOptions",
    "CacheStats",
    "Read",
]

logger = logging.getLogger("aiopool.cache")

# -- what may be cached ----------------------------------------------------------------
# A command is cacheable when it never changes data and its reply is a pure
# function of the contents of the keys it names (COMMAND INFO's key specs,
# ``_keys.command_keys``) and of its arguments: then "the server told us none
# of its keys changed" means "the reply is still the reply". Reviewed one by
# one from the server's readonly commands (``_command_table.READ_ONLY``):
CACHEABLE: Final = frozenset(
    {
        # strings and bits: the value's bytes, or a slice / count of them.
        "get",
        "mget",
        "strlen",
        "getrange",
        "substr",  # an old name of GETRANGE
        "getbit",
        "bitcount",
        "bitpos",
        "bitfield_ro",  # GET sub-operations only (BITFIELD itself may write)
        "lcs",  # both keys are named in the command
        # keys: existence and type only change with a write (which invalidates).
        "exists",
        "type",
        # hashes
        "hget",
        "hmget",
        "hgetall",
        "hkeys",
        "hvals",
        "hlen",
        "hexists",
        "hstrlen",
        # lists
        "lrange",
        "lindex",
        "llen",
        "lpos",
        # sets (SMEMBERS' order is the server's iteration order for that content)
        "smembers",
        "sismember",
        "smismember",
        "scard",
        "sdiff",  # multi-key reads: every key is named, every key is tracked
        "sinter",
        "sunion",
        "sintercard",
        # sorted sets
        "zrange",
        "zrangebyscore",
        "zrevrange",
        "zrevrangebyscore",
        "zrangebylex",
        "zrevrangebylex",
        "zscore",
        "zmscore",
        "zcard",
        "zcount",
        "zlexcount",
        "zrank",
        "zrevrank",
        "zdiff",
        "zinter",
        "zunion",
        "zintercard",
        # geo (read-only forms; GEOSEARCH without STORE)
        "geopos",
        "geodist",
        "geohash",
        "geosearch",
        "georadius_ro",
        "georadiusbymember_ro",
        # streams: ranges of entries by id, and the length
        "xrange",
        "xrevrange",
        "xlen",
    }
)
# Deliberately NOT cacheable, though readonly:
# - randomness: SRANDMEMBER, HRANDFIELD, ZRANDMEMBER, RANDOMKEY;
# - time or server state beside the key's contents: TTL, PTTL, EXPIRETIME,
#   PEXPIRETIME (the clock, and expiry is metadata), OBJECT *, MEMORY USAGE,
#   DUMP (encoding and RDB version), XINFO *, XPENDING (idle times), TOUCH
#   (updates access time), LOLWUT;
# - keyspace-wide or cursor-based: KEYS, SCAN, HSCAN, SSCAN, ZSCAN, DBSIZE;
# - reads of keys the command does not name: SORT_RO (BY/GET patterns),
#   EVAL_RO, EVALSHA_RO, FCALL_RO (a script may read any key, or the time);
# - blocking or waiting: XREAD (BLOCK), and every B* command;
# - PFCOUNT: rewrites the HyperLogLog's cached cardinality (not a pure read).
# (tests/unit/test_cache.py checks that every one is in the server's readonly list.)

# Keyless writes that change what cached reads would return: after this
# client's own, the whole cache goes (the server's null push follows).
FLUSHING: Final = frozenset({"flushdb", "flushall", "swapdb"})

_MIB: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class CacheOptions:
    """Client-side caching: ``Client.from_url(url, cache=CacheOptions(...))``.

    ``max_entries`` and ``max_bytes`` bound the cache (least recently used
    entries go first); the size of an entry is an estimate: its command's
    bytes plus the bytes of its reply's strings and a few bytes per element.
    ``ttl`` (seconds) bounds how long any entry is served even if an
    invalidation is lost on a silent network; ``None`` turns that safety net
    off (not recommended: then only the server's invalidations and the loss
    of a connection drop entries).
    """

    max_entries: int = 10_000
    max_bytes: int = 64 * _MIB
    ttl: float | None = 60.0

    def __post_init__(self) -> None:
        for name in ("max_entries", "max_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"option cache.{name} must be an integer >= 1, got {value!r}")
        ttl = self.ttl
        if ttl is not None and (
            isinstance(ttl, bool)
            or not isinstance(ttl, int | float)
            or not math.isfinite(ttl)
            or ttl <= 0
        ):
            raise ValueError(
                f"option cache.ttl must be a positive number of seconds or None, got {ttl!r}"
            )


@dataclass(frozen=True, slots=True)
class CacheStats:
    """A snapshot of a client's cache, from ``Client.cache_stats()``.

    Now: ``entries`` held, using about ``bytes`` (the estimate ``max_bytes``
    bounds), and the bounds ``max_entries``/``max_bytes``; ``pending`` reads
    are in flight to be stored. Totals since the client was made: ``hits``
    (served from memory, no round trip) and ``misses`` (sent to the server);
    ``invalidations``: entries dropped because one of their keys changed (the
    server's push, or this client's own write); ``evictions``: entries
    dropped to stay within the bounds; ``expirations``: entries found older
    than ``ttl``; ``flushes``: times everything was dropped (the server's
    flush push, a lost tracking connection, ``cache_clear()``);
    ``stale_skips``: replies returned to their callers but not stored because
    an invalidation for one of their keys (or a flush) arrived while they
    were in flight; ``too_large``: replies bigger than ``max_bytes`` alone.
    """

    hits: int
    misses: int
    invalidations: int
    evictions: int
    entries: int
    bytes: int
    expirations: int = 0
    flushes: int = 0
    stale_skips: int = 0
    too_large: int = 0
    pending: int = 0
    max_entries: int = 0
    max_bytes: int = 0

    @property
    def hit_ratio(self) -> float:
        """``hits / (hits + misses)``, 0.0 before the first lookup."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


# -- replies: size estimate and copies --------------------------------------------------
_OVERHEAD: Final = 16  # per stored object: a rough Python-object cost, in bytes


def _size(value: Any) -> int:
    if isinstance(value, bytes | str):
        return len(value) + _OVERHEAD
    if isinstance(value, list | tuple | set | frozenset):
        return _OVERHEAD + sum(_size(item) for item in value)
    if isinstance(value, dict):
        return _OVERHEAD + sum(_size(k) + _size(v) for k, v in value.items())
    return _OVERHEAD


def _nested(value: Any) -> bool:
    items = value.values() if isinstance(value, dict) else value
    return any(isinstance(item, list | dict | set) for item in items)


def _deep(value: Any) -> Any:
    if isinstance(value, list):
        return [_deep(item) for item in value]
    if isinstance(value, dict):
        return {key: _deep(item) for key, item in value.items()}
    if isinstance(value, set):
        return set(value)  # members are hashable, hence immutable
    return value


def _copier(value: Any) -> Callable[[Any], Any] | None:
    """How a hit hands out a fresh copy (None: immutable, shared as it is)."""
    if isinstance(value, list | dict | set):
        return _deep if _nested(value) else type(value).copy
    return None


# -- the cache ---------------------------------------------------------------------------


class _Entry:
    __slots__ = ("copy", "expires", "keys", "reply", "size", "tag")

    def __init__(
        self,
        reply: Any,
        copy: Callable[[Any], Any] | None,
        keys: tuple[bytes, ...],
        size: int,
        expires: float,
        tag: object,
    ) -> None:
        self.reply = reply
        self.copy = copy
        self.keys = keys
        self.size = size
        self.expires = expires
        self.tag = tag

    def __repr__(self) -> str:
        return f"<cache entry keys={self.keys!r} size={self.size}>"


class Read:
    """One cacheable read in flight: from ``Cache.begin`` to ``finish``/``abandon``."""

    __slots__ = ("epoch", "key", "keys", "stale", "started", "tag")

    def __init__(
        self, key: bytes, keys: tuple[bytes, ...], epoch: int, started: float, tag: object
    ) -> None:
        self.key = key
        self.keys = keys
        self.epoch = epoch
        self.started = started
        self.tag = tag
        self.stale = False

    def __repr__(self) -> str:
        return f"<cache read keys={self.keys!r}{' stale' if self.stale else ''}>"


_MISSING: Final = object()


class Cache:
    """The replies of cacheable reads, keyed by their whole command; see the module docstring.

    Not thread-safe: one event loop drives it (the client's). ``clock`` is
    ``time.monotonic`` unless a test injects another.
    """

    MISSING: Final = _MISSING

    def __init__(
        self, options: CacheOptions | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.options = options = options if options is not None else CacheOptions()
        self._max_entries = options.max_entries
        self._max_bytes = options.max_bytes
        self._ttl = math.inf if options.ttl is None else options.ttl
        self._clock = clock
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        self._by_key: dict[bytes, set[bytes]] = {}  # key -> cache keys of entries that read it
        self._pending: dict[bytes, set[Read]] = {}  # key -> reads in flight on it
        self._reads = 0  # reads in flight (pending), for stats
        self._epoch = 0  # bumped by every flush: reads begun before it are stale
        self._bytes = 0
        self._hits = self._misses = self._invalidations = self._evictions = 0
        self._expirations = self._flushes = self._stale_skips = self._too_large = 0
        # Misses in flight by cache key, for the client: a concurrent miss of
        # the same command waits for the first and looks again (opaque here).
        self.flights: dict[bytes, Any] = {}

    def __repr__(self) -> str:
        return (
            f"<Cache entries={len(self._entries)}/{self._max_entries} "
            f"bytes={self._bytes}/{self._max_bytes} hits={self._hits} misses={self._misses}>"
        )

    def __len__(self) -> int:
        return len(self._entries)

    # -- reads ----------------------------------------------------------------------------

    def lookup(self, key: bytes, *, again: bool = False) -> Any:
        """The cached reply for the command ``key`` (a fresh copy), or ``Cache.MISSING``.

        ``again``: the caller missed, waited for the same read in flight, and
        looks once more; a hit then counts as a hit instead of its miss.
        """
        entry = self._entries.get(key)
        if entry is None:
            self._misses += not again
            return _MISSING
        if entry.expires <= self._clock():
            self._drop(key)
            self._expirations += 1
            self._misses += not again
            return _MISSING
        self._entries.move_to_end(key)
        self._hits += 1
        self._misses -= again
        copy = entry.copy
        return entry.reply if copy is None else copy(entry.reply)

    def begin(self, key: bytes, keys: tuple[bytes, ...], tag: object = None) -> Read:
        """Register a read of ``keys`` about to be sent; pair with ``finish`` or ``abandon``.

        ``tag`` names the connection it goes out on (``None``: not known), so
        that losing that connection drops what it read (``connection_lost``).
        """
        read = Read(key, keys, self._epoch, self._clock(), tag)
        pending = self._pending
        for k in keys:
            waiting = pending.get(k)
            if waiting is None:
                pending[k] = {read}
            else:
                waiting.add(read)
        self._reads += 1
        return read

    def abandon(self, read: Read) -> None:
        """Unregister a read that failed or was cancelled: nothing is stored."""
        self._unregister(read)

    def finish(self, read: Read, reply: Any) -> None:
        """Store ``reply`` unless an invalidation, flush or lost connection made it stale.

        The caller still returns ``reply``: it is what the server said when the read ran.
        """
        self._unregister(read)
        if read.stale or read.epoch != self._epoch:
            self._stale_skips += 1
            return
        key = read.key
        size = len(key) + _size(reply)
        if size > self._max_bytes:
            self._too_large += 1
            return
        if key in self._entries:
            self._drop(key)
        copy = _copier(reply)
        stored = reply if copy is None else copy(reply)  # the caller may mutate its own
        self._entries[key] = _Entry(
            stored, copy, read.keys, size, read.started + self._ttl, read.tag
        )
        self._bytes += size
        by_key = self._by_key
        for k in read.keys:
            linked = by_key.get(k)
            if linked is None:
                by_key[k] = {key}
            else:
                linked.add(key)
        entries = self._entries
        while len(entries) > self._max_entries or self._bytes > self._max_bytes:
            self._drop(next(iter(entries)))
            self._evictions += 1

    def _unregister(self, read: Read) -> None:
        self._reads -= 1
        pending = self._pending
        for k in read.keys:
            waiting = pending.get(k)
            if waiting is not None:
                waiting.discard(read)
                if not waiting:
                    del pending[k]

    # -- invalidation ---------------------------------------------------------------------

    def invalidate(self, keys: Iterable[Any]) -> None:
        """Keys changed: drop every entry that read one, make reads in flight on them stale.

        Keys are bytes, or str (a push frame under ``decode_responses``).
        """
        by_key = self._by_key
        pending = self._pending
        for raw in keys:
            k = raw.encode() if isinstance(raw, str) else raw
            linked = by_key.pop(k, None)
            if linked is not None:
                for key in linked:
                    self._drop(key)
                    self._invalidations += 1
            reads = pending.pop(k, None)
            if reads is not None:
                for read in reads:
                    read.stale = True

    def flush(self) -> None:
        """Drop everything; every read in flight becomes stale."""
        self._epoch += 1
        self._pending.clear()
        self._entries.clear()
        self._by_key.clear()
        self._bytes = 0
        self._flushes += 1

    def connection_lost(self, tag: object = None) -> None:
        """A tracking connection is gone, and with it the server's memory of what it read.

        Drops the entries read on it (``tag``) and those whose connection is
        not known, and makes every read in flight stale (its reply may have
        come from that connection). ``tag=None``: drops everything.
        """
        if tag is None:
            self.flush()
            return
        self._epoch += 1
        self._pending.clear()
        doomed = [key for key, entry in self._entries.items() if entry.tag in (tag, None)]
        for key in doomed:
            self._drop(key)
        self._flushes += 1

    def on_push(self, frame: Any) -> None:
        """A RESP3 push frame from a tracking connection: act on ``invalidate``, log others."""
        kind = frame[0] if len(frame) > 0 else None
        if kind in (b"invalidate", "invalidate"):
            keys = frame[1] if len(frame) > 1 else None
            if keys is None:
                self.flush()
            else:
                self.invalidate(keys)
        else:
            logger.debug("push frame %r ignored by the cache", kind)

    def _drop(self, key: bytes) -> None:
        entry = self._entries.pop(key)
        self._bytes -= entry.size
        by_key = self._by_key
        for k in entry.keys:
            linked = by_key.get(k)
            if linked is not None:
                linked.discard(key)
                if not linked:
                    del by_key[k]

    def stats(self) -> CacheStats:
        """A snapshot (``CacheStats``); never raises."""
        return CacheStats(
            hits=self._hits,
            misses=self._misses,
            invalidations=self._invalidations,
            evictions=self._evictions,
            entries=len(self._entries),
            bytes=self._bytes,
            expirations=self._expirations,
            flushes=self._flushes,
            stale_skips=self._stale_skips,
            too_large=self._too_large,
            pending=self._reads,
            max_entries=self._max_entries,
            max_bytes=self._max_bytes,
        )

    def check(self) -> None:
        """Assert the internal invariants (for tests): bytes, bounds, the key index."""
        total = sum(entry.size for entry in self._entries.values())
        assert total == self._bytes, (total, self._bytes)
        assert len(self._entries) <= self._max_entries
        assert self._bytes <= self._max_bytes
        index: dict[bytes, set[bytes]] = {}
        for key, entry in self._entries.items():
            for k in entry.keys:
                index.setdefault(k, set()).add(key)
        assert index == self._by_key, (index, self._by_key)


def cache_option(value: object, protocol: object, where: str) -> CacheOptions | None:
    """``cache=`` of ``from_url`` as ``CacheOptions`` (None: off); checks it against ``protocol``.

    ``protocol`` is what the caller asked for (None: not given). Caching needs
    RESP3: invalidations arrive as push frames.
    """
    if value is None or value is False:
        return None
    if value is True:
        value = CacheOptions()
    elif not isinstance(value, CacheOptions):
        raise TypeError(
            f"{where} option cache takes True, False, None or CacheOptions, "
            f"got {type(value).__name__}"
        )
    if protocol is not None and protocol != 3:
        raise ValueError(
            f"{where} options cache and protocol={protocol!r} conflict: the cache needs "
            "protocol=3 (invalidations arrive as RESP3 push frames); drop protocol or set it to 3"
        )
    return value
