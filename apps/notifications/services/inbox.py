"""Read state of the in-app inbox."""

from uuid import UUID

from django.utils import timezone

from apps.notifications.models import Notification
from apps.notifications.selectors import notification_get


def notification_mark_read(*, recipient_id: UUID, notification_id: UUID) -> Notification:
    """Mark one of the recipient's notifications read; reading it again changes nothing."""
    notification = notification_get(recipient_id=recipient_id, notification_id=notification_id)
    if notification.read_at is None:
        now = timezone.now()
        updated = Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
        if updated:
            notification.read_at = now
        else:
            notification.refresh_from_db(fields=["read_at"])
    return notification


def notifications_mark_all_read(*, recipient_id: UUID) -> int:
    return Notification.objects.filter(recipient_id=recipient_id, read_at__isnull=True).update(read_at=timezone.now())
