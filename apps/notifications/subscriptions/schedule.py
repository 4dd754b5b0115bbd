"""A recipient's schedule: time zone, how new-rating emails arrive, quiet hours."""

from datetime import time
from uuid import UUID

from django.db import transaction

from apps.core.exceptions import ApplicationError
from apps.notifications.db import notifications_db
from apps.notifications.models import NotificationSchedule
from apps.notifications.periods import time_zone_names

_UNSET = object()


class UnknownTimeZone(ApplicationError):
    default_code = "unknown_time_zone"
    default_detail = "This is not an IANA time zone name (such as Europe/Berlin)."


class EmptyQuietHours(ApplicationError):
    default_code = "invalid_quiet_hours"
    default_detail = "Quiet hours must start and end at different times."


def schedule_update(
    *,
    recipient_id: UUID,
    time_zone: str | object = _UNSET,
    rating_emails: str | object = _UNSET,
    quiet_hours: tuple[time, time] | object | None = _UNSET,
) -> NotificationSchedule:
    """Change the parts given (PATCH); ``quiet_hours=None`` removes them. All or nothing."""
    if time_zone is not _UNSET and time_zone not in time_zone_names():
        raise UnknownTimeZone(f"{time_zone!r} is not an IANA time zone name (such as Europe/Berlin).")
    if quiet_hours not in (_UNSET, None) and quiet_hours[0] == quiet_hours[1]:
        raise EmptyQuietHours()
    changes: dict = {}
    if time_zone is not _UNSET:
        changes["time_zone"] = time_zone
    if rating_emails is not _UNSET:
        changes["rating_emails"] = rating_emails
    if quiet_hours is not _UNSET:
        changes["quiet_start"], changes["quiet_end"] = quiet_hours or (None, None)
    db = notifications_db()
    with transaction.atomic(using=db):
        schedule, created = (
            NotificationSchedule.objects.using(db)
            .select_for_update()
            .get_or_create(recipient_id=recipient_id, defaults=changes)
        )
        if not created and changes:
            for name, value in changes.items():
                setattr(schedule, name, value)
            schedule.full_clean(validate_unique=False)
            schedule.save(update_fields=[*changes, "updated_at"])
    return schedule
