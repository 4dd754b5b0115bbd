"""Cancelling deliveries that have not gone out when what they announce is gone.

A rating deleted by its author (``rating.deleted``) or hidden by moderation
(``rating.moderated`` with status ``hidden``) must not keep reaching mailboxes, webhooks and
phones: every delivery about that rating still ``pending``, ``retry`` or ``sending`` becomes
``cancelled``. A hidden reply (``reply.moderated`` with reply status ``hidden``) cancels the
notices of the reply (``rating.replied``) only. Which events cancel what is their handlers'
to say (``intake.handlers``: ``Handler.cancels``). The rating is found through its inbox items'
``data.rating_id`` (the event payloads carry it), or, for a recipient with the inbox switched
off, the copy of the notice on the delivery, so this module knows event types, never the
ratings app.

Only deliveries of events that happened *before* the cancelling one are cancelled: the notice
of the decision itself ("your rating was hidden"), and anything after it (a re-publication),
go out. Each cancellation is kept (``DeliveryCancellation``, purged with the deliveries): an
earlier event about the rating that arrives after it (a lost broker message the outbox relay
sends again) has its deliveries cancelled in the transaction that ingests it.

``sending`` rows are cancelled too: the engine checks again right before it sends a claimed
group, and keeps a cancelled row cancelled whatever its send reports, unless the send had
already gone out (then it is recorded as ``sent``, the truth).
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.notifications.intake.handlers import handler_for
from apps.notifications.models import NOTICE_KEY, Channel, Delivery, DeliveryCancellation, DeliveryStatus, Notification

logger = logging.getLogger(__name__)

UNFINISHED = (DeliveryStatus.PENDING, DeliveryStatus.RETRY, DeliveryStatus.SENDING)


@dataclass(frozen=True)
class Cancellation:
    event_id: UUID
    rating_id: str
    # The cancelling event's occurred_at: deliveries of events up to then are cancelled.
    before: datetime
    # None: deliveries of every event type about the rating.
    event_types: tuple[str, ...] | None = None


def cancellation_of(envelope: dict) -> Cancellation | None:
    """What ``envelope`` cancels, as its handler says; a malformed event cancels nothing."""
    handler = handler_for(envelope)
    data = envelope.get("data") if handler is not None else None
    if not isinstance(data, dict):
        return None
    cancels = handler.cancels(data)
    if cancels is None:
        return None
    event_type = envelope.get("type")
    try:
        event_id = UUID(str(envelope["id"]))
        rating_id = str(UUID(str(data["rating_id"])))
        before = parse_datetime(str(envelope.get("occurred_at") or "")) or timezone.now()
    except (KeyError, ValueError) as exc:
        logger.error("notifications: malformed %s event %r cancels nothing: %r", event_type, envelope.get("id"), exc)
        return None
    return Cancellation(event_id=event_id, rating_id=rating_id, before=before, event_types=cancels.notice_types)


def cancellations_apply(*, cancellations: list[Cancellation], rating_ids: set[str], db: str) -> int:
    """Keep the batch's ``cancellations``, then apply every kept one of these ratings and theirs.

    ``rating_ids`` are the ratings the batch made deliveries for: one indexed query finds what
    was cancelled about them before. Runs in the ingest's transaction; returns how many
    deliveries it cancelled.
    """
    if cancellations:
        DeliveryCancellation.objects.using(db).bulk_create(
            [
                DeliveryCancellation(
                    event_id=c.event_id,
                    rating_id=c.rating_id,
                    event_types=list(c.event_types or ()),
                    before=c.before,
                )
                for c in cancellations
            ],
            ignore_conflicts=True,
        )
    ratings = rating_ids | {c.rating_id for c in cancellations}
    if not ratings:
        return 0
    kept = [
        Cancellation(
            event_id=row.event_id,
            rating_id=str(row.rating_id),
            before=row.before,
            event_types=tuple(row.event_types) or None,
        )
        for row in DeliveryCancellation.objects.using(db).filter(rating_id__in=ratings)
    ]
    return deliveries_cancel(cancellations=kept, db=db)


def deliveries_cancel(*, cancellations: list[Cancellation], db: str) -> int:
    """Cancel the unfinished deliveries each cancellation covers; returns how many.

    Runs in the caller's transaction (the ingest of the cancelling event); running it again
    cancels nothing more.
    """
    cancelled = 0
    now = timezone.now()
    for cancellation in cancellations:
        items = Notification.objects.using(db).filter(data__rating_id=cancellation.rating_id)
        # A recipient who switched the inbox off has no item: its email and push carry a copy of
        # the notice (``payload.notice``), its webhook the body it sends.
        copies = Q(**{f"payload__{NOTICE_KEY}__data__rating_id": cancellation.rating_id})
        bodies = Q(channel=Channel.WEBHOOK, payload__data__rating_id=cancellation.rating_id)
        if cancellation.event_types is not None:
            items = items.filter(type__in=cancellation.event_types)
            copies &= Q(**{f"payload__{NOTICE_KEY}__type__in": cancellation.event_types})
            bodies &= Q(payload__type__in=cancellation.event_types)
        about = Q(notification__in=items.values("pk")) | (Q(notification__isnull=True) & (copies | bodies))
        cancelled += (
            Delivery.objects.using(db)
            .filter(about, status__in=UNFINISHED)
            # Rows made before event_at existed have none: they are older than any cancellation.
            .filter(Q(event_at__lt=cancellation.before) | Q(event_at__isnull=True))
            .update(status=DeliveryStatus.CANCELLED, cancelled_at=now)
        )
    if cancelled:
        logger.info("notifications: %d deliveries cancelled", cancelled)
    return cancelled
