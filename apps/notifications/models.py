"""Inbox items, per-recipient channel preferences and external channel deliveries.

Recipients are plain UUIDs (the user ids carried by events and JWTs), never foreign keys:
these tables may live in a database of their own (``NOTIFICATIONS_DATABASE_URL``).
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.core.models import UUIDModel


class Channel(models.TextChoices):
    IN_APP = "in_app", "In-app inbox"
    EMAIL = "email", "Email"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    RETRY = "retry", "Waiting to retry"
    DEAD = "dead", "Dead"


class Notification(UUIDModel):
    recipient_id = models.UUIDField()
    type = models.CharField(max_length=100)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    event_id = models.UUIDField()
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event_id", "recipient_id"], name="notifications_event_recipient_uniq"),
        ]
        indexes = [
            models.Index(fields=["recipient_id", "-created_at", "-id"], name="notifications_inbox_idx"),
            models.Index(
                fields=["recipient_id", "-created_at"],
                condition=Q(read_at__isnull=True),
                name="notifications_unread_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} → {self.recipient_id}"


class NotificationPreference(UUIDModel):
    """An explicit choice; without a row the event type's default applies."""

    recipient_id = models.UUIDField()
    event_type = models.CharField(max_length=100)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    enabled = models.BooleanField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["recipient_id", "event_type", "channel"], name="notifications_preference_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id} {self.event_type}/{self.channel}: {'on' if self.enabled else 'off'}"


class Delivery(UUIDModel):
    """One send of one notification over one external channel, with its retry state."""

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField()
    recipient_id = models.UUIDField()
    channel = models.CharField(max_length=20, choices=Channel.choices)
    address = models.CharField(max_length=254)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["event_id", "recipient_id", "channel"], name="notifications_delivery_uniq"),
            models.CheckConstraint(
                condition=Q(status__in=DeliveryStatus.values), name="notifications_delivery_status_valid"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRY, DeliveryStatus.SENDING]),
                name="notifications_delivery_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.event_id} → {self.recipient_id} [{self.status}]"

    @property
    def message_id(self) -> str:
        """Stable per (event, recipient): receivers can drop the one unavoidable duplicate."""
        return f"{self.event_id}.{self.recipient_id}"
