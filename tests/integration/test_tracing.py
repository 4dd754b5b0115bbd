"""One trace per rating: its POST, its ingest and each channel's send, across batched tasks.

The dispatcher merges events of several requests into one ``notifications.ingest_events``
message and ingest merges deliveries into ``notifications.deliver_batch`` groups, so Celery's own
propagation cannot carry a rating's trace. These tests run the real code in-process (real
loopback HTTP receiver and SMTP server, an in-memory span exporter) and drop Celery's message
headers on the way (the publishes are recorded, then the tasks are applied from the recorded
arguments): whatever joins the spans into one trace travelled in the outbox envelope and the
delivery rows.
"""

import os
import subprocess
import sys
import uuid
from pathlib import Path
from unittest import mock

import psycopg
import pytest
from django.core.management import call_command
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from apps.core import tracing
from apps.core.models import OutboxEvent
from apps.core.tasks import outbox_relay_task
from apps.notifications.models import Delivery, DeliveryStatus
from apps.notifications.outbound.tests.servers import Receiver
from apps.notifications.services import webhook_create
from apps.notifications.tasks import deliver_batch_task, ingest_events_task
from conftest import auth_client
from tests.factories import CustomerFactory
from tests.system.harness import SmtpSink

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
# What tracing loads when it is on. (redis-py itself imports OpenTelemetry's metrics SDK when it
# is installed, to offer its own opt-in metrics; that costs import time, not requests.)
TRACING_MODULES = ("opentelemetry.sdk.trace", "opentelemetry.exporter", "opentelemetry.instrumentation")


@pytest.fixture
def spans():
    """Tracing on in this process, exporting to memory; off again (libraries unpatched) after."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider, role="web")
    yield exporter
    tracing.uninstall()
    provider.shutdown()


@pytest.fixture
def receivers():
    receiver = Receiver()
    sink = SmtpSink()
    sink.start()
    yield receiver, sink
    receiver.close()
    sink.stop()


@pytest.fixture
def channels(settings, receivers, provider):
    """The provider gets email (through a real SMTP server) and a webhook (a real HTTP receiver)."""
    receiver, sink = receivers
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.BREAKER_KEY_PREFIX = f"mr-test-breaker-{uuid.uuid4().hex}"
    webhook_create(recipient_id=provider.user_id, url=receiver.url(), event_types=[])
    return receiver, sink


def _by_name(finished, name):
    return [s for s in finished if s.name == name]


def _attr(finished, name, key, value):
    [found] = [s for s in finished if s.name == name and s.attributes.get(key) == value]
    return found


def _post_rating(client, provider, exporter):
    before = {s.context.span_id for s in exporter.get_finished_spans()}
    response = client.post("/api/v1/ratings/", {"provider_id": str(provider.pk), "score": 5, "comment": "Great"})
    assert response.status_code == 201
    [server] = [
        s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER and s.context.span_id not in before
    ]
    assert server.attributes["http.route"] == "api/v1/ratings/"
    return response.json()["id"], server


def _dispatch(path):
    """The events' one broker message, by the dispatcher command or by beat's relay task."""
    with mock.patch("apps.core.outbox.current_app.send_task") as publish:
        if path == "relay":
            outbox_relay_task.apply()
        else:
            call_command("outbox_dispatcher", "--once", stdout=open(os.devnull, "w"))  # noqa: SIM115
    [call] = [c for c in publish.call_args_list if c.args == ("notifications.ingest_events",)]
    return call.kwargs["args"]


@pytest.mark.parametrize("path", ["dispatcher", "relay", "split"])
def test_a_ratings_post_its_ingest_and_every_send_are_one_trace(
    spans, channels, provider, customer_client, send_task, django_capture_on_commit_callbacks, settings, path
):
    receiver, sink = channels
    if path == "split":
        # The notifications deployment confirms through the broker instead of one UPDATE.
        settings.OUTBOX_CONFIRM_INLINE = False
    # Two requests, two traces, merged into one ingest message and one send group per channel.
    first = _post_rating(customer_client, provider, spans)
    second = _post_rating(auth_client(CustomerFactory().user), provider, spans)
    servers = dict((first, second))
    assert first[1].context.trace_id != second[1].context.trace_id

    args = _dispatch("relay" if path == "relay" else "dispatcher")
    [envelopes] = args
    assert len(envelopes) == 2
    for envelope in envelopes:
        assert set(envelope["trace"]) == {"traceparent"}  # no tracestate was set by anyone
        server = servers[envelope["data"]["rating_id"]]
        assert envelope["trace"]["traceparent"].split("-")[1] == f"{server.context.trace_id:032x}"

    with django_capture_on_commit_callbacks(execute=True):
        ingest_events_task.apply(args=args)
    if path == "split":
        # (``send_task`` records every publish of the one Celery app, the confirmation's too.)
        send_task.assert_any_call("core.outbox_confirm", args=[mock.ANY], queue="default")
    batches = [c.kwargs["args"] for c in send_task.call_args_list if c.args == ("notifications.deliver_batch",)]
    assert len(batches) == 2  # one email group, one webhook group: each serves both ratings
    for batch_args in batches:
        deliver_batch_task.apply(args=batch_args)
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 4
    assert len(receiver.requests) == 2 and len(sink.message_ids) == 2

    finished = spans.get_finished_spans()
    [ingest_task] = _by_name(finished, "run/notifications.ingest_events")
    deliver_tasks = _by_name(finished, "run/notifications.deliver_batch")
    assert len(deliver_tasks) == 2
    for envelope in envelopes:
        server = servers[envelope["data"]["rating_id"]]
        trace_id = server.context.trace_id
        ingest = _attr(finished, "notifications ingest", "notifications.event.id", envelope["id"])
        # Parented to the request that published the event, linked to the batch task.
        assert (ingest.context.trace_id, ingest.parent.span_id) == (trace_id, server.context.span_id)
        assert [link.context.span_id for link in ingest.links] == [ingest_task.context.span_id]
        assert ingest_task.context.trace_id != trace_id
        for channel, client_span in (("email", "smtp send"), ("webhook", "POST")):
            send = _attr(finished, f"notifications deliver {channel}", "notifications.event.id", envelope["id"])
            assert (send.context.trace_id, send.parent.span_id) == (trace_id, ingest.context.span_id)
            assert send.attributes["notifications.delivery.result"] == "sent"
            [link] = send.links
            assert link.context.span_id in {t.context.span_id for t in deliver_tasks}
            [exchange] = [s for s in _by_name(finished, client_span) if s.parent.span_id == send.context.span_id]
            assert exchange.kind is SpanKind.CLIENT
            assert exchange.context.trace_id == trace_id
            assert exchange.attributes["server.address"] == "127.0.0.1"
    # The HTTP span never names the URL's path (a webhook URL may carry the receiver's secret).
    for exchange in _by_name(finished, "POST"):
        assert exchange.attributes["http.response.status_code"] == 200
        assert not any("/hook" in str(value) for value in exchange.attributes.values())
    assert OutboxEvent.objects.filter(confirmed_at__isnull=True).count() == (2 if path == "split" else 0)


def test_a_failed_send_is_an_error_span_in_the_ratings_trace_and_its_retry_joins_it(
    spans, channels, provider, customer_client, send_task, django_capture_on_commit_callbacks
):
    receiver, _sink = channels
    from apps.notifications.outbound.tests.servers import reply

    receiver.behaviour = reply(503)
    _rating_id, server = _post_rating(customer_client, provider, spans)
    args = _dispatch("dispatcher")
    with django_capture_on_commit_callbacks(execute=True):
        ingest_events_task.apply(args=args)
    webhook = Delivery.objects.get(channel="webhook")
    deliver_batch_task.apply(args=[[str(webhook.pk)]])
    webhook.refresh_from_db()
    assert webhook.status == DeliveryStatus.RETRY

    receiver.behaviour = reply(200)
    Delivery.objects.filter(pk=webhook.pk).update(next_attempt_at=webhook.last_attempt_at)
    deliver_batch_task.apply(args=[[str(webhook.pk)]])

    sends = _by_name(spans.get_finished_spans(), "notifications deliver webhook")
    assert [s.attributes["notifications.delivery.result"] for s in sends] == ["retry", "sent"]
    assert [s.status.status_code for s in sends] == [StatusCode.ERROR, StatusCode.UNSET]
    assert {s.context.trace_id for s in sends} == {server.context.trace_id}
    assert [s.attributes["notifications.delivery.attempt"] for s in sends] == [1, 2]


def test_probes_and_scrapes_are_not_traced(spans, client):
    for path in ("/healthz", "/metrics"):
        assert client.get(path).status_code == 200
    assert client.get("/api/v1/providers/").status_code == 200
    assert [s.attributes["http.route"] for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER] == [
        "api/v1/providers/"
    ]


def test_with_tracing_off_the_post_path_stores_no_context_and_nothing_is_patched(
    customer_client, provider, django_capture_on_commit_callbacks
):
    assert not tracing.enabled()
    with django_capture_on_commit_callbacks(execute=True):
        response = customer_client.post("/api/v1/ratings/", {"provider_id": str(provider.pk), "score": 4})
    assert response.status_code == 201
    event = OutboxEvent.objects.get()
    assert event.trace == {}
    assert "trace" not in event.envelope
    assert not hasattr(psycopg.connect, "__wrapped__")
    from django.conf import settings

    assert not [m for m in settings.MIDDLEWARE if "opentelemetry" in m]


def _web_process(**env) -> str:
    """Import the WSGI application in a fresh process and serve one request; report what loaded."""
    script = (
        f"import sys\nTRACING_MODULES = {TRACING_MODULES!r}\n"
        "from config.wsgi import application\n"
        "from django.test import Client\n"
        "assert Client().get('/healthz').status_code == 200\n"
        "import psycopg\n"
        "from django.conf import settings\n"
        "print(sorted({m for m in sys.modules if m.startswith(TRACING_MODULES)}))\n"
        "print(hasattr(psycopg.connect, '__wrapped__'), any('opentelemetry' in m for m in settings.MIDDLEWARE))\n"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    environment.update(DJANGO_SETTINGS_MODULE="config.settings.test", **env)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_without_an_otlp_endpoint_a_web_process_loads_nothing_of_opentelemetry():
    assert _web_process() == "[]\nFalse False\n"


def test_with_an_otlp_endpoint_the_web_process_is_instrumented(closed_port):
    # Nothing listens there: the exporter drops its spans in the background; the request is served.
    out = _web_process(OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{closed_port}", OTEL_EXPORTER_OTLP_TIMEOUT="1")
    loaded, patched = out.splitlines()
    for module in (
        "opentelemetry.sdk.trace",
        "opentelemetry.exporter.otlp.proto.http.trace_exporter",
        "opentelemetry.instrumentation.django",
        "opentelemetry.instrumentation.psycopg",
    ):
        assert f"'{module}'" in loaded
    assert patched == "True True"
    assert _web_process(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:1", OTEL_SDK_DISABLED="true") == (
        "[]\nFalse False\n"
    )
