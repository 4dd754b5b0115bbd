"""Webhook endpoints: registration, secrets, test sends, health and recovery."""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.core import tracing
from apps.core.exceptions import ApplicationError
from apps.core.middleware import get_request_id
from apps.notifications.db import notifications_db
from apps.notifications.delivery.channels.base import Result
from apps.notifications.delivery.channels.webhook import signing
from apps.notifications.delivery.engine import deliveries_enqueue, deliveries_replay
from apps.notifications.events import EVENT_TYPES, WEBHOOK_TEST
from apps.notifications.models import Channel, Delivery, DeliveryStatus, WebhookEndpoint
from apps.notifications.outbound import ssrf
from apps.notifications.outbound.errors import UnsafeURL
from apps.notifications.selectors import webhook_get

logger = logging.getLogger(__name__)

MAX_ENDPOINTS = 20


class InvalidWebhookURL(ApplicationError):
    default_code = "invalid_url"
    default_detail = "This URL cannot receive webhooks."


class UnknownEventType(ApplicationError):
    default_code = "unknown_event_type"
    default_detail = "There is no such event type."


class TooManyEndpoints(ApplicationError):
    default_code = "too_many_endpoints"
    default_detail = f"An account can have at most {MAX_ENDPOINTS} webhook endpoints."


def _checked_url(url: str) -> str:
    """The URL as it will be requested (non-ASCII percent-encoded, IDNA host), or a 400.

    ``normalize_url`` applies the URL validator and the SSRF rules that need no DNS; names are
    resolved and checked again at every send.
    """
    try:
        return ssrf.normalize_url(url)
    except UnsafeURL as exc:
        raise InvalidWebhookURL(f"This URL cannot receive webhooks: {exc.reason}.") from None


def webhook_create(*, recipient_id: UUID, url: str, event_types: list[str]) -> WebhookEndpoint:
    """Register an endpoint with a new secret (the caller shows ``endpoint.secret`` once)."""
    url = _checked_url(url)
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown:
        raise UnknownEventType(f"Unknown event types: {', '.join(unknown)}.")
    db = notifications_db()
    with transaction.atomic(using=db):
        # Locks the owner's endpoints so two concurrent creates cannot both pass the limit. The
        # count is a second statement: under READ COMMITTED the locking one keeps the snapshot it
        # started with, which misses an endpoint inserted by the transaction it waited on.
        list(WebhookEndpoint.objects.select_for_update().filter(recipient_id=recipient_id).values_list("pk"))
        if WebhookEndpoint.objects.filter(recipient_id=recipient_id).count() >= MAX_ENDPOINTS:
            raise TooManyEndpoints()
        endpoint = WebhookEndpoint(
            recipient_id=recipient_id,
            url=url,
            event_types=sorted(set(event_types)),
            secret=signing.generate_secret(),
        )
        try:
            endpoint.full_clean()
        except ValidationError as exc:
            raise InvalidWebhookURL(f"This URL cannot receive webhooks: {'; '.join(exc.messages)}") from None
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
            request_id=get_request_id() or "",
            payload={
                "id": str(event_id),
                "type": WEBHOOK_TEST,
                "timestamp": timezone.now().isoformat(),
                "data": {"endpoint_id": str(endpoint.pk), "title": "Test event", "body": "It works."},
            },
            event_at=timezone.now(),
            # The send continues the trace of the request that asked for it.
            trace=tracing.current_carrier(),
        )
        transaction.on_commit(lambda: deliveries_enqueue(deliveries=[delivery]), using=db, robust=True)
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


@dataclass(frozen=True)
class Disabled:
    """An endpoint just disabled, and why: its owner is to be told (a critical notice)."""

    endpoint_id: UUID
    recipient_id: UUID
    url: str
    reason: str


def webhook_disable(*, endpoint_id: UUID, reason: str) -> Disabled | None:
    """Disable an enabled endpoint; None when it was already disabled (nothing to tell twice).

    Telling its owner is the intake's (``intake.outcomes``), in the caller's transaction.
    """
    db = notifications_db()
    with transaction.atomic(using=db):
        endpoint = WebhookEndpoint.objects.using(db).select_for_update().filter(pk=endpoint_id, enabled=True).first()
        if endpoint is None:
            return None
        endpoint.enabled = False
        endpoint.disabled_reason = reason[:500]
        endpoint.save(update_fields=["enabled", "disabled_reason"])
    logger.warning("notifications: webhook endpoint %s disabled: %s", endpoint_id, reason)
    return Disabled(endpoint_id=endpoint.pk, recipient_id=endpoint.recipient_id, url=endpoint.url, reason=reason)


def endpoints_health_record(results: Iterable[tuple[UUID, Result]]) -> list[Disabled]:
    """Track each endpoint's run of failures; disable one that is gone or failed for too long.

    A success clears the run. A permanent failure of one message says nothing about the
    endpoint, so it neither starts nor ends a run. Returns the endpoints it disabled.
    """
    latest: dict[UUID, Result] = {}
    for endpoint_id, result in results:
        # Within one group a success wins: the endpoint answered.
        if latest.get(endpoint_id) is not Result.SENT:
            latest[endpoint_id] = result
    if not latest:
        return []
    ok = [pk for pk, result in latest.items() if result is Result.SENT]
    if ok:
        WebhookEndpoint.objects.filter(pk__in=ok, failing_since__isnull=False).update(failing_since=None)
    disabled = [
        webhook_disable(endpoint_id=pk, reason="the receiver answered 410 Gone")
        for pk, result in latest.items()
        if result is Result.GONE
    ]
    failing = [pk for pk, result in latest.items() if result is Result.RETRY]
    if not failing:
        return [d for d in disabled if d is not None]
    now = timezone.now()
    WebhookEndpoint.objects.filter(pk__in=failing, failing_since__isnull=True).update(failing_since=now)
    cutoff = now - timedelta(seconds=settings.WEBHOOK_DISABLE_AFTER)
    for pk in WebhookEndpoint.objects.filter(pk__in=failing, enabled=True, failing_since__lte=cutoff).values_list(
        "pk", flat=True
    ):
        disabled.append(webhook_disable(endpoint_id=pk, reason="every delivery attempt failed for too long"))
    return [d for d in disabled if d is not None]
