"""The webhook channel: signed POSTs (Standard Webhooks), breakers per endpoint and per origin.

Deliveries are grouped per endpoint (``destination``), and take their origin's concurrency
slots within the endpoint's fair share (``outbound.limits``). ``outbound.health`` decides which
breaker a failure counts against: the endpoint's (timeouts, HTTP errors) or the origin's
(refused, reset, TLS, DNS), so one tenant's failing endpoint never holds another's on the
same host. Connections are kept alive per host by ``outbound.http``; the SSRF check still runs
on every request. The breakers decide before a send and record after it, so a slow endpoint
never holds a lock that another's deliveries need.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from apps.notifications.delivery.channels.base import RESPONSE_EXCERPT, AttemptLine, Result, SendResult, elapsed_ms
from apps.notifications.delivery.channels.webhook import signing
from apps.notifications.models import Channel, Delivery, WebhookEndpoint
from apps.notifications.outbound import breakers, health, http, limits, rates, retry
from apps.notifications.outbound.errors import ConnectFailed, DeadlineExceeded, ResolutionFailed
from apps.notifications.outbound.retry import Outcome

_RESULTS = {
    Outcome.SENT: Result.SENT,
    Outcome.RETRY: Result.RETRY,
    Outcome.GONE: Result.GONE,
    Outcome.DEAD: Result.DEAD,
}
# Failures that say the endpoint did not answer: its next delivery would wait as long.
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
        self.health = health.WebhookHealth()
        # The engine reads ``gate.healed`` to release what waited for a healed breaker.
        self.gate = self.health.gate
        # Endpoint → when its rate lets the next send go, once one of this group was put back:
        # the rest of the group follows it, in order, without asking Redis again.
        self.paced: dict = {}

    def _over_rate(self, endpoint: WebhookEndpoint) -> SendResult | None:
        """A put-back (due when the endpoint's rate allows) if this send would exceed it; None
        to send now. Never sleeps: the worker goes on with the other endpoints."""
        if not endpoint.rate_per_second:
            return None
        due = self.paced.get(endpoint.pk)
        if due is None:
            wait = rates.take(breakers.endpoint_key(endpoint.pk), rate=endpoint.rate_per_second)
            if not wait:
                return None
            due = self.paced[endpoint.pk] = timezone.now() + timedelta(seconds=wait)
        return SendResult(
            result=Result.SKIPPED,
            error=f"held back by the endpoint's rate ({endpoint.rate_per_second}/s)",
            reschedule_at=due,
            requeue=True,
        )

    def send(self, delivery: Delivery) -> SendResult:
        endpoint = delivery.endpoint
        if endpoint is None:
            return SendResult(result=Result.DEAD, error="the webhook endpoint was deleted")
        if not endpoint.enabled:
            return SendResult(result=Result.DEAD, error=f"the webhook endpoint is disabled: {endpoint.disabled_reason}")
        origin = breakers.origin_key(endpoint.url)
        own = breakers.endpoint_key(endpoint.pk)
        target = (urlsplit(endpoint.url).hostname or endpoint.url)[:300]
        # Before the breakers: a put-back must not hold a half-open trial it never makes.
        paced = self._over_rate(endpoint)
        if paced is not None:
            return paced
        held = self.health.admit(origin=origin, endpoint=own)
        if held is not None:
            whose = "the endpoint" if held == own else origin.removeprefix("origin:")
            until = breakers.retry_at(held)
            return SendResult(
                result=Result.SKIPPED,
                error=f"circuit breaker open for {whose}",
                reschedule_at=until,
                lines=[AttemptLine(target=target, outcome="skipped_open", error="circuit breaker open")],
                requeue=breakers.come_back_once(held, at=until),
            )
        body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
        started = time.monotonic()
        result: http.OutboundResponse | BaseException
        try:
            # The owner's custom headers first: the signature's own (and the transport's, which
            # the update refuses anyway) always win.
            headers = {
                **(endpoint.headers or {}),
                **signing.webhook_headers(
                    msg_id=str(delivery.event_id),
                    timestamp=int(time.time()),
                    body=body,
                    secrets=endpoint_secrets(endpoint),
                ),
            }
            result = http.post(endpoint.url, body=body, headers=headers)
        except Exception as exc:  # noqa: BLE001 - classified below; the database keeps the delivery
            result = exc
        duration = elapsed_ms(started)
        outcome = _RESULTS[retry.classify(result)]
        # Any answer proves the endpoint and its origin work; a transient failure counts against
        # the one it says is failing; a message refused before sending says nothing.
        blamed = self.health.record(origin=origin, endpoint=own, owner=endpoint.recipient_id, result=result)
        error = retry.describe(result)
        response = result if isinstance(result, http.OutboundResponse) else None
        status = response.status if response else None
        retry_after = response.header("retry-after") if response else None
        line = AttemptLine(
            target=target,
            outcome=outcome.value,
            status_code=status,
            error=error,
            duration_ms=duration,
            response_excerpt=response.body[:RESPONSE_EXCERPT] if response else "",
        )
        return SendResult(
            result=outcome,
            error=error,
            status_code=status,
            retry_after=retry_after,
            lines=[line],
            destination_down=isinstance(result, _UNREACHABLE),
            # An answer that said when to come back is taken at its word, whatever else succeeds.
            blamed="" if retry_after or blamed is None else blamed,
        )


class WebhookChannel:
    channel = Channel.WEBHOOK

    def destination(self, delivery: Delivery) -> str:
        # One group per endpoint, so a hanging endpoint's sends never sit in front of another's
        # in a group; the slots are the origin's, at most a fair share of them per endpoint.
        # Several groups may share a task (``message_key``).
        return limits.member_key(breakers.origin_key(delivery.address), breakers.endpoint_key(delivery.endpoint_id))

    def message_key(self, delivery: Delivery) -> str:
        """What one task carries: every healthy endpoint of an origin together (one claim, one
        session, one record for all of them); an endpoint that is failing (``failing_since``),
        or whose row came without its endpoint (the sweeper's, a release's), alone.

        Each endpoint is still its own group inside the task, with its own slots and breaker,
        and a send that runs into a connect error or its deadline hands the groups after it
        to a task of their own (``engine``): an endpoint that starts hanging delays the others
        in its task by one deadline at most, once, and travels alone from its first failure.
        """
        endpoint = delivery.endpoint if Delivery.endpoint.is_cached(delivery) else None
        if endpoint is None or endpoint.failing_since is not None:
            return self.destination(delivery)
        return breakers.origin_key(delivery.address)

    def slot_share(self, rows: list[Delivery]) -> int:
        """How many of its origin's concurrency slots this endpoint's group may count on.

        ``OUTBOUND_ENDPOINT_CONCURRENCY``; one while the endpoint is failing (``failing_since``
        set by its first failed attempt): a hanging endpoint's sends each hold a slot for a
        whole deadline, and the other endpoints on its origin need the rest.
        """
        share = min(settings.OUTBOUND_ENDPOINT_CONCURRENCY, settings.OUTBOUND_HOST_CONCURRENCY)
        failing = any(row.endpoint is not None and row.endpoint.failing_since is not None for row in rows)
        return 1 if failing else max(share, 1)

    @contextlib.contextmanager
    def session(self) -> Iterator[WebhookSession]:
        yield WebhookSession()


def waiting_for(breaker_keys: Iterable[str]) -> Q | None:
    """The webhook deliveries a healed breaker held: those to its endpoint, or to any endpoint
    at its origin (matched on the stored URL's scheme, host and port); None if none of
    ``breaker_keys`` is a webhook breaker."""
    breaker_keys = list(breaker_keys)
    matches = Q()
    found = False
    endpoints = [key.removeprefix("endpoint:") for key in breaker_keys if key.startswith("endpoint:")]
    if endpoints:
        matches |= Q(endpoint_id__in=endpoints)
        found = True
    for key in breaker_keys:
        if not key.startswith("origin:"):
            continue
        scheme, _, netloc = key.removeprefix("origin:").partition("://")
        host, _, port = netloc.rpartition(":")
        # The URL names the default port or leaves it out; any other port must be written.
        port_part = rf"(:{port})?" if breakers.origin_key(f"{scheme}://{host}/") == key else rf":{port}"
        pattern = rf"^{re.escape(scheme)}://([^/@]*@)?{re.escape(host)}{port_part}([/?#]|$)"
        matches |= Q(address__iregex=pattern)
        found = True
    return matches if found else None
