"""Partners (a marketplace's backend) as tenants: their keys, what they own, their feed.

A partner owns the customers, providers, ratings and invitations it created through the partner
API, and the providers staff granted it; each link is a row here, so the domain apps carry no
column for partners. Another partner's objects do not exist for a partner (404).
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from rest_framework_api_key.models import AbstractAPIKey, BaseAPIKeyManager

from apps.core.models import TimeStampedModel, UUIDModel
from apps.customers.models import Customer
from apps.providers.models import Provider
from apps.ratings.models import Rating, RatingInvitation


class Scope(models.TextChoices):
    """What a key may do. ``read`` opens every GET except the feed; the feed consumes, so it
    has a scope of its own."""

    READ = "read", "read: every GET of the partner's own objects"
    CUSTOMERS_WRITE = "customers:write", "customers:write: create customers"
    PROVIDERS_WRITE = "providers:write", "providers:write: create service providers"
    RATINGS_WRITE = "ratings:write", "ratings:write: create ratings"
    INVITATIONS_WRITE = "invitations:write", "invitations:write: create and revoke invitations"
    FEED_READ = "feed:read", "feed:read: read (and consume) the notification feed"
    NOTIFICATIONS_WRITE = "notifications:write", "notifications:write: POST /api/internal/notifications"
    NOTIFICATIONS_TRIGGER = (
        "notifications:trigger",
        "notifications:trigger: send notices of a declared custom type to the partner's own users",
    )


ALL_SCOPES = [scope.value for scope in Scope]


def all_scopes() -> list[str]:
    return list(ALL_SCOPES)


class Partner(TimeStampedModel):
    name = models.CharField(max_length=150, unique=True)
    # An inactive partner's keys all answer 401, without revoking them one by one.
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PartnerKeyManager(BaseAPIKeyManager):
    def get_usable_keys(self):
        # The partner comes with the key (one query): views scope every read and write by it.
        return self.filter(revoked=False, partner__is_active=True).select_related("partner")


class PartnerKey(AbstractAPIKey):
    """A partner's key: only its hash is stored (djangorestframework-api-key), shown once.

    Rotation issues a new key and gives the old one an ``expiry_date`` (the grace period);
    revocation is at once. ``last_used_at`` and ``request_count`` are flushed from Redis
    counters by a periodic task (``partners.key_usage_flush``), not written per request.
    """

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="keys")
    scopes = models.JSONField(default=all_scopes, help_text="Any of: " + ", ".join(ALL_SCOPES))
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    request_count = models.BigIntegerField(default=0, editable=False)
    rotated_from = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="rotated_to"
    )

    objects = PartnerKeyManager()

    def clean(self) -> None:
        super().clean()
        if not isinstance(self.scopes, list) or not all(isinstance(scope, str) for scope in self.scopes):
            raise ValidationError({"scopes": "A list of scope names."})
        unknown = sorted(set(self.scopes) - set(ALL_SCOPES))
        if unknown:
            raise ValidationError({"scopes": f"Unknown scopes: {', '.join(unknown)}."})

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "partner API key"
        verbose_name_plural = "partner API keys"


class PartnerCustomer(UUIDModel):
    """A customer the partner created; ``email`` (normalised) makes a second create idempotent."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="customer_links")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="partner_links")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "customer"], name="partners_customer_uniq"),
        ]


class PartnerProvider(UUIDModel):
    """A provider the partner created, or that staff granted it (``granted``)."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="provider_links")
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="partner_links")
    granted = models.BooleanField(default=False, help_text="Granted by staff rather than created by the partner.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "provider"], name="partners_provider_uniq"),
        ]
        indexes = [models.Index(fields=["provider"], name="partners_provider_provider_idx")]

    def __str__(self) -> str:
        return f"{self.partner} → {self.provider}"


class PartnerRating(UUIDModel):
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="rating_links")
    rating = models.OneToOneField(Rating, on_delete=models.CASCADE, related_name="partner_link")


class PartnerInvitation(UUIDModel):
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="invitation_links")
    invitation = models.OneToOneField(RatingInvitation, on_delete=models.CASCADE, related_name="partner_link")

    class Meta:
        indexes = [models.Index(fields=["partner"], name="partners_invitation_idx")]


class PartnerFeedItem(UUIDModel):
    """One notice in a partner's feed, handed out once (``consumed_at``).

    From a rating of one of the partner's providers it holds ids only (``rating``): the
    customer's name and the comment are read at read time, so an erased account leaves no
    copy here. From ``POST /api/internal/notifications`` (any provider id, as in Homerun) it
    holds the message the partner sent, with no account behind it.
    """

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="feed_items")
    provider_id = models.UUIDField()
    rating = models.ForeignKey(Rating, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    rating_ref = models.UUIDField(help_text="The rating's id, as given (a rating of this service or not).")
    score = models.PositiveSmallIntegerField()
    message = models.TextField(blank=True, help_text="Only for items posted to the internal endpoint.")
    created_at = models.DateTimeField(auto_now_add=True)
    consumed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # A rating is announced once per partner, however often its event is replayed.
            models.UniqueConstraint(
                fields=["partner", "rating"], condition=Q(rating__isnull=False), name="partners_feed_rating_uniq"
            ),
        ]
        indexes = [
            models.Index(
                fields=["partner", "provider_id", "created_at", "id"],
                condition=Q(consumed_at__isnull=True),
                name="partners_feed_unconsumed_idx",
            ),
        ]


class NotificationTrigger(UUIDModel):
    """A notice of a declared custom type that staff or a partner sent, once per idempotency key.

    The caller's key is unique per caller (``caller``: ``partner:<id>`` or ``staff:<user id>``): the
    same key again returns this row instead of telling the recipient twice, and ``fingerprint`` (a
    hash of the request) tells a retry from another request reusing the key.
    """

    caller = models.CharField(max_length=60)
    idempotency_key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, null=True, blank=True, related_name="notification_triggers"
    )
    type = models.CharField(max_length=100)
    recipient_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_triggers"
    )
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["caller", "idempotency_key"], name="partners_trigger_key_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.type} to {self.recipient_user_id} ({self.idempotency_key})"
