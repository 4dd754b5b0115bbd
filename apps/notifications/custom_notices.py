"""Custom notice types (``NOTIFICATIONS_CUSTOM_TYPES``): the marketplace's own notices, worded by
whoever triggers them (the trigger API), delivered as any notice is."""

from uuid import UUID

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from apps.notifications.models import Channel
from apps.notifications.notice import EventType, Notice

# Every custom type's name starts so: it can never shadow a built-in type, now or later.
CUSTOM_PREFIX = "custom."


def _custom(data: dict) -> list[Notice]:
    # The caller's own words, as given: the trigger API validated them and nothing here rewords them.
    return [
        Notice(
            recipient_id=UUID(data["recipient_user_id"]),
            title=data["title"],
            body=data["body"],
            data={"trigger_id": data["trigger_id"], "data": data.get("data") or {}},
            email=data.get("recipient_email", ""),
        )
    ]


def custom_types(declared: dict) -> dict[str, EventType]:
    """``NOTIFICATIONS_CUSTOM_TYPES`` as notice types: each a label and the channels it is on by default.

    Declared in settings, not in the database, because a type is part of the API's contract (the
    ``EventTypeEnum`` of preferences and webhooks in the OpenAPI document) and of the intake of both
    deployments: it changes with a deploy, as the built-in types do.
    """
    # Webhooks are subscribed to by type, not switched per channel.
    switchable = (Channel.IN_APP, Channel.EMAIL, Channel.PUSH)
    types = {}
    for name, spec in declared.items():
        spec = spec if isinstance(spec, dict) else {}
        channels = spec.get("channels")
        if (
            not isinstance(name, str)
            or not name.startswith(CUSTOM_PREFIX)
            or len(name) > 100
            or not isinstance(spec.get("label"), str)
            or not isinstance(channels, list)
            or not set(channels) <= set(switchable)
        ):
            raise ImproperlyConfigured(
                f"NOTIFICATIONS_CUSTOM_TYPES[{name!r}] must be named {CUSTOM_PREFIX}<key> (at most 100 characters) "
                f"and be {{'label': str, 'channels': a list of {', '.join(switchable)}}}."
            )
        types[name] = EventType(
            label=spec["label"],
            build=_custom,
            # Every channel is listed, so the recipient can switch on what the type leaves off.
            defaults={channel: channel in channels for channel in switchable},
        )
    return types


# Not digestible: a digest words new-rating entries, and a marketplace's notice is a one-off.
CUSTOM_TYPES = custom_types(settings.NOTIFICATIONS_CUSTOM_TYPES)
CUSTOM_TYPE_NAMES = tuple(sorted(CUSTOM_TYPES))
