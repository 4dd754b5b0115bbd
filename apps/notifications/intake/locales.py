"""Whom a notice is worded for: the recipient's language and time zone at build time.

The notifications deployment has no users table, so the accounts app publishes each user's
language (``account.locale_set``: at sign-up and on every change) and this module keeps it
(``RecipientLocale``); the time zone is the recipient's schedule's. ``events_ingest`` records a
batch's locales before it plans the batch's notices (an account's first email comes in the same
batch as its locale), then looks up every recipient the batch could tell in two queries, and
the builders word each notice under ``translation.override`` of its recipient's language
(``handlers.notices_of``).
"""

import contextvars
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.notifications.events import ACCOUNT_LOCALE_SET
from apps.notifications.models import ErasedSubject, NotificationSchedule, RecipientLocale

logger = logging.getLogger(__name__)

DEFAULT_LOCALE = "en"
# The keys of the published events that name someone who may be told.
_RECIPIENT_KEYS = ("recipient_user_id", "provider_user_id", "customer_user_id")


@dataclass(frozen=True)
class Reader:
    locale: str = DEFAULT_LOCALE
    time_zone: str = "UTC"


_batch: contextvars.ContextVar[dict[UUID, Reader] | None] = contextvars.ContextVar("notice_readers", default=None)


def _uuid(value) -> UUID | None:
    try:
        return UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def supported(locale) -> bool:
    return locale in dict(settings.LANGUAGES)


def locales_record(*, envelopes: list[dict], db: str) -> None:
    """Keep the languages the batch's ``account.locale_set`` events publish (the newest per
    recipient wins, by the event's time); idempotent, so a redelivered event changes nothing."""
    newest: dict[UUID, tuple] = {}
    for envelope in envelopes:
        if not isinstance(envelope, dict) or envelope.get("type") != ACCOUNT_LOCALE_SET:
            continue
        data = envelope.get("data") if isinstance(envelope.get("data"), dict) else {}
        recipient, locale = _uuid(data.get("recipient_user_id")), data.get("locale")
        at = parse_datetime(str(envelope.get("occurred_at") or "")) or timezone.now()
        if timezone.is_naive(at):
            at = timezone.make_aware(at, UTC)
        if recipient is None or not supported(locale):
            logger.error("notifications: malformed %s event %r skipped", ACCOUNT_LOCALE_SET, envelope.get("id"))
            continue
        if recipient not in newest or newest[recipient][1] < at:
            newest[recipient] = (locale, at)
    if not newest:
        return
    with transaction.atomic(using=db):
        # An erased account keeps nothing here, not even its language.
        erased = set(
            ErasedSubject.objects.using(db)
            .filter(subject_id__in=list(newest), kind=ErasedSubject.Kind.USER)
            .values_list("subject_id", flat=True)
        )
        RecipientLocale.objects.using(db).bulk_create(
            [
                RecipientLocale(recipient_id=r, locale=locale, set_at=at)
                for r, (locale, at) in sorted(newest.items(), key=lambda pair: str(pair[0]))
                if r not in erased
            ],
            ignore_conflicts=True,
        )
        stale = []
        for row in RecipientLocale.objects.using(db).select_for_update().filter(recipient_id__in=list(newest)):
            locale, at = newest[row.recipient_id]
            if row.set_at < at and row.locale != locale:
                row.locale, row.set_at = locale, at
                stale.append(row)
        RecipientLocale.objects.using(db).bulk_update(stale, ["locale", "set_at", "updated_at"])


def readers_of(recipient_ids: Iterable[UUID], *, db: str | None = None) -> dict[UUID, Reader]:
    """The language and time zone of each recipient (two queries); absent: English, UTC."""
    ids = list(set(recipient_ids))
    if not ids:
        return {}
    locales_qs = RecipientLocale.objects.filter(recipient_id__in=ids)
    zones_qs = NotificationSchedule.objects.filter(recipient_id__in=ids)
    if db is not None:
        locales_qs, zones_qs = locales_qs.using(db), zones_qs.using(db)
    locales = dict(locales_qs.values_list("recipient_id", "locale"))
    zones = dict(zones_qs.values_list("recipient_id", "time_zone"))
    return {
        r: Reader(locale=locales[r] if supported(locales.get(r)) else DEFAULT_LOCALE, time_zone=zones.get(r, "UTC"))
        for r in ids
    }


def candidates(envelopes: list[dict]) -> set[UUID]:
    """Everyone the batch's events name as someone who may be told."""
    found = set()
    for envelope in envelopes:
        data = envelope.get("data") if isinstance(envelope, dict) else None
        if isinstance(data, dict):
            found.update(r for r in (_uuid(data.get(key)) for key in _RECIPIENT_KEYS if key in data) if r)
    return found


@contextmanager
def batch_readers(readers: dict[UUID, Reader]) -> Iterator[None]:
    """The readers ``reader_of`` answers from while a batch's notices are built."""
    token = _batch.set(readers)
    try:
        yield
    finally:
        _batch.reset(token)


def reader_of(recipient_id) -> Reader:
    """The recipient's reader: from the batch's lookup, or one lookup outside a batch."""
    recipient = _uuid(recipient_id)
    if recipient is None:
        return Reader()
    readers = _batch.get()
    if readers is not None and recipient in readers:
        return readers[recipient]
    return readers_of([recipient]).get(recipient, Reader())
