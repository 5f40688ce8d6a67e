"""Arguments and reply shapes of the administration and CLUSTER commands; nothing is sent.

Replies are the ones a Redis 7.0 server sends, in ``bytes`` and (as with
``decode_responses=True``) ``str``; the shapes are redis-py's RESP2 ones.
"""

from __future__ import annotations

from typing import Any

import pytest

from aiopool import _commands as cmd
from aiopool import _fanout
from aiopool._safety import is_safe_to_repeat


def decoded(reply: Any) -> Any:
    """``reply`` as ``decode_responses=True`` would give it."""
    if isinstance(reply, bytes):
        return reply.decode()
    if isinstance(reply, list):
        return [decoded(item) for item in reply]
    return reply


def shape(command: cmd.Command[Any], reply: Any) -> Any:
    transform = command[1]
    assert transform is not None
    return transform(reply)


# -- ACL --------------------------------------------------------------------------------------


def test_acl_setuser_builds_redis_py_rules() -> None:
    args, _ = cmd.admin.acl_setuser(
        "ann",
        enabled=True,
        passwords=["+one", "-two"],
        hashed_passwords="+" + "a" * 64,
        categories=["+read", "-@admin"],
        commands=["+get"],
        keys=["k:*", "%R~r:*"],
        channels=["ch"],
        selectors=[("+set", "s:*")],
        reset=True,
        reset_keys=True,
        reset_channels=True,
        reset_passwords=True,
    )
    assert args == (
        "ACL",
        "SETUSER",
        "ann",
        "reset",
        "resetkeys",
        "resetchannels",
        "resetpass",
        "on",
        b">one",
        b"<two",
        b"#" + b"a" * 64,
        b"+@read",
        b"-@admin",
        b"+get",
        b"~k:*",
        b"%R~r:*",
        b"&ch",
        b"(+set ~s:*)",
    )
    assert cmd.admin.acl_setuser("bob")[0] == ("ACL", "SETUSER", "bob", "off")
    assert cmd.admin.acl_setuser("bob", nopass=True)[0][-1] == "nopass"


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"passwords": "hunter2"}, ValueError, r"passwords\[0\] must start"),
        ({"hashed_passwords": ["+a", "hunter2"]}, ValueError, r"hashed_passwords\[1\]"),
        ({"nopass": True, "passwords": "+x"}, ValueError, "nopass or passwords"),
        ({"categories": ["read"]}, ValueError, r"categories\[0\]"),
        ({"categories": "+read"}, TypeError, "categories must be a list"),
        ({"commands": ["get"]}, ValueError, r"commands\[0\]"),
        ({"selectors": [("+get",)]}, TypeError, "pair"),
        ({"selectors": [("get", "k")]}, ValueError, r"selectors\[0\]"),
        ({"keys": "k"}, TypeError, "keys must be a list"),
        ({"hashed_passwords": "+hunter2"}, ValueError, "must be a SHA-256"),
    ],
    ids=[
        "password",
        "hashed",
        "nopass-and-password",
        "category",
        "lone-category",
        "command",
        "selector-shape",
        "selector-rule",
        "lone-key",
        "malformed-hash",
    ],
)
def test_acl_setuser_bad_arguments_raise_without_the_password(
    kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match) as caught:
        cmd.admin.acl_setuser("u", **kwargs)
    assert "hunter2" not in str(caught.value)


GETUSER = [
    b"flags",
    [b"on", b"allchannels"],
    b"passwords",
    [b"5e88"],
    b"commands",
    b"-@all +@read +set",
    b"keys",
    b"~a* %R~b*",
    b"channels",
    b"&*",
    b"selectors",
    [[b"commands", b"+get", b"keys", b"~s*", b"channels", b""]],
]


@pytest.mark.parametrize("reply", [GETUSER, decoded(GETUSER)], ids=["bytes", "str"])
def test_acl_getuser_parses_as_redis_py(reply: list[Any]) -> None:
    user = shape(cmd.admin.acl_getuser("ann"), reply)
    assert user == {
        "flags": ["on", "allchannels"],
        "passwords": ["5e88"],
        "commands": ["+set"],
        "categories": ["-@all", "+@read"],
        "keys": ["~a*", "%R~b*"],
        "channels": ["&*"],
        "selectors": [["commands", "+get", "keys", "~s*", "channels", ""]],
        "enabled": True,
    }
    assert shape(cmd.admin.acl_getuser("x"), None) is None


def test_acl_getuser_with_no_keys_gives_an_empty_list() -> None:
    reply = [b"flags", [b"off"], b"passwords", [], b"commands", b"-@all", b"keys", b""]
    user = shape(cmd.admin.acl_getuser("x"), [*reply, b"channels", b""])
    assert user["keys"] == []
    assert user["channels"] == []
    assert user["enabled"] is False


ACL_LOG = [
    [
        b"count",
        1,
        b"reason",
        b"auth",
        b"context",
        b"toplevel",
        b"object",
        b"AUTH",
        b"username",
        b"carl",
        b"age-seconds",
        b"1.5",
        b"client-info",
        b"id=7 addr=127.0.0.1:1 laddr=127.0.0.1:2 fd=8 name= age=0 db=0 cmd=auth",
    ]
]


@pytest.mark.parametrize("reply", [ACL_LOG, decoded(ACL_LOG)], ids=["bytes", "str"])
def test_acl_log_entries_are_str_dicts_with_parsed_client_info(reply: list[Any]) -> None:
    (entry,) = shape(cmd.admin.acl_log(), reply)
    assert entry["reason"] == "auth"
    assert entry["username"] == "carl"
    assert entry["count"] == 1
    assert entry["age-seconds"] == 1.5
    assert entry["client-info"]["id"] == 7
    assert entry["client-info"]["cmd"] == "auth"
    assert entry["client-info"]["addr"] == "127.0.0.1:1"


def test_acl_small_commands_build_their_arguments() -> None:
    assert cmd.admin.acl_cat()[0] == ("ACL", "CAT")
    assert cmd.admin.acl_cat("read")[0] == ("ACL", "CAT", "read")
    assert shape(cmd.admin.acl_cat(), [b"read", b"write"]) == ["read", "write"]
    assert cmd.admin.acl_genpass(64)[0] == ("ACL", "GENPASS", 64)
    assert cmd.admin.acl_log(5)[0] == ("ACL", "LOG", 5)
    assert cmd.admin.acl_log_reset()[0] == ("ACL", "LOG", "RESET")
    assert cmd.admin.acl_dryrun("u", "get", "k") == (("ACL", "DRYRUN", "u", "get", "k"), None)
    assert shape(cmd.admin.acl_whoami(), b"default") == "default"
    with pytest.raises(ValueError, match="between 1 and 4096"):
        cmd.admin.acl_genpass(4097)
    with pytest.raises(ValueError, match="at least one command word"):
        cmd.admin.acl_dryrun("u")
    with pytest.raises(ValueError, match="count must be a positive int"):
        cmd.admin.acl_log(-1)


# -- CLIENT -----------------------------------------------------------------------------------


def test_client_kill_filter_builds_redis_py_filters() -> None:
    args, _ = cmd.server.client_kill_filter(
        _id=7, _type="normal", addr="1.2.3.4:5", skipme=False, laddr="1.2.3.4:6", user="u"
    )
    assert args == (
        "CLIENT",
        "KILL",
        "TYPE",
        "normal",
        "SKIPME",
        "NO",
        "ID",
        7,
        "ADDR",
        "1.2.3.4:5",
        "LADDR",
        "1.2.3.4:6",
        "USER",
        "u",
    )
    assert cmd.server.client_kill_filter(maxage=10)[0] == ("CLIENT", "KILL", "MAXAGE", 10)
    assert cmd.server.client_kill_filter(7)[0] == ("CLIENT", "KILL", "ID", 7)
    with pytest.raises(ValueError, match="not both"):
        cmd.server.client_kill_filter(7, _id=8)
    with pytest.raises(ValueError, match="at least one filter"):
        cmd.server.client_kill_filter(skipme=True)
    with pytest.raises(TypeError, match="_id must be an int"):
        cmd.server.client_kill_filter(_id=1.5)  # type: ignore[arg-type]


def test_client_list_takes_ids_and_keeps_spaces_in_values() -> None:
    assert cmd.server.client_list(client_id=[1, 2])[0] == ("CLIENT", "LIST", "ID", 1, 2)
    assert cmd.server.client_list(_type="pubsub")[0] == ("CLIENT", "LIST", "TYPE", "pubsub")
    line = b"id=3 addr=/tmp/redis sock/r.sock:0 name=x\nid=4 addr=1.2.3.4:5 name=\n"
    assert shape(cmd.server.client_list(), line) == [
        {"id": "3", "addr": "/tmp/redis sock/r.sock:0", "name": "x"},
        {"id": "4", "addr": "1.2.3.4:5", "name": ""},
    ]


def test_client_info_pause_unblock_and_tracking() -> None:
    info = shape(cmd.server.client_info(), "id=5 addr=a:1 age=2 idle=0 qbuf=0 cmd=client|info\n")
    assert info == {"id": 5, "addr": "a:1", "age": 2, "idle": 0, "qbuf": 0, "cmd": "client|info"}
    assert cmd.server.client_pause(100)[0] == ("CLIENT", "PAUSE", 100)
    assert cmd.server.client_pause(100, all=False)[0] == ("CLIENT", "PAUSE", 100, "WRITE")
    assert cmd.server.client_unblock(9, error=True)[0] == ("CLIENT", "UNBLOCK", 9, "ERROR")
    assert shape(cmd.server.client_unblock(9), 0) is False
    tracking = [b"flags", [b"off"], b"redirect", -1, b"prefixes", []]
    assert shape(cmd.server.client_trackinginfo(), tracking) == [
        "flags",
        [b"off"],
        "redirect",
        -1,
        "prefixes",
        [],
    ]
    with pytest.raises(TypeError, match="timeout must be an int"):
        cmd.server.client_pause(1.5)  # type: ignore[arg-type]


# -- SLOWLOG, LATENCY, MEMORY, COMMAND ------------------------------------------------------------

SLOWLOG = [
    [3, 1700000000, 15, [b"SET", b"k", b"v"], b"127.0.0.1:5000", b"worker"],
    [2, 1700000000, 9, [b"PING"], b"127.0.0.1:5001", b""],
]


@pytest.mark.parametrize(
    ("reply", "space"), [(SLOWLOG, b" "), (decoded(SLOWLOG), " ")], ids=["bytes", "str"]
)
def test_slowlog_get_entries_are_redis_py_dicts(reply: list[Any], space: Any) -> None:
    first, second = shape(cmd.admin.slowlog_get(2), reply)
    assert first == {
        "id": 3,
        "start_time": 1700000000,
        "duration": 15,
        "command": space.join(reply[0][3]),
        "client_address": reply[0][4],
        "client_name": reply[0][5],
    }
    assert second["command"] == reply[1][3][0]
    assert cmd.admin.slowlog_get()[0] == ("SLOWLOG", "GET")
    assert cmd.admin.slowlog_get(-1)[0] == ("SLOWLOG", "GET", -1)


def test_slowlog_get_reads_the_enterprise_complexity_field() -> None:
    (entry,) = shape(cmd.admin.slowlog_get(), [[1, 2, 3, b"N=4", [b"GET", b"k"], b"a:1", b""]])
    assert entry["complexity"] == b"N=4"
    assert entry["command"] == b"GET k"
    assert entry["client_address"] == b"a:1"


def test_latency_histogram_becomes_nested_dicts() -> None:
    reply = [b"set", [b"calls", 3, b"histogram_usec", [1, 2, 4, 3]]]
    assert shape(cmd.admin.latency_histogram("set"), reply) == {
        "set": {"calls": 3, "histogram_usec": {1: 2, 4: 3}}
    }
    assert cmd.admin.latency_reset("a", "b")[0] == ("LATENCY", "RESET", "a", "b")
    assert cmd.admin.latency_graph("command")[0] == ("LATENCY", "GRAPH", "command")


def test_memory_stats_decodes_text_and_nests_databases() -> None:
    reply = [
        b"peak.allocated",
        100,
        b"db.0",
        [b"overhead.hashtable.main", 72, b"overhead.hashtable.expires", 0],
        b"dataset.percentage",
        b"12.5",
    ]
    assert shape(cmd.admin.memory_stats(), reply) == {
        "peak.allocated": 100,
        "db.0": {"overhead.hashtable.main": 72, "overhead.hashtable.expires": 0},
        "dataset.percentage": "12.5",
    }


def test_module_and_command_commands_build_their_arguments() -> None:
    assert cmd.admin.module_load("/m.so", "a", 1)[0] == ("MODULE", "LOAD", "/m.so", "a", 1)
    assert cmd.admin.module_loadex("/m.so", options=["n", "1"], args=["x", "y"])[0] == (
        "MODULE",
        "LOADEX",
        "/m.so",
        "CONFIG",
        "n",
        "1",
        "ARGS",
        "x",
        "y",
    )
    modules = shape(cmd.admin.module_list(), [[b"name", b"m", b"ver", 1]])
    assert modules == [{b"name": b"m", b"ver": 1}]
    assert cmd.admin.command_list(category="read")[0] == (
        "COMMAND",
        "LIST",
        "FILTERBY",
        "ACLCAT",
        "read",
    )
    assert cmd.admin.command_list()[0] == ("COMMAND", "LIST")
    with pytest.raises(ValueError, match="at most one of"):
        cmd.admin.command_list(module="m", pattern="x")
    with pytest.raises(TypeError, match="options must be a list"):
        cmd.admin.module_loadex("/m.so", options="n")  # type: ignore[arg-type]


def test_command_info_is_shaped_as_redis_py_command() -> None:
    reply = [
        [b"get", 2, [b"readonly", b"fast"], 1, 1, 1, [b"@read"], [], [[b"flags"]], []],
        None,
    ]
    assert shape(cmd.admin.command_info("get", "nope"), reply) == {
        "get": {
            "name": "get",
            "arity": 2,
            "flags": ["readonly", "fast"],
            "first_key_pos": 1,
            "last_key_pos": 1,
            "step_count": 1,
            "acl_categories": ["@read"],
            "tips": [],
            "key_specifications": [[b"flags"]],
            "subcommands": [],
        }
    }
    docs = shape(cmd.admin.command_docs("get"), [b"get", [b"summary", b"Get", b"since", b"1.0"]])
    assert docs == {"get": {"summary": b"Get", "since": b"1.0"}}


# -- persistence, SHUTDOWN, DEBUG ------------------------------------------------------------------


def test_persistence_commands_build_their_arguments() -> None:
    assert cmd.admin.bgsave()[0] == ("BGSAVE", "SCHEDULE")
    assert cmd.admin.bgsave(schedule=False)[0] == ("BGSAVE",)
    assert shape(cmd.admin.bgsave(), b"Background saving started") is True
    assert shape(cmd.admin.bgrewriteaof(), "Background append only file rewriting started")
    assert cmd.admin.lolwut()[0] == ("LOLWUT",)
    assert cmd.admin.lolwut(5, 1)[0] == ("LOLWUT", "VERSION", 5, 1)
    assert cmd.admin.slaveof()[0] == ("SLAVEOF", "NO", "ONE")
    assert shape(cmd.admin.replicaof("h", 1), b"OK Already connected to specified master")
    assert cmd.admin._shutdown(nosave=True, now=True, force=True)[0] == (
        "SHUTDOWN",
        "NOSAVE",
        "NOW",
        "FORCE",
    )
    assert cmd.admin._shutdown(abort=True)[0] == ("SHUTDOWN", "ABORT")
    with pytest.raises(ValueError, match="save or nosave"):
        cmd.admin._shutdown(save=True, nosave=True)
    with pytest.raises(ValueError, match="second must be an int >= 0"):
        cmd.admin.swapdb(0, -1)


def test_failover_builds_its_options() -> None:
    assert cmd.admin.failover()[0] == ("FAILOVER",)
    assert cmd.admin.failover("h", 1, force=True, timeout=50)[0] == (
        "FAILOVER",
        "TO",
        "h",
        1,
        "FORCE",
        "TIMEOUT",
        50,
    )
    assert cmd.admin.failover(abort=True)[0] == ("FAILOVER", "ABORT")
    with pytest.raises(ValueError, match="force needs a timeout"):
        cmd.admin.failover("h", 1, force=True)
    with pytest.raises(ValueError, match="takes no other argument"):
        cmd.admin.failover(abort=True, timeout=5)
    with pytest.raises(ValueError, match="timeout must be a positive int"):
        cmd.admin.failover(timeout=0)


def test_debug_object_parses_its_line() -> None:
    line = b"Value at:0x7f refcount:1 encoding:embstr serializedlength:6 lru:9 lru_seconds_idle:2"
    assert shape(cmd.admin.debug_object("k"), line) == {
        "type": "Value",
        "at": "0x7f",
        "refcount": 1,
        "encoding": "embstr",
        "serializedlength": 6,
        "lru": 9,
        "lru_seconds_idle": 2,
    }


# -- CLUSTER -----------------------------------------------------------------------------------

NODES = (
    b"e7d1 127.0.0.1:30001@40001 myself,master - 0 0 1 connected 0-5460 [5461->-9a8b]\n"
    b"9a8b 127.0.0.1:30002@40002,host.example master - 0 1700 2 connected 5461-10922 12000\n"
    b"1c2d 127.0.0.1:30004@40004 slave e7d1 0 1700 1 disconnected\n"
)


@pytest.mark.parametrize("reply", [NODES, NODES.decode()], ids=["bytes", "str"])
def test_cluster_nodes_is_redis_py_dict_by_address(reply: Any) -> None:
    nodes = shape(cmd.cluster_admin.cluster_nodes(), reply)
    assert list(nodes) == ["127.0.0.1:30001", "127.0.0.1:30002", "127.0.0.1:30004"]
    assert nodes["127.0.0.1:30001"] == {
        "node_id": "e7d1",
        "hostname": "",
        "flags": "myself,master",
        "master_id": "-",
        "last_ping_sent": "0",
        "last_pong_rcvd": "0",
        "epoch": "1",
        "slots": [["0", "5460"]],
        "migrations": [{"slot": "5461", "node_id": "9a8b", "state": "migrating"}],
        "connected": True,
    }
    assert nodes["127.0.0.1:30002"]["hostname"] == "host.example"
    assert nodes["127.0.0.1:30002"]["slots"] == [["5461", "10922"], ["12000"]]
    assert nodes["127.0.0.1:30004"]["connected"] is False


def test_cluster_slots_shards_and_info_shapes() -> None:
    slots = [[0, 5460, [b"127.0.0.1", 30001, b"e7d1"], [b"127.0.0.1", 30004, b"1c2d"]]]
    assert shape(cmd.cluster_admin.cluster_slots(), slots) == {
        (0, 5460): {"primary": ("127.0.0.1", 30001), "replicas": [("127.0.0.1", 30004)]}
    }
    shards = [[b"slots", [0, 5460], b"nodes", [[b"id", b"e7d1", b"port", 30001]]]]
    assert shape(cmd.cluster_admin.cluster_shards(), shards) == [
        {"slots": [(0, 5460)], "nodes": [{b"id": b"e7d1", b"port": 30001}]}
    ]
    info = b"cluster_state:ok\r\ncluster_slots_assigned:16384\r\n"
    assert shape(cmd.cluster_admin.cluster_info(), info) == {
        "cluster_state": "ok",
        "cluster_slots_assigned": "16384",
    }


def test_cluster_admin_commands_build_their_arguments() -> None:
    ca = cmd.cluster_admin
    assert ca.cluster_addslotsrange(1, 5, 10, 20)[0] == ("CLUSTER", "ADDSLOTSRANGE", 1, 5, 10, 20)
    assert ca.cluster_delslots(1, 2)[0] == ("CLUSTER", "DELSLOTS", 1, 2)
    assert ca.cluster_failover("force")[0] == ("CLUSTER", "FAILOVER", "force")
    assert ca.cluster_reset(soft=False)[0] == ("CLUSTER", "RESET", "HARD")
    assert ca.cluster_setslot("n1", 5, "importing")[0] == (
        "CLUSTER",
        "SETSLOT",
        5,
        "importing",
        "n1",
    )
    assert ca.cluster_setslot_stable(5)[0] == ("CLUSTER", "SETSLOT", 5, "STABLE")
    assert ca.cluster_meet("h", 1, bus_port=2)[0] == ("CLUSTER", "MEET", "h", 1, 2)
    assert ca.cluster_get_keys_in_slot(5, 10)[0] == ("CLUSTER", "GETKEYSINSLOT", 5, 10)
    assert shape(ca.cluster_get_keys_in_slot(5, 10), [b"a", b"b"]) == ["a", "b"]
    with pytest.raises(ValueError, match="slot from 0 to 16383"):
        ca.cluster_addslots(1, 16384)
    with pytest.raises(TypeError, match="node_id must be a str"):
        ca.cluster_forget(b"n1")  # type: ignore[arg-type]


# -- cluster fan-out tables ------------------------------------------------------------------


def test_the_slot_argument_of_a_slot_command_routes_it() -> None:
    assert (
        _fanout.argument_slot(("CLUSTER", "COUNTKEYSINSLOT", 12), "cluster|countkeysinslot") == 12
    )
    assert _fanout.argument_slot(("CLUSTER", "GETKEYSINSLOT", "7", 1), "cluster|getkeysinslot") == 7
    assert (
        _fanout.argument_slot(("CLUSTER", "COUNTKEYSINSLOT", "x"), "cluster|countkeysinslot")
        is None
    )
    assert (
        _fanout.argument_slot(("CLUSTER", "COUNTKEYSINSLOT", 99999), "cluster|countkeysinslot")
        is None
    )
    assert _fanout.argument_slot(("CLUSTER", "INFO"), "cluster|info") is None


def test_fanned_out_commands_combine_their_replies() -> None:
    assert _fanout.ON_ALL_NODES["latency|reset"]([1, 2, 0]) == 3
    assert _fanout.ON_ALL_NODES["acl|deluser"]([1, 0, 1]) == 1
    assert _fanout.ON_ALL_NODES["acl|setuser"]([b"OK", b"OK"]) == b"OK"
    assert not set(_fanout.ON_ALL_NODES) & set(_fanout.ON_ALL_PRIMARIES)


# -- which of them may be repeated after an unknown outcome -----------------------------------


@pytest.mark.parametrize(
    ("command", "safe"),
    [
        (cmd.admin.acl_log(), True),
        (cmd.admin.acl_log_reset(), False),  # a repeat empties what was logged in between
        (cmd.admin.swapdb(0, 1), False),  # a repeat swaps back
        (cmd.admin.slowlog_reset(), True),
        (cmd.admin.latency_reset(), False),  # a repeat answers 0
        (cmd.admin.acl_setuser("u"), False),
        (cmd.admin.acl_dryrun("u", "get", "k"), True),
        (cmd.cluster_admin.cluster_count_failure_report("n"), True),
        (cmd.cluster_admin.cluster_addslots(1), False),
        (cmd.server.client_kill_filter(_id=1), False),
        (cmd.scripting.function_restore(b"p"), False),
    ],
    ids=lambda value: value[0][1] if isinstance(value, tuple) and len(value[0]) > 1 else None,
)
def test_only_repeatable_admin_commands_are_safe_to_repeat(
    command: cmd.Command[Any], safe: bool
) -> None:
    assert is_safe_to_repeat(command[0]) is safe
