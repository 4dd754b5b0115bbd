"""Writes of the notifications app: ingest, read state, preferences and deliveries.

Every consumer is idempotent (unique constraints + get_or_create / conditional UPDATE), so a
redelivered event or a re-enqueued delivery never produces a second inbox row or email.
"""

import logging
import random
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from uuid import UUID

from celery import current_app
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, router, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.core.exceptions import ApplicationError
from apps.notifications.email import email_send
from apps.notifications.events import EVENT_TYPES, EXTERNAL_CHANNELS
from apps.notifications.metrics import DELIVERY_ATTEMPTS, NOTIFICATIONS_CREATED
from apps.notifications.models import Channel, Delivery, DeliveryStatus, Notification, NotificationPreference
from apps.notifications.selectors import notification_get, preference_enabled

logger = logging.getLogger(__name__)

DELIVER_TASK = "notifications.deliver"
SENDERS = {Channel.EMAIL: email_send}


class CriticalPreference(ApplicationError):
    default_code = "critical_notification"
    default_detail = "This notification is critical and cannot be switched off."


class UnknownPreference(ApplicationError):
    default_code = "unknown_preference"
    default_detail = "There is no such event type and channel."


def notifications_db() -> str:
    """The alias holding the notifications tables (its own database when configured)."""
    return router.db_for_write(Notification) or DEFAULT_DB_ALIAS


def _enqueue_deliveries(delivery_ids: Iterable[UUID]) -> None:
    for delivery_id in delivery_ids:
        try:
            current_app.send_task(DELIVER_TASK, args=[str(delivery_id)])
        except Exception as exc:  # noqa: BLE001 - the sweeper re-enqueues from the database
            logger.warning("notifications: enqueueing delivery %s failed: %s", delivery_id, exc)
            return


def ingest_event(*, envelope: dict) -> list[Notification]:
    """Create the inbox items and deliveries an event calls for; returns the newly created items.

    Running it again for the same event creates nothing (unique event_id + recipient).
    """
    event_type = envelope.get("type")
    spec = EVENT_TYPES.get(event_type)
    if spec is None:
        logger.info("notifications: ignoring event type %r", event_type)
        return []
    event_id = UUID(str(envelope["id"]))
    notices = spec.build(envelope.get("data") or {})
    if not notices:
        return []
    db = notifications_db()
    created_items, new_deliveries = [], []
    with transaction.atomic(using=db):
        for notice in notices:
            notification, created = Notification.objects.using(db).get_or_create(
                event_id=event_id,
                recipient_id=notice.recipient_id,
                defaults={"type": event_type, "title": notice.title[:200], "body": notice.body, "data": notice.data},
            )
            if created:
                created_items.append(notification)
            for channel in EXTERNAL_CHANNELS:
                if not notice.email or not preference_enabled(
                    recipient_id=notice.recipient_id, event_type=event_type, channel=channel
                ):
                    continue
                delivery, delivery_created = Delivery.objects.using(db).get_or_create(
                    event_id=event_id,
                    recipient_id=notice.recipient_id,
                    channel=channel,
                    defaults={"notification": notification, "address": notice.email},
                )
                if delivery_created:
                    new_deliveries.append(delivery.pk)
        transaction.on_commit(lambda: _enqueue_deliveries(new_deliveries), using=db, robust=True)
    for notification in created_items:
        NOTIFICATIONS_CREATED.labels(notification.type).inc()
    return created_items


def notification_mark_read(*, recipient_id: UUID, notification_id: UUID) -> Notification:
    """Mark one of the recipient's notifications read; reading it again changes nothing."""
    notification = notification_get(recipient_id=recipient_id, notification_id=notification_id)
    if notification.read_at is None:
        now = timezone.now()
        updated = Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
        if updated:
            notification.read_at = now
        else:
            notification.refresh_from_db(fields=["read_at"])
    return notification


def notifications_mark_all_read(*, recipient_id: UUID) -> int:
    return Notification.objects.filter(recipient_id=recipient_id, read_at__isnull=True).update(read_at=timezone.now())


def preference_set(*, recipient_id: UUID, event_type: str, channel: str, enabled: bool) -> NotificationPreference:
    spec = EVENT_TYPES.get(event_type)
    if spec is None or channel not in spec.defaults:
        raise UnknownPreference(f"There is no {channel!r} switch for event type {event_type!r}.")
    if spec.critical and not enabled:
        raise CriticalPreference()
    preference, _ = NotificationPreference.objects.update_or_create(
        recipient_id=recipient_id, event_type=event_type, channel=channel, defaults={"enabled": enabled}
    )
    return preference


def preferences_update(*, recipient_id: UUID, changes: list[dict]) -> None:
    """Apply several ``{event_type, channel, enabled}`` switches, all or none."""
    with transaction.atomic(using=notifications_db()):
        for change in changes:
            preference_set(recipient_id=recipient_id, **change)


def retry_delay(attempts: int) -> float:
    """Exponential backoff with jitter: half the step fixed, half random, capped."""
    step = min(
        settings.NOTIFICATIONS_RETRY_MAX_SECONDS, settings.NOTIFICATIONS_RETRY_BASE_SECONDS * 2 ** (attempts - 1)
    )
    return step / 2 + random.uniform(0, step / 2)


def _claimable(now: datetime) -> Q:
    due = Q(status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRY], next_attempt_at__lte=now)
    stale = Q(status=DeliveryStatus.SENDING, locked_until__lt=now)
    return due | stale


def delivery_attempt(*, delivery_id: UUID) -> str | None:
    """Claim a due delivery (compare-and-set), send it, record sent / retry / dead.

    Returns the new status, or None when the delivery was not due or another worker holds it.
    """
    now = timezone.now()
    lease = now + timedelta(seconds=settings.NOTIFICATIONS_DELIVERY_LEASE_SECONDS)
    claimed = Delivery.objects.filter(_claimable(now), pk=delivery_id).update(
        status=DeliveryStatus.SENDING, locked_until=lease, attempts=F("attempts") + 1, last_attempt_at=now
    )
    if not claimed:
        return None
    delivery = Delivery.objects.select_related("notification").get(pk=delivery_id)
    started = time.monotonic()
    try:
        SENDERS[delivery.channel](delivery)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded and retried
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if delivery.attempts >= settings.NOTIFICATIONS_MAX_ATTEMPTS:
            outcome = {"status": DeliveryStatus.DEAD}
        else:
            next_at = timezone.now() + timedelta(seconds=retry_delay(delivery.attempts))
            outcome = {"status": DeliveryStatus.RETRY, "next_attempt_at": next_at}
        outcome["last_error"] = error
        logger.warning("notifications: delivery %s failed (%s): %s", delivery_id, outcome["status"], error)
    else:
        outcome = {"status": DeliveryStatus.SENT, "sent_at": timezone.now(), "last_error": ""}
    duration_ms = int((time.monotonic() - started) * 1000)
    # Only the holder of this lease may record the outcome.
    Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.SENDING, locked_until=lease).update(
        locked_until=None, last_duration_ms=duration_ms, **outcome
    )
    DELIVERY_ATTEMPTS.labels(delivery.channel, outcome["status"]).inc()
    return outcome["status"]


def deliveries_sweep(*, limit: int = 500) -> int:
    """Re-enqueue retries that are due, pending rows the fast path missed, and stale claims."""
    now = timezone.now()
    missed = now - timedelta(seconds=settings.NOTIFICATIONS_SWEEP_GRACE_SECONDS)
    due = (
        Q(status=DeliveryStatus.RETRY, next_attempt_at__lte=now)
        | Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=missed)
        | Q(status=DeliveryStatus.SENDING, locked_until__lt=now)
    )
    db = notifications_db()
    with transaction.atomic(using=db):
        ids = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(due)
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )
    _enqueue_deliveries(ids)
    return len(ids)


def deliveries_replay(*, delivery_ids: Iterable[UUID]) -> int:
    """Give dead deliveries a fresh set of attempts (staff action)."""
    db = notifications_db()
    with transaction.atomic(using=db):
        ids = list(
            Delivery.objects.filter(pk__in=list(delivery_ids), status=DeliveryStatus.DEAD).values_list("pk", flat=True)
        )
        Delivery.objects.filter(pk__in=ids, status=DeliveryStatus.DEAD).update(
            status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=timezone.now(), locked_until=None
        )
        transaction.on_commit(lambda: _enqueue_deliveries(ids), using=db, robust=True)
    return len(ids)


def unsubscribe(*, recipient_id: UUID, event_type: str, channel: str) -> NotificationPreference:
    """One-click unsubscribe: switch one channel of one event type off."""
    return preference_set(recipient_id=recipient_id, event_type=event_type, channel=channel, enabled=False)
