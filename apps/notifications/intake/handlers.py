"""The intake's handlers: what each published event, by type and version, means here.

The publishers say what happened (``apps.ratings.events``, ``apps.accounts.events``,
``apps.partners.events``); this
registry, in the notifications deployment, decides who is told, with which text (the notice
types of ``apps.notifications.events``) and so through which channels, what an event cancels
and what it erases. ``events_ingest`` looks each envelope up by ``(type, version)`` and knows no
type by name. A change of who is told is a change here: it deploys with the notifications
worker, not with web.

Version 1 of the rating types is the shape the web deployment used to publish, one event per
recipient (``recipient_user_id`` and the rest): events of that shape may still sit in outboxes
and brokers after an upgrade, so they keep their handlers (``_LEGACY``) until the upgrade
notes' removal date.
"""

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from django.utils import translation

from apps.notifications.custom_notices import CUSTOM_TYPE_NAMES
from apps.notifications.events import (
    ACCOUNT_DELETED,
    ACCOUNT_EMAIL_VERIFY,
    ACCOUNT_EXPORT_READY,
    ACCOUNT_LOCALE_SET,
    ACCOUNT_PASSWORD_RESET,
    EVENT_TYPES,
    HIDDEN,
    NOTIFICATION_TRIGGERED,
    PARTNER_NOTIFICATION,
    PENDING_REVIEW,
    PUBLISHED,
    RATING_CREATED,
    RATING_DELETED,
    RATING_HELD,
    RATING_INVITATION_REMINDER,
    RATING_INVITED,
    RATING_MODERATED,
    RATING_REPLIED,
    RATING_UPDATED,
    REPLY_MODERATED,
    WEBHOOK_DISABLED,
    Notice,
)
from apps.notifications.intake.locales import reader_of

# The rating keys a recipient's notice is built from; the provider also sees the summary (a
# digest shows how it moved).
_RATING_FIELDS = ("rating_id", "provider_id", "customer_name", "score", "comment_excerpt", "status", "verified")
_PROVIDER_FIELDS = ("summary",)
_INVITATION_FIELDS = ("invitation_id", "provider_id", "provider_name", "expires_at", "url")


@dataclass(frozen=True)
class Cancels:
    """Deliveries about the event's rating (``data.rating_id``) that have not gone out are cancelled.

    ``notice_types`` None: of every notice type.
    """

    notice_types: tuple[str, ...] | None = None


def _no_notices(data: dict) -> list[Notice]:
    return []


def _no_cancel(data: dict) -> Cancels | None:
    return None


@dataclass(frozen=True)
class Handler:
    """What the intake does with one (type, version) of event."""

    # Who is told what: one notice per recipient, each of a notice type (``Notice.type``).
    notices: Callable[[dict], list[Notice]] = _no_notices
    # What the event makes moot (``intake.cancellation``).
    cancels: Callable[[dict], Cancels | None] = _no_cancel
    # An account erased: acted on before the rest of the batch, which is scrubbed with it
    # (``intake.erasure``).
    erases: bool = False
    # Where the notices' text and channels come from, for the catalogue in docs/architecture.md.
    notice_types: tuple[str, ...] = field(default=())


def notices_of(notice_type: str, data: dict) -> list[Notice]:
    """The notices of ``notice_type`` that one recipient's ``data`` (``recipient_user_id``, …) makes,
    worded in the recipient's language, with dates in their time zone (``intake.locales``)."""
    reader = reader_of(data.get("recipient_user_id") or data.get("provider_user_id"))
    data = {**data, "recipient_time_zone": reader.time_zone}
    with translation.override(reader.locale):
        return [
            replace(notice, type=notice_type, locale=reader.locale) for notice in EVENT_TYPES[notice_type].build(data)
        ]


# --- Version 2: the publisher's event, the decision made here -----------------------------------


def _told(data: dict, role: str) -> bool:
    # An erased account is told nothing any more (the intake's scrub sets the flag false for one
    # erased after the event was published).
    return data.get(f"{role}_user_active", True) is not False


def _for_provider(data: dict, **extra) -> dict:
    return {
        **{key: data[key] for key in (*_RATING_FIELDS, *_PROVIDER_FIELDS) if key in data},
        "recipient_role": "provider",
        "recipient_user_id": data["provider_user_id"],
        "recipient_email": data.get("provider_email", ""),
        "recipient_name": data.get("provider_name", ""),
        **extra,
    }


def _for_author(data: dict, **extra) -> dict:
    return {
        **{key: data[key] for key in _RATING_FIELDS if key in data},
        "provider_name": data.get("provider_name", ""),
        "recipient_role": "author",
        "recipient_user_id": data["customer_user_id"],
        "recipient_email": data.get("customer_email", ""),
        "recipient_name": data.get("customer_name", ""),
        **extra,
    }


def _rating_created(data: dict) -> list[Notice]:
    # The provider hears of a public rating; one held by an automatic rule is "awaiting review".
    if not _told(data, "provider"):
        return []
    notice_type = {PUBLISHED: RATING_CREATED, PENDING_REVIEW: RATING_HELD}.get(data.get("status"))
    return notices_of(notice_type, _for_provider(data)) if notice_type else []


def _rating_updated(data: dict) -> list[Notice]:
    # A new score or a verification is news to the provider; a comment edit alone is not.
    if not _told(data, "provider"):
        return []
    extra = {"previous_score": data.get("previous_score")}
    if "previous_verified" in data:
        extra["previous_verified"] = data["previous_verified"]
    return notices_of(RATING_UPDATED, _for_provider(data, **extra))


def _rating_moderated(data: dict) -> list[Notice]:
    decision = {"previous_status": data.get("previous_status", ""), "reason": data.get("reason", "")}
    notices = []
    if _told(data, "provider"):
        if data.get("first_publication"):
            # Released from an automatic hold: the provider gets the normal "new rating" notice now.
            notices += notices_of(RATING_CREATED, _for_provider(data))
        else:
            notices += notices_of(RATING_MODERATED, _for_provider(data, **decision))
    if _told(data, "customer"):
        notices += notices_of(RATING_MODERATED, _for_author(data, **decision))
    return notices


def _rating_replied(data: dict) -> list[Notice]:
    if not _told(data, "customer"):
        return []
    extra = {"reply_excerpt": data.get("reply_excerpt", ""), "reply_created": data.get("reply_created")}
    return notices_of(RATING_REPLIED, _for_author(data, **extra))


def _reply_moderated(data: dict) -> list[Notice]:
    if not _told(data, "provider"):
        return []
    extra = {
        "reply_id": data["reply_id"],
        "reply_status": data["reply_status"],
        "previous_reply_status": data.get("previous_reply_status", ""),
        "reason": data.get("reason", ""),
    }
    return notices_of(REPLY_MODERATED, _for_provider(data, **extra))


def _invitation_notice(notice_type: str) -> Callable[[dict], list[Notice]]:
    """An invitation, or its reminder, tells the invited customer."""

    def notices(data: dict) -> list[Notice]:
        if not _told(data, "customer"):
            return []
        recipient = {
            **{key: data[key] for key in _INVITATION_FIELDS},
            "recipient_role": "customer",
            "recipient_user_id": data["customer_user_id"],
            "recipient_email": data.get("customer_email", ""),
            "recipient_name": data.get("customer_name", ""),
        }
        return notices_of(notice_type, recipient)

    return notices


def _partner_notification(data: dict) -> list[Notice]:
    # The partner's provider, as published (the partners app sent it only for a provider of its
    # own whose account exists); one erased since is told nothing.
    return notices_of(PARTNER_NOTIFICATION, data) if _told(data, "provider") else []


def _triggered(data: dict) -> list[Notice]:
    # A type no longer declared when the event arrives (removed by a deploy since) tells nobody:
    # its text and channels are gone with it. (An erased recipient's event never gets here: the
    # intake's scrub drops an event whose ``recipient_user_id`` is erased.)
    if data.get("type") not in CUSTOM_TYPE_NAMES:
        return []
    return notices_of(data["type"], data)


def _cancels_all_if_hidden(data: dict) -> Cancels | None:
    # A hidden rating's notices stop reaching mailboxes, webhooks and phones.
    return Cancels() if data.get("status") == HIDDEN else None


def _cancels_replies_if_hidden(data: dict) -> Cancels | None:
    # A hidden reply cancels the notices of the reply only.
    return Cancels(notice_types=(RATING_REPLIED,)) if data.get("reply_status") == HIDDEN else None


def _cancels_all(data: dict) -> Cancels | None:
    # A deleted rating tells nobody anything: it cancels what was not delivered about it.
    return Cancels()


_CURRENT: dict[tuple[str, int], Handler] = {
    (RATING_CREATED, 2): Handler(notices=_rating_created, notice_types=(RATING_CREATED, RATING_HELD)),
    (RATING_UPDATED, 2): Handler(notices=_rating_updated, notice_types=(RATING_UPDATED,)),
    (RATING_DELETED, 2): Handler(cancels=_cancels_all),
    (RATING_MODERATED, 2): Handler(
        notices=_rating_moderated, cancels=_cancels_all_if_hidden, notice_types=(RATING_MODERATED, RATING_CREATED)
    ),
    (RATING_REPLIED, 2): Handler(notices=_rating_replied, notice_types=(RATING_REPLIED,)),
    (REPLY_MODERATED, 2): Handler(
        notices=_reply_moderated, cancels=_cancels_replies_if_hidden, notice_types=(REPLY_MODERATED,)
    ),
    (RATING_INVITED, 2): Handler(notices=_invitation_notice(RATING_INVITED), notice_types=(RATING_INVITED,)),
    (RATING_INVITATION_REMINDER, 2): Handler(
        notices=_invitation_notice(RATING_INVITATION_REMINDER), notice_types=(RATING_INVITATION_REMINDER,)
    ),
    # The accounts app's events name their one recipient: the notice is theirs as published.
    (ACCOUNT_PASSWORD_RESET, 1): Handler(
        notices=lambda data: notices_of(ACCOUNT_PASSWORD_RESET, data), notice_types=(ACCOUNT_PASSWORD_RESET,)
    ),
    (ACCOUNT_EMAIL_VERIFY, 1): Handler(
        notices=lambda data: notices_of(ACCOUNT_EMAIL_VERIFY, data), notice_types=(ACCOUNT_EMAIL_VERIFY,)
    ),
    (ACCOUNT_EXPORT_READY, 1): Handler(
        notices=lambda data: notices_of(ACCOUNT_EXPORT_READY, data), notice_types=(ACCOUNT_EXPORT_READY,)
    ),
    (ACCOUNT_DELETED, 1): Handler(erases=True),
    # Tells no one: ``intake.locales`` records it before the batch's notices are worded.
    (ACCOUNT_LOCALE_SET, 1): Handler(),
    (PARTNER_NOTIFICATION, 1): Handler(notices=_partner_notification, notice_types=(PARTNER_NOTIFICATION,)),
    # Staff or a partner's trigger (apps.partners.triggers): the notice of its declared custom type.
    (NOTIFICATION_TRIGGERED, 1): Handler(notices=_triggered, notice_types=CUSTOM_TYPE_NAMES),
    # Made by the intake itself from delivery outcomes (``intake.outcomes``).
    (WEBHOOK_DISABLED, 1): Handler(
        notices=lambda data: notices_of(WEBHOOK_DISABLED, data), notice_types=(WEBHOOK_DISABLED,)
    ),
}


# --- Version 1: one event per recipient, decided by the publisher (before this registry) --------


def _as_published(notice_type: str) -> Callable[[dict], list[Notice]]:
    return lambda data: notices_of(notice_type, data)


_LEGACY: dict[tuple[str, int], Handler] = {
    (RATING_CREATED, 1): Handler(notices=_as_published(RATING_CREATED), notice_types=(RATING_CREATED,)),
    (RATING_HELD, 1): Handler(notices=_as_published(RATING_HELD), notice_types=(RATING_HELD,)),
    (RATING_UPDATED, 1): Handler(notices=_as_published(RATING_UPDATED), notice_types=(RATING_UPDATED,)),
    (RATING_DELETED, 1): Handler(cancels=_cancels_all),
    (RATING_MODERATED, 1): Handler(
        notices=_as_published(RATING_MODERATED), cancels=_cancels_all_if_hidden, notice_types=(RATING_MODERATED,)
    ),
    (RATING_REPLIED, 1): Handler(notices=_as_published(RATING_REPLIED), notice_types=(RATING_REPLIED,)),
    (REPLY_MODERATED, 1): Handler(
        notices=_as_published(REPLY_MODERATED), cancels=_cancels_replies_if_hidden, notice_types=(REPLY_MODERATED,)
    ),
    (RATING_INVITED, 1): Handler(notices=_as_published(RATING_INVITED), notice_types=(RATING_INVITED,)),
    (RATING_INVITATION_REMINDER, 1): Handler(
        notices=_as_published(RATING_INVITATION_REMINDER), notice_types=(RATING_INVITATION_REMINDER,)
    ),
}

HANDLERS: dict[tuple[str, int], Handler] = {**_LEGACY, **_CURRENT}


def handler_for(envelope) -> Handler | None:
    """The handler of ``envelope``'s type and version (none: the event means nothing here).

    An envelope without a version predates versions: version 1.
    """
    if not isinstance(envelope, dict):
        return None
    version = envelope.get("version", 1)
    if type(version) is not int:
        return None
    return HANDLERS.get((envelope.get("type"), version))
