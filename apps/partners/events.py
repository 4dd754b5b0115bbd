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
from apps.partners.models import NotificationTrigger, PartnerFeedItem
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


@dataclass(frozen=True, kw_only=True)
class NotificationTriggered:
    """Staff or a partner triggered a notice of a declared custom type (``type``) for one user.

    ``title``, ``body`` and ``data`` are the caller's words; ``provider_id`` is set when the caller
    named the recipient by its provider. The intake tells the recipient through the type's channels.
    """

    TYPE: ClassVar[str] = "notification.triggered"
    VERSION: ClassVar[int] = 1

    trigger_id: str
    type: str
    partner_id: str | None
    recipient_user_id: str
    recipient_email: str
    provider_id: str | None
    title: str
    body: str
    data: dict
    occurred_at: str

    @classmethod
    def of(cls, trigger: NotificationTrigger):
        return cls(
            trigger_id=str(trigger.pk),
            type=trigger.type,
            partner_id=str(trigger.partner_id) if trigger.partner_id else None,
            recipient_user_id=str(trigger.recipient_user_id),
            recipient_email=trigger.recipient_user.email,
            provider_id=str(trigger.provider_id) if trigger.provider_id else None,
            title=trigger.title,
            body=trigger.body,
            data=trigger.data,
            occurred_at=trigger.created_at.isoformat(),
        )

    def payload(self) -> dict:
        return asdict(self)


def publish(event: PartnerNotificationPosted | NotificationTriggered) -> None:
    """Record ``event`` in the outbox, in the caller's transaction."""
    outbox.publish(event.TYPE, event.payload(), occurred_at=event.occurred_at, version=event.VERSION)


EVENT_TYPES = (PartnerNotificationPosted, NotificationTriggered)
