"""``python -m aiopool bench`` and ``python -m aiopool tune``: measure aiopool, size its pool.

Modules: ``workloads`` (W1-W7 and their task loops), ``adapters``/``bare``/
``others`` (one small async interface per client; ``aiopool-auto`` is aiopool
with ``auto_pipeline=True``), ``reference`` (``redis-benchmark`` as a
reference row for W1 and W7), ``stats`` (percentiles,
CPU time, medians), ``runner`` (measurement windows, rounds in turns),
``report`` (table, JSON), ``tune`` (pool-size sweep) and ``cli``.
Third-party clients and matplotlib are imported only when used.
"""

from __future__ import annotations

from .cli import main

__all__ = ["main"]
