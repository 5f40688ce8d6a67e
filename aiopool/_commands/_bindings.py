"""The binding table: which command definition each surface's method runs, in one place.

``BINDINGS`` maps every command method to its definition (a function of a
family module returning a ``Command``). ``tools/bind_commands.py`` writes the
generated block of each surface (``Client``, ``Pipeline``, ``ClusterClient``,
``ClusterPipeline``) from it, so the four surfaces cannot drift apart by
hand; a stale block fails ``tests/unit/test_command_surfaces.py``.

``ABSENT`` lists, with the reason, every public method one surface lacks
although another has it (hand-written methods such as ``watch()`` or
``scan_iter()`` included). The parity test allows these and nothing else,
and fails on an entry that is no longer true.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from . import (
    admin,
    bits,
    cluster_admin,
    geo,
    hashes,
    keys,
    lists,
    pubsub,
    scripting,
    server,
    sets,
    streams,
    strings,
    zsets,
)

__all__ = ["ABSENT", "BINDINGS", "SURFACES"]

SURFACES: Final = ("Client", "Pipeline", "ClusterClient", "ClusterPipeline")

# Method name -> definition, in the order the surfaces list them. A definition
# named with a trailing underscore (``set_``, ``type_``) avoids a builtin's name.
BINDINGS: Final[dict[str, Callable[..., Any]]] = {
    # strings
    "append": strings.append,
    "decr": strings.decr,
    "decrby": strings.decrby,
    "get": strings.get,
    "getdel": strings.getdel,
    "getex": strings.getex,
    "getrange": strings.getrange,
    "getset": strings.getset,
    "incr": strings.incr,
    "incrby": strings.incrby,
    "incrbyfloat": strings.incrbyfloat,
    "lcs": strings.lcs,
    "mget": strings.mget,
    "mset": strings.mset,
    "msetnx": strings.msetnx,
    "psetex": strings.psetex,
    "set": strings.set_,
    "setex": strings.setex,
    "setnx": strings.setnx,
    "setrange": strings.setrange,
    "strlen": strings.strlen,
    "substr": strings.substr,
    # keys
    "copy": keys.copy,
    "delete": keys.delete,
    "dump": keys.dump,
    "exists": keys.exists,
    "expire": keys.expire,
    "expireat": keys.expireat,
    "expiretime": keys.expiretime,
    "keys": keys.keys,
    "migrate": keys.migrate,
    "move": keys.move,
    "object": keys.object_,
    "object_encoding": keys.object_encoding,
    "object_freq": keys.object_freq,
    "object_idletime": keys.object_idletime,
    "object_refcount": keys.object_refcount,
    "persist": keys.persist,
    "pexpire": keys.pexpire,
    "pexpireat": keys.pexpireat,
    "pexpiretime": keys.pexpiretime,
    "pttl": keys.pttl,
    "randomkey": keys.randomkey,
    "rename": keys.rename,
    "renamenx": keys.renamenx,
    "restore": keys.restore,
    "scan": keys.scan,
    "sort": keys.sort,
    "sort_ro": keys.sort_ro,
    "touch": keys.touch,
    "ttl": keys.ttl,
    "type": keys.type_,
    "unlink": keys.unlink,
    # hashes
    "hdel": hashes.hdel,
    "hexists": hashes.hexists,
    "hget": hashes.hget,
    "hgetall": hashes.hgetall,
    "hincrby": hashes.hincrby,
    "hincrbyfloat": hashes.hincrbyfloat,
    "hkeys": hashes.hkeys,
    "hlen": hashes.hlen,
    "hmget": hashes.hmget,
    "hmset": hashes.hmset,
    "hrandfield": hashes.hrandfield,
    "hscan": hashes.hscan,
    "hset": hashes.hset,
    "hsetnx": hashes.hsetnx,
    "hstrlen": hashes.hstrlen,
    "hvals": hashes.hvals,
    # lists
    "blmove": lists.blmove,
    "blpop": lists.blpop,
    "blmpop": lists.blmpop,
    "brpop": lists.brpop,
    "brpoplpush": lists.brpoplpush,
    "lindex": lists.lindex,
    "linsert": lists.linsert,
    "llen": lists.llen,
    "lmpop": lists.lmpop,
    "lmove": lists.lmove,
    "lpop": lists.lpop,
    "lpos": lists.lpos,
    "lpush": lists.lpush,
    "lpushx": lists.lpushx,
    "lrange": lists.lrange,
    "lrem": lists.lrem,
    "lset": lists.lset,
    "ltrim": lists.ltrim,
    "rpop": lists.rpop,
    "rpoplpush": lists.rpoplpush,
    "rpush": lists.rpush,
    "rpushx": lists.rpushx,
    # sets
    "sadd": sets.sadd,
    "scard": sets.scard,
    "sdiff": sets.sdiff,
    "sdiffstore": sets.sdiffstore,
    "sinter": sets.sinter,
    "sintercard": sets.sintercard,
    "sinterstore": sets.sinterstore,
    "sismember": sets.sismember,
    "smembers": sets.smembers,
    "smismember": sets.smismember,
    "smove": sets.smove,
    "spop": sets.spop,
    "srandmember": sets.srandmember,
    "srem": sets.srem,
    "sscan": sets.sscan,
    "sunion": sets.sunion,
    "sunionstore": sets.sunionstore,
    # zsets
    "bzmpop": zsets.bzmpop,
    "bzpopmax": zsets.bzpopmax,
    "bzpopmin": zsets.bzpopmin,
    "zadd": zsets.zadd,
    "zcard": zsets.zcard,
    "zcount": zsets.zcount,
    "zdiff": zsets.zdiff,
    "zdiffstore": zsets.zdiffstore,
    "zincrby": zsets.zincrby,
    "zinter": zsets.zinter,
    "zintercard": zsets.zintercard,
    "zinterstore": zsets.zinterstore,
    "zlexcount": zsets.zlexcount,
    "zmpop": zsets.zmpop,
    "zmscore": zsets.zmscore,
    "zpopmax": zsets.zpopmax,
    "zpopmin": zsets.zpopmin,
    "zrandmember": zsets.zrandmember,
    "zrange": zsets.zrange,
    "zrangebylex": zsets.zrangebylex,
    "zrangebyscore": zsets.zrangebyscore,
    "zrangestore": zsets.zrangestore,
    "zrank": zsets.zrank,
    "zrem": zsets.zrem,
    "zremrangebylex": zsets.zremrangebylex,
    "zremrangebyrank": zsets.zremrangebyrank,
    "zremrangebyscore": zsets.zremrangebyscore,
    "zrevrange": zsets.zrevrange,
    "zrevrangebylex": zsets.zrevrangebylex,
    "zrevrangebyscore": zsets.zrevrangebyscore,
    "zrevrank": zsets.zrevrank,
    "zscan": zsets.zscan,
    "zscore": zsets.zscore,
    "zunion": zsets.zunion,
    "zunionstore": zsets.zunionstore,
    # geo
    "geoadd": geo.geoadd,
    "geodist": geo.geodist,
    "geohash": geo.geohash,
    "geopos": geo.geopos,
    "georadius": geo.georadius,
    "georadiusbymember": geo.georadiusbymember,
    "geosearch": geo.geosearch,
    "geosearchstore": geo.geosearchstore,
    # streams
    "xack": streams.xack,
    "xadd": streams.xadd,
    "xautoclaim": streams.xautoclaim,
    "xclaim": streams.xclaim,
    "xdel": streams.xdel,
    "xgroup_create": streams.xgroup_create,
    "xgroup_createconsumer": streams.xgroup_createconsumer,
    "xgroup_delconsumer": streams.xgroup_delconsumer,
    "xgroup_destroy": streams.xgroup_destroy,
    "xgroup_setid": streams.xgroup_setid,
    "xinfo_consumers": streams.xinfo_consumers,
    "xinfo_groups": streams.xinfo_groups,
    "xinfo_stream": streams.xinfo_stream,
    "xlen": streams.xlen,
    "xpending": streams.xpending,
    "xpending_range": streams.xpending_range,
    "xrange": streams.xrange,
    "xread": streams.xread,
    "xreadgroup": streams.xreadgroup,
    "xrevrange": streams.xrevrange,
    "xtrim": streams.xtrim,
    # bits
    "bitcount": bits.bitcount,
    "bitfield_ro": bits.bitfield_ro,
    "bitop": bits.bitop,
    "bitpos": bits.bitpos,
    "getbit": bits.getbit,
    "pfadd": bits.pfadd,
    "pfcount": bits.pfcount,
    "pfmerge": bits.pfmerge,
    "setbit": bits.setbit,
    # scripting
    "eval": scripting.eval_,
    "eval_ro": scripting.eval_ro,
    "evalsha": scripting.evalsha,
    "evalsha_ro": scripting.evalsha_ro,
    "fcall": scripting.fcall,
    "fcall_ro": scripting.fcall_ro,
    "function_delete": scripting.function_delete,
    "function_dump": scripting.function_dump,
    "function_flush": scripting.function_flush,
    "function_kill": scripting.function_kill,
    "function_list": scripting.function_list,
    "function_load": scripting.function_load,
    "function_restore": scripting.function_restore,
    "function_stats": scripting.function_stats,
    "script_exists": scripting.script_exists,
    "script_flush": scripting.script_flush,
    "script_kill": scripting.script_kill,
    "script_load": scripting.script_load,
    # pubsub
    "publish": pubsub.publish,
    "pubsub_channels": pubsub.pubsub_channels,
    "pubsub_numpat": pubsub.pubsub_numpat,
    "pubsub_numsub": pubsub.pubsub_numsub,
    "pubsub_shardchannels": pubsub.pubsub_shardchannels,
    "pubsub_shardnumsub": pubsub.pubsub_shardnumsub,
    "spublish": pubsub.spublish,
    # server
    "client_getname": server.client_getname,
    "client_getredir": server.client_getredir,
    "client_id": server.client_id,
    "client_info": server.client_info,
    "client_kill": server.client_kill,
    "client_kill_filter": server.client_kill_filter,
    "client_list": server.client_list,
    "client_pause": server.client_pause,
    "client_setname": server.client_setname,
    "client_trackinginfo": server.client_trackinginfo,
    "client_unblock": server.client_unblock,
    "client_unpause": server.client_unpause,
    "config_get": server.config_get,
    "config_resetstat": server.config_resetstat,
    "config_rewrite": server.config_rewrite,
    "config_set": server.config_set,
    "dbsize": server.dbsize,
    "echo": server.echo,
    "flushall": server.flushall,
    "flushdb": server.flushdb,
    "info": server.info,
    "lastsave": server.lastsave,
    "memory_usage": server.memory_usage,
    "ping": server.ping,
    "time": server.time,
    "wait": server.wait,
    # admin
    "acl_cat": admin.acl_cat,
    "acl_deluser": admin.acl_deluser,
    "acl_dryrun": admin.acl_dryrun,
    "acl_genpass": admin.acl_genpass,
    "acl_getuser": admin.acl_getuser,
    "acl_list": admin.acl_list,
    "acl_load": admin.acl_load,
    "acl_save": admin.acl_save,
    "acl_log": admin.acl_log,
    "acl_log_reset": admin.acl_log_reset,
    "acl_setuser": admin.acl_setuser,
    "acl_users": admin.acl_users,
    "acl_whoami": admin.acl_whoami,
    "slowlog_get": admin.slowlog_get,
    "slowlog_len": admin.slowlog_len,
    "slowlog_reset": admin.slowlog_reset,
    "latency_doctor": admin.latency_doctor,
    "latency_graph": admin.latency_graph,
    "latency_histogram": admin.latency_histogram,
    "latency_history": admin.latency_history,
    "latency_latest": admin.latency_latest,
    "latency_reset": admin.latency_reset,
    "memory_stats": admin.memory_stats,
    "memory_doctor": admin.memory_doctor,
    "memory_malloc_stats": admin.memory_malloc_stats,
    "memory_purge": admin.memory_purge,
    "module_list": admin.module_list,
    "module_load": admin.module_load,
    "module_loadex": admin.module_loadex,
    "module_unload": admin.module_unload,
    "command_count": admin.command_count,
    "command_docs": admin.command_docs,
    "command_getkeys": admin.command_getkeys,
    "command_getkeysandflags": admin.command_getkeysandflags,
    "command_info": admin.command_info,
    "command_list": admin.command_list,
    "role": admin.role,
    "bgsave": admin.bgsave,
    "save": admin.save,
    "bgrewriteaof": admin.bgrewriteaof,
    "swapdb": admin.swapdb,
    "lolwut": admin.lolwut,
    "replicaof": admin.replicaof,
    "slaveof": admin.slaveof,
    "failover": admin.failover,
    "debug_object": admin.debug_object,
    # cluster_admin
    "cluster_info": cluster_admin.cluster_info,
    "cluster_nodes": cluster_admin.cluster_nodes,
    "cluster_slots": cluster_admin.cluster_slots,
    "cluster_shards": cluster_admin.cluster_shards,
    "cluster_myid": cluster_admin.cluster_myid,
    "cluster_keyslot": cluster_admin.cluster_keyslot,
    "cluster_countkeysinslot": cluster_admin.cluster_countkeysinslot,
    "cluster_get_keys_in_slot": cluster_admin.cluster_get_keys_in_slot,
    "cluster_links": cluster_admin.cluster_links,
    "cluster_replicas": cluster_admin.cluster_replicas,
    "cluster_count_failure_report": cluster_admin.cluster_count_failure_report,
    "cluster_addslots": cluster_admin.cluster_addslots,
    "cluster_addslotsrange": cluster_admin.cluster_addslotsrange,
    "cluster_delslots": cluster_admin.cluster_delslots,
    "cluster_delslotsrange": cluster_admin.cluster_delslotsrange,
    "cluster_failover": cluster_admin.cluster_failover,
    "cluster_flushslots": cluster_admin.cluster_flushslots,
    "cluster_forget": cluster_admin.cluster_forget,
    "cluster_meet": cluster_admin.cluster_meet,
    "cluster_replicate": cluster_admin.cluster_replicate,
    "cluster_reset": cluster_admin.cluster_reset,
    "cluster_save_config": cluster_admin.cluster_save_config,
    "cluster_set_config_epoch": cluster_admin.cluster_set_config_epoch,
    "cluster_setslot": cluster_admin.cluster_setslot,
    "cluster_setslot_stable": cluster_admin.cluster_setslot_stable,
    "cluster_bumpepoch": cluster_admin.cluster_bumpepoch,
}

_PIPELINE_ONLY = "acts on a pipeline's queue or its watched connection"
_RAW_QUEUED = (
    "a client runs a raw command with execute(*args); a pipeline's execute() sends the "
    "queue, so command(*args) queues one"
)
_MADE_BY_CLIENT = "made by client.pipeline() and owns no pool: the client has this"
_ITERATES = (
    "iterating takes one round trip per batch, a pipeline sends everything in one write "
    "(queue one batch's hscan/sscan/zscan/scan instead)"
)
_CLIENT_SCRIPTS = "scripts are registered on the client; queue them with run_script(script)"
_IS_TRANSACTION = (
    "a pipeline is the transaction: client.pipeline(transaction=True); "
    "client.transaction() retries it"
)
_TOPOLOGY = "cluster topology: a ClusterClient's nodes and slot map (a Client has client.pool)"
_OPENS_ITSELF = "opens its pool on first use or with async with (client.pool.open())"
_CLUSTER_SCRIPTS_NOT_YET = (
    "not yet (README, Not yet): each node a group goes to would need the script "
    "loaded; call the script, or queue evalsha() after script_load()"
)
_LOCK_ON_CLIENT = (
    "a lock takes and releases itself in round trips of its own (SET NX, then a script); "
    "take it with client.lock(name) around the pipeline"
)
_MONITOR_PER_NODE = (
    "MONITOR shows one server's commands: cluster.node(address).monitor() for each node "
    "to watch (cluster.primaries() lists them)"
)
_MONITOR_ON_CLIENT = "MONITOR takes a connection of its own: client.monitor()"

_MULTI = "redis-py's explicit transaction start after watch(): a pipeline's"

# Surface -> {public method it lacks: why}. Everything public on one surface and
# not listed here exists on all four.
ABSENT: Final[dict[str, dict[str, str]]] = {
    "Client": {
        "command": _RAW_QUEUED,
        "immediate": _PIPELINE_ONLY,
        "multi": _MULTI,
        "reset": _PIPELINE_ONLY,
        "watch": _PIPELINE_ONLY,
        "node": _TOPOLOGY,
        "primaries": _TOPOLOGY,
        "slot_owner": _TOPOLOGY,
        "stats": _TOPOLOGY,
        "open": _OPENS_ITSELF,
    },
    "Pipeline": {
        "aclose": _MADE_BY_CLIENT,
        "auto_pipeline_stats": _MADE_BY_CLIENT,
        "cache_clear": _MADE_BY_CLIENT,
        "cache_stats": _MADE_BY_CLIENT,
        "from_url": _MADE_BY_CLIENT,
        "pipeline": _MADE_BY_CLIENT,
        "pubsub": _MADE_BY_CLIENT,
        "hscan_iter": _ITERATES,
        "scan_iter": _ITERATES,
        "sscan_iter": _ITERATES,
        "zscan_iter": _ITERATES,
        "register_script": _CLIENT_SCRIPTS,
        "transaction": _IS_TRANSACTION,
        "node": _TOPOLOGY,
        "open": _TOPOLOGY,
        "primaries": _TOPOLOGY,
        "slot_owner": _TOPOLOGY,
        "stats": _TOPOLOGY,
        "lock": _LOCK_ON_CLIENT,
        "monitor": _MONITOR_ON_CLIENT,
    },
    "ClusterClient": {
        "command": _RAW_QUEUED,
        "immediate": _PIPELINE_ONLY,
        "multi": _MULTI,
        "reset": _PIPELINE_ONLY,
        "watch": _PIPELINE_ONLY,
        "monitor": _MONITOR_PER_NODE,
    },
    "ClusterPipeline": {
        "aclose": _MADE_BY_CLIENT,
        "auto_pipeline_stats": _MADE_BY_CLIENT,
        "cache_clear": _MADE_BY_CLIENT,
        "cache_stats": _MADE_BY_CLIENT,
        "from_url": _MADE_BY_CLIENT,
        "pipeline": _MADE_BY_CLIENT,
        "pubsub": _MADE_BY_CLIENT,
        "hscan_iter": _ITERATES,
        "scan_iter": _ITERATES,
        "sscan_iter": _ITERATES,
        "zscan_iter": _ITERATES,
        "register_script": _CLIENT_SCRIPTS,
        "transaction": _IS_TRANSACTION,
        "run_script": _CLUSTER_SCRIPTS_NOT_YET,
        "node": _TOPOLOGY,
        "open": _TOPOLOGY,
        "primaries": _TOPOLOGY,
        "slot_owner": _TOPOLOGY,
        "stats": _TOPOLOGY,
        "lock": _LOCK_ON_CLIENT,
        "monitor": _MONITOR_ON_CLIENT,
    },
}

# -- server administration on the cluster surfaces ------------------------------------------
_ONE_NODE = (
    "acts on, or describes, one particular node: call it on that node's Client, "
    "cluster.node(address).{}(...)"
)
_CLIENT_ONLY_SHUTDOWN = (
    "the server closes the connection: only a Client treats that as success "
    "(a cluster client: cluster.node(address).shutdown())"
)
_NODE_NOT_SLOT = (
    "server administration runs on a node (or on every node), not on a key's slot, and "
    "redis-py's ClusterPipeline refuses it too: use cluster.node(address).pipeline()"
)
# On a ClusterClient these would land on a random primary, which is never what
# the caller means: a client, a running script, a save or a slot table is one node's.
_PER_NODE: Final = frozenset(
    {
        *("client_kill", "client_kill_filter", "client_pause", "client_unpause"),
        *("client_unblock", "script_kill", "function_kill", "save", "bgsave"),
        *("bgrewriteaof", "swapdb", "replicaof", "slaveof", "failover"),
        *("module_load", "module_loadex", "module_unload", "cluster_myid", "cluster_links"),
        *("cluster_addslots", "cluster_addslotsrange", "cluster_delslots"),
        *("cluster_delslotsrange", "cluster_failover", "cluster_flushslots"),
        *("cluster_forget", "cluster_meet", "cluster_replicate", "cluster_reset"),
        *("cluster_save_config", "cluster_set_config_epoch", "cluster_setslot"),
        *("cluster_setslot_stable", "cluster_bumpepoch"),
    }
)
# Not in a ClusterPipeline: the admin and cluster families (but for the keyed
# DEBUG OBJECT) and the per-node CLIENT, CONFIG and FUNCTION ones.
_NOT_IN_CLUSTER_PIPELINE: Final = frozenset(
    {
        *(
            name
            for name, definition in BINDINGS.items()
            if definition.__module__.rsplit(".", 1)[1] in ("admin", "cluster_admin")
            and name != "debug_object"
        ),
        *("client_info", "client_getredir", "client_trackinginfo", "config_resetstat"),
        *("config_rewrite", "function_dump", "function_restore", "function_stats"),
        *_PER_NODE,
    }
)

ABSENT["Pipeline"]["shutdown"] = _CLIENT_ONLY_SHUTDOWN
ABSENT["ClusterClient"]["shutdown"] = _CLIENT_ONLY_SHUTDOWN
ABSENT["ClusterPipeline"]["shutdown"] = _CLIENT_ONLY_SHUTDOWN
ABSENT["ClusterClient"].update({name: _ONE_NODE.format(name) for name in sorted(_PER_NODE)})
ABSENT["ClusterPipeline"].update(dict.fromkeys(sorted(_NOT_IN_CLUSTER_PIPELINE), _NODE_NOT_SLOT))
