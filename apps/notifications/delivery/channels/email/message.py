"""Email content: rendering, stable Message-ID, one-click unsubscribe (RFC 8058).

The transport (SMTP sessions, relays, failure classes) is ``channels.email``.
"""

from datetime import datetime

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.template.loader import select_template
from django.urls import reverse

from apps.notifications.events import EVENT_TYPES, RATING_CREATED
from apps.notifications.models import NOTICE_KEY, Channel, Delivery, RatingEmails
from apps.notifications.periods import zone_of

UNSUBSCRIBE_SALT = "notifications.unsubscribe"


def unsubscribe_token(*, recipient_id, event_type: str, channel: str = Channel.EMAIL) -> str:
    return signing.dumps({"r": str(recipient_id), "t": event_type, "c": channel}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_token_read(token: str) -> dict:
    """The signed ``{"r", "t", "c"}`` payload; raises ``signing.BadSignature`` if tampered with."""
    return signing.loads(token, salt=UNSUBSCRIBE_SALT)


def unsubscribe_url(*, recipient_id, event_type: str) -> str:
    token = unsubscribe_token(recipient_id=recipient_id, event_type=event_type)
    path = reverse("notifications-unsubscribe", kwargs={"token": token})
    return settings.NOTIFICATIONS_PUBLIC_BASE_URL.rstrip("/") + path


def _render(event_type: str, suffix: str, context: dict) -> str:
    slug = event_type.replace(".", "_")
    names = [f"notifications/email/{slug}.{suffix}", f"notifications/email/default.{suffix}"]
    return select_template(names).render(context)


def email_message(delivery: Delivery) -> EmailMultiAlternatives:
    if delivery.notification_id is None and "digest" in (delivery.payload or {}):
        return _digest_message(delivery)
    # The inbox item's content, or its copy on the delivery when the inbox is switched off.
    content = delivery.content
    event_type = content["type"]
    spec = EVENT_TYPES.get(event_type)
    headers = {"Message-ID": f"<{delivery.message_id}@{settings.NOTIFICATIONS_EMAIL_DOMAIN}>"}
    link = ""
    # A critical email cannot be unsubscribed from, so it offers no link to do so.
    if spec is None or not spec.critical:
        link = unsubscribe_url(recipient_id=delivery.recipient_id, event_type=event_type)
        headers |= {"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    context = {
        "notification": content,
        "data": content["data"],
        "unsubscribe_url": link,
        # The email delivery's own payload: what only this email carries (an account link).
        "secret": {key: value for key, value in (delivery.payload or {}).items() if key != NOTICE_KEY},
    }
    message = EmailMultiAlternatives(
        subject=content["title"],
        body=_render(event_type, "txt", context),
        to=[delivery.address],
        headers=headers,
    )
    message.attach_alternative(_render(event_type, "html", context), "text/html")
    return message


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def digest_subject(content: dict) -> str:
    """``3 new ratings today, Mon 30 Nov 2026`` / ``… 14:00-15:00 CET, Mon 30 Nov 2026``, local times."""
    zone = zone_of(content["time_zone"])
    start = datetime.fromisoformat(content["period_start"]).astimezone(zone)
    end = datetime.fromisoformat(content["period_end"]).astimezone(zone)
    ratings = _plural(len(content["ratings"]), "new rating")
    if content["frequency"] == RatingEmails.DAILY:
        return f"Your daily digest: {ratings} on {start:%a %d %b %Y}"
    return f"Your hourly digest: {ratings}, {start:%H:%M}-{end:%H:%M} {end:%Z} on {start:%a %d %b %Y}"


def _digest_message(delivery: Delivery) -> EmailMultiAlternatives:
    """One email for a closed digest (``intake.digests``), from the content frozen at closing."""
    content = delivery.payload["digest"]
    zone = zone_of(content["time_zone"])
    link = unsubscribe_url(recipient_id=delivery.recipient_id, event_type=RATING_CREATED)
    context = {
        "subject": digest_subject(content),
        "ratings": [
            # Formatted here: a template's time filter would convert it to the server's zone.
            {**rating, "local_time": f"{datetime.fromisoformat(rating['occurred_at']).astimezone(zone):%H:%M}"}
            for rating in content["ratings"]
        ],
        "summary": content["summary"],
        "time_zone": content["time_zone"],
        "unsubscribe_url": link,
    }
    message = EmailMultiAlternatives(
        subject=context["subject"],
        body=select_template(["notifications/email/digest.txt"]).render(context),
        to=[delivery.address],
        headers={
            "Message-ID": f"<{delivery.message_id}@{settings.NOTIFICATIONS_EMAIL_DOMAIN}>",
            "List-Unsubscribe": f"<{link}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(select_template(["notifications/email/digest.html"]).render(context), "text/html")
    return message
