"""The notifications app's sections of a user's data export (``apps.core.exports``).

Read from the notifications database (its own when configured). Webhook endpoints go without
their signing secrets and devices without their push tokens: both are credentials, and the
archive travels as a mailed link.
"""

from apps.notifications.db import notifications_db
from apps.notifications.models import (
    Delivery,
    Device,
    Notification,
    NotificationPreference,
    NotificationSchedule,
    WebhookEndpoint,
)


def _iso(value):
    return value.isoformat() if value is not None else None


def inbox_export(user) -> list[dict]:
    rows = Notification.objects.using(notifications_db()).filter(recipient_id=user.pk).order_by("created_at", "id")
    return [
        {
            "id": str(n.pk),
            "type": n.type,
            "title": n.title,
            "body": n.body,
            "data": n.data,
            "created_at": _iso(n.created_at),
            "read_at": _iso(n.read_at),
            "seen_at": _iso(n.seen_at),
            "archived_at": _iso(n.archived_at),
        }
        for n in rows
    ]


def deliveries_export(user) -> list[dict]:
    rows = Delivery.objects.using(notifications_db()).filter(recipient_id=user.pk).order_by("created_at", "id")
    return [
        {
            "id": str(d.pk),
            "notification_id": str(d.notification_id) if d.notification_id else None,
            "channel": d.channel,
            # A push address is the device token (a credential): left out, as in ``devices``.
            "address": "" if d.channel == "push" else d.address,
            "endpoint_id": str(d.endpoint_id) if d.endpoint_id else None,
            "status": d.status,
            "attempts": d.attempts,
            "created_at": _iso(d.created_at),
            "sent_at": _iso(d.sent_at),
        }
        for d in rows
    ]


def devices_export(user) -> list[dict]:
    rows = Device.objects.using(notifications_db()).filter(recipient_id=user.pk).order_by("created_at", "id")
    return [{"id": str(d.pk), "platform": d.platform, "created_at": _iso(d.created_at)} for d in rows]


def webhook_endpoints_export(user) -> list[dict]:
    rows = WebhookEndpoint.objects.using(notifications_db()).filter(recipient_id=user.pk).order_by("created_at", "id")
    return [
        {
            "id": str(e.pk),
            "url": e.url,
            "description": e.description,
            "event_types": e.event_types,
            "enabled": e.enabled,
            "rate_per_second": e.rate_per_second,
            # The names only: a custom header's value is often the receiver's credential, kept
            # out of the archive as the signing secret is.
            "header_names": sorted(e.headers),
            "disabled_reason": e.disabled_reason,
            "created_at": _iso(e.created_at),
        }
        for e in rows
    ]


def preferences_export(user) -> dict:
    db = notifications_db()
    schedule = NotificationSchedule.objects.using(db).filter(recipient_id=user.pk).first()
    switches = NotificationPreference.objects.using(db).filter(recipient_id=user.pk).order_by("event_type", "channel")
    return {
        "switches": [{"event_type": p.event_type, "channel": p.channel, "enabled": p.enabled} for p in switches],
        "schedule": None
        if schedule is None
        else {
            "time_zone": schedule.time_zone,
            "rating_emails": schedule.rating_emails,
            "quiet_start": schedule.quiet_start.isoformat() if schedule.quiet_start else None,
            "quiet_end": schedule.quiet_end.isoformat() if schedule.quiet_end else None,
        },
    }


EXPORTERS = {
    "inbox": inbox_export,
    "deliveries": deliveries_export,
    "devices": devices_export,
    "webhook_endpoints": webhook_endpoints_export,
    "notification_preferences": preferences_export,
}
