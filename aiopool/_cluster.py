"""``ClusterClient``: Redis Cluster through one ``Pool`` (and ``Client``) per node."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, TypeVar
from urllib.parse import urlsplit

from . import _commands as cmd
from . import _retry
from ._autopipeline import AutoPipelineStats
from ._client import Client
from ._cluster_pipeline import ClusterPipeline
from ._command_table import READ_ONLY
from ._commands import Command
from ._config import (
    AUTO_PIPELINE_FIELDS,
    CLUSTER_FIELDS,
    AutoPipelineOptions,
    ClusterOptions,
    ConnectionOptions,
    PoolOptions,
    check_auto_pipeline,
    mask_url,
    options_from_url,
)
from ._connection import Connection
from ._errors import (
    AskError,
    ClusterDownError,
    ClusterError,
    ConnectionFailure,
    MovedError,
    RedirectError,
    RedisError,
    ReplyError,
)
from ._keys import command_name_key, command_slot
from ._pool import Pool, PoolStats
from ._protocol import command_name, encode_command, refuse_session_command
from ._pubsub import PubSub
from ._topology import SlotMap, address_of, parse_shards, parse_slots

__all__ = ["ClusterClient"]

logger = logging.getLogger("aiopool.cluster")

P = ParamSpec("P")
T = TypeVar("T")

_ASKING = encode_command(("ASKING",))
_REFRESH_GAP = 0.1  # a refresh asked for sooner than this after the last reuses it
# Keyless commands that every primary must run, and how their replies combine.
_ON_ALL_PRIMARIES: dict[str, Callable[[list[Any]], Any]] = {
    "flushall": lambda replies: replies[0],
    "flushdb": lambda replies: replies[0],
    "script|load": lambda replies: replies[0],
    "script|flush": lambda replies: replies[0],
    "function|load": lambda replies: replies[0],
    "function|delete": lambda replies: replies[0],
    "function|flush": lambda replies: replies[0],
    "config|set": lambda replies: replies[0],
    "config|resetstat": lambda replies: replies[0],
    "dbsize": sum,
    "keys": lambda replies: [key for reply in replies for key in reply],
    "script|exists": lambda replies: [int(all(found)) for found in zip(*replies, strict=True)],
}


def _command(
    build: Callable[P, Command[T]],
) -> Callable[Concatenate[ClusterClient, P], Coroutine[Any, Any, T]]:
    """Make ``build`` (a command definition) an async ``ClusterClient`` method."""

    async def method(self: ClusterClient, /, *args: P.args, **kwargs: P.kwargs) -> T:
        command = build(*args, **kwargs)
        reply = await self._send(command.args)
        if command.transform is None:
            return reply  # type: ignore[no-any-return]
        return cmd.apply(command, reply, "the cluster")

    cmd.describe(method, build, "{}")
    return method


def _startup_nodes(urls: str | Sequence[str]) -> tuple[str, list[tuple[str, int]]]:
    """The first URL (for its options) and every URL's ``(host, port)``."""
    listed = [urls] if isinstance(urls, str) else list(urls)
    if not listed:
        raise ValueError("ClusterClient.from_url() needs at least one startup node URL")
    nodes = []
    for url in listed:
        if not isinstance(url, str):
            raise TypeError(f"a startup node must be a URL str, got {type(url).__name__}")
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss") or not parts.hostname:
            raise ValueError(
                f"invalid cluster node URL {mask_url(url)!r}: expected redis://host:port"
            )
        if parts.path.strip("/") not in ("", "0"):
            raise ValueError(
                f"invalid cluster node URL {mask_url(url)!r}: Redis Cluster has only database 0"
            )
        nodes.append((parts.hostname, parts.port or 6379))
    return listed[0], nodes


class ClusterClient:
    """An async Redis Cluster client: one ``Pool`` per node, commands routed by slot.

    Build one with ``ClusterClient.from_url("redis://host:port", ...)`` (one
    or several startup nodes) and use it as ``async with``. It has the typed
    command methods of ``Client`` and ``execute(*args)``. Each command goes to
    the primary serving its key's hash slot (``read_from`` may send reads to
    replicas); keyless commands go to one primary, except those every
    primary must run (FLUSHALL, SCRIPT LOAD, ...) or whose answer sums up the
    cluster (DBSIZE, KEYS), which go to all of them.

    Redirects: ``MOVED`` updates the slot map, retries on the right node and
    schedules a topology refresh; ``ASK`` sends ``ASKING`` and the command
    to the importing node once, leaving the map alone. ``TRYAGAIN``,
    ``CLUSTERDOWN``, ``LOADING`` and a node that cannot be reached (nothing
    was sent) are retried with backoff and a shared topology refresh for up
    to ``retry_timeout``, which covers a primary being replaced by its
    promoted replica. More than ``max_redirects`` redirects raise
    ``ClusterError``. A multi-key command whose keys span slots raises
    ``CrossSlotError`` before anything is sent.

    Timeouts and cancellation are those of the node's pool (see ``Client``):
    a command written and then interrupted closes its connection, and an
    outcome that is unknown (``ConnectionLost``, ``CommandTimeout``) is never
    retried on another node unless ``retry_safe_commands`` allows it on the
    same one.
    """

    __slots__ = (
        "_clients",
        "_closed",
        "_latency",
        "_map",
        "_periodic",
        "_refreshed_at",
        "_refreshing",
        "_startup",
        "_tasks",
        "auto_pipeline_options",
        "cluster_options",
        "connection_options",
        "pool_options",
    )

    def __init__(
        self,
        startup_nodes: Sequence[tuple[str, int]],
        connection: ConnectionOptions | None = None,
        pool: PoolOptions | None = None,
        cluster: ClusterOptions | None = None,
        auto_pipeline: AutoPipelineOptions | None = None,
    ) -> None:
        if not startup_nodes:
            raise ValueError("ClusterClient needs at least one startup node (host, port)")
        self.connection_options = connection if connection is not None else ConnectionOptions()
        if self.connection_options.path is not None or self.connection_options.db:
            raise ValueError("Redis Cluster runs over TCP with database 0: drop path and db")
        self.pool_options = pool if pool is not None else PoolOptions()
        self.cluster_options = cluster if cluster is not None else ClusterOptions()
        self.auto_pipeline_options = (
            auto_pipeline if auto_pipeline is not None else AutoPipelineOptions()
        )
        check_auto_pipeline(self.auto_pipeline_options, self.pool_options)
        self._startup = [address_of(host, port) for host, port in startup_nodes]
        self._map = SlotMap()
        self._clients: dict[str, Client] = {}
        self._latency: dict[str, float] = {}
        self._refreshing: asyncio.Task[bool] | None = None
        self._refreshed_at = -1.0
        self._periodic: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    @classmethod
    def from_url(cls, url: str | Sequence[str], **options: object) -> ClusterClient:
        """Build a cluster client from one startup node URL or several.

        ``options`` are the pool and connection options of ``Client.from_url``
        (applied to every node's pool) and the cluster options ``read_from``,
        ``max_redirects``, ``retry_timeout`` and ``refresh_interval``
        (``ClusterOptions``), and ``auto_pipeline=True`` (``AutoPipelineOptions``),
        which shares each node's connections between concurrent commands as
        ``Client`` does. Nothing is connected until ``async with`` (or the
        first command). A bad URL raises ``ValueError``; an unknown option
        ``TypeError``.
        """
        first, nodes = _startup_nodes(url)
        cluster = {k: options.pop(k) for k in list(options) if k in CLUSTER_FIELDS}
        auto = {k: options.pop(k) for k in list(options) if k in AUTO_PIPELINE_FIELDS}
        connection, pool = options_from_url(first, dict(options), where="ClusterClient.from_url()")
        return cls(
            nodes,
            connection,
            pool,
            ClusterOptions(**cluster),  # type: ignore[arg-type]
            AutoPipelineOptions(**auto),  # type: ignore[arg-type]
        )

    def __repr__(self) -> str:
        state = " closed" if self._closed else ""
        if self.auto_pipeline_options.auto_pipeline:
            state += " auto_pipeline"
        return (
            f"<ClusterClient{state} shards={len(self._map.shards)} nodes={len(self._clients)} "
            f"read_from={self.cluster_options.read_from}>"
        )

    async def __aenter__(self) -> ClusterClient:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- lifecycle ---------------------------------------------------------------------

    async def open(self) -> ClusterClient:
        """Load the topology (``CLUSTER SHARDS``) and start the periodic refresh.

        Raises ``ClusterError`` naming every node tried when none answered;
        each node's ``connect_timeout`` bounds the wait on it.
        """
        self._check_open()
        if not self._map.shards and not await self._refresh(force=True):
            raise ClusterError(
                f"no startup node answered CLUSTER SHARDS or CLUSTER SLOTS: tried "
                f"{', '.join(self._startup)}; check the URLs and that cluster mode is on"
            )
        self._arm_periodic()
        return self

    async def aclose(self) -> None:
        """Stop refreshing and close every node's pool (see ``Pool.aclose``)."""
        if self._closed:
            return
        self._closed = True
        if self._periodic is not None:
            self._periodic.cancel()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        clients, self._clients = list(self._clients.values()), {}
        await asyncio.gather(*(client.aclose() for client in clients), return_exceptions=True)

    def _check_open(self) -> None:
        if self._closed:
            raise ClusterError(f"{self!r} is closed")

    # -- nodes -------------------------------------------------------------------------

    def node(self, address: str) -> Client:
        """The ``Client`` (and pool) of the node at ``host:port``, created on first use.

        For node-level work: pub/sub, INFO of one node, a command that must
        run on that node.
        """
        self._check_open()
        client = self._clients.get(address)
        if client is None:
            readonly = self.cluster_options.read_from != "primary"
            pool = Pool(self._options_for(address, readonly=readonly), self.pool_options)
            pool._retry_connect = False  # a refused connect goes back to _route at once
            client = self._clients[address] = Client(pool, self.auto_pipeline_options)
        return client

    def _options_for(self, address: str, *, readonly: bool) -> ConnectionOptions:
        host, _, port = address.rpartition(":")
        return dataclasses.replace(
            self.connection_options, host=host, port=int(port), readonly=readonly
        )

    def _spawn(self, work: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run ``work`` in the background; ``aclose()`` cancels and awaits it."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def primaries(self) -> list[str]:
        """The ``host:port`` of every primary, as of the last topology refresh."""
        return self._map.primaries()

    def slot_owner(self, slot: int) -> str | None:
        """The ``host:port`` of the primary serving ``slot`` as far as this client knows."""
        shard = self._map.slots[slot]
        return None if shard is None else shard.primary

    def stats(self) -> dict[str, PoolStats]:
        """Each node's ``PoolStats``, by ``host:port``."""
        return {address: client.pool.stats() for address, client in self._clients.items()}

    def auto_pipeline_stats(self) -> dict[str, AutoPipelineStats]:
        """Each node's ``AutoPipelineStats``, by ``host:port`` (empty when it is off)."""
        stats = {address: client.auto_pipeline_stats() for address, client in self._clients.items()}
        return {address: s for address, s in stats.items() if s is not None}

    def _address(self, slot: int | None, read_only: bool) -> str | None:
        if slot is None:
            primaries = self._map.primaries()
            return random.choice(primaries) if primaries else None
        shard = self._map.slots[slot]
        if shard is None:
            return None
        mode = self.cluster_options.read_from
        if not read_only or mode == "primary":
            return shard.primary
        if mode == "replicas":
            return shard.next_replica()
        latency = self._latency
        return min((shard.primary, *shard.replicas), key=lambda a: latency.get(a, float("inf")))

    # -- topology ----------------------------------------------------------------------

    async def _refresh(self, *, force: bool = False) -> bool:
        """Reload the topology; callers at the same time share one reload.

        A reload asked for within ``_REFRESH_GAP`` of the last one is skipped
        (unless ``force``), so a burst of failing commands costs one query.
        Cancelling a caller does not cancel the shared reload.
        """
        task = self._refreshing
        if task is None or task.done():
            if not force and time.monotonic() - self._refreshed_at < _REFRESH_GAP:
                return True
            task = self._refreshing = self._spawn(self._reload())
        return await asyncio.shield(task)

    def _refresh_soon(self) -> None:
        """Schedule a refresh without waiting for it (MOVED, a lost node, the timer)."""
        if self._closed or (self._refreshing is not None and not self._refreshing.done()):
            return
        self._spawn(self._refresh())

    def _arm_periodic(self) -> None:
        interval = self.cluster_options.refresh_interval
        if self._periodic is not None:
            self._periodic.cancel()  # open() may run more than once: one timer only
        if interval is None or self._closed:
            return
        loop = asyncio.get_running_loop()
        self._periodic = loop.call_later(interval, self._on_periodic)

    def _on_periodic(self) -> None:
        self._refresh_soon()
        self._arm_periodic()

    async def _reload(self) -> bool:
        known = self._map.primaries()
        random.shuffle(known)
        candidates = list(dict.fromkeys([*known, *self._map.addresses(), *self._startup]))
        last: BaseException | None = None
        for address in candidates:
            try:
                shards = await self._query(address)
            except Exception as exc:  # any node may fail or answer nonsense: try the next
                last = exc
                continue
            if not shards:
                continue  # a node that serves no slot yet (just joined) knows little
            self._apply(SlotMap(shards))
            if self.cluster_options.read_from == "nearest":
                await self._measure()
            return True
        logger.warning("topology refresh failed: no node answered (last error: %s)", last)
        return False

    async def _query(self, address: str) -> list[Any]:
        options = self._options_for(address, readonly=False)
        limit = options.connect_timeout
        conn = await Connection.open(options, timeout=limit)
        try:
            try:
                return parse_shards(await conn.execute("CLUSTER", "SHARDS", timeout=limit))
            except ReplyError:  # before Redis 7
                return parse_slots(await conn.execute("CLUSTER", "SLOTS", timeout=limit))
        finally:
            conn.abort()

    def _apply(self, new: SlotMap) -> None:
        old = self._map.addresses()
        self._map = new
        self._refreshed_at = time.monotonic()
        gone = old - new.addresses() - set(self._startup)
        for address in gone:
            self._latency.pop(address, None)
            client = self._clients.pop(address, None)
            if client is not None:
                logger.info("node %s left the cluster; closing its pool", address)
                self._spawn(client.aclose())

    async def _measure(self) -> None:
        async def ping(address: str) -> None:
            started = time.perf_counter()
            try:
                await self.node(address).ping()
            except RedisError:
                self._latency[address] = float("inf")
            else:
                elapsed = time.perf_counter() - started
                previous = self._latency.get(address)
                smoothed = elapsed if previous in (None, float("inf")) else previous
                self._latency[address] = 0.7 * smoothed + 0.3 * elapsed

        await asyncio.gather(*(ping(a) for a in self._map.addresses()))

    # -- commands ----------------------------------------------------------------------

    async def execute(self, *args: Any) -> Any:
        """Run one raw command on the node its keys map to; its raw reply.

        Arguments and refused session commands are as for ``Client.execute``.
        ``CrossSlotError`` when the keys span slots (nothing sent).
        """
        refuse_session_command(
            args,
            "changes the state of the connection it runs on, and the pool would hand that "
            "connection to another caller next",
        )
        return await self._send(args)

    async def _send(self, args: tuple[Any, ...]) -> Any:
        if self._closed or not self._map.shards:
            await self.open()  # raises ClusterError once closed
        name = command_name_key(args)
        slot = command_slot(args, name)
        if slot is None and name in _ON_ALL_PRIMARIES:
            return _ON_ALL_PRIMARIES[name](await self._on_all(args, name))
        return await self._route(args, slot, name in READ_ONLY)

    async def _on_all(self, args: tuple[Any, ...], name: str) -> list[Any]:
        nodes = self._map.primaries()
        if name.startswith("script|") and self.cluster_options.read_from != "primary":
            # Scripts are not replicated: replicas serving EVALSHA_RO need them too.
            nodes = sorted(self._map.addresses())
        return list(await asyncio.gather(*(self.node(a)._send(args) for a in nodes)))

    async def _route(self, args: tuple[Any, ...], slot: int | None, read_only: bool) -> Any:
        options = self.cluster_options
        redirects = 0
        target: str | None = None
        asking = False
        unservable = _retry.SlotRetry(options.retry_timeout)
        last: RedirectError | None = None
        while True:
            address = target or self._address(slot, read_only)
            try:
                if address is None:
                    raise ClusterDownError(
                        f"CLUSTERDOWN no known node serves slot {slot} (refreshing the topology)"
                    )
                if asking:
                    return await self._asking(address, args)
                return await self.node(address)._send(args)
            except MovedError as exc:
                self._map.moved(exc.slot, exc.address)
                self._refresh_soon()
                target, asking, last = exc.address, False, exc
            except AskError as exc:
                target, asking, last = exc.address, True, exc
            except _retry.SLOT_UNSERVABLE_ERRORS as exc:
                self._check_open()
                await unservable.pause(exc, slot)  # raises exc once retry_timeout is spent
                target, asking = None, False
                await self._refresh()
                continue
            except ConnectionFailure:
                self._refresh_soon()  # the node may be gone; the outcome is the caller's
                raise
            redirects += 1
            if redirects > options.max_redirects:
                raise ClusterError(
                    f"{command_name(args)} was redirected {redirects - 1} times "
                    f"(max_redirects={options.max_redirects}); last: {last}"
                ) from last

    async def _asking(self, address: str, args: tuple[Any, ...]) -> Any:
        pool = self.node(address).pool
        data = _ASKING + encode_command(args)
        conn = await pool._acquire()
        try:
            _, reply = await conn.request_many(
                data, 2, command_name(args), pool.connection_options.command_timeout
            )
        finally:
            pool._release(conn)
        if isinstance(reply, ReplyError):
            raise reply
        return reply

    async def _run(self, command: Command[T]) -> T:
        reply = await self._send(command.args)
        return cmd.apply(command, reply, "the cluster")

    # -- iteration, pipelines, pub/sub ----------------------------------------------------

    async def scan_iter(
        self,
        match: str | bytes | None = None,
        count: int | None = None,
        type_: str | None = None,
    ) -> AsyncIterator[Any]:
        """Iterate over the keys of every primary with SCAN, one primary after another.

        Each batch is one round trip; a key may be yielded more than once,
        and keys that move between primaries during the scan may be missed
        or repeated (as with SCAN on one server during a resharding).
        """
        if self._closed or not self._map.shards:
            await self.open()  # raises ClusterError once closed
        for address in self._map.primaries():
            async for key in self.node(address).scan_iter(match, count, type_):
                yield key

    def pipeline(self, transaction: bool = False) -> ClusterPipeline:
        """A ``ClusterPipeline``: commands grouped per node and sent concurrently.

        With ``transaction=True`` every key must map to one slot (checked as
        commands are queued, ``CrossSlotError``) and the commands run in
        MULTI/EXEC on that slot's primary.
        """
        return ClusterPipeline(self, transaction=transaction)

    def pubsub(self, *, max_messages: int = 10_000) -> PubSub:
        """A ``PubSub`` on one primary: cluster-wide channels reach every node.

        For sharded channels (``ssubscribe``) use ``node(address).pubsub()``
        on the primary serving the channel's slot (``slot_owner``).
        """
        self._check_open()
        primaries = self._map.primaries() or self._startup
        return self.node(primaries[0]).pubsub(max_messages=max_messages)

    # -- commands: generated by tools/bind_commands.py from aiopool/_commands; do not edit

    # strings
    append = _command(cmd.strings.append)
    decr = _command(cmd.strings.decr)
    decrby = _command(cmd.strings.decrby)
    get = _command(cmd.strings.get)
    getdel = _command(cmd.strings.getdel)
    getex = _command(cmd.strings.getex)
    getrange = _command(cmd.strings.getrange)
    incr = _command(cmd.strings.incr)
    incrby = _command(cmd.strings.incrby)
    incrbyfloat = _command(cmd.strings.incrbyfloat)
    mget = _command(cmd.strings.mget)
    mset = _command(cmd.strings.mset)
    msetnx = _command(cmd.strings.msetnx)
    set = _command(cmd.strings.set_)
    setrange = _command(cmd.strings.setrange)
    strlen = _command(cmd.strings.strlen)

    # keys
    copy = _command(cmd.keys.copy)
    delete = _command(cmd.keys.delete)
    dump = _command(cmd.keys.dump)
    exists = _command(cmd.keys.exists)
    expire = _command(cmd.keys.expire)
    expireat = _command(cmd.keys.expireat)
    expiretime = _command(cmd.keys.expiretime)
    keys = _command(cmd.keys.keys)
    object_encoding = _command(cmd.keys.object_encoding)
    object_freq = _command(cmd.keys.object_freq)
    object_idletime = _command(cmd.keys.object_idletime)
    object_refcount = _command(cmd.keys.object_refcount)
    persist = _command(cmd.keys.persist)
    pexpire = _command(cmd.keys.pexpire)
    pexpireat = _command(cmd.keys.pexpireat)
    pexpiretime = _command(cmd.keys.pexpiretime)
    pttl = _command(cmd.keys.pttl)
    randomkey = _command(cmd.keys.randomkey)
    rename = _command(cmd.keys.rename)
    renamenx = _command(cmd.keys.renamenx)
    restore = _command(cmd.keys.restore)
    scan = _command(cmd.keys.scan)
    touch = _command(cmd.keys.touch)
    ttl = _command(cmd.keys.ttl)
    type = _command(cmd.keys.type_)
    unlink = _command(cmd.keys.unlink)

    # hashes
    hdel = _command(cmd.hashes.hdel)
    hexists = _command(cmd.hashes.hexists)
    hget = _command(cmd.hashes.hget)
    hgetall = _command(cmd.hashes.hgetall)
    hincrby = _command(cmd.hashes.hincrby)
    hincrbyfloat = _command(cmd.hashes.hincrbyfloat)
    hkeys = _command(cmd.hashes.hkeys)
    hlen = _command(cmd.hashes.hlen)
    hmget = _command(cmd.hashes.hmget)
    hrandfield = _command(cmd.hashes.hrandfield)
    hscan = _command(cmd.hashes.hscan)
    hset = _command(cmd.hashes.hset)
    hsetnx = _command(cmd.hashes.hsetnx)
    hstrlen = _command(cmd.hashes.hstrlen)
    hvals = _command(cmd.hashes.hvals)

    # lists
    blmove = _command(cmd.lists.blmove)
    blpop = _command(cmd.lists.blpop)
    brpop = _command(cmd.lists.brpop)
    lindex = _command(cmd.lists.lindex)
    linsert = _command(cmd.lists.linsert)
    llen = _command(cmd.lists.llen)
    lmove = _command(cmd.lists.lmove)
    lpop = _command(cmd.lists.lpop)
    lpos = _command(cmd.lists.lpos)
    lpush = _command(cmd.lists.lpush)
    lpushx = _command(cmd.lists.lpushx)
    lrange = _command(cmd.lists.lrange)
    lrem = _command(cmd.lists.lrem)
    lset = _command(cmd.lists.lset)
    ltrim = _command(cmd.lists.ltrim)
    rpop = _command(cmd.lists.rpop)
    rpush = _command(cmd.lists.rpush)
    rpushx = _command(cmd.lists.rpushx)

    # sets
    sadd = _command(cmd.sets.sadd)
    scard = _command(cmd.sets.scard)
    sdiff = _command(cmd.sets.sdiff)
    sdiffstore = _command(cmd.sets.sdiffstore)
    sinter = _command(cmd.sets.sinter)
    sinterstore = _command(cmd.sets.sinterstore)
    sismember = _command(cmd.sets.sismember)
    smembers = _command(cmd.sets.smembers)
    smismember = _command(cmd.sets.smismember)
    smove = _command(cmd.sets.smove)
    spop = _command(cmd.sets.spop)
    srandmember = _command(cmd.sets.srandmember)
    srem = _command(cmd.sets.srem)
    sscan = _command(cmd.sets.sscan)
    sunion = _command(cmd.sets.sunion)
    sunionstore = _command(cmd.sets.sunionstore)

    # zsets
    bzpopmax = _command(cmd.zsets.bzpopmax)
    bzpopmin = _command(cmd.zsets.bzpopmin)
    zadd = _command(cmd.zsets.zadd)
    zcard = _command(cmd.zsets.zcard)
    zcount = _command(cmd.zsets.zcount)
    zincrby = _command(cmd.zsets.zincrby)
    zinterstore = _command(cmd.zsets.zinterstore)
    zlexcount = _command(cmd.zsets.zlexcount)
    zmscore = _command(cmd.zsets.zmscore)
    zpopmax = _command(cmd.zsets.zpopmax)
    zpopmin = _command(cmd.zsets.zpopmin)
    zrandmember = _command(cmd.zsets.zrandmember)
    zrange = _command(cmd.zsets.zrange)
    zrangestore = _command(cmd.zsets.zrangestore)
    zrank = _command(cmd.zsets.zrank)
    zrem = _command(cmd.zsets.zrem)
    zremrangebylex = _command(cmd.zsets.zremrangebylex)
    zremrangebyrank = _command(cmd.zsets.zremrangebyrank)
    zremrangebyscore = _command(cmd.zsets.zremrangebyscore)
    zrevrank = _command(cmd.zsets.zrevrank)
    zscan = _command(cmd.zsets.zscan)
    zscore = _command(cmd.zsets.zscore)
    zunionstore = _command(cmd.zsets.zunionstore)

    # streams
    xack = _command(cmd.streams.xack)
    xadd = _command(cmd.streams.xadd)
    xautoclaim = _command(cmd.streams.xautoclaim)
    xclaim = _command(cmd.streams.xclaim)
    xdel = _command(cmd.streams.xdel)
    xgroup_create = _command(cmd.streams.xgroup_create)
    xgroup_createconsumer = _command(cmd.streams.xgroup_createconsumer)
    xgroup_delconsumer = _command(cmd.streams.xgroup_delconsumer)
    xgroup_destroy = _command(cmd.streams.xgroup_destroy)
    xinfo_groups = _command(cmd.streams.xinfo_groups)
    xinfo_stream = _command(cmd.streams.xinfo_stream)
    xlen = _command(cmd.streams.xlen)
    xpending = _command(cmd.streams.xpending)
    xpending_range = _command(cmd.streams.xpending_range)
    xrange = _command(cmd.streams.xrange)
    xread = _command(cmd.streams.xread)
    xreadgroup = _command(cmd.streams.xreadgroup)
    xrevrange = _command(cmd.streams.xrevrange)
    xtrim = _command(cmd.streams.xtrim)

    # bits
    bitcount = _command(cmd.bits.bitcount)
    bitop = _command(cmd.bits.bitop)
    bitpos = _command(cmd.bits.bitpos)
    getbit = _command(cmd.bits.getbit)
    pfadd = _command(cmd.bits.pfadd)
    pfcount = _command(cmd.bits.pfcount)
    pfmerge = _command(cmd.bits.pfmerge)
    setbit = _command(cmd.bits.setbit)

    # scripting
    eval = _command(cmd.scripting.eval_)
    eval_ro = _command(cmd.scripting.eval_ro)
    evalsha = _command(cmd.scripting.evalsha)
    evalsha_ro = _command(cmd.scripting.evalsha_ro)
    fcall = _command(cmd.scripting.fcall)
    fcall_ro = _command(cmd.scripting.fcall_ro)
    function_delete = _command(cmd.scripting.function_delete)
    function_flush = _command(cmd.scripting.function_flush)
    function_list = _command(cmd.scripting.function_list)
    function_load = _command(cmd.scripting.function_load)
    script_exists = _command(cmd.scripting.script_exists)
    script_flush = _command(cmd.scripting.script_flush)
    script_load = _command(cmd.scripting.script_load)

    # pubsub
    publish = _command(cmd.pubsub.publish)
    pubsub_channels = _command(cmd.pubsub.pubsub_channels)
    pubsub_numpat = _command(cmd.pubsub.pubsub_numpat)
    pubsub_numsub = _command(cmd.pubsub.pubsub_numsub)
    pubsub_shardchannels = _command(cmd.pubsub.pubsub_shardchannels)
    pubsub_shardnumsub = _command(cmd.pubsub.pubsub_shardnumsub)
    spublish = _command(cmd.pubsub.spublish)

    # server
    client_getname = _command(cmd.server.client_getname)
    client_id = _command(cmd.server.client_id)
    client_list = _command(cmd.server.client_list)
    client_setname = _command(cmd.server.client_setname)
    config_get = _command(cmd.server.config_get)
    config_set = _command(cmd.server.config_set)
    dbsize = _command(cmd.server.dbsize)
    echo = _command(cmd.server.echo)
    flushall = _command(cmd.server.flushall)
    flushdb = _command(cmd.server.flushdb)
    info = _command(cmd.server.info)
    lastsave = _command(cmd.server.lastsave)
    memory_usage = _command(cmd.server.memory_usage)
    ping = _command(cmd.server.ping)
    time = _command(cmd.server.time)
    wait = _command(cmd.server.wait)

    # -- end of generated commands
