"""Soak: mixed load through one small pool under seeded chaos, then check what must hold.

    python tools/soak.py --duration 60 [--seed N] [--tasks 50] [--max-size 8] [--json out.json]

It starts its own ``redis-server`` (``aiopool.testing.RedisServer`` with
``appendonly yes``, ``appendfsync always`` and no automatic AOF rewrite, so a
write the server acknowledged survives ``kill -9`` and restart) behind a
``FaultProxy``, and runs ``--tasks`` workers through one ``Client`` with
``--max-size`` connections. Each worker owns its keys and does SETs of unique
keys with known values, INCRs of its own counter, GET/MGET reads that check
what they see, pipelines, transactions (plain and WATCHed), ECHOs, and
cancels some of its own commands at random moments (``asyncio.timeout`` or
``task.cancel()``). A chaos task follows a schedule drawn from ``--seed``:
``kill -9`` and restart, pauses (SIGSTOP) shorter and longer than
``command_timeout``, ``reset_all`` and held blackholes shorter and longer
than ``command_timeout`` on the proxy. The same seed gives the same fault
schedule and the same per-worker choice of operations (the printed
fingerprint identifies the schedule); how they interleave depends on timing.

After a fault-free warm-up the soak measures a baseline (open file
descriptors and RSS with the pool filled to ``max_size``), runs
``--duration`` seconds of load under chaos, heals every fault and checks:

* every acknowledged SET is on the server with its exact value; a SET whose
  error says it was not run is absent; one with an unknown outcome is either
  absent or exact;
* each counter ends within ``[A, A + U]`` (``A`` acknowledged INCRs, ``U``
  with an unknown outcome; exactly ``A`` when ``U`` is 0), and every INCR
  reply and live read fell within the same bounds at its time;
* every reply was the caller's own (values and ECHO tokens are unique);
* only the expected typed errors occurred (below);
* the pool is at rest and balanced (``in_use == waiting == opening == 0``,
  ``created - closed == size``), and the connections it holds are exactly
  the ones ``CLIENT LIST`` shows under its client name and the ones the proxy
  pipes; it still serves every caller its own replies;
* open file descriptors are back within ``--fd-slack`` of the baseline (and
  of the count before the soak once everything is closed), RSS grew by less
  than ``--rss-limit-mb``, no task is left over, and the event loop, the
  ``aiopool`` loggers (errors) and ``ResourceWarning`` reported nothing.

Which errors are allowed, and what each means for the ledger:
``ConnectionLost`` and ``CommandTimeout`` (``OutcomeUnknown``) and the
soak's own cancellations and deadlines: the command may have run.
``ConnectError``, a plain ``ConnectionFailure`` and ``PoolTimeout``: it did
not run. ``WatchError`` (from ``Client.transaction`` only): nothing ran.
Anything else fails the soak. In particular ``ReplyError``, including
``BusyLoadingError``: keys are private to a worker, so types never clash,
and a restarted server's ``LOADING`` must only ever meet the handshake, whose
PING the pool retries (a connection from before the restart is dead, not
loading). And ``ProtocolError``: none of the faults alters a byte (kills and
resets end connections; the blackhole *holds* data as TCP would over a
partition). The proxy's ``drop`` blackhole and its garble/cut switches are
deliberately not used: they break streams in ways that make a wrong or
invalid reply the proxy's doing, not aiopool's.

Exit status: 0 when every invariant held, 1 when one was violated (each is
listed), 2 when the soak could not run (no ``redis-server``, interrupted).
``--no-persistence`` runs the server without AOF, so a kill loses
acknowledged writes: a self-test that the checks can fail.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gc
import hashlib
import importlib.metadata
import json
import logging
import os
import random
import signal
import sys
import time
import traceback
import uuid
import warnings
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import hiredis

import aiopool
from aiopool.testing import FaultProxy, RedisServer, RedisServerUnavailable

# -- outcomes and the ledger -----------------------------------------------------------

Outcome = Literal["acked", "unknown", "not_run"]

# Status of one SET key, one byte per key in a worker's ledger.
PENDING: Final = 0
ACKED: Final = 1
UNKNOWN: Final = 2
NOT_RUN: Final = 3
STATUS: Final[dict[Outcome, int]] = {"acked": ACKED, "unknown": UNKNOWN, "not_run": NOT_RUN}

_SIZES: Final = (0, 16, 64, 256)
_MAX_LISTED: Final = 100
_LISTED_PER_KIND: Final = 10
_MGET_BATCH: Final = 500


def key_for(worker: int, seq: int) -> str:
    """The key of a worker's ``seq``-th SET: written once, by that worker only."""
    return f"soak:{worker}:{seq}"


def counter_for(worker: int) -> str:
    """The key of a worker's counter, INCRed by that worker only."""
    return f"soak:{worker}:count"


def value_for(worker: int, seq: int) -> bytes:
    """The value of a worker's ``seq``-th SET: unique, so a reply can only be its own."""
    size = 16_384 if seq % 199 == 198 else _SIZES[(worker + seq) % len(_SIZES)]
    return b"%d.%d:" % (worker, seq) + b"v" * size


@dataclass
class Ledger:
    """What one worker knows about its keys: the status of each SET and its INCR counts."""

    worker: int
    acked_incr: int = 0
    unknown_incr: int = 0
    sets: bytearray = field(default_factory=bytearray)

    @property
    def counter(self) -> str:
        return counter_for(self.worker)

    def new_set(self) -> tuple[int, str, bytes]:
        seq = len(self.sets)
        self.sets.append(PENDING)
        return seq, key_for(self.worker, seq), value_for(self.worker, seq)

    def count_incr(self, outcome: Outcome) -> None:
        if outcome == "acked":
            self.acked_incr += 1
        elif outcome == "unknown":
            self.unknown_incr += 1

    def counter_problem(self, value: Any, what: str) -> str | None:
        """Why ``value`` (a counter read now) cannot be right, or None."""
        try:
            number = int(value or 0)
        except (TypeError, ValueError):
            return f"{what} of {self.counter} returned {value!r}, not an integer"
        low, high = self.acked_incr, self.acked_incr + self.unknown_incr
        if not low <= number <= high:
            return f"{what} of {self.counter} returned {number}, outside [A={low}, A+U={high}]"
        return None

    def incr_problem(self, reply: Any, what: str) -> str | None:
        """Why ``reply`` (to an INCR sent now) cannot be right, or None."""
        low = self.acked_incr + 1
        high = low + self.unknown_incr
        if not isinstance(reply, int) or not low <= reply <= high:
            return (
                f"{what}: INCR {self.counter} replied {reply!r}, outside [A+1={low}, A+U+1={high}]"
            )
        return None

    def read_problem(self, seq: int, reply: Any, what: str) -> str | None:
        """Why ``reply`` (a read of SET ``seq`` now) cannot be right, or None."""
        status = self.sets[seq]
        expected = value_for(self.worker, seq)
        if reply == expected and status in (ACKED, UNKNOWN):
            return None
        if reply is None and status in (UNKNOWN, NOT_RUN):
            return None
        name = {ACKED: "acknowledged", UNKNOWN: "unknown-outcome", NOT_RUN: "not-run"}
        shown = reply if not isinstance(reply, bytes) else reply[:40]
        return (
            f"{what} of {name.get(status, 'pending')} SET {key_for(self.worker, seq)} returned "
            f"{shown!r}, expected {'None' if status == NOT_RUN else expected[:40]!r}"
        )


# -- the fault schedule ----------------------------------------------------------------

FaultKind = Literal["kill", "pause", "pause_long", "reset", "blackhole", "blackhole_long"]
FAULT_KINDS: Final[tuple[FaultKind, ...]] = (
    "kill",
    "pause",
    "pause_long",
    "reset",
    "blackhole",
    "blackhole_long",
)
_FAULT_WEIGHTS: Final = (2, 2, 2, 3, 2, 1)


@dataclass(frozen=True)
class Fault:
    """One fault: at ``at`` seconds into the chaos phase, for ``hold`` seconds.

    ``kill``: SIGKILL, restart after ``hold``. ``pause``/``pause_long``:
    SIGSTOP for ``hold`` (shorter / longer than ``command_timeout``).
    ``reset``: ``reset_all()`` on the proxy. ``blackhole``/``blackhole_long``:
    held blackhole on the proxy for ``hold``.
    """

    at: float
    kind: FaultKind
    hold: float


def fault_schedule(
    seed: int, duration: float, command_timeout: float, kinds: Sequence[FaultKind]
) -> list[Fault]:
    """The faults for ``seed``: each of ``kinds`` once in a seeded order, then at random.

    A pure function of its arguments, so a seed replays the same faults.
    """
    rng = random.Random(f"aiopool-soak-chaos:{seed}")
    weights = [_FAULT_WEIGHTS[FAULT_KINDS.index(kind)] for kind in kinds]
    first = list(kinds)
    rng.shuffle(first)
    faults: list[Fault] = []
    at = rng.uniform(0.2, 0.6)
    while at < duration - 0.3:
        kind = first.pop(0) if first else rng.choices(kinds, weights)[0]
        if kind == "kill":
            hold = rng.uniform(0.0, 0.6)
        elif kind in ("pause", "blackhole"):
            hold = rng.uniform(0.2, 0.8) * command_timeout
        elif kind in ("pause_long", "blackhole_long"):
            hold = rng.uniform(1.3, 3.0) * command_timeout
        else:
            hold = 0.0
        faults.append(Fault(round(at, 3), kind, round(hold, 3)))
        at += hold + rng.uniform(0.2, 1.2)
    return faults


def fingerprint(faults: Sequence[Fault]) -> str:
    """A short hash of a schedule, printed so two runs can be seen to share one."""
    text = json.dumps([dataclasses.astuple(f) for f in faults])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


# -- configuration and report ----------------------------------------------------------


@dataclass(frozen=True)
class SoakConfig:
    """Everything a soak run depends on; the command line maps onto it one to one."""

    duration: float = 60.0
    seed: int = 0
    tasks: int = 50
    max_size: int = 8
    warmup: float = 2.0
    command_timeout: float = 0.5
    acquire_timeout: float = 1.0
    connect_timeout: float = 0.5
    health_check_interval: float = 1.0
    retry_safe_commands: int = 0
    cancel_rate: float = 0.05
    faults: tuple[FaultKind, ...] = FAULT_KINDS
    persistence: bool = True
    fd_slack: int = 2
    rss_limit_mb: float = 16.0


@dataclass
class Report:
    """What a run did and found; ``violations`` empty means every invariant held."""

    config: dict[str, Any]
    loop: str = ""
    schedule_fingerprint: str = ""
    schedule: list[dict[str, Any]] = field(default_factory=list)
    elapsed: float = 0.0
    load_seconds: float = 0.0
    ops: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    sets: dict[str, int] = field(default_factory=dict)
    incrs: dict[str, int] = field(default_factory=dict)
    pool: dict[str, Any] = field(default_factory=dict)
    connections: dict[str, int] = field(default_factory=dict)
    fds: dict[str, int] = field(default_factory=dict)
    rss_kib: dict[str, int] = field(default_factory=dict)
    logged: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    violation_count: int = 0
    violation_kinds: Counter[str] = field(default_factory=Counter)

    def violate(self, kind: str, message: str) -> None:
        """Record a violated invariant; ``kind`` groups them (a few of each are listed)."""
        self.violation_count += 1
        self.violation_kinds[kind] += 1
        if self.violation_kinds[kind] <= _LISTED_PER_KIND and len(self.violations) < _MAX_LISTED:
            self.violations.append(f"[{kind}] {message}")

    def to_json(self) -> dict[str, Any]:
        # Not dataclasses.asdict(): it rebuilds a Counter from (key, value) pairs.
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data = {k: dict(v) if isinstance(v, Counter) else v for k, v in data.items()}
        data["ok"] = self.violation_count == 0
        return data


# -- process resources -----------------------------------------------------------------


def open_fds() -> int:
    """How many file descriptors this process has open now."""
    directory = "/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd"
    return len(os.listdir(directory))


def rss_kib() -> int:
    """This process's resident set size in KiB (VmRSS; the peak where /proc is missing)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


# -- an admin connection outside the code under test ------------------------------------

_MORE: Final = object()


class Admin:
    """A plain asyncio connection with its own hiredis reader, straight to the server.

    The final checks read the server through this, not through aiopool, so
    they do not depend on the code under test.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._parser = hiredis.Reader(notEnoughData=_MORE)

    @classmethod
    async def open(cls, host: str, port: int) -> Admin:
        async with asyncio.timeout(5):
            reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def call(self, *args: str | int | bytes) -> Any:
        """One command, its reply; an error reply raises ``RuntimeError``."""
        out = [b"*%d\r\n" % len(args)]
        for arg in args:
            data = arg if isinstance(arg, bytes) else str(arg).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self._writer.write(b"".join(out))
        async with asyncio.timeout(10):
            reply = self._parser.gets()
            while reply is _MORE:
                data = await self._reader.read(1 << 18)
                if not data:
                    raise ConnectionError("the server closed the admin connection")
                self._parser.feed(data)
                reply = self._parser.gets()
        if isinstance(reply, hiredis.ReplyError):
            raise RuntimeError(f"admin command {args[:2]!r} failed: {reply}")
        return reply

    async def aclose(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()


@contextlib.asynccontextmanager
async def admin_connection(server: RedisServer) -> Any:
    admin = await Admin.open(server.host, server.port)
    try:
        yield admin
    finally:
        await admin.aclose()


async def wait_for_server(server: RedisServer, timeout: float = 30.0) -> None:
    """Poll until the server answers PING (not LOADING) on a fresh connection."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            async with admin_connection(server) as admin:
                if await admin.call("PING") == b"PONG":
                    return
        except (OSError, RuntimeError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{server!r} did not answer PING within {timeout}s")
        await asyncio.sleep(0.02)


# -- the load --------------------------------------------------------------------------

OPS: Final = ("set", "incr", "get", "mget", "pipeline", "read_pipeline", "transaction", "echo")
_OP_WEIGHTS: Final = (30, 22, 10, 8, 12, 5, 8, 5)


def classify(exc: Exception) -> tuple[Outcome, str] | None:
    """The outcome an allowed error stands for, and its label; None if it is not allowed."""
    if isinstance(exc, aiopool.OutcomeUnknown):  # ConnectionLost, CommandTimeout
        return "unknown", type(exc).__name__
    if isinstance(exc, aiopool.ConnectionFailure):  # ConnectError, or plain: not sent
        return "not_run", type(exc).__name__
    if isinstance(exc, aiopool.PoolTimeout | aiopool.WatchError):
        return "not_run", type(exc).__name__
    return None


class Worker:
    """One task of load: a private key space, a seeded choice of operations."""

    def __init__(self, index: int, client: aiopool.Client, config: SoakConfig, report: Report):
        self.index = index
        self.client = client
        self.config = config
        self.report = report
        self.ledger = Ledger(index)
        self.rng = random.Random(f"aiopool-soak-load:{config.seed}:{index}")
        self.echoes = 0

    async def run(self, stop_at: float) -> None:
        rng = self.rng
        while time.monotonic() < stop_at:
            op = rng.choices(OPS, _OP_WEIGHTS)[0]
            self.report.ops[op] += 1
            await getattr(self, f"op_{op}")()
            await asyncio.sleep(0)  # a worker whose ops all fail fast still yields

    # -- running one operation ------------------------------------------------------------

    async def attempt(
        self,
        what: str,
        make: Callable[[], Coroutine[Any, Any, Any]],
        check: Callable[[Any], str | None],
    ) -> Outcome:
        """Run ``make()``, perhaps cancelling it at a random moment; classify what happened."""
        rng = self.rng
        mode = None
        delay = 0.0
        if rng.random() < self.config.cancel_rate:
            mode = rng.choice(("deadline", "cancel"))
            delay = rng.choice((0.0, rng.uniform(0, 0.001), rng.uniform(0, 0.01)))
        try:
            if mode == "deadline":
                scope = asyncio.timeout(delay)
                try:
                    async with scope:
                        result = await make()
                except TimeoutError as exc:
                    if scope.expired() and not isinstance(exc, aiopool.RedisError):
                        self.report.errors["deadline (soak's asyncio.timeout)"] += 1
                        return self.done("unknown")
                    raise
            elif mode == "cancel":
                task = asyncio.get_running_loop().create_task(make())
                try:
                    await asyncio.sleep(delay)
                    task.cancel()  # no effect when it has finished already
                    await asyncio.wait([task])
                finally:
                    if not task.done():  # this worker itself is being cancelled
                        task.cancel()
                if task.cancelled():
                    self.report.errors["cancelled (soak's task.cancel)"] += 1
                    return self.done("unknown")
                result = task.result()
            else:
                result = await make()
        except Exception as exc:
            allowed = classify(exc)
            if allowed is None:
                self.report.errors[f"UNEXPECTED {type(exc).__name__}"] += 1
                self.report.violate("error type", f"{what}: unexpected {type(exc).__name__}: {exc}")
                return self.done("unknown")
            outcome, label = allowed
            self.report.errors[label] += 1
            return self.done(outcome)
        problem = check(result)
        if problem is not None:
            self.report.violate("reply", f"worker {self.index}: {problem}")
            return self.done("unknown")
        return self.done("acked")

    def done(self, outcome: Outcome) -> Outcome:
        self.report.outcomes[outcome] += 1
        return outcome

    def some_seqs(self, count: int) -> list[int]:
        known = len(self.ledger.sets)
        return [self.rng.randrange(known) for _ in range(min(count, known))]

    # -- the operations -------------------------------------------------------------------

    async def op_set(self) -> None:
        seq, key, value = self.ledger.new_set()
        outcome = await self.attempt(
            f"SET {key}",
            lambda: self.client.set(key, value),
            lambda reply: None if reply is True else f"SET {key} replied {reply!r}",
        )
        self.ledger.sets[seq] = STATUS[outcome]

    async def op_incr(self) -> None:
        ledger = self.ledger
        outcome = await self.attempt(
            f"INCR {ledger.counter}",
            lambda: self.client.incr(ledger.counter),
            lambda reply: ledger.incr_problem(reply, "INCR"),
        )
        ledger.count_incr(outcome)

    async def op_get(self) -> None:
        seqs = self.some_seqs(1)
        if not seqs:
            return await self.op_echo()
        seq = seqs[0]
        key = key_for(self.index, seq)
        await self.attempt(
            f"GET {key}",
            lambda: self.client.get(key),
            lambda reply: self.ledger.read_problem(seq, reply, "GET"),
        )
        return None

    async def op_mget(self) -> None:
        ledger = self.ledger
        seqs = self.some_seqs(self.rng.randint(1, 6))
        keys = [key_for(self.index, seq) for seq in seqs] + [ledger.counter]

        def check(replies: Any) -> str | None:
            if not isinstance(replies, list) or len(replies) != len(keys):
                return f"MGET of {len(keys)} keys replied {replies!r}"
            for seq, reply in zip(seqs, replies, strict=False):
                if (problem := ledger.read_problem(seq, reply, "MGET")) is not None:
                    return problem
            return ledger.counter_problem(replies[-1], "MGET")

        await self.attempt(f"MGET {keys[0]}...", lambda: self.client.mget(*keys), check)

    async def op_pipeline(self) -> None:
        ledger = self.ledger
        others = self.some_seqs(1)  # before new_set(): never the pipeline's own key
        other = [key_for(self.index, s) for s in others]
        seq, key, value = ledger.new_set()

        async def run() -> list[Any]:
            async with self.client.pipeline(transaction=False) as p:
                p.set(key, value).incr(ledger.counter).get(key).mget(key, *other)
                return await p.execute()

        def check(results: Any) -> str | None:
            ok, count, got, many = results
            if ok is not True or got != value:
                return f"pipeline SET/GET {key} gave {ok!r}, {got[:40] if got else got!r}"
            if (problem := ledger.incr_problem(count, "pipeline")) is not None:
                return problem
            if many[0] != value:
                return f"pipeline MGET {key} gave {many[0][:40]!r}"
            for s, reply in zip(others, many[1:], strict=True):
                if (problem := ledger.read_problem(s, reply, "pipeline MGET")) is not None:
                    return problem
            return None

        outcome = await self.attempt(f"pipeline with SET {key}", run, check)
        ledger.sets[seq] = STATUS[outcome]
        ledger.count_incr(outcome)

    async def op_read_pipeline(self) -> None:
        ledger = self.ledger
        seqs = self.some_seqs(3)
        if not seqs:
            return await self.op_echo()
        keys = [key_for(self.index, s) for s in seqs]

        async def run() -> list[Any]:
            async with self.client.pipeline(transaction=False) as p:
                p.get(keys[0]).mget(*keys).get(ledger.counter)
                return await p.execute()

        def check(results: Any) -> str | None:
            first, many, count = results
            problems = [ledger.read_problem(seqs[0], first, "pipeline GET")]
            problems += [
                ledger.read_problem(s, r, "pipeline MGET") for s, r in zip(seqs, many, strict=True)
            ]
            problems.append(ledger.counter_problem(count, "pipeline GET"))
            return next((p for p in problems if p is not None), None)

        await self.attempt(f"read pipeline {keys[0]}...", run, check)
        return None

    async def op_transaction(self) -> None:
        ledger = self.ledger
        seq, key, value = ledger.new_set()
        watched = self.rng.random() < 0.4
        read: list[Any] = []

        async def body(p: aiopool.Pipeline) -> None:
            current = await p.immediate.get(ledger.counter)
            read.append(current)
            if (problem := ledger.counter_problem(current, "watched GET")) is not None:
                self.report.violate("reply", f"worker {self.index}: {problem}")
            p.incr(ledger.counter).set(key, value)

        async def run() -> list[Any]:
            if watched:
                results: list[Any] = await self.client.transaction(body, ledger.counter)
                return results
            async with self.client.pipeline(transaction=True) as p:
                p.incr(ledger.counter).set(key, value).get(key)
                return await p.execute()

        def check(results: Any) -> str | None:
            count, ok = results[0], results[1]
            if ok is not True or (not watched and results[2] != value):
                return f"transaction SET {key} gave {results!r}"
            if watched and count != int(read[-1] or 0) + 1:
                return f"WATCHed INCR gave {count!r} after a read of {read[-1]!r}"
            return ledger.incr_problem(count, "transaction")

        what = f"{'watched ' if watched else ''}transaction with SET {key}"
        outcome = await self.attempt(what, run, check)
        ledger.sets[seq] = STATUS[outcome]
        ledger.count_incr(outcome)

    async def op_echo(self) -> None:
        self.echoes += 1
        token = f"echo:{self.index}:{self.echoes}:{self.rng.getrandbits(32)}"
        await self.attempt(
            "ECHO",
            lambda: self.client.echo(token),
            lambda reply: None if reply == token.encode() else f"ECHO {token} got {reply!r}",
        )


# -- chaos -----------------------------------------------------------------------------


async def run_to_completion(call: Callable[[], None]) -> None:
    """Run a blocking ``call`` (a server start) in a thread, finishing it even if cancelled.

    The event loop keeps serving the load meanwhile; a start abandoned
    half-way could leave a ``redis-server`` nobody stops.
    """
    future = asyncio.ensure_future(asyncio.to_thread(call))
    try:
        await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait([future])
        raise


async def heal(server: RedisServer, proxy: FaultProxy) -> None:
    """Undo every fault: proxy clear, server resumed, or restarted if it is down."""
    proxy.clear_faults()
    if server.is_running():
        server.resume()
    else:
        await run_to_completion(server.restart)


async def chaos(
    faults: Sequence[Fault],
    server: RedisServer,
    proxy: FaultProxy,
    started: float,
    stop_at: float,
    report: Report,
) -> None:
    """Apply ``faults`` on time until ``stop_at``; always leave everything healed."""
    try:
        for fault in faults:
            due = started + fault.at
            if due >= stop_at:
                break
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            kind = fault.kind
            report.faults[kind] += 1
            if kind == "kill":
                server.kill()
                await asyncio.sleep(fault.hold)
                await run_to_completion(server.restart)
                report.faults["restart"] += 1
            elif kind in ("pause", "pause_long"):
                server.pause()
                await asyncio.sleep(fault.hold)
                server.resume()
            elif kind == "reset":
                proxy.reset_all()
            else:
                proxy.blackhole()
                await asyncio.sleep(fault.hold)
                proxy.heal()
    finally:
        await heal(server, proxy)


async def sample(client: aiopool.Client, report: Report, stop: asyncio.Event) -> None:
    """Every 0.5 s: RSS and fds (for the peaks), and how busy the pool got."""
    peak_rss = peak_fds = peak_waiting = 0
    while not stop.is_set():
        peak_rss = max(peak_rss, rss_kib())
        peak_fds = max(peak_fds, open_fds())
        peak_waiting = max(peak_waiting, client.pool.stats().waiting)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.5):
                await stop.wait()
    report.rss_kib["peak"] = peak_rss
    report.fds["peak"] = peak_fds
    report.pool["peak_waiting"] = peak_waiting


# -- checks ----------------------------------------------------------------------------


async def fill_and_match(
    client: aiopool.Client,
    server: RedisServer,
    proxy: FaultProxy,
    name: str,
    report: Report,
    label: str,
) -> None:
    """Fill the pool to ``max_size`` and check that pool, server and proxy agree on it.

    Borrows every slot at once, asks each connection its ``CLIENT ID``, gives
    them back, then polls (at most 5 s) until ``CLIENT LIST`` on the server
    shows exactly those ids under the pool's client name and the proxy pipes
    exactly that many connections (a connection closed by the client is seen
    by the server a moment later).
    """
    pool = client.pool
    size = pool.options.max_size
    async with contextlib.AsyncExitStack() as stack:
        conns = [await stack.enter_async_context(pool.acquire()) for _ in range(size)]
        ids = {int(await conn.execute("CLIENT", "ID")) for conn in conns}
    deadline = time.monotonic() + 5.0
    while True:
        async with admin_connection(server) as admin:
            listing: bytes = await admin.call("CLIENT", "LIST")
        named = set()
        for line in listing.decode().splitlines():
            fields = dict(part.split("=", 1) for part in line.split(" ") if "=" in part)
            if fields.get("name") == name:
                named.add(int(fields["id"]))
        if named == ids and proxy.connections == size and pool.stats().size == size:
            break
        if time.monotonic() > deadline:
            report.violate(
                "connections",
                f"{label}: the pool holds connections {sorted(ids)}, but CLIENT LIST shows "
                f"{sorted(named)} named {name} and the proxy pipes {proxy.connections} "
                f"(pool size {pool.stats().size}, max_size {size})",
            )
            break
        await asyncio.sleep(0.01)
    report.connections[f"{label}_pool"] = len(ids)
    report.connections[f"{label}_server"] = len(named)
    report.connections[f"{label}_proxy"] = proxy.connections


def check_pool_at_rest(client: aiopool.Client, report: Report) -> None:
    stats = client.pool.stats()
    report.pool.update(dataclasses.asdict(stats))
    problems = []
    if stats.in_use or stats.waiting or stats.opening or stats.size != stats.idle:
        problems.append("not at rest")
    if stats.created - stats.closed != stats.size:
        problems.append(f"created - closed = {stats.created - stats.closed} != size")
    if problems:
        report.violate("pool", f"pool stats after the load: {', '.join(problems)}: {stats}")


async def check_own_replies(client: aiopool.Client, report: Report, callers: int = 100) -> None:
    """After the soak, many concurrent callers must each get exactly their own replies."""
    tag = uuid.uuid4().hex[:8]

    async def one(i: int) -> str | None:
        key, value = f"soak:after:{tag}:{i}", f"after-{tag}-{i}".encode()
        if await client.set(key, value) is not True:
            return f"SET {key} failed"
        got = await client.get(key)
        if got != value:
            return f"GET {key} returned {got!r}, expected {value!r}"
        echo = await client.echo(f"echo-{tag}-{i}")
        return None if echo == f"echo-{tag}-{i}".encode() else f"ECHO got {echo!r}"

    try:
        async with asyncio.timeout(10):
            problems = await asyncio.gather(*(one(i) for i in range(callers)))
    except (aiopool.RedisError, TimeoutError) as exc:
        report.violate("pool", f"after the soak the pool did not serve {callers} callers: {exc!r}")
        return
    for problem in problems:
        if problem is not None:
            report.violate("pool", f"after the soak: {problem}")


async def verify_ledgers(server: RedisServer, workers: Sequence[Worker], report: Report) -> None:
    """Read every key and counter straight from the server and hold them to the ledgers."""
    sets: Counter[str] = Counter()
    incr_totals = Counter[str]()
    async with admin_connection(server) as admin:
        for worker in workers:
            ledger = worker.ledger
            for start in range(0, len(ledger.sets), _MGET_BATCH):
                seqs = range(start, min(start + _MGET_BATCH, len(ledger.sets)))
                values = await admin.call("MGET", *(key_for(ledger.worker, s) for s in seqs))
                for seq, got in zip(seqs, values, strict=True):
                    status = ledger.sets[seq]
                    key = key_for(ledger.worker, seq)
                    expected = value_for(ledger.worker, seq)
                    if status == ACKED:
                        sets["acked"] += 1
                        if got != expected:
                            sets["acked_lost"] += 1
                            state = "missing" if got is None else f"wrong ({got[:40]!r})"
                            report.violate(
                                "lost write", f"acknowledged SET {key} is {state} after the soak"
                            )
                    elif status == NOT_RUN:
                        sets["not_run"] += 1
                        if got is not None:
                            sets["not_run_present"] += 1
                            report.violate(
                                "not-run write present",
                                f"SET {key} failed as not run, yet the key exists",
                            )
                    else:  # unknown, or pending if its worker was cut short
                        present = got is not None
                        sets["unknown_present" if present else "unknown_absent"] += 1
                        if present and got != expected:
                            sets["unknown_wrong"] += 1
                            report.violate(
                                "wrong value", f"SET {key} (outcome unknown) has a wrong value"
                            )
            final = int(await admin.call("GET", ledger.counter) or 0)
            low, high = ledger.acked_incr, ledger.acked_incr + ledger.unknown_incr
            incr_totals["acked"] += low
            incr_totals["unknown"] += ledger.unknown_incr
            incr_totals["final_sum"] += final
            incr_totals["counters_above_acked"] += final > low
            if not low <= final <= high:
                report.violate(
                    "counter",
                    f"counter {ledger.counter} is {final} after the soak, outside "
                    f"[A={low}, A+U={high}]"
                    + (" (U = 0, so it must be exactly A)" if low == high else ""),
                )
    report.sets = dict(sets)
    report.incrs = dict(incr_totals)


# -- the run ---------------------------------------------------------------------------


class _LogCounter(logging.Handler):
    """Counts aiopool's and asyncio's log records; aiopool errors are violations."""

    def __init__(self, report: Report) -> None:
        super().__init__(logging.WARNING)
        self.report = report

    def emit(self, record: logging.LogRecord) -> None:
        self.report.logged[f"{record.name} {record.levelname}"] += 1
        if record.name.startswith("aiopool") and record.levelno >= logging.ERROR:
            self.report.violate(
                "logged error", f"{record.name} logged an error: {record.getMessage()[:300]}"
            )


def loop_name() -> str:
    loop = asyncio.get_running_loop()
    if type(loop).__module__.startswith("uvloop"):
        return f"uvloop {importlib.metadata.version('uvloop')}"
    return "asyncio"


async def soak(config: SoakConfig) -> Report:
    """Run one soak as ``config`` says and return its report (never raises on a violation)."""
    report = Report(config=dataclasses.asdict(config))
    report.loop = loop_name()
    faults = fault_schedule(config.seed, config.duration, config.command_timeout, config.faults)
    report.schedule = [dataclasses.asdict(f) for f in faults]
    report.schedule_fingerprint = fingerprint(faults)
    random.seed(config.seed)  # the pool's backoff jitter

    loop = asyncio.get_running_loop()
    me = asyncio.current_task()

    def on_loop_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        report.violate("event loop", f"the event loop reported: {context.get('message')} {exc!r}")

    loop.set_exception_handler(on_loop_error)
    with contextlib.suppress(NotImplementedError, RuntimeError):
        if me is not None:
            loop.add_signal_handler(signal.SIGTERM, me.cancel)
    handler = _LogCounter(report)
    loggers = [logging.getLogger("aiopool"), logging.getLogger("asyncio")]
    for logger in loggers:
        logger.addHandler(handler)
    report.fds["start"] = open_fds()
    started = time.monotonic()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            try:
                await _run(config, faults, report)
            except (RedisServerUnavailable, asyncio.CancelledError):
                raise
            except Exception as exc:
                # A crash is a failed soak, with the report so far.
                traceback.print_exc()
                report.violate("crash", f"the soak crashed: {exc!r}")
            gc.collect()
        report.fds["after_teardown"] = open_fds()
        if report.fds["after_teardown"] - report.fds["start"] > config.fd_slack:
            report.violate(
                "fds",
                f"open fds after teardown: {report.fds['after_teardown']}, before the soak "
                f"{report.fds['start']} (slack {config.fd_slack})",
            )
        left = [t for t in asyncio.all_tasks() if t is not me]
        if left:
            report.violate("tasks", f"tasks left over after teardown: {left[:5]!r}")
        for warning in caught:
            if issubclass(warning.category, ResourceWarning):
                report.violate("resource warning", f"ResourceWarning: {warning.message}")
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGTERM)
        loop.set_exception_handler(None)
        report.elapsed = round(time.monotonic() - started, 3)
    return report


async def _run(config: SoakConfig, faults: Sequence[Fault], report: Report) -> None:
    aof = ["--appendonly", "yes", "--appendfsync", "always", "--auto-aof-rewrite-percentage", "0"]
    server = RedisServer(args=aof if config.persistence else [])
    # Blocks for the few milliseconds redis-server takes to answer PING; nothing
    # else runs on the loop yet.
    server.start()
    try:
        proxy = FaultProxy(server.host, server.port, connect_timeout=config.connect_timeout)
        await proxy.start()
        try:
            name = f"soak-{uuid.uuid4().hex[:10]}"
            client = aiopool.Client.from_url(
                proxy.url,
                max_size=config.max_size,
                command_timeout=config.command_timeout,
                acquire_timeout=config.acquire_timeout,
                connect_timeout=config.connect_timeout,
                health_check_interval=config.health_check_interval,
                retry_safe_commands=config.retry_safe_commands,
                client_name=name,
            )
            async with client:
                await _load(config, faults, server, proxy, client, name, report)
        finally:
            try:
                await proxy.aclose()
            except TimeoutError:
                report.violate("proxy", f"FaultProxy.aclose() timed out: {proxy!r}")
    finally:
        server.stop()


async def _load(
    config: SoakConfig,
    faults: Sequence[Fault],
    server: RedisServer,
    proxy: FaultProxy,
    client: aiopool.Client,
    name: str,
    report: Report,
) -> None:
    workers = [Worker(i, client, config, report) for i in range(config.tasks)]
    # A stuck worker is a hang: no operation may take longer than this.
    grace = 5.0 + 4 * (config.acquire_timeout + config.command_timeout)

    async def phase(seconds: float) -> None:
        stop_at = time.monotonic() + seconds
        tasks = [
            asyncio.create_task(w.run(stop_at), name=f"soak-worker-{w.index}") for w in workers
        ]
        _, pending = await asyncio.wait(tasks, timeout=seconds + grace)
        for task in pending:
            report.violate(
                "hang", f"{task.get_name()} was still running {grace:.0f}s after its deadline"
            )
            task.cancel()
        await asyncio.wait(tasks)
        for task in tasks:
            if not task.cancelled() and task.exception() is not None:
                exc = task.exception()
                report.violate("crash", f"{task.get_name()} crashed: {exc!r}")

    # Warm-up: fault-free load, then the baseline with the pool filled.
    await phase(config.warmup)
    await fill_and_match(client, server, proxy, name, report, "baseline")
    gc.collect()
    report.fds["baseline"] = open_fds()
    report.rss_kib["baseline"] = rss_kib()

    # Load under chaos.
    started = time.monotonic()
    stop_at = started + config.duration
    stop_sampling = asyncio.Event()
    sampler = asyncio.create_task(sample(client, report, stop_sampling))
    chaos_task = asyncio.create_task(chaos(faults, server, proxy, started, stop_at, report))
    try:
        await phase(config.duration)
        await chaos_task
    finally:
        stop_sampling.set()
        if not chaos_task.done():
            chaos_task.cancel()
        await asyncio.gather(chaos_task, sampler, return_exceptions=True)
    report.load_seconds = round(time.monotonic() - started, 3)

    # Healed: the server must hold exactly what the ledgers allow.
    await wait_for_server(server)
    await verify_ledgers(server, workers, report)
    check_pool_at_rest(client, report)
    await fill_and_match(client, server, proxy, name, report, "final")
    gc.collect()
    report.fds["final"] = open_fds()
    report.rss_kib["final"] = rss_kib()
    if abs(report.fds["final"] - report.fds["baseline"]) > config.fd_slack:
        report.violate(
            "fds",
            f"open fds with the pool full: {report.fds['final']} after the soak, "
            f"{report.fds['baseline']} at the baseline (slack {config.fd_slack})",
        )
    growth = report.rss_kib["final"] - report.rss_kib["baseline"]
    if growth > config.rss_limit_mb * 1024:
        report.violate(
            "rss",
            f"RSS grew by {growth / 1024:.1f} MiB during the soak "
            f"(limit {config.rss_limit_mb:g} MiB)",
        )
    await check_own_replies(client, report)
    check_pool_at_rest(client, report)


# -- output ----------------------------------------------------------------------------


def summary(report: Report) -> str:
    """The report as a table for people."""
    cfg = report.config
    ops = sum(report.ops.values())
    rate = ops / max(report.load_seconds + report.config["warmup"], 1e-9)
    out = report.outcomes
    faults = report.faults
    rows = [
        (
            "run",
            f"seed {cfg['seed']}, {cfg['duration']:g}s under chaos (+{cfg['warmup']:g}s warm-up), "
            f"{cfg['tasks']} tasks, max_size {cfg['max_size']}, {report.loop}"
            + ("" if cfg["persistence"] else ", NO persistence (self-test)"),
        ),
        (
            "faults",
            f"schedule {report.schedule_fingerprint} ({len(report.schedule)} planned): "
            f"{faults['kill']} kills, {faults['restart']} restarts, "
            f"{faults['pause']}+{faults['pause_long']} pauses (< / > command_timeout), "
            f"{faults['reset']} resets, "
            f"{faults['blackhole']}+{faults['blackhole_long']} blackholes (< / >)",
        ),
        ("operations", f"{ops} ({rate:.0f}/s): " + _counts(report.ops)),
        (
            "outcomes",
            f"acked {out['acked']}, unknown {out['unknown']}, not run {out['not_run']}",
        ),
        ("errors by type", _counts(report.errors) or "none"),
        (
            "SETs",
            f"acked {report.sets.get('acked', 0)} ({report.sets.get('acked_lost', 0)} lost or "
            f"wrong), unknown {report.sets.get('unknown_present', 0)} present + "
            f"{report.sets.get('unknown_absent', 0)} absent "
            f"({report.sets.get('unknown_wrong', 0)} wrong), not run "
            f"{report.sets.get('not_run', 0)} ({report.sets.get('not_run_present', 0)} present)",
        ),
        (
            "INCRs",
            f"acked A={report.incrs.get('acked', 0)}, unknown U={report.incrs.get('unknown', 0)}, "
            f"counters sum {report.incrs.get('final_sum', 0)}, "
            f"{report.incrs.get('counters_above_acked', 0)} counters above A",
        ),
        (
            "pool",
            ", ".join(
                f"{k} {report.pool[k]}"
                for k in (
                    "size",
                    "created",
                    "closed",
                    "acquired",
                    "timeouts",
                    "connect_errors",
                    "peak_waiting",
                )
                if k in report.pool
            ),
        ),
        (
            "connections",
            f"pool {report.connections.get('final_pool')} = server CLIENT LIST "
            f"{report.connections.get('final_server')} = proxy "
            f"{report.connections.get('final_proxy')} (baseline "
            f"{report.connections.get('baseline_pool')})",
        ),
        (
            "open fds",
            f"start {report.fds.get('start')}, baseline {report.fds.get('baseline')}, "
            f"peak {report.fds.get('peak')}, final {report.fds.get('final')}, "
            f"after teardown {report.fds.get('after_teardown')} (slack {cfg['fd_slack']})",
        ),
        (
            "RSS",
            f"baseline {_mib(report.rss_kib.get('baseline'))}, "
            f"peak {_mib(report.rss_kib.get('peak'))}, final {_mib(report.rss_kib.get('final'))} "
            f"(limit +{cfg['rss_limit_mb']:g} MiB)",
        ),
        ("logged", _counts(report.logged) or "nothing"),
    ]
    width = max(len(label) for label, _ in rows)
    lines = [f"{label.ljust(width)}  {text}" for label, text in rows]
    if report.violation_count:
        lines.append(
            f"{'result'.ljust(width)}  FAILED: {report.violation_count} violation(s): "
            + _counts(report.violation_kinds)
        )
        lines += [f"  - {v}" for v in report.violations]
        if report.violation_count > len(report.violations):
            lines.append(f"  ... and {report.violation_count - len(report.violations)} more")
    else:
        lines.append(f"{'result'.ljust(width)}  OK: every invariant held")
    return "\n".join(lines)


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counter.most_common())


def _mib(kib: int | None) -> str:
    return "?" if kib is None else f"{kib / 1024:.1f} MiB"


def parse_args(argv: Sequence[str] | None) -> tuple[SoakConfig, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        description="Soak aiopool: mixed load under seeded kills, pauses, resets, blackholes "
        "and cancellations; exit 1 if an invariant was violated.",
    )
    d = SoakConfig()
    parser.add_argument("--duration", type=float, default=d.duration, help="seconds under chaos")
    parser.add_argument("--seed", type=int, default=None, help="default: random (printed)")
    parser.add_argument("--tasks", type=int, default=d.tasks, help="concurrent workers")
    parser.add_argument("--max-size", type=int, default=d.max_size, help="pool max_size")
    parser.add_argument("--warmup", type=float, default=d.warmup, help="fault-free seconds first")
    parser.add_argument("--command-timeout", type=float, default=d.command_timeout)
    parser.add_argument("--acquire-timeout", type=float, default=d.acquire_timeout)
    parser.add_argument("--connect-timeout", type=float, default=d.connect_timeout)
    parser.add_argument("--health-check-interval", type=float, default=d.health_check_interval)
    parser.add_argument(
        "--retry-safe",
        type=int,
        default=d.retry_safe_commands,
        help="the pool's retry_safe_commands",
    )
    parser.add_argument(
        "--cancel-rate",
        type=float,
        default=d.cancel_rate,
        help="share of operations the soak cancels",
    )
    parser.add_argument(
        "--faults",
        default=",".join(d.faults),
        help=f"comma-separated fault kinds among {','.join(FAULT_KINDS)} (or 'none')",
    )
    parser.add_argument(
        "--no-persistence",
        action="store_true",
        help="run the server without AOF: kills lose acknowledged writes (the checks must fail)",
    )
    parser.add_argument("--fd-slack", type=int, default=d.fd_slack)
    parser.add_argument("--rss-limit-mb", type=float, default=d.rss_limit_mb)
    parser.add_argument("--json", metavar="PATH", help="also write the report as JSON here")
    parser.add_argument("--no-uvloop", action="store_true", help="use asyncio's own event loop")
    args = parser.parse_args(argv)
    kinds: list[FaultKind] = []
    for word in filter(None, args.faults.split(",")):
        if word == "none":
            continue
        if word not in FAULT_KINDS:
            parser.error(f"unknown fault kind {word!r}; choose among {', '.join(FAULT_KINDS)}")
        kinds.append(FAULT_KINDS[FAULT_KINDS.index(word)])
    if args.duration <= 0 or args.warmup < 0 or args.tasks < 1 or args.max_size < 1:
        parser.error("--duration must be > 0, --warmup >= 0, --tasks and --max-size >= 1")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 32)
    config = SoakConfig(
        duration=args.duration,
        seed=seed,
        tasks=args.tasks,
        max_size=args.max_size,
        warmup=args.warmup,
        command_timeout=args.command_timeout,
        acquire_timeout=args.acquire_timeout,
        connect_timeout=args.connect_timeout,
        health_check_interval=args.health_check_interval,
        retry_safe_commands=args.retry_safe,
        cancel_rate=args.cancel_rate,
        faults=tuple(kinds),
        persistence=not args.no_persistence,
        fd_slack=args.fd_slack,
        rss_limit_mb=args.rss_limit_mb,
    )
    return config, args


def run(main: Callable[[], Awaitable[Report]], use_uvloop: bool) -> Report:
    """Run ``main()`` on uvloop when it is installed and wanted, else on asyncio's loop."""

    async def wrapped() -> Report:
        return await main()

    if use_uvloop:
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.run(wrapped())
    return asyncio.run(wrapped())


def main(argv: Sequence[str] | None = None) -> int:
    config, args = parse_args(argv)
    print(
        f"soak: seed {config.seed}, {config.duration:g}s (+{config.warmup:g}s warm-up); "
        f"replay with --seed {config.seed}",
        flush=True,
    )
    try:
        report = run(lambda: soak(config), use_uvloop=not args.no_uvloop)
    except RedisServerUnavailable as exc:
        print(f"soak: cannot run: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("soak: interrupted; the server was stopped", file=sys.stderr)
        return 2
    print(summary(report))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(report.to_json(), fh, indent=2, sort_keys=True)
    return 1 if report.violation_count else 0


if __name__ == "__main__":
    raise SystemExit(main())
