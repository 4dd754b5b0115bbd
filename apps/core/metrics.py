"""Prometheus metrics and the ``/metrics`` view.

Counters and histograms live in the process that records them; with several processes
(the web server's workers, prefork Celery children) ``PROMETHEUS_MULTIPROC_DIR`` makes
prometheus_client write them to files there, which ``/metrics`` sums (``config/server.py`` sets
the directory up for every start of the web server; each scrape marks exited workers dead).
Backlogs, delivery states and queue depths are read at scrape time instead
(``register_db_collector``), so every process reports the same truth. django-prometheus is not
used: its view cannot add collectors to a multi-process registry.

Labels are bounded: HTTP requests by URL pattern (never the path), method and status class;
Celery tasks by name and state; queues by the configured names only.

With ``METRICS_TOKEN`` set, the view answers only ``Authorization: Bearer <METRICS_TOKEN>``
(production refuses to start without it unless ``METRICS_PUBLIC`` says the port is internal):
the backlogs and delivery counts are not for the public. A Celery worker serves its own
process metrics the same way on ``WORKER_METRICS_PORT`` (``serve_worker_metrics``).
"""

import contextlib
import hmac
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.conf import settings
from django.db.models import Count, Min, Q
from django.http import HttpResponse
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from apps.core.errors import _error

logger = logging.getLogger(__name__)

HTTP_LABELS = ["route", "method", "status"]
HTTP_REQUESTS = Counter("http_requests", "HTTP requests by URL pattern, method and status class", HTTP_LABELS)
HTTP_REQUEST_DURATION = Histogram(
    "http_request_duration_seconds",
    "Seconds to answer an HTTP request, by URL pattern, method and status class",
    HTTP_LABELS,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
CELERY_TASK_DURATION = Histogram(
    "celery_task_duration_seconds",
    "Seconds a Celery task ran, by task name and final state",
    ["task", "state"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)

EVENTS_PUBLISHED = Counter("outbox_events_published", "Outbox events written (counted before the commit)", ["type"])
EVENTS_DISPATCHED = Counter(
    "outbox_events_dispatched", "Outbox events handed to the broker, by path (dispatcher, relay)", ["path", "outcome"]
)
EVENTS_DEAD = Counter("outbox_events_dead", "Outbox events given up after OUTBOX_MAX_ATTEMPTS unconfirmed sends")

_db_collectors: list[Callable[[], Iterable[Metric]]] = []


def register_db_collector(collect: Callable[[], Iterable[Metric]]) -> None:
    if collect not in _db_collectors:
        _db_collectors.append(collect)


def age_seconds(since: datetime | None, now: datetime) -> float:
    """Seconds since ``since``; 0 when there is nothing (no oldest row)."""
    return max((now - since).total_seconds(), 0.0) if since else 0.0


_OUTBOX_STATES = {
    "undispatched": Q(dead_at__isnull=True, dispatched_at__isnull=True),
    "unconfirmed": Q(dead_at__isnull=True, dispatched_at__isnull=False),
    # Given up on; only a replay (admin) sends them again.
    "dead": Q(dead_at__isnull=False),
}


def _outbox_metrics() -> Iterable[Metric]:
    from apps.core.models import OutboxEvent

    backlog = GaugeMetricFamily("outbox_backlog", "Outbox events not yet confirmed by the consumer", labels=["state"])
    oldest = GaugeMetricFamily(
        "outbox_oldest_age_seconds",
        "Age of the oldest outbox event in each backlog state (dead: since it died); 0 when none",
        labels=["state"],
    )
    # One query over the unconfirmed rows (their partial index): counts and oldest per state.
    row = OutboxEvent.objects.filter(confirmed_at__isnull=True).aggregate(
        **{f"{state}_count": Count("pk", filter=where) for state, where in _OUTBOX_STATES.items()},
        **{
            f"{state}_oldest": Min("dead_at" if state == "dead" else "created_at", filter=where)
            for state, where in _OUTBOX_STATES.items()
        },
    )
    now = timezone.now()
    for state in _OUTBOX_STATES:
        backlog.add_metric([state], row[f"{state}_count"])
        oldest.add_metric([state], age_seconds(row[f"{state}_oldest"], now))
    yield backlog
    yield oldest


register_db_collector(_outbox_metrics)


def db_metrics() -> Iterable[Metric]:
    """Every gauge read from the database (backlogs, deliveries by state), as /metrics has them."""
    for collect in _db_collectors:
        yield from collect()


def queue_lengths() -> dict[str, int]:
    """Messages waiting in each configured Celery queue, asked of the broker.

    A passive declare gives the count on every transport kombu has (Redis: the list lengths,
    priority lists included; RabbitMQ: the queue's ready messages). A queue the broker does not
    know yet (never declared on RabbitMQ, never holding a message on Redis) is empty.
    """
    from kombu import Connection
    from kombu.exceptions import ChannelError

    lengths: dict[str, int] = {}
    with Connection(
        settings.CELERY_BROKER_URL,
        connect_timeout=settings.CELERY_BROKER_CONNECTION_TIMEOUT,
        transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
    ) as connection:
        for queue in settings.CELERY_TASK_QUEUES:
            # A channel per queue: on AMQP a failed passive declare closes its channel.
            channel = connection.channel()
            try:
                _name, count, _consumers = channel.queue_declare(queue=queue.name, passive=True)
            except ChannelError:
                count = 0
            finally:
                # On AMQP the broker has already closed it after a 404.
                with contextlib.suppress(Exception):
                    channel.close()
            lengths[queue.name] = count
    return lengths


def _queue_metrics() -> Iterable[Metric]:
    depth = GaugeMetricFamily(
        "celery_queue_length", "Messages waiting in each Celery queue, read from the broker", labels=["queue"]
    )
    try:
        lengths = queue_lengths()
    except Exception:
        # A broker outage must not cost the other metrics: the gauge has no samples then.
        logger.warning("metrics: cannot read the queue lengths from the broker", exc_info=True)
        yield depth
        return
    for queue, count in lengths.items():
        depth.add_metric([queue], count)
    yield depth


register_db_collector(_queue_metrics)


# prometheus_client's per-process files of live gauges: gauge_live<mode>_<pid>.db
_LIVE_GAUGE_FILE = re.compile(r"gauge_live[a-z]+_(?P<pid>\d+)\.db")


class _DatabaseCollector:
    def collect(self):
        return db_metrics()


class _ProcessCollector:
    def collect(self):
        return REGISTRY.collect()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def forget_dead_processes(directory: str) -> list[int]:
    """Mark every process whose live-gauge files are there but which has exited as dead.

    granian (unlike gunicorn's ``child_exit`` hook) says nothing when it replaces a worker: the
    scrape notices instead. A dead worker's counters and histograms stay in the sums (a counter
    must not go down); its live gauges go. The pids are those of this host's processes: the
    directory is per container.
    """
    dead = set()
    for name in os.listdir(directory):
        match = _LIVE_GAUGE_FILE.fullmatch(name)
        if match and not _pid_alive(int(match["pid"])):
            dead.add(int(match["pid"]))
    for pid in dead:
        multiprocess.mark_process_dead(pid, directory)
    return sorted(dead)


def _process_registry() -> CollectorRegistry:
    """What this process (or, multi-process, every process sharing its directory) recorded."""
    registry = CollectorRegistry()
    if settings.PROMETHEUS_MULTIPROC_DIR:
        forget_dead_processes(settings.PROMETHEUS_MULTIPROC_DIR)
        multiprocess.MultiProcessCollector(registry, path=settings.PROMETHEUS_MULTIPROC_DIR)
    else:
        registry.register(_ProcessCollector())
    return registry


def _token_accepted(authorization: str) -> bool:
    token = settings.METRICS_TOKEN
    if not token:
        return True
    scheme, _, given = authorization.partition(" ")
    # Constant-time comparison: the token must not leak through response timing.
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def metrics_view(request) -> HttpResponse:
    if not _token_accepted(request.headers.get("Authorization", "")):
        response = _error(401, "not_authenticated", "Authentication credentials were not provided or are invalid.")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    registry = _process_registry()
    registry.register(_DatabaseCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


# --- HTTP requests ------------------------------------------------------------------------
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def request_route(request) -> str:
    """The URL pattern that served ``request`` (``api/v1/ratings/<uuid:rating_id>/``), never its path.

    ``unmatched`` when no pattern matched (404s of unknown paths), ``static`` for files served
    before URL resolution (WhiteNoise).
    """
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.route or match.view_name or "unnamed"
    if settings.STATIC_URL and request.path.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return "static"
    return "unmatched"


def request_observe(request, response, seconds: float) -> None:
    labels = (
        request_route(request),
        request.method if request.method in _METHODS else "other",
        f"{response.status_code // 100}xx",
    )
    HTTP_REQUESTS.labels(*labels).inc()
    HTTP_REQUEST_DURATION.labels(*labels).observe(seconds)


class RequestMetricsMiddleware:
    """Counts and times every request by URL pattern, method and status class.

    First in the chain, so the time covers every other middleware and the labels see the final
    status (Django turns exceptions into responses inside the chain). Lives here, not in
    ``apps.core.middleware``, which the logging configuration imports before the apps are loaded.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        request_observe(request, response, time.perf_counter() - started)
        return response


# --- Celery tasks ---------------------------------------------------------------------------
# task id → start (perf_counter); entries live for one task run (threads pools share the dict).
_task_started: dict[str, float] = {}


def task_started(task_id=None, **kwargs) -> None:
    if task_id:
        _task_started[task_id] = time.perf_counter()


def task_finished(task_id=None, task=None, state=None, **kwargs) -> None:
    started = _task_started.pop(task_id, None)
    if started is not None and task is not None:
        CELERY_TASK_DURATION.labels(task.name, state or "UNKNOWN").observe(time.perf_counter() - started)


def connect_task_signals() -> None:
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(task_started, dispatch_uid="apps.core.metrics.task_started")
    task_postrun.connect(task_finished, dispatch_uid="apps.core.metrics.task_finished")


# --- A worker's own /metrics ----------------------------------------------------------------
def worker_metrics_app(environ, start_response):
    """WSGI: ``GET /metrics`` of this process (or its pool processes), behind ``METRICS_TOKEN``.

    Only what the worker recorded (task durations, delivery latency, counters): the database
    and broker gauges are the web's, which reads the same truth.
    """
    if environ.get("PATH_INFO") != "/metrics":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]
    if not _token_accepted(environ.get("HTTP_AUTHORIZATION", "")):
        start_response(
            "401 Unauthorized", [("Content-Type", "text/plain"), ("WWW-Authenticate", 'Bearer realm="metrics"')]
        )
        return [b"not authenticated\n"]
    start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
    return [generate_latest(_process_registry())]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


def serve_worker_metrics(*, port: int, address: str) -> WSGIServer:
    """Serve ``worker_metrics_app`` from a daemon thread of this process; returns the server."""
    server = make_server(address, port, worker_metrics_app, server_class=_ThreadingServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="worker-metrics", daemon=True).start()
    logger.info("metrics: serving this worker's /metrics on %s:%d", address, server.server_port)
    return server
