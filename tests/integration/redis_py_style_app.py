"""The small app of docs/migrating-from-redis-py.md, with the guide's aiopool lines.

The function bodies are the guide's redis-py code, unchanged; ``make_app``
only builds the client from a URL the test gives, where the guide's line has
``redis://localhost:6379/0``.
"""

from __future__ import annotations

from typing import Any

import aiopool


def make_app(url: str) -> dict[str, Any]:
    """The guide's client and functions, on the server at ``url``."""
    r = aiopool.Client.from_url(url, decode_responses=True, max_connections=50, socket_timeout=2)

    async def add_to_cart(user: str, item: str) -> int:
        async with r.pipeline() as pipe:
            pipe.hincrby(f"cart:{user}", item, 1)
            pipe.expire(f"cart:{user}", 3600)
            count, _ = await pipe.execute()
        await r.publish("carts", user)
        return int(count)

    async def checkout(user: str) -> bool:
        async with r.lock(f"lock:checkout:{user}", timeout=10, blocking_timeout=2):  # noqa: SIM117
            async with r.pipeline() as pipe:
                await pipe.watch(f"cart:{user}")
                cart = await pipe.hgetall(f"cart:{user}")
                if not cart:
                    return False
                pipe.multi()
                pipe.rpush("orders", f"{user}:{sorted(cart.items())}")
                pipe.delete(f"cart:{user}")
                await pipe.execute()
        return True

    async def watch_carts() -> None:
        pubsub = r.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe("carts")
        async for message in pubsub.listen():
            if message["type"] == "message":
                print("cart changed:", message["data"])

    return {"r": r, "add_to_cart": add_to_cart, "checkout": checkout, "watch_carts": watch_carts}
