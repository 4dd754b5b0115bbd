"""Prometheus metrics and the ``/metrics`` view.

Counters live in the process that increments them; with several processes (gunicorn
workers, prefork Celery children) set ``PROMETHEUS_MULTIPROC_DIR`` so prometheus_client sums
them. Backlogs and delivery states are read from the database at scrape time instead
(``register_db_collector``), so every process reports the same truth.
django-prometheus is not used: its view cannot add collectors to a multi-process registry.

With ``METRICS_TOKEN`` set, the view answers only ``Authorization: Bearer <METRICS_TOKEN>``
(production refuses to start without it unless ``METRICS_PUBLIC`` says the port is internal):
the backlogs and delivery counts are not for the public.
"""

import hmac
from collections.abc import Callable, Iterable
from datetime import datetime

from django.conf import settings
from django.db.models import Count, Min, Q
from django.http import HttpResponse
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, Counter, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from apps.core.errors import _error

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


class _DatabaseCollector:
    def collect(self):
        return db_metrics()


class _ProcessCollector:
    def collect(self):
        return REGISTRY.collect()


def _authorized(request) -> bool:
    token = settings.METRICS_TOKEN
    if not token:
        return True
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # Constant-time comparison: the token must not leak through response timing.
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def metrics_view(request) -> HttpResponse:
    if not _authorized(request):
        response = _error(401, "not_authenticated", "Authentication credentials were not provided or are invalid.")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    registry = CollectorRegistry()
    if settings.PROMETHEUS_MULTIPROC_DIR:
        multiprocess.MultiProcessCollector(registry, path=settings.PROMETHEUS_MULTIPROC_DIR)
    else:
        registry.register(_ProcessCollector())
    registry.register(_DatabaseCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
