"""``python -m aiopool bench`` and ``python -m aiopool tune``: measure aiopool, size its pool.

Modules: ``workloads`` (W1-W6 and their task loops), ``adapters``/``bare``/
``others`` (one small async interface per client), ``stats`` (percentiles,
CPU time, medians), ``runner`` (measurement windows, rounds in turns),
``report`` (table, JSON), ``tune`` (pool-size sweep) and ``cli``.
Third-party clients and matplotlib are imported only when used.
"""

from __future__ import annotations

from .cli import main

__all__ = ["main"]
