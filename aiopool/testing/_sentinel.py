"""A throwaway primary, its replicas and the Sentinels watching them, on loopback ports.

The kit talks to the servers over its own blocking sockets (``_cluster._call``),
never through aiopool, so a test of aiopool's Sentinel support can compare
what the client does with what the servers and sentinels say.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from ._cluster import _call, _info, _text
from ._server import (
    RedisServer,
    RedisServerUnavailable,
    ServerBinary,
    _ChoosesBinary,
    url_query,
)

__all__ = ["RedisSentinel"]

_POLL = 0.02


class _SentinelProcess(RedisServer):
    """A ``redis-server --sentinel`` with its own config file (sentinels rewrite theirs)."""

    def __init__(self, lines: Sequence[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lines = lines

    def __repr__(self) -> str:
        state = "running" if self.is_running() else "stopped"
        pid = self.process.pid if self.process else None
        return f"<sentinel 127.0.0.1:{self.port} pid={pid} {state}>"

    def _launch(self, binary: str, port: int) -> None:
        assert self._dir is not None
        directory = self._dir.name
        config = os.path.join(directory, "sentinel.conf")
        if not os.path.exists(config) or port != self.port:
            with open(config, "w", encoding="utf-8") as fh:
                fh.write(
                    "\n".join(
                        [
                            f"port {port}",
                            "bind 127.0.0.1",
                            f"dir {directory}",
                            f"logfile {os.path.join(directory, 'redis.log')}",
                            *self._lines,
                        ]
                    )
                    + "\n"
                )
        self.process = subprocess.Popen(
            [binary, config, "--sentinel"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + self._startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            if self._answers(port):
                return
            time.sleep(0.01)
        self._reap()
        raise RedisServerUnavailable(f"sentinel on 127.0.0.1:{port} did not start")


class RedisSentinel(_ChoosesBinary):
    """A primary, ``replicas`` replicas and ``sentinels`` Sentinels on ``127.0.0.1``.

    ``start()`` launches them, waits until every sentinel knows the primary,
    every replica and every other sentinel, and returns; ``stop()`` terminates
    every process by its pid. ``servers`` are the data servers (``servers[0]``
    started as the primary), ``sentinel_servers`` the sentinels; ``primary``
    and ``replicas`` ask the sentinels who is what now. ``kill()``,
    ``restart()``, ``pause()`` and ``resume()`` take any member. ``failover()``
    asks a sentinel for a graceful ``SENTINEL FAILOVER``;
    ``wait_for_failover(old)`` waits until every running sentinel names a new
    primary, that server says ``ROLE`` master and every running replica
    follows it. ``url`` is the ``redis+sentinel://`` URL of the service.

    ``down_after_ms`` and ``failover_timeout_ms`` are the sentinels'
    ``down-after-milliseconds`` and ``failover-timeout``: small, so a
    failover after a ``kill()`` takes a couple of seconds. ``password`` sets
    ``requirepass``/``masterauth`` on the data servers, ``sentinel_password``
    ``requirepass`` on the sentinels. Usable as a context manager, sync or async
    (``async with`` starts and stops in a thread, leaving the loop free).
    """

    def __init__(
        self,
        replicas: int = 2,
        sentinels: int = 3,
        *,
        service_name: str = "mymaster",
        quorum: int | None = None,
        down_after_ms: int = 1000,
        failover_timeout_ms: int = 5000,
        password: str | None = None,
        sentinel_password: str | None = None,
        binary: str | None = None,
    ) -> None:
        if replicas < 0 or sentinels < 1:
            raise ValueError("replicas must be >= 0 and sentinels >= 1")
        self.service_name = service_name
        self.quorum = quorum if quorum is not None else sentinels // 2 + 1
        self._binary = binary
        self._located: ServerBinary | None = None
        self._password = password
        self._sentinel_password = sentinel_password
        self._down_after = down_after_ms
        self._failover_timeout = failover_timeout_ms
        self._replica_count = replicas
        self._sentinel_count = sentinels
        self.servers: list[RedisServer] = []
        self.sentinel_servers: list[RedisServer] = []

    def __repr__(self) -> str:
        ports = ",".join(str(s.port) for s in self.sentinel_servers)
        return (
            f"<RedisSentinel {self.service_name!r} servers={len(self.servers)} sentinels=[{ports}]>"
        )

    # -- addresses --------------------------------------------------------------------

    @property
    def sentinel_addresses(self) -> list[tuple[str, int]]:
        """``(host, port)`` of every sentinel, in start order."""
        return [("127.0.0.1", s.port) for s in self.sentinel_servers]

    @property
    def url(self) -> str:
        """``redis+sentinel://127.0.0.1:<p1>,.../<service_name>``, no credentials, + ``url_query()``."""
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinel_servers)
        return f"redis+sentinel://{hosts}/{self.service_name}{url_query()}"

    # -- lifecycle --------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> RedisSentinel:
        """Start every member and wait (``wait_stable(timeout)``) until the sentinels see all."""
        binary = self.binary
        secret = self._password
        auth = ["--masterauth", secret] if secret else []
        try:
            primary = RedisServer(binary=binary, password=secret, args=auth).start()
            self.servers.append(primary)
            for _ in range(self._replica_count):
                args = [*auth, "--replicaof", "127.0.0.1", str(primary.port)]
                self.servers.append(RedisServer(binary=binary, password=secret, args=args).start())
            for _ in range(self._sentinel_count):
                sentinel = _SentinelProcess(
                    self._sentinel_config(primary.port),
                    binary=binary,
                    password=self._sentinel_password,
                )
                self.sentinel_servers.append(sentinel.start())
            self.wait_stable(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _sentinel_config(self, primary_port: int) -> list[str]:
        name = self.service_name
        lines = [
            f"sentinel monitor {name} 127.0.0.1 {primary_port} {self.quorum}",
            f"sentinel down-after-milliseconds {name} {self._down_after}",
            f"sentinel failover-timeout {name} {self._failover_timeout}",
            f"sentinel parallel-syncs {name} 1",
        ]
        if self._password:
            lines.append(f"sentinel auth-pass {name} {self._password}")
        if self._sentinel_password:
            lines.append(f"requirepass {self._sentinel_password}")
            lines.append(f"sentinel sentinel-pass {self._sentinel_password}")
        return lines

    def stop(self) -> None:
        """Terminate every member by its pid and remove their files."""
        for member in [*self.sentinel_servers, *self.servers]:
            member.stop()

    def __enter__(self) -> RedisSentinel:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> RedisSentinel:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    # -- who is what --------------------------------------------------------------------

    def _ask(self, sentinel: RedisServer, *args: str | int) -> Any:
        if self._sentinel_password:
            return _call_auth(sentinel.port, self._sentinel_password, *args)
        return _call(sentinel.port, *args, timeout=2.0)

    def _data(self, server: RedisServer, *args: str | int) -> Any:
        if self._password:
            return _call_auth(server.port, self._password, *args)
        return _call(server.port, *args, timeout=2.0)

    def announced_primary(self, sentinel: RedisServer | None = None) -> int | None:
        """The primary's port as ``sentinel`` (the first running one) announces it, or None."""
        candidates = [sentinel] if sentinel is not None else self.running_sentinels()
        for s in candidates:
            try:
                reply = self._ask(s, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.service_name)
            except (OSError, RuntimeError):
                continue
            if reply:
                return int(reply[1])
        return None

    def running_sentinels(self) -> list[RedisServer]:
        """The sentinels whose process is alive (paused ones count)."""
        return [s for s in self.sentinel_servers if s.is_running()]

    @property
    def primary(self) -> RedisServer:
        """The data server the sentinels announce as primary now."""
        port = self.announced_primary()
        if port is None:
            raise RuntimeError("no running sentinel announces a primary")
        return self._by_port(port)

    @property
    def replicas(self) -> list[RedisServer]:
        """Every data server other than the announced primary."""
        primary = self.primary
        return [s for s in self.servers if s is not primary]

    def role(self, server: RedisServer) -> str:
        """``"master"`` or ``"slave"``: what ``ROLE`` on ``server`` says."""
        return _text(self._data(server, "ROLE")[0])

    def _by_port(self, port: int) -> RedisServer:
        for server in self.servers:
            if server.port == port:
                return server
        raise KeyError(f"no data server of this kit listens on 127.0.0.1:{port}")

    def _known(self, member: RedisServer) -> RedisServer:
        if not any(member is m for m in [*self.servers, *self.sentinel_servers]):
            raise ValueError(f"{member!r} is not a member of this kit")
        return member

    # -- faults -------------------------------------------------------------------------

    def kill(self, member: RedisServer) -> None:
        """SIGKILL ``member`` (a data server or a sentinel)."""
        self._known(member).kill()

    def restart(self, member: RedisServer) -> None:
        """Start ``member`` again (after SIGKILL when running) on its port.

        A data server comes back empty, with its start-up role (the old
        primary as a primary until a sentinel converts it to a replica); a
        sentinel reads the config it rewrote.
        """
        self._known(member).restart()

    def pause(self, member: RedisServer) -> None:
        """SIGSTOP ``member``: connections stay open, nothing answers."""
        self._known(member).pause()

    def resume(self, member: RedisServer) -> None:
        """SIGCONT a paused ``member``."""
        self._known(member).resume()

    def failover(self, timeout: float = 30.0) -> RedisServer:
        """``SENTINEL FAILOVER`` (graceful) on a running sentinel; wait; return the new primary."""
        old = self.primary
        for sentinel in self.running_sentinels():
            try:
                self._ask(sentinel, "SENTINEL", "FAILOVER", self.service_name)
                break
            except (OSError, RuntimeError):
                continue
        return self.wait_for_failover(old, timeout)

    def wait_for_failover(self, old: RedisServer, timeout: float = 30.0) -> RedisServer:
        """Wait until the failover away from ``old`` is over; return the new primary.

        Over: every running sentinel announces one primary other than
        ``old``, that server's ``ROLE`` says master, and every other running
        data server (``old`` too once restarted) says ``ROLE`` slave of it
        with its link up. ``TimeoutError`` naming what was still wrong after
        ``timeout``.
        """
        deadline = time.monotonic() + timeout
        problems: list[str] = []
        while True:
            problems = self._problems(exclude=old.port)
            if not problems:
                return self.primary
            if time.monotonic() >= deadline:
                raise TimeoutError(f"failover not finished after {timeout}s: {problems}")
            time.sleep(_POLL * 5)

    def wait_stable(self, timeout: float = 30.0) -> RedisServer:
        """Wait until the running sentinels agree on a primary and see every member."""
        deadline = time.monotonic() + timeout
        while True:
            problems = self._problems(exclude=None, full=True)
            if not problems:
                return self.primary
            if time.monotonic() >= deadline:
                raise TimeoutError(f"the sentinels are not stable after {timeout}s: {problems}")
            time.sleep(_POLL * 5)

    def _problems(self, exclude: int | None, full: bool = False) -> list[str]:
        sentinels = self.running_sentinels()
        ports = set()
        for s in sentinels:
            try:
                port = self.announced_primary(s)
            except (OSError, RuntimeError) as exc:
                return [f"sentinel {s.port}: {exc}"]
            ports.add(port)
        if len(ports) != 1 or None in ports:
            return [f"the sentinels announce {sorted(map(str, ports))}"]
        (port,) = ports
        assert port is not None
        if port == exclude:
            return [f"the sentinels still announce {port}"]
        try:
            primary = self._by_port(port)
            if self.role(primary) != "master":
                return [f"{port} is not master yet"]
        except (OSError, RuntimeError, KeyError) as exc:
            return [f"primary {port}: {exc}"]
        problems = []
        for server in self.servers:
            if server is primary or not server.is_running():
                continue
            try:
                info = _info(self._data(server, "INFO", "replication"))
            except (OSError, RuntimeError) as exc:
                problems.append(f"{server.port}: {exc}")
                continue
            if info.get("role") != "slave" or info.get("master_port") != str(port):
                problems.append(f"{server.port} does not replicate {port}")
            elif info.get("master_link_status") != "up":
                problems.append(f"{server.port}: link to {port} down")
        if full:
            for s in sentinels:
                fields = self._ask(s, "SENTINEL", "MASTER", self.service_name)
                view = {_text(k): _text(v) for k, v in zip(fields[::2], fields[1::2], strict=True)}
                want = (len(self.servers) - 1, len(self.sentinel_servers) - 1)
                got = (int(view["num-slaves"]), int(view["num-other-sentinels"]))
                if got != want:
                    problems.append(f"sentinel {s.port} knows {got[0]} replicas, {got[1]} others")
        return problems

    def flushall(self) -> None:
        """FLUSHALL on the primary and wait until the replicas have the empty dataset."""
        primary = self.primary
        self._data(primary, "FLUSHALL")
        self._data(primary, "WAIT", len(self.servers) - 1, 5000)


def _call_auth(port: int, password: str, *args: str | int) -> Any:
    from ._cluster import _Link

    with _Link(port, 2.0) as link:
        return link.pipeline([("AUTH", password), args])[1]
