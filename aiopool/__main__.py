"""``python -m aiopool``: the ``bench`` and ``tune`` tools (see ``aiopool._bench``)."""

from __future__ import annotations

import sys

from ._bench import main

if __name__ == "__main__":
    sys.exit(main())
