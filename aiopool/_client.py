"""``Client``: owns a ``Pool``; ``execute()`` and typed command methods."""

from __future__ import annotations

import asyncio
import dataclasses
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from types import TracebackType
from typing import Any, Concatenate, Literal, ParamSpec, TypeVar
from urllib.parse import parse_qs, urlsplit

from . import _commands as cmd
from . import _retry, _sentinel
from ._autopipeline import AutoPipeliner, AutoPipelineStats
from ._cache import CACHEABLE, FLUSHING, Cache, CacheOptions, CacheStats, cache_option
from ._command_table import READ_ONLY
from ._commands import Command, Key, Value
from ._config import (
    AUTO_PIPELINE_FIELDS,
    AutoPipelineOptions,
    ConnectionOptions,
    PoolOptions,
    options_from_url,
)
from ._connection import Connection
from ._errors import ConnectError, ConnectionFailure, OutcomeUnknown
from ._keys import command_keys, key_bytes
from ._lock import lock as _lock
from ._monitor import Monitor
from ._observe import CommandObserver
from ._pipeline import Pipeline
from ._pool import Pool
from ._protocol import canonical_name, encode_command, may_block, refuse_session_command
from ._pubsub import PubSub
from ._script import Script

__all__ = ["Client"]

P = ParamSpec("P")
T = TypeVar("T")


def _command(
    build: Callable[P, Command[T]],
) -> Callable[Concatenate[Client, P], Coroutine[Any, Any, T]]:
    """Make ``build`` (a command definition) an async ``Client`` method."""

    def method(self: Client, /, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, T]:
        # A plain function returning _send()'s coroutine, as redis-py's methods
        # are: bad arguments raise at the call, and a command costs one
        # coroutine, not two. Forwarding an empty dict costs more than testing for it.
        command = build(*args, **kwargs) if kwargs else build(*args)  # type: ignore[call-arg]
        return self._send(command[0], command[1])

    cmd.describe(method, build, "{}")
    return method


class Client:
    """An async Redis client over a connection pool.

    Every command borrows a connection for exactly one round trip, so any
    number of tasks can share one client. Replies are ``bytes`` (``str`` with
    ``decode_responses=True``).

    Errors: ``ReplyError`` when the server answers with an error (the
    connection is fine); ``ConnectionFailure`` when the connection broke and
    the command may or may not have run; ``CommandTimeout`` when no reply came
    within ``command_timeout``; ``PoolTimeout`` when no connection was free
    within ``acquire_timeout``. Cancelling a call is always safe: a command
    interrupted after it was written closes its connection, so no later
    caller can ever read its reply.

    With ``auto_pipeline`` on (``AutoPipelineOptions``), commands issued
    concurrently by many tasks share a few of the pool's connections and are
    written together once per event-loop turn; the errors, timeouts and
    retries are the same. A cancelled caller's command is either never
    written (cancelled before the end of the turn) or its reply is read and
    dropped; the shared connection stays in use. Blocking commands (BLPOP,
    XREAD, WAIT, ...), pipelines, transactions and pub/sub still get a
    connection of their own.
    """

    __slots__ = ("_auto", "_cache", "_monitors", "_observer", "_pinned", "_pubsubs", "pool")

    def __init__(
        self,
        pool: Pool,
        auto_pipeline: AutoPipelineOptions | None = None,
        *,
        _cache: Cache | None = None,
    ) -> None:
        if not isinstance(pool, Pool):
            raise TypeError(
                f"Client() takes a Pool, got {type(pool).__name__}; "
                "use Client.from_url(url) to build one from a URL"
            )
        if auto_pipeline is not None and not isinstance(auto_pipeline, AutoPipelineOptions):
            raise TypeError(
                "Client(auto_pipeline=) takes AutoPipelineOptions or None, got "
                f"{type(auto_pipeline).__name__}"
            )
        self.pool = pool
        self._auto = (
            AutoPipeliner(pool, auto_pipeline)
            if auto_pipeline is not None and auto_pipeline.auto_pipeline
            else None
        )
        self._pubsubs: weakref.WeakSet[PubSub] = weakref.WeakSet()
        self._monitors: weakref.WeakSet[Monitor] = weakref.WeakSet()
        # Set by _pinned_to(): the one connection to use; False once released.
        self._pinned: Connection | Literal[False] | None = None
        self._observer: CommandObserver | None = None  # see _observe()
        # Client-side caching (see _CachingClient); only from_url and the cluster
        # client set it, with a pool whose connector wires each connection to it.
        self._cache = _cache
        if _cache is not None:
            self.__class__ = _CachingClient

    @classmethod
    def from_url(cls, url: str, **options: object) -> Client:
        """Build a client and its pool from a URL and options.

        ``url`` is ``redis://[user:password@]host[:port][/db]``, ``rediss://``
        (TLS) or ``unix:///path``; ``options`` are any of the pool and
        connection options (``max_size=20``, ``command_timeout=2.0``, ...) and
        override the URL's, and ``auto_pipeline=True`` (with
        ``auto_pipeline_connections`` and ``auto_pipeline_max_pending``, see
        ``AutoPipelineOptions``) shares connections between concurrent
        commands. ``cache=True`` (or ``CacheOptions``) keeps the replies of
        reads in local memory until the server says their keys changed (see
        ``CacheOptions``; it needs ``protocol=3``, the default with ``cache``).
        Nothing is connected until first use (or ``async with``). A
        bad URL raises ``ValueError``; an unknown option ``TypeError``.

        ``redis+sentinel://[user:password@]host:port[,host:port...]/service[/db]``
        names Sentinels instead: the pool always talks to the current primary
        of ``service`` (``read_from="replicas"``: a healthy replica), with
        ``sentinel_username``, ``sentinel_password`` and ``sentinel_timeout``
        for the sentinels themselves (docs/guide/sentinel.md).
        """
        auto = {k: options.pop(k) for k in list(options) if k in AUTO_PIPELINE_FIELDS}
        where = "Client.from_url()"
        cache = cache_option(options.pop("cache", None), options.get("protocol"), where)
        if url.startswith(f"{_sentinel.SCHEME}:"):
            if cache is not None:
                raise ValueError(
                    f"{where} option cache is not available with {_sentinel.SCHEME}:// URLs yet"
                )
            sentinel_pool = _sentinel.pool_from_url(url, dict(options), where=where)
            return cls(sentinel_pool, AutoPipelineOptions(**auto))  # type: ignore[arg-type]
        connection, pool = options_from_url(url, dict(options), where=where)
        auto_options = AutoPipelineOptions(**auto)  # type: ignore[arg-type]
        if cache is None:
            return cls(Pool(connection, pool), auto_options)
        return cls._cached(_with_protocol_3(url, connection, where), pool, auto_options, cache)

    @classmethod
    def _cached(
        cls,
        connection: ConnectionOptions,
        pool_options: PoolOptions,
        auto: AutoPipelineOptions | None,
        options: CacheOptions,
    ) -> Client:
        """A caching client: each pooled connection tracks, and feeds its pushes to the cache.

        The pool's own ``connection_options`` keep ``tracking`` off, so the
        connections of ``pubsub()`` and ``monitor()`` (opened from them) do not track.
        """
        cache = Cache(options)
        tracked = dataclasses.replace(connection, tracking=True)
        on_push = cache.on_push

        def lost(conn: Connection) -> None:
            # What the server tracked for this connection is gone with it: the
            # entries it read go, and the untagged ones (auto-pipelined reads).
            cache.connection_lost(id(conn))

        async def connector(timeout: float | None) -> Connection:
            return await Connection.open(
                tracked, timeout=timeout, push_handler=on_push, on_close=lost
            )

        return cls(Pool(connection, pool_options, connector=connector), auto, _cache=cache)

    def __repr__(self) -> str:
        if self._pinned is not None:
            return f"<Client pinned to {self._pinned or 'a released connection'!r}>"
        auto = " auto_pipeline" if self._auto is not None else ""
        return f"<Client{auto} {self.pool!r}>"

    def auto_pipeline_stats(self) -> AutoPipelineStats | None:
        """A snapshot of auto-pipelining (``AutoPipelineStats``), or None when it is off.

        Never awaits, never raises. ``client.pool.stats().shared`` counts the
        pool's connections lent to it.
        """
        return None if self._auto is None else self._auto.stats()

    def cache_stats(self) -> CacheStats | None:
        """A snapshot of the client-side cache (``CacheStats``), or None when it is off.

        Never awaits, never raises.
        """
        return None if self._cache is None else self._cache.stats()

    def cache_clear(self) -> None:
        """Drop every cached reply; reads in flight are returned but not stored. No-op when off."""
        if self._cache is not None:
            self._cache.flush()

    async def __aenter__(self) -> Client:
        await self.pool.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the ``PubSub`` and ``Monitor`` objects it made, then its pool (``Pool.aclose``).

        With auto-pipelining, commands waiting for room fail with
        ``PoolClosed`` and those already written get their replies (within
        ``close_timeout``) before the shared connections go back. A pipeline's
        ``immediate`` client refuses (``RuntimeError``): it does not own the pool.
        In a process forked after the client was used (``Pool.is_inherited()``)
        it closes nothing: every connection is the parent's.
        """
        if self._pinned is not None:
            raise RuntimeError(
                "a pipeline's immediate client does not own the pool; close the Client"
            )
        if self.pool.is_inherited():
            await self.pool.aclose()
            return
        for pubsub in list(self._pubsubs):
            await pubsub.aclose()
        for monitor in list(self._monitors):
            await monitor.aclose()
        if self._auto is not None:
            await self._auto.aclose()
        await self.pool.aclose()

    async def execute_command(self, *args: Any) -> Any:
        """redis-py's name for ``execute()``: run one raw command, return its raw reply."""
        return await self.execute(*args)

    async def execute(self, *args: Any) -> Any:
        """Run one raw command, ``execute("INCR", "hits")``, and return its raw reply.

        Arguments may be str, bytes, int, float or memoryview; anything else
        (including None and bool) raises ``TypeError`` naming it, before a
        connection is borrowed. Commands that would change the pooled
        connection's session (``SELECT``, ``MULTI``, ``SUBSCRIBE``,
        ``CLIENT REPLY``, ...) raise ``SessionCommandError`` naming what to
        use instead; nothing is sent. Blocking commands (BLPOP, XREAD BLOCK, WAIT,
        ...) get their blocking time on top of ``command_timeout``.
        Cancellation and timeouts are described on the class.
        """
        refuse_session_command(
            args,
            "changes the state of the connection it runs on, and the pool would hand that "
            "connection to another caller next",
        )
        return await self._send(args)

    def _pinned_to(self, conn: Connection) -> Client:
        """A client on the same pool whose commands all run on ``conn`` (a watched one).

        The pipeline that pinned ``conn`` calls ``_unpin()`` before it lets
        the connection go, so the client can never reach its next borrower.
        """
        client = Client(self.pool)
        client._pinned = conn
        client._observe(self._observer)
        return client

    def _unpin(self) -> None:
        self._pinned = False

    async def _send(
        self, args: tuple[Any, ...], transform: Callable[[Any], Any] | None = None
    ) -> Any:
        """Run ``args`` and return its reply, through ``transform`` when given."""
        auto = self._auto
        if auto is not None and not may_block(args):
            reply = await auto.send(args)
        else:
            data = encode_command(args)
            pinned = self._pinned
            if pinned is not None:
                if pinned is False:
                    raise RuntimeError(
                        "this client ran on a pipeline's watched connection, which the pipeline "
                        "has released; use pipeline.immediate only between watch() and execute()"
                    )
                reply = await pinned.request(data, args, True)
            else:
                pool = self.pool
                conn = pool._take_ready()
                if conn is None:
                    conn = await pool._acquire()
                try:
                    reply = await conn.request(data, args, True)
                except (ConnectionFailure, OutcomeUnknown) as exc:
                    pool._release(conn)
                    reply = await _retry.resend(pool, exc, data, args)
                except BaseException:
                    pool._release(conn)
                    raise
                else:
                    pool._release(conn)
        if transform is None:
            return reply
        try:
            return transform(reply)
        except Exception:  # a reply the command cannot have: apply() says so, typed
            return cmd.apply((args, transform), reply, self.pool.connection_options.address)

    def _observe(self, observer: CommandObserver | None) -> None:
        """Tell ``observer`` of every command and pipeline run through this client (None: stop).

        For ``aiopool.otel``; the pool is observed separately (``Pool._observe``).
        An observed client becomes an ``_ObservedClient``, whose ``_send`` times
        each command around ``Client._send``: a client nobody observes runs
        ``Client._send`` exactly as it did before observers existed, without
        even an ``is None`` test per command.
        """
        self._observer = observer
        self.__class__ = _CLASSES[observer is not None, self._cache is not None]

    async def _run(self, command: Command[T]) -> T:
        return await self._send(command[0], command[1])  # type: ignore[no-any-return]

    def _wrote(self, commands: list[Command[Any]]) -> None:
        """A pipeline of this client ran (or may have run) ``commands``; see ``_CachingClient``."""

    def bitfield(
        self, key: Key, default_overflow: str | None = None
    ) -> cmd.bits.BitFieldOperation[Coroutine[Any, Any, list[int | None]]]:
        """BITFIELD: a builder, as redis-py's; ``await op.execute()`` gives the results.

        Chain ``get``/``set``/``incrby``/``overflow`` on it; ``execute()``
        sends one BITFIELD and returns an awaitable of the list of results
        (``cmd.bits.BitFieldOperation``).
        """
        return cmd.bits.BitFieldOperation(self._run, key, default_overflow)

    # -- iteration ---------------------------------------------------------------------

    async def scan_iter(
        self,
        match: str | bytes | None = None,
        count: int | None = None,
        type_: str | None = None,
        *,
        _type: str | None = None,
    ) -> AsyncIterator[Any]:
        """Iterate over keys with SCAN, optionally filtered by pattern and type.

        Each batch is one SCAN round trip on a connection borrowed only for
        that trip, so a slow consumer holds no connection. Like SCAN, a key
        may be yielded more than once. ``count`` is a hint for the batch size.
        """
        build = cmd.keys.scan
        async for batch in self._batches(
            lambda cursor: build(cursor, match, count, type_, _type=_type)
        ):
            for key in batch:
                yield key

    async def hscan_iter(
        self, name: Key, match: str | bytes | None = None, count: int | None = None
    ) -> AsyncIterator[tuple[Any, Any]]:
        """Iterate over the ``(field, value)`` pairs of the hash at ``name`` with HSCAN.

        One round trip per batch, as ``scan_iter``; a pair may repeat.
        """
        async for batch in self._batches(
            lambda cursor: cmd.hashes.hscan(name, cursor, match, count)
        ):
            for item in batch.items():
                yield item

    async def sscan_iter(
        self, name: Key, match: str | bytes | None = None, count: int | None = None
    ) -> AsyncIterator[Any]:
        """Iterate over the members of the set at ``name`` with SSCAN (one trip per batch)."""
        async for batch in self._batches(lambda cursor: cmd.sets.sscan(name, cursor, match, count)):
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

        Scores are floats, or what ``score_cast_func`` makes of them (as ``zscan``).
        """
        async for batch in self._batches(
            lambda cursor: cmd.zsets.zscan(name, cursor, match, count, score_cast_func)
        ):
            for member in batch:
                yield member

    async def _batches(self, build: Callable[[int], Command[tuple[int, T]]]) -> AsyncIterator[T]:
        """Run a SCAN-family command from cursor 0 until the server says 0 again."""
        cursor = 0
        while True:
            cursor, batch = await self._run(build(cursor))
            yield batch
            if cursor == 0:
                return

    # -- pipelines, transactions, scripts, pub/sub ------------------------------------------

    def pipeline(self, transaction: bool = True, shard_hint: object = None) -> Pipeline:
        """A ``Pipeline`` on this client's pool; a ``MULTI``/``EXEC`` transaction by default.

        ``transaction=True`` (redis-py's default too) runs the queued commands
        atomically; ``transaction=False`` only batches them into one write,
        which is faster and what a bulk load wants. ``shard_hint`` is
        accepted for redis-py's signature and ignored. Nothing is borrowed
        until ``execute()`` (or ``watch()``).
        """
        del shard_hint  # redis-py's signature; one pool, nothing to hint
        return Pipeline(self, transaction=transaction)

    async def transaction(
        self,
        func: Callable[[Pipeline], Awaitable[object]],
        *watch_keys: Key,
        attempts: int = 16,
        shard_hint: object = None,
        value_from_callable: bool = False,
        watch_delay: float | None = None,
    ) -> Any:
        """Run a read-modify-write transaction, retrying it while watched keys change.

        Each attempt opens ``pipeline(transaction=True)``, WATCHes
        ``watch_keys`` and awaits ``func(pipeline)``, which reads the watched
        keys (redis-py's way, ``value = await pipe.get(k)`` then
        ``pipe.multi()``, or with ``pipeline.immediate``) and queues the
        writes; then the pipeline is executed. The ``EXEC`` results of the
        first attempt that ran are returned, or with ``value_from_callable``
        what ``func`` returned in it (as redis-py). ``watch_delay`` seconds
        are slept before each new attempt. After ``attempts`` attempts that
        all lost the race, ``WatchError`` is raised. Any other error (from
        ``func`` too) propagates at once; cancellation releases the pinned
        connection. ``shard_hint`` is accepted for redis-py's signature.
        """
        del shard_hint
        return await _retry.rerun_while_watched_keys_change(
            lambda: self.pipeline(transaction=True),
            _retry.watching(watch_keys, func),
            Pipeline.execute,
            attempts,
            delay=watch_delay,
            value_from_prepare=value_from_callable,
        )

    def register_script(self, script: str | bytes) -> Script:
        """A ``Script`` for the Lua source ``script``: ``await s(keys=[...], args=[...])``.

        Nothing is sent now; the script is loaded on its first use.
        """
        return Script(self, script)

    async def run_script(
        self, script: Script, keys: Iterable[Key] = (), args: Iterable[Value] = ()
    ) -> Any:
        """Run ``script`` by its SHA1, loading it first if the server lacks it.

        Exactly what ``await script(keys, args)`` does: ``EVALSHA``; on
        ``NOSCRIPT`` (nothing ran) ``SCRIPT LOAD`` and ``EVALSHA`` again.
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

    async def shutdown(
        self,
        save: bool = False,
        nosave: bool = False,
        now: bool = False,
        force: bool = False,
        abort: bool = False,
    ) -> bool | None:
        """SHUTDOWN: stop the server; ``None`` once it closed the connection (success).

        ``save``/``nosave`` force or skip the final save (not both:
        ``ValueError``), ``now`` skips waiting for lagging replicas,
        ``force`` ignores errors writing the save, and ``abort=True``
        cancels a shutdown in progress (``True``). As in redis-py, losing the
        connection after sending it is success; a failure to connect (nothing
        was sent: ``ConnectError``), an error reply (``ReplyError``, e.g.
        ``Errors trying to SHUTDOWN``) or a timeout (``CommandTimeout``: the
        server did not close the connection) raise. The pool's other
        connections break with the server; close the client afterwards.
        redis-py raises ``RedisError`` when a reply comes instead; here a
        reply can only be ``abort``'s ``OK``, so ``True`` is returned.
        """
        command = cmd.admin._shutdown(save, nosave, now, force, abort)
        try:
            return await self._run(command)
        except ConnectError:
            raise
        except ConnectionFailure:
            return None

    def pubsub(
        self, *, max_messages: int = 10_000, ignore_subscribe_messages: bool = True
    ) -> PubSub:
        """A ``PubSub`` on a dedicated connection to this client's server.

        The connection is opened on the first subscription and is not one of
        the pool's; ``client.aclose()`` closes it too. See ``PubSub`` for
        reconnects, ``max_messages`` and ``ignore_subscribe_messages`` (default
        ``True``, unlike redis-py's: ``subscribe()`` returns once confirmed, so
        the confirmations carry no news; ``False`` buffers them as messages).
        """
        pubsub = PubSub(
            self.pool.connection_options,
            self.pool.options,
            max_messages=max_messages,
            ignore_subscribe_messages=ignore_subscribe_messages,
            connect=self._pinned_connector(),
        )
        self._pubsubs.add(pubsub)
        return pubsub

    def monitor(self) -> Monitor:
        """A ``Monitor``: ``async with client.monitor() as m: async for c in m.listen()``.

        MONITOR runs on a connection of its own, opened on entry and closed on
        exit (or by ``client.aclose()``); the pool never sees it. Its events
        are redis-py's dicts (``time``, ``db``, ``client_address``,
        ``client_port``, ``client_type``, ``command``). See ``Monitor`` for
        cancellation and timeouts.
        """
        monitor = Monitor(self.pool.connection_options, self._pinned_connector())
        self._monitors.add(monitor)
        return monitor

    def _pinned_connector(self) -> Callable[[], Awaitable[Connection]] | None:
        """How a connection of its own (pub/sub, MONITOR) is opened: None for the default."""
        pool = self.pool
        return pool.open_pinned if isinstance(pool, _sentinel.SentinelPool) else None

    lock = _lock

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
    function_kill = _command(cmd.scripting.function_kill)
    function_list = _command(cmd.scripting.function_list)
    function_load = _command(cmd.scripting.function_load)
    function_restore = _command(cmd.scripting.function_restore)
    function_stats = _command(cmd.scripting.function_stats)
    script_exists = _command(cmd.scripting.script_exists)
    script_flush = _command(cmd.scripting.script_flush)
    script_kill = _command(cmd.scripting.script_kill)
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
    client_kill = _command(cmd.server.client_kill)
    client_kill_filter = _command(cmd.server.client_kill_filter)
    client_list = _command(cmd.server.client_list)
    client_pause = _command(cmd.server.client_pause)
    client_setname = _command(cmd.server.client_setname)
    client_trackinginfo = _command(cmd.server.client_trackinginfo)
    client_unblock = _command(cmd.server.client_unblock)
    client_unpause = _command(cmd.server.client_unpause)
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
    module_load = _command(cmd.admin.module_load)
    module_loadex = _command(cmd.admin.module_loadex)
    module_unload = _command(cmd.admin.module_unload)
    command_count = _command(cmd.admin.command_count)
    command_docs = _command(cmd.admin.command_docs)
    command_getkeys = _command(cmd.admin.command_getkeys)
    command_getkeysandflags = _command(cmd.admin.command_getkeysandflags)
    command_info = _command(cmd.admin.command_info)
    command_list = _command(cmd.admin.command_list)
    role = _command(cmd.admin.role)
    bgsave = _command(cmd.admin.bgsave)
    save = _command(cmd.admin.save)
    bgrewriteaof = _command(cmd.admin.bgrewriteaof)
    swapdb = _command(cmd.admin.swapdb)
    lolwut = _command(cmd.admin.lolwut)
    replicaof = _command(cmd.admin.replicaof)
    slaveof = _command(cmd.admin.slaveof)
    failover = _command(cmd.admin.failover)
    debug_object = _command(cmd.admin.debug_object)

    # cluster_admin
    cluster_info = _command(cmd.cluster_admin.cluster_info)
    cluster_nodes = _command(cmd.cluster_admin.cluster_nodes)
    cluster_slots = _command(cmd.cluster_admin.cluster_slots)
    cluster_shards = _command(cmd.cluster_admin.cluster_shards)
    cluster_myid = _command(cmd.cluster_admin.cluster_myid)
    cluster_keyslot = _command(cmd.cluster_admin.cluster_keyslot)
    cluster_countkeysinslot = _command(cmd.cluster_admin.cluster_countkeysinslot)
    cluster_get_keys_in_slot = _command(cmd.cluster_admin.cluster_get_keys_in_slot)
    cluster_links = _command(cmd.cluster_admin.cluster_links)
    cluster_replicas = _command(cmd.cluster_admin.cluster_replicas)
    cluster_count_failure_report = _command(cmd.cluster_admin.cluster_count_failure_report)
    cluster_addslots = _command(cmd.cluster_admin.cluster_addslots)
    cluster_addslotsrange = _command(cmd.cluster_admin.cluster_addslotsrange)
    cluster_delslots = _command(cmd.cluster_admin.cluster_delslots)
    cluster_delslotsrange = _command(cmd.cluster_admin.cluster_delslotsrange)
    cluster_failover = _command(cmd.cluster_admin.cluster_failover)
    cluster_flushslots = _command(cmd.cluster_admin.cluster_flushslots)
    cluster_forget = _command(cmd.cluster_admin.cluster_forget)
    cluster_meet = _command(cmd.cluster_admin.cluster_meet)
    cluster_replicate = _command(cmd.cluster_admin.cluster_replicate)
    cluster_reset = _command(cmd.cluster_admin.cluster_reset)
    cluster_save_config = _command(cmd.cluster_admin.cluster_save_config)
    cluster_set_config_epoch = _command(cmd.cluster_admin.cluster_set_config_epoch)
    cluster_setslot = _command(cmd.cluster_admin.cluster_setslot)
    cluster_setslot_stable = _command(cmd.cluster_admin.cluster_setslot_stable)
    cluster_bumpepoch = _command(cmd.cluster_admin.cluster_bumpepoch)

    # -- end of generated commands


class _ObservedClient(Client):
    """A ``Client`` whose observer sees each command (see ``Client._observe``).

    Same slots, so ``_observe`` can switch an instance's class both ways.
    """

    __slots__ = ()
    _unobserved_send = Client._send

    def __repr__(self) -> str:
        return Client.__repr__(self)

    async def _send(
        self, args: tuple[Any, ...], transform: Callable[[Any], Any] | None = None
    ) -> Any:
        observer = self._observer
        if observer is None:  # not reached: _observe(None) switches the class back
            return await Client._send(self, args, transform)
        op = observer.command(args)
        try:
            reply = await self._unobserved_send(args, transform)
        except BaseException as exc:
            op.end(exc)
            raise
        op.end(None)
        return reply


def _with_protocol_3(url: str, connection: ConnectionOptions, where: str) -> ConnectionOptions:
    """``connection`` under protocol 3, which ``cache`` implies unless ``protocol`` said otherwise."""
    if connection.protocol == 3:
        return connection
    if "protocol" in parse_qs(urlsplit(url).query):  # the URL asked for 2
        cache_option(True, connection.protocol, where)  # raises, naming both options
    return dataclasses.replace(connection, protocol=3)


class _CachingClient(Client):
    """A ``Client`` with client-side caching (``Client.from_url(url, cache=True)``).

    Same slots as ``Client``: ``_observe`` switches classes among the four.
    ``CACHEABLE`` reads are looked up by their whole encoded command; a miss
    is registered with the cache before it is sent and stored after, unless
    the cache marked it stale meanwhile (see ``_cache``). Every other command
    with keys, once it is done (or failed: it may have run), drops what this
    client cached for them (read-your-writes; the server's push follows).
    Pinned clients (``pipeline.immediate``) are plain ``Client`` objects.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return _cached_repr(self)

    def _wrote(self, commands: list[Command[Any]]) -> None:
        cache: Cache = self._cache  # type: ignore[assignment]
        for args, _ in commands:
            name = canonical_name(args)
            if name not in READ_ONLY:
                _written(cache, args, name)

    async def _send(
        self, args: tuple[Any, ...], transform: Callable[[Any], Any] | None = None
    ) -> Any:
        cache: Cache = self._cache  # type: ignore[assignment]
        name = canonical_name(args)
        if name not in CACHEABLE:
            try:
                return await Client._send(self, args, transform)
            finally:
                if name not in READ_ONLY:
                    _written(cache, args, name)
        key = encode_command(args)
        reply = cache.lookup(key)
        if reply is Cache.MISSING:
            flights = cache.flights
            flight = flights.get(key)
            if flight is not None:
                # The same read is in flight: wait for it, then look again. Its
                # reply is stored only if no invalidation made it stale, so
                # a miss again means this caller reads for itself.
                await asyncio.wait((flight,))
                reply = cache.lookup(key, again=True)
        if reply is Cache.MISSING:
            keys = tuple(key_bytes(k) for k in command_keys(args, name))
            if not keys:  # malformed (the server will say so): nothing could invalidate it
                return await Client._send(self, args, transform)
            mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            flights[key] = mine
            try:
                if self._auto is None and self._pinned is None:
                    reply = await _miss(self.pool, cache, key, keys, args)
                else:  # auto-pipelined: the connection is not known, the entry is untagged
                    read = cache.begin(key, keys)
                    try:
                        reply = await Client._send(self, args, None)
                    except BaseException:
                        cache.abandon(read)
                        raise
                    cache.finish(read, reply)
            finally:
                if flights.get(key) is mine:
                    del flights[key]
                mine.set_result(None)
        if transform is None:
            return reply
        try:
            return transform(reply)
        except Exception:
            return cmd.apply((args, transform), reply, self.pool.connection_options.address)


class _ObservedCachingClient(_ObservedClient):
    """An observed ``_CachingClient``: the observer times the cached path too."""

    __slots__ = ()
    _unobserved_send = _CachingClient._send
    _wrote = _CachingClient._wrote

    def __repr__(self) -> str:
        return _cached_repr(self)


def _cached_repr(client: Client) -> str:
    return Client.__repr__(client).replace("<Client", f"<Client cache={client._cache!r}", 1)


async def _miss(
    pool: Pool, cache: Cache, key: bytes, keys: tuple[bytes, ...], args: tuple[Any, ...]
) -> Any:
    """``Client._send``'s plain path, with the entry tagged by the connection that read it.

    Losing that connection then drops only what it read. A retried read
    (on another connection) is returned but not stored.
    """
    conn = pool._take_ready()
    if conn is None:
        conn = await pool._acquire()
    read = cache.begin(key, keys, id(conn))
    try:
        reply = await conn.request(key, args, True)
    except (ConnectionFailure, OutcomeUnknown) as exc:
        pool._release(conn)
        cache.abandon(read)
        return await _retry.resend(pool, exc, key, args)
    except BaseException:
        pool._release(conn)
        cache.abandon(read)
        raise
    pool._release(conn)
    cache.finish(read, reply)
    return reply


def _written(cache: Cache, args: tuple[Any, ...], name: str) -> None:
    """This client's write ``args`` ran (or may have): drop what it changed."""
    if name in FLUSHING:
        cache.flush()
        return
    try:
        keys = [key_bytes(k) for k in command_keys(args, name)]
    except (TypeError, ValueError):  # keys aiopool cannot find: they could be any
        cache.flush()
        return
    if keys:
        cache.invalidate(keys)


_CLASSES: dict[tuple[bool, bool], type[Client]] = {
    (False, False): Client,
    (True, False): _ObservedClient,
    (False, True): _CachingClient,
    (True, True): _ObservedCachingClient,
}
