"""Pipelines, a WATCH transaction, a Lua script and pub/sub, in one run.

Run it with ``python examples/beyond_get_set.py``. It uses ``$REDIS_URL``
(default ``redis://127.0.0.1:6379/0``), or starts a throwaway redis-server
when nothing answers there. It only touches keys and channels under
``aiopool:example:`` and deletes the keys at the end.
"""

from __future__ import annotations

import asyncio
import uuid

from _support import redis_url_or_throwaway, run

import aiopool

PREFIX = "aiopool:example:"
BALANCE = PREFIX + "balance"
SPENT = PREFIX + "spent"
PROFILE = PREFIX + "profile"
SCORE = PREFIX + "score"
CHANNEL = PREFIX + "orders"
CLIENT_NAME = f"aiopool-example-{uuid.uuid4().hex[:8]}"

CAPPED_INCR = """
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
local cap = tonumber(ARGV[2])
if value > cap then
    redis.call('SET', KEYS[1], cap)
    return cap
end
return value
"""


async def pipelines(r: aiopool.Client) -> None:
    # One write, one connection, results converted as the typed methods would.
    async with r.pipeline(transaction=False) as p:
        p.set(BALANCE, 100).hset(PROFILE, mapping={"name": "ada", "plan": "pro"})
        p.hgetall(PROFILE).incrby(BALANCE, 5)
        print("pipeline ->", await p.execute())


async def transaction(r: aiopool.Client) -> None:
    attempts = 0

    async def spend(p: aiopool.Pipeline) -> None:
        nonlocal attempts
        attempts += 1
        # Read on the watched connection: no second connection needed.
        balance = int(await p.immediate.get(BALANCE) or 0)
        if attempts == 1:
            # Someone else writes between our read and EXEC: WATCH catches it.
            await r.incrby(BALANCE, 1)
        p.set(BALANCE, balance - 30).incrby(SPENT, 30)

    results = await r.transaction(spend, BALANCE)
    print(f"transaction -> {results} after {attempts} attempts; balance", await r.get(BALANCE))


async def script(r: aiopool.Client) -> None:
    # A comment unique to this run gives the script a SHA1 the server has never
    # seen, so the first call gets NOSCRIPT and loads it without a fuss.
    capped_incr = r.register_script(f"-- run {uuid.uuid4()}\n{CAPPED_INCR}")
    print("script loaded?", await r.script_exists(capped_incr.sha))
    print("script ->", await capped_incr(keys=[SCORE], args=[7, 10]))
    print("script ->", await capped_incr(keys=[SCORE], args=[7, 10]), "(capped)")


async def pubsub(r: aiopool.Client) -> None:
    async with r.pubsub() as ps:
        await ps.subscribe(CHANNEL)  # returns once the server confirmed it
        for order in ("tea", "cake"):
            print(f"publish {order!r} -> {await r.publish(CHANNEL, order)} subscriber(s)")
        for _ in range(2):
            message = await ps.get_message(timeout=5)
            print("received", message)
        # The server drops our subscriber (only ours: it runs under our
        # client name); it reconnects and says so.
        for client in await r.client_list(type_="pubsub"):
            if client["name"] == CLIENT_NAME:
                await r.execute("CLIENT", "KILL", "ID", client["id"])
        for _ in range(2):
            print("received", await ps.get_message(timeout=5))
        print(f"publish after the gap -> {await r.publish(CHANNEL, 'pie')} subscriber(s)")
        print("received", await ps.get_message(timeout=5))


async def main() -> None:
    async with (
        redis_url_or_throwaway() as url,
        aiopool.Client.from_url(url, decode_responses=True, client_name=CLIENT_NAME) as r,
    ):
        try:
            await pipelines(r)
            await transaction(r)
            await script(r)
            await asyncio.wait_for(pubsub(r), timeout=30)
        finally:
            await r.delete(BALANCE, SPENT, PROFILE, SCORE)
        print(r.pool.stats())


if __name__ == "__main__":
    run(main)
