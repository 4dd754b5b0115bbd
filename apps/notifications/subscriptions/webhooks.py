"""Webhook endpoints: registration, secrets, test sends, health and recovery."""

import logging
import re
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
from apps.notifications.delivery.engine import deliveries_enqueue
from apps.notifications.events import EVENT_TYPES, WEBHOOK_TEST
from apps.notifications.models import Channel, Delivery, DeliveryStatus, WebhookEndpoint
from apps.notifications.outbound import breakers, ssrf
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


class InvalidHeaders(ApplicationError):
    default_code = "invalid_headers"
    default_detail = "These headers cannot be sent with webhooks."


MAX_HEADERS = 20
# Headers a receiver may not choose: the hop-by-hop ones (RFC 9110 §7.6.1) and those the
# transport sets (Host, Content-Length, ...), credentials a proxy or the receiver would take as
# ours, and the Standard Webhooks headers the signature is made of (a receiver must be able to
# trust that the signature is ours).
DENIED_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "content-type",
        "content-encoding",
        "expect",
        "authorization",
        "cookie",
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "traceparent",
        "tracestate",
    }
)
# An HTTP token (RFC 9110 §5.6.2) for the name; a value without control characters.
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")
_HEADER_VALUE = re.compile(r"^[\t\x20-\x7e\x80-\xff]{0,1000}$")


def _checked_headers(headers: dict[str, str]) -> dict[str, str]:
    """The custom headers as they will be sent (names lower-cased), or a 400 naming the bad ones."""
    if len(headers) > MAX_HEADERS:
        raise InvalidHeaders(f"At most {MAX_HEADERS} custom headers.")
    checked: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        if not _HEADER_NAME.match(name) or not isinstance(value, str) or not _HEADER_VALUE.match(value):
            raise InvalidHeaders(f"Header {name!r} is not a valid HTTP header.")
        if key in DENIED_HEADERS or key.startswith("webhook-"):
            raise InvalidHeaders(f"Header {name!r} is set by the delivery itself and cannot be chosen.")
        if key in checked:
            raise InvalidHeaders(f"Header {name!r} is given twice.")
        checked[key] = value.strip()
    return checked


def _checked_event_types(event_types: list[str]) -> list[str]:
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown:
        raise UnknownEventType(f"Unknown event types: {', '.join(unknown)}.")
    return sorted(set(event_types))


def _checked_url(url: str) -> str:
    """The URL as it will be requested (non-ASCII percent-encoded, IDNA host), or a 400.

    ``normalize_url`` applies the URL validator and the SSRF rules that need no DNS; names are
    resolved and checked again at every send.
    """
    try:
        return ssrf.normalize_url(url)
    except UnsafeURL as exc:
        raise InvalidWebhookURL(f"This URL cannot receive webhooks: {exc.reason}.") from None


def webhook_create(
    *,
    recipient_id: UUID,
    url: str,
    event_types: list[str],
    description: str = "",
    rate_per_second: int | None = None,
    headers: dict[str, str] | None = None,
) -> WebhookEndpoint:
    """Register an endpoint with a new secret (the caller shows ``endpoint.secret`` once)."""
    url = _checked_url(url)
    event_types = _checked_event_types(event_types)
    headers = _checked_headers(headers or {})
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
            event_types=event_types,
            description=description,
            rate_per_second=rate_per_second,
            headers=headers,
            secret=signing.generate_secret(),
        )
        try:
            endpoint.full_clean()
        except ValidationError as exc:
            raise InvalidWebhookURL(f"This URL cannot receive webhooks: {'; '.join(exc.messages)}") from None
        endpoint.save()
    return endpoint


_UPDATABLE = ("url", "description", "event_types", "enabled", "rate_per_second", "headers")


def webhook_update(*, recipient_id: UUID, endpoint_id: UUID, **changes) -> WebhookEndpoint:
    """Change what was sent of ``_UPDATABLE`` (PATCH semantics): a new URL passes the same checks
    as at creation; ``headers`` replaces the whole set. Enabling clears the failure run, as a
    recovery does, so a re-enabled endpoint is not disabled again by its old failures."""
    unknown = set(changes) - set(_UPDATABLE)
    if unknown:
        raise TypeError(f"webhook_update() got unexpected fields: {sorted(unknown)}")
    if "url" in changes:
        changes["url"] = _checked_url(changes["url"])
    if "event_types" in changes:
        changes["event_types"] = _checked_event_types(changes["event_types"])
    if "headers" in changes:
        changes["headers"] = _checked_headers(changes["headers"])
    db = notifications_db()
    with transaction.atomic(using=db):
        webhook_get(recipient_id=recipient_id, endpoint_id=endpoint_id)
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
        fields = list(changes)
        for name, value in changes.items():
            setattr(endpoint, name, value)
        if changes.get("enabled") is True:
            endpoint.disabled_reason = ""
            endpoint.failing_since = None
            fields += ["disabled_reason", "failing_since"]
        if not fields:
            return endpoint
        if "url" in changes:
            try:
                endpoint.clean_fields(exclude=[f.name for f in WebhookEndpoint._meta.fields if f.name != "url"])
            except ValidationError as exc:
                raise InvalidWebhookURL(f"This URL cannot receive webhooks: {'; '.join(exc.messages)}") from None
        endpoint.save(update_fields=fields)
    return endpoint


def webhook_delete(*, recipient_id: UUID, endpoint_id: UUID) -> None:
    """Delete an endpoint; its deliveries stay in the owner's log and are not sent any more.
    Its breaker's keys in Redis go once the deletion is committed."""
    db = notifications_db()
    with transaction.atomic(using=db):
        webhook_get(recipient_id=recipient_id, endpoint_id=endpoint_id).delete()
        endpoint_breakers_forget([endpoint_id], using=db)


def endpoint_breakers_forget(endpoint_ids: Iterable[UUID], *, using: str) -> None:
    """After the current transaction commits, drop the breakers of deleted endpoints."""
    keys = [breakers.endpoint_key(endpoint_id) for endpoint_id in endpoint_ids]
    if keys:
        transaction.on_commit(lambda: [breakers.forget(key) for key in keys], using=using)


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
    """Re-enable the endpoint and re-send its failed deliveries created since ``since``, oldest first.

    Failed: dead, or waiting for a retry (each with a fresh attempt budget, due now). They are
    made due a microsecond apart in the order they were created, and the engine claims and sends
    a batch in that order, so the receiver gets them in event order. Idempotent: a second call
    finds them pending (or sent) and queues nothing again; the rows are locked, so two calls at
    once cannot both queue one.
    """
    endpoint = webhook_get(recipient_id=recipient_id, endpoint_id=endpoint_id)
    db = notifications_db()
    with transaction.atomic(using=db):
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=True, disabled_reason="", failing_since=None)
        rows = list(
            Delivery.objects.using(db)
            .select_for_update()
            .filter(
                endpoint=endpoint,
                status__in=[DeliveryStatus.DEAD, DeliveryStatus.RETRY],
                created_at__gte=since,
            )
            .order_by("created_at", "id")
            .only("pk", "channel", "address", "endpoint_id", "created_at")
        )
        now = timezone.now()
        for position, row in enumerate(rows):
            row.status, row.attempts, row.locked_until = DeliveryStatus.PENDING, 0, None
            row.next_attempt_at = now + timedelta(microseconds=position)
        Delivery.objects.using(db).bulk_update(
            rows, ["status", "attempts", "next_attempt_at", "locked_until"], batch_size=500
        )
        transaction.on_commit(lambda: deliveries_enqueue(deliveries=rows), using=db, robust=True)
    return len(rows)


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
