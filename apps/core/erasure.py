"""Erasure of a person's data from the shared kernel's tables: the outbox, idempotency replays
and the admin's log.

The outbox keeps events until the retention purge (and unconfirmed ones until they are
consumed): an event about a deleted account must still be delivered to its other recipient (a
provider still hears of a rating), but without the person's name, address or words. So the
values are replaced in place, by key of the event envelope's vocabulary, rather than the rows
deleted.
"""

from collections.abc import Iterable
from uuid import UUID

from django.contrib.admin.models import LogEntry
from django.db.models import Q

from apps.core.models import IdempotencyKey, OutboxEvent

# What the envelope keys hold about each party, and what stands in for it once erased.
RECIPIENT_KEYS = {"recipient_email": "", "recipient_name": ""}
CUSTOMER_KEYS = {"customer_name": "", "customer_email": "", "comment_excerpt": ""}
PROVIDER_KEYS = {"provider_name": "", "provider_email": "", "reply_excerpt": ""}


def _redact(rows: Iterable[OutboxEvent], replacements: dict) -> int:
    changed = []
    for row in rows:
        data = row.data if isinstance(row.data, dict) else {}
        new = {**data, **{key: value for key, value in replacements.items() if key in data}}
        if new != data:
            row.data = new
            changed.append(row)
    OutboxEvent.objects.bulk_update(changed, ["data"], batch_size=500)
    return len(changed)


def outbox_events_redact(
    *,
    user_id: UUID,
    rating_ids: Iterable[str] = (),
    provider_id: str | None = None,
    customer_name: str,
    provider_name: str,
) -> int:
    """Replace the person's data in every outbox event that carries it; returns the rows changed.

    Events addressed to the user lose the address and name; events about their ratings (as
    author) lose the author's name, address and comment; events about their provider profile
    lose its name, address and reply. The outbox has no index on its payload: this walks the
    table, which the retention purge keeps to a few days of events, once per erasure.
    """
    rating_ids = [str(r) for r in rating_ids]
    user = str(user_id)
    total = _redact(
        OutboxEvent.objects.select_for_update().filter(data__recipient_user_id=user),
        RECIPIENT_KEYS,
    )
    total += _redact(
        OutboxEvent.objects.select_for_update().filter(
            Q(data__customer_user_id=user) | Q(data__rating_id__in=rating_ids)
        ),
        {**CUSTOMER_KEYS, "customer_name": customer_name},
    )
    if provider_id is not None:
        total += _redact(
            OutboxEvent.objects.select_for_update().filter(
                Q(data__provider_user_id=user) | Q(data__provider_id=str(provider_id))
            ),
            {**PROVIDER_KEYS, "provider_name": provider_name},
        )
    return total


def idempotency_keys_delete(*, user_id: UUID) -> int:
    """The stored replays of the user's POSTs hold what they wrote (a rating's comment)."""
    deleted, _ = IdempotencyKey.objects.filter(user_id=user_id).delete()
    return deleted


def admin_log_redact(*, object_ids: Iterable[str], placeholder: str) -> int:
    """The admin's history names each object by its ``str()`` when it was changed (a user's is
    their email address): that label becomes ``placeholder``; who changed what and when stays."""
    return LogEntry.objects.filter(object_id__in=[str(i) for i in object_ids]).update(object_repr=placeholder)
