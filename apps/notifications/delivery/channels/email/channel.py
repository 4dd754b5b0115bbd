"""The email channel: one SMTP session per group of emails, relays in priority order.

Without an SMTP relay configured in the admin (``DeliveryProvider``, channel email), mail goes
through Django's ``EMAIL_URL`` backend. Either way one connection is opened per session and
serves every message of the group, and a failure is classified:

- the message itself cannot be sent (a header with CR/LF, an unencodable address, a 5xx reply
  to this message or recipient): ``dead`` at once, and no breaker hears of it, because the
  relay is fine and other users' mail must keep flowing;
- the relay is unreachable or answers 4xx: ``retry``, counted against that relay's breaker,
  and the next relay is tried.

Every relay has a breaker, the ``EMAIL_URL`` one included (``EMAIL_URL_BREAKER``): while it is
open, emails are put back without spending an attempt, and the trial that finds the relay
working again releases the emails waiting out their retry backoff (``deliveries_release``)
instead of leaving each to its own time. A relay that did not answer for less than the
breaker's threshold is found back by its next success, which releases the emails whose relay
did not answer (``Blame.PROVIDER``), not those a relay refused.

Connections outlive the group (``_Relay``): a worker thread keeps its SMTP connection open for
the next group, as ``outbound.http`` keeps webhook connections alive.
"""

from __future__ import annotations

import contextlib
import functools
import json
import smtplib
import threading
import time
from collections.abc import Iterator
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend

from apps.core import tracing
from apps.notifications.delivery.channels.base import (
    AttemptLine,
    Result,
    SendResult,
    elapsed_ms,
    provider_rows,
    reopens_at,
)
from apps.notifications.delivery.channels.email.message import email_message
from apps.notifications.models import Blame, Channel, Delivery, DeliveryProvider
from apps.notifications.outbound import breakers

EMAIL_URL_TARGET = "EMAIL_URL"
# The relay from EMAIL_URL is not a DeliveryProvider row, whose ids are UUIDs: its own fixed
# key of the "provider" kind, so the metrics' kind label stays the same bounded set.
EMAIL_URL_BREAKER = breakers.provider_key(EMAIL_URL_TARGET)


class _Permanent(Exception):
    """This message can never be sent as it is.

    ``answered``: the relay itself refused it (it works: a success for its breaker); otherwise
    the message failed before anything was sent, which says nothing about the relay.
    """

    def __init__(self, detail: str, *, answered: bool = False) -> None:
        super().__init__(detail)
        self.answered = answered


class _Transient(Exception):
    """The relay did not take the message now; another relay or a later attempt may."""

    def __init__(self, detail: str, *, unreachable: bool) -> None:
        super().__init__(detail)
        self.unreachable = unreachable


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def _classify(exc: BaseException) -> Exception:
    """Map what a backend raised to ``_Permanent`` or ``_Transient``."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        if codes and all(code >= 500 for code in codes):
            return _Permanent(_describe(exc), answered=True)
        return _Transient(_describe(exc), unreachable=False)
    if isinstance(exc, (smtplib.SMTPDataError, smtplib.SMTPSenderRefused)):
        if 500 <= exc.smtp_code < 600:
            return _Permanent(_describe(exc), answered=True)
        return _Transient(_describe(exc), unreachable=False)
    if isinstance(exc, (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError)):
        return _Transient(_describe(exc), unreachable=True)
    if isinstance(exc, smtplib.SMTPException):
        return _Transient(_describe(exc), unreachable=False)
    # BadHeaderError (a ValueError), UnicodeError, and anything else raised while the message
    # is built: retrying the same bytes cannot succeed.
    return _Permanent(_describe(exc))


class _Relay:
    """One connection to one backend, kept open by its worker thread between groups.

    An SMTP handshake costs more CPU than sending a notification over it, so the connection
    outlives the session; one idle for OUTBOUND_KEEPALIVE_IDLE_SECONDS is closed instead of
    reused. A kept connection the server has dropped meanwhile fails before the message is
    accepted: that send is made once more on a fresh connection.
    """

    def __init__(self, *, name: str, provider_id: str | None, connection: BaseEmailBackend) -> None:
        self.name = name
        self.provider_id = provider_id
        self.connection = connection
        self.open = False
        self.last_used = 0.0

    @property
    def breaker_key(self) -> str:
        return breakers.provider_key(self.provider_id) if self.provider_id else EMAIL_URL_BREAKER

    def send(self, delivery: Delivery) -> None:
        try:
            message = email_message(delivery)
        except Exception as exc:  # a message that cannot be built is this message's fault
            raise _classify(exc) from exc
        reused = self.open and time.monotonic() - self.last_used < settings.OUTBOUND_KEEPALIVE_IDLE_SECONDS
        if self.open and not reused:
            self.close()
        try:
            self._send(message)
        except _Transient as exc:
            if not (reused and exc.unreachable):
                raise
            self._send(message)

    def _send(self, message) -> None:
        # No instrumentor covers smtplib: the exchange is a client span of its own (a child of
        # the delivery's span).
        with tracing.span("smtp send", kind="client", attributes=self._span_attributes()) as span:
            try:
                if not self.open:
                    self.connection.open()
                    self.open = True
                self.connection.send_messages([message])
            except Exception as exc:  # every failure is classified
                failure = _classify(exc)
                if isinstance(failure, _Transient) and failure.unreachable:
                    self.close()
                tracing.record_error(span, exc)
                raise failure from exc
        self.last_used = time.monotonic()

    def _span_attributes(self) -> dict | None:
        if not tracing.enabled():
            return None
        attributes = {"email.relay": self.name, "email.connection_reused": self.open}
        # Host and port when the backend has them (SMTP; not the console or locmem backends).
        host, port = getattr(self.connection, "host", None), getattr(self.connection, "port", None)
        if host:
            attributes.update({"server.address": str(host), "server.port": int(port or 0)})
        return attributes

    def close(self) -> None:
        if self.open:
            with contextlib.suppress(Exception):
                self.connection.close()
        self.open = False


# Per worker thread: (backend identity) → its relay; a handful at most.
_kept = threading.local()
_KEPT_MAX = 8


def _kept_relay(key: tuple, build) -> _Relay:
    relays: dict = _kept.__dict__.setdefault("relays", {})
    relay = relays.get(key)
    if relay is None:
        relay = build()
        relays[key] = relay
        while len(relays) > _KEPT_MAX:
            oldest = min(relays, key=lambda k: relays[k].last_used)
            relays.pop(oldest).close()
    return relay


def _smtp_connection(row: DeliveryProvider) -> BaseEmailBackend:
    parts = urlsplit(row.endpoint)
    credentials = row.credentials or {}
    use_ssl = parts.scheme == "smtps"
    return get_connection(
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


class EmailSession:
    def __init__(self, relays: list[_Relay]) -> None:
        self.relays = relays
        self.gate = breakers.Gate()

    def send(self, delivery: Delivery) -> SendResult:
        lines: list[AttemptLine] = []
        skipped: list[str] = []
        errors: list[str] = []
        unreachable = True
        any_unreachable = False
        for relay in self.relays:
            key = relay.breaker_key
            if not self.gate.allow(key):
                skipped.append(key)
                lines.append(
                    AttemptLine(
                        target=relay.name,
                        outcome="skipped_open",
                        provider_id=relay.provider_id,
                        error="circuit breaker open",
                    )
                )
                continue
            started = time.monotonic()
            try:
                relay.send(delivery)
            except _Permanent as exc:
                if exc.answered:
                    self.gate.record_success(key)
                lines.append(_line(relay, "dead", str(exc), started))
                return SendResult(result=Result.DEAD, error=str(exc), provider_id=relay.provider_id, lines=lines)
            except _Transient as exc:
                self.gate.record_failure(key)
                lines.append(_line(relay, "failed", str(exc), started))
                errors.append(f"{relay.name}: {exc}")
                unreachable = unreachable and exc.unreachable
                any_unreachable = any_unreachable or exc.unreachable
                continue
            self.gate.record_success(key)
            lines.append(_line(relay, "sent", "", started))
            return SendResult(result=Result.SENT, provider_id=relay.provider_id, lines=lines)
        if skipped and not errors:
            until = reopens_at(skipped)
            return SendResult(
                result=Result.SKIPPED,
                error="all providers skipped: circuit breakers open",
                reschedule_at=until,
                lines=lines,
                requeue=any(breakers.come_back_once(key, at=until) for key in skipped),
            )
        return SendResult(
            result=Result.RETRY,
            error=("; ".join(errors) or "no email relay is enabled")[:2000],
            lines=lines,
            destination_down=bool(errors) and unreachable,
            # A relay that did not answer (a 4xx reply is about this message or recipient): when
            # one answers again, this email may go at once.
            blamed=Blame.PROVIDER if any_unreachable else Blame.NONE,
        )


def _line(relay: _Relay, outcome: str, error: str, started: float) -> AttemptLine:
    return AttemptLine(
        target=relay.name, outcome=outcome, provider_id=relay.provider_id, error=error, duration_ms=elapsed_ms(started)
    )


class EmailChannel:
    channel = Channel.EMAIL

    def destination(self, delivery: Delivery) -> str:
        # Every email leaves through the same relays: one group, one SMTP session.
        return "email"

    @contextlib.contextmanager
    def session(self) -> Iterator[EmailSession]:
        rows = [row for row in provider_rows(Channel.EMAIL) if row.kind == DeliveryProvider.Kind.SMTP]
        if rows:
            relays = [
                _kept_relay(
                    ("provider", str(row.pk), row.endpoint, json.dumps(row.credentials, sort_keys=True)),
                    functools.partial(_provider_relay, row),
                )
                for row in rows
            ]
        else:
            relays = [_kept_relay(_email_url_key(), _email_url_relay)]
        yield EmailSession(relays)


def _provider_relay(row: DeliveryProvider) -> _Relay:
    return _Relay(name=row.name, provider_id=str(row.pk), connection=_smtp_connection(row))


def _email_url_key() -> tuple:
    return (
        EMAIL_URL_TARGET,
        settings.EMAIL_BACKEND,
        settings.EMAIL_HOST,
        settings.EMAIL_PORT,
        settings.EMAIL_HOST_USER,
    )


def _email_url_relay() -> _Relay:
    backend = get_connection(fail_silently=False, timeout=settings.EMAIL_TIMEOUT)
    return _Relay(name=EMAIL_URL_TARGET, provider_id=None, connection=backend)
