"""The choices the notifications tables share: channels, delivery states, digest frequencies."""

from django.db import models


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


class Blame(models.TextChoices):
    """Whose failure a delivery waits out: the kind of circuit breaker its last failed attempt
    counted against (``outbound.breakers.key_kind``). Empty when it waits for anything else: a
    failure of the message itself, an open breaker, a free slot, its recipient's quiet hours."""

    NONE = "", "Nothing of its destination's"
    PROVIDER = "provider", "Its SMTP relay or push gateway"
    ORIGIN = "origin", "Its webhook origin (scheme, host, port)"
    ENDPOINT = "endpoint", "Its webhook endpoint"


class RatingEmails(models.TextChoices):
    """How a recipient's new-rating emails arrive: one per rating, or one digest per period."""

    IMMEDIATE = "immediate", "Immediately, one email per rating"
    HOURLY = "hourly", "Hourly digest"
    DAILY = "daily", "Daily digest"
