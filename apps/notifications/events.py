"""The notice types: what each kind of notice says to its recipient, its channels and defaults.

The intake's handlers (``apps.notifications.intake.handlers``) decide which notices a published
event makes; the builders here word one recipient's notice from plain data, never looking
anything up in another app. The intake calls a builder under ``translation.override`` of the
recipient's language and passes their time zone (``recipient_time_zone``): every text here is a
message of ``locale/<lang>/LC_MESSAGES/django.po``, English being the source. These names are
what users switch channels of and subscribe webhooks to (the API's ``EventTypeEnum``) and each
inbox item's ``type``.
"""

from datetime import UTC, datetime
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import dateformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, pgettext

from apps.notifications import account_notices
from apps.notifications.custom_notices import CUSTOM_TYPES
from apps.notifications.models import Channel
from apps.notifications.notice import EventType, Notice

RATING_CREATED = "rating.created"
RATING_UPDATED = "rating.updated"
RATING_HELD = "rating.held"
RATING_MODERATED = "rating.moderated"
RATING_REPLIED = "rating.replied"
REPLY_MODERATED = "reply.moderated"
# Not a notice: the rating is gone, and so are the notices about it not yet delivered.
RATING_DELETED = "rating.deleted"
RATING_INVITED = "rating.invited"
# A marketplace (partner) reported a rating of its own system for one of its providers.
PARTNER_NOTIFICATION = "partner.notification"
RATING_INVITATION_REMINDER = "rating.invitation_reminder"
WEBHOOK_DISABLED = "webhook.disabled"
# Sent to one endpoint on its owner's request; never an inbox item.
WEBHOOK_TEST = "webhook.test"
# Account emails (published by apps.accounts): critical, email only.
ACCOUNT_PASSWORD_RESET = "account.password_reset"
ACCOUNT_EMAIL_VERIFY = "account.email_verify"
ACCOUNT_EXPORT_READY = "account.export_ready"
# Not a notice: the account is erased, and so is everything kept here for it (ingest).
ACCOUNT_DELETED = "account.deleted"
# Not a notice: the language the account's notices are worded in (``intake.locales`` keeps it).
ACCOUNT_LOCALE_SET = "account.locale_set"
PUBLISHED, PENDING_REVIEW, HIDDEN = "published", "pending_review", "hidden"
# Not a notice: staff or a partner triggered a notice of a declared custom type (the payload's
# ``type``, one of ``CUSTOM_TYPE_NAMES``), worded by the caller.
NOTIFICATION_TRIGGERED = "notification.triggered"


def _stars(score: int) -> str:
    return _("%(score)s-star") % {"score": score}


def _day(iso: str, time_zone: str | None) -> str:
    """The day of an ISO 8601 instant in the reader's zone and language's date format
    (``2026-12-31`` in English); the text as published when it is not an instant."""
    try:
        moment = datetime.fromisoformat(iso)
        zone = ZoneInfo(time_zone or "UTC")
    except (TypeError, ValueError, ZoneInfoNotFoundError):
        return str(iso)[:10]
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return dateformat.format(moment.astimezone(zone), pgettext("a day (Django date format)", "Y-m-d"))


def _reason(reason: str) -> str:
    return _("Reason: %(reason)s") % {"reason": reason} if reason else ""


def _rating_data(data: dict) -> dict:
    return {key: data[key] for key in ("rating_id", "provider_id", "score") if key in data}


def _summary(data: dict) -> dict | None:
    summary = data.get("summary")
    if not isinstance(summary, dict):
        return None
    count, total = summary.get("count"), summary.get("sum")
    if type(count) is not int or type(total) is not int:
        return None
    return {"count": count, "sum": total}


def _rating_created(data: dict) -> list[Notice]:
    # Held or hidden ratings (moderation) must not announce themselves.
    if data.get("status") != PUBLISHED:
        return []
    return [
        Notice(
            recipient_id=UUID(data["recipient_user_id"]),
            title=_("New %(stars)s rating from %(name)s")
            % {"stars": _stars(data["score"]), "name": data["customer_name"]},
            body=data.get("comment_excerpt", ""),
            # The rater's name too: digests and webhook payloads word their entries from the item.
            data={**_rating_data(data), "customer_name": data["customer_name"]},
            email=data.get("recipient_email", ""),
            summary=_summary(data),
        )
    ]


def _rating_updated(data: dict) -> list[Notice]:
    newly_verified = data.get("previous_verified") is False and data.get("verified") is True
    score_changed = data.get("previous_score") != data.get("score")
    if data.get("status") != PUBLISHED or not (score_changed or newly_verified):
        return []
    words = {
        "name": data["customer_name"],
        "stars": _stars(data["score"]),
        "score": data["score"],
        "previous": _stars(data["previous_score"]) if score_changed else "",
        "previous_score": data["previous_score"],
    }
    if score_changed and newly_verified:
        title = _("%(name)s changed their rating from %(previous)s to %(stars)s (now verified)") % words
    elif score_changed:
        title = _("%(name)s changed their rating from %(previous)s to %(stars)s") % words
    else:
        title = _("%(name)s's %(stars)s rating is now verified") % words
    extra = {"previous_score": data.get("previous_score")}
    if newly_verified:
        extra["verified"] = True
    return [
        Notice(
            recipient_id=UUID(data["recipient_user_id"]),
            title=title,
            body=data.get("comment_excerpt", ""),
            data={**_rating_data(data), **extra},
            email=data.get("recipient_email", ""),
        )
    ]


def _notice(data: dict, *, title: str, body: str, **extra) -> list[Notice]:
    return [
        Notice(
            recipient_id=UUID(data["recipient_user_id"]),
            title=title,
            body=body,
            data={**_rating_data(data), **extra},
            email=data.get("recipient_email", ""),
        )
    ]


def _rating_held(data: dict) -> list[Notice]:
    return _notice(
        data,
        title=_("A new %(stars)s rating from %(name)s is awaiting review")
        % {"stars": _stars(data["score"]), "name": data["customer_name"]},
        body=_("Staff review it before it is shown; you will be told when it is published."),
    )


# Functions, not strings: each title is translated when a notice is built, in its reader's language.
_AUTHOR_TITLES = {
    PUBLISHED: lambda: _("Your rating of %(provider_name)s is published"),
    HIDDEN: lambda: _("Your rating of %(provider_name)s was hidden"),
    PENDING_REVIEW: lambda: _("Your rating of %(provider_name)s is being reviewed"),
}
_PROVIDER_TITLES = {
    PUBLISHED: lambda: _("A %(stars)s rating from %(customer_name)s is published"),
    HIDDEN: lambda: _("A %(stars)s rating from %(customer_name)s was hidden"),
    PENDING_REVIEW: lambda: _("A %(stars)s rating from %(customer_name)s is being reviewed"),
}


def _rating_moderated(data: dict) -> list[Notice]:
    titles = _AUTHOR_TITLES if data.get("recipient_role") == "author" else _PROVIDER_TITLES
    template = titles.get(data.get("status", ""))
    if template is None:
        return []
    title = template() % {
        "provider_name": data.get("provider_name") if "provider_name" in data else _("the provider"),
        "customer_name": data.get("customer_name") if "customer_name" in data else _("a customer"),
        "stars": _stars(data["score"]),
    }
    reason = data.get("reason", "")
    return _notice(
        data,
        title=title,
        body=_reason(reason),
        status=data.get("status"),
        previous_status=data.get("previous_status"),
        reason=reason,
    )


def _rating_replied(data: dict) -> list[Notice]:
    return _notice(
        data,
        title=_("%(name)s replied to your rating")
        % {"name": data["provider_name"] if "provider_name" in data else _("The provider")},
        body=data.get("reply_excerpt", ""),
    )


_REPLY_TITLES = {
    PUBLISHED: lambda: _("Your reply to %(customer_name)s's rating is published"),
    HIDDEN: lambda: _("Your reply to %(customer_name)s's rating was hidden"),
    PENDING_REVIEW: lambda: _("Your reply to %(customer_name)s's rating is being reviewed"),
}


def _reply_moderated(data: dict) -> list[Notice]:
    template = _REPLY_TITLES.get(data.get("reply_status", ""))
    if template is None:
        return []
    reason = data.get("reason", "")
    return _notice(
        data,
        title=template() % {"customer_name": data["customer_name"] if "customer_name" in data else _("a customer")},
        body=_reason(reason),
        reply_id=data.get("reply_id"),
        reply_status=data.get("reply_status"),
        previous_reply_status=data.get("previous_reply_status"),
        reason=reason,
    )


INVITATION_KEYS = ("invitation_id", "provider_id", "provider_name", "expires_at", "url")


def _rating_invited(data: dict) -> list[Notice]:
    provider_name = data["provider_name"]
    return [
        Notice(
            recipient_id=UUID(data["recipient_user_id"]),
            title=_("Rate %(name)s: your rating will be verified") % {"name": provider_name},
            body=_(
                "%(name)s did a job for you. Rate it (or update your rating) with this invitation "
                "before %(day)s and it is shown as verified."
            )
            % {"name": provider_name, "day": _day(data["expires_at"], data.get("recipient_time_zone"))},
            # What the client's rating form needs; the link is not a credential (the invitation
            # works only with the customer's own sign-in).
            data={key: str(data[key]) for key in INVITATION_KEYS},
            email=data.get("recipient_email", ""),
        )
    ]


PARTNER_NOTIFICATION_KEYS = ("notification_id", "partner_id", "provider_id", "rating_ref", "score", "customer_name")


def _partner_notification(data: dict) -> list[Notice]:
    score = data["score"]
    if type(score) is not int:
        raise TypeError("score must be an integer")
    customer_name = data.get("customer_name", "")
    words = {"stars": _stars(score), "name": customer_name, "partner": data["partner_name"]}
    if customer_name:
        title = _("New %(stars)s rating received from %(name)s (via %(partner)s)") % words
    else:
        title = _("New %(stars)s rating received (via %(partner)s)") % words
    return [
        Notice(
            recipient_id=UUID(data["provider_user_id"]),
            title=title,
            body=data.get("comment_excerpt", ""),
            data={key: data[key] for key in PARTNER_NOTIFICATION_KEYS if key in data},
            email=data.get("provider_email", ""),
        )
    ]


def _rating_invitation_reminder(data: dict) -> list[Notice]:
    provider_name = data["provider_name"]
    return [
        Notice(
            recipient_id=UUID(data["recipient_user_id"]),
            title=_("Reminder: rate %(name)s") % {"name": provider_name},
            body=_(
                "You have not rated the job %(name)s did for you yet. Your invitation works until "
                "%(day)s; a rating made with it is shown as verified."
            )
            % {"name": provider_name, "day": _day(data["expires_at"], data.get("recipient_time_zone"))},
            data={key: str(data[key]) for key in INVITATION_KEYS},
            email=data.get("recipient_email", ""),
        )
    ]


def _webhook_disabled(data: dict) -> list[Notice]:
    return [
        Notice(
            recipient_id=UUID(data["recipient_user_id"]),
            title=_("Webhook endpoint %(url)s was disabled") % {"url": data["url"]},
            body=_("Reason: %(reason)s. Fix the endpoint, then recover its deliveries through the API.")
            % {"reason": data["reason"]},
            data={key: data[key] for key in ("endpoint_id", "url", "reason")},
        )
    ]


EVENT_TYPES: dict[str, EventType] = {
    RATING_CREATED: EventType(
        label=gettext_noop("New rating"),
        build=_rating_created,
        defaults={Channel.IN_APP: True, Channel.EMAIL: True, Channel.PUSH: True},
        digestible=True,
    ),
    RATING_UPDATED: EventType(
        label=gettext_noop("Rating changed"),
        build=_rating_updated,
        defaults={Channel.IN_APP: True, Channel.EMAIL: False, Channel.PUSH: False},
    ),
    RATING_HELD: EventType(
        label=gettext_noop("Rating awaiting review"),
        build=_rating_held,
        defaults={Channel.IN_APP: True, Channel.EMAIL: False, Channel.PUSH: False},
    ),
    RATING_MODERATED: EventType(
        label=gettext_noop("Moderation decision"),
        build=_rating_moderated,
        defaults={Channel.IN_APP: True, Channel.EMAIL: True, Channel.PUSH: True},
    ),
    RATING_REPLIED: EventType(
        label=gettext_noop("Reply to your rating"),
        build=_rating_replied,
        defaults={Channel.IN_APP: True, Channel.EMAIL: True, Channel.PUSH: True},
    ),
    REPLY_MODERATED: EventType(
        label=gettext_noop("Moderation of your reply"),
        build=_reply_moderated,
        defaults={Channel.IN_APP: True, Channel.EMAIL: True, Channel.PUSH: False},
    ),
    RATING_INVITED: EventType(
        label=gettext_noop("Invitation to a verified rating"),
        build=_rating_invited,
        defaults={Channel.IN_APP: True, Channel.EMAIL: True, Channel.PUSH: True},
    ),
    PARTNER_NOTIFICATION: EventType(
        label=gettext_noop("Rating reported by a marketplace"),
        build=_partner_notification,
        defaults={Channel.IN_APP: True, Channel.EMAIL: True, Channel.PUSH: True},
    ),
    # Published by the ratings app's reminder sweep straight to the outbox (one per invitation).
    RATING_INVITATION_REMINDER: EventType(
        label=gettext_noop("Reminder of an invitation to a verified rating"),
        build=_rating_invitation_reminder,
        defaults={Channel.IN_APP: True, Channel.EMAIL: True, Channel.PUSH: False},
    ),
    WEBHOOK_DISABLED: EventType(
        label=gettext_noop("Webhook endpoint disabled"),
        build=_webhook_disabled,
        defaults={Channel.IN_APP: True, Channel.PUSH: True},
        critical=True,
    ),
    # Preferences cannot switch these off: an account must always be able to reset its
    # password and confirm its address.
    ACCOUNT_PASSWORD_RESET: EventType(
        label=gettext_noop("Password reset"),
        build=account_notices.password_reset,
        defaults={Channel.EMAIL: True},
        critical=True,
        email_only=True,
    ),
    ACCOUNT_EMAIL_VERIFY: EventType(
        label=gettext_noop("Email address confirmation"),
        build=account_notices.email_verify,
        defaults={Channel.EMAIL: True},
        critical=True,
        email_only=True,
    ),
    # The link to the archive the user asked for: they cannot have switched it off.
    ACCOUNT_EXPORT_READY: EventType(
        label=gettext_noop("Data export ready"),
        build=account_notices.export_ready,
        defaults={Channel.EMAIL: True},
        critical=True,
        email_only=True,
    ),
}


EVENT_TYPES.update(CUSTOM_TYPES)

EXTERNAL_CHANNELS = (Channel.EMAIL,)
# The event types users subscribe webhooks to and switch channels of (the API's EventTypeEnum).
EVENT_TYPE_NAMES = sorted(EVENT_TYPES)
