"""Per-recipient channel switches, and the one-click unsubscribe that flips one of them."""

from uuid import UUID

from django.db import transaction

from apps.core.exceptions import ApplicationError
from apps.notifications.db import notifications_db
from apps.notifications.events import EVENT_TYPES
from apps.notifications.models import NotificationPreference


class CriticalPreference(ApplicationError):
    default_code = "critical_notification"
    default_detail = "This notification is critical and cannot be switched off."


class UnknownPreference(ApplicationError):
    default_code = "unknown_preference"
    default_detail = "There is no such event type and channel."


def preference_set(*, recipient_id: UUID, event_type: str, channel: str, enabled: bool) -> NotificationPreference:
    spec = EVENT_TYPES.get(event_type)
    if spec is None or channel not in spec.defaults:
        raise UnknownPreference(f"There is no {channel!r} switch for event type {event_type!r}.")
    if spec.critical and not enabled:
        raise CriticalPreference()
    preference, _ = NotificationPreference.objects.update_or_create(
        recipient_id=recipient_id, event_type=event_type, channel=channel, defaults={"enabled": enabled}
    )
    return preference


def preferences_update(*, recipient_id: UUID, changes: list[dict]) -> None:
    """Apply several ``{event_type, channel, enabled}`` switches, all or none."""
    with transaction.atomic(using=notifications_db()):
        for change in changes:
            preference_set(recipient_id=recipient_id, **change)


def unsubscribe(*, recipient_id: UUID, event_type: str, channel: str) -> NotificationPreference:
    """One-click unsubscribe: switch one channel of one event type off."""
    return preference_set(recipient_id=recipient_id, event_type=event_type, channel=channel, enabled=False)
