"""One send of one delivery over its channel, reported as a ``SendResult``.

Senders make the request(s) and say what happened; ``services.delivery_attempt`` records it
(status, retry time, attempt log, endpoint/device consequences). They build on the outbound
building blocks: SSRF-checked HTTP, Standard Webhooks signing, per-host/per-provider breakers
and the provider fallback.
"""

from __future__ import annotations

import enum
import json
import smtplib
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.mail import get_connection
from django.utils import timezone

from apps.notifications.email import email_message
from apps.notifications.models import Channel, Delivery, DeliveryProvider, WebhookEndpoint
from apps.notifications.outbound import breakers, http, limits, push, retry, signing
from apps.notifications.outbound.retry import Outcome


class Result(enum.StrEnum):
    SENT = "sent"
    RETRY = "retry"
    GONE = "gone"
    FAIL = "fail"
    # Nothing was sent (breakers open, host at its concurrency limit): reschedule without
    # spending an attempt.
    SKIPPED = "skipped"


# A send that found its host at OUTBOUND_HOST_CONCURRENCY comes back after about this long.
HOST_BUSY_RETRY_SECONDS = 1.0
# Margin of a concurrency slot over the send's own deadline: the slot only lapses if its
# worker died without releasing it.
SLOT_TTL_MARGIN_SECONDS = 5.0


@dataclass(frozen=True, kw_only=True)
class AttemptLine:
    target: str
    outcome: str
    provider_id: str | None = None
    status_code: int | None = None
    error: str = ""
    duration_ms: int | None = None


@dataclass(kw_only=True)
class SendResult:
    result: Result
    error: str = ""
    status_code: int | None = None
    retry_after: str | None = None
    reschedule_at: datetime | None = None
    provider_id: str | None = None
    lines: list[AttemptLine] = field(default_factory=list)


def endpoint_secrets(endpoint: WebhookEndpoint, *, now: datetime | None = None) -> list[str]:
    """The current secret, plus the previous one while its rotation grace lasts."""
    now = now or timezone.now()
    secrets = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now:
        secrets.append(endpoint.previous_secret)
    return secrets


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def webhook_send(delivery: Delivery) -> SendResult:
    """POST the delivery's payload to its endpoint, signed, if the host's breaker allows it and
    one of its concurrency slots is free; the breaker records the outcome afterwards."""
    endpoint = delivery.endpoint
    if endpoint is None:
        return SendResult(result=Result.FAIL, error="the webhook endpoint was deleted")
    if not endpoint.enabled:
        return SendResult(result=Result.FAIL, error=f"the webhook endpoint is disabled: {endpoint.disabled_reason}")
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    headers = signing.webhook_headers(
        msg_id=str(delivery.event_id), timestamp=int(time.time()), body=body, secrets=endpoint_secrets(endpoint)
    )
    key = breakers.host_key(endpoint.url)
    target = urlsplit(endpoint.url).hostname or endpoint.url
    if not breakers.allow(key):
        return SendResult(
            result=Result.SKIPPED,
            error=f"circuit breaker open for {target}",
            reschedule_at=breakers.reopens_at(key),
            lines=[AttemptLine(target=target, outcome="skipped_open", error="circuit breaker open")],
        )
    slot = limits.acquire(
        key,
        limit=settings.OUTBOUND_HOST_CONCURRENCY,
        ttl=settings.OUTBOUND_TOTAL_TIMEOUT + SLOT_TTL_MARGIN_SECONDS,
    )
    if slot is None:
        # Allowed by the breaker but not sent: a trial claim lapses by itself (one reset timeout).
        return SendResult(
            result=Result.SKIPPED,
            error=f"{target} already has {settings.OUTBOUND_HOST_CONCURRENCY} sends in flight",
            reschedule_at=timezone.now() + timedelta(seconds=HOST_BUSY_RETRY_SECONDS),
            lines=[AttemptLine(target=target, outcome="skipped_busy", error="host concurrency limit reached")],
        )
    started = time.monotonic()
    result: http.OutboundResponse | BaseException
    try:
        result = http.post(endpoint.url, body=body, headers=headers)
    except Exception as exc:  # noqa: BLE001 - classified below; the database keeps the delivery
        result = exc
    finally:
        limits.release(key, slot)
    breakers.record_result(key, result)
    duration = _ms(started)
    outcome = retry.classify(result)
    error = retry.describe(result)
    status = result.status if isinstance(result, http.OutboundResponse) else None
    retry_after = result.header("retry-after") if isinstance(result, http.OutboundResponse) else None
    mapped = {
        Outcome.SENT: Result.SENT,
        Outcome.RETRY: Result.RETRY,
        Outcome.GONE: Result.GONE,
        Outcome.DEAD: Result.FAIL,
    }[outcome]
    line = AttemptLine(target=target, outcome=mapped.value, status_code=status, error=error, duration_ms=duration)
    return SendResult(result=mapped, error=error, status_code=status, retry_after=retry_after, lines=[line])


def _provider(row: DeliveryProvider) -> push.Provider:
    # http_push takes the bearer token; smtp reads its JSON object back (``_smtp_send``).
    credentials = row.credentials or {}
    credential = (
        credentials.get("token", "") if row.kind == DeliveryProvider.Kind.HTTP_PUSH else json.dumps(credentials)
    )
    return push.Provider(
        id=str(row.pk),
        name=row.name,
        kind=row.kind,
        endpoint=row.endpoint,
        credential=credential,
        priority=row.priority,
        enabled=row.enabled,
    )


def providers_for(channel: str) -> list[push.Provider]:
    return [_provider(row) for row in DeliveryProvider.objects.filter(channel=channel, enabled=True)]


def _lines(attempts: list[push.ProviderAttempt]) -> list[AttemptLine]:
    return [
        AttemptLine(target=a.provider_name, outcome=a.outcome, provider_id=a.provider_id, error=a.detail[:2000])
        for a in attempts
    ]


def _reopens_at(attempts: list[push.ProviderAttempt]) -> datetime | None:
    times = [breakers.reopens_at(breakers.provider_key(a.provider_id)) for a in attempts]
    known = [t for t in times if t is not None]
    return min(known) if known else None


def _with_fallback(providers: list[push.Provider], message: object) -> SendResult:
    started = time.monotonic()
    try:
        sent = push.deliver_with_fallback(providers=providers, message=message)
    except push.DeviceGone as exc:
        name = next((p.name for p in providers if p.id == exc.provider_id), exc.provider_id)
        line = AttemptLine(target=name, outcome="gone", provider_id=exc.provider_id, duration_ms=_ms(started))
        return SendResult(result=Result.GONE, error=str(exc), provider_id=exc.provider_id, lines=[line])
    except push.AllProvidersOpen as exc:
        return SendResult(
            result=Result.SKIPPED, error=str(exc), reschedule_at=_reopens_at(exc.attempts), lines=_lines(exc.attempts)
        )
    except push.AllProvidersFailed as exc:
        result = Result.FAIL if exc.permanent else Result.RETRY
        return SendResult(result=result, error=str(exc)[:2000], lines=_lines(exc.attempts))
    lines = _lines(sent.attempts)
    if lines:
        last = lines[-1]
        lines[-1] = AttemptLine(**{**vars(last), "duration_ms": _ms(started)})
    return SendResult(result=Result.SENT, provider_id=sent.provider.id, lines=lines)


def push_send(delivery: Delivery) -> SendResult:
    """Send the delivery's notification to its device through the push providers, in order."""
    device = delivery.device
    if device is None:
        return SendResult(result=Result.FAIL, error="the device was removed")
    notification = delivery.notification
    message = push.PushMessage(
        message_id=f"{delivery.event_id}.{device.pk}",
        token=device.token,
        platform=device.platform,
        title=notification.title if notification else "",
        body=notification.body if notification else "",
        data={"type": notification.type, **notification.data} if notification else {},
    )
    return _with_fallback(providers_for(Channel.PUSH), message)


def email_send_with_fallback(delivery: Delivery, providers: list[push.Provider]) -> SendResult:
    return _with_fallback(providers, delivery)


def _smtp_send(*, provider: push.Provider, message: Delivery) -> str:
    """Send the delivery's email through one SMTP relay: ``smtp[s|+tls]://host:port``."""
    parts = urlsplit(provider.endpoint)
    credentials = json.loads(provider.credential or "{}")
    use_ssl = parts.scheme == "smtps"
    connection = get_connection(
        "django.core.mail.backends.smtp.EmailBackend",
        host=parts.hostname,
        port=parts.port or (465 if use_ssl else 25),
        username=credentials.get("username") or unquote(parts.username or ""),
        password=credentials.get("password") or unquote(parts.password or ""),
        use_tls=parts.scheme == "smtp+tls",
        use_ssl=use_ssl,
        timeout=settings.EMAIL_TIMEOUT,
        fail_silently=False,
    )
    try:
        with connection:
            connection.send_messages([email_message(message)])
    except (smtplib.SMTPException, OSError) as exc:
        raise push.ProviderFailed(f"{type(exc).__name__}: {exc}") from exc
    return "accepted"


push.register_sender(DeliveryProvider.Kind.SMTP, _smtp_send)
