"""Delivery through providers in priority order, with per-provider circuit breakers.

``deliver_with_fallback`` tries each enabled provider (lowest ``priority`` first) whose breaker
lets it (``breakers.allow``), records the outcome after the send (``record_success`` /
``record_failure``, never a lock held across the send), falls through on failure, and reports
which provider delivered. How a provider
sends depends on its ``kind``: a sender registered with ``register_sender``. This module ships
``http_push`` (a generic HTTP push gateway). Email relays are not senders here: the email
channel (``apps.notifications.delivery.channels.email.channel``) keeps its own SMTP sessions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from apps.notifications.outbound import breakers
from apps.notifications.outbound.errors import InvalidMessage, OutboundError, UnsafeURL
from apps.notifications.outbound.http import OutboundResponse, post
from apps.notifications.outbound.retry import Outcome, classify, describe

KIND_HTTP_PUSH = "http_push"


@dataclass(frozen=True, kw_only=True)
class Provider:
    """A delivery provider as the fallback sees it (the integration maps its model row to this)."""

    id: str
    name: str
    kind: str
    endpoint: str
    credential: str = field(repr=False)
    priority: int = 0
    enabled: bool = True


@dataclass(frozen=True, kw_only=True)
class PushMessage:
    """One push notification to one device. ``message_id`` is stable across retries."""

    message_id: str
    token: str
    platform: str
    title: str
    body: str
    data: dict[str, Any] = field(default_factory=dict)


class ProviderFailed(Exception):
    """The provider did not accept the message; the next provider may."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class MessageRejected(ProviderFailed, breakers.NotABreakerFailure):
    """The provider answered and refused this message (a 3xx or a 4xx other than 408/429/410).

    The provider works (a success for its breaker); the next provider is still tried, since
    another gateway may accept what this one refuses. When every provider refused the message
    the failure is permanent (``AllProvidersFailed.permanent``).
    """


class DeviceGone(breakers.NotABreakerFailure):
    """The gateway says the device token is no longer valid (HTTP 410).

    Stops the fallback (another provider cannot reach an unregistered device either); the
    integration deletes the device. Counts as a success for the provider's breaker.
    """

    def __init__(self, provider_id: str) -> None:
        super().__init__(f"device token rejected as gone by provider {provider_id}")
        self.provider_id = provider_id


@dataclass(frozen=True, kw_only=True)
class ProviderAttempt:
    """One line of the attempt log: a provider tried or skipped, and what happened."""

    provider_id: str
    provider_name: str
    outcome: str  # "sent" | "failed" | "skipped_open"
    detail: str = ""
    # A "failed" attempt that would fail again: the provider refused this message, or the
    # message could not be sent at all (``retry.Outcome.DEAD``).
    permanent: bool = False


@dataclass(frozen=True, kw_only=True)
class FallbackResult:
    """The provider that delivered, and every provider tried before it."""

    provider: Provider
    detail: str
    attempts: list[ProviderAttempt]


class AllProvidersFailed(Exception):
    """No provider delivered; spend an attempt and reschedule (``retry.next_attempt_at``)."""

    def __init__(self, attempts: list[ProviderAttempt]) -> None:
        self.attempts = attempts
        self.errors = {a.provider_id: a.detail for a in attempts}
        # Every provider tried refused this message for good: retrying cannot help (dead).
        self.permanent = bool(attempts) and all(a.outcome == "failed" and a.permanent for a in attempts)
        summary = "; ".join(f"{a.provider_name}: {a.outcome} {a.detail}".strip() for a in attempts)
        super().__init__(f"all providers failed: {summary or 'no enabled provider'}")


class AllProvidersOpen(Exception):
    """Every enabled provider was skipped because its breaker is open.

    Nothing was sent: reschedule the delivery without counting an attempt.
    """

    def __init__(self, attempts: list[ProviderAttempt]) -> None:
        self.attempts = attempts
        super().__init__("all providers skipped: circuit breakers open")


class Sender(Protocol):
    def __call__(self, *, provider: Provider, message: Any) -> str:
        """Send ``message`` through ``provider``; return a short detail for the log.

        Raise ``ProviderFailed`` (or any ``OutboundError``) to fall through to the next provider:
        ``MessageRejected`` when the provider answered but refused this message (not held
        against its breaker), ``ProviderFailed`` when the provider is failing.
        """
        ...


_SENDERS: dict[str, Sender] = {}


def register_sender(kind: str, sender: Sender) -> None:
    """Make providers of ``kind`` usable by ``deliver_with_fallback`` (e.g. "http_push")."""
    _SENDERS[kind] = sender


def http_push_send(*, provider: Provider, message: PushMessage) -> str:
    """POST the message as JSON to a generic push gateway with the provider's bearer credential.

    Body: ``{token, platform, title, body, data}``; ``Idempotency-Key`` carries the stable
    message id so a gateway can drop the duplicate of a retried request.
    """
    payload = {
        "token": message.token,
        "platform": message.platform,
        "title": message.title,
        "body": message.body,
        "data": message.data,
    }
    response: OutboundResponse = post(
        provider.endpoint,
        body=json.dumps(payload, separators=(",", ":")).encode(),
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {provider.credential}",
            "Idempotency-Key": message.message_id,
        },
    )
    outcome = classify(response)
    if outcome is Outcome.SENT:
        return f"HTTP {response.status}"
    if outcome is Outcome.GONE:
        raise DeviceGone(provider.id)
    if outcome is Outcome.DEAD:
        raise MessageRejected(describe(response))
    raise ProviderFailed(describe(response))


register_sender(KIND_HTTP_PUSH, http_push_send)


def deliver_with_fallback(
    *,
    providers: Iterable[Provider],
    message: Any,
    senders: dict[str, Sender] | None = None,
    gate: breakers.Gate | None = None,
) -> FallbackResult:
    """Send ``message`` through the first provider that accepts it.

    Providers are tried by ascending ``priority``; disabled ones are ignored, those whose
    breaker (``breakers.provider_key(id)``) does not ``allow`` a send are skipped without a
    request. After each send the breaker records: a success for a delivery, ``DeviceGone`` or
    ``MessageRejected`` (the provider answered); a failure for ``ProviderFailed`` and transient
    ``OutboundError``; nothing when the message was refused before sending (``UnsafeURL``,
    ``InvalidMessage``) or the sender raised something unexpected (that propagates).

    Raises ``AllProvidersOpen`` when every enabled provider was skipped, ``AllProvidersFailed``
    (with per-provider errors; ``permanent`` when every provider refused the message for good)
    otherwise, and lets ``DeviceGone`` through. ``gate``: a session's view of the breakers
    (``breakers.Gate``), shared by the sends of one group.
    """
    gate = gate or breakers.Gate()
    registry = _SENDERS if senders is None else senders
    attempts: list[ProviderAttempt] = []
    candidates = sorted((p for p in providers if p.enabled), key=lambda p: (p.priority, p.name, p.id))
    for provider in candidates:
        key = breakers.provider_key(provider.id)
        sender = registry.get(provider.kind)
        if sender is None:
            attempts.append(_attempt(provider, "failed", f"no sender for kind {provider.kind!r}"))
            continue
        if not gate.allow(key):
            attempts.append(_attempt(provider, "skipped_open", "circuit breaker open"))
            continue
        # The send runs outside the breaker; its outcome is recorded once it is over.
        try:
            detail = sender(provider=provider, message=message)
        except DeviceGone:
            gate.record_success(key)
            raise
        except MessageRejected as exc:
            gate.record_success(key)
            attempts.append(_attempt(provider, "failed", str(exc), permanent=True))
            continue
        except (UnsafeURL, InvalidMessage) as exc:
            # Refused before anything was sent: no evidence about the provider either way.
            attempts.append(_attempt(provider, "failed", str(exc), permanent=True))
            continue
        except (ProviderFailed, OutboundError) as exc:
            gate.record_failure(key)
            attempts.append(_attempt(provider, "failed", str(exc)))
            continue
        gate.record_success(key)
        attempts.append(_attempt(provider, "sent", detail))
        return FallbackResult(provider=provider, detail=detail, attempts=attempts)
    if attempts and all(a.outcome == "skipped_open" for a in attempts):
        raise AllProvidersOpen(attempts)
    raise AllProvidersFailed(attempts)


def _attempt(provider: Provider, outcome: str, detail: str, *, permanent: bool = False) -> ProviderAttempt:
    return ProviderAttempt(
        provider_id=provider.id, provider_name=provider.name, outcome=outcome, detail=detail, permanent=permanent
    )
