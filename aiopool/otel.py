"""OpenTelemetry metrics (and optional spans) for a ``Client`` or ``ClusterClient``.

``instrument(client)`` emits the semantic conventions' database client
metrics, by their current names, units and attributes:

- ``db.client.connection.count`` (``db.client.connection.state`` = ``idle`` |
  ``used``), ``db.client.connection.idle.max``, ``.idle.min``, ``.max`` and
  ``.pending_requests``: asynchronous up-down counters read from
  ``pool.stats()`` at each collection;
- ``db.client.connection.timeouts``: an asynchronous counter of the
  ``PoolTimeout`` errors raised since ``instrument()``;
- ``db.client.connection.create_time``, ``.wait_time`` and ``.use_time``
  (seconds): histograms recorded as the pool connects, hands out and takes
  back connections;

all with ``db.client.connection.pool.name``, and
``db.client.operation.duration`` (seconds) per command or batch, with
``db.system.name`` = ``redis``, ``db.namespace`` (the database index),
``server.address``, ``server.port``, ``db.operation.name`` (``GET``,
``CONFIG GET``, ``PIPELINE``, ``MULTI``) and, on failure, ``error.type``
(the exception's class name) and ``db.response.status_code`` (the error
reply's prefix, ``WRONGTYPE``). With a ``tracer_provider``, every command and
batch is also a ``CLIENT`` span named by its operation, with the same
attributes (and ``db.operation.batch.size`` for batches).

No attribute ever holds a key, a value, an error message or a password:
only the command's name from the server's command table (``_OTHER`` for a
name it does not know), the exception's class name and the error prefix.

``opentelemetry-api`` is the optional extra ``aiopool[otel]``: this module
imports it only when ``instrument()`` is called. A client nobody instruments
pays nothing per command and one ``is None`` test per pool borrow and return.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Final

from ._client import Client
from ._cluster import ClusterClient
from ._command_table import CONTAINERS, KNOWN
from ._errors import ReplyError
from ._pool import Pool
from ._protocol import canonical_name, display_form

if TYPE_CHECKING:
    from opentelemetry.metrics import CallbackOptions, Histogram, MeterProvider, Observation
    from opentelemetry.trace import Span, Tracer, TracerProvider
    from opentelemetry.util.types import AttributeValue

__all__ = ["Instrumentation", "instrument"]

_SCOPE: Final = "aiopool"
_OTHER: Final = "_OTHER"  # a command the table does not know: its name could be anything
# The conventions' advice for db.client.operation.duration.
_OPERATION_BUCKETS: Final = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0)
# A pool's waits and holds are often far below a millisecond on a healthy pool.
_POOL_BUCKETS: Final = (0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0)

Attributes = dict[str, "AttributeValue"]


def _version() -> str | None:
    """aiopool's version, as the instrumentation scope's (None when not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("aiopool")
    except PackageNotFoundError:
        return None


def operation_name(args: tuple[Any, ...]) -> str:
    """``db.operation.name`` of a command: ``"GET"``, ``"CONFIG GET"``, or ``"_OTHER"``.

    Only names in the server's command table are reported: a name the table
    does not know (a module's command, a typo, a key passed by mistake as the
    command) could be anything, so it is ``"_OTHER"``.
    """
    name = canonical_name(args)
    if name in KNOWN:
        return display_form(name)
    head = name.split("|", 1)[0]
    if head in CONTAINERS:  # an unknown subcommand of a known container
        return display_form(head)
    return _OTHER


class _Metrics:
    """The instruments, made once per ``instrument()`` call."""

    __slots__ = ("_scope", "create_time", "duration", "use_time", "wait_time")

    def __repr__(self) -> str:
        return f"<instruments of meter {self._scope!r}>"

    def __init__(self, registry: Instrumentation, provider: MeterProvider) -> None:
        self._scope = _SCOPE
        meter = provider.get_meter(_SCOPE, _version())
        self.duration: Histogram = meter.create_histogram(
            "db.client.operation.duration",
            unit="s",
            description="Duration of database client operations.",
            explicit_bucket_boundaries_advisory=list(_OPERATION_BUCKETS),
        )
        self.create_time: Histogram = meter.create_histogram(
            "db.client.connection.create_time",
            unit="s",
            description="The time it took to create a new connection.",
            explicit_bucket_boundaries_advisory=list(_POOL_BUCKETS),
        )
        self.wait_time: Histogram = meter.create_histogram(
            "db.client.connection.wait_time",
            unit="s",
            description="The time it took to obtain an open connection from the pool.",
            explicit_bucket_boundaries_advisory=list(_POOL_BUCKETS),
        )
        self.use_time: Histogram = meter.create_histogram(
            "db.client.connection.use_time",
            unit="s",
            description="The time between borrowing a connection and returning it to the pool.",
            explicit_bucket_boundaries_advisory=list(_POOL_BUCKETS),
        )
        meter.create_observable_up_down_counter(
            "db.client.connection.count",
            [registry._counts],
            unit="{connection}",
            description="The number of connections that are currently in state described by "
            "the `state` attribute.",
        )
        meter.create_observable_up_down_counter(
            "db.client.connection.idle.max",
            [registry._gauge(lambda s: s.max_size)],
            unit="{connection}",
            description="The maximum number of idle open connections allowed.",
        )
        meter.create_observable_up_down_counter(
            "db.client.connection.idle.min",
            [registry._gauge(lambda s: s.min_size)],
            unit="{connection}",
            description="The minimum number of idle open connections allowed.",
        )
        meter.create_observable_up_down_counter(
            "db.client.connection.max",
            [registry._gauge(lambda s: s.max_size)],
            unit="{connection}",
            description="The maximum number of open connections allowed.",
        )
        meter.create_observable_up_down_counter(
            "db.client.connection.pending_requests",
            [registry._gauge(lambda s: s.waiting)],
            unit="{request}",
            description="The number of current pending requests for an open connection.",
        )
        meter.create_observable_counter(
            "db.client.connection.timeouts",
            [registry._timeouts],
            unit="{timeout}",
            description="The number of connection timeouts that have occurred trying to "
            "obtain a connection from the pool.",
        )


class _PoolWatch:
    """One pool's observer: the pool histograms, with its pool name."""

    __slots__ = ("attributes", "baseline", "metrics", "pool")

    def __init__(self, pool: Pool, name: str, metrics: _Metrics) -> None:
        self.pool = pool
        self.metrics = metrics
        self.attributes: Attributes = {"db.client.connection.pool.name": name}
        self.baseline = pool.stats().timeouts  # timeouts counts from instrument() on

    def __repr__(self) -> str:
        return f"<pool watch {self.attributes['db.client.connection.pool.name']!r}>"

    def acquired(self, waited: float) -> None:
        self.metrics.wait_time.record(waited, self.attributes)

    def released(self, held: float) -> None:
        self.metrics.use_time.record(held, self.attributes)

    def connected(self, took: float) -> None:
        self.metrics.create_time.record(took, self.attributes)


class _Operation:
    """A command or batch under way: ends with a duration point and (with spans) a span."""

    __slots__ = ("attributes", "span", "started", "watch")

    def __init__(self, watch: _CommandWatch, attributes: Attributes, span: Span | None) -> None:
        self.watch = watch
        self.attributes = attributes
        self.span = span
        self.started = time.perf_counter()

    def __repr__(self) -> str:
        name = self.attributes["db.operation.name"]
        return f"<operation {name!r} for {time.perf_counter() - self.started:.6f}s>"

    def end(self, error: BaseException | None) -> None:
        took = time.perf_counter() - self.started
        attributes = self.attributes
        if error is not None:
            attributes = {**attributes, "error.type": type(error).__qualname__}
            if isinstance(error, ReplyError):
                attributes["db.response.status_code"] = error.code
        self.watch.metrics.duration.record(took, attributes)
        span = self.span
        if span is not None:
            if error is not None:
                from opentelemetry.trace import Status, StatusCode

                span.set_attribute("error.type", attributes["error.type"])
                if "db.response.status_code" in attributes:
                    span.set_attribute(
                        "db.response.status_code", attributes["db.response.status_code"]
                    )
                # The class name only: a message may quote the command's arguments.
                span.set_status(Status(StatusCode.ERROR, type(error).__qualname__))
            span.end()


class _CommandWatch:
    """One client's command observer: the operation histogram (and spans), its server's attributes."""

    __slots__ = ("_by_name", "base", "metrics", "tracer")

    def __init__(self, client: Client, metrics: _Metrics, tracer: Tracer | None) -> None:
        options = client.pool.connection_options
        self.metrics = metrics
        self.tracer = tracer
        base: Attributes = {"db.system.name": "redis", "db.namespace": str(options.db)}
        if options.path is not None:
            base["server.address"] = options.path
        else:
            base["server.address"] = options.host
            base["server.port"] = options.port
        self.base = base
        self._by_name: dict[str, Attributes] = {}

    def __repr__(self) -> str:
        return f"<command watch {self.base.get('server.address')!r}>"

    def _attributes(self, name: str) -> Attributes:
        attributes = self._by_name.get(name)
        if attributes is None:
            attributes = self._by_name[name] = {**self.base, "db.operation.name": name}
        return attributes

    def command(self, args: tuple[Any, ...]) -> _Operation:
        return self._start(operation_name(args), None)

    def batch(self, name: str, size: int) -> _Operation:
        return self._start(name, size)

    def _start(self, name: str, size: int | None) -> _Operation:
        attributes = self._attributes(name)
        span = None
        if self.tracer is not None:
            from opentelemetry.trace import SpanKind

            span_attributes = attributes
            if size is not None:
                span_attributes = {**attributes, "db.operation.batch.size": size}
            span = self.tracer.start_span(name, kind=SpanKind.CLIENT, attributes=span_attributes)
        return _Operation(self, attributes, span)


class Instrumentation:
    """What ``instrument()`` set up; ``uninstrument()`` takes it down.

    After ``uninstrument()`` nothing more is recorded and the asynchronous
    instruments report nothing (OpenTelemetry cannot remove an instrument
    from a meter).
    """

    __slots__ = ("_clients", "_cluster", "_metrics", "_pool_name", "_pools", "_tracer")

    def __init__(
        self,
        client: Client | ClusterClient,
        meter_provider: MeterProvider,
        tracer: Tracer | None,
        pool_name: str | None,
    ) -> None:
        self._pools: list[_PoolWatch] = []
        self._clients: list[Client] = []
        self._tracer = tracer
        self._pool_name = pool_name
        self._cluster: ClusterClient | None = None
        self._metrics = _Metrics(self, meter_provider)
        if isinstance(client, ClusterClient):
            self._cluster = client
            for address, node in client._watch_nodes(self._add_node).items():
                self._add_node(address, node)
        else:
            options = client.pool.connection_options
            name = pool_name if pool_name is not None else f"{options.address}/{options.db}"
            self._add(client, name)

    def __repr__(self) -> str:
        names = [watch.attributes["db.client.connection.pool.name"] for watch in self._pools]
        state = "" if self.is_active() else " uninstrumented"
        return f"<Instrumentation{state} pools={names!r}>"

    def is_active(self) -> bool:
        """True until ``uninstrument()``."""
        return bool(self._clients) or self._cluster is not None

    def _add_node(self, address: str, client: Client) -> None:
        prefix = "" if self._pool_name is None else f"{self._pool_name}/"
        self._add(client, f"{prefix}{address}/0")

    def _add(self, client: Client, name: str) -> None:
        if client._observer is not None or client.pool._observer is not None:
            raise RuntimeError(f"{client!r} is instrumented already; uninstrument() it first")
        watch = _PoolWatch(client.pool, name, self._metrics)
        client.pool._observe(watch)
        client._observe(_CommandWatch(client, self._metrics, self._tracer))
        self._pools.append(watch)
        self._clients.append(client)

    def uninstrument(self) -> None:
        """Stop recording: the client and its pools are as if never instrumented. Idempotent."""
        if self._cluster is not None:
            self._cluster._watch_nodes(None)
            self._cluster = None
        for client in self._clients:
            client._observe(None)
            client.pool._observe(None)
        self._clients = []
        self._pools = []

    # -- the asynchronous instruments' callbacks ---------------------------------------

    def _open_pools(self) -> Iterator[_PoolWatch]:
        return (watch for watch in list(self._pools) if not watch.pool.is_closed())

    def _counts(self, options: CallbackOptions) -> Iterable[Observation]:
        from opentelemetry.metrics import Observation

        for watch in self._open_pools():
            stats = watch.pool.stats()
            yield Observation(
                stats.idle, {**watch.attributes, "db.client.connection.state": "idle"}
            )
            yield Observation(
                stats.in_use, {**watch.attributes, "db.client.connection.state": "used"}
            )

    def _gauge(self, read: Any) -> Any:
        from opentelemetry.metrics import Observation

        def callback(options: CallbackOptions) -> Iterable[Observation]:
            return [Observation(read(w.pool.stats()), w.attributes) for w in self._open_pools()]

        return callback

    def _timeouts(self, options: CallbackOptions) -> Iterable[Observation]:
        from opentelemetry.metrics import Observation

        return [
            Observation(w.pool.stats().timeouts - w.baseline, w.attributes)
            for w in self._open_pools()
        ]


def instrument(
    client: Client | ClusterClient,
    meter_provider: MeterProvider | None = None,
    tracer_provider: TracerProvider | None = None,
    *,
    pool_name: str | None = None,
) -> Instrumentation:
    """Emit OpenTelemetry metrics (and, with ``tracer_provider``, spans) for ``client``.

    ``meter_provider`` defaults to the global one. Spans are made only when
    a ``tracer_provider`` is given (pass ``opentelemetry.trace.get_tracer_provider()``
    for the global one): a span per command costs far more than a histogram point.

    ``db.client.connection.pool.name`` is ``pool_name`` or
    ``host:port/db`` (``/path/to/socket/db``); a ``ClusterClient``'s node
    pools are ``host:port/0`` (``pool_name/host:port/0`` with a
    ``pool_name``), including nodes it meets later.

    Raises ``ImportError`` naming the ``aiopool[otel]`` extra when
    ``opentelemetry-api`` is not installed, ``TypeError`` for anything but a
    ``Client`` or ``ClusterClient``, and ``RuntimeError`` when ``client`` is
    instrumented already. Never awaits; recording never awaits either.
    """
    if not isinstance(client, Client | ClusterClient):
        raise TypeError(f"instrument() takes a Client or a ClusterClient, got {type(client)!r}")
    try:
        from opentelemetry import metrics, trace
    except ImportError as exc:
        raise ImportError(
            "aiopool.otel needs opentelemetry-api: pip install 'aiopool[otel]'"
        ) from exc
    if isinstance(client, ClusterClient) and client._on_node is not None:
        raise RuntimeError(f"{client!r} is instrumented already; uninstrument() it first")
    provider = meter_provider if meter_provider is not None else metrics.get_meter_provider()
    tracer = None
    if tracer_provider is not None:
        tracer = trace.get_tracer(_SCOPE, _version(), tracer_provider)
    return Instrumentation(client, provider, tracer, pool_name)
