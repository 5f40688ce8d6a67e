"""A throwaway Redis Cluster on loopback ports: formation, resharding and faults for tests.

The kit talks to the nodes over its own blocking sockets (hiredis parses the
replies), never through aiopool, so a test of aiopool's cluster client can
compare what the client does with what the kit reads from the servers. Hash
slots in particular come from the servers (``CLUSTER KEYSLOT``), not from a
CRC16 of the kit's own.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import hiredis

from ._server import (
    RedisServer,
    RedisServerUnavailable,
    ServerBinary,
    _ChoosesBinary,
    url_query,
)

__all__ = ["ClusterReplyError", "RedisCluster"]

SLOTS = 16384
"""The number of hash slots in a Redis Cluster."""

_MORE = object()
_POLL = 0.02
_COMMAND_TIMEOUT = 5.0
_MIGRATE_TIMEOUT_MS = 5000
# Flags that mean a node's view of a peer is not (or not yet) a healthy member.
_UNHEALTHY = frozenset({"fail", "fail?", "handshake", "noaddr"})

Arg = str | int | bytes


class ClusterReplyError(RuntimeError):
    """An error reply to a command the kit sent; ``str()`` is the server's message.

    For instance ``MOVED 12182 127.0.0.1:40002`` or ``ASK 12182 127.0.0.1:40003``.
    """


# -- one blocking connection ---------------------------------------------------------


class _Link:
    """One blocking socket to one node, with its own hiredis reader; use once, then close."""

    def __init__(self, port: int, timeout: float) -> None:
        self.port = port
        self._sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self._reader = hiredis.Reader(notEnoughData=_MORE, replyError=ClusterReplyError)

    def __repr__(self) -> str:
        return f"<_Link 127.0.0.1:{self.port}>"

    def pipeline(self, commands: Sequence[Sequence[Arg]]) -> list[Any]:
        """Send every command, read every reply; raise the first error reply after reading all."""
        self._sock.sendall(b"".join(_encode(command) for command in commands))
        replies: list[Any] = []
        while len(replies) < len(commands):
            reply = self._reader.gets()
            if reply is _MORE:
                data = self._sock.recv(65536)
                if not data:
                    raise ConnectionError(f"127.0.0.1:{self.port} closed the connection")
                self._reader.feed(data)
                continue
            replies.append(reply)
        for reply in replies:
            if isinstance(reply, ClusterReplyError):
                raise reply
        return replies

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> _Link:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _encode(command: Sequence[Arg]) -> bytes:
    return hiredis.pack_command(tuple(command))  # type: ignore[no-any-return, arg-type]


def _call(port: int, *args: Arg, timeout: float = _COMMAND_TIMEOUT) -> Any:
    with _Link(port, timeout) as link:
        return link.pipeline([args])[0]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _info(raw: Any) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in _text(raw).splitlines():
        name, sep, value = line.partition(":")
        if sep:
            fields[name] = value.strip()
    return fields


def _free_port_pair() -> tuple[int, int]:
    """Two distinct free loopback ports: the node's and its cluster bus's."""
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as a,
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as b,
    ):
        a.bind(("127.0.0.1", 0))
        b.bind(("127.0.0.1", 0))
        return int(a.getsockname()[1]), int(b.getsockname()[1])


# -- what one node sees ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Peer:
    """One line of ``CLUSTER NODES``."""

    node_id: str
    port: int
    flags: frozenset[str]
    master_id: str | None
    connected: bool
    slots: tuple[tuple[int, int], ...]

    @property
    def is_master(self) -> bool:
        return "master" in self.flags


def _parse_nodes(raw: Any) -> list[_Peer]:
    peers = []
    for line in _text(raw).splitlines():
        fields = line.split()
        if len(fields) < 8:
            continue
        address = fields[1].split(",", 1)[0].split("@", 1)[0]
        slots = []
        for item in fields[8:]:
            if item.startswith("["):
                continue  # a migrating/importing marker, not ownership
            first, _, last = item.partition("-")
            slots.append((int(first), int(last or first)))
        peers.append(
            _Peer(
                node_id=fields[0],
                port=int(address.rsplit(":", 1)[1]),
                flags=frozenset(fields[2].split(",")),
                master_id=None if fields[3] == "-" else fields[3],
                connected=fields[7] == "connected",
                slots=tuple(slots),
            )
        )
    return peers


@dataclass(frozen=True, slots=True)
class _View:
    """One live node's answer to CLUSTER INFO, CLUSTER NODES and INFO replication."""

    port: int
    state_ok: bool
    peers: tuple[_Peer, ...]
    replication: dict[str, str]
    listed: dict[str, frozenset[str]]  # CLUSTER SLOTS: owner id -> the replica ids it lists

    @property
    def myself(self) -> _Peer:
        for peer in self.peers:
            if "myself" in peer.flags:
                return peer
        raise AssertionError(f"127.0.0.1:{self.port} lists no 'myself' line")

    def slot_map(self) -> tuple[tuple[int, int, str], ...]:
        """Ranges ``(first, last, owner id)``, sorted, adjacent ranges of one owner merged."""
        ranges = sorted((a, b, p.node_id) for p in self.peers if p.is_master for a, b in p.slots)
        merged: list[tuple[int, int, str]] = []
        for first, last, owner in ranges:
            if merged and merged[-1][2] == owner and merged[-1][1] + 1 == first:
                merged[-1] = (merged[-1][0], last, owner)
            else:
                merged.append((first, last, owner))
        return tuple(merged)

    def owner(self, slot: int) -> _Peer | None:
        for peer in self.peers:
            if peer.is_master and any(a <= slot <= b for a, b in peer.slots):
                return peer
        return None


# -- the cluster -------------------------------------------------------------------------


class RedisCluster(_ChoosesBinary):
    """A Redis Cluster of ``redis-server`` processes on ``127.0.0.1``, for tests.

    ``start()`` launches ``masters * (1 + replicas_per_master)`` nodes (each a
    ``RedisServer`` with ``--cluster-enabled yes``, its ``nodes.conf`` in its
    own directory, and a free port for its cluster bus), joins them with
    ``CLUSTER MEET``, splits the 16384 slots evenly over the masters with
    ``CLUSTER ADDSLOTSRANGE``, attaches the replicas with ``CLUSTER
    REPLICATE``, and returns once the cluster is stable (see
    ``wait_stable()``), within ``startup_timeout`` seconds. ``stop()`` stops
    every node by its pid. Usable as a context manager.

    ``node_timeout_ms`` is ``cluster-node-timeout``: a killed master's
    replica takes over 1 to 2 s after that timeout (the failure report has
    to reach the other masters, then the replica waits 0.5 to 1 s before
    its election); about 2.1 to 2.8 s with the default 1000 ms. ``args`` are extra
    ``redis-server`` arguments for every node; they come after the kit's own
    (``--cluster-replica-validity-factor 0``, ``--cluster-allow-replica-migration
    no``, ``--repl-diskless-sync-delay 0``), so they can override them. The
    shape is kept in ``masters_count``, ``replicas_per_master`` and
    ``node_timeout_ms``. Nodes have no password.

    Roles are read from the live cluster, so they follow failovers. Replicas
    keep ``replica-read-only yes``: a connection that sends ``READONLY`` may
    read from them.

    Every method opens its own short-lived connections and the kit's shared
    state is guarded by a lock, so async tests may call any method through
    ``asyncio.to_thread`` while the event loop runs load. Do not run two
    faults on the same node at once. A node that does not answer (paused)
    makes a method that needs it time out after a few seconds.

    ``binary`` picks the server executable for every node, as for
    ``RedisServer``; ``server_binary``, ``binary`` and ``version`` say which.
    """

    def __init__(
        self,
        *,
        masters: int = 3,
        replicas_per_master: int = 1,
        node_timeout_ms: int = 1000,
        args: Sequence[str] = (),
        startup_timeout: float = 30.0,
        binary: str | None = None,
    ) -> None:
        if masters < 1:
            raise ValueError(f"masters must be at least 1, not {masters}")
        if replicas_per_master < 0:
            raise ValueError(f"replicas_per_master must be 0 or more, not {replicas_per_master}")
        if node_timeout_ms < 100:
            raise ValueError(f"node_timeout_ms must be at least 100, not {node_timeout_ms}")
        self.masters_count = masters
        self.replicas_per_master = replicas_per_master
        self.node_timeout_ms = node_timeout_ms
        self._args = list(args)
        self._startup_timeout = startup_timeout
        self._binary = binary
        self._located: ServerBinary | None = None
        self._nodes: list[RedisServer] = []
        self._ids: dict[int, str] = {}  # port -> node id; stable across restarts (nodes.conf)
        self._bus_ports: dict[int, int] = {}  # port -> cluster bus port
        self._lock = threading.Lock()
        self._finish_lock = threading.Lock()
        self._roles: dict[int, str] = {}  # port -> last role seen, for __repr__ only
        self._killed_at: dict[int, float] = {}
        self._migrations: dict[int, tuple[RedisServer, RedisServer]] = {}

    def __repr__(self) -> str:
        if not self._nodes:
            return (
                f"<RedisCluster masters={self.masters_count} "
                f"replicas_per_master={self.replicas_per_master} stopped>"
            )
        with self._lock:
            roles = dict(self._roles)
        parts = []
        for node in self._nodes:
            role = roles.get(node.port, "?")
            parts.append(f"{node.port} {role}" if node.is_running() else f"{node.port} dead")
        return f"<RedisCluster 127.0.0.1 [{', '.join(parts)}]>"

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> RedisCluster:
        """Start every node, form the cluster and wait until it is stable.

        Raises ``RedisServerUnavailable`` when no server executable is found, a
        node does not start, or the cluster is not stable within
        ``startup_timeout``; every node started so far is stopped first.
        """
        binary = self.binary  # RedisServerUnavailable before any node starts
        if self._nodes:
            raise RuntimeError("this RedisCluster is already started")
        deadline = time.monotonic() + self._startup_timeout
        total = self.masters_count * (1 + self.replicas_per_master)
        try:
            for _ in range(total):
                self._nodes.append(self._spawn(binary))
            self._form(deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, binary: str) -> RedisServer:
        error: RedisServerUnavailable | None = None
        for _ in range(5):
            port, bus_port = _free_port_pair()
            options = {
                "cluster-enabled": "yes",
                "cluster-config-file": "nodes.conf",  # relative to the node's own --dir
                "cluster-port": str(bus_port),
                "cluster-node-timeout": str(self.node_timeout_ms),
                # A replica that was away for a while may still be promoted: tests kill
                # and restart nodes in quick succession.
                "cluster-replica-validity-factor": "0",
                # Keep the topology the kit built; never move replicas to other masters.
                "cluster-allow-replica-migration": "no",
                # The default waits 5 s before a full sync, to batch replicas.
                "repl-diskless-sync-delay": "0",
                # Do not wait for lagging replicas on SIGTERM.
                "shutdown-on-sigterm": "now",
            }
            args = [word for name, value in options.items() for word in (f"--{name}", value)]
            node = RedisServer(
                port=port,
                args=[*args, *self._args],
                startup_timeout=self._startup_timeout,
                binary=binary,
            )
            try:
                node.start()
            except RedisServerUnavailable as exc:
                node.stop()  # removes its directory
                error = exc  # most likely a port taken between probe and bind; try others
                continue
            self._bus_ports[port] = bus_port
            return node
        assert error is not None
        raise error

    def _form(self, deadline: float) -> None:
        nodes = self._nodes
        for node in nodes:
            self._ids[node.port] = _text(_call(node.port, "CLUSTER", "MYID"))
        # Distinct epochs before the nodes meet, so no epoch collision has to be resolved.
        for epoch, node in enumerate(nodes, start=1):
            _call(node.port, "CLUSTER", "SET-CONFIG-EPOCH", epoch)
        masters = nodes[: self.masters_count]
        for index, master in enumerate(masters):
            first = index * SLOTS // len(masters)
            last = (index + 1) * SLOTS // len(masters) - 1
            _call(master.port, "CLUSTER", "ADDSLOTSRANGE", first, last)
        for node in nodes[1:]:
            bus_port = self._bus_ports[node.port]
            _call(nodes[0].port, "CLUSTER", "MEET", "127.0.0.1", node.port, bus_port)
        self._poll(deadline, self._problems_meeting, "the nodes to meet", RedisServerUnavailable)
        replicas = nodes[self.masters_count :]
        for index, replica in enumerate(replicas):
            master = masters[index // self.replicas_per_master]
            _call(replica.port, "CLUSTER", "REPLICATE", self._ids[master.port])
        self._poll(deadline, self._problems_links, "the replicas to sync", RedisServerUnavailable)
        # A replicated write gives every replica a non-zero offset, without which Redis 7
        # leaves it out of CLUSTER SLOTS.
        self.flushall()
        self._poll(
            deadline, self._problems_stable, "the cluster to be stable", RedisServerUnavailable
        )

    def stop(self) -> None:
        """Stop every node by its pid and remove their directories; safe to call twice."""
        for node in self._nodes:
            # Signal all first: each node acts on SIGTERM at its next cron tick (~100 ms),
            # so waiting for one at a time would add those up.
            if node.process is not None and node.process.poll() is None:
                node.resume()
                node.process.terminate()
        for node in self._nodes:
            node.stop()
        self._nodes = []
        with self._lock:
            self._roles.clear()
            self._killed_at.clear()
            self._migrations.clear()
        self._ids.clear()
        self._bus_ports.clear()

    def __enter__(self) -> RedisCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- introspection ------------------------------------------------------------------

    @property
    def nodes(self) -> list[RedisServer]:
        """Every node, masters as formed first, then replicas; dead ones included."""
        return list(self._nodes)

    @property
    def urls(self) -> list[str]:
        """``redis://127.0.0.1:<port>`` of every node, in ``nodes`` order (plus ``url_query()``)."""
        return [f"redis://127.0.0.1:{node.port}{url_query()}" for node in self._nodes]

    @property
    def startup_url(self) -> str:
        """``redis://127.0.0.1:<port>`` of the first running master, plus ``url_query()``."""
        masters = self.masters()
        if not masters:
            raise LookupError("no running master answers")
        return f"redis://127.0.0.1:{masters[0].port}{url_query()}"

    def node_id(self, node: RedisServer) -> str:
        """The node's cluster id (kept across ``restart()``)."""
        return self._ids[self._known(node).port]

    def masters(self) -> list[RedisServer]:
        """The running nodes that say they are masters now (``ROLE``), in ``nodes`` order.

        A node that does not answer within a few seconds is left out.
        """
        return [node for node, role in self._roles_now() if role == "master"]

    def replicas(self) -> list[RedisServer]:
        """The running nodes that say they are replicas now (``ROLE``), in ``nodes`` order."""
        return [node for node, role in self._roles_now() if role != "master"]

    def replica_of(self, master: RedisServer) -> RedisServer:
        """The first running node that says it replicates ``master`` now.

        Raises ``LookupError`` when none does.
        """
        self._known(master)
        wanted = f"replica of {master.port}"
        for node, role in self._roles_now():
            if role == wanted:
                return node
        raise LookupError(f"no running replica of 127.0.0.1:{master.port}")

    def owner_of(self, slot: int) -> RedisServer:
        """The master serving ``slot``, as the first running node that answers sees it."""
        _check_slot(slot)
        view = self._first_view()
        owner = view.owner(slot)
        if owner is None:
            raise LookupError(f"slot {slot} is not assigned (as 127.0.0.1:{view.port} sees it)")
        return self._by_port(owner.port)

    def slot_of(self, key: bytes | str) -> int:
        """The hash slot of ``key``, from ``CLUSTER KEYSLOT`` on a running node."""
        return int(self._execute_anywhere("CLUSTER", "KEYSLOT", key))

    def execute(
        self, node: RedisServer, *args: Arg, readonly: bool = False, asking: bool = False
    ) -> Any:
        """Send one command to ``node`` on a new connection and return its raw reply.

        ``readonly=True`` sends ``READONLY`` first (reads from a replica),
        ``asking=True`` sends ``ASKING`` first (the slot is being imported).
        An error reply raises ``ClusterReplyError`` (``MOVED``/``ASK`` included);
        a node that is down raises ``ConnectionRefusedError``, one that does
        not answer within 5 s (paused) ``TimeoutError``.
        """
        commands: list[Sequence[Arg]] = []
        if readonly:
            commands.append(("READONLY",))
        if asking:
            commands.append(("ASKING",))
        commands.append(args)
        with _Link(self._known(node).port, _COMMAND_TIMEOUT) as link:
            return link.pipeline(commands)[-1]

    def flushall(self) -> None:
        """``FLUSHALL`` on every running master, then ``WAIT`` until its replicas applied it."""
        for master in self.masters():
            with _Link(master.port, _COMMAND_TIMEOUT) as link:
                replicas = _info(link.pipeline([("INFO", "replication")])[0])
                count = int(replicas.get("connected_slaves", "0"))
                link.pipeline([("FLUSHALL",), ("WAIT", count, 5000)])

    # -- resharding ----------------------------------------------------------------------

    @property
    def migrations(self) -> dict[int, tuple[RedisServer, RedisServer]]:
        """Slot migrations begun and not finished: ``{slot: (source, target)}``."""
        with self._lock:
            return dict(self._migrations)

    def begin_migration(self, slot: int, target: RedisServer) -> None:
        """Mark ``slot`` IMPORTING on ``target`` and MIGRATING on its current owner.

        From then on the owner answers ``ASK`` for keys of the slot it no
        longer holds. Raises ``ValueError`` when ``target`` already owns the
        slot or a migration of it is under way.
        """
        _check_slot(slot)
        self._known(target)
        source = self.owner_of(slot)
        if source is target:
            raise ValueError(f"127.0.0.1:{target.port} already owns slot {slot}")
        with self._lock:
            if slot in self._migrations:
                raise ValueError(f"slot {slot} is already being migrated")
            self._migrations[slot] = (source, target)
        try:
            _call(target.port, "CLUSTER", "SETSLOT", slot, "IMPORTING", self._ids[source.port])
            _call(source.port, "CLUSTER", "SETSLOT", slot, "MIGRATING", self._ids[target.port])
        except BaseException:
            with self._lock:
                del self._migrations[slot]
            raise

    def migrate_keys(self, slot: int, count: int) -> int:
        """Move up to ``count`` keys of ``slot`` from source to target (``MIGRATE ... KEYS``).

        Returns how many keys were sent (0 once the source holds none).
        Raises ``ValueError`` when no migration of ``slot`` was begun.
        """
        if count < 1:
            raise ValueError(f"count must be at least 1, not {count}")
        source, target = self._migration(slot)
        keys = _call(source.port, "CLUSTER", "GETKEYSINSLOT", slot, count)
        if not keys:
            return 0
        reply = _call(
            source.port,
            "MIGRATE", "127.0.0.1", target.port, "", 0, _MIGRATE_TIMEOUT_MS, "KEYS", *keys,
            timeout=_COMMAND_TIMEOUT + _MIGRATE_TIMEOUT_MS / 1000,
        )  # fmt: skip
        return 0 if reply == b"NOKEY" else len(keys)

    def finish_migration(self, slot: int, *, timeout: float = 10.0) -> int:
        """Move the keys left, then ``SETSLOT NODE`` the target on every running master.

        Afterwards the old owner answers ``MOVED`` for the slot. Waits until
        every running node (replicas too) sees the target as owner; raises
        ``TimeoutError`` after ``timeout`` seconds. Returns how many keys it
        moved itself. Concurrent calls (from threads) take turns for the
        ``SETSLOT`` part, which Redis does not make safe to interleave.
        """
        source, target = self._migration(slot)
        moved = 0
        for _ in range(1_000_000):
            batch = self.migrate_keys(slot, 1000)
            if not batch:
                break
            moved += batch
        target_id = self._ids[target.port]

        def problems() -> list[str]:
            found = []
            for view in self._views():
                owner = view.owner(slot)
                if owner is None or owner.node_id != target_id:
                    seen = owner.port if owner else None
                    found.append(f"127.0.0.1:{view.port} sees slot {slot} on {seen}")
            return found

        # One finish at a time, each until every node agrees: SETSLOT NODE on an importing
        # master bumps its config epoch, and when two finishes interleave, a master can
        # bump its epoch while it still claims the other slot, so its stale claim
        # outranks the new owner's everywhere and the slot moves back.
        with self._finish_lock:
            # Target first, then source, so no moment has both refusing the slot.
            others = [m for m in self.masters() if m is not target and m is not source]
            for master in [target, source, *others]:
                _call(master.port, "CLUSTER", "SETSLOT", slot, "NODE", target_id)
            with self._lock:
                self._migrations.pop(slot, None)
            self._poll(time.monotonic() + timeout, problems, f"slot {slot} to move", TimeoutError)
        return moved

    def move_slot(self, slot: int, target: RedisServer, *, timeout: float = 10.0) -> int:
        """``begin_migration``, ``migrate_keys`` until none are left, ``finish_migration``.

        Returns how many keys moved; a slot ``target`` already owns moves
        nothing and returns 0.
        """
        if self.owner_of(slot) is self._known(target):
            return 0
        self.begin_migration(slot, target)
        return self.finish_migration(slot, timeout=timeout)

    # -- faults -------------------------------------------------------------------------

    def kill(self, node: RedisServer) -> None:
        """SIGKILL ``node``; ``wait_for_failover`` then measures from this moment."""
        self._known(node)
        with self._lock:
            self._killed_at[node.port] = time.monotonic()
        node.kill()

    def restart(self, node: RedisServer, *, wait: bool = True, timeout: float = 30.0) -> None:
        """Restart ``node`` (after SIGKILL when running) on its port, with its directory.

        It reads its ``nodes.conf`` and rejoins with the same id; its dataset
        starts empty (nothing is persisted), and a replica resyncs. A master
        whose replica was promoted meanwhile comes back as that replica's
        replica. With ``wait`` it returns once ``wait_stable(timeout)`` does.
        """
        self._known(node)
        node.restart()
        with self._lock:
            self._killed_at.pop(node.port, None)
        if wait:
            self.wait_stable(timeout)

    def failover(self, replica: RedisServer, *, timeout: float = 15.0) -> float:
        """``CLUSTER FAILOVER`` on ``replica``; wait until every node sees it as master.

        Its old master, which must be running (otherwise ``kill()`` it and
        ``wait_for_failover()``), becomes its replica. Returns the seconds it took;
        raises ``ValueError`` when ``replica`` is not a replica and
        ``TimeoutError`` when the cluster is not stable within ``timeout``.
        """
        self._known(replica)
        started = time.monotonic()
        role = _call(replica.port, "ROLE")
        if _text(role[0]) != "slave":
            raise ValueError(f"127.0.0.1:{replica.port} is not a replica")
        _call(replica.port, "CLUSTER", "FAILOVER")

        def problems() -> list[str]:
            if _text(_call(replica.port, "ROLE")[0]) != "master":
                return [f"127.0.0.1:{replica.port} is not master yet"]
            return self._problems_stable()

        self._poll(started + timeout, problems, "the failover", TimeoutError)
        return time.monotonic() - started

    def wait_for_failover(self, dead_master: RedisServer, timeout: float = 15.0) -> float:
        """Wait until a replica took over every slot of the killed ``dead_master``.

        Done when every running node reports ``cluster_state:ok`` and they
        all agree on a slot map that covers every slot with running masters.
        Returns the seconds since ``kill(dead_master)`` (since this call when
        it was killed otherwise). Replicas may still be resyncing: call
        ``wait_stable()`` for that. Raises ``ValueError`` when
        ``dead_master`` is running and ``TimeoutError`` after ``timeout``.
        """
        self._known(dead_master)
        if dead_master.is_running():
            raise ValueError(f"127.0.0.1:{dead_master.port} is running; kill it first")
        started = time.monotonic()
        with self._lock:
            since = self._killed_at.get(dead_master.port, started)
        self._poll(started + timeout, self._problems_slots, "the failover", TimeoutError)
        return time.monotonic() - since

    def heal(self, timeout: float = 30.0) -> None:
        """Restart every node that is down, then ``wait_stable``: a clean start for the next test.

        For a cluster shared by tests that kill nodes: a failed test may have
        left one down. Raises ``TimeoutError`` as ``wait_stable`` does.
        """
        for node in self.nodes:
            if not node.is_running():
                self.restart(node, wait=False)
        self.wait_stable(timeout)

    def wait_stable(self, timeout: float = 20.0) -> float:
        """Wait until the running nodes form a healthy cluster; return the seconds it took.

        Healthy: every running node answers and reports ``cluster_state:ok``;
        every one knows every other running node as connected and not
        failing; they all agree on the slot map, which covers every slot with
        running masters, and on who replicates whom; every running replica
        has ``master_link_status:up`` and no sync in progress. Raises
        ``TimeoutError`` naming what was still wrong after ``timeout``.
        """
        started = time.monotonic()
        self._poll(started + timeout, self._problems_stable, "a stable cluster", TimeoutError)
        return time.monotonic() - started

    # -- internals -------------------------------------------------------------------------

    def _known(self, node: RedisServer) -> RedisServer:
        if not any(node is n for n in self._nodes):
            raise ValueError(f"{node!r} is not a node of this cluster")
        return node

    def _by_port(self, port: int) -> RedisServer:
        for node in self._nodes:
            if node.port == port:
                return node
        raise LookupError(f"no node of this cluster listens on 127.0.0.1:{port}")

    def _migration(self, slot: int) -> tuple[RedisServer, RedisServer]:
        with self._lock:
            migration = self._migrations.get(slot)
        if migration is None:
            raise ValueError(f"no migration of slot {slot} was begun")
        return migration

    def _running(self) -> list[RedisServer]:
        return [node for node in self._nodes if node.is_running()]

    def _execute_anywhere(self, *args: Arg) -> Any:
        error: Exception = LookupError("no node of this cluster is running")
        for node in self._running():
            try:
                return _call(node.port, *args)
            except OSError as exc:
                error = exc
        raise error

    def _roles_now(self) -> list[tuple[RedisServer, str]]:
        roles = []
        for node in self._running():
            try:
                reply = _call(node.port, "ROLE", timeout=2.0)
            except OSError:
                continue
            if _text(reply[0]) == "master":
                roles.append((node, "master"))
            else:
                roles.append((node, f"replica of {int(reply[2])}"))
        with self._lock:
            self._roles.update((node.port, role) for node, role in roles)
        return roles

    def _view(self, node: RedisServer) -> _View:
        with _Link(node.port, 2.0) as link:
            info, nodes, replication, slots = link.pipeline(
                [
                    ("CLUSTER", "INFO"),
                    ("CLUSTER", "NODES"),
                    ("INFO", "replication"),
                    ("CLUSTER", "SLOTS"),
                ]
            )
        listed: dict[str, frozenset[str]] = {}
        for _, _, owner, *replicas in slots:
            listed[_text(owner[2])] = frozenset(_text(replica[2]) for replica in replicas)
        return _View(
            port=node.port,
            state_ok=_info(info).get("cluster_state") == "ok",
            peers=tuple(_parse_nodes(nodes)),
            replication=_info(replication),
            listed=listed,
        )

    def _views(self) -> list[_View]:
        return [self._view(node) for node in self._running()]

    def _first_view(self) -> _View:
        error: Exception = LookupError("no node of this cluster is running")
        for node in self._running():
            try:
                return self._view(node)
            except OSError as exc:
                error = exc
        raise error

    def _poll(
        self,
        deadline: float,
        problems: Callable[[], list[str]],
        what: str,
        error: type[Exception],
    ) -> None:
        """Call ``problems`` until it returns none, or raise ``error`` listing the last ones."""
        found: list[str] = []
        for _ in range(1_000_000):
            try:
                found = problems()
            except (OSError, ClusterReplyError) as exc:
                found = [f"{type(exc).__name__}: {exc}"]
            if not found:
                return
            if time.monotonic() >= deadline:
                break
            time.sleep(_POLL)
        raise error(f"timed out waiting for {what}: " + "; ".join(found[:8]))

    def _problems_meeting(self) -> list[str]:
        found = []
        want = {self._ids[node.port] for node in self._nodes}
        for view in self._views():
            healthy = {p.node_id for p in view.peers if not p.flags & _UNHEALTHY}
            if missing := want - healthy:
                found.append(f"127.0.0.1:{view.port} does not know {len(missing)} nodes yet")
        return found

    def _problems_links(self) -> list[str]:
        found = []
        for node in self._running():
            repl = _info(_call(node.port, "INFO", "replication", timeout=2.0))
            if repl.get("role") == "slave" and (
                repl.get("master_link_status") != "up" or repl.get("master_sync_in_progress") != "0"
            ):
                found.append(f"127.0.0.1:{node.port} is not in sync with its master")
        return found

    def _problems_slots(self, views: list[_View] | None = None) -> list[str]:
        views = self._views() if views is None else views
        found = [f"127.0.0.1:{v.port} reports cluster_state:fail" for v in views if not v.state_ok]
        running = {self._ids[node.port] for node in self._running()}
        maps = {view.port: view.slot_map() for view in views}
        for port, ranges in maps.items():
            covered = sum(last - first + 1 for first, last, _ in ranges)
            if covered != SLOTS:
                found.append(f"127.0.0.1:{port} sees {covered} of {SLOTS} slots assigned")
            if any(owner not in running for _, _, owner in ranges):
                found.append(f"127.0.0.1:{port} sees slots on a node that is not running")
        if len(set(maps.values())) > 1:
            found.append("the nodes disagree on the slot map")
        return found

    def _problems_stable(self) -> list[str]:
        views = self._views()
        found = self._problems_slots(views)
        running = {self._ids[node.port] for node in self._running()}
        port_of = {node_id: port for port, node_id in self._ids.items()}
        roles: dict[str, str] = {}
        for view in views:
            me = view.myself
            roles[me.node_id] = "master" if me.is_master else f"replica of {me.master_id}"
        for view in views:
            for peer in view.peers:
                if peer.node_id not in running or "myself" in peer.flags:
                    continue
                if peer.flags & _UNHEALTHY or not peer.connected:
                    flags = ",".join(sorted(peer.flags))
                    found.append(f"127.0.0.1:{view.port} sees {peer.port} as {flags}")
                seen = "master" if peer.is_master else f"replica of {peer.master_id}"
                if roles.get(peer.node_id) != seen:
                    found.append(f"127.0.0.1:{view.port} sees {peer.port} as {seen}")
            known = {p.node_id for p in view.peers}
            if missing := running - known:
                found.append(f"127.0.0.1:{view.port} does not know {len(missing)} running nodes")
            if not view.myself.is_master:
                master_id = view.myself.master_id
                if master_id not in running:
                    found.append(f"127.0.0.1:{view.port} replicates a node that is not running")
                repl = view.replication
                if (
                    repl.get("master_link_status") != "up"
                    or repl.get("master_sync_in_progress") != "0"
                ):
                    found.append(f"127.0.0.1:{view.port} is not in sync with its master")
        for view in views:
            # Redis 7 leaves a replica out of CLUSTER SLOTS until it has a replication
            # offset, so a client discovering replicas would not see it yet.
            for owner_id, listed in view.listed.items():
                attached = {n for n, role in roles.items() if role == f"replica of {owner_id}"}
                if listed != attached:
                    found.append(
                        f"127.0.0.1:{view.port} lists {len(listed)} of {len(attached)} replicas "
                        f"of {port_of.get(owner_id)} in CLUSTER SLOTS"
                    )
        if not found:
            with self._lock:
                for node_id, role in roles.items():
                    if role != "master":
                        role = f"replica of {port_of.get(role.rsplit(' ', 1)[1], '?')}"
                    self._roles[port_of[node_id]] = role
        return found


def _check_slot(slot: int) -> None:
    if not 0 <= slot < SLOTS:
        raise ValueError(f"slot must be in 0..{SLOTS - 1}, not {slot}")
