"""A loopback TCP proxy in front of a server, with faults a test switches at run time."""

from __future__ import annotations

import asyncio
import collections
import itertools
import socket
import struct
from types import TracebackType
from typing import Final, Literal, cast

import hiredis

from ._server import url_query

__all__ = ["FaultProxy"]

# Directions, named by where the data goes: requests read from the client go
# UP to the server, replies read from the server go DOWN to the client.
_UP: Final = 0
_DOWN: Final = 1

_MORE: Final = object()
# SO_LINGER on, timeout 0: close() then sends RST instead of FIN.
_LINGER_ZERO: Final = struct.pack("ii", 1, 0)
_ids = itertools.count(1)

Admission = Literal["accept", "refuse", "hang"]
Blackhole = Literal["hold", "drop"]


class _Side(asyncio.Protocol):
    """One socket of the proxy: the client's (reads requests) or the server's (reads replies)."""

    def __init__(self, proxy: FaultProxy, pipe: _Pipe | None, direction: int) -> None:
        self.proxy = proxy
        self.pipe = pipe
        self.direction = direction  # where what this side reads goes
        self.transport: asyncio.Transport | None = None

    def __repr__(self) -> str:
        peer = "client" if self.direction == _UP else "server"
        pipe = f" pipe #{self.pipe.id}" if self.pipe is not None else ""
        return f"<FaultProxy {peer} side{pipe}>"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's do not subclass asyncio.Transport).
        self.transport = cast(asyncio.Transport, transport)
        self.proxy._live.add(self)
        if self.direction == _UP:
            self.proxy._admit(self)
        else:
            assert self.pipe is not None
            self.pipe.upstream_made(self)

    def data_received(self, data: bytes) -> None:
        if self.pipe is not None:
            self.pipe.received(self.direction, data)

    def eof_received(self) -> bool:
        if self.pipe is not None:
            self.pipe.source_done(self.direction)
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        if self.pipe is not None:
            self.pipe.source_done(self.direction)
        self.proxy._lost(self)


def _reset(transport: asyncio.Transport | None) -> None:
    """Abort ``transport`` with RST when the socket allows it (plain close otherwise)."""
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
        except OSError:
            pass
    transport.abort()


class _Pipe:
    """One proxied connection: the client's socket, the server's, and what is in flight."""

    def __init__(self, proxy: FaultProxy, client: _Side) -> None:
        self.proxy = proxy
        self.id = next(_ids)
        self.client = client
        self.server: _Side | None = None
        self.connecting: asyncio.Task[None] | None = None
        # Chunks waiting out a latency (or a held blackhole), per direction: (due, data).
        self.queues: tuple[collections.deque[tuple[float, bytes]], ...] = (
            collections.deque(),
            collections.deque(),
        )
        self.timers: list[asyncio.TimerHandle | None] = [None, None]
        self.forwarded = [0, 0]
        self.budget = proxy._close_after
        # Parses requests to name the commands forwarded; None once it met non-RESP input.
        self.requests: hiredis.Reader | None = hiredis.Reader(notEnoughData=_MORE)
        self.draining: int | None = None  # a direction whose source is done: close once flushed
        self.closed = False

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open" if self.server is not None else "connecting"
        return f"<pipe #{self.id} {state} up={self.forwarded[_UP]} down={self.forwarded[_DOWN]}>"

    def transports(self) -> list[asyncio.Transport]:
        sides = (self.client, self.server)
        return [side.transport for side in sides if side is not None and side.transport]

    # -- data ------------------------------------------------------------------------

    def upstream_made(self, server: _Side) -> None:
        assert server.transport is not None
        # Connected: nothing left to cancel. (uvloop closes the transport of a
        # create_connection() cancelled after connection_made() without ever
        # calling connection_lost(), which would leave this side open for ever.)
        self.connecting = None
        if self.closed:
            server.transport.abort()
            return
        self.server = server
        if self.proxy._blackhole == "hold":
            server.transport.pause_reading()
        else:
            assert self.client.transport is not None
            self.client.transport.resume_reading()
        self.schedule(_UP)

    def received(self, direction: int, data: bytes) -> None:
        if self.closed or self.draining not in (None, direction):
            return  # its destination has gone
        proxy = self.proxy
        delay = proxy._latency[direction]
        queue = self.queues[direction]
        if delay or queue or not self.can_forward(direction):
            queue.append((proxy._loop_time() + delay, data))
            self.schedule(direction)
        else:
            self.forward(direction, data)

    def can_forward(self, direction: int) -> bool:
        if self.closed or self.proxy._blackhole == "hold":
            return False
        return direction == _DOWN or self.server is not None

    def schedule(self, direction: int) -> None:
        queue = self.queues[direction]
        if self.timers[direction] is not None or not queue or not self.can_forward(direction):
            return
        loop = asyncio.get_running_loop()
        self.timers[direction] = loop.call_at(queue[0][0], self.flush, direction)

    def flush(self, direction: int) -> None:
        self.timers[direction] = None
        queue = self.queues[direction]
        now = self.proxy._loop_time()
        while queue and queue[0][0] <= now and self.can_forward(direction):
            self.forward(direction, queue.popleft()[1])
        if self.draining == direction and not queue:
            self.close()
        else:
            self.schedule(direction)

    def forward(self, direction: int, data: bytes) -> None:
        proxy = self.proxy
        if proxy._blackhole == "drop":
            proxy.dropped_bytes += len(data)
            return
        if direction == _UP:
            assert self.server is not None
            assert self.server.transport is not None
            self.server.transport.write(data)
            self.forwarded[_UP] += len(data)
            self.parse_requests(data)
            return
        cut = False
        if proxy._replace is not None:
            data, proxy._replace = proxy._replace, None
        if proxy._garble is not None:
            data, proxy._garble = proxy._garble + data[1:], None
        if proxy._cut is not None:
            data, proxy._cut, cut = data[: proxy._cut], None, True
        if proxy._trail is not None:
            data, proxy._trail = data + proxy._trail, None
        if self.budget is not None:
            if len(data) >= self.budget:
                data, cut = data[: self.budget], True
            self.budget -= len(data)
        if data:
            assert self.client.transport is not None
            self.client.transport.write(data)
            self.forwarded[_DOWN] += len(data)
        if cut:
            self.close()  # the client reads what was written, then EOF

    def parse_requests(self, data: bytes) -> None:
        reader = self.requests
        if reader is None:
            return
        reader.feed(data)
        while True:
            try:
                request = reader.gets()
            except hiredis.ProtocolError:
                self.requests = None  # an inline command: stop naming this pipe's commands
                return
            if request is _MORE:
                return
            if isinstance(request, list) and request and isinstance(request[0], bytes):
                self.proxy._saw_command(request[0].upper())

    # -- ending ----------------------------------------------------------------------

    def source_done(self, direction: int) -> None:
        """The side reading ``direction`` got EOF or was lost: flush what it sent, then close."""
        if self.closed:
            return
        if self.queues[direction] and self.can_forward(direction):
            self.draining = direction
            self.queues[1 - direction].clear()
        else:
            self.close()

    def close(self, how: Literal["close", "abort", "reset"] = "close") -> None:
        """End the pipe: ``close`` flushes what was written first; ``reset`` sends RST."""
        if self.closed:
            return
        self.closed = True
        for timer in self.timers:
            if timer is not None:
                timer.cancel()
        self.timers = [None, None]
        for queue in self.queues:
            queue.clear()
        if self.connecting is not None:
            self.connecting.cancel()
        for transport in self.transports():
            if how == "reset":
                _reset(transport)
            elif how == "abort":
                transport.abort()
            else:
                transport.close()
        self.proxy._pipes.discard(self)


class FaultProxy:
    """A TCP proxy on ``127.0.0.1`` in front of a server, with faults switched at run time.

    ``async with FaultProxy(host, port) as proxy:`` (or ``await
    proxy.start()`` ... ``await proxy.aclose()``) listens on a free loopback
    port (``proxy.port``, ``proxy.url``) and pipes every accepted connection
    to ``host:port``, opening the upstream connection within
    ``connect_timeout`` (the client's socket is closed when that fails).

    The switches are plain synchronous methods that take effect at once for
    current and new connections: ``latency()``, ``blackhole()``/``heal()``,
    ``reset_all()``, ``refuse_new()``/``hang_new()``/``accept_new()``,
    ``cut_next_reply()``, ``garble_next_reply()``, ``close_after()``,
    ``inject()`` and ``inject_after_next_reply()`` (stray bytes), and
    ``clear_faults()`` to undo them all. "Forwarded" means handed to the
    other socket's transport: written to the kernel, or buffered by asyncio
    when the kernel's buffer is full. A "reply chunk" is what one read from
    the server returned; on loopback a small reply arrives in one.

    ``await proxy.wait_for_command(b"GET")`` returns once a ``GET`` request
    has been forwarded to the server, so a test can cancel a command exactly
    after its send. ``connections`` counts the open piped connections,
    ``accepted`` every connection the listener accepted.

    One event loop only (the one ``start()`` ran on). ``aclose()`` closes the
    listener and every connection and returns once each socket is closed.
    """

    def __init__(
        self,
        upstream_host: str,
        upstream_port: int,
        *,
        port: int = 0,
        connect_timeout: float = 5.0,
    ) -> None:
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.host = "127.0.0.1"
        self.port = port
        self.connect_timeout = connect_timeout
        self.accepted = 0
        self.refused = 0
        self.dropped_bytes = 0
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._pipes: set[_Pipe] = set()
        self._hanging: set[_Side] = set()
        self._live: set[_Side] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._all_lost: asyncio.Event | None = None
        self._admission: Admission = "accept"
        self._blackhole: Blackhole | None = None
        self._latency = [0.0, 0.0]
        self._cut: int | None = None
        self._garble: bytes | None = None
        self._replace: bytes | None = None
        self._trail: bytes | None = None
        self._close_after: int | None = None
        self._commands: collections.Counter[bytes] = collections.Counter()
        self._waiters: list[tuple[bytes, int, asyncio.Future[int]]] = []

    def __repr__(self) -> str:
        if self._closed:
            state = " closed"
        elif self._server is None:
            state = " not started"
        else:
            state = f" new={self._admission}"
        faults = ""
        if self._blackhole:
            faults += f" blackhole={self._blackhole}"
        if self._latency[_DOWN]:
            faults += f" latency={self._latency[_DOWN]:g}s"
        if self._latency[_UP]:
            faults += f" request_latency={self._latency[_UP]:g}s"
        if self._cut is not None:
            faults += f" cut_next_reply={self._cut}"
        if self._garble is not None:
            faults += " garble_next_reply"
        if self._replace is not None:
            faults += " replace_next_reply"
        if self._trail is not None:
            faults += " inject_after_next_reply"
        if self._close_after is not None:
            faults += f" close_after={self._close_after}"
        return (
            f"<FaultProxy {self.host}:{self.port} -> {self.upstream_host}:{self.upstream_port}"
            f"{state}{faults} connections={len(self._pipes)} hanging={len(self._hanging)} "
            f"accepted={self.accepted}>"
        )

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0`` (plus ``url_query()``): the proxy as a URL for aiopool."""
        return f"redis://{self.host}:{self.port}/0{url_query()}"

    @property
    def connections(self) -> int:
        """How many piped connections are open now (connecting upstream included)."""
        return len(self._pipes)

    @property
    def hanging(self) -> int:
        """How many connections accepted under ``hang_new()`` are still open."""
        return len(self._hanging)

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> FaultProxy:
        """Listen on ``127.0.0.1`` (a free port unless ``port`` was given); return self."""
        if self._closed or self._server is not None:
            raise RuntimeError(f"{self!r} can be started only once")
        self._loop = asyncio.get_running_loop()
        self._server = await self._loop.create_server(
            lambda: _Side(self, None, _UP), self.host, self.port
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def aclose(self, timeout: float = 5.0) -> None:
        """Stop listening and abort every connection; return once each socket is closed.

        Pending ``wait_for_command()`` calls raise ``RuntimeError``. Waits at
        most ``timeout`` seconds for the sockets, then raises ``TimeoutError``.
        Idempotent. If cancelled, every connection has been aborted already.
        """
        if self._closed:
            return
        self._closed = True
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for pipe in list(self._pipes):
            pipe.close("abort")
        for side in list(self._hanging):
            if side.transport is not None:
                side.transport.abort()
        for _, _, waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(RuntimeError(f"{self!r} was closed"))
        self._waiters.clear()
        # A socket is closed only when its transport's connection_lost runs.
        async with asyncio.timeout(timeout):
            await asyncio.gather(*self._tasks, return_exceptions=True)
            if self._live:
                self._all_lost = asyncio.Event()
                await self._all_lost.wait()
            if server is not None:
                await server.wait_closed()

    async def __aenter__(self) -> FaultProxy:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- switches --------------------------------------------------------------------

    def latency(self, seconds: float, *, requests: bool = False) -> None:
        """Delay every reply chunk read from now on by ``seconds`` (``0`` turns it off).

        With ``requests=True`` requests are delayed as well, so a round trip
        takes at least twice ``seconds``. Chunks keep their order: one read
        under a shorter latency still waits for those queued before it.
        """
        if seconds < 0:
            raise ValueError(f"latency must be >= 0, got {seconds!r}")
        self._latency[_DOWN] = seconds
        self._latency[_UP] = seconds if requests else 0.0

    def blackhole(self, *, drop: bool = False) -> None:
        """Stop forwarding in both directions; every socket stays open, nothing is answered.

        By default data is *held*: the proxy stops reading, so what is sent
        waits in the kernel's socket buffers (and chunks already delayed by
        ``latency()`` wait in the proxy) and is delivered in order after
        ``heal()``, as after a network partition that TCP rides out. A
        client that gives up and closes its socket meanwhile is noticed only
        after ``heal()``. With ``drop=True`` the proxy keeps reading and
        discards everything (counted in ``dropped_bytes``), so a request sent
        during the blackhole never reaches the server and a reply never
        reaches the client; a connection that lost part of a stream stays
        out of step after ``heal()``.
        """
        self._blackhole = "drop" if drop else "hold"
        if not drop:
            for pipe in self._pipes:
                for transport in pipe.transports():
                    transport.pause_reading()

    def heal(self) -> None:
        """End a ``blackhole()``: held data flows in order, forwarding resumes."""
        held = self._blackhole == "hold"
        self._blackhole = None
        if not held:
            return
        for pipe in list(self._pipes):
            if pipe.server is None:
                continue  # still connecting upstream; reading resumes once connected
            for transport in pipe.transports():
                transport.resume_reading()
            for direction in (_UP, _DOWN):
                pipe.schedule(direction)

    def reset_all(self) -> None:
        """Abort every current connection (piped or hanging), with RST where possible.

        Both the client's and the server's socket of each connection are
        reset; data not yet forwarded is lost. The reset goes out when the
        event loop next runs. New connections are not affected.
        """
        for pipe in list(self._pipes):
            pipe.close("reset")
        for side in list(self._hanging):
            _reset(side.transport)

    def refuse_new(self) -> None:
        """Accept new connections and close each at once, never connecting upstream.

        The client sees EOF, or a reset if it had already sent data.
        """
        self._admission = "refuse"

    def hang_new(self) -> None:
        """Accept new connections but never connect upstream nor answer (data is discarded).

        They stay open until the client closes them, ``reset_all()`` or
        ``aclose()``; ``accept_new()`` does not revive them.
        """
        self._admission = "hang"

    def accept_new(self) -> None:
        """Pipe new connections to the server again (the default)."""
        self._admission = "accept"

    def cut_next_reply(self, after_bytes: int) -> None:
        """Forward only the first ``after_bytes`` of the next reply chunk, then close.

        One shot: applies to the next chunk read from the server on any
        connection. The bytes are flushed to the client before its socket is
        closed (FIN); the server's socket of that connection is closed too.
        """
        if after_bytes < 0:
            raise ValueError(f"after_bytes must be >= 0, got {after_bytes!r}")
        self._cut = after_bytes

    def garble_next_reply(self, byte: bytes = b"!") -> None:
        """Replace the first byte of the next reply chunk with ``byte`` (invalid RESP).

        One shot, on any connection. ``b"!"`` (RESP3's blob error) is not a
        type byte hiredis accepts, so the reply fails to parse.
        """
        if len(byte) != 1:
            raise ValueError(f"byte must be a single byte, got {byte!r}")
        self._garble = byte

    def replace_next_reply(self, data: bytes) -> None:
        """Send ``data`` instead of the next reply chunk, on any connection; one shot.

        The connection stays open, so a test can feed a client any bytes (an
        invalid, truncated or wrong-typed reply) in place of a real one.
        """
        if not isinstance(data, bytes):
            raise TypeError(f"data must be bytes, got {type(data).__name__}")
        self._replace = data

    def inject(self, data: bytes) -> int:
        """Send ``data`` to the client of every open piped connection, now; return how many.

        The bytes come from nowhere the client asked for: a stray reply, a
        replayed late one, an unexpected push. Whatever each connection is
        doing (idle in a pool, borrowed, shared, subscribed, mid-reply), they
        arrive in their own segment, after what was forwarded so far. The
        server sees nothing.
        """
        if not isinstance(data, bytes) or not data:
            raise TypeError(f"data must be non-empty bytes, got {data!r}")
        reached = 0
        for pipe in list(self._pipes):
            transport = pipe.client.transport
            if pipe.closed or transport is None or transport.is_closing():
                continue
            transport.write(data)
            reached += 1
        return reached

    def inject_after_next_reply(self, data: bytes) -> None:
        """Append ``data`` to the next reply chunk forwarded, on any connection; one shot.

        The client receives its reply followed by bytes nobody asked for, in
        the same write (a late reply riding on a real one).
        """
        if not isinstance(data, bytes) or not data:
            raise TypeError(f"data must be non-empty bytes, got {data!r}")
        self._trail = data

    def close_after(self, n_bytes: int | None) -> None:
        """Close each connection once it has forwarded ``n_bytes`` of replies.

        Counted from now for current connections and from their accept for
        new ones; the chunk that reaches the limit is cut there, and the
        connection is closed as ``cut_next_reply()`` does. ``0`` closes a
        connection at its next reply chunk. ``None`` lifts the rule.
        """
        if n_bytes is not None and n_bytes < 0:
            raise ValueError(f"n_bytes must be >= 0 or None, got {n_bytes!r}")
        self._close_after = n_bytes
        for pipe in self._pipes:
            pipe.budget = n_bytes

    def clear_faults(self) -> None:
        """Undo every switch: no latency, healed, accepting, nothing armed."""
        self.latency(0)
        self.heal()
        self.accept_new()
        self._cut = None
        self._garble = None
        self._replace = None
        self._trail = None
        self.close_after(None)

    # -- observation -----------------------------------------------------------------

    def command_count(self, name: bytes | str) -> int:
        """How many ``name`` requests (case-insensitive) were forwarded to the server."""
        return self._commands[_command_key(name)]

    async def wait_for_command(
        self, name: bytes | str, *, timeout: float = 5.0, count: int | None = None
    ) -> int:
        """Wait until a ``name`` request has been forwarded to the server; return the count.

        ``name`` is a command's first word, case-insensitive (``b"GET"``,
        ``"client"``). Waits for the next one forwarded after the call, or,
        with ``count``, until ``count`` of them were forwarded in all (at
        once if they already were). Raises ``TimeoutError`` after
        ``timeout`` seconds and ``RuntimeError`` if the proxy is closed;
        cancelling the wait has no other effect. Requests that are not RESP
        arrays (inline commands) are not seen.
        """
        key = _command_key(name)
        target = self._commands[key] + 1 if count is None else count
        if self._commands[key] >= target:
            return self._commands[key]
        if self._closed:
            raise RuntimeError(f"{self!r} is closed")
        waiter: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        entry = (key, target, waiter)
        self._waiters.append(entry)
        try:
            async with asyncio.timeout(timeout):
                return await waiter
        except TimeoutError:
            raise TimeoutError(
                f"{key.decode(errors='replace')} was forwarded {self._commands[key]} time(s), "
                f"not {target}, within {timeout}s ({self!r})"
            ) from None
        finally:
            if entry in self._waiters:
                self._waiters.remove(entry)

    # -- internals -------------------------------------------------------------------

    def _loop_time(self) -> float:
        assert self._loop is not None
        return self._loop.time()

    def _admit(self, side: _Side) -> None:
        transport = side.transport
        assert transport is not None
        self.accepted += 1
        if self._closed or self._admission == "refuse":
            self.refused += 1
            transport.abort()
            return
        if self._admission == "hang":
            self._hanging.add(side)
            return
        pipe = _Pipe(self, side)
        side.pipe = pipe
        self._pipes.add(pipe)
        transport.pause_reading()  # until the upstream connection is made
        task = asyncio.get_running_loop().create_task(self._connect(pipe))
        pipe.connecting = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect(self, pipe: _Pipe) -> None:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                await loop.create_connection(
                    lambda: _Side(self, pipe, _DOWN), self.upstream_host, self.upstream_port
                )
        except (OSError, TimeoutError):
            pipe.connecting = None  # so that closing the pipe does not cancel this task
            pipe.close("abort")
        else:
            pipe.connecting = None

    def _lost(self, side: _Side) -> None:
        self._hanging.discard(side)
        self._live.discard(side)
        if not self._live and self._all_lost is not None:
            self._all_lost.set()

    def _saw_command(self, key: bytes) -> None:
        self._commands[key] += 1
        seen = self._commands[key]
        for name, target, waiter in self._waiters:
            if name == key and seen >= target and not waiter.done():
                waiter.set_result(seen)


def _command_key(name: bytes | str) -> bytes:
    return (name.encode() if isinstance(name, str) else bytes(name)).upper()
