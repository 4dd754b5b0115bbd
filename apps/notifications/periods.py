"""Local time for a recipient: digest periods and quiet hours, in an IANA time zone.

Pure functions of an instant; every datetime returned is aware and in UTC.

- An hourly period runs from one local ``HH:00`` to the next: an hour of real time, so on the
  night clocks go back the repeated local hour is a period of its own (``01:00 EDT`` and
  ``01:00 EST``). In zones whose offset is not whole hours (Asia/Kolkata) it is not the UTC hour.
  Where a DST shift is not a whole hour either (Australia/Lord_Howe, 30 minutes), the two
  periods around the shift overlap by half an hour: each rating still lands in exactly one.
- A daily period runs from local midnight to the next local midnight: 23 or 25 hours on the
  days of a DST change. Where midnight itself is skipped (a change at 00:00), the day starts at
  its first instant.
"""

import functools
import logging
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from apps.notifications.models import RatingEmails

logger = logging.getLogger(__name__)


def zone_of(name: str) -> ZoneInfo:
    """The zone of a saved schedule; UTC for a name the time zone database no longer has (names
    are checked when saved), so one stale row never stops the ingest of a whole batch."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        logger.warning("notifications: unknown time zone %r, using UTC", name)
        return ZoneInfo("UTC")


@functools.cache
def time_zone_names() -> frozenset[str]:
    """Every IANA name the system's time zone database knows."""
    return frozenset(available_timezones())


def digest_period(*, at: datetime, time_zone: str, frequency: str) -> tuple[datetime, datetime]:
    """The ``[start, end)`` of the ``frequency`` period (hourly or daily) that contains ``at``."""
    zone = zone_of(time_zone)
    local = at.astimezone(zone)
    if frequency == RatingEmails.HOURLY:
        start = at.astimezone(UTC) - timedelta(
            minutes=local.minute, seconds=local.second, microseconds=local.microsecond
        )
        return start, start + timedelta(hours=1)
    if frequency == RatingEmails.DAILY:
        day = local.date()
        return _local_instant(day, time(0), zone), _local_instant(day + timedelta(days=1), time(0), zone)
    raise ValueError(f"no digest period for {frequency!r}")


def quiet_until(*, at: datetime, time_zone: str, start: time | None, end: time | None) -> datetime | None:
    """When the quiet hours that ``at`` falls in end; None outside quiet hours (or without any).

    ``start`` after ``end`` spans midnight (22:00 to 07:00). The end is the next local ``end``
    after ``at``; on the night clocks go back, the one of the two that is still to come.
    """
    if start is None or end is None:
        return None
    zone = zone_of(time_zone)
    local = at.astimezone(zone)
    now = local.time().replace(tzinfo=None)
    inside = start <= now < end if start < end else (now >= start or now < end)
    if not inside:
        return None
    day = local.date() if now < end else local.date() + timedelta(days=1)
    until = _local_instant(day, end, zone)
    if until <= at:
        # An end time that occurs twice that night, the first of which has passed.
        until = datetime.combine(day, end, tzinfo=zone).replace(fold=1).astimezone(UTC)
    return until


def _local_instant(day: date, clock: time, zone: ZoneInfo) -> datetime:
    # fold=0: a time that does not exist (skipped by a DST change) is read with the offset before
    # the change, which is the instant of the change itself for a skipped midnight.
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)
