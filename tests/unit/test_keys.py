"""Key extraction and hash slots for cluster routing, without a server.

The slots are checked against a real cluster in tests/integration/test_cluster.py;
here: the hash-tag rules, and where each movable-keys command keeps its keys.
"""

from __future__ import annotations

from typing import Any

import pytest

from aiopool import CrossSlotError, key_slot
from aiopool._keys import command_keys, command_slot
from aiopool._topology import SlotMap, parse_shards, parse_slots


def test_key_slot_matches_the_values_in_the_cluster_spec() -> None:
    assert key_slot("foo") == 12182
    assert key_slot(b"123456789") == 0x31C3 % 16384
    assert key_slot("{user1000}.following") == key_slot("{user1000}.followers")
    assert key_slot("{user1000}.following") == key_slot("user1000")


def test_hash_tag_rules_empty_braces_and_first_brace_only() -> None:
    assert key_slot("foo{}{bar}") == key_slot(b"foo{}{bar}")  # "{}" is no tag
    assert key_slot("foo{}{bar}") != key_slot("bar")
    assert key_slot("foo{{bar}}zap") == key_slot("{bar")  # from the first "{" to the next "}"
    assert key_slot("foo{bar}{zap}") == key_slot("bar")


def test_non_text_keys_hash_as_the_encoder_sends_them() -> None:
    assert key_slot(42) == key_slot("42")
    assert key_slot(1.5) == key_slot("1.5")
    assert key_slot(memoryview(b"abc")) == key_slot(b"abc")
    with pytest.raises(TypeError, match="bool"):
        key_slot(True)
    with pytest.raises(TypeError, match="list"):
        key_slot(["a"])


@pytest.mark.parametrize(
    ("args", "keys"),
    [
        (("GET", "a"), ["a"]),
        (("MSET", "a", 1, "b", 2), ["a", "b"]),
        (("DEL", "a", "b", "c"), ["a", "b", "c"]),
        (("OBJECT", "ENCODING", "a"), ["a"]),
        (("EVAL", "return 1", 2, "a", "b", "arg"), ["a", "b"]),
        (("EVALSHA", "f" * 40, 0, "arg"), []),
        (("FCALL", "fn", 1, "a", "arg"), ["a"]),
        (("ZUNIONSTORE", "dest", 2, "a", "b", "WEIGHTS", 1, 2), ["dest", "a", "b"]),
        (("ZINTER", 2, "a", "b"), ["a", "b"]),
        (("BLMPOP", 0, 2, "a", "b", "LEFT"), ["a", "b"]),
        (("XREAD", "COUNT", 5, "STREAMS", "s1", "s2", "0", "0"), ["s1", "s2"]),
        (("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s1", ">"), ["s1"]),
        (("SORT", "a", "LIMIT", 0, 5, "STORE", "dest"), ["a", "dest"]),
        (("GEORADIUS", "g", 0, 0, 5, "km", "STOREDIST", "d"), ["g", "d"]),
        (("PING",), []),
        (("NOSUCHCOMMAND", "a"), []),
    ],
)
def test_command_keys_finds_every_key(args: tuple[Any, ...], keys: list[Any]) -> None:
    assert command_keys(args) == keys


def test_command_slot_refuses_keys_in_two_slots_before_anything_is_sent() -> None:
    assert command_slot(("PING",)) is None
    assert command_slot(("MGET", "{t}.a", "{t}.b")) == key_slot("t")
    with pytest.raises(CrossSlotError, match=r"CROSSSLOT MGET.*hash tag") as caught:
        command_slot(("MGET", "a", "b"))
    assert isinstance(caught.value, ValueError)


def test_parse_shards_keeps_online_nodes_and_the_live_primary() -> None:
    def node(port: int, role: str, health: str = "online") -> list[Any]:
        return [b"id", b"x", b"port", port, b"ip", b"127.0.0.1", b"role", role.encode(),
                b"health", health.encode()]  # fmt: skip

    reply = [
        [b"slots", [0, 99, 200, 299], b"nodes", [node(7000, "master"), node(7003, "replica")]],
        # After a failover: the dead primary is listed as failed, its replica promoted.
        [b"slots", [100, 199], b"nodes", [node(7001, "master", "failed"), node(7004, "master")]],
        [b"slots", [], b"nodes", [node(7009, "master")]],  # serves nothing: left out
    ]
    shards = parse_shards(reply)
    assert [(s.primary, s.replicas, s.ranges) for s in shards] == [
        ("127.0.0.1:7000", ("127.0.0.1:7003",), ((0, 99), (200, 299))),
        ("127.0.0.1:7004", (), ((100, 199),)),
    ]
    slots = SlotMap(shards)
    assert slots.slots[250] is shards[0]
    assert slots.slots[150] is shards[1]
    assert slots.slots[300] is None
    slots.moved(300, "127.0.0.1:7004")
    assert slots.slots[300] is shards[1]


def test_parse_slots_groups_ranges_by_primary() -> None:
    reply = [
        [0, 5460, [b"127.0.0.1", 7000, b"a"], [b"127.0.0.1", 7003, b"d"]],
        [10923, 16383, [b"127.0.0.1", 7000, b"a"]],
        [5461, 10922, [b"127.0.0.1", 7001, b"b"]],
    ]
    shards = parse_slots(reply)
    assert [(s.primary, s.ranges) for s in shards] == [
        ("127.0.0.1:7000", ((0, 5460), (10923, 16383))),
        ("127.0.0.1:7001", ((5461, 10922),)),
    ]
    assert shards[0].replicas == ("127.0.0.1:7003",)
