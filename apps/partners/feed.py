"""The partner notification feed: the partner's own queue, each item handed out once.

Fed in the rating's own transaction (``apps.partners.receivers``) for every partner that has
the rated provider, and by ``POST /api/internal/notifications`` (any provider id, as in
Homerun); a posted notice for one of the partner's own (or granted) providers also reaches that
provider's channels, through the normal pipeline and its preferences
(``partner.notification``). A read consumes, as Homerun's does: it returns the items not handed out yet (created
after ``lastChecked`` when given), oldest first, and marks them handed out; two concurrent
readers never get the same item (``SELECT … FOR UPDATE SKIP LOCKED``, then the ``UPDATE`` in the
same transaction). The provider's own inbox and its notification preferences are another
matter: the feed is the partner's.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.partners import events
from apps.partners.models import Partner, PartnerFeedItem
from apps.providers.selectors import providers_active
from apps.ratings.models import RatingStatus

FEED_PAGE_SIZE = 50
CREATED_MESSAGE = "Notification created successfully"


@dataclass(frozen=True)
class FeedItem:
    id: uuid.UUID
    service_provider_id: uuid.UUID
    message: str
    rating_id: uuid.UUID
    created_at: datetime


def feed_message(*, score: int, customer_name: str, comment: str) -> str:
    """Homerun's wording: ``New 4-star rating received from Ada: "Fixed it fast"``, without the
    name part when there is no name, without the comment part when there is no comment."""
    message = f"New {score}-star rating received" if 1 <= score <= 5 else "New rating received"
    if customer_name:
        message += " from " + customer_name
    if comment:
        message += ': "' + comment + '"'
    return message


def feed_items_for_rating(*, partner_ids, provider_id, rating_id, score: int) -> None:
    """A new published rating, announced once to each partner in ``partner_ids`` (a replayed
    event adds nothing: one item per partner and rating)."""
    PartnerFeedItem.objects.bulk_create(
        [
            PartnerFeedItem(
                partner_id=partner_id, provider_id=provider_id, rating_id=rating_id, rating_ref=rating_id, score=score
            )
            for partner_id in partner_ids
        ],
        ignore_conflicts=True,
    )


@transaction.atomic
def feed_item_create(
    *, partner: Partner, provider_id: uuid.UUID, rating_id: uuid.UUID, score: int, customer_name: str, comment: str
) -> PartnerFeedItem:
    """An item the partner posts itself (Homerun's internal endpoint), for any provider id.

    When the id is one of the partner's providers (created or granted) whose account still
    exists, the provider is told too, in this transaction; another partner's provider is not
    (the partner learns nothing from the answer either: it is the same).
    """
    item = PartnerFeedItem.objects.create(
        partner=partner,
        provider_id=provider_id,
        rating_ref=rating_id,
        score=score,
        message=feed_message(score=score, customer_name=customer_name, comment=comment),
    )
    provider = (
        providers_active()
        .select_related("user")
        .filter(pk=provider_id, partner_links__partner=partner, user__is_active=True)
        .first()
    )
    if provider is not None:
        events.publish(
            events.PartnerNotificationPosted.of(item, provider=provider, customer_name=customer_name, comment=comment)
        )
    return item


def _render(item: PartnerFeedItem) -> FeedItem:
    if item.rating is not None:
        # Read now, not copied when the item was made: an erased author is "Deleted user" here too.
        message = feed_message(
            score=item.score, customer_name=item.rating.customer.user.name, comment=item.rating.comment
        )
    else:
        message = item.message
    return FeedItem(
        id=item.pk,
        service_provider_id=item.provider_id,
        message=message,
        rating_id=item.rating_ref,
        created_at=item.created_at,
    )


def feed_consume(
    *, partner: Partner, provider_id: uuid.UUID, last_checked: datetime | None = None, limit: int = FEED_PAGE_SIZE
) -> tuple[list[FeedItem], bool]:
    """The partner's oldest ``limit`` items for the provider not handed out yet (created after
    ``last_checked`` when given), now marked handed out; and whether more wait.

    An item whose rating is not public (held or hidden by moderation after it was announced)
    waits, unconsumed, until it is public again.
    """
    with transaction.atomic():
        queryset = PartnerFeedItem.objects.filter(
            Q(rating__isnull=True) | Q(rating__status=RatingStatus.PUBLISHED),
            partner=partner,
            provider_id=provider_id,
            consumed_at__isnull=True,
        )
        if last_checked is not None:
            queryset = queryset.filter(created_at__gt=last_checked)
        rows = list(
            queryset.select_related("rating__customer__user")
            .order_by("created_at", "id")
            .select_for_update(skip_locked=True, of=("self",))[: limit + 1]
        )
        page = rows[:limit]
        if page:
            PartnerFeedItem.objects.filter(pk__in=[row.pk for row in page]).update(consumed_at=timezone.now())
    return [_render(row) for row in page], len(rows) > limit
