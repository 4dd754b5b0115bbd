"""Inbox items, per-recipient channel preferences and external channel deliveries.

Recipients are plain UUIDs (the user ids carried by events and JWTs), never foreign keys:
these tables may live in a database of their own (``NOTIFICATIONS_DATABASE_URL``). One module
per wing: ``inbox`` (the intake's), ``subscriptions``, ``delivery``; ``choices`` they share.
"""

from apps.notifications.models.choices import Blame, Channel, DeliveryStatus, RatingEmails
from apps.notifications.models.delivery import NOTICE_KEY, Delivery, DeliveryAttempt, DeliveryProvider
from apps.notifications.models.inbox import DeliveryCancellation, Digest, DigestItem, ErasedSubject, Notification
from apps.notifications.models.subscriptions import (
    Device,
    NotificationPreference,
    NotificationSchedule,
    RecipientLocale,
    WebhookEndpoint,
)

__all__ = [
    "NOTICE_KEY",
    "Blame",
    "Channel",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryCancellation",
    "DeliveryProvider",
    "DeliveryStatus",
    "Device",
    "Digest",
    "DigestItem",
    "ErasedSubject",
    "Notification",
    "NotificationPreference",
    "NotificationSchedule",
    "RatingEmails",
    "RecipientLocale",
    "WebhookEndpoint",
]
