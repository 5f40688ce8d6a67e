"""Queue (and optionally transform) N pipelines of 100 commands, with no I/O.

For counting instructions per queued command, which stays steady on a noisy
machine where timings do not:

    valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        python tools/pipeline_cost.py queue 200     # minus the same with 0
    ... python tools/pipeline_cost.py full 200      # queue + reply transforms

(instructions(N=200) - instructions(N=0)) / 20,000 is the cost per command.
"""

from __future__ import annotations

import sys

from aiopool import Client
from aiopool._pipeline import _results


def main(mode: str, count: int) -> None:
    keys = [f"k{i}" for i in range(50)]
    value = b"x" * 100
    client = Client.from_url("redis://127.0.0.1:1/0")  # never connected
    replies: list[object] = []
    for _ in keys:
        replies += [b"OK", value]
    for _ in range(count):
        p = client.pipeline()
        for key in keys:
            p.set(key, value)
            p.get(key)
        if mode == "full":
            _results(p._commands, replies, True, False, "-")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
