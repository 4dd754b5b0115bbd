"""Push devices of a recipient."""

from uuid import UUID

from django.conf import settings
from django.db import transaction

from apps.core.exceptions import Conflict
from apps.notifications.db import notifications_db
from apps.notifications.models import Device
from apps.notifications.selectors import device_get


class TooManyDevices(Conflict):
    default_code = "too_many_devices"
    default_detail = "This account has as many push devices as it can have."


def device_register(*, recipient_id: UUID, token: str, platform: str) -> tuple[Device, bool]:
    """Register (or refresh) a device; a token belongs to its latest registrant only.

    A recipient has at most ``NOTIFICATIONS_MAX_DEVICES`` devices: every event fans out to each
    of them. Refreshing a token the recipient already has is not a new device.
    """
    db = notifications_db()
    with transaction.atomic(using=db):
        # Locks the owner's devices so two concurrent registrations cannot both pass the limit.
        # The count is a second statement: under READ COMMITTED the locking one keeps the
        # snapshot it started with, which misses a device inserted by the transaction it waited on.
        list(Device.objects.select_for_update().filter(recipient_id=recipient_id).values_list("pk"))
        owned = Device.objects.filter(recipient_id=recipient_id)
        limit = settings.NOTIFICATIONS_MAX_DEVICES
        if not owned.filter(token=token).exists() and owned.count() >= limit:
            raise TooManyDevices(f"An account can have at most {limit} push devices; delete one first.")
        # A phone that changed hands must not keep receiving the previous user's pushes.
        Device.objects.filter(token=token).exclude(recipient_id=recipient_id).delete()
        device, created = Device.objects.update_or_create(
            recipient_id=recipient_id, token=token, defaults={"platform": platform}
        )
    return device, created


def device_delete(*, recipient_id: UUID, device_id: UUID) -> None:
    device_get(recipient_id=recipient_id, device_id=device_id).delete()


def devices_retire(*, device_ids: list[UUID]) -> int:
    """Remove devices whose push gateway said the token is gone for good; returns how many.

    One device per delivery (not per recipient) means the others keep receiving.
    """
    if not device_ids:
        return 0
    deleted, _ = Device.objects.using(notifications_db()).filter(pk__in=device_ids).delete()
    return deleted
