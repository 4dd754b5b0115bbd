"""What a recipient keeps: channel preferences, schedule, webhook endpoints, devices."""

from django.db import models
from django.db.models import Q, Value
from django.utils import timezone

from apps.core.models import UUIDModel
from apps.notifications.models.choices import Channel, RatingEmails


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
    # The owner's own note on what the endpoint is for; shown back, never sent.
    description = models.CharField(max_length=500, blank=True, default="", db_default="")
    # Sends per second across every worker (``outbound.limits.rate_take``); null: unlimited.
    rate_per_second = models.PositiveIntegerField(null=True, blank=True)
    # Extra request headers sent with each delivery ({name: value}); the names the transport
    # or the signature own are refused when set (``subscriptions.webhooks.DENIED_HEADERS``).
    headers = models.JSONField(default=dict, blank=True, db_default=Value({}, output_field=models.JSONField()))

    class Meta:
        indexes = [models.Index(fields=["recipient_id", "-created_at"], name="notif_webhook_owner_idx")]

    def __str__(self) -> str:
        return f"{self.url} ({'enabled' if self.enabled else 'disabled'})"


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


class RecipientLocale(UUIDModel):
    """The language a recipient's notices are worded in, as the accounts app last published it
    (``account.locale_set``): this deployment has no users table. Without a row: English."""

    recipient_id = models.UUIDField(unique=True)
    locale = models.CharField(max_length=8)
    # The event's time: an older event arriving late does not undo a newer choice.
    set_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.recipient_id}: {self.locale}"
