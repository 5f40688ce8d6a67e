"""Queue (and optionally transform) N pipelines of 100 commands, with no I/O.

For counting instructions per queued command, which stays steady on a noisy
machine where timings do not:

    python tools/pipeline_cost.py --callgrind       # runs the three modes below

or by hand:

    valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        python tools/pipeline_cost.py queue 200     # minus the same with 0
    ... python tools/pipeline_cost.py full 200      # queue + reply transforms
    ... python tools/pipeline_cost.py bare 200      # hiredis.pack_command alone

(instructions(N=200) - instructions(N=0)) / 20,000 is the cost per command.
``bare`` packs the same 50 SET + 50 GET with ``hiredis.pack_command`` into a
list: the floor the queueing path is measured against.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

from aiopool import Client
from aiopool._pipeline import _results
from aiopool._protocol import pack_args

MODES = ("queue", "full", "bare")
COUNT = 200  # pipelines of 100 commands


def main(mode: str, count: int) -> None:
    keys = [f"k{i}" for i in range(50)]
    value = b"x" * 100
    if mode == "bare":
        pack = pack_args  # hiredis.pack_command, typed for any tuple
        for _ in range(count):
            packed = []
            for key in keys:
                packed.append(pack(("SET", key, value)))
                packed.append(pack(("GET", key)))
        return
    client = Client.from_url("redis://127.0.0.1:1/0")  # never connected
    replies: list[object] = []
    for _ in keys:
        replies += [b"OK", value]
    for _ in range(count):
        p = client.pipeline(transaction=False)
        for key in keys:
            p.set(key, value)
            p.get(key)
        if mode == "full":
            _results(p._commands, replies, True, False, "-")


def _instructions(mode: str, count: int) -> int:
    valgrind = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    run = subprocess.run(
        [*valgrind, sys.executable, __file__, mode, str(count)],
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"Collected : (\d+)", run.stderr)
    if found is None:
        raise SystemExit(f"no instruction count in valgrind's output:\n{run.stderr}")
    return int(found.group(1))


def callgrind() -> None:
    """Print the instructions per command of every mode (about a minute)."""
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed")
    commands = COUNT * 100
    for mode in MODES:
        per = (_instructions(mode, COUNT) - _instructions(mode, 0)) / commands
        print(f"{mode:6} {per:8,.0f} instructions per command")


if __name__ == "__main__":
    if sys.argv[1:] == ["--callgrind"]:
        callgrind()
    else:
        main(sys.argv[1], int(sys.argv[2]))
