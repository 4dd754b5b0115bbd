"""The transactional outbox (publisher side).

``publish()`` writes an ``OutboxEvent`` in the caller's transaction. After commit a robust
``on_commit`` hook sends it to its Celery task by *name* (so core never imports the consumer)
and marks it dispatched; if the broker is down the request still succeeds and the row waits
for ``outbox_relay()``, run periodically by beat, which sends every undispatched row and every
row the consumer has not confirmed in time. Consumers are idempotent, so resending is safe.
"""

import logging
from datetime import datetime, timedelta
from uuid import UUID

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.core.metrics import EVENTS_DISPATCHED, EVENTS_PUBLISHED
from apps.core.models import OutboxEvent

logger = logging.getLogger(__name__)

NOTIFICATIONS_INGEST_TASK = "notifications.ingest_event"
NOTIFICATIONS_QUEUE = "notifications"
CONFIRM_TASK = "core.outbox_confirm"
DEFAULT_QUEUE = "default"


def _lease_end(now: datetime) -> datetime:
    return now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)


def publish(
    event_type: str,
    data: dict,
    *,
    occurred_at: datetime | str | None = None,
    version: int = 1,
    task_name: str = NOTIFICATIONS_INGEST_TASK,
    queue: str = NOTIFICATIONS_QUEUE,
) -> OutboxEvent:
    """Record ``event_type`` in the current transaction; it is sent to ``task_name`` after commit."""
    if isinstance(occurred_at, str):
        occurred_at = parse_datetime(occurred_at)
    now = timezone.now()
    event = OutboxEvent.objects.create(
        type=event_type,
        version=version,
        occurred_at=occurred_at or now,
        data=data,
        task_name=task_name,
        queue=queue,
        # Leased to the on_commit hook, so a relay running meanwhile does not send it too.
        locked_until=_lease_end(now),
    )
    transaction.on_commit(lambda: _dispatch_committed(event), robust=True)
    return event


def _dispatch_committed(event: OutboxEvent) -> None:
    EVENTS_PUBLISHED.labels(event.type).inc()
    _dispatch(event, path="commit", count_attempt=True)


def _send(event: OutboxEvent) -> None:
    current_app.send_task(event.task_name, args=[event.envelope], queue=event.queue)


def _dispatch(event: OutboxEvent, *, path: str, count_attempt: bool = False) -> bool:
    """Send one claimed event; record the outcome and release the lease either way."""
    counted = {"attempts": F("attempts") + 1} if count_attempt else {}
    try:
        _send(event)
    except Exception as exc:  # noqa: BLE001 - any broker failure leaves the row to the relay
        logger.warning("outbox: sending %s %s failed: %s", event.type, event.pk, exc)
        EVENTS_DISPATCHED.labels(path, "error").inc()
        OutboxEvent.objects.filter(pk=event.pk).update(
            locked_until=None, last_error=f"{type(exc).__name__}: {exc}"[:2000], **counted
        )
        return False
    EVENTS_DISPATCHED.labels(path, "ok").inc()
    OutboxEvent.objects.filter(pk=event.pk).update(
        dispatched_at=timezone.now(), locked_until=None, last_error="", **counted
    )
    return True


def _due(now: datetime) -> Q:
    stale = now - timedelta(seconds=settings.OUTBOX_CONFIRM_TIMEOUT_SECONDS)
    return (
        Q(confirmed_at__isnull=True)
        & (Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        & (Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=stale))
    )


def _claim_next() -> OutboxEvent | None:
    """Lease the oldest due row in its own transaction (SKIP LOCKED: relays never wait on each other)."""
    with transaction.atomic():
        now = timezone.now()
        event = (
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(_due(now))
            .order_by("created_at", "id")
            .first()
        )
        if event is None:
            return None
        # Compare-and-set as well: SQLite has no row locks.
        claimed = OutboxEvent.objects.filter(_due(now), pk=event.pk).update(
            locked_until=_lease_end(now), attempts=F("attempts") + 1
        )
    return event if claimed else None


def outbox_relay(*, limit: int | None = None) -> int:
    """Send due events oldest first, each claimed and committed on its own; returns how many were sent.

    Stops at the first broker failure: the broker is down, the next run tries again.
    """
    sent = 0
    for _ in range(limit or settings.OUTBOX_RELAY_BATCH):
        event = _claim_next()
        if event is None:
            break
        if not _dispatch(event, path="relay"):
            break
        sent += 1
    return sent


def outbox_confirm(*, event_id: UUID | str) -> bool:
    """The consumer processed ``event_id``: never send it again."""
    return bool(
        OutboxEvent.objects.filter(pk=event_id, confirmed_at__isnull=True).update(
            confirmed_at=timezone.now(), locked_until=None
        )
    )


def outbox_confirm_send(*, event_id: UUID | str) -> None:
    """Called by a consumer (possibly another deployment and database) once it processed an event."""
    if settings.OUTBOX_CONFIRM_INLINE:
        outbox_confirm(event_id=event_id)
        return
    current_app.send_task(CONFIRM_TASK, args=[str(event_id)], queue=DEFAULT_QUEUE)
