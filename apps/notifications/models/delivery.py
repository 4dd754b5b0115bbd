"""Inbox items, per-recipient channel preferences and external channel deliveries.

Recipients are plain UUIDs (the user ids carried by events and JWTs), never foreign keys:
these tables may live in a database of their own (``NOTIFICATIONS_DATABASE_URL``).
"""

from django.db import models
from django.db.models import Q, Value
from django.db.models.fields.json import KeyTransform
from django.utils import timezone

from apps.core.models import UUIDModel


class Channel(models.TextChoices):
    IN_APP = "in_app", "In-app inbox"
    EMAIL = "email", "Email"
    PUSH = "push", "Push"
    WEBHOOK = "webhook", "Webhook"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    RETRY = "retry", "Waiting to retry"
    DEAD = "dead", "Dead"
    # Never sent: what it announced was deleted or hidden before it went out.
    CANCELLED = "cancelled", "Cancelled"


class Notification(UUIDModel):
    recipient_id = models.UUIDField()
    type = models.CharField(max_length=100)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    event_id = models.UUIDField()
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    # Shown on the user's screen (the live inbox page marks what it displays): a "new" badge
    # counts unseen items, the unread one items not opened yet.
    seen_at = models.DateTimeField(null=True, blank=True)
    # Archived items leave the default inbox list and its unread/unseen counts; they are kept.
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event_id", "recipient_id"], name="notifications_event_recipient_uniq"),
        ]
        indexes = [
            models.Index(fields=["recipient_id", "-created_at", "-id"], name="notifications_inbox_idx"),
            # data -> 'rating_id': the items (and so the deliveries) of one rating, cancelled when
            # it is deleted or hidden (services/cancellation.py).
            models.Index(KeyTransform("rating_id", "data"), name="notifications_rating_idx"),
            # The default inbox list (archived items left out), newest first.
            models.Index(
                fields=["recipient_id", "-created_at", "-id"],
                condition=Q(archived_at__isnull=True),
                name="notif_inbox_active_idx",
            ),
            models.Index(
                fields=["recipient_id", "-created_at"],
                condition=Q(read_at__isnull=True, archived_at__isnull=True),
                name="notifications_unread_idx",
            ),
            # The retention purges: every item by age, and read items by age (apps/notifications/
            # services/retention.py), each walked in (created_at, id) order.
            models.Index(fields=["created_at", "id"], name="notif_inbox_age_idx"),
            models.Index(
                fields=["created_at", "id"], condition=Q(read_at__isnull=False), name="notif_inbox_read_age_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.title


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


class RatingEmails(models.TextChoices):
    """How a recipient's new-rating emails arrive: one per rating, or one digest per period."""

    IMMEDIATE = "immediate", "Immediately, one email per rating"
    HOURLY = "hourly", "Hourly digest"
    DAILY = "daily", "Daily digest"


class NotificationSchedule(UUIDModel):
    """When a recipient's emails and pushes go out: digests and quiet hours, in their time zone.

    Without a row: UTC, every email immediate, no quiet hours. Quiet hours are local times of
    day; ``quiet_start`` after ``quiet_end`` spans midnight.
    """

    recipient_id = models.UUIDField()
    time_zone = models.CharField(max_length=64, default="UTC")
    rating_emails = models.CharField(max_length=10, choices=RatingEmails.choices, default=RatingEmails.IMMEDIATE)
    quiet_start = models.TimeField(null=True, blank=True)
    quiet_end = models.TimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["recipient_id"], name="notifications_schedule_recipient_uniq"),
            models.CheckConstraint(
                condition=Q(rating_emails__in=RatingEmails.values), name="notifications_schedule_emails_valid"
            ),
            # Both ends or neither; equal ends would be a period of no length or of the whole day.
            models.CheckConstraint(
                condition=Q(quiet_start__isnull=True, quiet_end__isnull=True)
                | (Q(quiet_start__isnull=False, quiet_end__isnull=False) & ~Q(quiet_start=models.F("quiet_end"))),
                name="notifications_schedule_quiet_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id}: {self.rating_emails} ({self.time_zone})"


class Digest(UUIDModel):
    """One recipient's new ratings of one period (a local hour or day), sent as one email.

    Created by the first rating of its period; closed once the period has ended, when its one
    email delivery is made (``Delivery.event_id`` = this digest's id, so the delivery's unique
    constraint makes it once, and the engine sends it once).
    """

    recipient_id = models.UUIDField()
    frequency = models.CharField(
        max_length=10, choices=[(RatingEmails.HOURLY, "Hourly"), (RatingEmails.DAILY, "Daily")]
    )
    # The recipient's time zone when the period was opened: its boundaries and the email's times.
    time_zone = models.CharField(max_length=64)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["recipient_id", "frequency", "period_start"], name="notifications_digest_period_uniq"
            ),
            models.CheckConstraint(
                condition=Q(period_end__gt=models.F("period_start")), name="notifications_digest_period_valid"
            ),
        ]
        indexes = [
            # The closer: open digests whose period has ended.
            models.Index(fields=["period_end"], condition=Q(closed_at__isnull=True), name="notif_digest_open_idx"),
            # The retention purge of closed digests, in (closed_at, id) order.
            models.Index(
                fields=["closed_at", "id"], condition=Q(closed_at__isnull=False), name="notif_digest_closed_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.frequency} digest of {self.recipient_id} from {self.period_start:%Y-%m-%d %H:%M}Z"


class DigestItem(UUIDModel):
    """One new rating waiting in a digest: what its line in the email shows."""

    digest = models.ForeignKey(Digest, on_delete=models.CASCADE, related_name="items")
    event_id = models.UUIDField()
    recipient_id = models.UUIDField()
    occurred_at = models.DateTimeField()
    # The address the digest goes to: the latest item's, as an immediate email would use.
    email = models.CharField(max_length=254)
    # {rating_id, customer_name, score, comment, summary: {count, sum} | null}
    data = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event_id", "recipient_id"], name="notifications_digest_item_uniq"),
        ]
        indexes = [models.Index(fields=["digest", "occurred_at"], name="notif_digest_item_idx")]

    def __str__(self) -> str:
        return f"{self.event_id} in digest {self.digest_id}"


class WebhookEndpoint(UUIDModel):
    """A URL of its owner's that receives signed events (Standard Webhooks).

    ``secret`` is kept in clear because every request is signed with it (HMAC); the API shows
    it once. After a rotation ``previous_secret`` still signs until ``previous_secret_expires_at``.
    """

    recipient_id = models.UUIDField()
    url = models.URLField(max_length=2000)
    # Empty: every event type.
    event_types = models.JSONField(default=list, blank=True)
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=500, blank=True)
    # Start of the current run of failed attempts; cleared by a success.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["recipient_id", "-created_at"], name="notif_webhook_owner_idx")]

    def __str__(self) -> str:
        return f"{self.url} ({'enabled' if self.enabled else 'disabled'})"


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


class Device(UUIDModel):
    class Platform(models.TextChoices):
        IOS = "ios", "iOS"
        ANDROID = "android", "Android"
        WEB = "web", "Web"

    recipient_id = models.UUIDField()
    token = models.CharField(max_length=4096)
    platform = models.CharField(max_length=10, choices=Platform.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["recipient_id", "token"], name="notifications_device_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.platform} device of {self.recipient_id}"


# Where an email or push delivery without an inbox item keeps what it shows (Delivery.content).
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


class DeliveryCancellation(UUIDModel):
    """A cancelling event (a rating deleted or hidden, a reply hidden), kept after its ingest.

    An earlier event about the same rating may still arrive later (a lost broker message the
    outbox relay sends again): its deliveries are cancelled as it is ingested.
    """

    event_id = models.UUIDField(unique=True)
    rating_id = models.UUIDField()
    # The event types whose deliveries it cancels; empty: every type.
    event_types = models.JSONField(default=list, blank=True)
    # The cancelling event's occurred_at: only deliveries of events up to then are cancelled.
    before = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["rating_id"], name="notif_cancellation_rating_idx"),
            # The retention purge, in (created_at, id) order.
            models.Index(fields=["created_at", "id"], name="notif_cancellation_age_idx"),
        ]

    def __str__(self) -> str:
        return f"Cancellation of {self.rating_id} before {self.before:%Y-%m-%d %H:%M:%S}"


class ErasedSubject(UUIDModel):
    """An id whose person's data is erased: a deleted account, its ratings, its provider profile.

    Events published before the erasure may still be on their way (a broker message in flight,
    an outbox event sent again): ingest replaces the erased person's name and words in them
    (``intake.erasure``). Only ids are kept, and forever: a message can come back at any time.
    """

    class Kind(models.TextChoices):
        USER = "user", "Account"
        RATING = "rating", "Rating by an erased author"
        PROVIDER = "provider", "Provider profile"

    subject_id = models.UUIDField(unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    erased_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.kind} {self.subject_id}"
