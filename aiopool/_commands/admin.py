"""Server administration: ACL, SLOWLOG, LATENCY, MEMORY, MODULE, COMMAND, persistence.

Result shapes are redis-py's (RESP2): where it parses a reply (``ACL
GETUSER``, ``SLOWLOG GET``, ``MEMORY STATS``, ...) the same dict comes back
here; ``+OK`` replies are ``True``. On a ``ClusterClient`` each docstring
says which nodes run the command (``_fanout`` holds the tables).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .._errors import DataTypeError, DataValueError
from ._base import (
    Arg,
    Command,
    Key,
    Value,
    integer,
    need_keys,
    not_negative,
    ok,
    positive,
    to_str,
)
from .server import _client_fields, _double_text, _fields, _mapping, _resp2


def _str_list(reply: Any) -> list[str]:
    return [to_str(item) for item in reply]


def _text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


def _words(name: str, values: Iterable[Any] | str | bytes | None) -> list[Any]:
    """An iterable argument as a list; a lone ``str`` is refused (it would be split)."""
    if values is None:
        return []
    if isinstance(values, str | bytes):
        raise DataTypeError(f"{name} must be a list of str, not a lone {type(values).__name__}")
    return list(values)


def _as_bytes(value: Any) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


# -- ACL --------------------------------------------------------------------------------------


def acl_cat(category: str | None = None) -> Command[list[str]]:
    """ACL CAT: the ACL categories, or the commands of ``category``, as ``str``.

    On a ``ClusterClient``: any one node.
    """
    return ("ACL", "CAT", *((category,) if category else ())), _str_list


def acl_deluser(*username: str) -> Command[int]:
    """ACL DELUSER: delete the ``username`` users; how many existed.

    On a ``ClusterClient``: every node, primaries and replicas (ACLs are not
    replicated); the result is the highest count a node gave.
    """
    need_keys("acl_deluser", username, "username")
    return ("ACL", "DELUSER", *username), None


def acl_dryrun(username: str, *args: Value) -> Command[Any]:
    """ACL DRYRUN: whether ``username`` may run the command ``args``; ``OK`` or why not.

    The reply as the server sent it (``b"OK"``, or a ``bytes`` explanation),
    as redis-py's. On a ``ClusterClient``: any one node.
    """
    need_keys("acl_dryrun", args, "command word")
    return ("ACL", "DRYRUN", username, *args), None


def acl_genpass(bits: int | None = None) -> Command[str]:
    """ACL GENPASS: a random password (``bits`` long, default 256, 1 to 4096) as ``str``.

    redis-py accepts ``bits=0``, which the server refuses; here it is a ``ValueError``.
    """
    if bits is None:
        return ("ACL", "GENPASS"), to_str
    if not 1 <= integer("bits", bits) <= 4096:
        raise DataValueError(f"bits must be between 1 and 4096, got {bits!r}")
    return ("ACL", "GENPASS", bits), to_str


def acl_getuser(username: str) -> Command[dict[str, Any] | None]:
    """ACL GETUSER: ``username``'s rules as a dict; ``None`` for an unknown user.

    As redis-py's: ``flags``, ``passwords`` (SHA-256 hashes), ``commands``
    and ``categories`` (``+get``/``+@read`` split apart), ``keys`` and
    ``channels`` lists of ``str``, ``selectors`` (lists of ``str``) and
    ``enabled``. On a ``ClusterClient``: any one node.
    """
    return ("ACL", "GETUSER", username), _acl_user


def _split(value: Any) -> list[str]:
    if isinstance(value, bytes | str):
        words = to_str(value).split(" ")
        return [] if words == [""] else words
    return [to_str(item) for item in value]


def _acl_user(reply: Any) -> dict[str, Any] | None:
    if reply is None:
        return None
    user = _fields(reply)
    user["flags"] = _str_list(user["flags"])
    user["passwords"] = _str_list(user["passwords"])
    user["keys"] = _split(user["keys"])
    if "channels" in user:
        user["channels"] = _split(user["channels"])
    if "selectors" in user:
        # RESP3 sends each selector as a map: flat, as RESP2 does.
        user["selectors"] = [_str_list(_resp2(selector)) for selector in user["selectors"]]
    rules = to_str(user["commands"]).split(" ")
    user["commands"] = [rule for rule in rules if "@" not in rule]
    user["categories"] = [rule for rule in rules if "@" in rule]
    user["enabled"] = "on" in user["flags"]
    return user


def acl_list() -> Command[list[str]]:
    """ACL LIST: every user's rules, one ``str`` each. On a ``ClusterClient``: any one node."""
    return ("ACL", "LIST"), _str_list


def acl_load() -> Command[bool]:
    """ACL LOAD: reload the users from the ``aclfile``; ``True``.

    A server without an ``aclfile`` raises ``ReplyError``. On a
    ``ClusterClient``: every node.
    """
    return ("ACL", "LOAD"), ok


def acl_save() -> Command[bool]:
    """ACL SAVE: write the users to the ``aclfile``; ``True``.

    A server without an ``aclfile`` raises ``ReplyError``. On a
    ``ClusterClient``: every node.
    """
    return ("ACL", "SAVE"), ok


def acl_log(count: int | None = None) -> Command[list[dict[str, Any]]]:
    """ACL LOG: the latest refused commands and logins (``count`` of them), newest first.

    Each a dict of ``str`` names and values (``"reason"``, ``"username"``,
    ...), ``"age-seconds"`` a float and ``"client-info"`` a dict, as
    redis-py's. On a ``ClusterClient``: any one node (each node logs its own).
    """
    if count is None:
        return ("ACL", "LOG"), _acl_log
    return ("ACL", "LOG", positive("count", count)), _acl_log


def _acl_log(reply: Any) -> list[dict[str, Any]]:
    entries = []
    for raw in reply:
        entry = {name: _text(value) for name, value in _fields(raw).items()}
        entry["client-info"] = _client_fields(entry.get("client-info", ""))
        entry["age-seconds"] = float(entry["age-seconds"])
        entries.append(entry)
    return entries


def acl_log_reset() -> Command[bool]:
    """ACL LOG RESET: empty the ACL log; ``True``. On a ``ClusterClient``: any one node."""
    return ("ACL", "LOG", "RESET"), ok


def _prefixed(name: str, values: Iterable[Any], marks: tuple[bytes, bytes]) -> list[bytes]:
    # The message names the position only: these may be passwords.
    result = []
    for index, value in enumerate(_words(name, values)):
        word = _as_bytes(value)
        if word[:1] == b"+":
            result.append(marks[0] + word[1:])
        elif word[:1] == b"-":
            result.append(marks[1] + word[1:])
        else:
            raise DataValueError(f"{name}[{index}] must start with '+' (add) or '-' (remove)")
    return result


def _one_or_many(values: str | Iterable[str] | None) -> list[Any]:
    if values is None:
        return []
    return [values] if isinstance(values, str | bytes) else list(values)


def _key_pattern(key: Any) -> bytes:
    word = _as_bytes(key)
    return word if word[:1] in (b"%", b"~") else b"~" + word


def _rule(name: str, index: int, value: Any) -> bytes:
    word = _as_bytes(value)
    if word[:1] not in (b"+", b"-"):
        raise DataValueError(
            f"{name}[{index}] must start with '+' (allow) or '-' (deny): {value!r}"
        )
    return word


def acl_setuser(
    username: str,
    enabled: bool = False,
    nopass: bool = False,
    passwords: str | Iterable[str] | None = None,
    hashed_passwords: str | Iterable[str] | None = None,
    categories: Iterable[str] | None = None,
    commands: Iterable[str] | None = None,
    keys: Iterable[Key] | None = None,
    channels: Iterable[Key] | None = None,
    selectors: Iterable[tuple[str, Key]] | None = None,
    reset: bool = False,
    reset_keys: bool = False,
    reset_channels: bool = False,
    reset_passwords: bool = False,
) -> Command[bool]:
    """ACL SETUSER: create or change ``username`` with redis-py's keyword arguments; ``True``.

    ``passwords`` / ``hashed_passwords`` start with ``+`` (add) or ``-``
    (remove); ``categories`` ``+read``/``-@admin``; ``commands`` ``+get``;
    ``keys`` are patterns (``~`` added unless given, ``%R~`` allowed);
    ``selectors`` are ``(command_rule, key_pattern)`` pairs. ``enabled``
    defaults to ``False`` (``off``), as in redis-py. No password appears in
    an error message (a malformed hash is refused before the server could
    quote it). On a ``ClusterClient``: every node, primaries and
    replicas (ACLs are not replicated; a replica may become a primary).
    """
    if nopass and (passwords or hashed_passwords):
        raise DataValueError("give nopass or passwords/hashed_passwords, not both")
    args: list[Arg] = ["ACL", "SETUSER", username]
    args += [
        word
        for flag, word in (
            (reset, "reset"),
            (reset_keys, "resetkeys"),
            (reset_channels, "resetchannels"),
            (reset_passwords, "resetpass"),
        )
        if flag
    ]
    args.append("on" if enabled else "off")
    args += _prefixed("passwords", _one_or_many(passwords), (b">", b"<"))
    hashes = _prefixed("hashed_passwords", _one_or_many(hashed_passwords), (b"#", b"!"))
    for index, word in enumerate(hashes):
        # The server's error would quote the hash: refuse it here, without it.
        if len(word) != 65 or word[1:].strip(b"0123456789abcdef"):
            raise DataValueError(
                f"hashed_passwords[{index}] must be a SHA-256: 64 lowercase hex characters"
            )
    args += hashes
    if nopass:
        args.append("nopass")
    for index, category in enumerate(_words("categories", categories)):
        word = _rule("categories", index, category)
        args.append(word if word[1:2] == b"@" else word[:1] + b"@" + word[1:])
    args += [_rule("commands", i, c) for i, c in enumerate(_words("commands", commands))]
    args += [_key_pattern(key) for key in _words("keys", keys)]
    args += [b"&" + _as_bytes(channel) for channel in _words("channels", channels)]
    for index, pair in enumerate(_words("selectors", selectors)):
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise DataTypeError(f"selectors[{index}] must be a (command_rule, key_pattern) pair")
        rule = _rule("selectors", index, pair[0])
        args.append(b"(" + rule + b" " + _key_pattern(pair[1]) + b")")
    return tuple(args), ok


def acl_users() -> Command[list[str]]:
    """ACL USERS: every user name as ``str``. On a ``ClusterClient``: any one node."""
    return ("ACL", "USERS"), _str_list


def acl_whoami() -> Command[str]:
    """ACL WHOAMI: the user the pooled connection is authenticated as, ``str``."""
    return ("ACL", "WHOAMI"), to_str


# -- SLOWLOG ----------------------------------------------------------------------------------


def slowlog_get(num: int | None = None) -> Command[list[dict[str, Any]]]:
    """SLOWLOG GET: the ``num`` latest slow commands (default 10, -1 all), newest first.

    Each a dict as redis-py's: ``id``, ``start_time`` (unix seconds),
    ``duration`` (microseconds), ``command`` (the arguments joined by a
    space, ``bytes`` or ``str``), ``client_address``, ``client_name``. On a
    ``ClusterClient``: any one node (each node logs its own; use
    ``cluster.node(address).slowlog_get()`` for a given one).
    """
    if num is None:
        return ("SLOWLOG", "GET"), _slowlog
    return ("SLOWLOG", "GET", integer("num", num)), _slowlog


def _slowlog(reply: Any) -> list[dict[str, Any]]:
    entries = []
    for item in reply:
        entry = {"id": item[0], "start_time": int(item[1]), "duration": int(item[2])}
        offset = 3 if isinstance(item[3], list) else 4  # Redis Enterprise adds a complexity
        if offset == 4:
            entry["complexity"] = item[3]
        words = item[offset]
        space: Any = " " if words and isinstance(words[0], str) else b" "
        entry["command"] = space.join(words)
        if len(item) >= offset + 3:
            entry["client_address"] = item[offset + 1]
            entry["client_name"] = item[offset + 2]
        entries.append(entry)
    return entries


def slowlog_len() -> Command[int]:
    """SLOWLOG LEN: how many entries the slow log holds. On a ``ClusterClient``: any one node."""
    return ("SLOWLOG", "LEN"), None


def slowlog_reset() -> Command[bool]:
    """SLOWLOG RESET: empty the slow log; ``True``. On a ``ClusterClient``: every node."""
    return ("SLOWLOG", "RESET"), ok


# -- LATENCY ----------------------------------------------------------------------------------


def latency_doctor() -> Command[str]:
    """LATENCY DOCTOR: the server's latency report as ``str``.

    redis-py raises ``NotImplementedError`` here. On a ``ClusterClient``: any one node.
    """
    return ("LATENCY", "DOCTOR"), to_str


def latency_graph(event: str) -> Command[str]:
    """LATENCY GRAPH: an ASCII graph of ``event``'s latency samples as ``str``.

    redis-py raises ``NotImplementedError`` here. An event with no samples
    raises ``ReplyError``. On a ``ClusterClient``: any one node.
    """
    return ("LATENCY", "GRAPH", event), to_str


def latency_histogram(*commands: str) -> Command[dict[str, dict[str, Any]]]:
    """LATENCY HISTOGRAM: per command (all, or ``commands``), its calls and latency histogram.

    ``{"set": {"calls": 3, "histogram_usec": {1: 2, 4: 3}}}``: bucket upper
    bound in microseconds -> cumulative count. redis-py raises
    ``NotImplementedError`` here. On a ``ClusterClient``: any one node.
    """
    return ("LATENCY", "HISTOGRAM", *commands), _histograms


def _histograms(reply: Any) -> dict[str, dict[str, Any]]:
    result = {}
    for name, raw in _mapping(reply).items():
        fields = _fields(raw)
        fields["histogram_usec"] = _mapping(fields.get("histogram_usec", []))
        result[to_str(name)] = fields
    return result


def latency_history(event: str) -> Command[list[list[int]]]:
    """LATENCY HISTORY: ``event``'s samples as ``[[unix_seconds, milliseconds], ...]``."""
    return ("LATENCY", "HISTORY", event), None


def latency_latest() -> Command[list[list[Any]]]:
    """LATENCY LATEST: per event ``[name, unix_seconds, latest_ms, max_ms]``, as sent."""
    return ("LATENCY", "LATEST"), None


def latency_reset(*events: str) -> Command[int]:
    """LATENCY RESET: forget the samples of ``events`` (all by default); how many were reset.

    On a ``ClusterClient``: every node; the counts are added up.
    """
    return ("LATENCY", "RESET", *events), None


# -- MEMORY -----------------------------------------------------------------------------------


def memory_stats() -> Command[dict[str, Any]]:
    """MEMORY STATS: the memory report as a dict of ``str`` names (``db.0`` a dict too).

    Text values are ``str``, numbers as the server sent them (redis-py's
    shape). On a ``ClusterClient``: any one node.
    """
    return ("MEMORY", "STATS"), _memory_stats


def _text_fields(reply: Any) -> dict[str, Any]:
    # RESP3 sends the ratios and percentages as doubles, RESP2 as text.
    return {name: _text(_double_text(value)) for name, value in _fields(reply).items()}


def _memory_stats(reply: Any) -> dict[str, Any]:
    stats = _text_fields(reply)
    for name, value in stats.items():
        if name.startswith("db.") and isinstance(value, list | dict):
            stats[name] = _text_fields(value)
    return stats


def memory_doctor() -> Command[str]:
    """MEMORY DOCTOR: the server's memory advice as ``str``.

    redis-py raises ``NotImplementedError`` here. On a ``ClusterClient``: any one node.
    """
    return ("MEMORY", "DOCTOR"), to_str


def memory_malloc_stats() -> Command[Any]:
    """MEMORY MALLOC-STATS: the allocator's report, as the server sent it (as redis-py's)."""
    return ("MEMORY", "MALLOC-STATS"), None


def memory_purge() -> Command[bool]:
    """MEMORY PURGE: ask the allocator to release memory; ``True``.

    On a ``ClusterClient``: every node.
    """
    return ("MEMORY", "PURGE"), ok


# -- MODULE -----------------------------------------------------------------------------------


def module_list() -> Command[list[dict[Any, Any]]]:
    """MODULE LIST: the loaded modules, each a dict (``name``, ``ver``; keys as sent, as redis-py's).

    On a ``ClusterClient``: any one node.
    """
    return ("MODULE", "LIST"), _module_list


def _module_list(reply: Any) -> list[dict[Any, Any]]:
    return [_mapping(module) for module in reply]


def module_load(path: str, *args: Value) -> Command[bool]:
    """MODULE LOAD: load the module at ``path`` (a path on the server) with ``args``; ``True``.

    A path the server cannot load raises ``ReplyError``.
    """
    return ("MODULE", "LOAD", path, *args), ok


def module_loadex(
    path: str, options: list[str] | None = None, args: list[str] | None = None
) -> Command[bool]:
    """MODULE LOADEX: load a module with ``CONFIG`` ``options`` and ``ARGS`` ``args``; ``True``.

    ``options`` is a flat ``[name, value, ...]`` list, as redis-py's. redis-py
    returns the raw ``OK``. A path the server cannot load raises ``ReplyError``.
    """
    pieces: list[Arg] = ["MODULE", "LOADEX", path]
    option_list = _words("options", options)
    if len(option_list) % 2:
        raise DataValueError("options must be a flat [name, value, ...] list of pairs")
    for index in range(0, len(option_list), 2):
        pieces += ("CONFIG", option_list[index], option_list[index + 1])
    arg_list = _words("args", args)
    if arg_list:
        pieces += ("ARGS", *arg_list)
    return tuple(pieces), ok


def module_unload(name: str) -> Command[bool]:
    """MODULE UNLOAD: unload the module ``name``; ``True``; an unknown one raises ``ReplyError``."""
    return ("MODULE", "UNLOAD", name), ok


# -- COMMAND ----------------------------------------------------------------------------------
# redis-py's ``command()`` (COMMAND without arguments) is not bound: a pipeline's
# ``command(*args)`` queues a raw command. ``command_info()`` gives the same dict.


def command_count() -> Command[int]:
    """COMMAND COUNT: how many commands the server has."""
    return ("COMMAND", "COUNT"), None


def command_docs(*names: str) -> Command[dict[str, dict[str, Any]]]:
    """COMMAND DOCS: the documentation of ``names`` (all by default), per ``str`` name.

    Each a dict of ``str`` fields (``summary``, ``since``, ``group``,
    ``complexity``, ``arguments``, ...), nested values as sent; an unknown
    name is absent. redis-py raises ``NotImplementedError`` here.
    """
    return ("COMMAND", "DOCS", *names), _docs


def _docs(reply: Any) -> dict[str, dict[str, Any]]:
    return {
        to_str(name): {field: _resp2(value) for field, value in _fields(doc).items()}
        for name, doc in _mapping(reply).items()
    }


def command_getkeys(*args: Value) -> Command[list[str]]:
    """COMMAND GETKEYS: the keys of the command ``args``, as ``str`` (as redis-py's).

    A command without keys raises ``ReplyError``.
    """
    need_keys("command_getkeys", args, "command word")
    return ("COMMAND", "GETKEYS", *args), _str_list


def command_getkeysandflags(*args: Value) -> Command[list[list[Any]]]:
    """COMMAND GETKEYSANDFLAGS: ``[[key, [flag, ...]], ...]`` of the command ``args``, as sent."""
    need_keys("command_getkeysandflags", args, "command word")
    return ("COMMAND", "GETKEYSANDFLAGS", *args), None


def command_info(*names: str) -> Command[dict[str, dict[str, Any]]]:
    """COMMAND INFO: ``names``' (all by default) details per name, shaped as redis-py's ``command()``.

    ``{"get": {"name", "arity", "flags", "first_key_pos", "last_key_pos",
    "step_count", "acl_categories", "tips", "key_specifications",
    "subcommands"}}``; unknown names are absent. redis-py's ``command_info``
    raises ``NotImplementedError``; this one answers.
    """
    return ("COMMAND", "INFO", *names), _command_info


def _command_info(reply: Any) -> dict[str, dict[str, Any]]:
    commands = {}
    for item in reply:
        if item is None:
            continue
        name = to_str(item[0])
        info: dict[str, Any] = {
            "name": name,
            "arity": int(item[1]),
            "flags": _str_list(item[2]),
            "first_key_pos": item[3],
            "last_key_pos": item[4],
            "step_count": item[5],
        }
        if len(item) > 6:
            info["acl_categories"] = _str_list(item[6])
        if len(item) > 9:
            # RESP3 sends the key specifications as maps: flat, as RESP2 does.
            info["tips"], info["key_specifications"], info["subcommands"] = _resp2(item[7:10])
        commands[name] = info
    return commands


def command_list(
    module: str | None = None, category: str | None = None, pattern: str | None = None
) -> Command[list[Any]]:
    """COMMAND LIST: the command names, filtered by one of ``module``, ``category``, ``pattern``.

    Names as sent (``bytes``, or ``str`` with ``decode_responses``), as redis-py's.
    The server takes one filter: several raise ``ValueError``.
    """
    filters = [
        (word, value)
        for word, value in (("MODULE", module), ("ACLCAT", category), ("PATTERN", pattern))
        if value is not None
    ]
    if len(filters) > 1:
        raise DataValueError("give at most one of module, category, pattern (the server takes one)")
    tail = ("FILTERBY", *filters[0]) if filters else ()
    return ("COMMAND", "LIST", *tail), None


# -- persistence and replication ----------------------------------------------------------------


def role() -> Command[list[Any]]:
    """ROLE: the server's replication role as sent (``[b"master", offset, [replicas]]``)."""
    return ("ROLE",), None


def _started(reply: Any) -> bool:
    return True


def bgsave(schedule: bool = True) -> Command[bool]:
    """BGSAVE: start saving to disk in the background; ``True`` once started or scheduled.

    ``schedule=True`` (redis-py's default) waits for a running AOF rewrite
    instead of failing. On a ``ClusterClient``: not offered (per node:
    ``cluster.node(address).bgsave()``).
    """
    return ("BGSAVE", "SCHEDULE") if schedule else ("BGSAVE",), _started


def save() -> Command[bool]:
    """SAVE: save to disk, blocking the server until done; ``True``."""
    return ("SAVE",), ok


def bgrewriteaof() -> Command[bool]:
    """BGREWRITEAOF: start rewriting the append-only file in the background; ``True``."""
    return ("BGREWRITEAOF",), _started


def swapdb(first: int, second: int) -> Command[bool]:
    """SWAPDB: swap databases ``first`` and ``second`` for every client; ``True``."""
    return ("SWAPDB", not_negative("first", first), not_negative("second", second)), ok


def lolwut(*version_numbers: str | float) -> Command[Any]:
    """LOLWUT: the server's art and version, as sent; ``version_numbers`` start with the version."""
    if version_numbers:
        return ("LOLWUT", "VERSION", *version_numbers), None
    return ("LOLWUT",), None


def replicaof(*args: Value) -> Command[bool]:
    """REPLICAOF: replicate ``(host, port)``, or stop with ``("NO", "ONE")``; ``True``.

    redis-py passes any arguments and returns the raw ``OK``; here two are
    required (``ValueError`` otherwise).
    """
    if len(args) != 2:
        raise DataValueError("replicaof() takes host and port, or 'NO', 'ONE'")
    return ("REPLICAOF", *args), _ok_text


def _ok_text(reply: Any) -> bool:
    # "+OK" or "+OK Already connected to specified master".
    return to_str(reply).startswith("OK")


def slaveof(host: str | None = None, port: int | None = None) -> Command[bool]:
    """SLAVEOF: replicate ``host``/``port``, or with neither stop replicating; ``True``."""
    if host is None and port is None:
        return ("SLAVEOF", "NO", "ONE"), _ok_text
    if host is None or port is None:
        raise DataValueError("slaveof() takes both host and port, or neither")
    return ("SLAVEOF", host, integer("port", port)), _ok_text


def failover(
    host: str | None = None,
    port: int | None = None,
    force: bool = False,
    abort: bool = False,
    timeout: int | None = None,
) -> Command[bool]:
    """FAILOVER: hand this primary's role to a replica (``host``/``port``, or any); ``True``.

    ``force`` (with a target and a ``timeout`` in ms) fails over even if the
    replica did not catch up; ``abort=True`` cancels a failover in progress.
    The server answers once the failover started, not when it is done
    (watch ``role()``). A primary without replicas raises ``ReplyError``.
    redis-py raises ``NotImplementedError`` here.
    """
    if abort:
        if host is not None or port is not None or force or timeout is not None:
            raise DataValueError("abort=True takes no other argument")
        return ("FAILOVER", "ABORT"), ok
    args: list[Arg] = ["FAILOVER"]
    if (host is None) != (port is None):
        raise DataValueError("failover() takes both host and port, or neither")
    if host is not None:
        args += ("TO", host, integer("port", port))
        if force:
            args.append("FORCE")
    elif force:
        raise DataValueError("force needs a target replica (host and port)")
    if timeout is not None:
        args += ("TIMEOUT", positive("timeout", timeout))
    elif force:
        raise DataValueError("force needs a timeout")
    return tuple(args), ok


def _shutdown(
    save: bool = False, nosave: bool = False, now: bool = False, force: bool = False,
    abort: bool = False,
) -> Command[bool | None]:  # fmt: skip
    """SHUTDOWN: stop the server; ``None`` once the server closed the connection.

    ``save``/``nosave`` force or skip the final save (not both), ``now``
    skips waiting for lagging replicas, ``force`` ignores errors writing
    the save, and ``abort`` cancels a shutdown in progress (``True``). As in
    redis-py, the connection closing is success; an error reply (``Errors
    trying to SHUTDOWN``) raises ``ReplyError``. Only on ``Client``: a
    pipeline would fail on the closed connection, and a cluster client must
    be told which node (``cluster.node(address).shutdown()``).
    """
    if save and nosave:
        raise DataValueError("give save or nosave, not both")
    flags = [("SAVE", save), ("NOSAVE", nosave), ("NOW", now), ("FORCE", force)]
    flags.append(("ABORT", abort))
    return ("SHUTDOWN", *(word for word, on in flags if on)), ok


def debug_object(key: Key) -> Command[dict[str, Any]]:
    """DEBUG OBJECT: internals of ``key``'s value as a dict (``type``, ``encoding``, ``refcount``, ...).

    ``refcount``, ``serializedlength``, ``lru`` and ``lru_seconds_idle`` are
    ints, as in redis-py. A missing key raises ``ReplyError``; a server with
    ``enable-debug-command no`` (the default since Redis 7) refuses it from
    non-local connections.
    """
    return ("DEBUG", "OBJECT", key), _debug_object


def _debug_object(reply: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for item in ("type:" + to_str(reply)).split():
        name, _, value = item.partition(":")
        fields[name] = value
    for name in ("refcount", "serializedlength", "lru", "lru_seconds_idle"):
        if name in fields:
            fields[name] = int(fields[name])
    return fields
