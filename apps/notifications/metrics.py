"""Notification metrics. Delivery states are read from the database at scrape time."""

import logging
from collections.abc import Iterable

from django.db.models import Count
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily, Metric

# Imported so the transitions counter (outbound_breaker_transitions_total) is registered.
from apps.notifications.outbound.breakers import BREAKER_TRANSITIONS  # noqa: F401

logger = logging.getLogger(__name__)
NOTIFICATIONS_CREATED = Counter("notifications_created", "Inbox notifications created", ["type"])
DELIVERY_ATTEMPTS = Counter("notifications_delivery_attempts", "Delivery attempts by outcome", ["channel", "status"])


def notifications_metrics() -> Iterable[Metric]:
    from apps.notifications.models import Delivery, Notification

    deliveries = GaugeMetricFamily(
        "notifications_deliveries", "Deliveries by channel and status", labels=["channel", "status"]
    )
    for row in Delivery.objects.values("channel", "status").annotate(n=Count("pk")).order_by():
        deliveries.add_metric([row["channel"], row["status"]], row["n"])
    yield deliveries
    yield from breaker_metrics()
    unread = GaugeMetricFamily("notifications_unread", "Unread inbox notifications")
    unread.add_metric([], Notification.objects.filter(read_at__isnull=True).count())
    yield unread


_STATE_VALUES = {"closed": 0, "half-open": 1, "open": 2}


def breaker_metrics() -> Iterable[Metric]:
    """Every shared circuit breaker's state (0 closed, 1 half-open, 2 open), read at scrape time."""
    from apps.notifications.outbound import breakers

    states = GaugeMetricFamily(
        "outbound_breaker_state", "Circuit breaker state: 0 closed, 1 half-open, 2 open", labels=["key"]
    )
    try:
        current = breakers.breaker_states()
    except Exception:
        logger.warning("metrics: cannot read breaker states", exc_info=True)
        current = {}
    for key, state in current.items():
        states.add_metric([key], _STATE_VALUES.get(state, -1))
    yield states
