"""OpenTelemetry tracing, set up once per process from the environment; off and free otherwise.

On only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set
and ``OTEL_SDK_DISABLED`` is not true: ``setup(role)`` then installs an SDK tracer provider
exporting OTLP over HTTP/protobuf (the exporter and the batch processor read the other
``OTEL_*`` variables themselves) and instruments Django (web only), Celery, psycopg and redis.
Otherwise nothing of OpenTelemetry is even imported, and every helper below is one ``None``
check: the request path pays nothing.

Where it is set up: ``config/wsgi.py`` and ``config/asgi.py`` (web), Celery's
``worker_process_init`` / ``worker_init`` and ``beat_init`` (``config/celery_app.py``), the
``outbox_dispatcher`` command.

The trace of a rating is carried by the data, not by the broker: Celery's own propagation links
a task to whoever sent it, but the dispatcher merges events of many requests into one
``notifications.ingest_events`` message and ingest merges deliveries of many events into one
``notifications.deliver_batch``. So ``publish()`` stores the W3C ``traceparent``/``tracestate``
of the request with the outbox event (envelope key ``trace``), ingest starts one span per event
under that stored context and stores that span's context on each delivery row it makes, and the
engine starts one span per delivery under the row's context. Those per-event and per-delivery
spans are *parented* to the event's trace (so a rating's POST, its ingest and every send, retries
included, are one trace) and *linked* to the batch task's span, where the batch's shared work
(its SQL, its broker publishes) is recorded.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only for annotations: importing OpenTelemetry costs when tracing is off
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span

logger = logging.getLogger(__name__)

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
# The two keys of the W3C Trace Context carrier stored with events and deliveries.
CARRIER_KEYS = ("traceparent", "tracestate")
TRACER_NAME = "marketplace_ratings"
# Health probes and metric scrapes (regular expressions matched against the URL).
DEFAULT_EXCLUDED_URLS = "healthz,readyz,metrics"

# Set by install(): None means tracing is off in this process.
_tracer = None
_propagator = None
_instrumentors: list = []
_configured = False


def enabled() -> bool:
    return _tracer is not None


def requested() -> bool:
    """Whether the environment asks for tracing (an OTLP endpoint, and the SDK not disabled)."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return any(os.environ.get(name, "").strip() for name in ENDPOINT_VARIABLES)


def service_name(role: str) -> str:
    """``OTEL_SERVICE_NAME``, else ``<deployment>-<role>`` (e.g. ``marketplace-ratings-web``)."""
    from django.conf import settings

    return os.environ.get("OTEL_SERVICE_NAME", "").strip() or f"{settings.SERVICE_DEPLOYMENT}-{role}"


def setup(role: str) -> bool:
    """Install tracing for this process if the environment asks for it; True when it is on.

    Once per process (later calls change nothing). ``role`` is ``web``, ``worker``, ``beat`` or
    ``dispatcher``: it names the default service and decides what is instrumented.
    """
    global _configured
    if _configured:
        return enabled()
    _configured = True
    if not requested():
        return False
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name(role)}))
    # Batched and exported from a thread of its own: a slow or absent collector drops spans
    # (bounded queue, OTEL_BSP_*), it never slows a request or a task.
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    install(provider, role=role)
    logger.info("tracing: on, exporting OTLP/HTTP as %s", service_name(role))
    return True


def install(provider: TracerProvider, *, role: str) -> None:
    """Instrument the libraries and this module's spans with ``provider`` (tests pass their own)."""
    global _tracer, _propagator
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    instrumentors: list[tuple[Any, dict]] = [(CeleryInstrumentor(), {})]
    if role == "web":
        from opentelemetry.instrumentation.django import DjangoInstrumentor

        # Probes and scrapes would be most of the traces: not traced unless the variable says so.
        excluded = os.environ.get("OTEL_PYTHON_DJANGO_EXCLUDED_URLS", DEFAULT_EXCLUDED_URLS)
        instrumentors.append((DjangoInstrumentor(), {"excluded_urls": excluded}))
    if role != "dispatcher":
        # The dispatcher claims rows every poll interval whether or not anything is due: its
        # SQL and Redis spans would be a trace per second of nothing. Its sends are recorded by
        # the dispatch span below and Celery's publish span.
        instrumentors += [(PsycopgInstrumentor(), {}), (RedisInstrumentor(), {})]
    for instrumentor, options in instrumentors:
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(tracer_provider=provider, **options)
            _instrumentors.append(instrumentor)
    _tracer = provider.get_tracer(TRACER_NAME)
    _propagator = TraceContextTextMapPropagator()


def uninstall() -> None:
    """Undo ``install`` (tests): the libraries are no longer patched, the helpers are no-ops."""
    global _tracer, _propagator
    while _instrumentors:
        _instrumentors.pop().uninstrument()
    _tracer = _propagator = None


# --- Carriers: the W3C context stored with an event or a delivery -------------------------------
def current_carrier() -> dict[str, str]:
    """The current span's ``{"traceparent", "tracestate"}``; empty when off or outside a span."""
    if _tracer is None:
        return {}
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier


def carrier_of(span: Span | None, fallback: Mapping[str, str] | None = None) -> dict[str, str]:
    """``span``'s W3C context to store; without a span (tracing off) ``fallback`` passes through,
    so a consumer with tracing off keeps the publisher's context for the next hop."""
    if span is None or _tracer is None:
        return clean_carrier(fallback)
    from opentelemetry import trace

    carrier: dict[str, str] = {}
    _propagator.inject(carrier, context=trace.set_span_in_context(span))
    return carrier


def clean_carrier(value: Any) -> dict[str, str]:
    """Only the two W3C keys, as short strings: the envelope comes from another process."""
    if not isinstance(value, Mapping):
        return {}
    return {key: value[key] for key in CARRIER_KEYS if isinstance(value.get(key), str) and len(value[key]) <= 512}


def _parent(carrier: Mapping[str, str] | None):
    """The context to start a span under: the stored one, else the current one."""
    if carrier:
        context = _propagator.extract(clean_carrier(carrier))
        from opentelemetry import trace

        if trace.get_current_span(context).get_span_context().is_valid:
            return context
    return None


def _current_link() -> list:
    from opentelemetry import trace
    from opentelemetry.trace import Link

    current = trace.get_current_span().get_span_context()
    return [Link(current)] if current.is_valid else []


# --- Spans ----------------------------------------------------------------------------------
@contextmanager
def span(name: str, *, kind: str = "internal", attributes: Mapping[str, Any] | None = None) -> Iterator[Span | None]:
    """A span under the current one, made current; ``None`` (and nothing else) when off."""
    if _tracer is None:
        yield None
        return
    with _tracer.start_as_current_span(name, kind=_kind(kind), attributes=attributes) as current:
        yield current


@contextmanager
def span_under(
    name: str, carrier: Mapping[str, str] | None, *, attributes: Mapping[str, Any] | None = None
) -> Iterator[Span | None]:
    """A span parented to a stored context (a delivery's), linked to the current span (the
    batch task's) and made current, so what runs inside (the HTTP or SMTP send) is its child."""
    if _tracer is None:
        yield None
        return
    links = _current_link()
    with _tracer.start_as_current_span(name, context=_parent(carrier), links=links, attributes=attributes) as current:
        yield current


@contextmanager
def spans_under(name: str, items: list[tuple[Mapping[str, str] | None, Mapping[str, Any]]]) -> Iterator[list]:
    """One span per item (stored context, attributes), all open for the block and none current:
    the block's work is shared by the whole batch and stays under the batch's own span, which
    each of these links to. Yields the spans (``None`` each when off); an exception marks them all."""
    if _tracer is None:
        yield [None] * len(items)
        return
    links = _current_link()
    spans = [
        _tracer.start_span(name, context=_parent(carrier), links=links, attributes=attributes)
        for carrier, attributes in items
    ]
    try:
        yield spans
    except BaseException as exc:
        for each in spans:
            record_error(each, exc)
        raise
    finally:
        for each in spans:
            each.end()


@contextmanager
def linked_span(name: str, carriers: list[Mapping[str, str]], *, attributes: Mapping[str, Any]) -> Iterator[None]:
    """A span under the current one, made current, linking every stored context it serves
    (the dispatcher's send of a batch: one message, many traces)."""
    if _tracer is None:
        yield None
        return
    from opentelemetry import trace
    from opentelemetry.trace import Link

    links = []
    for carrier in carriers:
        context = _parent(carrier)
        if context is not None:
            links.append(Link(trace.get_current_span(context).get_span_context()))
    with _tracer.start_as_current_span(name, kind=_kind("producer"), links=links, attributes=attributes):
        yield None


def set_attributes(current: Span | None, attributes: Mapping[str, Any]) -> None:
    if current is not None:
        current.set_attributes({key: value for key, value in attributes.items() if value is not None})


def record_error(current: Span | None, error: BaseException | str) -> None:
    """Mark ``current`` failed; ``error`` is an exception (recorded with its type) or a reason."""
    if current is None:
        return
    from opentelemetry.trace import Status, StatusCode

    if isinstance(error, BaseException):
        current.record_exception(error)
        current.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"[:300]))
    else:
        current.set_status(Status(StatusCode.ERROR, error[:300]))


def _kind(kind: str):
    from opentelemetry.trace import SpanKind

    return {"internal": SpanKind.INTERNAL, "client": SpanKind.CLIENT, "producer": SpanKind.PRODUCER}[kind]
