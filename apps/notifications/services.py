"""Writes of the notifications app: ingest, read state, preferences and deliveries.

Every consumer is idempotent (unique constraints + get_or_create / conditional UPDATE), so a
redelivered event or a re-enqueued delivery never produces a second inbox row or email.
"""

import logging
import random
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from celery import current_app
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, router, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.core.exceptions import ApplicationError, Conflict
from apps.notifications import senders
from apps.notifications.email import email_send
from apps.notifications.events import EVENT_TYPES, EXTERNAL_CHANNELS, WEBHOOK_DISABLED, WEBHOOK_TEST, Notice
from apps.notifications.metrics import DELIVERY_ATTEMPTS, NOTIFICATIONS_CREATED
from apps.notifications.models import (
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Device,
    Notification,
    NotificationPreference,
    WebhookEndpoint,
)
from apps.notifications.outbound import retry, signing, ssrf
from apps.notifications.outbound.errors import UnsafeURL
from apps.notifications.selectors import delivery_get, device_get, notification_get, preference_enabled, webhook_get
from apps.notifications.senders import Result, SendResult

logger = logging.getLogger(__name__)

DELIVER_TASK = "notifications.deliver"
MAX_ENDPOINTS = 20
SENDERS = {Channel.EMAIL: email_send}


class CriticalPreference(ApplicationError):
    default_code = "critical_notification"
    default_detail = "This notification is critical and cannot be switched off."


class InvalidWebhookURL(ApplicationError):
    default_code = "invalid_url"
    default_detail = "This URL cannot receive webhooks."


class UnknownEventType(ApplicationError):
    default_code = "unknown_event_type"
    default_detail = "There is no such event type."


class TooManyEndpoints(ApplicationError):
    default_code = "too_many_endpoints"
    default_detail = f"An account can have at most {MAX_ENDPOINTS} webhook endpoints."


class DeliveryNotDead(Conflict):
    default_code = "delivery_not_dead"
    default_detail = "Only dead deliveries can be replayed."


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


def webhook_payload(*, event_id: UUID, event_type: str, timestamp: str, notice: Notice) -> dict:
    """The JSON body a webhook receives: Standard Webhooks' ``{type, timestamp, data}``.

    Only what the recipient's own inbox item shows (ids, score, title, body): never the
    envelope's contact details of other people.
    """
    return {
        "id": str(event_id),
        "type": event_type,
        "timestamp": timestamp,
        "data": {**notice.data, "title": notice.title, "body": notice.body},
    }


def _subscribed(endpoint: WebhookEndpoint, event_type: str) -> bool:
    return not endpoint.event_types or event_type in endpoint.event_types


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
            new_deliveries += _fan_out(
                db=db, envelope=envelope, event_id=event_id, notice=notice, notification=notification
            )
        transaction.on_commit(lambda: _enqueue_deliveries(new_deliveries), using=db, robust=True)
    for notification in created_items:
        NOTIFICATIONS_CREATED.labels(notification.type).inc()
    return created_items


def _fan_out(*, db: str, envelope: dict, event_id: UUID, notice: Notice, notification: Notification) -> list[UUID]:
    """Webhook deliveries (one per subscribed endpoint) and push deliveries (one per device).

    One push delivery per device rather than per recipient: a device whose token is gone is
    removed without touching the others, and a retry never re-sends to devices that got it.
    """
    event_type = envelope["type"]
    created_ids = []
    endpoints = WebhookEndpoint.objects.using(db).filter(recipient_id=notice.recipient_id, enabled=True)
    for endpoint in endpoints:
        if not _subscribed(endpoint, event_type):
            continue
        payload = webhook_payload(
            event_id=event_id,
            event_type=event_type,
            timestamp=envelope.get("occurred_at") or timezone.now().isoformat(),
            notice=notice,
        )
        delivery, created = Delivery.objects.using(db).get_or_create(
            event_id=event_id,
            endpoint=endpoint,
            defaults={
                "notification": notification,
                "recipient_id": notice.recipient_id,
                "channel": Channel.WEBHOOK,
                "address": endpoint.url,
                "payload": payload,
            },
        )
        if created:
            created_ids.append(delivery.pk)
    devices = list(Device.objects.using(db).filter(recipient_id=notice.recipient_id))
    if devices and preference_enabled(recipient_id=notice.recipient_id, event_type=event_type, channel=Channel.PUSH):
        for device in devices:
            delivery, created = Delivery.objects.using(db).get_or_create(
                event_id=event_id,
                device=device,
                defaults={
                    "notification": notification,
                    "recipient_id": notice.recipient_id,
                    "channel": Channel.PUSH,
                    "address": device.token,
                },
            )
            if created:
                created_ids.append(delivery.pk)
    return created_ids


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


def _send(delivery: Delivery) -> SendResult:
    if delivery.channel == Channel.WEBHOOK:
        return senders.webhook_send(delivery)
    if delivery.channel == Channel.PUSH:
        return senders.push_send(delivery)
    providers = senders.providers_for(Channel.EMAIL)
    if providers:
        return senders.email_send_with_fallback(delivery, providers)
    # No email provider configured: the EMAIL_URL backend, as before providers existed.
    started = time.monotonic()
    try:
        SENDERS[delivery.channel](delivery)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded and retried
        error = f"{type(exc).__name__}: {exc}"[:2000]
        line = senders.AttemptLine(target="EMAIL_URL", outcome="retry", error=error, duration_ms=_ms(started))
        return SendResult(result=Result.RETRY, error=error, lines=[line])
    return SendResult(result=Result.SENT, lines=[senders.AttemptLine(target="EMAIL_URL", outcome="sent")])


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _retry_outcome(delivery: Delivery, sent: SendResult, now: datetime) -> dict:
    if delivery.channel == Channel.EMAIL:
        # Email keeps its own (shorter) schedule, NOTIFICATIONS_RETRY_*.
        if delivery.attempts >= settings.NOTIFICATIONS_MAX_ATTEMPTS:
            return {"status": DeliveryStatus.DEAD}
        return {
            "status": DeliveryStatus.RETRY,
            "next_attempt_at": now + timedelta(seconds=retry_delay(delivery.attempts)),
        }
    if retry.is_exhausted(attempts=delivery.attempts):
        return {"status": DeliveryStatus.DEAD}
    next_at = retry.next_attempt_at(attempt=delivery.attempts, now=now, retry_after_header=sent.retry_after)
    return {"status": DeliveryStatus.RETRY, "next_attempt_at": next_at}


def _outcome(delivery: Delivery, sent: SendResult) -> dict:
    now = timezone.now()
    common = {"last_error": sent.error[:2000], "response_status": sent.status_code}
    if sent.provider_id:
        common["provider_id"] = sent.provider_id
    if sent.result is Result.SENT:
        return {**common, "status": DeliveryStatus.SENT, "sent_at": now, "last_error": ""}
    if sent.result is Result.SKIPPED:
        # Nothing was sent: give the attempt back and come back when a breaker half-opens.
        next_at = sent.reschedule_at or now + timedelta(seconds=settings.BREAKER_RESET_TIMEOUT)
        return {
            **common,
            "status": DeliveryStatus.RETRY,
            "attempts": F("attempts") - 1,
            "next_attempt_at": max(next_at, now),
        }
    if sent.result in (Result.GONE, Result.FAIL):
        return {**common, "status": DeliveryStatus.DEAD}
    return {**common, **_retry_outcome(delivery, sent, now)}


def delivery_attempt(*, delivery_id: UUID) -> str | None:
    """Claim a due delivery (compare-and-set), send it, record sent / retry / dead.

    Returns the new status, or None when the delivery was not due or another worker holds it.
    A send skipped by open circuit breakers returns ``retry`` without spending an attempt.
    """
    now = timezone.now()
    lease = now + timedelta(seconds=settings.NOTIFICATIONS_DELIVERY_LEASE_SECONDS)
    claimed = Delivery.objects.filter(_claimable(now), pk=delivery_id).update(
        status=DeliveryStatus.SENDING, locked_until=lease, attempts=F("attempts") + 1, last_attempt_at=now
    )
    if not claimed:
        return None
    delivery = Delivery.objects.select_related("notification", "endpoint", "device").get(pk=delivery_id)
    started = time.monotonic()
    sent = _send(delivery)
    duration_ms = _ms(started)
    outcome = _outcome(delivery, sent)
    if sent.result is not Result.SENT:
        logger.warning(
            "notifications: delivery %s %s (%s): %s", delivery_id, sent.result, outcome["status"], sent.error
        )
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(
            delivery_id=delivery.pk,
            number=delivery.attempts,
            provider_id=line.provider_id,
            target=line.target[:300],
            outcome=line.outcome,
            status_code=line.status_code,
            error=line.error,
            duration_ms=line.duration_ms,
        )
        for line in sent.lines
    )
    # Only the holder of this lease may record the outcome.
    recorded = Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.SENDING, locked_until=lease).update(
        locked_until=None, last_duration_ms=duration_ms, **outcome
    )
    if recorded:
        _after_send(delivery, sent)
    DELIVERY_ATTEMPTS.labels(delivery.channel, outcome["status"]).inc()
    return outcome["status"]


def _after_send(delivery: Delivery, sent: SendResult) -> None:
    """What a result means for the endpoint or device beyond this delivery."""
    if delivery.channel == Channel.PUSH and sent.result is Result.GONE and delivery.device_id:
        Device.objects.filter(pk=delivery.device_id).delete()
    if delivery.channel != Channel.WEBHOOK or delivery.endpoint_id is None or sent.result is Result.SKIPPED:
        return
    endpoints = WebhookEndpoint.objects.filter(pk=delivery.endpoint_id)
    if sent.result is Result.SENT:
        endpoints.filter(failing_since__isnull=False).update(failing_since=None)
        return
    if sent.result is Result.GONE:
        webhook_disable(endpoint_id=delivery.endpoint_id, reason="the receiver answered 410 Gone")
        return
    now = timezone.now()
    endpoints.filter(failing_since__isnull=True).update(failing_since=now)
    cutoff = now - timedelta(seconds=settings.WEBHOOK_DISABLE_AFTER)
    if endpoints.filter(enabled=True, failing_since__lte=cutoff).exists():
        webhook_disable(endpoint_id=delivery.endpoint_id, reason="every delivery attempt failed for too long")


def webhook_disable(*, endpoint_id: UUID, reason: str) -> bool:
    """Disable an enabled endpoint and tell its owner in the inbox (a critical notice).

    Returns False when it was already disabled (nothing is sent twice).
    """
    db = notifications_db()
    with transaction.atomic(using=db):
        endpoint = WebhookEndpoint.objects.using(db).select_for_update().filter(pk=endpoint_id, enabled=True).first()
        if endpoint is None:
            return False
        endpoint.enabled = False
        endpoint.disabled_reason = reason[:500]
        endpoint.save(update_fields=["enabled", "disabled_reason"])
        ingest_event(
            envelope={
                "id": str(uuid4()),
                "type": WEBHOOK_DISABLED,
                "version": 1,
                "occurred_at": timezone.now().isoformat(),
                "data": {
                    "recipient_user_id": str(endpoint.recipient_id),
                    "endpoint_id": str(endpoint.pk),
                    "url": endpoint.url,
                    "reason": reason,
                },
            }
        )
    logger.warning("notifications: webhook endpoint %s disabled: %s", endpoint_id, reason)
    return True


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


def _check_webhook_url(url: str) -> None:
    """Syntax and scheme now; names are resolved and checked again at every send."""
    try:
        parsed = ssrf.parse_url(url)
        try:
            ssrf.check_address(parsed.host.strip("[]"))
        except ValueError:
            # A name, not an address literal.
            if parsed.host.lower() == "localhost" or parsed.host.lower().endswith(".localhost"):
                ssrf.check_address("127.0.0.1")
    except UnsafeURL as exc:
        raise InvalidWebhookURL(f"This URL cannot receive webhooks: {exc.reason}.") from None


def webhook_create(*, recipient_id: UUID, url: str, event_types: list[str]) -> WebhookEndpoint:
    """Register an endpoint with a new secret (the caller shows ``endpoint.secret`` once)."""
    _check_webhook_url(url)
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown:
        raise UnknownEventType(f"Unknown event types: {', '.join(unknown)}.")
    db = notifications_db()
    with transaction.atomic(using=db):
        # Locks the owner's endpoints so two concurrent creates cannot both pass the limit.
        owned = list(WebhookEndpoint.objects.select_for_update().filter(recipient_id=recipient_id).values_list("pk"))
        if len(owned) >= MAX_ENDPOINTS:
            raise TooManyEndpoints()
        endpoint = WebhookEndpoint(
            recipient_id=recipient_id,
            url=url,
            event_types=sorted(set(event_types)),
            secret=signing.generate_secret(),
        )
        endpoint.full_clean()
        endpoint.save()
    return endpoint


def webhook_delete(*, recipient_id: UUID, endpoint_id: UUID) -> None:
    """Delete an endpoint; its deliveries stay in the owner's log and are not sent any more."""
    webhook_get(recipient_id=recipient_id, endpoint_id=endpoint_id).delete()


def webhook_rotate_secret(*, recipient_id: UUID, endpoint_id: UUID) -> WebhookEndpoint:
    """New secret now; the old one keeps signing too for WEBHOOK_SECRET_GRACE seconds."""
    db = notifications_db()
    with transaction.atomic(using=db):
        webhook_get(recipient_id=recipient_id, endpoint_id=endpoint_id)
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = timezone.now() + timedelta(seconds=settings.WEBHOOK_SECRET_GRACE)
        endpoint.secret = signing.generate_secret()
        endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    return endpoint


def webhook_test(*, recipient_id: UUID, endpoint_id: UUID) -> Delivery:
    """Send a ``webhook.test`` event to one endpoint now, through the ordinary delivery path."""
    endpoint = webhook_get(recipient_id=recipient_id, endpoint_id=endpoint_id)
    event_id = uuid4()
    db = notifications_db()
    with transaction.atomic(using=db):
        delivery = Delivery.objects.create(
            event_id=event_id,
            recipient_id=recipient_id,
            channel=Channel.WEBHOOK,
            endpoint=endpoint,
            address=endpoint.url,
            payload={
                "id": str(event_id),
                "type": WEBHOOK_TEST,
                "timestamp": timezone.now().isoformat(),
                "data": {"endpoint_id": str(endpoint.pk), "title": "Test event", "body": "It works."},
            },
        )
        transaction.on_commit(lambda: _enqueue_deliveries([delivery.pk]), using=db, robust=True)
    return delivery


def webhook_recover(*, recipient_id: UUID, endpoint_id: UUID, since: datetime) -> int:
    """Re-enable the endpoint and re-send its dead deliveries created since ``since``."""
    endpoint = webhook_get(recipient_id=recipient_id, endpoint_id=endpoint_id)
    db = notifications_db()
    with transaction.atomic(using=db):
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=True, disabled_reason="", failing_since=None)
        ids = Delivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.DEAD, created_at__gte=since).values_list(
            "pk", flat=True
        )
        return deliveries_replay(delivery_ids=list(ids))


def delivery_replay(*, recipient_id: UUID, delivery_id: UUID) -> Delivery:
    """The owner replays one of their dead deliveries."""
    delivery = delivery_get(recipient_id=recipient_id, delivery_id=delivery_id)
    if not deliveries_replay(delivery_ids=[delivery.pk]):
        raise DeliveryNotDead()
    delivery.refresh_from_db()
    return delivery


def device_register(*, recipient_id: UUID, token: str, platform: str) -> tuple[Device, bool]:
    """Register (or refresh) a device; a token belongs to its latest registrant only."""
    db = notifications_db()
    with transaction.atomic(using=db):
        # A phone that changed hands must not keep receiving the previous user's pushes.
        Device.objects.filter(token=token).exclude(recipient_id=recipient_id).delete()
        device, created = Device.objects.update_or_create(
            recipient_id=recipient_id, token=token, defaults={"platform": platform}
        )
    return device, created


def device_delete(*, recipient_id: UUID, device_id: UUID) -> None:
    device_get(recipient_id=recipient_id, device_id=device_id).delete()
