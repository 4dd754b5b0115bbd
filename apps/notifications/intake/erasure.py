"""Erasure on the notifications side: an ``account.deleted`` event, and the events still on
their way about the person it erased.

``account.deleted`` carries ``recipient_user_id`` and, from the apps that know them,
``rating_ids`` (the person's ratings as their author) and ``provider_id`` (their provider
profile, or null). Acting on it, in one transaction:

- everything kept *for* the person goes: inbox items, deliveries (and their log), digests,
  devices, webhook endpoints, preferences, schedule;
- everything kept *for others about* the person loses the person's name and words: items about
  their ratings or their profile get a title without the name and no body, their deliveries'
  stored bodies (webhook payloads, copies of the notice) and digest lines likewise;
- the ids are remembered (``ErasedSubject``), and every later batch is scrubbed with them
  before anything is built from it: an event published before the erasure and still queued
  (or sent again by the outbox relay) tells nobody the name again, and a notice for the erased
  account is not made at all.
"""

import logging
from uuid import UUID

from django.db import transaction
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from apps.notifications.db import notifications_db
from apps.notifications.events import ACCOUNT_DELETED, EVENT_TYPES, RATING_CREATED
from apps.notifications.intake.handlers import handler_for
from apps.notifications.intake.locales import DEFAULT_LOCALE, readers_of
from apps.notifications.models import (
    NOTICE_KEY,
    Delivery,
    Device,
    Digest,
    DigestItem,
    ErasedSubject,
    Notification,
    NotificationPreference,
    NotificationSchedule,
    RecipientLocale,
    WebhookEndpoint,
)
from apps.notifications.subscriptions.webhooks import endpoint_breakers_forget

logger = logging.getLogger(__name__)

# What stands in for an erased person (the same words the accounts app shows for them).
# The data keeps the English words (machine-read); a redacted title shows them translated.
ERASED_CUSTOMER_NAME = gettext_noop("Deleted user")
ERASED_PROVIDER_NAME = "Deleted provider"
# Envelope keys that hold each party's data, and what replaces it.
_CUSTOMER_VALUES = {"customer_name": ERASED_CUSTOMER_NAME, "customer_email": "", "comment_excerpt": ""}
_PROVIDER_VALUES = {"provider_name": ERASED_PROVIDER_NAME, "provider_email": "", "reply_excerpt": ""}
# Set whether or not the event carried them: the intake's handlers tell a party whose flag is
# false nothing (version 2 events name both parties; version 1 named only its recipient, and
# is dropped whole when that recipient is erased).
_CUSTOMER_FLAGS = {"customer_user_active": False}
_PROVIDER_FLAGS = {"provider_user_active": False}
_RECIPIENT_MODELS = (
    Delivery,
    Notification,
    DigestItem,
    Digest,
    Device,
    WebhookEndpoint,
    NotificationPreference,
    NotificationSchedule,
    RecipientLocale,
)


def _uuid(value) -> UUID | None:
    try:
        return UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def _data(envelope) -> dict:
    data = envelope.get("data") if isinstance(envelope, dict) else None
    return data if isinstance(data, dict) else {}


# --- Existing rows -----------------------------------------------------------------------------


def _redacted_item(*, type_: str, data: dict, customer: bool, provider: bool, locale: str) -> tuple[str, str, dict]:
    """The title, body and data an item about an erased party keeps; the title in the language
    the item was written in (its reader's)."""
    data = dict(data)
    if customer and "customer_name" in data:
        data["customer_name"] = ERASED_CUSTOMER_NAME
    if provider and "provider_name" in data:
        data["provider_name"] = ERASED_PROVIDER_NAME
    with translation.override(locale or DEFAULT_LOCALE):
        if type_ == RATING_CREATED and customer and isinstance(data.get("score"), int):
            title = _("New %(stars)s rating from %(name)s") % {
                "stars": _("%(score)s-star") % {"score": data["score"]},
                "name": _(ERASED_CUSTOMER_NAME),
            }
        else:
            spec = EVENT_TYPES.get(type_)
            label = _(spec.label) if spec else _("Notification")
            title = _("%(label)s (about an account since deleted)") % {"label": label}
    # The body is the person's words (a comment, a reply) or names them (an invitation).
    return title, "", data


def _redact_existing(*, user_id: UUID, rating_ids: list[str], provider_id: str | None, db: str) -> None:
    by_rating = Q(data__rating_id__in=rating_ids) if rating_ids else Q(pk__in=[])
    by_provider = Q(data__provider_id=provider_id) if provider_id else Q(pk__in=[])
    items = list(Notification.objects.using(db).filter(by_rating | by_provider).exclude(recipient_id=user_id))
    rating_set = set(rating_ids)
    redacted: dict = {}
    readers = readers_of({item.recipient_id for item in items}, db=db)
    for item in items:
        customer = str(item.data.get("rating_id")) in rating_set
        provider = provider_id is not None and str(item.data.get("provider_id")) == provider_id
        item.title, item.body, item.data = _redacted_item(
            type_=item.type,
            data=item.data,
            customer=customer,
            provider=provider,
            locale=readers[item.recipient_id].locale,
        )
        redacted[item.pk] = item
    Notification.objects.using(db).bulk_update(items, ["title", "body", "data"], batch_size=500)

    # Stored bodies: a webhook's payload ({"data": {…, "title", "body"}}) and the notice copy of a
    # delivery without an inbox item.
    payload_q = Q(notification_id__in=list(redacted))
    for key in ("data", NOTICE_KEY):
        if rating_ids:
            payload_q |= Q(**{f"payload__{key}__rating_id__in": rating_ids})
            payload_q |= Q(**{f"payload__{key}__data__rating_id__in": rating_ids})
        if provider_id:
            payload_q |= Q(**{f"payload__{key}__provider_id": provider_id})
            payload_q |= Q(**{f"payload__{key}__data__provider_id": provider_id})
    deliveries = list(Delivery.objects.using(db).filter(payload_q).exclude(recipient_id=user_id))
    for delivery in deliveries:
        payload = dict(delivery.payload)
        item = redacted.get(delivery.notification_id)
        notice = payload.get(NOTICE_KEY)
        if isinstance(notice, dict):
            type_ = str(notice.get("type", ""))
            data = notice.get("data") if isinstance(notice.get("data"), dict) else {}
            title, body, data = _redacted_item(
                type_=type_,
                data=data,
                customer=str(data.get("rating_id")) in rating_set,
                provider=provider_id is not None and str(data.get("provider_id")) == provider_id,
                locale=delivery.locale,
            )
            payload[NOTICE_KEY] = {**notice, "title": title, "body": body, "data": data}
        hook = payload.get("data")
        if isinstance(hook, dict):
            if item is not None:
                title, body, data = item.title, item.body, item.data
            else:
                title, body, data = _redacted_item(
                    type_=str(payload.get("type", "")),
                    data=hook,
                    customer=str(hook.get("rating_id")) in rating_set,
                    provider=provider_id is not None and str(hook.get("provider_id")) == provider_id,
                    locale=delivery.locale,
                )
            payload["data"] = {**data, "title": title, "body": body}
        delivery.payload = payload
    Delivery.objects.using(db).bulk_update(deliveries, ["payload"], batch_size=500)

    if rating_ids:
        _redact_digests(rating_set=rating_set, db=db)


def _erased_line(line: dict, rating_set: set[str]) -> dict:
    if str(line.get("rating_id")) not in rating_set:
        return line
    return {**line, "customer_name": ERASED_CUSTOMER_NAME, "comment": ""}


def _redact_digests(*, rating_set: set[str], db: str) -> None:
    """Digest lines, and the closed digests' emails that list them (their delivery's payload
    ``{"digest": {"ratings": [...]}}``, found by the digest's id, which is its event id)."""
    lines = list(DigestItem.objects.using(db).filter(data__rating_id__in=list(rating_set)))
    for line in lines:
        line.data = _erased_line(line.data, rating_set)
    DigestItem.objects.using(db).bulk_update(lines, ["data"], batch_size=500)
    emails = list(Delivery.objects.using(db).filter(event_id__in={line.digest_id for line in lines}))
    for delivery in emails:
        digest = delivery.payload.get("digest") if isinstance(delivery.payload, dict) else None
        if isinstance(digest, dict) and isinstance(digest.get("ratings"), list):
            ratings = [_erased_line(r, rating_set) if isinstance(r, dict) else r for r in digest["ratings"]]
            delivery.payload = {**delivery.payload, "digest": {**digest, "ratings": ratings}}
    Delivery.objects.using(db).bulk_update(emails, ["payload"], batch_size=500)


def _account_deleted(envelope: dict, *, db: str) -> None:
    data = _data(envelope)
    user_id = _uuid(data.get("recipient_user_id"))
    if user_id is None:
        logger.error("notifications: malformed %s event %r skipped", ACCOUNT_DELETED, envelope.get("id"))
        return
    raw_ratings = data.get("rating_ids") if isinstance(data.get("rating_ids"), list) else []
    rating_ids = [str(r) for r in (_uuid(v) for v in raw_ratings) if r is not None]
    provider = _uuid(data.get("provider_id"))
    provider_id = str(provider) if provider is not None else None
    endpoints = list(WebhookEndpoint.objects.using(db).filter(recipient_id=user_id).values_list("pk", flat=True))
    for model in _RECIPIENT_MODELS:
        model.objects.using(db).filter(recipient_id=user_id).delete()
    endpoint_breakers_forget(endpoints, using=db)
    _redact_existing(user_id=user_id, rating_ids=rating_ids, provider_id=provider_id, db=db)
    subjects = [ErasedSubject(subject_id=user_id, kind=ErasedSubject.Kind.USER)]
    subjects += [ErasedSubject(subject_id=UUID(r), kind=ErasedSubject.Kind.RATING) for r in rating_ids]
    if provider is not None:
        subjects.append(ErasedSubject(subject_id=provider, kind=ErasedSubject.Kind.PROVIDER))
    ErasedSubject.objects.using(db).bulk_create(subjects, ignore_conflicts=True)


# --- Events on their way -----------------------------------------------------------------------


def _scrubbed(envelopes: list, erased: dict[UUID, str]) -> list:
    kept = []
    for envelope in envelopes:
        data = _data(envelope)
        if not data:
            kept.append(envelope)
            continue
        if erased.get(_uuid(data.get("recipient_user_id"))) == ErasedSubject.Kind.USER:
            logger.info("notifications: event %r for an erased account dropped", envelope.get("id"))
            continue
        replace, flags = {}, {}
        if (
            erased.get(_uuid(data.get("rating_id"))) == ErasedSubject.Kind.RATING
            or erased.get(_uuid(data.get("customer_user_id"))) == ErasedSubject.Kind.USER
        ):
            replace.update(_CUSTOMER_VALUES)
            flags.update(_CUSTOMER_FLAGS)
        if (
            erased.get(_uuid(data.get("provider_id"))) == ErasedSubject.Kind.PROVIDER
            or erased.get(_uuid(data.get("provider_user_id"))) == ErasedSubject.Kind.USER
        ):
            replace.update(_PROVIDER_VALUES)
            flags.update(_PROVIDER_FLAGS)
        if replace:
            envelope = {**envelope, "data": {**data, **{k: v for k, v in replace.items() if k in data}, **flags}}
        kept.append(envelope)
    return kept


def events_erase(*, envelopes: list) -> list:
    """Act on the batch's ``account.deleted`` events; returns the other envelopes, scrubbed.

    Running it again changes nothing more. One query reads the erased ids among the batch's
    (none when the batch names no id).
    """
    erasing = [(e, (h := handler_for(e)) is not None and h.erases) for e in envelopes]
    deleted = [e for e, erases in erasing if erases]
    rest = [e for e, erases in erasing if not erases]
    db = notifications_db()
    if deleted:
        with transaction.atomic(using=db):
            for envelope in deleted:
                _account_deleted(envelope, db=db)
    ids = {
        value
        for envelope in rest
        for key in ("recipient_user_id", "rating_id", "provider_id", "customer_user_id", "provider_user_id")
        if (value := _uuid(_data(envelope).get(key))) is not None
    }
    if not ids:
        return rest
    erased = dict(ErasedSubject.objects.using(db).filter(subject_id__in=ids).values_list("subject_id", "kind"))
    return _scrubbed(rest, erased) if erased else rest
