"""A small HTTP service where every request shares one ``aiopool.Client``.

No web framework: ``asyncio.start_server`` and a minimal HTTP/1.1 parser
(keep-alive, Content-Length bodies, hard limits; enough for this example, not
for the open internet). The pattern to copy is ``lifespan()``: open the
client before serving, pass it to the handlers, and close it only after the
server has stopped and in-flight requests have finished.

Routes::

    GET    /hits        INCR a counter; {"hits": n}
    GET    /kv/<key>    the stored value (application/octet-stream); 404 if missing
    PUT    /kv/<key>    store the request body; 204
    DELETE /kv/<key>    204, or 404 if missing
    GET    /stats       the pool's stats as JSON

Redis errors map to HTTP statuses in one place (``App.dispatch``):
``PoolTimeout`` -> 503 with Retry-After, ``ConnectionFailure`` -> 502,
``CommandTimeout`` -> 504, anything else from Redis -> 500.

Usage::

    python examples/web_app.py            # start, send 200 requests from 50
                                          # connections to itself, print a summary, exit
    python examples/web_app.py --serve    # serve on http://127.0.0.1:8080 until Ctrl-C

It uses ``$REDIS_URL`` (default ``redis://127.0.0.1:6379/0``), or a throwaway
redis-server when nothing answers there, and only keys under
``aiopool:example:web:``. It listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import http
import json
import logging
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote

from _support import redis_url_or_throwaway, run

import aiopool

logger = logging.getLogger("web_app")

HOST = "127.0.0.1"
PREFIX = "aiopool:example:web:"
HITS_KEY = f"{PREFIX}hits"
KV_PREFIX = f"{PREFIX}kv:"

MAX_LINE = 8 * 1024  # request line or one header line
MAX_HEADERS = 64
MAX_BODY = 1024 * 1024
MAX_KEY = 200
MAX_REQUESTS_PER_CONNECTION = 1000
IDLE_TIMEOUT = 15.0  # a keep-alive connection with no new request is closed
READ_TIMEOUT = 10.0  # reading the rest of a request once its first line arrived
SHUTDOWN_GRACE = 5.0  # in-flight requests get this long to finish on shutdown


# -- HTTP, minimal -------------------------------------------------------------------------


class BadRequest(Exception):
    """A request we refuse to parse further; the connection is closed after replying."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclasses.dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str  # percent-encoded, without the query string
    version: str
    headers: dict[str, str]
    body: bytes

    def wants_keep_alive(self) -> bool:
        connection = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return connection == "keep-alive"
        return connection != "close"


@dataclasses.dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, status: int, value: Any, *headers: tuple[str, str]) -> Response:
        return cls(status, json.dumps(value).encode() + b"\n", headers=headers)

    @classmethod
    def error(cls, status: int, message: str, *headers: tuple[str, str]) -> Response:
        return cls.json(status, {"error": message}, *headers)

    def encode(self, *, keep_alive: bool) -> bytes:
        lines = [f"HTTP/1.1 {self.status} {http.HTTPStatus(self.status).phrase}"]
        if self.status != 204:
            lines.append(f"Content-Length: {len(self.body)}")
            if self.body:
                lines.append(f"Content-Type: {self.content_type}")
        lines.append(f"Connection: {'keep-alive' if keep_alive else 'close'}")
        lines.extend(f"{name}: {value}" for name, value in self.headers)
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


async def read_line(reader: asyncio.StreamReader) -> bytes:
    """One CRLF-terminated line, without the CRLF; the reader's ``limit`` caps its length."""
    try:
        line = await reader.readuntil(b"\r\n")
    except asyncio.LimitOverrunError:
        raise BadRequest(431, f"a line of the request is longer than {MAX_LINE} bytes") from None
    return line[:-2]


async def read_request(first_line: bytes, reader: asyncio.StreamReader) -> Request:
    """Parse the rest of a request whose first line has been read."""
    try:
        method, target, version = first_line.decode("ascii").split(" ")
    except (UnicodeDecodeError, ValueError):
        raise BadRequest(400, "malformed request line") from None
    if version not in ("HTTP/1.0", "HTTP/1.1"):
        raise BadRequest(505, f"unsupported protocol version {version!r}")
    if not target.startswith("/"):
        raise BadRequest(400, "the request target must be a path")
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS):
        line = await read_line(reader)
        if not line:
            break
        name, colon, value = line.decode("latin-1").partition(":")
        if not colon or not name or name != name.strip():
            raise BadRequest(400, "malformed header line")
        headers[name.lower()] = value.strip()
    else:
        raise BadRequest(431, f"more than {MAX_HEADERS} header lines")
    if "transfer-encoding" in headers:
        raise BadRequest(501, "Transfer-Encoding is not supported; send Content-Length")
    length_text = headers.get("content-length", "0")
    if not length_text.isdigit():
        raise BadRequest(400, "invalid Content-Length")
    length = int(length_text)
    if length > MAX_BODY:
        raise BadRequest(413, f"the body is larger than {MAX_BODY} bytes")
    body = await reader.readexactly(length)
    return Request(method, target.partition("?")[0], version, headers, body)


# -- the application -------------------------------------------------------------------------


class App:
    """The request handlers, and the connections being served.

    It holds the one ``aiopool.Client`` every request uses; it never opens or
    closes it (``lifespan()`` does).
    """

    def __init__(self, redis: aiopool.Client) -> None:
        self.redis = redis
        # Each HTTP connection's handler task -> whether it is mid-request.
        self._handlers: dict[asyncio.Task[None], bool] = {}
        self._closing = False

    def __repr__(self) -> str:
        busy = sum(self._handlers.values())
        return f"<App connections={len(self._handlers)} busy={busy} {self.redis!r}>"

    # -- routes --

    async def dispatch(self, request: Request) -> Response:
        """Route one request; map the Redis errors to HTTP statuses (the only place that does)."""
        try:
            return await self.route(request)
        except aiopool.PoolTimeout as exc:
            # Every connection stayed busy for acquire_timeout: overloaded, try again soon.
            logger.warning("503 for %s %s: %s", request.method, request.path, exc)
            return Response.error(503, "busy, retry shortly", ("Retry-After", "1"))
        except aiopool.PoolClosed:
            return Response.error(503, "shutting down")
        except aiopool.CommandTimeout as exc:
            logger.warning("504 for %s %s: %s", request.method, request.path, exc)
            return Response.error(504, "the database did not answer in time")
        except aiopool.ConnectionFailure as exc:
            logger.warning("502 for %s %s: %s", request.method, request.path, exc)
            return Response.error(502, "the database is unreachable")
        except aiopool.RedisError as exc:
            logger.error("500 for %s %s: %r", request.method, request.path, exc)
            return Response.error(500, "database error")

    async def route(self, request: Request) -> Response:
        path, method = request.path, request.method
        if path == "/hits":
            if method != "GET":
                return Response.error(405, "use GET", ("Allow", "GET"))
            return Response.json(200, {"hits": await self.redis.incr(HITS_KEY)})
        if path == "/stats":
            if method != "GET":
                return Response.error(405, "use GET", ("Allow", "GET"))
            return Response.json(200, dataclasses.asdict(self.redis.pool.stats()))
        if path.startswith("/kv/"):
            key = unquote(path.removeprefix("/kv/"))
            if not 0 < len(key) <= MAX_KEY:
                return Response.error(400, f"the key must be 1 to {MAX_KEY} characters")
            return await self.kv(method, KV_PREFIX + key, request.body)
        return Response.error(404, f"no route for {path}")

    async def kv(self, method: str, key: str, body: bytes) -> Response:
        if method == "GET":
            value = await self.redis.get(key)
            if value is None:
                return Response.error(404, "no such key")
            return Response(200, value, "application/octet-stream")
        if method == "PUT":
            await self.redis.set(key, body)
            return Response(204)
        if method == "DELETE":
            removed = await self.redis.delete(key)
            return Response(204) if removed else Response.error(404, "no such key")
        return Response.error(405, "use GET, PUT or DELETE", ("Allow", "GET, PUT, DELETE"))

    # -- connections --

    def on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """The ``asyncio.start_server`` callback: serve the connection in a task of our own.

        Owning the task (rather than letting ``start_server`` wrap a
        coroutine) lets ``drain()`` cancel idle connections at shutdown; on
        Python 3.11 a cancelled ``start_server`` task is logged as an error.
        """
        if self._closing:
            writer.close()  # accepted just before the listener closed
            return
        task = asyncio.create_task(self.handle_connection(reader, writer))
        self._handlers[task] = False
        task.add_done_callback(self._handler_done)

    def _handler_done(self, task: asyncio.Task[None]) -> None:
        del self._handlers[task]
        if not task.cancelled() and (exc := task.exception()) is not None:
            logger.error("connection handler failed", exc_info=exc)

    async def handle_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Serve one HTTP connection, up to MAX_REQUESTS_PER_CONNECTION requests."""
        task = asyncio.current_task()
        assert task is not None
        try:
            await self._serve(task, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away mid-request or mid-response
        finally:
            writer.close()

    async def _serve(
        self, task: asyncio.Task[None], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        for served in range(1, MAX_REQUESTS_PER_CONNECTION + 1):
            if self._closing:
                return
            self._handlers[task] = False  # idle: shutdown may cancel us here
            try:
                async with asyncio.timeout(IDLE_TIMEOUT):
                    first_line = await read_line(reader)
            except (TimeoutError, asyncio.IncompleteReadError):
                return  # idle too long, or the client closed the connection
            except BadRequest as exc:
                await self._respond(writer, Response.error(exc.status, exc.message), False)
                return
            self._handlers[task] = True
            started = time.perf_counter()
            try:
                async with asyncio.timeout(READ_TIMEOUT):
                    request = await read_request(first_line, reader)
            except BadRequest as exc:
                await self._respond(writer, Response.error(exc.status, exc.message), False)
                return
            except TimeoutError:
                await self._respond(writer, Response.error(408, "request too slow"), False)
                return
            response = await self.dispatch(request)
            keep_alive = (
                request.wants_keep_alive()
                and not self._closing
                and served < MAX_REQUESTS_PER_CONNECTION
            )
            await self._respond(writer, response, keep_alive)
            logger.info(
                "%s %s -> %d (%.1f ms)",
                request.method,
                request.path,
                response.status,
                (time.perf_counter() - started) * 1000,
            )
            if not keep_alive:
                return

    @staticmethod
    async def _respond(writer: asyncio.StreamWriter, response: Response, keep_alive: bool) -> None:
        writer.write(response.encode(keep_alive=keep_alive))
        await writer.drain()

    async def drain(self, grace: float) -> None:
        """Stop serving: close idle connections, give busy ones ``grace`` seconds, cancel the rest.

        A handler that is mid-request finishes it (answering with
        ``Connection: close``) while the Redis client is still open.
        """
        self._closing = True
        for task, busy in list(self._handlers.items()):
            if not busy:
                task.cancel()
        pending = set(self._handlers)
        if pending:
            _, late = await asyncio.wait(pending, timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)


@contextlib.asynccontextmanager
async def lifespan(redis_url: str, port: int) -> AsyncIterator[tuple[App, asyncio.Server]]:
    """Open everything the service needs; on exit, close it in the reverse order.

    1. The one client (one pool) for every request. ``min_size=2`` opens two
       connections now, so a wrong address or password fails at startup
       rather than on the first request.
    2. The listening socket, with the app's handler.
    On exit: stop accepting, let in-flight requests finish (they still need
    the client), and only then close the client's pool.
    """
    client = aiopool.Client.from_url(
        redis_url, min_size=2, max_size=10, acquire_timeout=2.0, command_timeout=2.0
    )
    async with client:
        app = App(client)
        server = await asyncio.start_server(app.on_connect, HOST, port, limit=MAX_LINE)
        try:
            yield app, server
        finally:
            server.close()
            await app.drain(SHUTDOWN_GRACE)
            await server.wait_closed()


# -- the two ways to run it --------------------------------------------------------------------


async def serve_until_interrupted(redis_url: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        async with lifespan(redis_url, port) as (app, server):
            address = server.sockets[0].getsockname()
            print(f"serving on http://{address[0]}:{address[1]}  (Ctrl-C to stop)")
            print(f"  curl -s http://{address[0]}:{address[1]}/hits")
            print(f"  curl -s -X PUT --data hello http://{address[0]}:{address[1]}/kv/greeting")
            await stop.wait()
            print(f"\nstopping: {app!r}")
        print("stopped; the pool is closed")
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


async def http_request(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    method: str,
    path: str,
    body: bytes = b"",
) -> tuple[int, bytes]:
    """Send one request on a keep-alive connection; return the status and body."""
    head = f"{method} {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: {len(body)}\r\n\r\n"
    writer.write(head.encode() + body)
    await writer.drain()
    status = int((await reader.readuntil(b"\r\n")).split(b" ", 2)[1])
    length = 0
    for _ in range(MAX_HEADERS):
        line = (await reader.readuntil(b"\r\n")).strip()
        if not line:
            break
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def client_connection(
    port: int, worker: int, requests: int, statuses: Counter[int], latencies: list[float]
) -> None:
    """One keep-alive connection sending ``requests`` requests in turn, checking the answers."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        key = f"/kv/client-{worker}"
        value = f"hello from client {worker}".encode()
        for step in range(requests):
            method, path, body, expect = [
                ("PUT", key, value, 204),
                ("GET", key, b"", 200),
                ("GET", "/hits", b"", 200),
                ("GET", "/stats", b"", 200),
            ][step % 4]
            started = time.perf_counter()
            async with asyncio.timeout(10):
                status, reply = await http_request(reader, writer, method, path, body)
            latencies.append(time.perf_counter() - started)
            statuses[status] += 1
            if status != expect or (path == key and method == "GET" and reply != value):
                raise AssertionError(f"{method} {path}: expected {expect}, got {status} {reply!r}")
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def remove_example_keys(redis: aiopool.Client) -> int:
    keys = [key async for key in redis.scan_iter(match=f"{PREFIX}*", count=500)]
    return await redis.delete(*keys) if keys else 0


async def self_test(redis_url: str, total: int, concurrency: int) -> bool:
    """Serve on a free port, send ``total`` requests over ``concurrency`` connections, report."""
    async with lifespan(redis_url, 0) as (app, server):
        port = server.sockets[0].getsockname()[1]
        await remove_example_keys(app.redis)
        print(f"serving on http://{HOST}:{port}; {app.redis!r}")
        statuses: Counter[int] = Counter()
        latencies: list[float] = []
        started = time.perf_counter()
        async with asyncio.TaskGroup() as group:
            for worker in range(concurrency):
                share = total // concurrency + (worker < total % concurrency)
                group.create_task(client_connection(port, worker, share, statuses, latencies))
        wall = time.perf_counter() - started
        stats = app.redis.pool.stats()

        # A few single requests to show the other answers.
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            for method, path in [("GET", "/kv/no-such-key"), ("POST", "/hits"), ("GET", "/")]:
                status, reply = await http_request(reader, writer, method, path)
                print(f"{method} {path} -> {status} {reply.decode().strip()}")
            status, reply = await http_request(reader, writer, "GET", "/hits")
            print(f"GET /hits -> {status} {reply.decode().strip()}")
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        removed = await remove_example_keys(app.redis)

    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[min(len(latencies) - 1, len(latencies) * 99 // 100)] * 1000
    print(f"\n-- web_app summary: {sum(statuses.values())} requests over {concurrency} connections")
    print(f"  status counts     {dict(sorted(statuses.items()))}")
    print(f"  wall time         {wall:.3f} s ({sum(statuses.values()) / wall:,.0f} requests/s)")
    print(f"  request latency   p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    print(
        f"  one shared pool   max_size={stats.max_size}: size={stats.size} "
        f"created={stats.created} acquired={stats.acquired} timeouts={stats.timeouts} "
        f"connect_errors={stats.connect_errors}"
    )
    print(f"  after shutdown    {app.redis.pool.stats()}")
    print(f"  removed {removed} example keys")
    return sum(statuses.values()) == total


async def main(args: argparse.Namespace) -> int:
    async with redis_url_or_throwaway() as url:
        if args.serve:
            await serve_until_interrupted(url, args.port if args.port is not None else 8080)
            return 0
        ok = await self_test(url, args.requests, args.concurrency)
        return 0 if ok else 1


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="A small HTTP service on one aiopool.Client.")
    parser.add_argument("--serve", action="store_true", help="serve until Ctrl-C")
    parser.add_argument(
        "--port", type=int, help="port on 127.0.0.1 (default 8080 with --serve, else a free one)"
    )
    parser.add_argument("--requests", type=int, default=200, help="self-test requests (200)")
    parser.add_argument("--concurrency", type=int, default=50, help="self-test connections (50)")
    args = parser.parse_args()
    if not (1 <= args.concurrency <= 1000 and args.concurrency <= args.requests <= 1_000_000):
        parser.error("need 1 <= --concurrency <= 1000 and --concurrency <= --requests <= 1000000")
    return args


if __name__ == "__main__":
    arguments = parse_args()
    logging.basicConfig(
        level=logging.INFO if arguments.serve else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    raise SystemExit(run(lambda: main(arguments)))
