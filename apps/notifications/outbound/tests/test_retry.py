import itertools
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from apps.notifications.outbound import retry
from apps.notifications.outbound.errors import (
    ConnectFailed,
    DeadlineExceeded,
    InvalidMessage,
    ResolutionFailed,
    UnsafeURL,
)
from apps.notifications.outbound.http import OutboundResponse
from apps.notifications.outbound.retry import Outcome

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_caps_double_from_the_base_and_never_exceed_the_cap(settings):
    caps = retry.schedule_caps()

    assert len(caps) == settings.OUTBOUND_MAX_ATTEMPTS - 1
    assert caps[:3] == [60.0, 120.0, 240.0]
    assert all(a <= b for a, b in itertools.pairwise(caps))
    assert max(caps) == settings.OUTBOUND_RETRY_CAP_SECONDS
    assert retry.backoff_cap(attempt=10_000) == settings.OUTBOUND_RETRY_CAP_SECONDS


def test_default_schedule_spans_about_a_day_on_average():
    caps = retry.schedule_caps()
    mean_span = sum(caps) / 2  # full jitter: each wait is uniform(0, cap)

    assert 22 * 3600 <= mean_span <= 26 * 3600
    assert sum(caps) <= 49 * 3600

    rng = random.Random(4)
    spans = [sum(retry.backoff_delay(attempt=n, rng=rng) for n in range(1, len(caps) + 1)) for _ in range(200)]
    assert 22 * 3600 <= sum(spans) / len(spans) <= 26 * 3600


def test_full_jitter_stays_within_floor_and_cap_and_spreads():
    rng = random.Random(7)
    for attempt in (1, 4, 12):
        cap = retry.backoff_cap(attempt=attempt)
        delays = [retry.backoff_delay(attempt=attempt, rng=rng) for _ in range(500)]
        assert all(retry.MIN_DELAY_SECONDS <= d <= cap for d in delays)
        # Full (not equal) jitter: waits reach down near zero and up near the cap.
        assert min(delays) < max(cap * 0.05, retry.MIN_DELAY_SECONDS + 0.01)
        assert max(delays) > cap * 0.95


def test_next_attempt_at_uses_the_backoff_without_retry_after():
    at = retry.next_attempt_at(attempt=3, now=NOW, rng=random.Random(1))
    assert NOW + timedelta(seconds=1) <= at <= NOW + timedelta(seconds=240)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120),
        (" 7 ", 7),
        ("0", 1),  # never earlier than the 1 s floor
        ("999999999", 4 * 3600),  # capped
        (format_datetime(NOW + timedelta(minutes=30), usegmt=True), 1800),
        (format_datetime(NOW - timedelta(minutes=30), usegmt=True), 1),
    ],
)
def test_retry_after_is_honoured(header, seconds):
    assert retry.next_attempt_at(attempt=1, now=NOW, retry_after_header=header) == NOW + timedelta(seconds=seconds)


def test_invalid_retry_after_falls_back_to_backoff():
    at = retry.next_attempt_at(attempt=1, now=NOW, retry_after_header="soon", rng=random.Random(2))
    assert NOW + timedelta(seconds=1) <= at <= NOW + timedelta(seconds=60)


def test_attempts_are_exhausted_at_the_maximum(settings):
    settings.OUTBOUND_MAX_ATTEMPTS = 3
    assert [retry.is_exhausted(attempts=n) for n in (1, 2, 3, 4)] == [False, False, True, True]


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.SENT),
        (204, Outcome.SENT),
        (299, Outcome.SENT),
        (410, Outcome.GONE),
        (301, Outcome.DEAD),
        (302, Outcome.DEAD),
        (307, Outcome.DEAD),
        (408, Outcome.RETRY),
        (429, Outcome.RETRY),
        (500, Outcome.RETRY),
        (503, Outcome.RETRY),
        (599, Outcome.RETRY),
        (400, Outcome.DEAD),
        (401, Outcome.DEAD),
        (403, Outcome.DEAD),
        (404, Outcome.DEAD),
        (409, Outcome.DEAD),
        (422, Outcome.DEAD),
        (101, Outcome.DEAD),
        (199, Outcome.DEAD),
        (600, Outcome.DEAD),
        (999, Outcome.DEAD),
        (0, Outcome.DEAD),
        (-1, Outcome.DEAD),
    ],
)
def test_classify_status(status, outcome):
    assert retry.classify(status) is outcome


def _response(status):
    return OutboundResponse(status=status, headers={}, body="", truncated=False, elapsed=0.1, address="1.2.3.4")


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (UnsafeURL("10.0.0.1 is private"), Outcome.DEAD),
        (InvalidMessage("header value is not Latin-1"), Outcome.DEAD),
        (UnicodeEncodeError("ascii", "ü", 0, 1, "ordinal not in range(128)"), Outcome.DEAD),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), Outcome.DEAD),
        (ResolutionFailed("no such host"), Outcome.RETRY),
        (ConnectFailed("refused"), Outcome.RETRY),
        (DeadlineExceeded("slow"), Outcome.RETRY),
        (RuntimeError("a bug, fixed within the schedule"), Outcome.RETRY),
    ],
)
def test_classify_exceptions(error, outcome):
    assert retry.classify(error) is outcome


@pytest.mark.parametrize(
    ("result", "failed"),
    [
        (_response(200), False),
        (_response(410), False),
        (_response(404), False),
        (_response(302), False),
        (_response(429), True),
        (_response(503), True),
        (ConnectFailed("refused"), True),
        (DeadlineExceeded("slow"), True),
        (RuntimeError("bug"), True),
        (UnsafeURL("private"), None),
        (InvalidMessage("bad header"), None),
    ],
)
def test_destination_failed_never_blames_the_destination_for_a_dead_message(result, failed):
    assert retry.destination_failed(result) is failed


def test_classify_response_and_describe():
    gone = _response(410)
    assert retry.classify(gone) is Outcome.GONE
    assert retry.describe(gone) == "HTTP 410:"
    assert retry.describe(DeadlineExceeded("slow")) == "DeadlineExceeded: slow"
