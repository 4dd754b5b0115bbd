"""What every channel sender is: one interface, one vocabulary of results.

A channel (email, webhook, push) groups its deliveries by *destination* (an SMTP relay, a
webhook endpoint, the push gateways) and sends a group through one ``Session``, which keeps its
connections open across the group: one SMTP session for many emails, one keep-alive
connection per webhook host. The engine (``delivery.engine``) claims deliveries, holds a
concurrency slot for the destination, and records whatever the session reports.
"""

from __future__ import annotations

import enum
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from apps.notifications.models import Delivery, DeliveryProvider
from apps.notifications.outbound import breakers


class Result(enum.StrEnum):
    SENT = "sent"
    # Transient: spend an attempt, come back at the retry policy's next time.
    RETRY = "retry"
    # The endpoint or device is retired (410, unknown token): dead, and the target goes too.
    GONE = "gone"
    # Permanent for this message (bad header, unencodable URL, a 4xx): dead at once. Never
    # counted against a host's or provider's breaker: the destination is fine.
    DEAD = "dead"
    # Nothing was sent (breaker open, destination busy): reschedule without spending an attempt.
    SKIPPED = "skipped"


# Characters of a receiver's answer kept per attempt (DeliveryAttempt.response_excerpt).
RESPONSE_EXCERPT = 500


@dataclass(frozen=True, kw_only=True)
class AttemptLine:
    """One line of the delivery's attempt log: a request made (or a provider skipped)."""

    target: str
    outcome: str
    provider_id: str | None = None
    status_code: int | None = None
    error: str = ""
    duration_ms: int | None = None
    # The start of the receiver's answer (webhooks), for its owner's attempt log.
    response_excerpt: str = ""


@dataclass(kw_only=True)
class SendResult:
    result: Result
    error: str = ""
    status_code: int | None = None
    retry_after: str | None = None
    reschedule_at: datetime | None = None
    provider_id: str | None = None
    lines: list[AttemptLine] = field(default_factory=list)
    # Put back due shortly (a rate's next free moment, a free slot, a breaker's trial): the
    # engine enqueues it again for then rather than leave it to the sweeper's next pass.
    requeue: bool = False
    # A failure that says the *destination* is unreachable (connect error, deadline): the rest
    # of the group would wait for the same deadline, so the engine stops the group here.
    destination_down: bool = False
    # A ``retry`` (or a send held back behind one) caused by its destination failing: the kind
    # of breaker that failure counted against (``Blame``). Empty for a failure of the message
    # itself, or an answer that said when to come back (``Retry-After``): a success of the same
    # destination releases only rows it names (``engine.deliveries_release``).
    blamed: str = ""


class Session(Protocol):
    def send(self, delivery: Delivery) -> SendResult:
        """Send one delivery; never raises for a failure of the send (it is reported)."""
        ...


class ChannelSender(Protocol):
    channel: str

    def destination(self, delivery: Delivery) -> str:
        """The key deliveries are grouped, batched and concurrency-limited by (a channel may
        also define ``message_key(delivery)``: what one task carries, several destinations'
        groups; the destination when it does not)."""
        ...

    def session(self) -> AbstractContextManager[Session]:
        """Connections that live for one task's sends to this channel's destinations."""
        ...


def elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def provider_rows(channel: str) -> list[DeliveryProvider]:
    """The enabled providers of a channel (push gateways, SMTP relays), in the order they are tried."""
    return list(DeliveryProvider.objects.filter(channel=channel, enabled=True).order_by("priority", "name", "id"))


def reopens_at(breaker_keys: list[str]) -> datetime | None:
    """The earliest time one of these relays' or gateways' breakers, which refused a send, lets
    one through (``breakers.retry_at``: an open one's trial, or shortly while another holds the
    trial)."""
    times = [breakers.retry_at(key) for key in breaker_keys]
    return min(times) if times else None
