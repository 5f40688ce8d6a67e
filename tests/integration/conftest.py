"""Clients on the shared, flushed test server (``redis_url`` from aiopool.testing)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from aiopool import Client


@pytest.fixture
async def r(redis_url: str) -> AsyncIterator[Client]:
    """A client with raw ``bytes`` replies."""
    async with Client.from_url(redis_url) as client:
        yield client


@pytest.fixture
async def rs(redis_url: str) -> AsyncIterator[Client]:
    """A client with ``decode_responses=True``."""
    async with Client.from_url(redis_url, decode_responses=True) as client:
        yield client
