"""The events the partners app publishes: typed and versioned, built once here, by the publisher.

Published to the outbox (``apps.core.outbox``) inside the transaction of the change, as the
accounts app does; the notifications app consumes them. A change to a payload that a consumer
could notice (a key removed, renamed or changing meaning) is a new ``VERSION``; adding a key is
not. docs/architecture.md is the catalogue.
"""

from dataclasses import asdict, dataclass
from typing import ClassVar

from django.utils import timezone

from apps.core import outbox
from apps.partners.models import PartnerFeedItem
from apps.providers.models import Provider

COMMENT_EXCERPT_LENGTH = 140


@dataclass(frozen=True, kw_only=True)
class PartnerNotificationPosted:
    """A partner posted a notice (``POST /api/internal/notifications``) for one of its own or
    granted providers: the provider hears of it through its own channels and preferences.

    ``rating_ref`` is the rating's id as the partner gave it: a rating of the partner's system,
    not necessarily one of this service. ``message`` is the feed's wording of the notice.
    """

    TYPE: ClassVar[str] = "partner.notification"
    VERSION: ClassVar[int] = 1

    notification_id: str
    partner_id: str
    partner_name: str
    provider_id: str
    provider_user_id: str
    provider_name: str
    provider_email: str
    rating_ref: str
    score: int
    customer_name: str
    comment_excerpt: str
    message: str
    occurred_at: str

    @classmethod
    def of(cls, item: PartnerFeedItem, *, provider: Provider, customer_name: str, comment: str):
        return cls(
            notification_id=str(item.pk),
            partner_id=str(item.partner_id),
            partner_name=item.partner.name,
            provider_id=str(provider.pk),
            provider_user_id=str(provider.user_id),
            provider_name=provider.name,
            provider_email=provider.user.email,
            rating_ref=str(item.rating_ref),
            score=item.score,
            customer_name=customer_name,
            comment_excerpt=comment[:COMMENT_EXCERPT_LENGTH],
            message=item.message,
            occurred_at=timezone.now().isoformat(),
        )

    def payload(self) -> dict:
        return asdict(self)


def publish(event: PartnerNotificationPosted) -> None:
    """Record ``event`` in the outbox, in the caller's transaction."""
    outbox.publish(event.TYPE, event.payload(), occurred_at=event.occurred_at, version=event.VERSION)


EVENT_TYPES = (PartnerNotificationPosted,)
