"""The one backoff formula: exponential, full jitter, bounded by the caller's deadline.

It lives below the pool because the pool needs it to reconnect, and the pool
must not import the retry policy (``_retry``, which knows commands). ``_retry``
re-exports it: every other user (pub/sub reconnects, the cluster) takes it
from there.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Final, overload

__all__ = ["backoff"]

# 2**32 times any base is beyond every cap; the bound only keeps the float finite.
_MAX_DOUBLINGS: Final = 32


@overload
def backoff(
    attempt: int,
    base: float,
    cap: float,
    deadline: None = None,
    *,
    rand: Callable[[], float] = ...,
) -> float: ...


@overload
def backoff(
    attempt: int,
    base: float,
    cap: float,
    deadline: float | None,
    *,
    rand: Callable[[], float] = ...,
) -> float | None: ...


def backoff(
    attempt: int,
    base: float,
    cap: float,
    deadline: float | None = None,
    *,
    rand: Callable[[], float] = random.random,
) -> float | None:
    """The delay before retry number ``attempt`` (1 for the first retry), in seconds.

    Drawn uniformly from ``[0, min(cap, base * 2**attempt))`` ("full jitter":
    many clients that failed together spread their retries instead of
    retrying in step). ``deadline`` is a ``time.monotonic()`` value; when the
    delay would reach it, the result is ``None``: give up now rather than
    sleep past the caller's deadline (without one, the result is always a
    float). ``rand`` is for tests.
    """
    ceiling = min(cap, base * 2.0 ** min(attempt, _MAX_DOUBLINGS))
    delay = rand() * ceiling
    if deadline is not None and time.monotonic() + delay >= deadline:
        return None
    return delay
