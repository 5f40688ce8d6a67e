"""An aiohttp app whose requests share one ``aiopool.Client``.

The pattern to copy:

* ``redis_client`` is a ``cleanup_ctx``: it opens the one client (one pool per
  worker process) before the app serves and closes it on cleanup, which
  aiohttp runs after the site stopped and in-flight handlers finished.
* ``REDIS`` is a typed ``web.AppKey``: ``request.app[REDIS]`` is an
  ``aiopool.Client`` to the type checker too.
* ``redis_errors`` is a middleware mapping Redis errors to statuses in one
  place: ``PoolTimeout`` -> 503 with ``Retry-After``, ``ConnectionFailure``
  -> 502, ``CommandTimeout`` -> 504, any other ``RedisError`` -> 500.

Routes (the same as ``fastapi_app.py``)::

    GET /one        1 command:  INCR a counter              {"hits": n}
    GET /five       5 commands, one after another           {"value", "count", "ttl"}
    GET /pipeline   one pipeline of 20 INCRs                {"replies": 20, "total": n}
    GET /healthz    pool.stats(), no round trip to Redis    {"status", "pool"}

Usage::

    python examples/aiohttp_app.py           # serve on a free port, send 300 requests
                                             # to itself, print a summary, exit
    python examples/aiohttp_app.py --serve   # serve on http://127.0.0.1:8080 until Ctrl-C

``$REDIS_URL`` (default ``redis://127.0.0.1:6379/0``; query options such as
``?max_size=50`` override the app's defaults) names the server; a throwaway
redis-server is started when nothing answers there. Only keys under
``aiopool:example:web:`` are touched.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import signal
from collections.abc import AsyncIterator

from _support import event_loop_name, redis_url_or_throwaway, run
from _web import HOST, PIPELINE_LENGTH, PREFIX, client_from_url, remove_example_keys, self_test
from aiohttp import web
from aiohttp.typedefs import Handler

import aiopool

logger = logging.getLogger("aiohttp_app")

REDIS_URL = web.AppKey("redis_url", str)
REDIS = web.AppKey("redis", aiopool.Client)
SHUTDOWN_TIMEOUT = 5.0  # in-flight requests get this long at shutdown; then the pool closes

routes = web.RouteTableDef()


@routes.get("/one")
async def one(request: web.Request) -> web.Response:
    redis = request.app[REDIS]
    return web.json_response({"hits": await redis.incr(f"{PREFIX}hits")})


@routes.get("/five")
async def five(request: web.Request) -> web.Response:
    redis = request.app[REDIS]
    await redis.set(f"{PREFIX}greeting", "hello")
    value = await redis.get(f"{PREFIX}greeting")
    count = await redis.incr(f"{PREFIX}count")
    await redis.expire(f"{PREFIX}count", 3600)
    ttl = await redis.ttl(f"{PREFIX}count")
    body = {"value": value.decode() if value else None, "count": count, "ttl": ttl}
    return web.json_response(body)


@routes.get("/pipeline")
async def pipeline(request: web.Request) -> web.Response:
    async with request.app[REDIS].pipeline(transaction=False) as pipe:
        for i in range(PIPELINE_LENGTH):
            pipe.incr(f"{PREFIX}p:{i}")
        replies = await pipe.execute()
    return web.json_response({"replies": len(replies), "total": sum(replies)})


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    # No round trip: a probe that queues for a connection adds load exactly
    # when the pool is saturated, and a restart would not fix Redis anyway.
    stats = request.app[REDIS].pool.stats()
    status = "saturated" if stats.waiting else "ok"
    return web.json_response({"status": status, "pool": dataclasses.asdict(stats)})


def error(status: int, message: str, exc: Exception, request: web.Request) -> web.Response:
    logger.warning("%d for %s: %s", status, request.path, exc)
    headers = {"Retry-After": "1"} if status == 503 else None
    return web.json_response({"error": message}, status=status, headers=headers)


@web.middleware
async def redis_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Redis errors -> HTTP statuses, for every route (the only place that maps them)."""
    try:
        return await handler(request)
    except aiopool.PoolTimeout as exc:  # every connection stayed busy: overloaded
        return error(503, "busy, retry shortly", exc, request)
    except aiopool.PoolClosed as exc:
        return error(503, "shutting down", exc, request)
    except aiopool.CommandTimeout as exc:
        return error(504, "Redis did not answer in time", exc, request)
    except aiopool.ConnectionFailure as exc:
        return error(502, "Redis is unreachable", exc, request)
    except aiopool.RedisError as exc:
        return error(500, "Redis error", exc, request)


async def redis_client(app: web.Application) -> AsyncIterator[None]:
    """The cleanup context: the client lives exactly as long as the app serves."""
    async with client_from_url(app[REDIS_URL]) as redis:
        app[REDIS] = redis
        yield


def create_app(url: str) -> web.Application:
    app = web.Application(middlewares=[redis_errors])
    app[REDIS_URL] = url
    app.cleanup_ctx.append(redis_client)
    app.add_routes(routes)
    return app


# -- the two ways to run it as a script ------------------------------------------------------


async def serve(port: int) -> None:
    """Serve until SIGINT or SIGTERM; ``runner.cleanup()`` drains requests, then closes the pool."""
    async with redis_url_or_throwaway() as url:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        runner = web.AppRunner(create_app(url), shutdown_timeout=SHUTDOWN_TIMEOUT)
        await runner.setup()
        try:
            await web.TCPSite(runner, HOST, port).start()
            print(f"serving on http://{HOST}:{port} ({event_loop_name()}); Ctrl-C to stop")
            await stop.wait()
        finally:
            await runner.cleanup()
    print("stopped; the pool is closed", flush=True)


async def demo() -> bool:
    async with redis_url_or_throwaway() as url:
        runner = web.AppRunner(create_app(url), shutdown_timeout=SHUTDOWN_TIMEOUT)
        await runner.setup()
        try:
            await web.TCPSite(runner, HOST, 0).start()
            host, port = runner.addresses[0][:2]
            print(f"aiohttp on http://{host}:{port} ({event_loop_name()})")
            ok = await self_test(f"http://{host}:{port}")
        finally:
            await runner.cleanup()
        async with client_from_url(url) as redis:
            print(f"stopped; removed {await remove_example_keys(redis)} example keys")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description="An aiohttp app on one aiopool.Client.")
    parser.add_argument("--serve", action="store_true", help="serve until Ctrl-C or SIGTERM")
    parser.add_argument("--port", type=int, default=8080, help="with --serve (8080)")
    args = parser.parse_args()
    if not args.serve:
        return 0 if run(demo) else 1
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    run(lambda: serve(args.port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
