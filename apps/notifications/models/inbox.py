"""What the intake keeps: inbox items, digests, cancellations and erased subjects."""

from django.db import models
from django.db.models import Q
from django.db.models.fields.json import KeyTransform
from django.utils import timezone

from apps.core.models import UUIDModel
from apps.notifications.models.choices import RatingEmails


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
