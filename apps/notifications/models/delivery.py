"""Deliveries to the external channels, their attempt log and the channels' providers."""

from django.db import models
from django.db.models import Q, Value
from django.utils import timezone

from apps.core.models import UUIDModel
from apps.notifications.models.choices import Blame, Channel, DeliveryStatus
from apps.notifications.models.inbox import Notification
from apps.notifications.models.subscriptions import Device, WebhookEndpoint


class DeliveryProvider(UUIDModel):
    """A push gateway or SMTP relay; providers of a channel are tried by ascending priority.

    ``credentials`` is a JSON object, write-only in admin: ``{"token"}`` (bearer) for
    ``http_push``, ``{"username", "password"}`` for ``smtp``. ``endpoint`` is the gateway URL,
    or ``smtp://host:port`` / ``smtp+tls://…`` / ``smtps://…`` for a relay.
    """

    class Kind(models.TextChoices):
        HTTP_PUSH = "http_push", "Generic HTTP push gateway"
        SMTP = "smtp", "SMTP relay"

    channel = models.CharField(max_length=20, choices=[(Channel.PUSH, "Push"), (Channel.EMAIL, "Email")])
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    endpoint = models.CharField(max_length=2000)
    credentials = models.JSONField(default=dict, blank=True)
    priority = models.IntegerField(default=0)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "name"], name="notifications_provider_name_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.channel}: {self.name}"


NOTICE_KEY = "notice"


class Delivery(UUIDModel):
    """One send of one notification over one external channel, with its retry state.

    Email: one per (event, recipient). Webhook: one per (event, endpoint), its body in
    ``payload``. Push: one per (event, device), so a dead token or a failing device never
    holds back or repeats the others.
    """

    # Empty for webhook test sends, which have no inbox item.
    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries", null=True, blank=True
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.SET_NULL, related_name="deliveries", null=True, blank=True
    )
    device = models.ForeignKey(Device, on_delete=models.SET_NULL, related_name="deliveries", null=True, blank=True)
    provider = models.ForeignKey(
        DeliveryProvider, on_delete=models.SET_NULL, related_name="deliveries", null=True, blank=True
    )
    payload = models.JSONField(default=dict, blank=True)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    event_id = models.UUIDField()
    recipient_id = models.UUIDField()
    channel = models.CharField(max_length=20, choices=Channel.choices)
    # The email address, webhook URL or device token, as it was when the delivery was made.
    address = models.CharField(max_length=4096)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # Set with each recorded attempt: whose failure a ``retry`` row waits out (a destination that
    # answers again releases those waiting for it, engine.deliveries_release).
    blamed = models.CharField(max_length=10, choices=Blame.choices, blank=True, default="", db_default="")
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # The request behind the event (the envelope's request_id), so the delivery worker's log
    # lines about this send carry it; empty when there was none.
    request_id = models.CharField(max_length=64, blank=True, default="", db_default="")
    # When the event happened (the envelope's occurred_at): delivery latency is measured from it.
    event_at = models.DateTimeField(null=True, blank=True)
    # The W3C trace context ({"traceparent", "tracestate"}) its sends continue: the ingest span
    # of its event, or the request that made it (webhook test sends). Empty when tracing is off.
    # db_default: rows written by a release that predates the column still get {}.
    trace = models.JSONField(default=dict, blank=True, db_default=Value({}, output_field=models.JSONField()))
    # The language an email is written in: its recipient's when the delivery was made (the
    # notice's text was worded in it then). Empty (rows older than the column, other channels):
    # English.
    locale = models.CharField(max_length=8, blank=True, default="", db_default="")

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["event_id", "recipient_id", "channel"],
                condition=Q(channel="email"),
                name="notifications_delivery_uniq",
            ),
            models.UniqueConstraint(
                fields=["event_id", "endpoint"],
                condition=Q(endpoint__isnull=False),
                name="notifications_delivery_endpoint_uniq",
            ),
            models.UniqueConstraint(
                fields=["event_id", "device"],
                condition=Q(device__isnull=False),
                name="notifications_delivery_device_uniq",
            ),
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
            models.Index(fields=["recipient_id", "-created_at", "-id"], name="notif_delivery_log_idx"),
            # The retention purges of finished deliveries, by the time of their last attempt.
            models.Index(
                fields=["last_attempt_at", "id"],
                condition=Q(status=DeliveryStatus.SENT),
                name="notif_delivery_sent_idx",
            ),
            models.Index(
                fields=["last_attempt_at", "id"],
                condition=Q(status=DeliveryStatus.DEAD),
                name="notif_delivery_dead_idx",
            ),
            models.Index(
                fields=["cancelled_at", "id"],
                condition=Q(status=DeliveryStatus.CANCELLED),
                name="notif_delivery_cancelled_idx",
            ),
        ]

    def __str__(self) -> str:
        # The address as the recipient knows it (a push token is long and says nothing: cut).
        address = self.address if len(self.address) <= 60 else self.address[:57] + "…"
        return f"{self.get_channel_display()} to {address} ({self.get_status_display().lower()})"

    @property
    def content(self) -> dict:
        """``{type, title, body, data}`` of an email or push send: its inbox item's, or, when the
        recipient switched the inbox off for the event type (no item), the copy ingest put in
        ``payload[NOTICE_KEY]``."""
        notification = self.notification
        if notification is not None:
            return {
                "type": notification.type,
                "title": notification.title,
                "body": notification.body,
                "data": notification.data,
            }
        return self.payload.get(NOTICE_KEY) or {"type": "", "title": "", "body": "", "data": {}}

    @property
    def message_id(self) -> str:
        """Stable per (event, recipient): receivers can drop the one unavoidable duplicate."""
        return f"{self.event_id}.{self.recipient_id}"


class DeliveryAttempt(UUIDModel):
    """One line of a delivery's log: a request made (or a provider skipped) and its outcome."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    provider = models.ForeignKey(DeliveryProvider, on_delete=models.SET_NULL, null=True, blank=True)
    # The provider's name or the webhook host, kept when the provider row goes.
    target = models.CharField(max_length=300, blank=True)
    outcome = models.CharField(max_length=20)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    # The start of what the receiver answered (webhooks), so its owner can see why it failed.
    response_excerpt = models.CharField(max_length=500, blank=True, default="", db_default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["delivery", "created_at"], name="notif_attempt_idx"),
            # The retention purge of old log lines, in (created_at, id) order.
            models.Index(fields=["created_at", "id"], name="notif_attempt_age_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.target} {self.outcome}"
