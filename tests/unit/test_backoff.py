"""The one backoff formula: exponential, full jitter, bounded by the caller's deadline."""

from __future__ import annotations

import time

import pytest

from aiopool._backoff import backoff
from aiopool._retry import backoff as reexported


@pytest.mark.parametrize(
    ("attempt", "ceiling"), [(1, 0.1), (2, 0.2), (3, 0.4), (5, 1.6), (6, 2.0), (10_000, 2.0)]
)
def test_the_ceiling_doubles_per_attempt_up_to_the_cap(attempt: int, ceiling: float) -> None:
    assert backoff(attempt, 0.05, 2.0, rand=lambda: 1.0) == pytest.approx(ceiling)
    assert backoff(attempt, 0.05, 2.0, rand=lambda: 0.0) == 0.0


def test_the_delay_is_drawn_uniformly_below_the_ceiling() -> None:
    delays = [backoff(3, 0.05, 2.0) for _ in range(2000)]
    assert all(d is not None and 0.0 <= d < 0.4 for d in delays)
    values = [d for d in delays if d is not None]
    assert 0.17 < sum(values) / len(values) < 0.23  # mean of U(0, 0.4) is 0.2
    assert min(values) < 0.02
    assert max(values) > 0.38


def test_a_delay_that_would_reach_the_deadline_means_give_up() -> None:
    soon = time.monotonic() + 0.05
    assert backoff(1, 1.0, 10.0, soon, rand=lambda: 0.5) is None  # 1 s > 50 ms left
    assert backoff(1, 0.001, 10.0, soon, rand=lambda: 0.5) == pytest.approx(0.001)
    assert backoff(1, 0.001, 10.0, time.monotonic() - 1, rand=lambda: 0.0) is None


def test_retry_reexports_the_one_function() -> None:
    assert reexported is backoff
