"""A FastAPI app whose requests share one ``aiopool.Client``, served by uvicorn.

The pattern to copy:

* ``lifespan`` opens the one client (one pool per worker process) before the
  first request and closes it after the last: uvicorn runs it after the
  listening socket closed and in-flight requests finished.
* ``get_redis`` is the dependency that hands the client to a route.
* ``add_error_handlers`` maps Redis errors to statuses in one place:
  ``PoolTimeout`` -> 503 with ``Retry-After`` (every connection stayed busy
  for ``acquire_timeout``: overloaded, no command was sent),
  ``ConnectionFailure`` -> 502, ``CommandTimeout`` -> 504, any other
  ``RedisError`` -> 500.

Routes::

    GET /one        1 command:  INCR a counter              {"hits": n}
    GET /five       5 commands, one after another           {"value", "count", "ttl"}
    GET /pipeline   one pipeline of 20 INCRs                {"replies": 20, "total": n}
    GET /healthz    pool.stats(), no round trip to Redis    {"status", "pool"}

Usage::

    python examples/fastapi_app.py           # serve on a free port, send 300 requests
                                             # to itself, print a summary, exit
    python examples/fastapi_app.py --serve   # uvicorn on http://127.0.0.1:8000 until Ctrl-C
    REDIS_URL=redis://127.0.0.1:6379/0 uvicorn --app-dir examples --factory fastapi_app:create_app

``$REDIS_URL`` (default ``redis://127.0.0.1:6379/0``; query options such as
``?max_size=50`` override the app's defaults) names the server; the first two
ways start a throwaway redis-server when nothing answers there. Only keys
under ``aiopool:example:web:`` are touched.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import signal
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any, cast

import uvicorn
from _support import event_loop_name, redis_url_or_throwaway, run
from _web import (
    HOST,
    PIPELINE_LENGTH,
    PREFIX,
    client_from_url,
    redis_url,
    remove_example_keys,
    self_test,
)
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse

import aiopool

logger = logging.getLogger("fastapi_app")

router = APIRouter()


def get_redis(request: Request) -> aiopool.Client:
    """The dependency: the client ``lifespan`` put in the app's state."""
    return cast(aiopool.Client, request.state.redis)


Redis = Annotated[aiopool.Client, Depends(get_redis)]


@router.get("/one")
async def one(redis: Redis) -> dict[str, Any]:
    return {"hits": await redis.incr(f"{PREFIX}hits")}


@router.get("/five")
async def five(redis: Redis) -> dict[str, Any]:
    await redis.set(f"{PREFIX}greeting", "hello")
    value = await redis.get(f"{PREFIX}greeting")
    count = await redis.incr(f"{PREFIX}count")
    await redis.expire(f"{PREFIX}count", 3600)
    ttl = await redis.ttl(f"{PREFIX}count")
    return {"value": value.decode() if value else None, "count": count, "ttl": ttl}


@router.get("/pipeline")
async def pipeline(redis: Redis) -> dict[str, Any]:
    async with redis.pipeline(transaction=False) as pipe:
        for i in range(PIPELINE_LENGTH):
            pipe.incr(f"{PREFIX}p:{i}")
        replies = await pipe.execute()
    return {"replies": len(replies), "total": sum(replies)}


@router.get("/healthz")
async def healthz(redis: Redis) -> dict[str, Any]:
    # No round trip: a probe that queues for a connection adds load exactly
    # when the pool is saturated, and a restart would not fix Redis anyway.
    stats = redis.pool.stats()
    status = "saturated" if stats.waiting else "ok"
    return {"status": status, "pool": dataclasses.asdict(stats)}


def add_error_handlers(app: FastAPI) -> None:
    """Redis errors -> HTTP statuses, for every route (the only place that maps them)."""

    def handler(
        status: int, message: str, headers: dict[str, str] | None = None
    ) -> Callable[[Request, Exception], Any]:
        async def respond(request: Request, exc: Exception) -> JSONResponse:
            logger.warning("%d for %s: %s", status, request.url.path, exc)
            return JSONResponse({"error": message}, status, headers)

        return respond

    app.add_exception_handler(
        aiopool.PoolTimeout, handler(503, "busy, retry shortly", {"Retry-After": "1"})
    )
    app.add_exception_handler(aiopool.PoolClosed, handler(503, "shutting down"))
    app.add_exception_handler(aiopool.CommandTimeout, handler(504, "Redis did not answer in time"))
    app.add_exception_handler(aiopool.ConnectionFailure, handler(502, "Redis is unreachable"))
    app.add_exception_handler(aiopool.RedisError, handler(500, "Redis error"))


ClientOpener = Callable[[str], AbstractAsyncContextManager[Any]]


def create_app(
    url: str | None = None,
    *,
    open_client: ClientOpener = client_from_url,
    routes: APIRouter = router,
) -> FastAPI:
    """The app; ``uvicorn --factory fastapi_app:create_app`` calls it with no arguments.

    ``open_client(url)`` is entered once by the lifespan and yields the client
    the routes get (``tools/web_bench.py`` passes redis-py's with its own routes).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        async with open_client(url or redis_url()) as redis:
            yield {"redis": redis}  # copied into each request's request.state

    app = FastAPI(lifespan=lifespan)
    add_error_handlers(app)
    app.include_router(routes)
    return app


# -- the two ways to run it as a script ------------------------------------------------------


def uvicorn_config(app: FastAPI, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=HOST,
        port=port,
        http="httptools",
        access_log=False,
        # In-flight requests get this long after SIGTERM; then the lifespan closes the pool.
        timeout_graceful_shutdown=5,
        log_level="warning",
    )


async def serve(port: int) -> None:
    """Serve until SIGINT or SIGTERM; uvicorn drains requests, then the lifespan ends."""
    async with redis_url_or_throwaway() as url:
        print(f"serving on http://{HOST}:{port} ({event_loop_name()}); Ctrl-C to stop", flush=True)
        await uvicorn.Server(uvicorn_config(create_app(url), port)).serve()
    print("stopped; the pool is closed", flush=True)


async def demo() -> bool:
    async with redis_url_or_throwaway() as url:
        with socket.socket() as sock:
            sock.bind((HOST, 0))
            port = sock.getsockname()[1]
            server = uvicorn.Server(uvicorn_config(create_app(url), port))
            serving = asyncio.create_task(server.serve(sockets=[sock]))
            while not server.started:  # bounded: serve() ends (and raises) if startup fails
                if serving.done():
                    await serving
                    return False
                await asyncio.sleep(0.01)
            print(f"uvicorn on http://{HOST}:{port} ({event_loop_name()})")
            ok = await self_test(f"http://{HOST}:{port}")
            server.should_exit = True
            await serving
        async with client_from_url(url) as redis:
            print(f"stopped; removed {await remove_example_keys(redis)} example keys")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description="A FastAPI app on one aiopool.Client.")
    parser.add_argument("--serve", action="store_true", help="serve until Ctrl-C or SIGTERM")
    parser.add_argument("--port", type=int, default=8000, help="with --serve (8000)")
    args = parser.parse_args()
    if not args.serve:
        return 0 if run(demo) else 1
    # uvicorn turns SIGTERM and SIGINT into a graceful shutdown, then re-raises the
    # signal against the handler it found; these let the process end normally (status 0).
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: None)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    run(lambda: serve(args.port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
