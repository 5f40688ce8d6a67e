"""Compare the signatures of ``aiopool.Client`` with redis-py's ``redis.asyncio.Redis``.

    python tools/redis_py_parity.py            # the table and the summary
    python tools/redis_py_parity.py --check    # exit 1 on an unexplained difference
    python tools/redis_py_parity.py --missing  # redis-py methods aiopool lacks, grouped

For every public method both classes have, the parameters (names in
positional order, which are keyword-only, defaults) sort it into one of:

``same``
    the same parameters, kinds and defaults (annotations are not compared:
    aiopool's name its own types, and often accept more);
``compatible``
    every call redis-py accepts, by position or by keyword, binds to the
    parameter of the same name in aiopool: aiopool may add parameters with
    defaults, make a required one optional, take a keyword-only alias, or
    default to an equivalent "nothing" (``None`` for ``False``, ``()`` for
    ``[]``);
``different``
    some redis-py call fails, or binds an argument to another parameter.

redis-py's ``**kwargs`` on command methods are ``execute_command`` options
(``target_nodes=`` of its cluster client) that standalone code does not
pass, so they are not compared, except on the methods in ``REAL_KWARGS``.

``--check`` exits 1 when a ``different`` method has no reason in ``ALLOWED``
or when an ``ALLOWED`` entry is stale (the method is no longer different, or
gone); ``tests/unit/test_redis_py_parity.py`` runs it. Those reasons are the
migration guide's list of what redis-py code must change.

redis-py is a reference here, imported only by this tool: aiopool does not
depend on it.
"""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import aiopool

_NEWER = "came after Redis 7.0, which aiopool targets (a 7.0 server refuses it)"

# Method -> why its redis-py calls need changing. Keep each reason one sentence
# a migrating user can act on; ``--check`` fails on an entry no longer needed.
ALLOWED: dict[str, str] = {
    "aclose": (
        "aclose() takes no close_connection_pool: a Client always owns its pool and "
        "closes it (redis-py's argument chose whether to close a pool shared by hand)"
    ),
    "set": f"set() has no ifeq/ifne/ifdeq/ifdne: IFEQ and its kin (Redis 8.4) {_NEWER}",
    "xadd": f"xadd() has no ref_policy, idmpauto or idmp: each (Redis 8.2+) {_NEWER}",
    "xtrim": f"xtrim() has no ref_policy: KEEPREF/DELREF/ACKED (Redis 8.2) {_NEWER}",
    "xread": f"xread() has no max_count/max_size: each {_NEWER}",
    "xreadgroup": f"xreadgroup() has no claim_min_idle_time/max_count/max_size: each {_NEWER}",
    "hscan_iter": f"hscan_iter() has no no_values: HSCAN NOVALUES (Redis 7.4) {_NEWER}",
    "hscan": f"hscan() has no no_values: HSCAN NOVALUES (Redis 7.4) {_NEWER}",
    "from_url": (
        "from_url(url, **options) takes aiopool's options by keyword; it has no "
        "single_connection_client or auto_close_connection_pool (a Client always owns its pool)"
    ),
    "latency_graph": (
        "latency_graph(event) runs LATENCY GRAPH for one event (redis-py's takes no "
        "argument and raises NotImplementedError)"
    ),
    "pubsub": (
        "pubsub() takes only max_messages and ignore_subscribe_messages, which defaults to "
        "True (redis-py's to False: pass ignore_subscribe_messages=False to read the "
        "subscribe confirmations), not shard_hint, encoder, push_handler_func or "
        "event_dispatcher"
    ),
}

# redis-py methods whose ``**kwargs`` mean something (not execute_command options).
REAL_KWARGS = frozenset({"from_url", "pubsub"})

# redis-py methods aiopool has none of, by why. The first matching group names one.
MISSING_GROUPS: dict[str, tuple[str, ...]] = {
    "module commands (RedisJSON, RediSearch, TimeSeries, probabilistic, vector sets)": (
        "bf",
        "cf",
        "cms",
        "ft",
        "json",
        "tdigest",
        "topk",
        "ts",
        "vset",
    ),
    "change one pooled connection's session (a pipeline has watch/unwatch)": (
        "auth",
        "hello",
        "select",
        "reset",
        "quit",
        "readonly",
        "readwrite",
        "client_reply",
        "client_setinfo",
        "client_no_evict",
        "client_no_touch",
        "client_tracking",
        "client_tracking_on",
        "client_tracking_off",
        "script_debug",
        "watch",
        "unwatch",
        "keyspace_notifications",
    ),
    "Sentinel (aiopool has no Sentinel support)": ("sentinel",),
    "newer than Redis 7.0 (7.2 or 8.x commands)": (
        "ar",
        "blmovem",
        "lmovem",
        "delex",
        "digest",
        "digest_local",
        "increx",
        "msetex",
        "hexpire",
        "hexpireat",
        "hexpiretime",
        "hgetdel",
        "hgetex",
        "hpersist",
        "hpexpire",
        "hpexpireat",
        "hpexpiretime",
        "hpttl",
        "hsetex",
        "httl",
        "himport_",
        "hotkeys_",
        "sdiffcard",
        "sunioncard",
        "waitaof",
        "xackdel",
        "xcfgset",
        "xdelex",
        "xnack",
    ),
    "removed from Redis, replication or crash commands": (
        "stralgo",
        "psync",
        "sync",
        "debug_segfault",
        "load_external_module",
    ),
    "help text for redis-cli users": ("acl_help", "memory_help"),
    "containers: their subcommands are the methods (client_kill, cluster_info, ...)": (
        "client",
        "cluster",
        "command",
    ),
    "redis-py internals (connection kwargs, encoder, response callbacks, retry)": (
        "close",
        "from_pool",
        "get_connection_kwargs",
        "get_encoder",
        "get_retry",
        "set_retry",
        "initialize",
        "parse_response",
        "set_response_callback",
    ),
}
# A group entry is a method name, or a prefix when it ends with "_" or is "ar"/"sentinel".
_PREFIXES = frozenset({"ar", "sentinel"})


@dataclass
class Verdict:
    """One method's classification, with the reasons it is not ``same``."""

    name: str
    kind: str  # "same", "compatible" or "different"
    notes: list[str] = field(default_factory=list)


_EMPTY: tuple[object, ...] = (None, False, (), [], {})
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _is_nothing(value: object) -> bool:
    return any(value is e or (type(value) is type(e) and value == e) for e in _EMPTY)


def _default_notes(name: str, theirs: inspect.Parameter, ours: inspect.Parameter) -> list[str]:
    """``[]`` when the defaults agree, else ``[note]`` (``"!"`` first when different)."""
    empty = inspect.Parameter.empty
    if theirs.default is empty:
        return [] if ours.default is empty else [f"{name} is optional (required in redis-py)"]
    if ours.default is empty:
        return [f"! {name} is required (redis-py: default {theirs.default!r})"]
    same = type(ours.default) is type(theirs.default) and ours.default == theirs.default
    if same or ours.default is theirs.default:
        return []
    note = f"{name} defaults to {ours.default!r} (redis-py: {theirs.default!r})"
    if _is_nothing(ours.default) and _is_nothing(theirs.default):
        return [note]
    return [f"! {note}"]


def _parameters(function: Callable[..., Any]) -> list[inspect.Parameter]:
    """``function``'s parameters without ``self``."""
    parameters = list(inspect.signature(function).parameters.values())
    if parameters and parameters[0].name == "self":
        parameters = parameters[1:]
    return parameters


def compare(name: str, theirs: list[inspect.Parameter], ours: list[inspect.Parameter]) -> Verdict:
    """Classify ``ours`` (aiopool's parameters) against ``theirs`` (redis-py's)."""
    if name not in REAL_KWARGS:
        theirs = [p for p in theirs if p.kind is not p.VAR_KEYWORD]
    their_pos = [p for p in theirs if p.kind in _POSITIONAL]
    our_pos = [p for p in ours if p.kind in _POSITIONAL]
    their_star = any(p.kind is p.VAR_POSITIONAL for p in theirs)
    our_star = next((p for p in ours if p.kind is p.VAR_POSITIONAL), None)
    our_kwargs = any(p.kind is p.VAR_KEYWORD for p in ours)
    our_keyword = {p.name: p for p in ours if p.kind is not p.VAR_POSITIONAL}
    notes: list[str] = []
    aliases: set[str] = set()
    for index, theirs_p in enumerate(their_pos):
        if index < len(our_pos):
            ours_p = our_pos[index]
            if ours_p.name == theirs_p.name:
                notes += _default_notes(theirs_p.name, theirs_p, ours_p)
                continue
            alias = our_keyword.get(theirs_p.name)
            if alias is not None and alias.kind is alias.KEYWORD_ONLY:
                notes.append(f"argument {index + 1} is {ours_p.name} ({theirs_p.name}= works too)")
                aliases.add(theirs_p.name)
                notes += _default_notes(theirs_p.name, theirs_p, ours_p)
                continue
            notes.append(f"! argument {index + 1} is {ours_p.name}, redis-py's {theirs_p.name}")
        elif our_star is not None:
            notes.append(f"! {theirs_p.name} goes into *{our_star.name}: {theirs_p.name}= fails")
        else:
            notes.append(f"! no argument {index + 1} ({theirs_p.name})")
    for ours_p in our_pos[len(their_pos) :]:
        if their_star:
            notes.append(f"! {ours_p.name} takes what redis-py's *args would")
        elif ours_p.default is ours_p.empty:
            notes.append(f"! {ours_p.name} is required and redis-py has no such argument")
        else:
            notes.append(f"adds {ours_p.name}={ours_p.default!r}")
    if their_star and our_star is None:
        notes.append("! no *args")
    elif our_star is not None and not their_star and len(our_pos) >= len(their_pos):
        notes.append(f"adds *{our_star.name}")
    their_names = {p.name for p in theirs}
    for theirs_p in theirs:
        if theirs_p.kind is theirs_p.KEYWORD_ONLY:
            ours_p_or_none = our_keyword.get(theirs_p.name)
            if ours_p_or_none is None:
                if not our_kwargs:
                    notes.append(f"! no keyword {theirs_p.name}")
            else:
                notes += _default_notes(theirs_p.name, theirs_p, ours_p_or_none)
        elif theirs_p.kind is theirs_p.VAR_KEYWORD and not our_kwargs:
            notes.append(f"! no **{theirs_p.name}")
    for ours_p in ours:
        if ours_p.kind is ours_p.KEYWORD_ONLY and ours_p.name not in their_names:
            if ours_p.default is ours_p.empty:
                notes.append(f"! keyword {ours_p.name} is required")
            elif ours_p.name not in aliases:
                notes.append(f"adds keyword {ours_p.name}")
    if any(note.startswith("!") for note in notes):
        kind = "different"
    elif notes or _shape(theirs) != _shape(ours):
        kind = "compatible"
    else:
        kind = "same"
    return Verdict(name, kind, notes)


def _shape(parameters: list[inspect.Parameter]) -> list[tuple[str, object, object]]:
    """Names (``*`` for ``*args``), kinds and defaults: what ``same`` compares."""
    return [
        ("*" if p.kind is p.VAR_POSITIONAL else p.name, p.kind, repr(p.default)) for p in parameters
    ]


def _redis_py() -> type:
    import redis.asyncio  # a reference only: aiopool does not depend on redis-py

    return redis.asyncio.Redis


def _public(cls: type) -> dict[str, Callable[..., Any]]:
    return {
        name: getattr(cls, name)
        for name in dir(cls)
        if not name.startswith("_") and callable(getattr(cls, name, None))
    }


def classify(
    theirs_cls: type | None = None, ours_cls: type = aiopool.Client
) -> tuple[list[Verdict], list[str]]:
    """``(verdicts of the shared methods, redis-py methods aiopool lacks)``, by name."""
    theirs = _public(theirs_cls if theirs_cls is not None else _redis_py())
    ours = _public(ours_cls)
    verdicts = [
        compare(name, _parameters(theirs[name]), _parameters(ours[name]))
        for name in sorted(theirs.keys() & ours.keys())
    ]
    return verdicts, sorted(theirs.keys() - ours.keys())


def group_missing(names: Iterable[str]) -> dict[str, list[str]]:
    """The missing methods by ``MISSING_GROUPS``; the rest under ``"other"``."""
    grouped: dict[str, list[str]] = {}
    for name in names:
        for group, members in MISSING_GROUPS.items():
            if any(
                name == m
                or (m in _PREFIXES and name.startswith(m))
                or (m.endswith("_") and name.startswith(m))
                for m in members
            ):
                grouped.setdefault(group, []).append(name)
                break
        else:
            grouped.setdefault("other", []).append(name)
    return grouped


def problems(verdicts: list[Verdict]) -> list[str]:
    """Unexplained differences and stale ``ALLOWED`` entries, as lines."""
    kinds = {v.name: v.kind for v in verdicts}
    lines = [
        f"DIFFERENT {v.name}: {'; '.join(n[2:] for n in v.notes if n.startswith('!'))}"
        for v in verdicts
        if v.kind == "different" and v.name not in ALLOWED
    ]
    lines += [
        f"STALE ALLOWED[{name!r}]: the method is {kinds.get(name, 'not on both classes')}"
        for name in sorted(ALLOWED)
        if kinds.get(name) != "different"
    ]
    return lines


def report(verdicts: list[Verdict], missing: list[str], show_missing: bool) -> str:
    """The table, the summary, and with ``show_missing`` the missing methods."""
    lines = [f"{'method':28} {'verdict':11} notes"]
    for v in verdicts:
        kind = f"{v.kind}*" if v.name in ALLOWED else v.kind
        lines.append(f"{v.name:28} {kind:11} {'; '.join(v.notes)}".rstrip())
    counts = {k: sum(v.kind == k for v in verdicts) for k in ("same", "compatible", "different")}
    allowed = sum(v.kind == "different" and v.name in ALLOWED for v in verdicts)
    lines += [
        "",
        f"{len(verdicts)} methods on both: {counts['same']} same, {counts['compatible']} "
        f"compatible, {counts['different']} different ({allowed} of them explained in "
        f"ALLOWED, marked *); redis-py has {len(missing)} more that aiopool lacks",
    ]
    if show_missing:
        for group, names in group_missing(missing).items():
            lines += ["", f"{group} ({len(names)}):", "  " + ", ".join(names)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the comparison; with ``--check`` exit 1 on an unexplained difference."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="exit 1 on unexplained differences")
    parser.add_argument("--missing", action="store_true", help="list what aiopool lacks, grouped")
    args = parser.parse_args(argv)
    verdicts, missing = classify()
    print(report(verdicts, missing, args.missing))
    found = problems(verdicts)
    if found:
        print("", *found, sep="\n")
    return 1 if args.check and found else 0


if __name__ == "__main__":
    raise SystemExit(main())
