"""States of the in-app inbox: read, seen, archived.

Each change is one conditional UPDATE (repeating it changes nothing) and rings the live
inbox's doorbell after commit, so the user's open streams update the unread count.
"""

from uuid import UUID

from django.db import transaction
from django.utils import timezone

from apps.notifications.db import notifications_db
from apps.notifications.intake import live
from apps.notifications.models import Notification
from apps.notifications.selectors import notification_get


def _set(*, recipient_id: UUID, notification_id: UUID, field: str, value) -> Notification:
    """Set ``field`` of one of the recipient's items to ``value`` (a time: only where unset)."""
    db = notifications_db()
    with transaction.atomic(using=db):
        notification = notification_get(recipient_id=recipient_id, notification_id=notification_id)
        rows = Notification.objects.using(db).filter(pk=notification.pk)
        rows = rows.filter(**{f"{field}__isnull": True}) if value is not None else rows.exclude(**{field: None})
        if rows.update(**{field: value}):
            live.inbox_changed(recipient_ids=[recipient_id], using=db)
        notification.refresh_from_db(fields=[field])
    return notification


def notification_mark_read(*, recipient_id: UUID, notification_id: UUID) -> Notification:
    """Mark one of the recipient's notifications read; reading it again changes nothing."""
    return _set(recipient_id=recipient_id, notification_id=notification_id, field="read_at", value=timezone.now())


def notification_mark_unread(*, recipient_id: UUID, notification_id: UUID) -> Notification:
    """Make one of the recipient's notifications unread again (it counts in the badge again)."""
    return _set(recipient_id=recipient_id, notification_id=notification_id, field="read_at", value=None)


def notification_archive(*, recipient_id: UUID, notification_id: UUID) -> Notification:
    """Move one item out of the default inbox list and its counts; archiving again changes nothing."""
    return _set(recipient_id=recipient_id, notification_id=notification_id, field="archived_at", value=timezone.now())


def notification_unarchive(*, recipient_id: UUID, notification_id: UUID) -> Notification:
    """Bring an archived item back into the inbox (keeping its read and seen state)."""
    return _set(recipient_id=recipient_id, notification_id=notification_id, field="archived_at", value=None)


def notifications_mark_all_read(*, recipient_id: UUID) -> int:
    """Mark every unread item of the inbox (not the archive) read; returns how many changed."""
    db = notifications_db()
    with transaction.atomic(using=db):
        updated = (
            Notification.objects.using(db)
            .filter(recipient_id=recipient_id, read_at__isnull=True, archived_at__isnull=True)
            .update(read_at=timezone.now())
        )
        if updated:
            live.inbox_changed(recipient_ids=[recipient_id], using=db)
    return updated


def notifications_mark_seen(*, recipient_id: UUID, notification_ids: list[UUID]) -> int:
    """Mark the given items of the recipient's as seen (shown on their screen); others' ids and
    items seen already are left alone. Returns how many changed."""
    db = notifications_db()
    with transaction.atomic(using=db):
        updated = (
            Notification.objects.using(db)
            .filter(recipient_id=recipient_id, pk__in=notification_ids, seen_at__isnull=True)
            .update(seen_at=timezone.now())
        )
        if updated:
            live.inbox_changed(recipient_ids=[recipient_id], using=db)
    return updated
