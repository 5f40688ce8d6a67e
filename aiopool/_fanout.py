"""Where a keyless command goes in a cluster, and how several nodes' replies combine; no I/O.

``ClusterClient`` sends a command with keys to its slot's node, and any
other command to one primary, except:

* ``ON_ALL_PRIMARIES``: state every primary holds and replicas copy
  (``FLUSHALL``, scripts, functions, ``CONFIG SET``), or counts to add up
  (``DBSIZE``, ``KEYS``);
* ``ON_ALL_NODES``: state each node keeps for itself and does not
  replicate (users, statistics, the slow log, the config file), so
  replicas run it too: a replica promoted later must know the users;
* ``SLOT_ARGUMENT``: commands about one slot, named by an argument, go
  to the primary serving that slot.

Per-node commands with no sensible target (``CLIENT KILL``, ``SCRIPT
KILL``, ``SAVE``, the ``CLUSTER`` administration) are not cluster client
methods at all (``_commands._bindings.ABSENT`` says why).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

__all__ = ["ON_ALL_NODES", "ON_ALL_PRIMARIES", "SLOT_ARGUMENT", "argument_slot"]

Combine = Callable[[list[Any]], Any]


def _first(replies: list[Any]) -> Any:
    # Each node answered OK (an error reply raised already): one stands for all.
    return replies[0]


# Keyless commands that every primary must run, and how their replies combine.
ON_ALL_PRIMARIES: Final[dict[str, Combine]] = {
    "flushall": _first,
    "flushdb": _first,
    "script|load": _first,
    "script|flush": _first,
    "function|load": _first,
    "function|delete": _first,
    "function|flush": _first,
    "function|restore": _first,
    "config|set": _first,
    "dbsize": sum,
    "keys": lambda replies: [key for reply in replies for key in reply],
    "script|exists": lambda replies: [int(all(found)) for found in zip(*replies, strict=True)],
}

# Keyless commands every node, replicas included, must run.
ON_ALL_NODES: Final[dict[str, Combine]] = {
    "acl|setuser": _first,
    "acl|deluser": max,  # users are per node: the most any one node deleted
    "acl|load": _first,
    "acl|save": _first,
    "config|resetstat": _first,
    "config|rewrite": _first,
    "slowlog|reset": _first,
    "latency|reset": sum,
    "memory|purge": _first,
}

# Command -> the position of its slot argument.
SLOT_ARGUMENT: Final[dict[str, int]] = {
    "cluster|countkeysinslot": 2,
    "cluster|getkeysinslot": 2,
}


def argument_slot(args: tuple[Any, ...], name: str) -> int | None:
    """The slot ``args`` names (for a ``SLOT_ARGUMENT`` command); ``None`` if not a slot.

    A wrong value goes to any node, whose error reply says what is wrong.
    """
    position = SLOT_ARGUMENT.get(name)
    if position is None or len(args) <= position:
        return None
    try:
        slot = int(args[position])
    except (TypeError, ValueError):
        return None
    return slot if 0 <= slot < 16384 else None
