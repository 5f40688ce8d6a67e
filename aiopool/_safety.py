"""Which commands are safe to repeat when their outcome is unknown; no I/O.

A command that was written and got no reply (``OutcomeUnknown``) may have
run. Repeating it is harmless only when running it twice has the effect and
the reply of running it once. That holds for every command the server flags
``readonly`` (``_command_table.READ_ONLY``, generated from ``COMMAND INFO``)
and for the reviewed commands below. Anything else, and anything unknown, is
never repeated.
"""

from __future__ import annotations

from typing import Any, Final

from ._command_table import KNOWN, READ_ONLY
from ._protocol import canonical_name, lower_word

__all__ = ["ALSO_SAFE", "is_safe_to_repeat"]

# Not flagged readonly, yet repeating one changes nothing a caller could tell
# apart: introspection with no side effect, and writes that set an absolute
# state and answer the same each time. (A concurrent writer's value set
# between the two runs of an idempotent write is overwritten by the repeat,
# as if the caller's one write had landed a little later.)
ALSO_SAFE: Final = frozenset(
    {
        # connection and server introspection
        "ping",
        "echo",
        "time",
        "lastsave",
        "info",
        "role",
        "wait",
        "command",
        "command|count",
        "command|docs",
        "command|getkeys",
        "command|getkeysandflags",
        "command|info",
        "command|list",
        "config|get",
        "client|getname",
        "client|id",
        "client|info",
        "client|list",
        "client|getredir",
        "client|trackinginfo",
        "acl|cat",
        "acl|whoami",
        "acl|getuser",
        "acl|list",
        "acl|users",
        "slowlog|get",
        "slowlog|len",
        "latency|latest",
        "latency|history",
        "latency|histogram",
        "latency|doctor",
        "latency|graph",
        "memory|stats",
        "memory|doctor",
        "memory|malloc-stats",
        "module|list",
        "pubsub|channels",
        "pubsub|numpat",
        "pubsub|numsub",
        "pubsub|shardchannels",
        "pubsub|shardnumsub",
        "cluster|info",
        "cluster|nodes",
        "cluster|slots",
        "cluster|shards",
        "cluster|myid",
        "cluster|keyslot",
        "cluster|countkeysinslot",
        "cluster|getkeysinslot",
        "cluster|links",
        "cluster|replicas",
        "cluster|count-failure-reports",
        "acl|dryrun",
        "acl|genpass",  # random either way: the caller sees one password
        "acl|log",  # not with RESET (below)
        "function|list",
        "function|dump",
        "function|stats",
        "script|exists",
        # idempotent: the same state and the same reply when run twice
        "script|load",
        "client|unpause",
        "config|resetstat",
        "config|rewrite",
        "slowlog|reset",
        "memory|purge",
        "cluster|saveconfig",
        "set",
        "mset",
        "setex",
        "psetex",
        "hmset",
        "lset",
        "expireat",
        "pexpireat",
    }
)

# Options that make an otherwise idempotent command answer differently when
# run twice (SET NX succeeds once; SET GET returns the first run's value), by
# the position their search starts at.
_UNSAFE_OPTIONS: Final = {
    "set": (3, frozenset({"nx", "xx", "get"})),
    "acl|log": (2, frozenset({"reset"})),
    "expireat": (3, frozenset({"nx", "xx", "gt", "lt"})),
    "pexpireat": (3, frozenset({"nx", "xx", "gt", "lt"})),
}


def is_safe_to_repeat(args: tuple[Any, ...]) -> bool:
    """True when running ``args`` twice is indistinguishable from running it once.

    Read-only commands (by the server's flags) and the reviewed ``ALSO_SAFE``
    ones, minus the options that change their reply on a repeat. Unknown
    commands are not safe.
    """
    key = canonical_name(args)
    if key not in KNOWN or (key not in READ_ONLY and key not in ALSO_SAFE):
        return False
    unsafe = _UNSAFE_OPTIONS.get(key)
    if unsafe is not None:
        start, words = unsafe
        return not any(lower_word(arg) in words for arg in args[start:])
    return True
