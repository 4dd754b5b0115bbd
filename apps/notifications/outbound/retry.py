"""Retry policy: when to try again, and what an attempt's outcome means.

The caller stores ``next_attempt_at`` in the database (DESIGN.md §3), not in a Celery ETA.
"""

from __future__ import annotations

import enum
import random
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from django.conf import settings

from .errors import InvalidMessage, UnsafeURL
from .http import OutboundResponse

MIN_DELAY_SECONDS = 1.0


class Outcome(enum.StrEnum):
    SENT = "sent"
    RETRY = "retry"
    GONE = "gone"
    # A permanent failure of this message: never retried, never counted against a breaker.
    DEAD = "dead"


# Errors raised before anything reached the receiver that sending again would repeat exactly.
_PERMANENT_ERRORS = (UnsafeURL, InvalidMessage, UnicodeError)


def backoff_cap(*, attempt: int) -> float:
    """Upper bound of the wait after the ``attempt``-th failed attempt (1-based).

    ``min(OUTBOUND_RETRY_CAP_SECONDS, OUTBOUND_RETRY_BASE_SECONDS * 2 ** (attempt - 1))``.
    """
    if attempt < 1:
        raise ValueError("attempt counts attempts already made and starts at 1")
    base = settings.OUTBOUND_RETRY_BASE_SECONDS
    cap = settings.OUTBOUND_RETRY_CAP_SECONDS
    # Capping the exponent keeps 2**n finite for absurd attempt numbers.
    return min(cap, base * 2 ** min(attempt - 1, 64))


def backoff_delay(*, attempt: int, rng: random.Random | None = None) -> float:
    """Full jitter: ``uniform(0, backoff_cap(attempt))``, floored at one second.

    Full rather than equal jitter spreads receivers' recoveries best (AWS Architecture Blog,
    "Exponential Backoff and Jitter"): retries of a burst do not arrive together again.
    """
    return max(MIN_DELAY_SECONDS, (rng or random).uniform(0, backoff_cap(attempt=attempt)))


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds requested by a ``Retry-After`` header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - now).total_seconds()


def next_attempt_at(
    *,
    attempt: int,
    now: datetime,
    retry_after_header: str | None = None,
    rng: random.Random | None = None,
) -> datetime:
    """When to make the next attempt after the ``attempt``-th one failed (1-based).

    A valid ``Retry-After`` replaces the jittered backoff: the receiver said when it can take
    the request. It is clamped to [1 s, OUTBOUND_RETRY_CAP_SECONDS] so a receiver can neither
    make us hammer it nor park a delivery for months.
    """
    requested = parse_retry_after(retry_after_header, now=now)
    if requested is None:
        delay = backoff_delay(attempt=attempt, rng=rng)
    else:
        delay = min(max(requested, MIN_DELAY_SECONDS), settings.OUTBOUND_RETRY_CAP_SECONDS)
    return now + timedelta(seconds=delay)


def is_exhausted(*, attempts: int) -> bool:
    """True when ``attempts`` made reach ``OUTBOUND_MAX_ATTEMPTS``: the delivery is dead."""
    return attempts >= settings.OUTBOUND_MAX_ATTEMPTS


def schedule_caps() -> list[float]:
    """The cap of each wait of the default schedule (``OUTBOUND_MAX_ATTEMPTS - 1`` waits).

    Their sum is the longest possible span from first to last attempt; half of it the mean.
    """
    return [backoff_cap(attempt=n) for n in range(1, settings.OUTBOUND_MAX_ATTEMPTS)]


def classify(result: OutboundResponse | int | BaseException) -> Outcome:
    """Map a response, a status code or an exception to what the delivery should do next.

    - 2xx → ``sent``.
    - 410 Gone → ``gone``: the receiver says the endpoint is retired; disable it.
    - 408, 429, 5xx → ``retry``: the receiver is overloaded or broken, later may work.
    - Other 4xx (400, 401, 403, 404, 422…) → ``dead``: the receiver understood the request and
      refused this message; the same bytes would be refused again. An endpoint that refuses
      everything is still disabled by the continuous-failure rule.
    - 3xx → ``dead``: redirects are never followed (SSRF), so retrying cannot succeed.
    - 1xx or anything else outside 200-599 → ``dead``.
    - ``UnsafeURL``, ``InvalidMessage`` and ``UnicodeError`` (a URL or header that cannot be
      encoded) → ``dead``: refused before sending, and would be refused again.
    - DNS, connect and deadline errors → ``retry``, and so do unexpected exceptions: the
      database keeps the delivery, so a bug fixed within the schedule loses nothing.

    ``dead`` never counts against the destination's circuit breaker (see
    ``breakers.record_result``).
    """
    if isinstance(result, BaseException):
        return Outcome.DEAD if isinstance(result, _PERMANENT_ERRORS) else Outcome.RETRY
    status = result.status if isinstance(result, OutboundResponse) else int(result)
    if 200 <= status < 300:
        return Outcome.SENT
    if status == 410:
        return Outcome.GONE
    if status in (408, 429) or 500 <= status < 600:
        return Outcome.RETRY
    return Outcome.DEAD


def destination_failed(result: OutboundResponse | BaseException) -> bool | None:
    """What one send's result says about the destination, for its circuit breaker.

    True: it is failing (``retry`` outcomes: 5xx, 408, 429, DNS/connect/deadline errors,
    unexpected errors). False: it answered (2xx, 410, a 4xx/3xx refusing this message).
    None: nothing was sent (the message was refused before sending), so no evidence either way.
    """
    outcome = classify(result)
    if outcome is Outcome.RETRY:
        return True
    if isinstance(result, BaseException):
        return None
    return False


def describe(result: OutboundResponse | BaseException) -> str:
    """A short line for the delivery log's ``last_error`` (empty for a success)."""
    if isinstance(result, BaseException):
        return f"{type(result).__name__}: {result}"[:500]
    if 200 <= result.status < 300:
        return ""
    if 300 <= result.status < 400:
        location = result.header("location") or "(no Location)"
        return f"HTTP {result.status}: redirect not followed (to {location})"[:500]
    return f"HTTP {result.status}: {result.body[:200]}".rstrip()
