"""``ClusterClient``: Redis Cluster through one ``Pool`` (and ``Client``) per node."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Sequence
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, TypeVar
from urllib.parse import urlsplit

from . import _commands as cmd
from . import _retry
from ._autopipeline import AutoPipelineStats
from ._cache import CacheOptions, CacheStats, cache_option
from ._client import Client, _with_protocol_3
from ._cluster_pipeline import ClusterPipeline
from ._cluster_pubsub import ClusterPubSub
from ._command_table import READ_ONLY
from ._commands import Command, Key, Value
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
from ._errors import (
    AskError,
    ClusterDownError,
    ClusterError,
    ConnectionFailure,
    MovedError,
    RedirectError,
    ReplyError,
)
from ._fanout import ON_ALL_NODES, ON_ALL_PRIMARIES, argument_slot
from ._keys import command_slot, key_slot
from ._lock import lock as _lock
from ._pool import Pool
from ._protocol import canonical_name, display_name, encode_command, refuse_session_command
from ._pubsub import PubSub
from ._script import Script
from ._stats import PoolStats
from ._topology import Topology, address_of, node_options

__all__ = ["ClusterClient"]

logger = logging.getLogger("aiopool.cluster")

P = ParamSpec("P")
T = TypeVar("T")

_ASKING = encode_command(("ASKING",))


def _command(
    build: Callable[P, Command[T]],
) -> Callable[Concatenate[ClusterClient, P], Coroutine[Any, Any, T]]:
    """Make ``build`` (a command definition) an async ``ClusterClient`` method."""

    def method(self: ClusterClient, /, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, T]:
        # A plain function, as Client's: bad arguments raise at the call.
        return _run(self, build(*args, **kwargs))

    cmd.describe(method, build, "{}")
    return method


async def _run(client: ClusterClient, command: Command[T]) -> T:
    reply = await client._send(command[0])
    if command[1] is None:
        return reply  # type: ignore[no-any-return]
    return cmd.apply(command, reply, "the cluster")


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


class _Router:
    """What a ``ClusterPipeline`` may ask of its ``ClusterClient`` (``_cluster_pipeline.Router``).

    One per cluster client, shared by its pipelines: they see this, never
    the client's private members.
    """

    __slots__ = ("_cluster",)

    def __init__(self, cluster: ClusterClient) -> None:
        self._cluster = cluster

    def __repr__(self) -> str:
        return f"<Router of {self._cluster!r}>"

    @property
    def cluster_options(self) -> ClusterOptions:
        return self._cluster.cluster_options

    async def ready(self) -> None:
        await self._cluster._ready()

    def node_for(self, slot: int | None, read_only: bool) -> str | None:
        return self._cluster._topology.node_for(slot, read_only)

    def node(self, address: str) -> Client:
        return self._cluster.node(address)

    def moved(self, slot: int, address: str) -> None:
        self._cluster._topology.moved(slot, address)

    async def refresh(self) -> None:
        await self._cluster._topology.refresh()

    async def route(self, args: tuple[Any, ...], slot: int | None, read_only: bool) -> Any:
        return await self._cluster._route(args, slot, read_only)


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
        "_on_node",
        "_router",
        "_startup",
        "_tasks",
        "_topology",
        "auto_pipeline_options",
        "cache_options",
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
        cache: CacheOptions | None = None,
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
        if cache is not None and self.connection_options.protocol != 3:
            cache_option(cache, self.connection_options.protocol, "ClusterClient()")
        self.cache_options = cache
        self._startup = [address_of(host, port) for host, port in startup_nodes]
        self._topology = Topology(
            self._startup,
            self.connection_options,
            self.cluster_options,
            ping=self._ping_node,
            forget=self._forget,
            lost_slots=self._lost_slots if cache is not None else None,
        )
        self._router = _Router(self)
        self._clients: dict[str, Client] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        # Called with each node's address and client as node() creates it (aiopool.otel).
        self._on_node: Callable[[str, Client], None] | None = None

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
        where = "ClusterClient.from_url()"
        cache = cache_option(options.pop("cache", None), options.get("protocol"), where)
        connection, pool = options_from_url(first, dict(options), where=where)
        if cache is not None:
            connection = _with_protocol_3(first, connection, where)
        return cls(
            nodes,
            connection,
            pool,
            ClusterOptions(**cluster),  # type: ignore[arg-type]
            AutoPipelineOptions(**auto),  # type: ignore[arg-type]
            cache,
        )

    def __repr__(self) -> str:
        state = " closed" if self._closed else ""
        if self.auto_pipeline_options.auto_pipeline:
            state += " auto_pipeline"
        return (
            f"<ClusterClient{state} shards={len(self._topology.map.shards)} "
            f"nodes={len(self._clients)} read_from={self.cluster_options.read_from}>"
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
        if not self._topology.map.shards and not await self._topology.refresh(force=True):
            raise ClusterError(
                f"no startup node answered CLUSTER SHARDS or CLUSTER SLOTS: tried "
                f"{', '.join(self._startup)}; check the URLs and that cluster mode is on"
            )
        self._topology.start()
        return self

    async def aclose(self) -> None:
        """Stop refreshing and close every node's pool (see ``Pool.aclose``)."""
        if self._closed:
            return
        self._closed = True
        await self._topology.aclose()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        clients, self._clients = list(self._clients.values()), {}
        await asyncio.gather(*(client.aclose() for client in clients), return_exceptions=True)

    def _check_open(self) -> None:
        if self._closed:
            raise ClusterError(f"{self!r} is closed")

    async def _ready(self) -> None:
        """Load the topology unless it is loaded; ``ClusterError`` once closed."""
        if self._closed or not self._topology.map.shards:
            await self.open()

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
            options = node_options(self.connection_options, address, readonly=readonly)
            if self.cache_options is None:
                client = Client(Pool(options, self.pool_options), self.auto_pipeline_options)
            else:  # one cache per node: its connections' invalidations are about its keys
                auto = self.auto_pipeline_options
                client = Client._cached(options, self.pool_options, auto, self.cache_options)
            client.pool._retry_connect = False  # a refused connect goes back to _route at once
            self._clients[address] = client
            if self._on_node is not None:
                self._on_node(address, client)
        return client

    def _spawn(self, work: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run ``work`` in the background; ``aclose()`` cancels and awaits it."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def primaries(self) -> list[str]:
        """The ``host:port`` of every primary, as of the last topology refresh."""
        return self._topology.map.primaries()

    def slot_owner(self, slot: int) -> str | None:
        """The ``host:port`` of the primary serving ``slot`` as far as this client knows."""
        shard = self._topology.map.slots[slot]
        return None if shard is None else shard.primary

    def _watch_nodes(self, on_node: Callable[[str, Client], None] | None) -> dict[str, Client]:
        """Call ``on_node(address, client)`` for each node client created from now on.

        Returns the node clients that exist already. For ``aiopool.otel``.
        """
        self._on_node = on_node
        return dict(self._clients)

    def stats(self) -> dict[str, PoolStats]:
        """Each node's ``PoolStats``, by ``host:port``."""
        return {address: client.pool.stats() for address, client in self._clients.items()}

    def auto_pipeline_stats(self) -> dict[str, AutoPipelineStats]:
        """Each node's ``AutoPipelineStats``, by ``host:port`` (empty when it is off)."""
        stats = {address: client.auto_pipeline_stats() for address, client in self._clients.items()}
        return {address: s for address, s in stats.items() if s is not None}

    def cache_stats(self) -> dict[str, CacheStats]:
        """Each node's ``CacheStats``, by ``host:port`` (empty when caching is off)."""
        stats = {address: client.cache_stats() for address, client in self._clients.items()}
        return {address: s for address, s in stats.items() if s is not None}

    def cache_clear(self) -> None:
        """Drop every node's cached replies (see ``Client.cache_clear``)."""
        for client in self._clients.values():
            client.cache_clear()

    # -- topology (``Topology`` owns the map; these are its callbacks) --------------------

    def _lost_slots(self, addresses: set[str]) -> None:
        """Slots moved away from these nodes: what their caches hold may be left behind.

        A key that did not exist on the old owner (a cached miss) gets no
        invalidation when the slot moves, so the whole node cache goes.
        """
        for address in addresses:
            client = self._clients.get(address)
            if client is not None:
                client.cache_clear()

    async def _ping_node(self, address: str) -> None:
        await self.node(address).ping()

    def _forget(self, address: str) -> None:
        """A refresh found ``address`` gone from the cluster: close its pool."""
        client = self._clients.pop(address, None)
        if client is not None:
            logger.info("node %s left the cluster; closing its pool", address)
            self._spawn(client.aclose())

    # -- commands ----------------------------------------------------------------------

    async def execute_command(self, *args: Any) -> Any:
        """redis-py's name for ``execute()``: run one raw command, return its raw reply."""
        return await self.execute(*args)

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
        if self._closed or not self._topology.map.shards:
            await self.open()  # raises ClusterError once closed
        name = canonical_name(args)
        slot = command_slot(args, name)
        if slot is None:
            combine = ON_ALL_PRIMARIES.get(name) or ON_ALL_NODES.get(name)
            if combine is not None:
                return combine(await self._on_all(args, name))
            slot = argument_slot(args, name)
        return await self._route(args, slot, name in READ_ONLY)

    async def _on_all(self, args: tuple[Any, ...], name: str) -> list[Any]:
        nodes = self._topology.map.primaries()
        if name in ON_ALL_NODES:
            nodes = sorted(self._topology.map.addresses())
        elif name.startswith("script|") and self.cluster_options.read_from != "primary":
            # Scripts are not replicated: replicas serving EVALSHA_RO need them too.
            nodes = sorted(self._topology.map.addresses())
        return list(await asyncio.gather(*(self.node(a)._send(args) for a in nodes)))

    async def _route(self, args: tuple[Any, ...], slot: int | None, read_only: bool) -> Any:
        options = self.cluster_options
        redirects = 0
        target: str | None = None
        asking = False
        unservable = _retry.SlotRetry(options.retry_timeout)
        last: RedirectError | None = None
        while True:
            address = target or self._topology.node_for(slot, read_only)
            try:
                if address is None:
                    raise ClusterDownError(
                        f"CLUSTERDOWN no known node serves slot {slot} (refreshing the topology)"
                    )
                if asking:
                    return await self._asking(address, args)
                return await self.node(address)._send(args)
            except MovedError as exc:
                self._topology.moved(exc.slot, exc.address)  # and a refresh soon
                target, asking, last = exc.address, False, exc
            except AskError as exc:
                target, asking, last = exc.address, True, exc
            except _retry.SLOT_UNSERVABLE_ERRORS as exc:
                self._check_open()
                await unservable.pause(exc, slot)  # raises exc once retry_timeout is spent
                target, asking = None, False
                await self._topology.refresh()
                continue
            except ConnectionFailure:
                self._topology.refresh_soon()  # the node may be gone; the outcome is the caller's
                raise
            redirects += 1
            if redirects > options.max_redirects:
                raise ClusterError(
                    f"{display_name(args)} was redirected {redirects - 1} times "
                    f"(max_redirects={options.max_redirects}); last: {last}"
                ) from last

    async def _asking(self, address: str, args: tuple[Any, ...]) -> Any:
        pool = self.node(address).pool
        data = _ASKING + encode_command(args)
        conn = await pool._acquire()
        try:
            _, reply = await conn.request_many(
                data, 2, display_name(args), pool.connection_options.command_timeout
            )
        finally:
            pool._release(conn)
        if isinstance(reply, ReplyError):
            raise reply
        return reply

    async def _run(self, command: Command[T]) -> T:
        reply = await self._send(command[0])
        return cmd.apply(command, reply, "the cluster")

    def bitfield(
        self, key: Key, default_overflow: str | None = None
    ) -> cmd.bits.BitFieldOperation[Coroutine[Any, Any, list[int | None]]]:
        """BITFIELD: a builder, as redis-py's; ``await op.execute()`` gives the results.

        As ``Client.bitfield``; the command goes to the node of ``key``'s slot.
        """
        return cmd.bits.BitFieldOperation(lambda c: _run(self, c), key, default_overflow)

    # -- iteration, pipelines, pub/sub ----------------------------------------------------

    async def scan_iter(
        self,
        match: str | bytes | None = None,
        count: int | None = None,
        type_: str | None = None,
        *,
        _type: str | None = None,
    ) -> AsyncIterator[Any]:
        """Iterate over the keys of every primary with SCAN, one primary after another.

        Each batch is one round trip; a key may be yielded more than once,
        and keys that move between primaries during the scan may be missed
        or repeated (as with SCAN on one server during a resharding).
        """
        await self._ready()
        for address in self._topology.map.primaries():
            async for key in self.node(address).scan_iter(match, count, type_, _type=_type):
                yield key

    async def hscan_iter(
        self, name: Key, match: str | bytes | None = None, count: int | None = None
    ) -> AsyncIterator[tuple[Any, Any]]:
        """Iterate over the ``(field, value)`` pairs of the hash at ``name`` with HSCAN.

        The whole scan runs on one node of the key's slot (see ``sscan_iter``).
        """
        async for batch in self._scan_key(
            name, lambda cursor: cmd.hashes.hscan(name, cursor, match, count)
        ):
            for item in batch.items():
                yield item

    async def sscan_iter(
        self, name: Key, match: str | bytes | None = None, count: int | None = None
    ) -> AsyncIterator[Any]:
        """Iterate over the members of the set at ``name`` with SSCAN, one trip per batch.

        A key lives on one node, and a cursor means something only to the
        node that returned it, so every batch goes to the same node: the
        slot's primary, or (``read_from``) one of its replicas chosen when
        the scan starts. When a batch is redirected, the scan starts over
        from cursor 0 where the redirect points, so items may repeat, as
        SCAN allows: after ``MOVED`` (the slot moved; the map is updated)
        on the new owner, after ``ASK`` (the key was migrated while its
        slot moves) on the importing node, each batch preceded by
        ``ASKING``. More than ``max_redirects`` restarts raise
        ``ClusterError``. Any other error is raised from the batch that met
        it. Timeouts and cancellation are per batch, as for any command; no
        connection is held between batches.
        """
        async for batch in self._scan_key(
            name, lambda cursor: cmd.sets.sscan(name, cursor, match, count)
        ):
            for member in batch:
                yield member

    async def zscan_iter(
        self,
        name: Key,
        match: str | bytes | None = None,
        count: int | None = None,
        score_cast_func: Callable[[Any], Any] = float,
    ) -> AsyncIterator[tuple[Any, Any]]:
        """Iterate over the ``(member, score)`` pairs of the sorted set ``name`` with ZSCAN.

        The whole scan runs on one node of the key's slot (see ``sscan_iter``);
        scores as for ``zscan``.
        """
        async for batch in self._scan_key(
            name, lambda cursor: cmd.zsets.zscan(name, cursor, match, count, score_cast_func)
        ):
            for member in batch:
                yield member

    async def _scan_key(
        self, key: Key, build: Callable[[int], Command[tuple[int, T]]]
    ) -> AsyncIterator[T]:
        """The batches of a SCAN-family command on ``key``, all from one node of its slot."""
        await self._ready()
        slot = key_slot(key)
        address = self._topology.node_for(slot, True)
        asking = False
        redirects = self.cluster_options.max_redirects
        last: RedirectError | None = None
        for _ in range(redirects + 1):
            if address is None:
                raise ClusterDownError(f"CLUSTERDOWN no known node serves slot {slot}")
            cursor = 0
            try:
                while True:
                    command = build(cursor)
                    if asking:
                        reply = await self._asking(address, command[0])
                    else:
                        reply = await self.node(address)._send(command[0])
                    cursor, batch = cmd.apply(command, reply, address)
                    yield batch
                    if cursor == 0:
                        return
            # A cursor is one node's: start over where the redirect points.
            except MovedError as exc:
                self._topology.moved(exc.slot, exc.address)
                address, asking, last = exc.address, False, exc
            except AskError as exc:
                address, asking, last = exc.address, True, exc
        raise ClusterError(
            f"a scan of slot {slot} was redirected {redirects} times "
            f"(max_redirects={redirects}); last: {last}"
        ) from last

    def pipeline(self, transaction: bool = False) -> ClusterPipeline:
        """A ``ClusterPipeline``: commands grouped per node and sent concurrently.

        With ``transaction=True`` every key must map to one slot (checked as
        commands are queued, ``CrossSlotError``) and the commands run in
        MULTI/EXEC on that slot's primary.
        """
        return ClusterPipeline(self._router, transaction=transaction)

    async def transaction(
        self,
        func: Callable[[ClusterPipeline], Awaitable[object]],
        *watch_keys: Key,
        attempts: int = 16,
        value_from_callable: bool = False,
        watch_delay: float | None = None,
    ) -> Any:
        """Run a read-modify-write transaction on one slot, retrying while watched keys change.

        As ``Client.transaction``: each attempt opens ``pipeline(transaction=True)``,
        WATCHes ``watch_keys`` on the primary serving their slot, awaits
        ``func(pipeline)`` (which reads with ``pipeline.immediate`` and queues
        commands on the pipeline) and executes it; the results of the first
        attempt that ran are returned. Every watched and queued key must map
        to one slot: ``CrossSlotError`` from ``watch()`` before anything is
        sent, or at the line that queued the command, before ``MULTI`` is
        sent. An attempt refused because the slot moved (``MOVED``; nothing
        of the transaction ran) updates the slot map and counts as an
        attempt, as one that lost the race (``WatchError``) does. After
        ``attempts`` such attempts, ``WatchError``. Any other error (from
        ``func`` too) propagates at once; cancellation releases the pinned
        connection. Timeouts are those of the node's pool. ``value_from_callable``
        and ``watch_delay`` are as for ``Client.transaction``.
        """
        return await _retry.rerun_while_watched_keys_change(
            lambda: self.pipeline(transaction=True),
            _retry.watching(watch_keys, func),
            ClusterPipeline.execute,
            attempts,
            moved=lambda exc: self._topology.moved(exc.slot, exc.address),
            delay=watch_delay,
            value_from_prepare=value_from_callable,
        )

    def register_script(self, script: str | bytes) -> Script:
        """A ``Script`` for the Lua source ``script``: ``await s(keys=[...], args=[...])``.

        Nothing is sent now; the script is loaded on first use (see ``run_script``).
        """
        return Script(self, script)

    async def run_script(
        self, script: Script, keys: Iterable[Key] = (), args: Iterable[Value] = ()
    ) -> Any:
        """Run ``script`` by its SHA1 on the node serving its keys' slot; its raw reply.

        ``EVALSHA`` is routed by ``keys`` like any command (to a random
        primary without keys); keys in two slots raise ``CrossSlotError``
        before anything is sent. On ``NOSCRIPT`` (nothing ran) the script is
        loaded with ``SCRIPT LOAD`` on every primary (and replica, when
        ``read_from`` reads from them) and ``EVALSHA`` is sent again.
        Errors, timeouts and cancellation are those of any command.
        """
        if not isinstance(script, Script):
            raise TypeError(
                f"run_script() takes a Script from register_script(), got {type(script).__name__}"
            )
        command = cmd.scripting.evalsha(script.sha, keys=keys, args=args)
        return await _retry.run_loading_script(
            lambda: self._run(command),
            lambda: self._run(cmd.scripting.script_load(script.source)),
        )

    lock = _lock

    def pubsub(
        self, *, max_messages: int = 10_000, ignore_subscribe_messages: bool = True
    ) -> PubSub:
        """A ``PubSub`` for the cluster: channels and patterns on one primary, shard channels anywhere.

        Cluster-wide channels reach every node; ``ssubscribe`` subscribes each
        shard channel on the primary serving its slot and follows slot moves
        and failovers, with gap markers (see ``ClusterPubSub``).
        """
        self._check_open()
        primaries = self._topology.map.primaries() or self._startup
        pubsub = ClusterPubSub(
            self._router,
            self.connection_options,
            primaries[0],
            self.pool_options,
            max_messages=max_messages,
            ignore_subscribe_messages=ignore_subscribe_messages,
        )
        self.node(primaries[0])._pubsubs.add(pubsub)  # closed with the node's client
        return pubsub

    # -- commands: generated by tools/bind_commands.py from _commands/_bindings.py; do not edit

    # strings
    append = _command(cmd.strings.append)
    decr = _command(cmd.strings.decr)
    decrby = _command(cmd.strings.decrby)
    get = _command(cmd.strings.get)
    getdel = _command(cmd.strings.getdel)
    getex = _command(cmd.strings.getex)
    getrange = _command(cmd.strings.getrange)
    getset = _command(cmd.strings.getset)
    incr = _command(cmd.strings.incr)
    incrby = _command(cmd.strings.incrby)
    incrbyfloat = _command(cmd.strings.incrbyfloat)
    lcs = _command(cmd.strings.lcs)
    mget = _command(cmd.strings.mget)
    mset = _command(cmd.strings.mset)
    msetnx = _command(cmd.strings.msetnx)
    psetex = _command(cmd.strings.psetex)
    set = _command(cmd.strings.set_)
    setex = _command(cmd.strings.setex)
    setnx = _command(cmd.strings.setnx)
    setrange = _command(cmd.strings.setrange)
    strlen = _command(cmd.strings.strlen)
    substr = _command(cmd.strings.substr)

    # keys
    copy = _command(cmd.keys.copy)
    delete = _command(cmd.keys.delete)
    dump = _command(cmd.keys.dump)
    exists = _command(cmd.keys.exists)
    expire = _command(cmd.keys.expire)
    expireat = _command(cmd.keys.expireat)
    expiretime = _command(cmd.keys.expiretime)
    keys = _command(cmd.keys.keys)
    migrate = _command(cmd.keys.migrate)
    move = _command(cmd.keys.move)
    object = _command(cmd.keys.object_)
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
    sort = _command(cmd.keys.sort)
    sort_ro = _command(cmd.keys.sort_ro)
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
    hmset = _command(cmd.hashes.hmset)
    hrandfield = _command(cmd.hashes.hrandfield)
    hscan = _command(cmd.hashes.hscan)
    hset = _command(cmd.hashes.hset)
    hsetnx = _command(cmd.hashes.hsetnx)
    hstrlen = _command(cmd.hashes.hstrlen)
    hvals = _command(cmd.hashes.hvals)

    # lists
    blmove = _command(cmd.lists.blmove)
    blpop = _command(cmd.lists.blpop)
    blmpop = _command(cmd.lists.blmpop)
    brpop = _command(cmd.lists.brpop)
    brpoplpush = _command(cmd.lists.brpoplpush)
    lindex = _command(cmd.lists.lindex)
    linsert = _command(cmd.lists.linsert)
    llen = _command(cmd.lists.llen)
    lmpop = _command(cmd.lists.lmpop)
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
    rpoplpush = _command(cmd.lists.rpoplpush)
    rpush = _command(cmd.lists.rpush)
    rpushx = _command(cmd.lists.rpushx)

    # sets
    sadd = _command(cmd.sets.sadd)
    scard = _command(cmd.sets.scard)
    sdiff = _command(cmd.sets.sdiff)
    sdiffstore = _command(cmd.sets.sdiffstore)
    sinter = _command(cmd.sets.sinter)
    sintercard = _command(cmd.sets.sintercard)
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
    bzmpop = _command(cmd.zsets.bzmpop)
    bzpopmax = _command(cmd.zsets.bzpopmax)
    bzpopmin = _command(cmd.zsets.bzpopmin)
    zadd = _command(cmd.zsets.zadd)
    zcard = _command(cmd.zsets.zcard)
    zcount = _command(cmd.zsets.zcount)
    zdiff = _command(cmd.zsets.zdiff)
    zdiffstore = _command(cmd.zsets.zdiffstore)
    zincrby = _command(cmd.zsets.zincrby)
    zinter = _command(cmd.zsets.zinter)
    zintercard = _command(cmd.zsets.zintercard)
    zinterstore = _command(cmd.zsets.zinterstore)
    zlexcount = _command(cmd.zsets.zlexcount)
    zmpop = _command(cmd.zsets.zmpop)
    zmscore = _command(cmd.zsets.zmscore)
    zpopmax = _command(cmd.zsets.zpopmax)
    zpopmin = _command(cmd.zsets.zpopmin)
    zrandmember = _command(cmd.zsets.zrandmember)
    zrange = _command(cmd.zsets.zrange)
    zrangebylex = _command(cmd.zsets.zrangebylex)
    zrangebyscore = _command(cmd.zsets.zrangebyscore)
    zrangestore = _command(cmd.zsets.zrangestore)
    zrank = _command(cmd.zsets.zrank)
    zrem = _command(cmd.zsets.zrem)
    zremrangebylex = _command(cmd.zsets.zremrangebylex)
    zremrangebyrank = _command(cmd.zsets.zremrangebyrank)
    zremrangebyscore = _command(cmd.zsets.zremrangebyscore)
    zrevrange = _command(cmd.zsets.zrevrange)
    zrevrangebylex = _command(cmd.zsets.zrevrangebylex)
    zrevrangebyscore = _command(cmd.zsets.zrevrangebyscore)
    zrevrank = _command(cmd.zsets.zrevrank)
    zscan = _command(cmd.zsets.zscan)
    zscore = _command(cmd.zsets.zscore)
    zunion = _command(cmd.zsets.zunion)
    zunionstore = _command(cmd.zsets.zunionstore)

    # geo
    geoadd = _command(cmd.geo.geoadd)
    geodist = _command(cmd.geo.geodist)
    geohash = _command(cmd.geo.geohash)
    geopos = _command(cmd.geo.geopos)
    georadius = _command(cmd.geo.georadius)
    georadiusbymember = _command(cmd.geo.georadiusbymember)
    geosearch = _command(cmd.geo.geosearch)
    geosearchstore = _command(cmd.geo.geosearchstore)

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
    xgroup_setid = _command(cmd.streams.xgroup_setid)
    xinfo_consumers = _command(cmd.streams.xinfo_consumers)
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
    bitfield_ro = _command(cmd.bits.bitfield_ro)
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
    function_dump = _command(cmd.scripting.function_dump)
    function_flush = _command(cmd.scripting.function_flush)
    function_list = _command(cmd.scripting.function_list)
    function_load = _command(cmd.scripting.function_load)
    function_restore = _command(cmd.scripting.function_restore)
    function_stats = _command(cmd.scripting.function_stats)
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
    client_getredir = _command(cmd.server.client_getredir)
    client_id = _command(cmd.server.client_id)
    client_info = _command(cmd.server.client_info)
    client_list = _command(cmd.server.client_list)
    client_setname = _command(cmd.server.client_setname)
    client_trackinginfo = _command(cmd.server.client_trackinginfo)
    config_get = _command(cmd.server.config_get)
    config_resetstat = _command(cmd.server.config_resetstat)
    config_rewrite = _command(cmd.server.config_rewrite)
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

    # admin
    acl_cat = _command(cmd.admin.acl_cat)
    acl_deluser = _command(cmd.admin.acl_deluser)
    acl_dryrun = _command(cmd.admin.acl_dryrun)
    acl_genpass = _command(cmd.admin.acl_genpass)
    acl_getuser = _command(cmd.admin.acl_getuser)
    acl_list = _command(cmd.admin.acl_list)
    acl_load = _command(cmd.admin.acl_load)
    acl_save = _command(cmd.admin.acl_save)
    acl_log = _command(cmd.admin.acl_log)
    acl_log_reset = _command(cmd.admin.acl_log_reset)
    acl_setuser = _command(cmd.admin.acl_setuser)
    acl_users = _command(cmd.admin.acl_users)
    acl_whoami = _command(cmd.admin.acl_whoami)
    slowlog_get = _command(cmd.admin.slowlog_get)
    slowlog_len = _command(cmd.admin.slowlog_len)
    slowlog_reset = _command(cmd.admin.slowlog_reset)
    latency_doctor = _command(cmd.admin.latency_doctor)
    latency_graph = _command(cmd.admin.latency_graph)
    latency_histogram = _command(cmd.admin.latency_histogram)
    latency_history = _command(cmd.admin.latency_history)
    latency_latest = _command(cmd.admin.latency_latest)
    latency_reset = _command(cmd.admin.latency_reset)
    memory_stats = _command(cmd.admin.memory_stats)
    memory_doctor = _command(cmd.admin.memory_doctor)
    memory_malloc_stats = _command(cmd.admin.memory_malloc_stats)
    memory_purge = _command(cmd.admin.memory_purge)
    module_list = _command(cmd.admin.module_list)
    command_count = _command(cmd.admin.command_count)
    command_docs = _command(cmd.admin.command_docs)
    command_getkeys = _command(cmd.admin.command_getkeys)
    command_getkeysandflags = _command(cmd.admin.command_getkeysandflags)
    command_info = _command(cmd.admin.command_info)
    command_list = _command(cmd.admin.command_list)
    role = _command(cmd.admin.role)
    lolwut = _command(cmd.admin.lolwut)
    debug_object = _command(cmd.admin.debug_object)

    # cluster_admin
    cluster_info = _command(cmd.cluster_admin.cluster_info)
    cluster_nodes = _command(cmd.cluster_admin.cluster_nodes)
    cluster_slots = _command(cmd.cluster_admin.cluster_slots)
    cluster_shards = _command(cmd.cluster_admin.cluster_shards)
    cluster_keyslot = _command(cmd.cluster_admin.cluster_keyslot)
    cluster_countkeysinslot = _command(cmd.cluster_admin.cluster_countkeysinslot)
    cluster_get_keys_in_slot = _command(cmd.cluster_admin.cluster_get_keys_in_slot)
    cluster_replicas = _command(cmd.cluster_admin.cluster_replicas)
    cluster_count_failure_report = _command(cmd.cluster_admin.cluster_count_failure_report)

    # -- end of generated commands
