"""The webhook channel: signed POSTs (Standard Webhooks), one breaker and one slot per host.

Connections are kept alive per host by ``outbound.http``; the SSRF check still runs on every
request. The breaker decides before a send and records after it, so a slow host never holds
a lock that another host's deliveries need.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from datetime import datetime
from urllib.parse import urlsplit

from django.utils import timezone

from apps.notifications.delivery.channels.base import AttemptLine, Result, SendResult, elapsed_ms
from apps.notifications.delivery.channels.webhook import signing
from apps.notifications.models import Channel, Delivery, WebhookEndpoint
from apps.notifications.outbound import breakers, http, retry
from apps.notifications.outbound.errors import ConnectFailed, DeadlineExceeded, ResolutionFailed
from apps.notifications.outbound.retry import Outcome

_RESULTS = {
    Outcome.SENT: Result.SENT,
    Outcome.RETRY: Result.RETRY,
    Outcome.GONE: Result.GONE,
    Outcome.DEAD: Result.DEAD,
}
# Failures that say nothing reached the host: the next delivery to it would wait as long.
_UNREACHABLE = (ConnectFailed, DeadlineExceeded, ResolutionFailed)


def endpoint_secrets(endpoint: WebhookEndpoint, *, now: datetime | None = None) -> list[str]:
    """The current secret, plus the previous one while its rotation grace lasts."""
    now = now or timezone.now()
    secrets = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now:
        secrets.append(endpoint.previous_secret)
    return secrets


class WebhookSession:
    def __init__(self) -> None:
        self.gate = breakers.Gate()

    def send(self, delivery: Delivery) -> SendResult:
        endpoint = delivery.endpoint
        if endpoint is None:
            return SendResult(result=Result.DEAD, error="the webhook endpoint was deleted")
        if not endpoint.enabled:
            return SendResult(result=Result.DEAD, error=f"the webhook endpoint is disabled: {endpoint.disabled_reason}")
        key = breakers.host_key(endpoint.url)
        target = (urlsplit(endpoint.url).hostname or endpoint.url)[:300]
        if not self.gate.allow(key):
            return SendResult(
                result=Result.SKIPPED,
                error=f"circuit breaker open for {target}",
                reschedule_at=breakers.reopens_at(key),
                lines=[AttemptLine(target=target, outcome="skipped_open", error="circuit breaker open")],
            )
        body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
        started = time.monotonic()
        result: http.OutboundResponse | BaseException
        try:
            headers = signing.webhook_headers(
                msg_id=str(delivery.event_id), timestamp=int(time.time()), body=body, secrets=endpoint_secrets(endpoint)
            )
            result = http.post(endpoint.url, body=body, headers=headers)
        except Exception as exc:  # noqa: BLE001 - classified below; the database keeps the delivery
            result = exc
        duration = elapsed_ms(started)
        outcome = _RESULTS[retry.classify(result)]
        # Any answer proves the host works; only transient failures count against it, and a
        # message refused before sending says nothing about the host.
        self.gate.record_result(key, result)
        error = retry.describe(result)
        response = result if isinstance(result, http.OutboundResponse) else None
        status = response.status if response else None
        line = AttemptLine(target=target, outcome=outcome.value, status_code=status, error=error, duration_ms=duration)
        return SendResult(
            result=outcome,
            error=error,
            status_code=status,
            retry_after=response.header("retry-after") if response else None,
            lines=[line],
            destination_down=isinstance(result, _UNREACHABLE),
        )


class WebhookChannel:
    channel = Channel.WEBHOOK

    def destination(self, delivery: Delivery) -> str:
        return breakers.host_key(delivery.address)

    @contextlib.contextmanager
    def session(self) -> Iterator[WebhookSession]:
        yield WebhookSession()
