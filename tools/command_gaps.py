"""List every command a server knows that has no typed method, with the reason it has none.

    python tools/command_gaps.py                      # starts a throwaway redis-server
    python tools/command_gaps.py --url redis://127.0.0.1:6379/0
    python tools/command_gaps.py --all                # the explained gaps too

It asks the server for ``COMMAND LIST`` and maps each entry to the method
redis-py would name it (``client|kill`` -> ``client_kill``, ``del`` ->
``delete``). An entry with no method on ``aiopool.Client`` must have a written
reason: ``UNBOUND`` below, a session-changing command (``aiopool._protocol``
says what to use instead), a container (``CLIENT``: its subcommands are the
methods) or a ``HELP`` subcommand. It exits 1 when a gap has no reason, or
when a reason is stale (its command now has a method, or the server no longer
lists it); ``tests/integration/test_command_gaps.py`` runs it against a real
server so the list of unexplained gaps is empty and stays empty.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field

import aiopool
from aiopool import _protocol
from aiopool._command_table import CONTAINERS

# Where redis-py's method name is not the command's name with "|" and "-" as "_".
METHOD_NAMES: dict[str, str] = {
    "del": "delete",
    "cluster|saveconfig": "cluster_save_config",
    "cluster|set-config-epoch": "cluster_set_config_epoch",
    "cluster|count-failure-reports": "cluster_count_failure_report",
    "cluster|getkeysinslot": "cluster_get_keys_in_slot",
    "slaveof": "slaveof",
}

_CLUSTER_INTERNAL = "part of Redis Cluster's own protocol between nodes and clients"
_REPLICATION = "part of replication between servers, not for clients"
_SERVER_DEBUGGING = "for debugging the server itself (HyperLogLog internals)"
_ONE_NODE = (
    "acts on the one node it is sent to: run it with a Client connected to that node "
    "(or ClusterClient.node(address).execute(...))"
)

# Command (as COMMAND LIST names it) -> why there is no typed method. Session
# commands, containers and HELP subcommands are explained by rule (``reason``).
UNBOUND: dict[str, str] = {
    "asking": f"{_CLUSTER_INTERNAL}: ClusterClient sends it when it follows an ASK redirect",
    "restore-asking": f"{_CLUSTER_INTERNAL}: MIGRATE sends it during resharding",
    "georadius_ro": (
        "georadius() sends GEORADIUS_RO itself when nothing is stored, so a replica can "
        "serve it (redis-py has no method of this name)"
    ),
    "georadiusbymember_ro": (
        "georadiusbymember() sends GEORADIUSBYMEMBER_RO itself when nothing is stored "
        "(redis-py has no method of this name)"
    ),
    "command": (
        "COMMAND with no subcommand (every command's docs): command_info() with no names "
        "gives the same dict; command(*args) is a pipeline's raw-command queueing method"
    ),
    "cluster|slaves": "the deprecated name of CLUSTER REPLICAS: cluster_replicas()",
    "xsetid": (
        "an internal command a primary uses to replicate a stream's last ID (the Redis "
        "docs say so; redis-py has no method either)"
    ),
    "pfdebug": _SERVER_DEBUGGING,
    "pfselftest": _SERVER_DEBUGGING,
    "debug": (
        "DEBUG can crash, freeze or corrupt the server (DEBUG SEGFAULT, DEBUG SLEEP, "
        "DEBUG RELOAD); debug_object() is the one introspection subcommand an app uses, "
        "and execute('DEBUG', ...) runs the rest"
    ),
}


@dataclass
class Gaps:
    """What ``COMMAND LIST`` has that ``aiopool.Client`` has no method for."""

    covered: list[tuple[str, str]] = field(default_factory=list)  # (command, method)
    explained: list[tuple[str, str]] = field(default_factory=list)  # (command, reason)
    unexplained: list[str] = field(default_factory=list)
    stale: list[tuple[str, str]] = field(default_factory=list)  # (command, why stale)


def method_name(command: str) -> str:
    """The method redis-py would give ``command`` (``"client|kill"`` -> ``"client_kill"``)."""
    command = command.lower()
    return METHOD_NAMES.get(command) or command.replace("|", "_").replace("-", "_")


def reason(command: str) -> str | None:
    """Why ``command`` has no typed method, or ``None`` when nothing explains it."""
    command = command.lower()
    if command in UNBOUND:
        return UNBOUND[command]
    if command.endswith("|help"):
        return "prints usage text for people at redis-cli; the docstrings say the same"
    session = _protocol.session_command(tuple(command.split("|")))
    if session is not None:
        name, advice = session
        return f"{name} would change a pooled connection's session; use {advice}"
    if command in CONTAINERS:
        return f"a container command: its subcommands are the methods ({command}_...)"
    return None


def find_gaps(commands: Iterable[str], methods: Iterable[str]) -> Gaps:
    """Sort ``commands`` (COMMAND LIST) by whether ``methods`` (public names) cover them."""
    have = set(methods)
    listed = {command.lower() for command in commands}
    gaps = Gaps()
    for command in sorted(listed):
        method = method_name(command)
        why = reason(command)
        if method in have:
            gaps.covered.append((command, method))
            if command in UNBOUND:
                gaps.stale.append((command, f"has a method now ({method}): drop its reason"))
        elif why is not None:
            gaps.explained.append((command, why))
        else:
            gaps.unexplained.append(command)
    for command in sorted(set(UNBOUND) - listed):
        gaps.stale.append((command, "the server does not list it: drop its reason"))
    return gaps


def client_methods() -> set[str]:
    """Every public name of ``aiopool.Client`` (typed and hand-written methods)."""
    return {name for name in dir(aiopool.Client) if not name.startswith("_")}


async def command_list(url: str) -> list[str]:
    """The server's ``COMMAND LIST``."""
    async with aiopool.Client.from_url(url, decode_responses=True) as client:
        return [str(name) for name in await client.execute("COMMAND", "LIST")]


def report(gaps: Gaps, show_all: bool) -> str:
    """The text the tool prints."""
    lines = [
        f"{len(gaps.covered)} commands have a typed method, {len(gaps.explained)} have a "
        f"written reason for none, {len(gaps.unexplained)} have neither"
    ]
    if show_all:
        lines += [f"  {command:28} {why}" for command, why in gaps.explained]
    lines += [
        f"UNEXPLAINED {command} (no method {method_name(command)}())"
        for command in gaps.unexplained
    ]
    lines += [f"STALE {command}: {why}" for command, why in gaps.stale]
    return "\n".join(lines)


def server_commands(url: str | None) -> list[str]:
    """``COMMAND LIST`` of the server at ``url``, or of a throwaway one."""
    if url is not None:
        return asyncio.run(command_list(url))
    from aiopool.testing import RedisServer

    with RedisServer() as server:
        return asyncio.run(command_list(server.url))


def main(argv: list[str] | None = None) -> int:
    """Print the gaps; exit 1 when one is unexplained or a reason is stale."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--url", help="a server to ask (default: start a throwaway one)")
    parser.add_argument("--all", action="store_true", help="list the explained gaps too")
    args = parser.parse_args(argv)
    gaps = find_gaps(server_commands(args.url), client_methods())
    print(report(gaps, args.all))
    return 1 if gaps.unexplained or gaps.stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
