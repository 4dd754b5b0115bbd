"""Notification metrics. Delivery states are read from the database at scrape time."""

from collections.abc import Iterable

from django.db.models import Count
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily, Metric

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
    unread = GaugeMetricFamily("notifications_unread", "Unread inbox notifications")
    unread.add_metric([], Notification.objects.filter(read_at__isnull=True).count())
    yield unread
