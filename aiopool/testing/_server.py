"""A throwaway ``redis-server`` on a free loopback port, owned by its creator."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from types import TracebackType

__all__ = ["RedisServer", "RedisServerUnavailable", "find_redis_server"]

INSTALL_HINT = (
    "redis-server was not found on PATH; install it (Debian/Ubuntu: "
    "'apt-get install -y redis-server', macOS: 'brew install redis') or set "
    "AIOPOOL_REDIS_SERVER to its path"
)


class RedisServerUnavailable(RuntimeError):
    """``redis-server`` is not installed, or did not start; the message says which."""


def find_redis_server() -> str | None:
    """The ``redis-server`` to run: ``$AIOPOOL_REDIS_SERVER`` or the one on PATH."""
    return os.environ.get("AIOPOOL_REDIS_SERVER") or shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A ``redis-server`` process on ``127.0.0.1``, for tests and examples.

    ``start()`` launches it on a free port (or ``port``) and returns once it
    answers PING; ``stop()`` terminates it by its own pid. ``kill()``
    (SIGKILL), ``restart()`` (same port, empty dataset), ``pause()`` and
    ``resume()`` (SIGSTOP/SIGCONT) let a test inject faults. ``password`` sets
    ``requirepass``; ``unix_socket=True`` also listens on a socket in its
    private directory; ``args`` are extra ``redis-server`` arguments
    (``["--maxclients", "5"]``). Usable as a context manager.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        password: str | None = None,
        unix_socket: bool = False,
        args: Sequence[str] = (),
        startup_timeout: float = 10.0,
    ) -> None:
        self.port = port or 0
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
        """``redis://127.0.0.1:<port>/0``, with the password when one is set."""
        auth = f":{self._password}@" if self._password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def is_running(self) -> bool:
        """True while the process is alive (a paused one counts)."""
        return self.process is not None and self.process.poll() is None

    def start(self) -> RedisServer:
        """Start the server and wait (polling PING) until it answers.

        Raises ``RedisServerUnavailable`` when ``redis-server`` is missing or
        does not answer within ``startup_timeout``; the log's tail is in the
        message.
        """
        binary = find_redis_server()
        if binary is None:
            raise RedisServerUnavailable(INSTALL_HINT)
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="aiopool-redis-")
        attempts = 1 if self.port else 5
        for _ in range(attempts):
            port = self.port or _free_port()
            try:
                self._launch(binary, port)
            except RedisServerUnavailable:
                if self.port:
                    raise
                continue  # another process took the port between probe and bind
            self.port = port
            return self
        raise RedisServerUnavailable(f"redis-server did not start after {attempts} attempts")

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
        raise RedisServerUnavailable(f"redis-server on 127.0.0.1:{port} did not start:\n{tail}")

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
        binary = find_redis_server()
        assert binary is not None
        self._launch(binary, self.port)

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
