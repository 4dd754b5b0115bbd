"""Notification metrics. Delivery states are read from the database at scrape time."""

import logging
from collections.abc import Iterable

from django.db.models import Count, Min, Q
from django.utils import timezone
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric

from apps.core.metrics import age_seconds
from apps.notifications.models import Delivery, DeliveryStatus, Notification

# Read at scrape time; importing it also registers its transitions counter
# (outbound_breaker_transitions_total).
from apps.notifications.outbound import breakers

logger = logging.getLogger(__name__)
NOTIFICATIONS_CREATED = Counter("notifications_created", "Inbox notifications created", ["type"])
DELIVERY_ATTEMPTS = Counter("notifications_delivery_attempts", "Delivery attempts by outcome", ["channel", "status"])
# Seconds from the event (its occurred_at) to the delivery's successful send, retries included:
# from tens of milliseconds on the fast path to the retry policy's day.
DELIVERY_LATENCY = Histogram(
    "notifications_delivery_latency_seconds",
    "Seconds from the event to its delivery being sent, by channel",
    ["channel"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 24 * 3600),
)


def notifications_metrics() -> Iterable[Metric]:
    deliveries = GaugeMetricFamily(
        "notifications_deliveries", "Deliveries by channel and status", labels=["channel", "status"]
    )
    for row in Delivery.objects.values("channel", "status").annotate(n=Count("pk")).order_by():
        deliveries.add_metric([row["channel"], row["status"]], row["n"])
    yield deliveries
    yield _oldest_deliveries()
    yield from breaker_metrics()
    unread = GaugeMetricFamily("notifications_unread", "Unread inbox notifications")
    unread.add_metric([], Notification.objects.filter(read_at__isnull=True).count())
    yield unread


def _oldest_deliveries() -> Metric:
    """How long the oldest waiting delivery has waited (since created), and the oldest dead one
    has been dead (since its last attempt): backlogs and dead letters that nobody replays."""
    oldest = GaugeMetricFamily(
        "notifications_deliveries_oldest_age_seconds",
        "Age of the oldest delivery waiting to be sent (pending, retry) or dead; 0 when none",
        labels=["status"],
    )
    # Served by the due index (live rows only) and the dead rows' index.
    waiting = Delivery.objects.filter(status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRY]).aggregate(
        pending=Min("created_at", filter=Q(status=DeliveryStatus.PENDING)),
        retry=Min("created_at", filter=Q(status=DeliveryStatus.RETRY)),
    )
    dead = Delivery.objects.filter(status=DeliveryStatus.DEAD).aggregate(dead=Min("last_attempt_at"))["dead"]
    now = timezone.now()
    for status, since in (*waiting.items(), ("dead", dead)):
        oldest.add_metric([status], age_seconds(since, now))
    return oldest


_STATES = ("closed", "half-open", "open")


def breaker_metrics() -> Iterable[Metric]:
    """How many shared circuit breakers are in each state, by kind, read at scrape time.

    Counts, not one series per breaker: a breaker's key names a customer's webhook origin or
    endpoint (an unbounded, private label set). The admin shows each breaker's own state.
    """
    counts = GaugeMetricFamily(
        "outbound_breakers", "Circuit breakers by kind (endpoint, origin, provider) and state", labels=["kind", "state"]
    )
    try:
        current = breakers.breaker_states()
    except Exception:
        logger.warning("metrics: cannot read breaker states", exc_info=True)
        yield counts
        return
    # Every (kind, state) pair is reported, zeros included, so "none open" is a sample, not a gap.
    tally = {(kind, state): 0 for kind in breakers.KINDS for state in _STATES}
    for key, state in current.items():
        pair = (breakers.key_kind(key), state)
        tally[pair] = tally.get(pair, 0) + 1
    for (kind, state), n in sorted(tally.items()):
        counts.add_metric([kind, state], n)
    yield counts
