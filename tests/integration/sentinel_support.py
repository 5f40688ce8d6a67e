"""A write load and a ``+switch-master`` watcher for the Sentinel tests and tools/failover_bench.py.

Neither depends on the client under test: the load takes any async ``set``
callable and any tuple of error types it counts as "failed" (anything else
propagates), the watcher reads a sentinel over its own socket with hiredis.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import hiredis

from aiopool import Client
from aiopool.testing import RedisSentinel


@dataclass
class WriteLoad:
    """``tasks`` tasks writing unique keys ``<prefix>:<task>:<n>`` until ``stop()``."""

    set: Callable[[str, str], Awaitable[Any]]
    errors_counted: tuple[type[BaseException], ...]
    tasks: int = 40
    prefix: str = "load"
    pause: float = 0.005
    acked: dict[str, float] = field(default_factory=dict)
    failed: list[tuple[float, str]] = field(default_factory=list)
    _stop: bool = False
    _running: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> None:
        self._running = [asyncio.create_task(self._writer(i)) for i in range(self.tasks)]

    async def stop(self) -> None:
        self._stop = True
        await asyncio.gather(*self._running)

    async def _writer(self, task: int) -> None:
        for n in range(1_000_000):  # bounded; stop() ends it long before
            if self._stop:
                return
            key = f"{self.prefix}:{task}:{n}"
            try:
                await self.set(key, "1")
            except self.errors_counted as exc:
                self.failed.append((time.monotonic(), type(exc).__name__))
            else:
                self.acked[key] = time.monotonic()
            await asyncio.sleep(self.pause)

    def first_success_after(self, moment: float) -> float | None:
        times = [t for t in self.acked.values() if t >= moment]
        return min(times) if times else None

    def error_window(self) -> tuple[float, float] | None:
        if not self.failed:
            return None
        return self.failed[0][0], self.failed[-1][0]

    def error_kinds(self) -> dict[str, int]:
        kinds: dict[str, int] = {}
        for _, name in self.failed:
            kinds[name] = kinds.get(name, 0) + 1
        return kinds


class SwitchWatcher:
    """Subscribes to ``+switch-master`` on every sentinel of ``kit``.

    ``announced`` holds ``(time, new primary port)`` for each announcement;
    the first is when the sentinels announced the new primary.
    """

    def __init__(self, kit: RedisSentinel) -> None:
        self.ports = [s.port for s in kit.sentinel_servers]
        self.announced: list[tuple[float, int]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._ready = 0

    def __repr__(self) -> str:
        return f"<SwitchWatcher {self.ports} announced={self.announced}>"

    async def __aenter__(self) -> SwitchWatcher:
        self._tasks = [asyncio.create_task(self._run(port)) for port in self.ports]
        for _ in range(500):  # bounded: at most ~5 s
            if self._ready == len(self.ports):
                break
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self, port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            parser = hiredis.Reader()
            writer.write(b"SUBSCRIBE +switch-master\r\n")
            while True:
                data = await reader.read(65536)
                if not data:
                    return
                parser.feed(data)
                while (reply := parser.gets()) is not False:
                    if reply[0] == b"subscribe":
                        self._ready += 1
                    elif reply[0] == b"message":
                        fields = reply[2].split()
                        self.announced.append((time.monotonic(), int(fields[4])))
        finally:
            writer.close()

    async def wait(self, timeout: float) -> tuple[float, int]:
        deadline = time.monotonic() + timeout
        while not self.announced:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no +switch-master on {self.ports} in {timeout}s")
            await asyncio.sleep(0.01)
        return self.announced[0]


async def missing_on(kit: RedisSentinel, keys: list[str]) -> list[str]:
    """The ``keys`` the current primary does not have (read with MGET, 500 at a time)."""
    missing: list[str] = []
    async with Client.from_url(kit.primary.url) as direct:
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            values = await direct.mget(chunk)
            missing += [k for k, v in zip(chunk, values, strict=True) if v is None]
    return missing
