import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest, multiprocess

from apps.core.metrics import forget_dead_processes
from apps.core.models import OutboxEvent
from apps.notifications.models import Delivery, DeliveryStatus
from apps.notifications.outbound.tests.conftest import breaker_redis  # noqa: F401 - fixture
from tests.factories import DeliveryFactory


@pytest.mark.django_db
def test_metrics_expose_the_outbox_backlog_from_the_database(api_client):
    now = timezone.now()
    row = {"type": "rating.created", "occurred_at": now, "data": {}, "task_name": "t", "queue": "q"}
    OutboxEvent.objects.create(**row)
    OutboxEvent.objects.create(**row, dispatched_at=now, attempts=10, dead_at=now)
    OutboxEvent.objects.create(**row, dispatched_at=now, attempts=1, confirmed_at=now)
    response = api_client.get("/metrics")
    assert response.status_code == 200
    text = response.content.decode()
    assert 'outbox_backlog{state="undispatched"} 1.0' in text
    assert 'outbox_backlog{state="unconfirmed"} 0.0' in text
    assert 'outbox_backlog{state="dead"} 1.0' in text
    assert "notifications_unread 0.0" in text


def _gauge(text: str, name: str) -> dict[str, float]:
    """The samples of a one-label gauge, by label value."""
    return {
        line.split('"')[1]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{")
    }


def _ago(**delta):
    return timezone.now() - timedelta(**delta)


@pytest.mark.django_db
def test_metrics_show_how_old_the_oldest_waiting_and_dead_events_are(api_client):
    row = {"type": "rating.created", "occurred_at": timezone.now(), "data": {}, "task_name": "t", "queue": "q"}
    waiting = OutboxEvent.objects.create(**row)
    OutboxEvent.objects.filter(pk=waiting.pk).update(created_at=_ago(days=1))
    OutboxEvent.objects.create(**row, dispatched_at=_ago(days=3), attempts=10, dead_at=_ago(days=2))
    ages = _gauge(api_client.get("/metrics").content.decode(), "outbox_oldest_age_seconds")
    assert ages["unconfirmed"] == 0.0
    assert 86_400 - 60 < ages["undispatched"] < 86_400 + 60
    # A dead event's age counts from when it died.
    assert 2 * 86_400 - 60 < ages["dead"] < 2 * 86_400 + 60


@pytest.mark.django_db
def test_metrics_show_how_long_the_oldest_delivery_has_waited_or_been_dead(api_client):
    waiting = DeliveryFactory(status=DeliveryStatus.RETRY, last_attempt_at=_ago(days=1))
    Delivery.objects.filter(pk=waiting.pk).update(created_at=_ago(days=2))
    DeliveryFactory(status=DeliveryStatus.DEAD, last_attempt_at=_ago(days=3))
    ages = _gauge(api_client.get("/metrics").content.decode(), "notifications_deliveries_oldest_age_seconds")
    assert ages["pending"] == 0.0
    assert 2 * 86_400 - 60 < ages["retry"] < 2 * 86_400 + 60
    assert 3 * 86_400 - 60 < ages["dead"] < 3 * 86_400 + 60


def _transitions(text: str) -> float:
    prefix = 'outbound_breaker_transitions_total{from="closed",kind="origin",to="open"} '
    return next((float(line[len(prefix) :]) for line in text.splitlines() if line.startswith(prefix)), 0.0)


@pytest.mark.django_db
def test_metrics_count_breakers_by_kind_and_state_never_naming_a_host(api_client, settings, breaker_redis):  # noqa: F811
    from apps.notifications.outbound import breakers

    settings.BREAKER_FAIL_MAX = 1
    transitions_before = _transitions(api_client.get("/metrics").content.decode())

    assert breakers.allow("origin:https://metrics.example:443")
    breakers.record_failure("origin:https://metrics.example:443")
    breakers.breaker_for("origin:https://fine.example:443")
    breakers.breaker_for(breakers.provider_key(7))
    text = api_client.get("/metrics").content.decode()
    assert [line for line in text.splitlines() if line.startswith("outbound_breakers{")] == [
        'outbound_breakers{kind="endpoint",state="closed"} 0.0',
        'outbound_breakers{kind="endpoint",state="half-open"} 0.0',
        'outbound_breakers{kind="endpoint",state="open"} 0.0',
        'outbound_breakers{kind="origin",state="closed"} 1.0',
        'outbound_breakers{kind="origin",state="half-open"} 0.0',
        'outbound_breakers{kind="origin",state="open"} 1.0',
        'outbound_breakers{kind="provider",state="closed"} 1.0',
        'outbound_breakers{kind="provider",state="half-open"} 0.0',
        'outbound_breakers{kind="provider",state="open"} 0.0',
    ]
    assert _transitions(text) == transitions_before + 1
    assert "metrics.example" not in text
    assert "fine.example" not in text


@pytest.mark.django_db
def test_thirty_open_webhook_hosts_add_no_series(api_client, settings, breaker_redis):  # noqa: F811
    from apps.notifications.outbound import breakers

    settings.BREAKER_FAIL_MAX = 1

    def breaker_series(text):
        return sorted(line.rpartition(" ")[0] for line in text.splitlines() if line.startswith("outbound_breaker"))

    breakers.record_failure("origin:https://warm-up.example:443")  # every transition series exists from here on
    series_before = breaker_series(api_client.get("/metrics").content.decode())
    for n in range(30):
        key = breakers.origin_key(f"https://customer-{n}.example/hook")
        assert breakers.allow(key)
        breakers.record_failure(key)
    text = api_client.get("/metrics").content.decode()

    assert breaker_series(text) == series_before
    assert 'outbound_breakers{kind="origin",state="open"} 31.0' in text
    assert "customer-" not in text


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = "scrape-secret-0123456789"
    return settings.METRICS_TOKEN


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", "Bearer scrape-secret-012345678", "Basic scrape-secret-0123456789", "Bearer"],
)
def test_with_a_token_set_metrics_refuses_requests_without_it(client, metrics_token, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert response.json() == {
        "type": "client_error",
        "errors": [
            {
                "code": "not_authenticated",
                "detail": "Authentication credentials were not provided or are invalid.",
                "attr": None,
            }
        ],
    }
    assert b"outbox_backlog" not in response.content


@pytest.mark.django_db
def test_with_the_right_token_metrics_answers(client, metrics_token):
    response = client.get("/metrics", headers={"Authorization": f"Bearer {metrics_token}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert 'outbox_backlog{state="undispatched"} 0.0' in response.content.decode()


# --- HTTP requests, Celery tasks, queues, delivery latency ------------------------------------
def _samples(text: str) -> dict[tuple, float]:
    """``{(sample name, sorted labels): value}`` of an exposition."""
    from prometheus_client.parser import text_string_to_metric_families

    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


SUMMARY_ROUTE = "api/v1/providers/<uuid:provider_id>/rating-summary/"


@pytest.mark.django_db
def test_requests_are_counted_by_url_pattern_method_and_status_class_never_by_path(api_client, provider):
    import uuid

    before = _samples(api_client.get("/metrics").content.decode())
    unknown = [uuid.uuid4() for _ in range(3)]
    for provider_id in unknown:
        assert api_client.get(f"/api/v1/providers/{provider_id}/rating-summary/").status_code == 404
    assert api_client.get(f"/api/v1/providers/{provider.pk}/rating-summary/").status_code == 200
    assert api_client.post(f"/api/v1/providers/{provider.pk}/rating-summary/").status_code == 405
    assert api_client.get(f"/no-such-page/{unknown[0]}").status_code == 404
    text = api_client.get("/metrics").content.decode()
    after = _samples(text)

    def delta(name, **labels):
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert delta("http_requests_total", route=SUMMARY_ROUTE, method="GET", status="4xx") == 3
    assert delta("http_requests_total", route=SUMMARY_ROUTE, method="GET", status="2xx") == 1
    assert delta("http_requests_total", route=SUMMARY_ROUTE, method="POST", status="4xx") == 1
    assert delta("http_requests_total", route="unmatched", method="GET", status="4xx") == 1
    assert delta("http_request_duration_seconds_count", route=SUMMARY_ROUTE, method="GET", status="4xx") == 3
    assert (
        delta("http_request_duration_seconds_bucket", route=SUMMARY_ROUTE, method="GET", status="2xx", le="+Inf") == 1
    )
    # The first scrape is counted by the second.
    assert delta("http_requests_total", route="metrics", method="GET", status="2xx") == 1
    for provider_id in [*unknown, provider.pk]:
        assert str(provider_id) not in text
    assert "no-such-page" not in text


def test_an_unknown_method_is_one_label_value(client):
    from apps.core.metrics import HTTP_REQUESTS

    before = HTTP_REQUESTS.labels("healthz", "other", "4xx")._value.get()
    client.generic("BREW", "/healthz")
    client.generic("PROPFIND", "/healthz")
    assert HTTP_REQUESTS.labels("healthz", "other", "4xx")._value.get() == before + 2


@pytest.mark.django_db
def test_celery_tasks_are_timed_by_name_and_final_state(api_client):
    from apps.core.tasks import outbox_confirm_task, retention_purge_task

    def count(task, state):
        samples = _samples(api_client.get("/metrics").content.decode())
        return _value(samples, "celery_task_duration_seconds_count", task=task, state=state)

    purged, failed = count("core.retention_purge", "SUCCESS"), count("core.outbox_confirm", "FAILURE")
    retention_purge_task.apply()
    outbox_confirm_task.apply(args=[["not-a-uuid"]])  # the ORM refuses the id: the task fails
    assert count("core.retention_purge", "SUCCESS") == purged + 1
    assert count("core.outbox_confirm", "FAILURE") == failed + 1


@pytest.fixture
def private_queue(settings):
    """The configured queues are what the gauge reports: one of this test's own."""
    import uuid

    from kombu import Queue

    name = f"mr-test-queue-{uuid.uuid4().hex[:8]}"
    settings.CELERY_TASK_QUEUES = (Queue(name),)
    return name


def _publish(broker_url: str, queue: str, count: int) -> None:
    from kombu import Connection

    with Connection(broker_url) as connection, connection.SimpleQueue(queue) as messages:
        for n in range(count):
            messages.put({"n": n})


@pytest.mark.django_db
def test_queue_depth_is_read_from_the_broker_for_the_configured_queues(api_client, settings, private_queue):
    _publish(settings.CELERY_BROKER_URL, private_queue, 3)
    text = api_client.get("/metrics").content.decode()
    assert f'celery_queue_length{{queue="{private_queue}"}} 3.0' in text
    assert [line for line in text.splitlines() if line.startswith("celery_queue_length{")] == [
        f'celery_queue_length{{queue="{private_queue}"}} 3.0'
    ]


@pytest.mark.django_db
def test_queue_depth_on_redis_counts_the_list_and_an_unknown_queue_is_empty(api_client, settings, private_queue):
    import redis
    from kombu import Queue

    # A database no engineer's REDIS_URL uses on a shared machine (their suites FLUSHDB theirs).
    url = settings.REDIS_URL or "redis://127.0.0.1:6379/12"
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no Redis at {url}: {exc}")
    settings.CELERY_BROKER_URL = url
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    never_used = f"{private_queue}-never-used"
    settings.CELERY_TASK_QUEUES = (Queue(private_queue), Queue(never_used))
    try:
        _publish(url, private_queue, 2)
        assert client.llen(private_queue) == 2
        text = api_client.get("/metrics").content.decode()
        assert f'celery_queue_length{{queue="{private_queue}"}} 2.0' in text
        assert f'celery_queue_length{{queue="{never_used}"}} 0.0' in text
    finally:
        client.delete(private_queue)
        client.close()


@pytest.mark.django_db
def test_a_broker_outage_leaves_the_queue_gauge_empty_and_the_rest_served(api_client, settings, closed_port):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port}/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 1, "max_retries": 0}
    settings.CELERY_BROKER_CONNECTION_TIMEOUT = 1
    response = api_client.get("/metrics")
    assert response.status_code == 200
    text = response.content.decode()
    assert "# TYPE celery_queue_length gauge" in text
    assert "celery_queue_length{" not in text
    assert 'outbox_backlog{state="dead"}' in text


def test_a_worker_serves_its_own_metrics_behind_the_token(settings):
    import urllib.error
    import urllib.request

    from apps.core.metrics import CELERY_TASK_DURATION, serve_worker_metrics

    settings.METRICS_TOKEN = "worker-scrape-secret"
    CELERY_TASK_DURATION.labels("core.outbox_relay", "SUCCESS").observe(0.01)
    server = serve_worker_metrics(port=0, address="127.0.0.1")
    url = f"http://127.0.0.1:{server.server_port}/metrics"
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=5)
        assert refused.value.code == 401
        request = urllib.request.Request(url, headers={"Authorization": "Bearer worker-scrape-secret"})
        with urllib.request.urlopen(request, timeout=5) as response:
            text = response.read().decode()
        assert 'celery_task_duration_seconds_count{state="SUCCESS",task="core.outbox_relay"}' in text
        # The database and broker gauges are the web's: a worker does not read them.
        assert "outbox_backlog" not in text
    finally:
        server.shutdown()
        server.server_close()


_WRITE_SAMPLES = """
import sys
from prometheus_client import Counter, Gauge
Counter("served", "requests").inc(3)
Gauge("in_flight", "requests in flight", multiprocess_mode="livesum").set(2)
"""


def test_a_scrape_forgets_the_live_gauges_of_exited_processes_and_keeps_their_counters(tmp_path):
    """What granian's replaced workers leave behind: their counters stay in the sums, their live
    gauges go; a process still running keeps both."""
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    exited = subprocess.run([sys.executable, "-c", _WRITE_SAMPLES], env=env, check=True)
    assert exited.returncode == 0
    running = subprocess.Popen(
        [sys.executable, "-c", _WRITE_SAMPLES + "sys.stdout.write('ready\\n'); sys.stdout.flush(); sys.stdin.read()"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert running.stdout.readline() == "ready\n"
        pids = {int(p.stem.rsplit("_", 1)[1]) for p in tmp_path.glob("gauge_livesum_*.db")}
        assert len(pids) == 2 and running.pid in pids

        assert forget_dead_processes(str(tmp_path)) == sorted(pids - {running.pid})
        assert forget_dead_processes(str(tmp_path)) == []
        assert [p.name for p in tmp_path.glob("gauge_livesum_*.db")] == [f"gauge_livesum_{running.pid}.db"]
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(tmp_path))
        text = generate_latest(registry).decode()
        assert "served_total 6.0" in text
        assert "in_flight 2.0" in text
    finally:
        running.stdin.close()
        running.wait(timeout=10)
