"""A tour of aiopool: commands, raw commands, a borrowed connection, errors, stats.

Run it with ``python examples/quickstart.py``. It uses ``$REDIS_URL``
(default ``redis://127.0.0.1:6379/0``), or starts a throwaway redis-server
when nothing answers there. It only touches keys under ``aiopool:example:``
and deletes them at the end.
"""

from __future__ import annotations

from _support import redis_url_or_throwaway, run

import aiopool

GREETING = "aiopool:example:greeting"
HITS = "aiopool:example:hits"


async def main() -> None:
    async with redis_url_or_throwaway() as url:
        # One client (one pool) for the whole program; every command borrows a
        # connection for one round trip, so any number of tasks can share it.
        async with aiopool.Client.from_url(url, max_size=20) as r:
            print(r)

            await r.set(GREETING, "hello")
            print(f"SET {GREETING} hello; GET ->", await r.get(GREETING))

            # Any command, as raw arguments; the reply comes back as the server sent it.
            print(f"INCR {HITS} ->", await r.execute("INCR", HITS))
            print(f"INCR {HITS} ->", await r.execute("INCR", HITS))

            # Borrow one connection for several commands; it goes back on exit.
            async with r.pool.acquire() as conn:
                print("borrowed", conn)
                print(f"  GET {GREETING} on it ->", await conn.execute("GET", GREETING))
                print("  CLIENT ID on it ->", await conn.execute("CLIENT", "ID"))

            # An error reply raises a typed exception; the connection survives it.
            try:
                await r.execute("LPUSH", GREETING, "oops")
            except aiopool.ReplyError as exc:
                print(f"LPUSH on a string -> {type(exc).__name__} code={exc.code!r}: {exc.message}")
            # ... which the next command shows: it gets its own reply.
            print(f"GET {GREETING} after the error ->", await r.get(GREETING))

            # Typos in options fail at once, naming the option.
            try:
                aiopool.Client.from_url(url, max_connections=5)
            except TypeError as exc:
                print("from_url(max_connections=5) ->", exc)

            print(f"DEL -> {await r.delete(GREETING, HITS)} key(s) removed")
            print(r.pool.stats())
        print("after close:", r.pool.stats())


if __name__ == "__main__":
    run(main)
