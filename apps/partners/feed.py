"""The partner notification feed: a provider's new-rating inbox items, each handed out once.

Built from the provider's own inbox items (``rating.created``), found by the ``provider_id``
their event carried, so it needs only the notifications tables: the separate notifications
deployment serves it too. An item handed out by a consuming read gets ``partner_consumed_at``;
two concurrent readers never get the same item (``SELECT … FOR UPDATE SKIP LOCKED``, then the
``UPDATE`` in the same transaction). The user's own inbox (``read_at``) is untouched.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.notifications.events import RATING_CREATED
from apps.notifications.models import Notification
from apps.notifications.services.db import notifications_db

FEED_PAGE_SIZE = 50


@dataclass(frozen=True)
class FeedItem:
    id: str
    service_provider_id: str
    message: str
    rating_id: str
    created_at: datetime


def _customer_name(item: Notification) -> str:
    name = item.data.get("customer_name")
    if name is None:
        # Items written before the name was kept in their data: the title carries it.
        name = item.title.split(" rating from ", 1)[-1]
    return name


def _item(notification: Notification) -> FeedItem:
    data = notification.data
    return FeedItem(
        id=str(notification.pk),
        service_provider_id=data["provider_id"],
        message=f'New {data["score"]}-star rating received from {_customer_name(notification)}: "{notification.body}"',
        rating_id=data["rating_id"],
        created_at=notification.created_at,
    )


def _provider_items(*, db: str, provider_id) -> QuerySet[Notification]:
    # data -> 'provider_id' (jsonb), as the partial index notifications_partner_feed_idx is built on.
    return (
        Notification.objects.using(db)
        .filter(type=RATING_CREATED, data__provider_id=str(provider_id))
        .order_by("created_at", "id")
    )


def feed_consume(*, provider_id, limit: int = FEED_PAGE_SIZE) -> tuple[list[FeedItem], bool]:
    """The oldest ``limit`` items not handed out yet, now marked handed out; and whether more wait."""
    db = notifications_db()
    with transaction.atomic(using=db):
        rows = list(
            _provider_items(db=db, provider_id=provider_id)
            .filter(partner_consumed_at__isnull=True)
            .select_for_update(skip_locked=True)[: limit + 1]
        )
        page = rows[:limit]
        if page:
            Notification.objects.using(db).filter(pk__in=[row.pk for row in page]).update(
                partner_consumed_at=timezone.now()
            )
    return [_item(row) for row in page], len(rows) > limit


def feed_since(*, provider_id, last_checked: datetime, limit: int = FEED_PAGE_SIZE) -> tuple[list[FeedItem], bool]:
    """Items created after ``last_checked`` (handed out or not), oldest first, without consuming any."""
    db = notifications_db()
    rows = list(_provider_items(db=db, provider_id=provider_id).filter(created_at__gt=last_checked)[: limit + 1])
    return [_item(row) for row in rows[:limit]], len(rows) > limit
