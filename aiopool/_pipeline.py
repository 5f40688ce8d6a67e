"""``Pipeline``: many commands in one write on one connection, optionally as a transaction."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Generator, Iterable
from types import CodeType, FunctionType, TracebackType
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from . import _commands as cmd
from . import _retry
from ._commands import Command, Key, Value
from ._connection import Connection
from ._errors import ConnectionFailure, OutcomeUnknown, ProtocolError, ReplyError, WatchError
from ._pool import Pool
from ._protocol import (
    blocking_timeout,
    display_name,
    encode_command,
    may_block,
    pack_args,
    refuse_session_command,
)
from ._script import Script

if TYPE_CHECKING:  # for annotations only: _client imports this module
    from ._client import Client

__all__ = ["Pipeline"]

P = ParamSpec("P")
T = TypeVar("T")

_MULTI = encode_command(("MULTI",))
_EXEC = encode_command(("EXEC",))
# The types of the RESP2 replies that are not errors: a batch of replies all of
# these types has no error in it (an error reply is a ``ReplyError`` value).
_PLAIN_REPLIES = frozenset({bytes, str, int, list, type(None)})


# The argument types that cannot hold a memoryview, as ``type(x)`` gives them.
_PLAIN_ARGUMENTS = frozenset({str, bytes, int, float, bool, type(None)})

# The method ``_queued`` makes of each command definition ``_build``. Its
# parameters are the definition's positional ones (a real signature, and a
# direct call the interpreter inlines, where ``*args, **kwargs`` forwarding
# cost a tuple, a dict and a nested call); keyword options arrive in
# ``**_options``. A definition never makes a memoryview, so when no option is
# given and every positional argument is of a plain type, the arguments hold
# none and hiredis packs them as they are; otherwise ``encode_command`` copies
# any strided view (hiredis ignores strides). A type test per argument costs
# less than a loop over the packed arguments, command name included
# (``python tools/pipeline_cost.py --callgrind``: 8,840 instructions per
# queued command with the forwarding closure and that loop, 7,780 with this).
# ``{parameters}``, ``{call}`` and ``{plain}`` name the positional parameters
# ``p0, p1, ...`` (and ``*p<n>``); ``_queued`` renames them after the
# definition's. ``{defaults}`` passes the keyword options' defaults (``_shape``).
_QUEUE_SOURCE = """\
def queued(_self, {parameters}**_options):
    if _options:
        _command = _build({call}**_options)
        _data = _encode(_command[0])
    else:
        _command = _build({call}{defaults})
        if {plain}:
            try:
                _data = _pack(_command[0])
            except TypeError:
                _data = _encode(_command[0])  # raises, naming the argument
        else:
            _data = _encode(_command[0])
    if _blocks:
        _self._may_block = True
    _self._encoded.append(_data)
    _self._commands.append(_command)
    return _self
"""


@functools.cache
def _shape(count: int, rest: bool, options: tuple[str, ...]) -> CodeType:
    """``_QUEUE_SOURCE`` compiled for ``count`` positional parameters (and ``*rest``).

    ``options`` are the keyword options with a default: without options the
    definition gets them all, as ``_option_<i>``, which costs less than its
    looking each default up. One compilation per shape (two dozen for every
    command there is): each method then gets a copy with its definition's
    parameter names and defaults.
    """
    names = [f"p{index}" for index in range(count)]
    plain = [f"_type({name}) in _PLAIN" for name in names]
    if rest:
        names.append(f"*p{count}")
        plain.append(f"_PLAIN.issuperset(map(_type, p{count}))")
    listed = "".join(f"{name}, " for name in names)
    defaults = "".join(f"{option}=_option_{index}, " for index, option in enumerate(options))
    source = _QUEUE_SOURCE.format(
        parameters=listed,
        call=listed,
        defaults=defaults,
        plain=" and ".join(plain) or "True",
    )
    module = compile(source, "<aiopool._pipeline._QUEUE_SOURCE>", "exec")
    return next(const for const in module.co_consts if isinstance(const, CodeType))


def _queued(build: Callable[P, Command[T]]) -> Callable[Concatenate[Pipeline, P], Pipeline]:
    """Make ``build`` (a command definition) a chainable ``Pipeline`` method.

    Every queued command comes this way, so the method is generated from
    ``_QUEUE_SOURCE``: no call but the definition's and hiredis's packer, and
    no object but the command's tuple. A bad argument raises at once, at the
    line that queued it.
    """
    name = build.__name__.removesuffix("_")
    own = build.__code__
    rest = bool(own.co_flags & inspect.CO_VARARGS)
    if own.co_posonlyargcount or own.co_flags & inspect.CO_VARKEYWORDS:
        raise ValueError(f"{build.__qualname__}: only (key, *rest, *, option=...) is forwarded")
    # Positional parameters, then keyword-only ones, then *rest: the code
    # object's order.
    count = own.co_argcount
    names = own.co_varnames[:count]
    if rest:
        names += (own.co_varnames[count + own.co_kwonlyargcount],)
    if any(parameter.startswith("_") for parameter in names):
        raise ValueError(f"{build.__qualname__}: a parameter starts with _, as generated names do")
    options = build.__kwdefaults__ or {}
    code = _shape(count, rest, tuple(options))
    code = code.replace(
        co_name=name,
        co_qualname=f"Pipeline.{name}",
        co_varnames=(code.co_varnames[0], *names, *code.co_varnames[1 + len(names) :]),
    )
    namespace = {
        "_build": build,
        # Blocking commands flag the pipeline, so execute() looks for
        # blocking times only when one was queued.
        "_blocks": may_block((name,)),
        "_encode": encode_command,
        "_pack": pack_args,
        "_PLAIN": _PLAIN_ARGUMENTS,
        "_type": type,
        **{f"_option_{index}": default for index, default in enumerate(options.values())},
    }
    method: Callable[Concatenate[Pipeline, P], Pipeline] = FunctionType(
        code, namespace, name, build.__defaults__
    )
    cmd.describe(method, build, "Pipeline")
    return method


class Pipeline:
    """Commands queued locally and sent in one write on one connection.

    Build one with ``client.pipeline()`` and use it as ``async with``.
    Command methods (``p.set(...)``, ``p.hget(...)``, every command of
    ``Client``) queue and return the pipeline, so they chain;
    ``await p.execute()`` sends everything, reads every reply, returns the
    results in order and empties the pipeline for reuse.

    With ``transaction=True`` the commands are wrapped in ``MULTI``/``EXEC``
    and run atomically. ``await p.watch(*keys)`` (before queuing) pins a
    connection and makes ``execute()`` raise ``WatchError``, running nothing,
    if another client changed a watched key in between. A pinned connection
    goes back to the pool after ``execute()``, ``reset()`` or the end of the
    ``async with`` block, never inside ``MULTI`` or with keys still watched.

    Timeouts and cancellation: ``execute()`` waits at most
    ``command_timeout`` (plus the longest blocking time of a blocking
    command) for all replies. If it fails or is cancelled after the write,
    the connection is closed, ``ConnectionFailure``/``CommandTimeout``
    propagates, and any of the commands may or may not have run.
    """

    __slots__ = (
        "_client",
        "_commands",
        "_conn",
        "_encoded",
        "_immediate",
        "_may_block",
        "_multi",
        "_pool",
        "_scripts",
        "_watched",
        "transaction",
    )

    def __init__(self, client: Client, *, transaction: bool = False) -> None:
        self._client = client
        self._pool: Pool = client.pool
        self._immediate: Client | None = None
        self.transaction = transaction
        # Two parallel lists, the commands and their encodings: execute() joins
        # the second as it is, with no per-command step.
        self._commands: list[Command[Any]] = []
        self._encoded: list[bytes] = []
        self._may_block = False  # a possibly blocking command is queued
        self._scripts: dict[str, Script] = {}
        self._conn: Connection | None = None  # pinned by watch()
        self._watched = 0
        self._multi = False  # multi() called: after watch(), awaiting no longer runs at once

    def __repr__(self) -> str:
        mode = "transaction" if self.transaction else "pipeline"
        pinned = f" watching={self._watched} on {self._conn!r}" if self._conn else ""
        return f"<Pipeline {mode} queued={len(self._commands)}{pinned}>"

    def __len__(self) -> int:
        return len(self._commands)

    def __bool__(self) -> bool:
        # Always true, as redis-py's: ``if pipe:`` must not depend on what is queued.
        return True

    def __await__(self) -> Generator[Any, None, Any]:
        """redis-py's forms: ``await pipe.get(k)`` after ``watch()``, ``await pipe.set(...)``.

        After ``watch()`` and before ``multi()``, awaiting the pipeline runs
        the command just queued at once on the watched connection and gives
        its result (``value = await pipe.get("k")``), as redis-py's immediate
        mode does. Anywhere else it gives the pipeline itself, unchanged, so
        ``await pipe.set("k", "v")`` queues as in redis-py.
        """
        return self._awaited().__await__()

    async def _awaited(self) -> Any:
        immediate = self._immediate
        if immediate is None or self._multi or not self._commands:
            return self
        command = self._commands.pop()
        self._encoded.pop()
        return await immediate._run(command)

    async def __aenter__(self) -> Pipeline:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.reset()

    # -- queuing ------------------------------------------------------------------------

    def _add(self, command: Command[Any]) -> Pipeline:
        # Encoded now, so a bad argument raises here, at the line that queued it.
        self._encoded.append(encode_command(command[0]))
        self._commands.append(command)
        return self

    def command(self, *args: Any) -> Pipeline:
        """Queue one raw command, ``p.command("HINCRBY", "h", "f", 1)``; its raw reply.

        Commands that change the connection's session (``SELECT``, ``MULTI``,
        ``SUBSCRIBE``, ...) raise ``SessionCommandError`` here; use
        ``transaction=True`` for ``MULTI``/``EXEC``.
        """
        refuse_session_command(
            args,
            "cannot be queued in a pipeline: its effect would outlive the pipeline on a "
            "pooled connection",
        )
        if may_block(args):
            self._may_block = True
        return self._add((args, None))

    def execute_command(self, *args: Any) -> Pipeline:
        """redis-py's name for ``command()``: queue one raw command."""
        return self.command(*args)

    def run_script(
        self, script: Script, keys: Iterable[Key] = (), args: Iterable[Value] = ()
    ) -> Pipeline:
        """Queue ``script`` (from ``register_script``) with ``keys`` and ``args``.

        ``execute()`` loads every queued script with ``SCRIPT LOAD`` in the
        same write, ahead of the commands, so ``NOSCRIPT`` cannot happen.
        """
        if not isinstance(script, Script):
            raise TypeError(
                f"run_script() takes a Script from register_script(), got {type(script).__name__}"
            )
        command = cmd.scripting.evalsha(
            script.sha, keys=keys, args=args
        )  # may refuse the arguments
        self._add(command)
        self._scripts.setdefault(script.sha, script)
        return self

    def bitfield(
        self, key: Key, default_overflow: str | None = None
    ) -> cmd.bits.BitFieldOperation[Pipeline]:
        """BITFIELD: a builder, as redis-py's; its ``execute()`` queues the command here.

        ``pipe.bitfield(k).incrby("u8", 0, 1).execute()`` queues one BITFIELD
        and returns this pipeline (nothing is sent): its result, the list of
        subcommand results, comes from the pipeline's own ``execute()``.
        """
        return cmd.bits.BitFieldOperation(self._add, key, default_overflow)

    # -- transactions -------------------------------------------------------------------

    def multi(self) -> None:
        """Start the queued part of a watched transaction, as redis-py's ``multi()``.

        redis-py code reads after ``watch()`` with ``value = await
        pipe.get(k)``, then calls ``multi()`` and queues the writes; from here
        on command methods only queue, awaited or not. A pipeline made with
        ``transaction=False`` becomes a transaction. ``RuntimeError`` when
        called twice, or after commands were queued.
        """
        if self._multi:
            raise RuntimeError("multi() was already called on this pipeline (no nested MULTI)")
        if self._commands:
            raise RuntimeError(
                "multi() must come before queuing commands (WATCH, reads, multi(), writes)"
            )
        self._multi = True
        self.transaction = True

    async def watch(self, *keys: Key) -> Client:
        """WATCH ``keys``: ``execute()`` raises ``WatchError`` if any changes before it.

        Call before queuing commands. The first call borrows a connection and
        pins it to this pipeline until ``execute()`` or ``reset()``. Returns
        (and ``immediate`` holds) a ``Client`` that runs commands at once on
        that connection: read the watched values with it. Errors,
        timeouts and cancellation are as for any command; on any of them the
        pinned connection is released (closed, if the failure left it out of
        sync) and the watch is gone.
        """
        if not self.transaction:
            raise RuntimeError("watch() needs a transaction: client.pipeline(transaction=True)")
        if not keys:
            raise ValueError("watch() needs at least one key")
        if self._commands:
            raise RuntimeError(
                "watch() must come before queuing commands (WATCH, then read, then queue)"
            )
        pool = self._pool
        if self._conn is None:
            self._conn = await pool._acquire()
            self._immediate = self._client._pinned_to(self._conn)
        args = ("WATCH", *keys)
        try:
            await self._conn.request(encode_command(args), args, True)
        except BaseException:
            if self._watched:
                # Keys of an earlier watch() are still watched: never pool that.
                self._conn.abort()
            await self._unpin(send_unwatch=False)
            raise
        self._watched += len(keys)
        assert self._immediate is not None
        return self._immediate

    def _release_immediate(self) -> None:
        if self._immediate is not None:
            self._immediate._unpin()
            self._immediate = None

    @property
    def immediate(self) -> Client:
        """After ``watch()``: a ``Client`` whose commands run at once on the pinned connection.

        Read the watched keys with it: it needs no second connection, so
        transactions cannot starve a small pool. It stops working when the
        pipeline releases the connection (``RuntimeError``). Before
        ``watch()``, ``RuntimeError``.
        """
        if self._immediate is None:
            raise RuntimeError("immediate is the watched connection: call watch() first")
        return self._immediate

    async def reset(self) -> None:
        """Drop queued commands and release a pinned connection (sending ``UNWATCH``).

        Called by ``async with`` on exit. If ``UNWATCH`` fails or is
        cancelled, the connection is closed instead of reused.
        """
        self._commands.clear()
        self._encoded.clear()
        self._may_block = False
        self._multi = False
        self._scripts.clear()
        await self._unpin(send_unwatch=True)

    async def _unpin(self, *, send_unwatch: bool) -> None:
        conn = self._conn
        if conn is None:
            return
        self._release_immediate()
        self._conn = None
        watched, self._watched = self._watched, 0
        try:
            if send_unwatch and watched and conn.is_reusable():
                await conn.request(encode_command(("UNWATCH",)), ("UNWATCH",), True)
        except ReplyError:
            conn.abort()
        finally:
            self._pool._release(conn)

    # -- running ------------------------------------------------------------------------

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        """Send the queued commands in one write; their results, in order.

        An error reply raises that ``ReplyError`` after every reply was read
        (the connection stays in sync), with a note saying which command it
        was; with ``raise_on_error=False`` errors are returned in place as
        exception values instead. In a transaction: ``WatchError`` when a
        watched key changed (nothing ran); the queuing error when a command
        was refused before ``EXEC`` (nothing ran); a runtime error of one
        command does not undo the others (Redis has no rollback).

        An empty pipeline returns ``[]`` without borrowing a connection. The
        pipeline is empty again afterwards, whatever happened. See the class
        for timeouts and cancellation.
        """
        commands, encoded, may_block = self._commands, self._encoded, self._may_block
        self._commands, self._encoded, self._may_block = [], [], False
        self._multi = False
        scripts, self._scripts = self._scripts, {}
        if not commands:
            await self._unpin(send_unwatch=True)
            return []
        loads = [encode_command(("SCRIPT", "LOAD", s.source)) for s in scripts.values()]
        if self.transaction:
            data = b"".join([*loads, _MULTI, *encoded, _EXEC])
            count = len(loads) + len(encoded) + 2
        else:
            data = b"".join([*loads, *encoded]) if loads else b"".join(encoded)
            count = len(loads) + len(encoded)
        timeout = (
            self._timeout(commands) if may_block else self._pool.connection_options.command_timeout
        )
        what = f"a {'transaction' if self.transaction else 'pipeline'} of {len(commands)} commands"

        observer = self._client._observer
        op = (
            None
            if observer is None
            else observer.batch("MULTI" if self.transaction else "PIPELINE", len(commands))
        )
        try:
            self._release_immediate()
            conn, self._conn, self._watched = self._conn, None, 0
            try:
                if conn is not None:  # watched: WATCH lives on this connection only, never resent
                    try:
                        replies = await conn.request_many(data, count, what, timeout)
                    finally:
                        self._pool._release(conn)
                else:
                    replies = await self._send(data, count, what, timeout, commands)
            finally:  # sent, or maybe: a caching client drops what the writes changed
                self._client._wrote(commands)

            if loads:
                for reply in replies[: len(loads)]:
                    if isinstance(reply, ReplyError):
                        reply.add_note("while loading a script the pipeline runs (SCRIPT LOAD)")
                        raise reply
                replies = replies[len(loads) :]
            if self.transaction:
                replies = self._exec_results(commands, replies)
            results = _results(
                commands,
                replies,
                raise_on_error,
                self.transaction,
                self._pool.connection_options.address,
            )
        except BaseException as exc:
            if op is not None:
                op.end(exc)
            raise
        if op is not None:
            op.end(None)
        return results

    async def _send(
        self,
        data: bytes,
        count: int,
        what: str,
        timeout: float | None,
        commands: list[Command[Any]],
    ) -> list[Any]:
        pool = self._pool
        conn = await pool._acquire()
        try:
            return await conn.request_many(data, count, what, timeout)
        except (ConnectionFailure, OutcomeUnknown) as exc:
            failure = exc
        finally:
            pool._release(conn)
        return await _retry.resend_many(
            pool, failure, data, count, what, timeout, (args for args, _ in commands)
        )

    def _timeout(self, commands: list[Command[Any]]) -> float | None:
        # Only called when a possibly blocking command is queued.
        limit = self._pool.connection_options.command_timeout
        if limit is None or self.transaction:  # blocking commands do not block in MULTI
            return limit
        longest: float | None = limit
        for args, _ in commands:
            if not may_block(args):
                continue
            own = blocking_timeout(args, limit)
            if own is None:
                return None
            longest = max(longest, own) if longest is not None else own
        return longest

    @staticmethod
    def _exec_results(commands: list[Command[Any]], replies: list[Any]) -> list[Any]:
        # replies: MULTI's +OK, one +QUEUED (or a queuing error) per command, EXEC's.
        if isinstance(replies[0], ReplyError):
            raise replies[0]
        queued, outcome = replies[1:-1], replies[-1]
        for index, reply in enumerate(queued):
            if isinstance(reply, ReplyError):
                reply.add_note(
                    f"command {index + 1} of {len(commands)} ({display_name(commands[index][0])}) "
                    "was refused, so the transaction was discarded and nothing ran"
                )
                raise reply
        if outcome is None:
            raise WatchError(
                "a watched key changed before EXEC, so the transaction did not run; "
                "retry it (client.transaction() does)"
            )
        if isinstance(outcome, ReplyError):
            raise outcome
        return list(outcome)

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
    function_dump = _queued(cmd.scripting.function_dump)
    function_flush = _queued(cmd.scripting.function_flush)
    function_kill = _queued(cmd.scripting.function_kill)
    function_list = _queued(cmd.scripting.function_list)
    function_load = _queued(cmd.scripting.function_load)
    function_restore = _queued(cmd.scripting.function_restore)
    function_stats = _queued(cmd.scripting.function_stats)
    script_exists = _queued(cmd.scripting.script_exists)
    script_flush = _queued(cmd.scripting.script_flush)
    script_kill = _queued(cmd.scripting.script_kill)
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
    client_getredir = _queued(cmd.server.client_getredir)
    client_id = _queued(cmd.server.client_id)
    client_info = _queued(cmd.server.client_info)
    client_kill = _queued(cmd.server.client_kill)
    client_kill_filter = _queued(cmd.server.client_kill_filter)
    client_list = _queued(cmd.server.client_list)
    client_pause = _queued(cmd.server.client_pause)
    client_setname = _queued(cmd.server.client_setname)
    client_trackinginfo = _queued(cmd.server.client_trackinginfo)
    client_unblock = _queued(cmd.server.client_unblock)
    client_unpause = _queued(cmd.server.client_unpause)
    config_get = _queued(cmd.server.config_get)
    config_resetstat = _queued(cmd.server.config_resetstat)
    config_rewrite = _queued(cmd.server.config_rewrite)
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
    acl_cat = _queued(cmd.admin.acl_cat)
    acl_deluser = _queued(cmd.admin.acl_deluser)
    acl_dryrun = _queued(cmd.admin.acl_dryrun)
    acl_genpass = _queued(cmd.admin.acl_genpass)
    acl_getuser = _queued(cmd.admin.acl_getuser)
    acl_list = _queued(cmd.admin.acl_list)
    acl_load = _queued(cmd.admin.acl_load)
    acl_save = _queued(cmd.admin.acl_save)
    acl_log = _queued(cmd.admin.acl_log)
    acl_log_reset = _queued(cmd.admin.acl_log_reset)
    acl_setuser = _queued(cmd.admin.acl_setuser)
    acl_users = _queued(cmd.admin.acl_users)
    acl_whoami = _queued(cmd.admin.acl_whoami)
    slowlog_get = _queued(cmd.admin.slowlog_get)
    slowlog_len = _queued(cmd.admin.slowlog_len)
    slowlog_reset = _queued(cmd.admin.slowlog_reset)
    latency_doctor = _queued(cmd.admin.latency_doctor)
    latency_graph = _queued(cmd.admin.latency_graph)
    latency_histogram = _queued(cmd.admin.latency_histogram)
    latency_history = _queued(cmd.admin.latency_history)
    latency_latest = _queued(cmd.admin.latency_latest)
    latency_reset = _queued(cmd.admin.latency_reset)
    memory_stats = _queued(cmd.admin.memory_stats)
    memory_doctor = _queued(cmd.admin.memory_doctor)
    memory_malloc_stats = _queued(cmd.admin.memory_malloc_stats)
    memory_purge = _queued(cmd.admin.memory_purge)
    module_list = _queued(cmd.admin.module_list)
    module_load = _queued(cmd.admin.module_load)
    module_loadex = _queued(cmd.admin.module_loadex)
    module_unload = _queued(cmd.admin.module_unload)
    command_count = _queued(cmd.admin.command_count)
    command_docs = _queued(cmd.admin.command_docs)
    command_getkeys = _queued(cmd.admin.command_getkeys)
    command_getkeysandflags = _queued(cmd.admin.command_getkeysandflags)
    command_info = _queued(cmd.admin.command_info)
    command_list = _queued(cmd.admin.command_list)
    role = _queued(cmd.admin.role)
    bgsave = _queued(cmd.admin.bgsave)
    save = _queued(cmd.admin.save)
    bgrewriteaof = _queued(cmd.admin.bgrewriteaof)
    swapdb = _queued(cmd.admin.swapdb)
    lolwut = _queued(cmd.admin.lolwut)
    replicaof = _queued(cmd.admin.replicaof)
    slaveof = _queued(cmd.admin.slaveof)
    failover = _queued(cmd.admin.failover)
    debug_object = _queued(cmd.admin.debug_object)

    # cluster_admin
    cluster_info = _queued(cmd.cluster_admin.cluster_info)
    cluster_nodes = _queued(cmd.cluster_admin.cluster_nodes)
    cluster_slots = _queued(cmd.cluster_admin.cluster_slots)
    cluster_shards = _queued(cmd.cluster_admin.cluster_shards)
    cluster_myid = _queued(cmd.cluster_admin.cluster_myid)
    cluster_keyslot = _queued(cmd.cluster_admin.cluster_keyslot)
    cluster_countkeysinslot = _queued(cmd.cluster_admin.cluster_countkeysinslot)
    cluster_get_keys_in_slot = _queued(cmd.cluster_admin.cluster_get_keys_in_slot)
    cluster_links = _queued(cmd.cluster_admin.cluster_links)
    cluster_replicas = _queued(cmd.cluster_admin.cluster_replicas)
    cluster_count_failure_report = _queued(cmd.cluster_admin.cluster_count_failure_report)
    cluster_addslots = _queued(cmd.cluster_admin.cluster_addslots)
    cluster_addslotsrange = _queued(cmd.cluster_admin.cluster_addslotsrange)
    cluster_delslots = _queued(cmd.cluster_admin.cluster_delslots)
    cluster_delslotsrange = _queued(cmd.cluster_admin.cluster_delslotsrange)
    cluster_failover = _queued(cmd.cluster_admin.cluster_failover)
    cluster_flushslots = _queued(cmd.cluster_admin.cluster_flushslots)
    cluster_forget = _queued(cmd.cluster_admin.cluster_forget)
    cluster_meet = _queued(cmd.cluster_admin.cluster_meet)
    cluster_replicate = _queued(cmd.cluster_admin.cluster_replicate)
    cluster_reset = _queued(cmd.cluster_admin.cluster_reset)
    cluster_save_config = _queued(cmd.cluster_admin.cluster_save_config)
    cluster_set_config_epoch = _queued(cmd.cluster_admin.cluster_set_config_epoch)
    cluster_setslot = _queued(cmd.cluster_admin.cluster_setslot)
    cluster_setslot_stable = _queued(cmd.cluster_admin.cluster_setslot_stable)
    cluster_bumpepoch = _queued(cmd.cluster_admin.cluster_bumpepoch)

    # -- end of generated commands


def _results(
    commands: list[Command[Any]],
    replies: list[Any],
    raise_on_error: bool,
    transaction: bool,
    address: str,
) -> list[Any]:
    if len(commands) != len(replies):  # only an EXEC reply can disagree: it is one array
        raise ProtocolError(
            f"{address} answered EXEC with {len(replies)} results for {len(commands)} commands"
        )
    if _PLAIN_REPLIES.issuperset(map(type, replies)):
        # The common case, in one pass: every reply of a plain type (so none is
        # an error; a RESP3 type takes the careful loop too), and every
        # transform accepts its reply (else the careful loop names the command).
        try:
            return [
                reply if transform is None else transform(reply)
                for (_, transform), reply in zip(commands, replies, strict=True)
            ]
        except Exception:
            pass
    results: list[Any] = []
    first_error: ReplyError | None = None
    for index, (command, reply) in enumerate(zip(commands, replies, strict=True)):
        if isinstance(reply, ReplyError):
            if first_error is None:
                first_error = reply
                where = f"command {index + 1} of {len(commands)} ({display_name(command[0])})"
                rest = "; the other commands of the transaction ran" if transaction else ""
                reply.add_note(f"{where} in the pipeline failed{rest}")
            results.append(reply)
            continue
        results.append(cmd.apply(command, reply, address))
    if raise_on_error and first_error is not None:
        raise first_error
    return results
