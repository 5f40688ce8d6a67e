"""aiopool.otel against a real server: each metric after a known workload, spans, uninstrument.

The SDK's in-memory reader and exporter collect what a real exporter would
receive; every assertion reads those, never aiopool's internals.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from aiopool import Client, ClusterClient, PoolTimeout, ReplyError
from aiopool.otel import Instrumentation, instrument, operation_name

SECRET = "s3cr3t"  # in every key and value of the workload; never in an attribute

POOL_METRICS = {
    "db.client.connection.count": "{connection}",
    "db.client.connection.idle.max": "{connection}",
    "db.client.connection.idle.min": "{connection}",
    "db.client.connection.max": "{connection}",
    "db.client.connection.pending_requests": "{request}",
    "db.client.connection.timeouts": "{timeout}",
    "db.client.connection.create_time": "s",
    "db.client.connection.wait_time": "s",
    "db.client.connection.use_time": "s",
}


class Telemetry:
    """An SDK meter provider and tracer provider that keep everything in memory."""

    def __init__(self) -> None:
        self.reader = InMemoryMetricReader()
        self.meters = MeterProvider(metric_readers=[self.reader])
        self.exporter = InMemorySpanExporter()
        self.tracers = TracerProvider()
        self.tracers.add_span_processor(SimpleSpanProcessor(self.exporter))

    def metrics(self) -> dict[str, tuple[str, list[Any]]]:
        """Each metric's unit and data points, by name (aiopool's scope only)."""
        found: dict[str, tuple[str, list[Any]]] = {}
        data = self.reader.get_metrics_data()
        if data is None:
            return found
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                assert scope.scope.name == "aiopool"
                for metric in scope.metrics:
                    found[metric.name] = (metric.unit or "", list(metric.data.data_points))
        return found

    def spans(self) -> tuple[ReadableSpan, ...]:
        return self.exporter.get_finished_spans()

    def shutdown(self) -> None:
        self.meters.shutdown()
        self.tracers.shutdown()


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    t = Telemetry()
    yield t
    t.shutdown()


def points(metrics: dict[str, tuple[str, list[Any]]], name: str, **attrs: Any) -> list[Any]:
    """The data points of ``name`` whose attributes include ``attrs`` (dots spelled ``__``)."""
    wanted = {k.replace("__", "."): v for k, v in attrs.items()}
    return [p for p in metrics[name][1] if all(p.attributes.get(k) == v for k, v in wanted.items())]


def one(metrics: dict[str, tuple[str, list[Any]]], name: str, **attrs: Any) -> Any:
    found = points(metrics, name, **attrs)
    assert len(found) == 1, f"{name} {attrs}: {found}"
    return found[0]


def every_attribute_value(
    metrics: dict[str, tuple[str, list[Any]]], spans: tuple[ReadableSpan, ...]
) -> list[str]:
    values = [str(v) for _, pts in metrics.values() for p in pts for v in p.attributes.values()]
    for span in spans:
        values += [span.name, str(span.status.description)]
        values += [str(v) for v in (span.attributes or {}).values()]
        values += [str(v) for event in span.events for v in (event.attributes or {}).values()]
    return values


POOL = "db.client.connection.pool.name"


async def test_client_metrics_and_spans_after_a_known_workload(
    redis_url: str, telemetry: Telemetry
) -> None:
    gets, timeouts = 25, 3
    async with Client.from_url(redis_url, max_size=2, acquire_timeout=0.05) as client:
        address = client.pool.connection_options
        name = f"{address.host}:{address.port}/0"
        done = instrument(client, telemetry.meters, telemetry.tracers)
        before = client.pool.stats()

        await client.set(f"{SECRET}:k", f"{SECRET}:v")
        for _ in range(gets):
            assert await client.get(f"{SECRET}:k") == f"{SECRET}:v".encode()
        with pytest.raises(ReplyError) as failed:
            await client.lpush(f"{SECRET}:k", SECRET)  # a string: WRONGTYPE
        async with client.pipeline(transaction=False) as pipe:
            pipe.get(f"{SECRET}:k").set(f"{SECRET}:p", SECRET).get(f"{SECRET}:p")
            assert len(await pipe.execute()) == 3
        async with client.pipeline(transaction=True) as tx:
            tx.incr(f"{SECRET}:n").incr(f"{SECRET}:n")
            assert await tx.execute() == [1, 2]
        raised = 0
        async with client.pool.acquire(), client.pool.acquire():  # the whole pool, held
            for _ in range(timeouts):
                with pytest.raises(PoolTimeout):
                    await client.get(f"{SECRET}:k")
                raised += 1
        after = client.pool.stats()
        metrics = telemetry.metrics()
        spans = telemetry.spans()
        done.uninstrument()

    # Every metric, by its current name and unit.
    for metric, unit in {**POOL_METRICS, "db.client.operation.duration": "s"}.items():
        assert metric in metrics, f"{metric} missing"
        assert metrics[metric][0] == unit, metric

    # The pool's counts, from pool.stats() at collection.
    idle = one(
        metrics, "db.client.connection.count", **{POOL: name}, db__client__connection__state="idle"
    )
    used = one(
        metrics, "db.client.connection.count", **{POOL: name}, db__client__connection__state="used"
    )
    assert (idle.value, used.value) == (after.idle, after.in_use) == (2, 0)
    assert one(metrics, "db.client.connection.max", **{POOL: name}).value == 2
    assert one(metrics, "db.client.connection.idle.max", **{POOL: name}).value == 2
    assert one(metrics, "db.client.connection.idle.min", **{POOL: name}).value == 0
    assert one(metrics, "db.client.connection.pending_requests", **{POOL: name}).value == 0
    # Exactly the PoolTimeouts raised.
    assert raised == timeouts
    assert one(metrics, "db.client.connection.timeouts", **{POOL: name}).value == timeouts

    # One wait per borrow (the two held ones included), one use per return, one create per connect.
    wait = one(metrics, "db.client.connection.wait_time", **{POOL: name})
    use = one(metrics, "db.client.connection.use_time", **{POOL: name})
    create = one(metrics, "db.client.connection.create_time", **{POOL: name})
    assert wait.count == after.acquired - before.acquired
    assert use.count == after.acquired - before.acquired  # everything went back
    assert create.count == after.created - before.created == 2  # min_size=0: both on demand
    assert wait.min >= 0
    assert wait.max < 5
    assert create.min > 0
    assert create.max < 5
    assert use.max >= timeouts * 0.05  # the held borrows outlived the three timeouts

    # Operations: the command's name, the server, error.type on failures only.
    base = {
        "db.system.name": "redis",
        "db.namespace": "0",
        "server.address": address.host,
        "server.port": address.port,
    }
    ok_gets = one(
        metrics, "db.client.operation.duration", db__operation__name="GET", error__type=None
    )
    assert dict(ok_gets.attributes) == {**base, "db.operation.name": "GET"}
    assert ok_gets.count == gets
    assert 0 < ok_gets.min <= ok_gets.max < 5
    wrong = one(metrics, "db.client.operation.duration", db__operation__name="LPUSH")
    assert dict(wrong.attributes) == {
        **base,
        "db.operation.name": "LPUSH",
        "error.type": type(failed.value).__qualname__,
        "db.response.status_code": "WRONGTYPE",
    }
    assert wrong.count == 1
    starved = one(metrics, "db.client.operation.duration", error__type="PoolTimeout")
    assert starved.attributes["db.operation.name"] == "GET"
    assert starved.count == timeouts
    assert starved.min >= 0.05  # each waited out acquire_timeout
    for batch in ("PIPELINE", "MULTI"):
        point = one(metrics, "db.client.operation.duration", db__operation__name=batch)
        assert dict(point.attributes) == {**base, "db.operation.name": batch}
        assert point.count == 1

    # Spans: one CLIENT span per command and batch, named by its operation.
    names = [span.name for span in spans]
    assert names.count("GET") == gets + timeouts
    assert names.count("SET") == 1
    assert {"LPUSH", "PIPELINE", "MULTI"} <= set(names)
    assert all(span.kind is SpanKind.CLIENT for span in spans)
    (lpush,) = [span for span in spans if span.name == "LPUSH"]
    assert lpush.status.status_code is StatusCode.ERROR
    assert lpush.attributes is not None
    assert lpush.attributes["error.type"] == type(failed.value).__qualname__
    assert lpush.attributes["db.response.status_code"] == "WRONGTYPE"
    (pipeline,) = [span for span in spans if span.name == "PIPELINE"]
    assert pipeline.attributes is not None
    assert pipeline.attributes["db.operation.batch.size"] == 3
    assert pipeline.status.status_code is StatusCode.UNSET
    get = next(span for span in spans if span.name == "GET")
    assert dict(get.attributes or {}) == {**base, "db.operation.name": "GET"}

    # No key, value or message anywhere (the WRONGTYPE message is not one either).
    values = every_attribute_value(metrics, spans)
    assert not [v for v in values if SECRET in v]
    assert not [v for v in values if "wrong kind of value" in v]


async def test_pending_requests_and_used_count_while_a_task_waits(
    redis_url: str, telemetry: Telemetry
) -> None:
    async with Client.from_url(redis_url, max_size=1, acquire_timeout=5) as client:
        instrument(client, telemetry.meters)
        name = f"{client.pool.connection_options.address}/0"
        async with client.pool.acquire():
            waiter = asyncio.create_task(client.ping())
            for _ in range(100):  # bounded: until the waiter is in line
                if client.pool.stats().waiting:
                    break
                await asyncio.sleep(0.01)
            metrics = telemetry.metrics()
            pending = one(metrics, "db.client.connection.pending_requests", **{POOL: name})
            used = one(
                metrics,
                "db.client.connection.count",
                **{POOL: name},
                db__client__connection__state="used",
            )
            assert (pending.value, used.value) == (1, 1)
        assert await waiter is True
        metrics = telemetry.metrics()
        assert one(metrics, "db.client.connection.pending_requests", **{POOL: name}).value == 0
        wait = one(metrics, "db.client.connection.wait_time", **{POOL: name})
        assert wait.max > 0  # the waiter's wait is in the histogram


async def test_uninstrument_stops_emission(redis_url: str, telemetry: Telemetry) -> None:
    async with Client.from_url(redis_url) as client:
        done = instrument(client, telemetry.meters, telemetry.tracers)
        await client.set(f"{SECRET}:k", "1")
        counted = one(telemetry.metrics(), "db.client.operation.duration").count
        assert counted == 1
        spans = len(telemetry.spans())
        assert type(client) is not Client  # observed: its commands are timed
        done.uninstrument()
        done.uninstrument()  # idempotent
        assert type(client) is Client  # as if never instrumented: Client._send, untouched
        assert not done.is_active()
        assert "uninstrumented" in repr(done)
        for _ in range(5):
            await client.get(f"{SECRET}:k")
        async with client.pipeline() as pipe:
            await pipe.get(f"{SECRET}:k").execute()
        metrics = telemetry.metrics()
        # The histograms keep what they had (cumulative) and gain nothing.
        assert one(metrics, "db.client.operation.duration").count == counted
        # The asynchronous instruments report no pool any more.
        for metric in ("db.client.connection.count", "db.client.connection.timeouts"):
            assert not metrics.get(metric, ("", []))[1]
        assert len(telemetry.spans()) == spans
        # And the client can be instrumented again, from a fresh baseline.
        again = instrument(client, telemetry.meters)
        await client.get(f"{SECRET}:k")
        again.uninstrument()


async def test_instrument_refuses_twice_and_other_objects(redis_url: str) -> None:
    async with Client.from_url(redis_url) as client:
        done = instrument(client)
        with pytest.raises(RuntimeError, match="instrumented already"):
            instrument(client)
        done.uninstrument()
        instrument(client).uninstrument()
    with pytest.raises(TypeError, match="Client or a ClusterClient"):
        instrument(client.pool)  # type: ignore[arg-type]


async def test_cluster_node_pools_are_named_by_node(
    redis_cluster_url: str, telemetry: Telemetry
) -> None:
    async with ClusterClient.from_url(redis_cluster_url) as cluster:
        done = instrument(cluster, telemetry.meters)
        keys = [f"{SECRET}:{i}" for i in range(30)]  # spread over every primary
        for key in keys:
            await cluster.set(key, SECRET)
        async with cluster.pipeline() as pipe:
            for key in keys:
                pipe.get(key)
            assert await pipe.execute() == [SECRET.encode()] * len(keys)
        nodes = set(cluster.stats())
        metrics = telemetry.metrics()
        done.uninstrument()
        assert cluster._on_node is None
    assert len(nodes) >= 3
    pools = {p.attributes[POOL] for p in metrics["db.client.connection.max"][1]}
    assert pools == {f"{node}/0" for node in nodes}
    for node in nodes:
        idle = one(
            metrics,
            "db.client.connection.count",
            **{POOL: f"{node}/0"},
            db__client__connection__state="idle",
        )
        assert idle.value >= 1
    sets = points(metrics, "db.client.operation.duration", db__operation__name="SET")
    assert {
        f"{p.attributes['server.address']}:{p.attributes['server.port']}" for p in sets
    } == nodes
    assert sum(p.count for p in sets) == len(keys)
    # The cluster pipeline: one PIPELINE per node it wrote to.
    batches = points(metrics, "db.client.operation.duration", db__operation__name="PIPELINE")
    assert len(batches) == len(nodes)
    assert all(p.count == 1 for p in batches)
    assert not [v for v in every_attribute_value(metrics, ()) if SECRET in v]


def test_operation_names_come_from_the_command_table() -> None:
    assert operation_name(("get", "k")) == "GET"
    assert operation_name((b"CONFIG", b"get", b"maxmemory")) == "CONFIG GET"
    assert operation_name(("CONFIG", f"{SECRET}-sub")) == "CONFIG"  # unknown subcommand
    assert operation_name((f"{SECRET}:key",)) == "_OTHER"  # never a key sent as a name
    assert operation_name(()) == "_OTHER"


def test_aiopool_imports_and_runs_without_opentelemetry(redis_url: str) -> None:
    script = textwrap.dedent(
        """
        import asyncio, sys
        for name in ("opentelemetry", "opentelemetry.metrics", "opentelemetry.trace"):
            sys.modules[name] = None  # import raises ImportError
        import aiopool
        import aiopool.otel

        async def main(url):
            async with aiopool.Client.from_url(url) as client:
                await client.set("k", "v")
                assert await client.get("k") == b"v"
                try:
                    aiopool.otel.instrument(client)
                except ImportError as exc:
                    print("refused:", exc)
                else:
                    raise SystemExit("instrument() ran without opentelemetry")
            assert not any(m.startswith("opentelemetry") and sys.modules[m] is not None
                           for m in sys.modules)
            print("ok")

        asyncio.run(main(sys.argv[1]))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, redis_url],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "pip install 'aiopool[otel]'" in result.stdout
    assert result.stdout.strip().endswith("ok")


def test_instrumentation_repr_names_the_pools() -> None:
    client = Client.from_url("redis://127.0.0.1:1/3")
    done = instrument(client, MeterProvider())
    assert isinstance(done, Instrumentation)
    assert repr(done) == "<Instrumentation pools=['127.0.0.1:1/3']>"
    done.uninstrument()
