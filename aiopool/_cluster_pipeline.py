"""``ClusterPipeline``: a pipeline split per node, sent concurrently, answered in order.

It reaches the cluster only through ``Router``, the few things it needs of
its ``ClusterClient``: so this module never imports ``_cluster`` (which
imports it to build pipelines).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from . import _commands as cmd
from . import _retry
from ._client import Client
from ._command_table import READ_ONLY
from ._commands import Command, Key
from ._config import ClusterOptions
from ._errors import (
    AskError,
    ClusterDownError,
    ClusterError,
    CrossSlotError,
    MovedError,
    ReplyError,
    TryAgainError,
)
from ._keys import command_slot
from ._pipeline import Pipeline, _results
from ._protocol import canonical_name, encode_command, refuse_session_command

__all__ = ["ClusterPipeline", "Router"]

P = ParamSpec("P")
T = TypeVar("T")

_MULTI = encode_command(("MULTI",))
_EXEC = encode_command(("EXEC",))


class Router(Protocol):
    """What a ``ClusterPipeline`` needs of its cluster client, and nothing more.

    ``node_for`` names the node a command for ``slot`` goes to now (None:
    no node serves it); ``node`` is that node's ``Client`` (its pool, for a
    group's one write; its pipelines, for a watched transaction);
    ``route`` runs one command through the client's full routing (MOVED,
    ASK, TRYAGAIN, failover); ``moved`` records a ``MOVED`` answer in the
    slot map (and schedules a refresh); ``refresh`` reloads the topology
    now (shared with other callers); ``ready`` loads it if it is not yet
    (``ClusterError`` once the client is closed).
    """

    @property
    def cluster_options(self) -> ClusterOptions: ...

    async def ready(self) -> None: ...

    def node_for(self, slot: int | None, read_only: bool) -> str | None: ...

    def node(self, address: str) -> Client: ...

    async def route(self, args: tuple[Any, ...], slot: int | None, read_only: bool) -> Any: ...

    def moved(self, slot: int, address: str) -> None: ...

    async def refresh(self) -> None: ...


async def _round_trip(
    client: Client, name: str, size: int, data: bytes, count: int, what: str
) -> list[Any]:
    """``data`` (``count`` commands) in one write on a connection of ``client``'s pool.

    Observed as one batch ``name`` of ``size`` commands when the node's
    client is instrumented (``aiopool.otel``).
    """
    pool = client.pool
    observer = client._observer
    op = None if observer is None else observer.batch(name, size)
    try:
        conn = await pool._acquire()
        try:
            replies = await conn.request_many(
                data, count, what, pool.connection_options.command_timeout
            )
        finally:
            pool._release(conn)
    except BaseException as exc:
        if op is not None:
            op.end(exc)
        raise
    if op is not None:
        op.end(None)
    return replies


def _queued(
    build: Callable[P, Command[T]],
) -> Callable[Concatenate[ClusterPipeline, P], ClusterPipeline]:
    """Make ``build`` (a command definition) a chainable ``ClusterPipeline`` method."""

    def method(self: ClusterPipeline, /, *args: P.args, **kwargs: P.kwargs) -> ClusterPipeline:
        return self._add(build(*args, **kwargs))

    cmd.describe(method, build, "ClusterPipeline")
    return method


class _Queued:
    __slots__ = ("command", "data", "read_only", "slot")

    def __init__(self, command: Command[Any], data: bytes) -> None:
        name = canonical_name(command[0])
        self.command = command
        self.data = data
        self.slot = command_slot(command[0], name)  # CrossSlotError: nothing queued
        self.read_only = name in READ_ONLY

    def __repr__(self) -> str:
        return f"<queued {canonical_name(self.command[0])} slot={self.slot}>"


class ClusterPipeline:
    """Commands queued locally, grouped by node, sent concurrently, results in order.

    Build one with ``cluster.pipeline()``; command methods queue and chain as
    on ``Pipeline``, and ``await p.execute()`` returns the results in the
    order the commands were queued. Each node's group is one write and one
    read pass on one of that node's connections; the groups run
    concurrently. A command answered with ``MOVED``/``ASK``/``TRYAGAIN``/
    ``CLUSTERDOWN`` is run again on its own through the client's routing
    (so its position in the results is kept, but it runs after the rest of
    its group). A group whose connection could not be used (nothing was
    sent) is routed command by command.

    With ``transaction=True`` every key of every command must map to one
    slot, checked as commands are queued (``CrossSlotError``); the commands
    run in MULTI/EXEC on that slot's primary, and a ``MOVED`` (the
    transaction was refused, nothing ran) sends it again to the new owner.
    ``await p.watch(*keys)`` (before queuing) pins a connection of the
    primary serving the keys' slot, as ``Pipeline.watch`` does on one
    server; ``cluster.transaction()`` wraps that in a retry loop.

    Timeouts and cancellation: as ``Pipeline``, per node: a group
    interrupted after its write closes its connection and any of its
    commands may have run (``OutcomeUnknown``).
    """

    __slots__ = ("_multi", "_queue", "_router", "_slot", "_watched", "transaction")

    def __init__(self, router: Router, *, transaction: bool = False) -> None:
        self._router = router
        self.transaction = transaction
        self._queue: list[_Queued] = []
        self._slot: int | None = None  # a transaction's one slot
        self._watched: Pipeline | None = None  # the node's pipeline that watch() pinned
        self._multi = False  # multi() called: after watch(), awaiting no longer runs at once

    def __repr__(self) -> str:
        mode = "transaction" if self.transaction else "pipeline"
        watched = f" watching slot {self._slot} with {self._watched!r}" if self._watched else ""
        return f"<ClusterPipeline {mode} queued={len(self._queue)}{watched}>"

    def __len__(self) -> int:
        return len(self._queue)

    def __bool__(self) -> bool:
        # Always true, as redis-py's: ``if pipe:`` must not depend on what is queued.
        return True

    def __await__(self) -> Generator[Any, None, Any]:
        """redis-py's forms: ``await pipe.get(k)`` after ``watch()``, ``await pipe.set(...)``.

        As ``Pipeline``'s: after ``watch()`` and before ``multi()``, the
        command just queued runs at once on the watched connection and its
        result is given; anywhere else the pipeline itself is.
        """
        return self._awaited().__await__()

    async def _awaited(self) -> Any:
        watched = self._watched
        if watched is None or self._multi or not self._queue:
            return self
        item = self._queue.pop()
        return await watched.immediate._run(item.command)

    def multi(self) -> None:
        """Start the queued part of a watched transaction, as redis-py's ``multi()``.

        See ``Pipeline.multi``: after it, command methods only queue. A
        pipeline made with ``transaction=False`` becomes a transaction (every
        key in one slot). ``RuntimeError`` when called twice, or after
        commands were queued.
        """
        if self._multi:
            raise RuntimeError("multi() was already called on this pipeline (no nested MULTI)")
        if self._queue:
            raise RuntimeError(
                "multi() must come before queuing commands (WATCH, reads, multi(), writes)"
            )
        self._multi = True
        self.transaction = True

    async def __aenter__(self) -> ClusterPipeline:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.reset()

    async def reset(self) -> None:
        """Drop the queued commands and release a watched connection (sending ``UNWATCH``).

        Called by ``async with`` on exit. As ``Pipeline.reset``: if
        ``UNWATCH`` fails or is cancelled, the connection is closed instead
        of reused.
        """
        self._queue.clear()
        self._slot = None
        self._multi = False
        watched, self._watched = self._watched, None
        if watched is not None:
            await watched.reset()

    def _add(self, command: Command[Any]) -> ClusterPipeline:
        # A bad argument, or keys in two slots, raise here, at the queuing line.
        item = _Queued(command, encode_command(command[0]))
        slot = item.slot
        if self.transaction and slot is not None:
            if self._slot is None:
                self._slot = slot
            elif slot != self._slot:
                raise CrossSlotError(
                    f"CROSSSLOT a cluster transaction runs on one slot: this command's keys are "
                    f"in slot {slot}, earlier ones in slot {self._slot} (use a common "
                    "{hash tag})"
                )
        self._queue.append(item)
        return self

    def command(self, *args: Any) -> ClusterPipeline:
        """Queue one raw command; its raw reply. Session commands are refused."""
        refuse_session_command(
            args,
            "cannot be queued in a pipeline: its effect would outlive the pipeline on a "
            "pooled connection",
        )
        return self._add((args, None))

    def execute_command(self, *args: Any) -> ClusterPipeline:
        """redis-py's name for ``command()``: queue one raw command."""
        return self.command(*args)

    def bitfield(
        self, key: Key, default_overflow: str | None = None
    ) -> cmd.bits.BitFieldOperation[ClusterPipeline]:
        """BITFIELD: a builder, as redis-py's; its ``execute()`` queues the command here.

        As ``Pipeline.bitfield``: ``execute()`` queues and returns this pipeline.
        """
        return cmd.bits.BitFieldOperation(self._add, key, default_overflow)

    # -- transactions -------------------------------------------------------------------

    async def watch(self, *keys: Key) -> Client:
        """WATCH ``keys`` on their slot's primary: ``execute()`` raises ``WatchError`` if one changes.

        Only with ``transaction=True``, and before queuing. The keys must map
        to one slot (``CrossSlotError``, nothing sent), and every command
        queued afterwards must map to it too. The first call pins one of
        that primary's connections until ``execute()`` or ``reset()`` and
        returns (``immediate`` holds) the ``Client`` that runs commands at
        once on it. A slot that moved raises ``MovedError`` (from here, a
        read on ``immediate``, or ``execute()``; nothing of the transaction
        ran) after recording the new owner, so the next attempt goes there
        (``cluster.transaction()`` retries it); ``AskError`` means the slot
        is being migrated. Errors, timeouts and cancellation are otherwise
        those of ``Pipeline.watch``: on any of them the connection is
        released and nothing stays watched.
        """
        if not self.transaction:
            raise RuntimeError("watch() needs a transaction: cluster.pipeline(transaction=True)")
        if not keys:
            raise ValueError("watch() needs at least one key")
        if self._queue:
            raise RuntimeError(
                "watch() must come before queuing commands (WATCH, then read, then queue)"
            )
        slot = command_slot(("WATCH", *keys), "watch")  # CrossSlotError: nothing sent
        if self._slot is not None and slot != self._slot:
            raise CrossSlotError(
                f"CROSSSLOT a cluster transaction runs on one slot: these keys are in slot "
                f"{slot}, the keys watched before in slot {self._slot} (use a common "
                "{hash tag})"
            )
        watched = self._watched
        if watched is None:
            router = self._router
            await router.ready()
            address = router.node_for(slot, False)
            if address is None:
                raise ClusterDownError(f"CLUSTERDOWN no known node serves slot {slot}")
            watched = router.node(address).pipeline(transaction=True)
        try:
            immediate = await watched.watch(*keys)
        except BaseException as exc:
            # The node's pipeline released its connection: nothing is watched any more.
            self._watched, self._slot = None, None
            if isinstance(exc, MovedError):
                self._router.moved(exc.slot, exc.address)
            raise
        self._watched, self._slot = watched, slot
        return immediate

    @property
    def immediate(self) -> Client:
        """After ``watch()``: the ``Client`` whose commands run at once on the watched connection.

        See ``Pipeline.immediate``; before ``watch()``, ``RuntimeError``.
        """
        if self._watched is None:
            raise RuntimeError("immediate is the watched connection: call watch() first")
        return self._watched.immediate

    async def _execute_watched(
        self, watched: Pipeline, queue: list[_Queued], raise_on_error: bool
    ) -> list[Any]:
        # The node's pipeline owns the pinned connection and its WATCH; it runs
        # the commands raw (raise_on_error=False keeps error replies in place),
        # and the typed replies are made here, where the commands' transforms are.
        try:
            for item in queue:
                watched.command(*item.command[0])
            replies = await watched.execute(raise_on_error=False)
        except MovedError as exc:  # a queued command or (Valkey) EXEC redirected: nothing ran
            self._router.moved(exc.slot, exc.address)
            raise
        finally:
            await watched.reset()  # a no-op once execute() released the connection
        results: list[Any] = []
        first_error: ReplyError | None = None
        for item, reply in zip(queue, replies, strict=True):
            if isinstance(reply, ReplyError):
                first_error = first_error or reply
                results.append(reply)
            else:
                results.append(cmd.apply(item.command, reply, "the cluster"))
        if raise_on_error and first_error is not None:
            raise first_error
        return results

    # -- running ------------------------------------------------------------------------

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        """Send everything, read everything; the results in queuing order.

        Error replies are raised (the first, after all were read) or, with
        ``raise_on_error=False``, returned in place. After ``watch()``, the
        transaction runs on the watched connection: ``WatchError`` when a
        watched key changed, ``MovedError`` when the slot moved (nothing ran
        in either case). The pipeline is empty afterwards, and a watched
        connection released.
        """
        queue, slot, watched = self._queue, self._slot, self._watched
        self._queue, self._slot, self._watched = [], None, None
        self._multi = False
        if watched is not None:
            return await self._execute_watched(watched, queue, raise_on_error)
        if not queue:
            return []
        await self._router.ready()  # raises ClusterError once closed
        commands = [q.command for q in queue]
        if self.transaction:
            replies = await self._transaction(queue, slot)
            tx = True
        else:
            replies = await self._pipeline(queue)
            tx = False
        return _results(commands, replies, raise_on_error, tx, "the cluster")

    async def _pipeline(self, queue: list[_Queued]) -> list[Any]:
        router = self._router
        groups: dict[str, list[int]] = {}
        unrouted: list[int] = []
        for index, item in enumerate(queue):
            address = router.node_for(item.slot, item.read_only)
            if address is None:
                unrouted.append(index)
            else:
                groups.setdefault(address, []).append(index)
        replies: list[Any] = [None] * len(queue)
        outcomes = await asyncio.gather(
            *(
                self._send_group(address, [queue[i] for i in indexes])
                for address, indexes in groups.items()
            ),
            return_exceptions=True,
        )
        failure: BaseException | None = None  # sent, or failing for another reason
        for indexes, outcome in zip(groups.values(), outcomes, strict=True):
            if isinstance(outcome, BaseException):
                if _retry.group_never_sent(outcome):
                    unrouted.extend(indexes)  # nothing of this group was sent
                    continue
                failure = failure or outcome
                continue
            for index, reply in zip(indexes, outcome, strict=True):
                if _retry.routed_again(reply):
                    if isinstance(reply, MovedError):
                        router.moved(reply.slot, reply.address)  # and a refresh soon
                    unrouted.append(index)
                else:
                    replies[index] = reply
        if failure is not None:
            raise failure
        for index in sorted(unrouted):
            item = queue[index]
            try:
                replies[index] = await router.route(item.command[0], item.slot, item.read_only)
            except ReplyError as exc:  # an error reply stays in place, as in one pipeline
                replies[index] = exc
        return replies

    async def _send_group(self, address: str, items: list[_Queued]) -> list[Any]:
        what = f"a cluster pipeline's {len(items)} commands for {address}"
        data = b"".join(item.data for item in items)
        client = self._router.node(address)
        return await _round_trip(client, "PIPELINE", len(items), data, len(items), what)

    async def _transaction(self, queue: list[_Queued], slot: int | None) -> list[Any]:
        router = self._router
        data = b"".join([_MULTI, *(item.data for item in queue), _EXEC])
        commands = [item.command for item in queue]
        for attempt in range(1, router.cluster_options.max_redirects + 2):
            address = router.node_for(slot, False)
            if address is None:
                await router.refresh()
                continue
            what = f"a cluster transaction of {len(queue)} commands"
            client = router.node(address)
            replies = await _round_trip(client, "MULTI", len(queue), data, len(queue) + 2, what)
            # Redis 7.0 redirects a queued command (then EXECABORT); Valkey 8+ queues it and
            # redirects EXEC itself, discarding the transaction. Either way nothing ran.
            refused = replies[1:]
            moved = next((r for r in refused if isinstance(r, MovedError)), None)
            if moved is not None:
                router.moved(moved.slot, moved.address)
                await router.refresh()
                continue
            if any(isinstance(r, AskError | TryAgainError) for r in refused):
                await _retry.slot_pause(attempt)  # a migration of this slot is under way
                continue
            return Pipeline._exec_results(commands, replies)
        raise ClusterError(
            f"a cluster transaction on slot {slot} was redirected more than "
            f"max_redirects={router.cluster_options.max_redirects} times"
        )

    # -- commands: generated by tools/bind_commands.py from _commands/_bindings.py; do not edit

    # strings
    append = _queued(cmd.strings.append)
    decr = _queued(cmd.strings.decr)
    decrby = _queued(cmd.strings.decrby)
    get = _queued(cmd.strings.get)
    getdel = _queued(cmd.strings.getdel)
    getex = _queued(cmd.strings.getex)
    getrange = _queued(cmd.strings.getrange)
    getset = _queued(cmd.strings.getset)
    incr = _queued(cmd.strings.incr)
    incrby = _queued(cmd.strings.incrby)
    incrbyfloat = _queued(cmd.strings.incrbyfloat)
    lcs = _queued(cmd.strings.lcs)
    mget = _queued(cmd.strings.mget)
    mset = _queued(cmd.strings.mset)
    msetnx = _queued(cmd.strings.msetnx)
    psetex = _queued(cmd.strings.psetex)
    set = _queued(cmd.strings.set_)
    setex = _queued(cmd.strings.setex)
    setnx = _queued(cmd.strings.setnx)
    setrange = _queued(cmd.strings.setrange)
    strlen = _queued(cmd.strings.strlen)
    substr = _queued(cmd.strings.substr)

    # keys
    copy = _queued(cmd.keys.copy)
    delete = _queued(cmd.keys.delete)
    dump = _queued(cmd.keys.dump)
    exists = _queued(cmd.keys.exists)
    expire = _queued(cmd.keys.expire)
    expireat = _queued(cmd.keys.expireat)
    expiretime = _queued(cmd.keys.expiretime)
    keys = _queued(cmd.keys.keys)
    migrate = _queued(cmd.keys.migrate)
    move = _queued(cmd.keys.move)
    object = _queued(cmd.keys.object_)
    object_encoding = _queued(cmd.keys.object_encoding)
    object_freq = _queued(cmd.keys.object_freq)
    object_idletime = _queued(cmd.keys.object_idletime)
    object_refcount = _queued(cmd.keys.object_refcount)
    persist = _queued(cmd.keys.persist)
    pexpire = _queued(cmd.keys.pexpire)
    pexpireat = _queued(cmd.keys.pexpireat)
    pexpiretime = _queued(cmd.keys.pexpiretime)
    pttl = _queued(cmd.keys.pttl)
    randomkey = _queued(cmd.keys.randomkey)
    rename = _queued(cmd.keys.rename)
    renamenx = _queued(cmd.keys.renamenx)
    restore = _queued(cmd.keys.restore)
    scan = _queued(cmd.keys.scan)
    sort = _queued(cmd.keys.sort)
    sort_ro = _queued(cmd.keys.sort_ro)
    touch = _queued(cmd.keys.touch)
    ttl = _queued(cmd.keys.ttl)
    type = _queued(cmd.keys.type_)
    unlink = _queued(cmd.keys.unlink)

    # hashes
    hdel = _queued(cmd.hashes.hdel)
    hexists = _queued(cmd.hashes.hexists)
    hget = _queued(cmd.hashes.hget)
    hgetall = _queued(cmd.hashes.hgetall)
    hincrby = _queued(cmd.hashes.hincrby)
    hincrbyfloat = _queued(cmd.hashes.hincrbyfloat)
    hkeys = _queued(cmd.hashes.hkeys)
    hlen = _queued(cmd.hashes.hlen)
    hmget = _queued(cmd.hashes.hmget)
    hmset = _queued(cmd.hashes.hmset)
    hrandfield = _queued(cmd.hashes.hrandfield)
    hscan = _queued(cmd.hashes.hscan)
    hset = _queued(cmd.hashes.hset)
    hsetnx = _queued(cmd.hashes.hsetnx)
    hstrlen = _queued(cmd.hashes.hstrlen)
    hvals = _queued(cmd.hashes.hvals)

    # lists
    blmove = _queued(cmd.lists.blmove)
    blpop = _queued(cmd.lists.blpop)
    blmpop = _queued(cmd.lists.blmpop)
    brpop = _queued(cmd.lists.brpop)
    brpoplpush = _queued(cmd.lists.brpoplpush)
    lindex = _queued(cmd.lists.lindex)
    linsert = _queued(cmd.lists.linsert)
    llen = _queued(cmd.lists.llen)
    lmpop = _queued(cmd.lists.lmpop)
    lmove = _queued(cmd.lists.lmove)
    lpop = _queued(cmd.lists.lpop)
    lpos = _queued(cmd.lists.lpos)
    lpush = _queued(cmd.lists.lpush)
    lpushx = _queued(cmd.lists.lpushx)
    lrange = _queued(cmd.lists.lrange)
    lrem = _queued(cmd.lists.lrem)
    lset = _queued(cmd.lists.lset)
    ltrim = _queued(cmd.lists.ltrim)
    rpop = _queued(cmd.lists.rpop)
    rpoplpush = _queued(cmd.lists.rpoplpush)
    rpush = _queued(cmd.lists.rpush)
    rpushx = _queued(cmd.lists.rpushx)

    # sets
    sadd = _queued(cmd.sets.sadd)
    scard = _queued(cmd.sets.scard)
    sdiff = _queued(cmd.sets.sdiff)
    sdiffstore = _queued(cmd.sets.sdiffstore)
    sinter = _queued(cmd.sets.sinter)
    sintercard = _queued(cmd.sets.sintercard)
    sinterstore = _queued(cmd.sets.sinterstore)
    sismember = _queued(cmd.sets.sismember)
    smembers = _queued(cmd.sets.smembers)
    smismember = _queued(cmd.sets.smismember)
    smove = _queued(cmd.sets.smove)
    spop = _queued(cmd.sets.spop)
    srandmember = _queued(cmd.sets.srandmember)
    srem = _queued(cmd.sets.srem)
    sscan = _queued(cmd.sets.sscan)
    sunion = _queued(cmd.sets.sunion)
    sunionstore = _queued(cmd.sets.sunionstore)

    # zsets
    bzmpop = _queued(cmd.zsets.bzmpop)
    bzpopmax = _queued(cmd.zsets.bzpopmax)
    bzpopmin = _queued(cmd.zsets.bzpopmin)
    zadd = _queued(cmd.zsets.zadd)
    zcard = _queued(cmd.zsets.zcard)
    zcount = _queued(cmd.zsets.zcount)
    zdiff = _queued(cmd.zsets.zdiff)
    zdiffstore = _queued(cmd.zsets.zdiffstore)
    zincrby = _queued(cmd.zsets.zincrby)
    zinter = _queued(cmd.zsets.zinter)
    zintercard = _queued(cmd.zsets.zintercard)
    zinterstore = _queued(cmd.zsets.zinterstore)
    zlexcount = _queued(cmd.zsets.zlexcount)
    zmpop = _queued(cmd.zsets.zmpop)
    zmscore = _queued(cmd.zsets.zmscore)
    zpopmax = _queued(cmd.zsets.zpopmax)
    zpopmin = _queued(cmd.zsets.zpopmin)
    zrandmember = _queued(cmd.zsets.zrandmember)
    zrange = _queued(cmd.zsets.zrange)
    zrangebylex = _queued(cmd.zsets.zrangebylex)
    zrangebyscore = _queued(cmd.zsets.zrangebyscore)
    zrangestore = _queued(cmd.zsets.zrangestore)
    zrank = _queued(cmd.zsets.zrank)
    zrem = _queued(cmd.zsets.zrem)
    zremrangebylex = _queued(cmd.zsets.zremrangebylex)
    zremrangebyrank = _queued(cmd.zsets.zremrangebyrank)
    zremrangebyscore = _queued(cmd.zsets.zremrangebyscore)
    zrevrange = _queued(cmd.zsets.zrevrange)
    zrevrangebylex = _queued(cmd.zsets.zrevrangebylex)
    zrevrangebyscore = _queued(cmd.zsets.zrevrangebyscore)
    zrevrank = _queued(cmd.zsets.zrevrank)
    zscan = _queued(cmd.zsets.zscan)
    zscore = _queued(cmd.zsets.zscore)
    zunion = _queued(cmd.zsets.zunion)
    zunionstore = _queued(cmd.zsets.zunionstore)

    # geo
    geoadd = _queued(cmd.geo.geoadd)
    geodist = _queued(cmd.geo.geodist)
    geohash = _queued(cmd.geo.geohash)
    geopos = _queued(cmd.geo.geopos)
    georadius = _queued(cmd.geo.georadius)
    georadiusbymember = _queued(cmd.geo.georadiusbymember)
    geosearch = _queued(cmd.geo.geosearch)
    geosearchstore = _queued(cmd.geo.geosearchstore)

    # streams
    xack = _queued(cmd.streams.xack)
    xadd = _queued(cmd.streams.xadd)
    xautoclaim = _queued(cmd.streams.xautoclaim)
    xclaim = _queued(cmd.streams.xclaim)
    xdel = _queued(cmd.streams.xdel)
    xgroup_create = _queued(cmd.streams.xgroup_create)
    xgroup_createconsumer = _queued(cmd.streams.xgroup_createconsumer)
    xgroup_delconsumer = _queued(cmd.streams.xgroup_delconsumer)
    xgroup_destroy = _queued(cmd.streams.xgroup_destroy)
    xgroup_setid = _queued(cmd.streams.xgroup_setid)
    xinfo_consumers = _queued(cmd.streams.xinfo_consumers)
    xinfo_groups = _queued(cmd.streams.xinfo_groups)
    xinfo_stream = _queued(cmd.streams.xinfo_stream)
    xlen = _queued(cmd.streams.xlen)
    xpending = _queued(cmd.streams.xpending)
    xpending_range = _queued(cmd.streams.xpending_range)
    xrange = _queued(cmd.streams.xrange)
    xread = _queued(cmd.streams.xread)
    xreadgroup = _queued(cmd.streams.xreadgroup)
    xrevrange = _queued(cmd.streams.xrevrange)
    xtrim = _queued(cmd.streams.xtrim)

    # bits
    bitcount = _queued(cmd.bits.bitcount)
    bitfield_ro = _queued(cmd.bits.bitfield_ro)
    bitop = _queued(cmd.bits.bitop)
    bitpos = _queued(cmd.bits.bitpos)
    getbit = _queued(cmd.bits.getbit)
    pfadd = _queued(cmd.bits.pfadd)
    pfcount = _queued(cmd.bits.pfcount)
    pfmerge = _queued(cmd.bits.pfmerge)
    setbit = _queued(cmd.bits.setbit)

    # scripting
    eval = _queued(cmd.scripting.eval_)
    eval_ro = _queued(cmd.scripting.eval_ro)
    evalsha = _queued(cmd.scripting.evalsha)
    evalsha_ro = _queued(cmd.scripting.evalsha_ro)
    fcall = _queued(cmd.scripting.fcall)
    fcall_ro = _queued(cmd.scripting.fcall_ro)
    function_delete = _queued(cmd.scripting.function_delete)
    function_flush = _queued(cmd.scripting.function_flush)
    function_list = _queued(cmd.scripting.function_list)
    function_load = _queued(cmd.scripting.function_load)
    script_exists = _queued(cmd.scripting.script_exists)
    script_flush = _queued(cmd.scripting.script_flush)
    script_load = _queued(cmd.scripting.script_load)

    # pubsub
    publish = _queued(cmd.pubsub.publish)
    pubsub_channels = _queued(cmd.pubsub.pubsub_channels)
    pubsub_numpat = _queued(cmd.pubsub.pubsub_numpat)
    pubsub_numsub = _queued(cmd.pubsub.pubsub_numsub)
    pubsub_shardchannels = _queued(cmd.pubsub.pubsub_shardchannels)
    pubsub_shardnumsub = _queued(cmd.pubsub.pubsub_shardnumsub)
    spublish = _queued(cmd.pubsub.spublish)

    # server
    client_getname = _queued(cmd.server.client_getname)
    client_id = _queued(cmd.server.client_id)
    client_list = _queued(cmd.server.client_list)
    client_setname = _queued(cmd.server.client_setname)
    config_get = _queued(cmd.server.config_get)
    config_set = _queued(cmd.server.config_set)
    dbsize = _queued(cmd.server.dbsize)
    echo = _queued(cmd.server.echo)
    flushall = _queued(cmd.server.flushall)
    flushdb = _queued(cmd.server.flushdb)
    info = _queued(cmd.server.info)
    lastsave = _queued(cmd.server.lastsave)
    memory_usage = _queued(cmd.server.memory_usage)
    ping = _queued(cmd.server.ping)
    time = _queued(cmd.server.time)
    wait = _queued(cmd.server.wait)

    # admin
    debug_object = _queued(cmd.admin.debug_object)

    # -- end of generated commands
