"""The notifications app's part of a user's data export (``apps.core.exports``).

A remote part: the main deployment's worker may not reach the notifications database (the
split topology), so the export asks through the outbox, by name, with an
``account.export_part_requested`` event; the worker that consumes the notifications queue (the
monolith's, or the notifications deployment's) reads the sections here, from the notifications
database, and sends them back to the task the request names. The same path in both topologies.

Webhook endpoints go without their signing secrets and devices without their push tokens: both
are credentials, and the archive travels as a mailed link.
"""

import logging

from celery import current_app

from apps.notifications.db import notifications_db
from apps.notifications.models import (
    Delivery,
    Device,
    Notification,
    NotificationPreference,
    NotificationSchedule,
    WebhookEndpoint,
)

logger = logging.getLogger(__name__)

PART = "notifications"
SECTIONS_TASK = "notifications.data_export_sections"
REQUEST_TYPE = ("account.export_part_requested", 1)


def _iso(value):
    return value.isoformat() if value is not None else None


def inbox_export(recipient_id) -> list[dict]:
    rows = Notification.objects.using(notifications_db()).filter(recipient_id=recipient_id).order_by("created_at", "id")
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


def deliveries_export(recipient_id) -> list[dict]:
    rows = Delivery.objects.using(notifications_db()).filter(recipient_id=recipient_id).order_by("created_at", "id")
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


def devices_export(recipient_id) -> list[dict]:
    rows = Device.objects.using(notifications_db()).filter(recipient_id=recipient_id).order_by("created_at", "id")
    return [{"id": str(d.pk), "platform": d.platform, "created_at": _iso(d.created_at)} for d in rows]


def webhook_endpoints_export(recipient_id) -> list[dict]:
    rows = (
        WebhookEndpoint.objects.using(notifications_db()).filter(recipient_id=recipient_id).order_by("created_at", "id")
    )
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


def preferences_export(recipient_id) -> dict:
    db = notifications_db()
    schedule = NotificationSchedule.objects.using(db).filter(recipient_id=recipient_id).first()
    switches = (
        NotificationPreference.objects.using(db).filter(recipient_id=recipient_id).order_by("event_type", "channel")
    )
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


def export_sections(*, recipient_id) -> dict[str, object]:
    """This app's sections of ``recipient_id``'s archive, by name."""
    return {section: EXPORTERS[section](recipient_id) for section in sorted(EXPORTERS)}


def export_requests_answer(*, envelopes: list[dict]) -> int:
    """Answer each request for this app's part: its sections, sent by name to the reply task.

    Not confirmed here: the reply confirms the request where the outbox lives, so a request
    whose answer is lost on the way (a worker dying, a broker losing the message) is sent again
    and answered again (the reply is idempotent). A request that is not one (another type or
    version, a malformed body) is logged and left unconfirmed, for staff to see once it is dead.
    Returns how many were answered.
    """
    answered = 0
    for envelope in envelopes:
        data = envelope.get("data") if isinstance(envelope, dict) else None
        keys = ("export_id", "recipient_user_id", "part", "reply_task", "reply_queue")
        if (
            not isinstance(data, dict)
            or (envelope.get("type"), envelope.get("version")) != REQUEST_TYPE
            or not isinstance(envelope.get("id"), str)
            or not all(isinstance(data.get(key), str) for key in keys)
            or data["part"] != PART
        ):
            logger.warning("notifications: not a request for our export part, skipped: %r", envelope)
            continue
        sections = export_sections(recipient_id=data["recipient_user_id"])
        current_app.send_task(
            data["reply_task"],
            kwargs={"export_id": data["export_id"], "part": PART, "sections": sections, "request_id": envelope["id"]},
            queue=data["reply_queue"],
        )
        answered += 1
    return answered
