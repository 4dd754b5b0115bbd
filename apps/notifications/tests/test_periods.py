"""Digest periods and quiet hours in the recipient's time zone (pure functions of an instant)."""

import itertools
from datetime import UTC, datetime, time, timedelta

import pytest

from apps.notifications.periods import digest_period, quiet_until, time_zone_names


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "time_zone", "start", "end"),
    [
        (utc(2026, 11, 30, 10, 50), "UTC", utc(2026, 11, 30, 10), utc(2026, 11, 30, 11)),
        (utc(2026, 11, 30, 10, 0), "UTC", utc(2026, 11, 30, 10), utc(2026, 11, 30, 11)),
        (utc(2026, 11, 30, 10, 59, 59, 999999), "Europe/Berlin", utc(2026, 11, 30, 10), utc(2026, 11, 30, 11)),
        # +05:30: the local hour starts at half past the UTC hour.
        (utc(2026, 11, 30, 10, 50), "Asia/Kolkata", utc(2026, 11, 30, 10, 30), utc(2026, 11, 30, 11, 30)),
        (utc(2026, 11, 30, 10, 20), "Asia/Kolkata", utc(2026, 11, 30, 9, 30), utc(2026, 11, 30, 10, 30)),
        # New York, the night clocks go back (1 Nov 2026): local 01:00-02:00 happens twice,
        # first in EDT (05:00Z), then in EST (06:00Z): two periods of one real hour each.
        (utc(2026, 11, 1, 5, 30), "America/New_York", utc(2026, 11, 1, 5), utc(2026, 11, 1, 6)),
        (utc(2026, 11, 1, 6, 30), "America/New_York", utc(2026, 11, 1, 6), utc(2026, 11, 1, 7)),
        # ... and the night they go forward (8 Mar 2026): 01:59 EST is followed by 03:00 EDT.
        (utc(2026, 3, 8, 6, 59), "America/New_York", utc(2026, 3, 8, 6), utc(2026, 3, 8, 7)),
        (utc(2026, 3, 8, 7, 0), "America/New_York", utc(2026, 3, 8, 7), utc(2026, 3, 8, 8)),
    ],
)
def test_hourly_periods_run_from_one_local_hour_to_the_next(at, time_zone, start, end):
    assert digest_period(at=at, time_zone=time_zone, frequency="hourly") == (start, end)


@pytest.mark.parametrize(
    ("at", "time_zone", "start", "end", "hours"),
    [
        (utc(2026, 11, 30, 12), "UTC", utc(2026, 11, 30), utc(2026, 12, 1), 24),
        # 23:30 UTC is already the next day in Berlin (+01:00).
        (utc(2026, 11, 30, 23, 30), "Europe/Berlin", utc(2026, 11, 30, 23), utc(2026, 12, 1, 23), 24),
        (utc(2026, 11, 30, 22, 59), "Europe/Berlin", utc(2026, 11, 29, 23), utc(2026, 11, 30, 23), 24),
        # Berlin's DST days: 29 Mar 2026 has 23 hours, 25 Oct 2026 has 25.
        (utc(2026, 3, 29, 12), "Europe/Berlin", utc(2026, 3, 28, 23), utc(2026, 3, 29, 22), 23),
        (utc(2026, 10, 25, 12), "Europe/Berlin", utc(2026, 10, 24, 22), utc(2026, 10, 25, 23), 25),
        (utc(2026, 11, 1, 12), "America/New_York", utc(2026, 11, 1, 4), utc(2026, 11, 2, 5), 25),
        (utc(2026, 11, 30, 2), "Pacific/Auckland", utc(2026, 11, 29, 11), utc(2026, 11, 30, 11), 24),
        # Santiago skips midnight (00:00 -04 becomes 01:00 -03 on 6 Sep 2026): that day starts at
        # the change, its first instant, and has 23 hours.
        (utc(2026, 9, 6, 12), "America/Santiago", utc(2026, 9, 6, 4), utc(2026, 9, 7, 3), 23),
        (utc(2026, 9, 5, 12), "America/Santiago", utc(2026, 9, 5, 4), utc(2026, 9, 6, 4), 24),
    ],
)
def test_daily_periods_run_from_local_midnight_to_local_midnight(at, time_zone, start, end, hours):
    assert digest_period(at=at, time_zone=time_zone, frequency="daily") == (start, end)
    assert end - start == timedelta(hours=hours)


def test_consecutive_periods_tile_time_without_gaps_across_a_dst_change():
    at = utc(2026, 10, 23)
    periods = []
    while at < utc(2026, 10, 28):
        periods.append(digest_period(at=at, time_zone="Europe/Berlin", frequency="daily"))
        at = periods[-1][1]
    assert all(a[1] == b[0] for a, b in itertools.pairwise(periods))
    assert [round((e - s).total_seconds() / 3600) for s, e in periods] == [24, 24, 25, 24, 24, 24]


def test_an_unknown_frequency_has_no_period():
    with pytest.raises(ValueError, match="no digest period for 'immediate'"):
        digest_period(at=utc(2026, 1, 1), time_zone="UTC", frequency="immediate")


QUIET = {"start": time(22), "end": time(7)}


@pytest.mark.parametrize(
    ("at", "until"),
    [
        # Berlin (+01:00 in winter): 22:00 local is 21:00Z, 07:00 local is 06:00Z.
        (utc(2026, 11, 30, 20, 59, 59), None),
        (utc(2026, 11, 30, 21, 0), utc(2026, 12, 1, 6)),
        (utc(2026, 11, 30, 22, 59), utc(2026, 12, 1, 6)),
        # After local midnight: the end is the same local day's 07:00.
        (utc(2026, 11, 30, 23, 30), utc(2026, 12, 1, 6)),
        (utc(2026, 12, 1, 5, 59, 59), utc(2026, 12, 1, 6)),
        (utc(2026, 12, 1, 6, 0), None),
        (utc(2026, 12, 1, 12, 0), None),
    ],
)
def test_quiet_hours_span_midnight_in_the_recipients_zone(at, until):
    assert quiet_until(at=at, time_zone="Europe/Berlin", **QUIET) == until


@pytest.mark.parametrize(
    ("at", "until"),
    [
        (utc(2026, 11, 30, 12, 59), None),
        (utc(2026, 11, 30, 13, 0), utc(2026, 11, 30, 14, 30)),
        (utc(2026, 11, 30, 14, 29), utc(2026, 11, 30, 14, 30)),
        (utc(2026, 11, 30, 14, 30), None),
    ],
)
def test_quiet_hours_within_one_day(at, until):
    assert quiet_until(at=at, time_zone="UTC", start=time(13), end=time(14, 30)) == until


def test_no_quiet_hours_never_hold():
    assert quiet_until(at=utc(2026, 11, 30, 23), time_zone="UTC", start=None, end=None) is None


def test_quiet_hours_ending_in_the_hour_clocks_skip_end_at_the_change():
    # Berlin, 29 Mar 2026: 02:00 CET becomes 03:00 CEST, so 02:30 never happens; 01:10 CET
    # (00:10Z) is held until the change's 03:30 CEST, 01:30Z, an hour after 01:10 CET's 02:30.
    assert quiet_until(at=utc(2026, 3, 29, 0, 10), time_zone="Europe/Berlin", start=time(22), end=time(2, 30)) == utc(
        2026, 3, 29, 1, 30
    )


def test_quiet_hours_ending_in_the_repeated_hour_end_at_the_next_occurrence():
    # Berlin, 25 Oct 2026: 02:00-03:00 happens twice (CEST at 00:00Z, CET at 01:00Z).
    until = {"time_zone": "Europe/Berlin", "start": time(22), "end": time(2, 30)}
    assert quiet_until(at=utc(2026, 10, 25, 0, 10), **until) == utc(2026, 10, 25, 0, 30)
    # 02:40 CEST is past the end; 02:10 CET (the second pass) is quiet again, until 02:30 CET.
    assert quiet_until(at=utc(2026, 10, 25, 0, 40), **until) is None
    assert quiet_until(at=utc(2026, 10, 25, 1, 10), **until) == utc(2026, 10, 25, 1, 30)


def test_time_zone_names_are_the_iana_database():
    names = time_zone_names()
    assert {"UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"} <= names
    assert "Mars/Olympus_Mons" not in names
    assert "europe/berlin" not in names


def test_a_half_hour_dst_shift_makes_two_overlapping_hourly_periods():
    # Lord Howe Island, 5 Apr 2026: 02:00 (+11:00) becomes 01:30 (+10:30) at 15:00Z.
    before = digest_period(at=utc(2026, 4, 4, 14, 50), time_zone="Australia/Lord_Howe", frequency="hourly")
    after = digest_period(at=utc(2026, 4, 4, 15, 10), time_zone="Australia/Lord_Howe", frequency="hourly")
    assert before == (utc(2026, 4, 4, 14), utc(2026, 4, 4, 15))
    assert after == (utc(2026, 4, 4, 14, 30), utc(2026, 4, 4, 15, 30))


def test_a_time_zone_the_database_no_longer_has_falls_back_to_utc():
    # Names are checked when saved; a row whose zone has gone since must not stop an ingest.
    assert digest_period(at=utc(2026, 11, 30, 10, 50), time_zone="Gone/Away", frequency="daily") == (
        utc(2026, 11, 30),
        utc(2026, 12, 1),
    )
