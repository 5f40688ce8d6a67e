"""CLUSTER commands: the cluster's state as one node sees it, and node administration.

Shapes are redis-py's (``parse_cluster_info``, ``parse_cluster_nodes``,
``parse_cluster_slots``, ``parse_cluster_shards``). redis-py's
``RedisCluster`` takes a ``target_node`` first for the administrative ones
(``cluster_addslots(node, ...)``); here they are methods of a node's own
``Client`` (``cluster.node(address).cluster_addslots(...)``), without it.
"""

from __future__ import annotations

from typing import Any

from .._errors import DataTypeError, DataValueError
from ._base import Arg, Command, Key, integer, need_keys, not_negative, ok, to_str
from .server import _mapping, _resp2

_SLOTS = 16384


def _slot(name: str, value: object) -> int:
    if not 0 <= integer(name, value) < _SLOTS:
        raise DataValueError(f"{name} must be a slot from 0 to {_SLOTS - 1}, got {value!r}")
    return value  # type: ignore[return-value]


def _slot_list(name: str, slots: tuple[Any, ...]) -> list[int]:
    need_keys(name, slots, "slot")
    return [_slot("slots", slot) for slot in slots]


def _node_id(node_id: object) -> str:
    if not isinstance(node_id, str):
        raise DataTypeError(f"node_id must be a str, got {type(node_id).__name__}")
    return node_id


# -- the cluster as this node sees it -------------------------------------------------------


def cluster_info() -> Command[dict[str, str]]:
    """CLUSTER INFO: the node's view of the cluster as a dict of ``str`` (``cluster_state``, ...).

    On a ``ClusterClient``: any one primary.
    """
    return ("CLUSTER", "INFO"), _cluster_info


def _cluster_info(reply: Any) -> dict[str, str]:
    lines = (line.partition(":") for line in to_str(reply).splitlines() if line)
    return {name: value for name, _, value in lines}


def cluster_nodes() -> Command[dict[str, dict[str, Any]]]:
    """CLUSTER NODES: ``{"ip:port": {node_id, flags, master_id, slots, ...}}``, redis-py's shape.

    ``slots`` is a list of ``[start, end]`` (or ``[slot]``) ``str`` lists,
    ``migrations`` a list of dicts, ``connected`` a bool. On a
    ``ClusterClient``: any one primary.
    """
    return ("CLUSTER", "NODES"), _cluster_nodes


def _node_line(line: str) -> tuple[str, dict[str, Any]]:
    items = line.split(" ")
    node_id, address, flags, master_id, ping, pong, epoch, link = items[:8]
    bus = address.partition("@")[2]
    node: dict[str, Any] = {
        "node_id": node_id,
        "hostname": bus.split(",")[1] if "," in bus else "",
        "flags": flags,
        "master_id": master_id,
        "last_ping_sent": ping,
        "last_pong_rcvd": pong,
        "epoch": epoch,
        "slots": [],
        "migrations": [],
        "connected": link == "connected",
    }
    for item in items[8:]:
        if "->-" in item:
            slot, _, peer = item[1:-1].partition("->-")
            node["migrations"].append({"slot": slot, "node_id": peer, "state": "migrating"})
        elif "-<-" in item:
            slot, _, peer = item[1:-1].partition("-<-")
            node["migrations"].append({"slot": slot, "node_id": peer, "state": "importing"})
        elif item:
            node["slots"].append(item.split("-"))
    return address.partition("@")[0], node


def _cluster_nodes(reply: Any) -> dict[str, dict[str, Any]]:
    lines = to_str(reply).splitlines() if isinstance(reply, bytes | str) else reply
    return dict(_node_line(to_str(line)) for line in lines if line)


def cluster_slots() -> Command[dict[tuple[int, int], dict[str, Any]]]:
    """CLUSTER SLOTS: ``{(start, end): {"primary": (host, port), "replicas": [(host, port)]}}``.

    redis-py's ``RedisCluster`` shape (hosts ``str``). On a
    ``ClusterClient``: any one primary.
    """
    return ("CLUSTER", "SLOTS"), _cluster_slots


def _cluster_slots(reply: Any) -> dict[tuple[int, int], dict[str, Any]]:
    slots = {}
    for start, end, primary, *replicas in reply:
        slots[(start, end)] = {
            "primary": (to_str(primary[0]), primary[1]),
            "replicas": [(to_str(node[0]), node[1]) for node in replicas],
        }
    return slots


def cluster_shards() -> Command[list[dict[str, Any]]]:
    """CLUSTER SHARDS: per shard ``{"slots": [(start, end)], "nodes": [dict]}``, redis-py's shape.

    Node dicts have the server's field names and values as sent (``bytes``,
    or ``str`` with ``decode_responses``). On a ``ClusterClient``: any one
    primary.
    """
    return ("CLUSTER", "SHARDS"), _cluster_shards


def _cluster_shards(reply: Any) -> list[dict[str, Any]]:
    shards = []
    for raw in reply:
        fields = {to_str(name): value for name, value in _mapping(raw).items()}
        bounds = iter(fields["slots"])
        shards.append(
            {
                "slots": list(zip(bounds, bounds, strict=True)),
                "nodes": [_mapping(node) for node in fields["nodes"]],
            }
        )
    return shards


def cluster_myid() -> Command[Any]:
    """CLUSTER MYID: the node's id, as sent. On a ``ClusterClient``: not offered (which node?)."""
    return ("CLUSTER", "MYID"), None


def cluster_keyslot(key: Key) -> Command[int]:
    """CLUSTER KEYSLOT: the hash slot of ``key``, as the server computes it.

    ``aiopool.key_slot(key)`` gives the same without a round trip.
    """
    return ("CLUSTER", "KEYSLOT", key), None


def cluster_countkeysinslot(slot_id: int) -> Command[int]:
    """CLUSTER COUNTKEYSINSLOT: how many keys the node holds in ``slot_id``.

    On a ``ClusterClient``: the primary serving that slot.
    """
    return ("CLUSTER", "COUNTKEYSINSLOT", _slot("slot_id", slot_id)), None


def cluster_get_keys_in_slot(slot: int, num_keys: int) -> Command[list[str]]:
    """CLUSTER GETKEYSINSLOT: up to ``num_keys`` keys of ``slot``, as ``str`` (as redis-py's).

    On a ``ClusterClient``: the primary serving that slot.
    """
    args = ("CLUSTER", "GETKEYSINSLOT", _slot("slot", slot), not_negative("num_keys", num_keys))
    return args, _str_list


def _str_list(reply: Any) -> list[str]:
    return [to_str(item) for item in reply]


def cluster_links() -> Command[list[Any]]:
    """CLUSTER LINKS: the node's bus links, flat field lists as redis-py's RESP2 (under RESP3 too).

    On a ``ClusterClient``: not offered (which node?).
    """
    return ("CLUSTER", "LINKS"), _resp2


def cluster_replicas(node_id: str) -> Command[dict[str, dict[str, Any]]]:
    """CLUSTER REPLICAS: the replicas of primary ``node_id``, shaped as ``cluster_nodes``.

    An unknown id raises ``ReplyError``. On a ``ClusterClient``: any one primary.
    """
    return ("CLUSTER", "REPLICAS", _node_id(node_id)), _cluster_nodes


def cluster_count_failure_report(node_id: str) -> Command[int]:
    """CLUSTER COUNT-FAILURE-REPORTS: how many nodes report ``node_id`` as failing.

    On a ``ClusterClient``: any one primary (the count is that node's view).
    """
    return ("CLUSTER", "COUNT-FAILURE-REPORTS", _node_id(node_id)), None


# -- administration: one node's own Client ---------------------------------------------------


def cluster_addslots(*slots: int) -> Command[bool]:
    """CLUSTER ADDSLOTS: assign ``slots`` to this node; ``True``."""
    return ("CLUSTER", "ADDSLOTS", *_slot_list("cluster_addslots", slots)), ok


def _ranges(name: str, slots: tuple[Any, ...]) -> list[int]:
    bounds = _slot_list(name, slots)
    if len(bounds) % 2:
        raise DataValueError(f"{name}() takes start, end pairs of slots; got {len(bounds)} slots")
    return bounds


def cluster_addslotsrange(*slots: int) -> Command[bool]:
    """CLUSTER ADDSLOTSRANGE: assign the ``start, end, ...`` slot ranges to this node; ``True``."""
    return ("CLUSTER", "ADDSLOTSRANGE", *_ranges("cluster_addslotsrange", slots)), ok


def cluster_delslots(*slots: int) -> Command[bool]:
    """CLUSTER DELSLOTS: make this node forget ``slots``; ``True``.

    One command for all the slots: redis-py sends one per slot and returns
    a list of bools.
    """
    return ("CLUSTER", "DELSLOTS", *_slot_list("cluster_delslots", slots)), ok


def cluster_delslotsrange(*slots: int) -> Command[bool]:
    """CLUSTER DELSLOTSRANGE: make this node forget the ``start, end, ...`` ranges; ``True``."""
    return ("CLUSTER", "DELSLOTSRANGE", *_ranges("cluster_delslotsrange", slots)), ok


def cluster_failover(option: str | None = None) -> Command[bool]:
    """CLUSTER FAILOVER: make this replica take over its primary; ``True``.

    ``option`` is ``"FORCE"`` or ``"TAKEOVER"``; a primary raises ``ReplyError``.
    """
    if option is None:
        return ("CLUSTER", "FAILOVER"), ok
    if not isinstance(option, str) or option.upper() not in ("FORCE", "TAKEOVER"):
        raise DataValueError(f"option must be 'FORCE' or 'TAKEOVER', got {option!r}")
    return ("CLUSTER", "FAILOVER", option), ok


def cluster_flushslots() -> Command[bool]:
    """CLUSTER FLUSHSLOTS: drop every slot of this node (its keys must be gone); ``True``.

    redis-py raises ``NotImplementedError`` here.
    """
    return ("CLUSTER", "FLUSHSLOTS"), ok


def cluster_forget(node_id: str) -> Command[bool]:
    """CLUSTER FORGET: remove ``node_id`` from this node's table for a minute; ``True``."""
    return ("CLUSTER", "FORGET", _node_id(node_id)), ok


def cluster_meet(host: str, port: int, *, bus_port: int | None = None) -> Command[bool]:
    """CLUSTER MEET: introduce the node at ``host``/``port`` to this node's cluster; ``True``.

    ``bus_port`` is its cluster bus port when that is not ``port + 10000``
    (an addition to redis-py's arguments).
    """
    if not isinstance(host, str):
        raise DataTypeError(f"host must be a str, got {type(host).__name__}")
    args: tuple[Arg, ...] = ("CLUSTER", "MEET", host, integer("port", port))
    return (args if bus_port is None else (*args, integer("bus_port", bus_port))), ok


def cluster_replicate(node_id: str) -> Command[bool]:
    """CLUSTER REPLICATE: make this node a replica of primary ``node_id``; ``True``."""
    return ("CLUSTER", "REPLICATE", _node_id(node_id)), ok


def cluster_reset(soft: bool = True) -> Command[bool]:
    """CLUSTER RESET: reset this node (``SOFT``, or ``HARD`` with ``soft=False``); ``True``."""
    return ("CLUSTER", "RESET", "SOFT" if soft else "HARD"), ok


def cluster_save_config() -> Command[bool]:
    """CLUSTER SAVECONFIG: write this node's cluster config file now; ``True``."""
    return ("CLUSTER", "SAVECONFIG"), ok


def cluster_set_config_epoch(epoch: int) -> Command[bool]:
    """CLUSTER SET-CONFIG-EPOCH: set a new node's config epoch; ``True``."""
    return ("CLUSTER", "SET-CONFIG-EPOCH", not_negative("epoch", epoch)), ok


_SLOT_STATES = ("IMPORTING", "MIGRATING", "NODE")


def cluster_setslot(node_id: str, slot_id: int, state: str) -> Command[bool]:
    """CLUSTER SETSLOT: mark ``slot_id`` ``IMPORTING``/``MIGRATING`` from/to, or ``NODE``; ``True``.

    ``STABLE`` is ``cluster_setslot_stable(slot_id)``, as in redis-py.
    """
    if not isinstance(state, str) or state.upper() not in _SLOT_STATES:
        hint = " (use cluster_setslot_stable)" if str(state).upper() == "STABLE" else ""
        raise DataValueError(f"state must be IMPORTING, MIGRATING or NODE, got {state!r}{hint}")
    args: tuple[Arg, ...] = ("CLUSTER", "SETSLOT", _slot("slot_id", slot_id), state)
    return (*args, _node_id(node_id)), ok


def cluster_setslot_stable(slot_id: int) -> Command[bool]:
    """CLUSTER SETSLOT STABLE: clear ``slot_id``'s importing/migrating state; ``True``."""
    return ("CLUSTER", "SETSLOT", _slot("slot_id", slot_id), "STABLE"), ok


def cluster_bumpepoch() -> Command[str]:
    """CLUSTER BUMPEPOCH: ``"BUMPED <epoch>"`` or ``"STILL <epoch>"``, as ``str``.

    redis-py raises ``NotImplementedError`` here.
    """
    return ("CLUSTER", "BUMPEPOCH"), to_str
