"""A one-line text progress bar on stderr, redrawn with ``\\r``; no dependency.

It draws only between measurements (never while one runs), and only when
enabled: the command line turns it on when stderr is a terminal and
``--no-progress`` was not given.
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """``[#####.....] 12/40 W2 round 2/3 redis-py  ETA 25s`` on one line of ``stream``."""

    def __init__(self, *, enabled: bool, stream: TextIO | None = None) -> None:
        self.enabled = enabled
        self.total = 0
        self.finished = 0
        self._begun = 0
        self._stream = stream if stream is not None else sys.stderr
        self._started = time.monotonic()
        self._drawn = False

    def __repr__(self) -> str:
        return f"<Progress {self.finished}/{self.total} enabled={self.enabled}>"

    def add(self, steps: int) -> None:
        """Expect ``steps`` more steps."""
        self.total += steps

    def step(self, label: str) -> None:
        """Show ``label`` as the step running now; every step before it has finished."""
        self.finished = self._begun
        self._begun += 1
        if self.enabled:
            self._draw(label)

    def _draw(self, label: str) -> None:
        done, total = min(self.finished, self.total), max(self.total, 1)
        elapsed = time.monotonic() - self._started
        eta = f"ETA {elapsed / done * (total - done):.0f}s" if done else "ETA ?"
        width = 24
        filled = width * done // total
        line = f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label}  {eta}"
        columns = shutil.get_terminal_size((80, 24)).columns
        line = line[: max(columns - 1, 10)]
        self._stream.write("\r" + line.ljust(columns - 1))
        self._stream.flush()
        self._drawn = True

    def done(self) -> None:
        """Clear the line (the table follows on stdout)."""
        if self.enabled and self._drawn:
            columns = shutil.get_terminal_size((80, 24)).columns
            self._stream.write("\r" + " " * (columns - 1) + "\r")
            self._stream.flush()
        self._drawn = False
