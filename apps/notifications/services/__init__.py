"""The writes the notifications app's entry points call (API views, tasks, admin), gathered.

The writes live in the wings; this facade only re-exports them, so the views need not know
where each lives:

- ``intake``: events → inbox items and deliveries in batches (``ingest``, its handlers by type
  and version), the inbox's own states (``inbox``), digests closed by beat (``digests``).
- ``subscriptions``: what users manage through the API (``webhooks``, ``devices``,
  ``preferences``, ``schedule``).
- ``delivery``: the engine (claim, send through a channel, record, sweep, replay).

``retention`` (the tables' purges) is the one module of its own here.
"""

from apps.notifications.db import notifications_db
from apps.notifications.delivery.channels.webhook.payload import webhook_payload
from apps.notifications.delivery.engine import (
    DeliveryNotDead,
    deliveries_enqueue,
    deliveries_replay,
    deliveries_send,
    deliveries_sweep,
    delivery_attempt,
    delivery_replay,
)
from apps.notifications.intake.catalogue import event_type_catalogue
from apps.notifications.intake.digests import digests_close
from apps.notifications.intake.inbox import (
    notification_archive,
    notification_mark_read,
    notification_mark_unread,
    notification_unarchive,
    notifications_mark_all_read,
    notifications_mark_seen,
)
from apps.notifications.intake.ingest import events_ingest
from apps.notifications.subscriptions.devices import device_delete, device_register
from apps.notifications.subscriptions.preferences import (
    CriticalPreference,
    UnknownPreference,
    preference_set,
    preferences_update,
    unsubscribe,
)
from apps.notifications.subscriptions.schedule import EmptyQuietHours, UnknownTimeZone, schedule_update
from apps.notifications.subscriptions.webhooks import (
    MAX_ENDPOINTS,
    InvalidHeaders,
    InvalidWebhookURL,
    TooManyEndpoints,
    UnknownEventType,
    endpoints_health_record,
    webhook_create,
    webhook_delete,
    webhook_disable,
    webhook_recover,
    webhook_rotate_secret,
    webhook_test,
    webhook_update,
)

__all__ = [
    "MAX_ENDPOINTS",
    "CriticalPreference",
    "DeliveryNotDead",
    "EmptyQuietHours",
    "InvalidHeaders",
    "InvalidWebhookURL",
    "TooManyEndpoints",
    "UnknownEventType",
    "UnknownPreference",
    "UnknownTimeZone",
    "deliveries_enqueue",
    "deliveries_replay",
    "deliveries_send",
    "deliveries_sweep",
    "delivery_attempt",
    "delivery_replay",
    "device_delete",
    "device_register",
    "digests_close",
    "endpoints_health_record",
    "event_type_catalogue",
    "events_ingest",
    "notification_archive",
    "notification_mark_read",
    "notification_mark_unread",
    "notification_unarchive",
    "notifications_db",
    "notifications_mark_all_read",
    "notifications_mark_seen",
    "preference_set",
    "preferences_update",
    "schedule_update",
    "unsubscribe",
    "webhook_create",
    "webhook_delete",
    "webhook_disable",
    "webhook_payload",
    "webhook_recover",
    "webhook_rotate_secret",
    "webhook_test",
    "webhook_update",
]
