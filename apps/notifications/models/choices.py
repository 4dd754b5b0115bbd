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


class RatingEmails(models.TextChoices):
    """How a recipient's new-rating emails arrive: one per rating, or one digest per period."""

    IMMEDIATE = "immediate", "Immediately, one email per rating"
    HOURLY = "hourly", "Hourly digest"
    DAILY = "daily", "Daily digest"
