"""Digests: new-rating emails collected per recipient and period, sent as one email.

Ingest (``digest_entries_add``) files a rating under the open digest of its period instead of
making an email delivery; beat's ``notifications.digests_close`` (``digests_close``) closes
every digest whose period has ended and makes its one email delivery, which the delivery
engine sends like any other.

Exactly once per (recipient, period):

- a digest row is unique per (recipient, frequency, period start), and an item per (event,
  recipient), so a re-ingested event or a concurrent ingest adds nothing twice;
- closing locks the open digest (``SKIP LOCKED``) and, in the same transaction, inserts its
  delivery, whose ``event_id`` is the digest's id: the delivery's unique constraint allows one;
  a worker killed before the commit leaves the digest open and the next run closes it;
- ingest locks the digest it adds to, so an item never lands in a digest being closed: one
  whose digest is already closed goes to the next open period instead.

The email itself is the engine's: claimed under a lease, retried, and sent with a stable
``Message-ID`` (the digest id), so a receiver drops the one unavoidable duplicate.
"""

import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from uuid import UUID

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.notifications.db import notifications_db
from apps.notifications.delivery.engine import deliveries_enqueue
from apps.notifications.intake.locales import readers_of
from apps.notifications.models import Channel, Delivery, Digest, DigestItem
from apps.notifications.periods import digest_period, quiet_until
from apps.notifications.selectors import schedules_of

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class DigestEntry:
    """A rating ingest files under a digest rather than emailing it at once."""

    recipient_id: UUID
    event_id: UUID
    frequency: str
    time_zone: str
    occurred_at: datetime
    email: str
    data: dict
    # Where in time the entry is filed: its event's time, or a later one when that period's
    # digest was already closed.
    at: datetime


def digest_entries_add(*, entries: list[DigestEntry], db: str) -> None:
    """File each entry under the open digest of its period; runs inside the ingest's transaction."""
    pending = list(entries)
    now = timezone.now()
    while pending:
        keyed = _keyed(pending, now=now, db=db)
        # Inserted in key order: two ingests adding to the same digests wait for each other's
        # inserts in the same order, never crosswise (a deadlock).
        Digest.objects.using(db).bulk_create(
            [
                Digest(recipient_id=r, frequency=f, time_zone=e.time_zone, period_start=s, period_end=end)
                for e, (r, f, s, end) in sorted(keyed, key=lambda pair: (str(pair[1][0]), pair[1][1], pair[1][2]))
            ],
            ignore_conflicts=True,
        )
        # Locked (in a fixed order: no deadlock between ingests) so no closer takes a digest
        # while items are added to it; a closer skips it and closes it on its next run.
        digests = {
            (d.recipient_id, d.frequency, d.period_start): d
            for d in Digest.objects.using(db)
            .select_for_update()
            .filter(
                recipient_id__in={key[0] for _, key in keyed},
                period_start__in={key[2] for _, key in keyed},
            )
            .order_by("pk")
        }
        items, later = [], []
        for entry, (recipient_id, frequency, start, _) in keyed:
            digest = digests[(recipient_id, frequency, start)]
            if digest.closed_at is not None:
                later.append(replace(entry, at=max(digest.period_end, now)))
                continue
            items.append(
                DigestItem(
                    digest=digest,
                    event_id=entry.event_id,
                    recipient_id=recipient_id,
                    occurred_at=entry.occurred_at,
                    email=entry.email,
                    data=entry.data,
                )
            )
        DigestItem.objects.using(db).bulk_create(items, ignore_conflicts=True)
        pending = later


def _keyed(entries: list[DigestEntry], *, now: datetime, db: str) -> list[tuple[DigestEntry, tuple]]:
    """Each entry with the key of its digest: (recipient, frequency, period start, period end).

    A rating whose period has already ended joins that period's digest only while it is still
    open (the closer has not run yet); otherwise, rather than a digest of a past period of its
    own (an event redelivered days later), it goes to the period open now.
    """

    def key(entry: DigestEntry, at: datetime) -> tuple:
        start, end = digest_period(at=at, time_zone=entry.time_zone, frequency=entry.frequency)
        return (entry.recipient_id, entry.frequency, start, end)

    keyed = [(entry, key(entry, entry.at)) for entry in entries]
    ended = [k for _, k in keyed if k[3] <= now]
    if not ended:
        return keyed
    still_open = Q()
    for recipient_id, frequency, start, _ in ended:
        still_open |= Q(recipient_id=recipient_id, frequency=frequency, period_start=start)
    open_keys = set(
        Digest.objects.using(db)
        .filter(still_open, closed_at__isnull=True)
        .values_list("recipient_id", "frequency", "period_start")
    )
    return [
        (entry, k) if k[3] > now or k[:3] in open_keys else (replace(entry, at=now), key(entry, now))
        for entry, k in keyed
    ]


def digests_close(*, now: datetime | None = None, batch: int = 200, max_seconds: float = 20) -> int:
    """Close every open digest whose period has ended, making its email; returns how many.

    Safe to run concurrently and again: each digest is closed by one transaction, once. After
    downtime it catches up on every period that ended meanwhile, one email per period. It
    starts no new batch after ``max_seconds`` (inside the task's soft time limit); the next run
    goes on.
    """
    closed = 0
    deadline = time.monotonic() + max_seconds
    while True:
        made = _close_batch(now=now or timezone.now(), batch=batch)
        closed += made
        if made < batch or time.monotonic() > deadline:
            return closed


def _close_batch(*, now: datetime, batch: int) -> int:
    db = notifications_db()
    with transaction.atomic(using=db):
        digests = list(
            Digest.objects.using(db)
            .select_for_update(skip_locked=True)
            .filter(closed_at__isnull=True, period_end__lte=now)
            .order_by("period_end", "pk")[:batch]
        )
        if not digests:
            return 0
        items: dict[UUID, list[DigestItem]] = {d.pk: [] for d in digests}
        for item in DigestItem.objects.using(db).filter(digest__in=digests).order_by("occurred_at", "pk"):
            items[item.digest_id].append(item)
        schedules = schedules_of(recipient_ids={d.recipient_id for d in digests})
        # The digest is written in the recipient's language as it is at closing.
        readers = readers_of({d.recipient_id for d in digests}, db=db)
        deliveries = []
        for digest in digests:
            if not items[digest.pk]:
                continue
            schedule = schedules.get(digest.recipient_id)
            # A digest is not critical: quiet hours (in the recipient's zone as it is now) hold it.
            held = schedule and quiet_until(
                at=now, time_zone=schedule.time_zone, start=schedule.quiet_start, end=schedule.quiet_end
            )
            deliveries.append(
                Delivery(
                    event_id=digest.pk,
                    recipient_id=digest.recipient_id,
                    channel=Channel.EMAIL,
                    address=items[digest.pk][-1].email,
                    payload={"digest": digest_content(digest=digest, items=items[digest.pk])},
                    next_attempt_at=held or now,
                    event_at=digest.period_end,
                    created_at=now,
                    locale=readers[digest.recipient_id].locale,
                )
            )
        Delivery.objects.using(db).bulk_create(deliveries, ignore_conflicts=True)
        Digest.objects.using(db).filter(pk__in=[d.pk for d in digests]).update(closed_at=now)
        due = [d for d in deliveries if d.next_attempt_at <= now]
        transaction.on_commit(lambda: deliveries_enqueue(deliveries=due), using=db, robust=True)
    for digest in digests:
        logger.info(
            "notifications: %s digest %s of %s closed with %d ratings",
            digest.frequency,
            digest.pk,
            digest.recipient_id,
            len(items[digest.pk]),
            extra={"digest_id": str(digest.pk)},
        )
    return len(digests)


def _average(count: int, total: int) -> str | None:
    if count <= 0:
        return None
    return str((Decimal(total) / Decimal(count)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _summary_change(items: list[DigestItem]) -> dict | None:
    """The provider's summary just before the period's first rating and just after its last.

    Each rating event carries the summary after its change (``summary: {count, sum}``); the
    first one less its own rating is the summary before. None when an event lacks it
    (published by a release that did not send it).
    """
    first, last = items[0].data.get("summary"), items[-1].data.get("summary")
    if not first or not last:
        return None
    before_count, before_sum = first["count"] - 1, first["sum"] - items[0].data["score"]
    return {
        "before": {"count": before_count, "average": _average(before_count, before_sum)},
        "after": {"count": last["count"], "average": _average(last["count"], last["sum"])},
    }


def digest_content(*, digest: Digest, items: list[DigestItem]) -> dict:
    """What the digest email shows, frozen when the digest closes (JSON for the delivery row)."""
    return {
        "frequency": digest.frequency,
        "time_zone": digest.time_zone,
        "period_start": digest.period_start.isoformat(),
        "period_end": digest.period_end.isoformat(),
        "ratings": [
            {
                "rating_id": item.data.get("rating_id"),
                "customer_name": item.data.get("customer_name", ""),
                "score": item.data.get("score"),
                "comment": item.data.get("comment", ""),
                "occurred_at": item.occurred_at.isoformat(),
            }
            for item in items
        ],
        "summary": _summary_change(items),
    }
