"""Push devices of a recipient."""

from uuid import UUID

from django.db import transaction

from apps.notifications.models import Device
from apps.notifications.selectors import device_get
from apps.notifications.services.db import notifications_db


def device_register(*, recipient_id: UUID, token: str, platform: str) -> tuple[Device, bool]:
    """Register (or refresh) a device; a token belongs to its latest registrant only."""
    db = notifications_db()
    with transaction.atomic(using=db):
        # A phone that changed hands must not keep receiving the previous user's pushes.
        Device.objects.filter(token=token).exclude(recipient_id=recipient_id).delete()
        device, created = Device.objects.update_or_create(
            recipient_id=recipient_id, token=token, defaults={"platform": platform}
        )
    return device, created


def device_delete(*, recipient_id: UUID, device_id: UUID) -> None:
    device_get(recipient_id=recipient_id, device_id=device_id).delete()
