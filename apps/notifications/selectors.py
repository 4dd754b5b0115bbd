"""Reads of the notifications app. Recipients are user ids (UUIDs), never user rows."""

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

from django.db.models import Count, Q, QuerySet

from apps.core.exceptions import NotFound
from apps.notifications.events import EVENT_TYPES
from apps.notifications.models import (
    NOTICE_KEY,
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Device,
    Notification,
    NotificationPreference,
    NotificationSchedule,
    RecipientLocale,
    WebhookEndpoint,
)


def notification_list(
    *, recipient_id: UUID, unread: bool | None = None, type: str | None = None, archived: bool = False
) -> QuerySet:
    """The recipient's inbox (or, ``archived=True``, their archive), newest first."""
    queryset = Notification.objects.filter(recipient_id=recipient_id, archived_at__isnull=not archived)
    if unread is True:
        queryset = queryset.filter(read_at__isnull=True)
    elif unread is False:
        queryset = queryset.filter(read_at__isnull=False)
    if type:
        queryset = queryset.filter(type=type)
    return queryset.order_by("-created_at", "-id")


def notification_unread_count(*, recipient_id: UUID) -> int:
    """Unread items of the inbox (archived ones do not count)."""
    inbox = Notification.objects.filter(recipient_id=recipient_id, archived_at__isnull=True)
    return inbox.filter(read_at__isnull=True).count()


def recipient_locale(*, recipient_id: UUID) -> str | None:
    """The language the recipient's notices are worded in, as the accounts app last published
    it; ``None`` if it never did (their notices are in English)."""
    return RecipientLocale.objects.filter(recipient_id=recipient_id).values_list("locale", flat=True).first()


def notification_counts(*, recipient_id: UUID) -> dict[str, int]:
    """Several badges in one query: unread and unseen items of the inbox, archived items, all items."""
    inbox = Q(archived_at__isnull=True)
    return Notification.objects.filter(recipient_id=recipient_id).aggregate(
        unread=Count("pk", filter=inbox & Q(read_at__isnull=True)),
        unseen=Count("pk", filter=inbox & Q(seen_at__isnull=True)),
        archived=Count("pk", filter=Q(archived_at__isnull=False)),
        total=Count("pk"),
    )


def notifications_after(
    *, recipient_id: UUID, since: datetime, exclude: Iterable[UUID] = (), limit: int | None
) -> list[Notification]:
    """The recipient's items created at or after ``since`` but those in ``exclude``, oldest first,
    at most ``limit`` (the live stream: new items and missed ones, archived or not)."""
    queryset = Notification.objects.filter(recipient_id=recipient_id, created_at__gte=since)
    exclude = list(exclude)
    if exclude:
        queryset = queryset.exclude(pk__in=exclude)
    queryset = queryset.order_by("created_at", "id")
    return list(queryset if limit is None else queryset[:limit])


def notification_get(*, recipient_id: UUID, notification_id: UUID) -> Notification:
    """The recipient's own notification; anyone else's is 404, never 403."""
    notification = Notification.objects.filter(pk=notification_id, recipient_id=recipient_id).first()
    if notification is None:
        raise NotFound()
    return notification


def preference_list(*, recipient_id: UUID) -> list[dict]:
    """Every (event type, channel) switch with its effective value: the choice made, else the default."""
    chosen = {
        (p.event_type, p.channel): p.enabled for p in NotificationPreference.objects.filter(recipient_id=recipient_id)
    }
    return [
        {
            "event_type": event_type,
            "label": spec.label,
            "channel": channel,
            "enabled": spec.critical or chosen.get((event_type, channel), default),
            "critical": spec.critical,
        }
        for event_type, spec in EVENT_TYPES.items()
        for channel, default in spec.defaults.items()
    ]


def preference_enabled(*, recipient_id: UUID, event_type: str, channel: Channel | str) -> bool:
    spec = EVENT_TYPES.get(event_type)
    if spec is None:
        return False
    if spec.critical:
        return True
    chosen = (
        NotificationPreference.objects.filter(recipient_id=recipient_id, event_type=event_type, channel=channel)
        .values_list("enabled", flat=True)
        .first()
    )
    return spec.defaults.get(channel, False) if chosen is None else chosen


def preferences_chosen(*, recipient_ids: Iterable[UUID], event_types: Iterable[str]) -> dict[tuple, bool]:
    """Explicit choices of many recipients at once: ``{(recipient_id, event_type, channel): enabled}``."""
    rows = NotificationPreference.objects.filter(
        recipient_id__in=list(recipient_ids), event_type__in=list(event_types)
    ).values_list("recipient_id", "event_type", "channel", "enabled")
    return {(recipient_id, event_type, channel): enabled for recipient_id, event_type, channel, enabled in rows}


def channel_enabled(*, chosen: dict[tuple, bool], recipient_id: UUID, event_type: str, channel: str) -> bool:
    """``preference_enabled`` over choices read in bulk by ``preferences_chosen``."""
    spec = EVENT_TYPES.get(event_type)
    if spec is None:
        return False
    if spec.critical:
        return True
    return chosen.get((recipient_id, event_type, channel), spec.defaults.get(channel, False))


def webhook_list(*, recipient_id: UUID) -> QuerySet:
    return WebhookEndpoint.objects.filter(recipient_id=recipient_id).order_by("-created_at", "-id")


def webhook_get(*, recipient_id: UUID, endpoint_id: UUID) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id, recipient_id=recipient_id).first()
    if endpoint is None:
        raise NotFound()
    return endpoint


def delivery_list(
    *,
    recipient_id: UUID,
    status: str | None = None,
    channel: str | None = None,
    endpoint: UUID | None = None,
    event_type: str | None = None,
) -> QuerySet:
    """The recipient's delivery log, newest first.

    A delivery's event type is where its send keeps it: a webhook's in its body (``type``), an
    email's or push's in its inbox item, or in the copy ingest kept when there is no item. The
    owner's log index (recipient, created_at) narrows first, so the JSON matches stay cheap.
    """
    queryset = Delivery.objects.filter(recipient_id=recipient_id).select_related("provider")
    if status:
        queryset = queryset.filter(status=status)
    if channel:
        queryset = queryset.filter(channel=channel)
    if endpoint:
        queryset = queryset.filter(endpoint_id=endpoint)
    if event_type:
        queryset = queryset.filter(
            Q(payload__type=event_type)
            | Q(**{f"payload__{NOTICE_KEY}__type": event_type})
            | Q(notification__type=event_type)
        )
    return queryset.order_by("-created_at", "-id")


def delivery_attempts(*, recipient_id: UUID, delivery_id: UUID) -> list[dict]:
    """Each attempt of one of the recipient's deliveries, oldest first.

    A first send that succeeded writes no attempt row (the delivery pipeline saves that insert
    on its commonest path, ``delivery.records``): the delivery row holds all of it (time,
    status code, duration), so that attempt is answered from the row, without a response excerpt.
    """
    delivery = delivery_get(recipient_id=recipient_id, delivery_id=delivery_id)
    rows = list(
        DeliveryAttempt.objects.filter(delivery_id=delivery.pk)
        .order_by("created_at", "number", "id")
        .values("number", "created_at", "outcome", "status_code", "response_excerpt", "duration_ms", "error")
    )
    if not rows and delivery.status == DeliveryStatus.SENT and delivery.attempts == 1:
        rows = [
            {
                "number": 1,
                "created_at": delivery.last_attempt_at or delivery.sent_at,
                "outcome": "sent",
                "status_code": delivery.response_status,
                "response_excerpt": "",
                "duration_ms": delivery.last_duration_ms,
                "error": "",
            }
        ]
    return rows


def delivery_get(*, recipient_id: UUID, delivery_id: UUID) -> Delivery:
    delivery = Delivery.objects.filter(pk=delivery_id, recipient_id=recipient_id).select_related("provider").first()
    if delivery is None:
        raise NotFound()
    return delivery


def device_list(*, recipient_id: UUID) -> QuerySet:
    return Device.objects.filter(recipient_id=recipient_id).order_by("-created_at", "-id")


def device_get(*, recipient_id: UUID, device_id: UUID) -> Device:
    device = Device.objects.filter(pk=device_id, recipient_id=recipient_id).first()
    if device is None:
        raise NotFound()
    return device


def schedule_get(*, recipient_id: UUID) -> NotificationSchedule:
    """The recipient's schedule; an unsaved default one (UTC, immediate, no quiet hours) without a row."""
    return NotificationSchedule.objects.filter(recipient_id=recipient_id).first() or NotificationSchedule(
        recipient_id=recipient_id
    )


def schedules_of(*, recipient_ids: Iterable[UUID]) -> dict[UUID, NotificationSchedule]:
    """The saved schedules of many recipients at once; a recipient without one is absent."""
    return {s.recipient_id: s for s in NotificationSchedule.objects.filter(recipient_id__in=list(recipient_ids))}
