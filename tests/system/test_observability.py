"""Tracing and metrics with real processes: OTLP export across deployments, multi-worker /metrics."""

import os
import shutil
import signal
import urllib.error
import urllib.request
import uuid
from collections import defaultdict
from pathlib import Path

import pytest

from tests.system.harness import OtlpCollector, free_port, post_ratings, seed, wait_until

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
    notifications_env = stack.notifications_env(
        database_url=notifications_db,
        broker_url=redis_broker.url,
        cache_url=cache_redis.url,
        smtp_port=smtp.port,
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
    # The prefork worker (set up in worker_process_init) ran the confirmations, traced too. They
    # travel back through the broker after the batch, so they may reach the collector later.
    wait_until(
        lambda: any(
            s["service"] == "marketplace-ratings-worker" and s["name"] == "run/core.outbox_confirm"
            for s in collector.snapshot()
        ),
        timeout=30,
        what="the confirmation's span at the collector",
    )


# --- Metrics ---------------------------------------------------------------------------------
TOKEN = "system-test-metrics-token"
SUMMARY_ROUTE = "api/v1/providers/<uuid:provider_id>/rating-summary/"


def _get(url: str, *, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def _samples(text: str) -> dict[tuple, float]:
    from prometheus_client.parser import text_string_to_metric_families

    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def _per_process(directory: Path, scratch: Path) -> dict[int, dict]:
    """Each process's own samples: its files alone (``<kind>_<pid>.db``), summed by
    prometheus_client's multiprocess collector exactly as /metrics sums them all."""
    from prometheus_client import CollectorRegistry, generate_latest, multiprocess

    files: dict[int, list[Path]] = defaultdict(list)
    for path in directory.glob("*.db"):
        files[int(path.stem.rsplit("_", 1)[1])].append(path)
    result = {}
    for pid, paths in files.items():
        alone = scratch / str(pid)
        alone.mkdir(parents=True)
        for path in paths:
            shutil.copy(path, alone / path.name)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(alone))
        result[pid] = _samples(generate_latest(registry).decode())
    return result


def _children(pid: int) -> set[int]:
    """The live child processes of ``pid`` (whichever of its threads started them)."""
    children = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                children.add(int(entry.name))
    return children


def test_metrics_sum_every_web_worker_and_a_celery_worker_serves_its_own(stack, make_db, smtp, redis_broker, tmp_path):
    """Two web server workers, one killed halfway and replaced: /metrics (any worker) shows the
    requests of every worker process, the dead one's included, with bounded labels; the Celery
    worker's own /metrics shows its tasks and the delivery latency."""
    multiproc = tmp_path / "prometheus-web"
    env = stack.env(
        DATABASE_URL=make_db(),
        CELERY_BROKER_URL=redis_broker.url,
        EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}",
        METRICS_TOKEN=TOKEN,
    )
    base = stack.web("web", {**env, "PROMETHEUS_MULTIPROC_DIR": str(multiproc)}, workers=2)
    server = stack.processes["web"].pid
    worker_port = free_port()
    stack.worker(
        "worker",
        {**env, "WORKER_METRICS_PORT": str(worker_port), "WORKER_METRICS_ADDRESS": "127.0.0.1"},
        pool="threads",
        concurrency=4,
    )
    stack.dispatcher("dispatcher", env)
    seeded = seed(env, customers=2, providers=1)
    assert [status for status, _, _ in post_ratings(base, seeded, 2, threads=2)] == [201, 201]
    summary = f"{base}/api/v1/providers/{seeded['providers'][0]['id']}/rating-summary/"
    assert [_get(summary)[0] for _ in range(15)] == [200] * 15
    # A worker dies (as the stuck-request watchdog or the OOM killer would end it): the server
    # starts another; what the dead one counted stays in the sums.
    first = _children(server)
    assert len(first) == 2
    victim = min(first & {int(path.stem.rsplit("_", 1)[1]) for path in multiproc.glob("*.db")})
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: len(_children(server) - first) == 1 and len(_children(server)) == 2, timeout=30, what="respawn")
    assert [_get(summary)[0] for _ in range(15)] == [200] * 15
    strays = [f"/no-such-page/{uuid.uuid4()}" for _ in range(5)]
    assert [_get(base + path)[0] for path in strays] == [404] * 5
    assert _get(base + "/metrics")[0] == 401

    status, text = _get(base + "/metrics", token=TOKEN)
    assert status == 200
    samples = _samples(text)
    assert _value(samples, "http_requests_total", route=SUMMARY_ROUTE, method="GET", status="2xx") == 30
    assert _value(samples, "http_request_duration_seconds_count", route=SUMMARY_ROUTE, method="GET", status="2xx") == 30
    assert _value(samples, "http_requests_total", route="api/v1/ratings/", method="POST", status="2xx") == 2
    assert _value(samples, "http_requests_total", route="unmatched", method="GET", status="4xx") == 5
    assert _value(samples, "http_requests_total", route="metrics", method="GET", status="4xx") == 1
    labels = {dict(key[1])["route"] for key in samples if key[0] == "http_requests_total"}
    assert labels <= {SUMMARY_ROUTE, "api/v1/ratings/", "unmatched", "metrics", "healthz"}
    assert not any(path in text or path.rsplit("/", 1)[1] in text for path in strays)
    assert {dict(key[1])["queue"] for key in samples if key[0] == "celery_queue_length"} == {
        "default",
        "notifications",
        "deliveries",
    }

    # Per process: the files of every worker (the killed one's too) add up to what /metrics said.
    processes = _per_process(multiproc, tmp_path / "per-process")
    served = {
        pid: value
        for pid, own in processes.items()
        if (value := _value(own, "http_requests_total", route=SUMMARY_ROUTE, method="GET", status="2xx"))
    }
    assert sum(served.values()) == 30, served
    assert victim in processes  # the killed worker's counts stay
    assert len(processes) >= 2

    def worker_metrics():
        code, body = _get(f"http://127.0.0.1:{worker_port}/metrics", token=TOKEN)
        own = _samples(body) if code == 200 else {}
        return own if _value(own, "notifications_delivery_latency_seconds_count", channel="email") == 2 else None

    wait_until(lambda: len(smtp.counts()) == 2, timeout=60, what="2 emails")
    own = wait_until(worker_metrics, timeout=30, what="the worker's delivery latency")
    assert _value(own, "celery_task_duration_seconds_count", task="notifications.ingest_events", state="SUCCESS") >= 1
    assert _value(own, "celery_task_duration_seconds_count", task="notifications.deliver_batch", state="SUCCESS") >= 1
    assert _value(own, "notifications_delivery_latency_seconds_bucket", channel="email", le="+Inf") == 2
    assert _get(f"http://127.0.0.1:{worker_port}/metrics")[0] == 401
