"""Email content: rendering, stable Message-ID, one-click unsubscribe (RFC 8058).

The transport (SMTP sessions, relays, failure classes) is ``channels.email``.
"""

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.template.loader import select_template
from django.urls import reverse
from django.utils import dateformat, formats, translation
from django.utils.translation import gettext, ngettext, pgettext

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
    # In the language the delivery was made for (its notice's subject and text were worded in
    # it at ingest, a digest's at closing): no lookup per email.
    locale = delivery.locale if delivery.locale in dict(settings.LANGUAGES) else "en"
    with translation.override(locale):
        if delivery.notification_id is None and "digest" in (delivery.payload or {}):
            return _digest_message(delivery)
        return _notice_message(delivery)


def _notice_message(delivery: Delivery) -> EmailMultiAlternatives:
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


def _day(moment: datetime) -> str:
    # The date format is itself a message: each language writes a day its own way.
    return dateformat.format(moment, pgettext("digest day (Django date format)", "D d M Y"))


def digest_subject(content: dict) -> str:
    """``Your daily digest: 3 new ratings on Mon 30 Nov 2026`` / ``Your hourly digest: 1 new
    rating, 14:00-15:00 CET on Mon 30 Nov 2026``: local times, in the active language."""
    zone = zone_of(content["time_zone"])
    start = datetime.fromisoformat(content["period_start"]).astimezone(zone)
    end = datetime.fromisoformat(content["period_end"]).astimezone(zone)
    count = len(content["ratings"])
    ratings = ngettext("%(count)d new rating", "%(count)d new ratings", count) % {"count": count}
    if content["frequency"] == RatingEmails.DAILY:
        return gettext("Your daily digest: %(ratings)s on %(day)s") % {"ratings": ratings, "day": _day(start)}
    return gettext("Your hourly digest: %(ratings)s, %(start)s-%(end)s %(zone)s on %(day)s") % {
        "ratings": ratings,
        "start": f"{start:%H:%M}",
        "end": f"{end:%H:%M}",
        "zone": f"{end:%Z}",
        "day": _day(start),
    }


def _number(value):
    """An average as the reader's language writes it (``4.5`` / ``4,5``); None stays None."""
    if value is None:
        return None
    try:
        return formats.number_format(Decimal(str(value)), use_l10n=True)
    except (InvalidOperation, ValueError):
        return value


def _summary(summary: dict | None) -> dict | None:
    if not summary:
        return summary
    return {
        side: {**values, "average": _number(values.get("average"))} if isinstance(values, dict) else values
        for side, values in summary.items()
    }


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
        "summary": _summary(content["summary"]),
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
