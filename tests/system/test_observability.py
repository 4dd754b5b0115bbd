"""Tracing and metrics with real processes: OTLP export across deployments, multi-worker /metrics."""

from collections import defaultdict

import pytest

from tests.system.harness import OtlpCollector, post_ratings, seed, wait_until

pytestmark = pytest.mark.system

SERVER, CLIENT = 2, 3  # OTLP span kinds


@pytest.fixture
def collector():
    collector = OtlpCollector()
    yield collector
    collector.close()


def _complete_traces(spans: list[dict]) -> dict[str, dict]:
    """Traces holding a rating's POST, its ingest, its email send and the SMTP exchange."""
    by_trace = defaultdict(list)
    for span in spans:
        by_trace[span["trace_id"]].append(span)
    complete = {}
    for trace_id, members in by_trace.items():
        named = {(s["service"], s["name"]): s for s in members}
        wanted = {
            "post": ("marketplace-ratings-web", "POST api/v1/ratings/"),
            "ingest": ("marketplace-notifications-worker", "notifications ingest"),
            "send": ("marketplace-notifications-worker", "notifications deliver email"),
            "smtp": ("marketplace-notifications-worker", "smtp send"),
        }
        if all(key in named for key in wanted.values()):
            complete[trace_id] = {role: named[key] for role, key in wanted.items()} | {"all": members}
    return complete


def test_a_rating_is_one_trace_from_the_post_to_the_email_across_the_split_deployment(
    collector, stack, make_db, smtp, redis_broker, cache_redis
):
    """Main deployment (web, dispatcher, a prefork worker for confirmations) and the notifications
    deployment (own database, a threads worker) export to one collector: each rating's POST, its
    ingest and its email send are one trace, though the broker carried them in merged batches."""
    tracing = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, "OTEL_BSP_SCHEDULE_DELAY": "200"}
    main_db, notifications_db = make_db(), make_db()
    main_env = stack.env(DATABASE_URL=main_db, CELERY_BROKER_URL=redis_broker.url, **tracing)
    main = stack.web("main-web", main_env)
    stack.worker("main-worker", main_env, queues="default")
    stack.dispatcher("dispatcher", main_env)
    notifications_env = stack.env(
        DJANGO_SETTINGS_MODULE="config.settings.notifications",
        DATABASE_URL=notifications_db,
        CELERY_BROKER_URL=redis_broker.url,
        REDIS_URL=cache_redis.url,
        METRICS_TOKEN="system-test-metrics-token",
        EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}",
        SECURE_SSL_REDIRECT="false",
        **tracing,
    )
    stack.worker(
        "notifications-worker", notifications_env, queues="notifications,deliveries", pool="threads", concurrency=4
    )

    seeded = seed(main_env, customers=3, providers=1)
    assert [status for status, _, _ in post_ratings(main, seeded, 3)] == [201] * 3
    wait_until(lambda: len(smtp.counts()) == 3, timeout=60, what="3 emails")

    def three_traces():
        found = _complete_traces(collector.snapshot())
        return found if len(found) == 3 else None

    traces = wait_until(three_traces, timeout=30, what="3 complete traces at the collector")

    spans = collector.snapshot()
    for trace in traces.values():
        post, ingest, send, smtp_span = trace["post"], trace["ingest"], trace["send"], trace["smtp"]
        assert post["kind"] == SERVER and smtp_span["kind"] == CLIENT
        assert ingest["parent_span_id"] == post["span_id"]
        assert send["parent_span_id"] == ingest["span_id"]
        assert smtp_span["parent_span_id"] == send["span_id"]
        assert send["attributes"]["notifications.delivery.result"] == "sent"
        # The web's SQL is in the request's trace (psycopg instrumented under Django).
        assert any(
            s["service"] == "marketplace-ratings-web"
            and s["name"] == "INSERT"
            and s["attributes"].get("db.system") == "postgresql"
            and s["parent_span_id"] == post["span_id"]
            for s in trace["all"]
        )
        # The dispatcher's send of the batch links this trace's request.
        assert any(s["service"] == "marketplace-ratings-dispatcher" and post["span_id"] in s["links"] for s in spans)
        # Ingest ran in a batch task of its own trace, which the per-event span links.
        [task] = [s for s in spans if s["span_id"] in ingest["links"]]
        assert task["name"] == "run/notifications.ingest_events" and task["trace_id"] != post["trace_id"]
    # The prefork worker (set up in worker_process_init) ran the confirmations, traced too.
    assert any(s["service"] == "marketplace-ratings-worker" and s["name"] == "run/core.outbox_confirm" for s in spans)
