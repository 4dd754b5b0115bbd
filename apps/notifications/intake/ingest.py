"""Ingest: events in, inbox items and deliveries out, many events per transaction.

What an event means is its handler's to say (``apps.notifications.intake.handlers``, looked up
by the envelope's type and version); this module applies it: erasures, cancellations, then the
notices, each made an inbox item and routed to its recipient's channels (or digest).

One batch is a handful of queries whatever its size: existing items are read once, the new
ones are written with ``INSERT … ON CONFLICT DO NOTHING`` (``bulk_create(ignore_conflicts)``),
and the recipients' switches, endpoints and devices are read once for the whole batch.
Running a batch again creates nothing: an event's inbox item and its deliveries are written
in the same transaction, so an item that exists already has its deliveries.

Tracing (``apps.core.tracing``): each event gets an ingest span under the trace context its
envelope carries (the request that published it), linked to the batch task's span, and each
delivery row stores that span's context for its sends.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC
from uuid import UUID

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.core import tracing
from apps.core.middleware import request_id_scope, valid_request_id
from apps.notifications.db import notifications_db
from apps.notifications.delivery.channels.webhook.payload import webhook_payload
from apps.notifications.delivery.engine import deliveries_enqueue
from apps.notifications.events import EVENT_TYPES, EXTERNAL_CHANNELS, Notice
from apps.notifications.intake import live
from apps.notifications.intake.cancellation import Cancellation, cancellation_of, cancellations_apply
from apps.notifications.intake.digests import DigestEntry, digest_entries_add
from apps.notifications.intake.erasure import events_erase
from apps.notifications.intake.handlers import handler_for
from apps.notifications.intake.locales import batch_readers, candidates, locales_record, readers_of
from apps.notifications.metrics import NOTIFICATIONS_CREATED
from apps.notifications.models import (
    NOTICE_KEY,
    Channel,
    Delivery,
    Device,
    Notification,
    NotificationSchedule,
    RatingEmails,
    WebhookEndpoint,
)
from apps.notifications.periods import quiet_until
from apps.notifications.selectors import channel_enabled, preferences_chosen, schedules_of

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Planned:
    event_id: UUID
    event_type: str
    occurred_at: str
    notice: Notice
    # The request that published the event: its deliveries and log lines carry it.
    request_id: str
    trace: dict


def _subscribed(endpoint: WebhookEndpoint, event_type: str) -> bool:
    return not endpoint.event_types or event_type in endpoint.event_types


def _plan(envelopes: list[dict]) -> list[_Planned]:
    """The notices each event's handler calls for; an unknown or malformed event is skipped, not fatal."""
    planned: list[_Planned] = []
    seen: set[tuple[UUID, UUID]] = set()
    for envelope in envelopes:
        is_dict = isinstance(envelope, dict)
        request_id = (valid_request_id(envelope.get("request_id")) if is_dict else None) or ""
        with request_id_scope(request_id):
            handler = handler_for(envelope)
            if handler is None:
                logger.info(
                    "notifications: ignoring event type %r version %r",
                    envelope.get("type") if is_dict else None,
                    envelope.get("version", 1) if is_dict else None,
                )
                continue
            try:
                event_id = UUID(str(envelope["id"]))
                notices = handler.notices(envelope.get("data") or {})
            except (KeyError, TypeError, ValueError) as exc:
                logger.error(
                    "notifications: malformed %s event %r skipped: %r", envelope.get("type"), envelope.get("id"), exc
                )
                continue
        occurred_at = envelope.get("occurred_at") or timezone.now().isoformat()
        for notice in notices:
            if (event_id, notice.recipient_id) in seen:
                continue
            seen.add((event_id, notice.recipient_id))
            planned.append(
                _Planned(
                    event_id=event_id,
                    event_type=notice.type,
                    occurred_at=occurred_at,
                    notice=notice,
                    request_id=request_id,
                    trace=tracing.clean_carrier(envelope.get("trace")),
                )
            )
    return planned


def events_ingest(*, envelopes: list[dict]) -> list[Notification]:
    """Create the inbox items and deliveries a batch of events calls for; returns the new items.

    In the same transaction, deliveries that deletions and hidings make moot are cancelled
    (``intake.cancellation``), after the batch's own deliveries are written: a rating's
    creation and its hiding may arrive in one batch, or in the wrong order.
    """
    # Each event's handler (``intake.handlers``, by type and version) says what it erases, what
    # it cancels and who is told what. Erasure first: an account deleted in this batch is not
    # notified by the rest of it.
    envelopes = events_erase(envelopes=envelopes)
    # Languages next: an account's first email may come in the batch that publishes its language.
    locales_record(envelopes=envelopes, db=notifications_db())
    cancellations = [c for c in map(cancellation_of, envelopes) if c is not None]
    # Each notice is worded for its recipient: everyone the batch may tell is looked up at once.
    with batch_readers(readers_of(candidates(envelopes), db=notifications_db())):
        planned = _plan(envelopes)
    if planned:
        return _traced_ingest(planned, batch_size=len(envelopes), cancellations=cancellations)
    if cancellations:
        db = notifications_db()
        with transaction.atomic(using=db):
            cancellations_apply(cancellations=cancellations, rating_ids=set(), db=db)
    return []


def _traced_ingest(
    planned: list[_Planned], *, batch_size: int, cancellations: list[Cancellation]
) -> list[Notification]:
    first = {}
    for p in planned:
        first.setdefault(p.event_id, p)
    spans_for = [
        (
            p.trace,
            {
                "notifications.event.id": str(event_id),
                "notifications.event.type": p.event_type,
                "notifications.batch.size": batch_size,
            },
        )
        for event_id, p in first.items()
    ]
    with tracing.spans_under("notifications ingest", spans_for) as spans:
        # What each event's deliveries continue: its ingest span (or, tracing off here, the
        # publisher's context as it came).
        traces = {
            event_id: tracing.carrier_of(span, p.trace)
            for (event_id, p), span in zip(first.items(), spans, strict=True)
        }
        items = _ingest(planned, traces=traces, cancellations=cancellations)
        made = {item.event_id for item in items}
        for event_id, span in zip(first, spans, strict=True):
            tracing.set_attributes(span, {"notifications.event.new": event_id in made})
    return items


def _ingest(
    planned: list[_Planned], *, traces: dict[UUID, dict], cancellations: list[Cancellation]
) -> list[Notification]:
    db = notifications_db()
    with transaction.atomic(using=db):
        event_ids = {p.event_id for p in planned}
        # An event was ingested for a recipient if it left an inbox item or a delivery (both are
        # written in one transaction); with the inbox switched off only deliveries remain. One
        # that left only a digest entry is planned again, and its unique constraint keeps it one.
        # One query (UNION) for both.
        existing = set(
            Notification.objects.using(db)
            .filter(event_id__in=event_ids)
            .values_list("event_id", "recipient_id")
            .union(
                Delivery.objects.using(db)
                .filter(event_id__in=event_ids, notification__isnull=True)
                .values_list("event_id", "recipient_id")
            )
        )
        new = [p for p in planned if (p.event_id, p.notice.recipient_id) not in existing]
        if not new:
            if cancellations:
                cancellations_apply(cancellations=cancellations, rating_ids=set(), db=db)
            return []
        chosen = preferences_chosen(
            recipient_ids={p.notice.recipient_id for p in new}, event_types={p.event_type for p in new}
        )
        items = {
            (p.event_id, p.notice.recipient_id): Notification(
                event_id=p.event_id,
                recipient_id=p.notice.recipient_id,
                type=p.event_type,
                title=p.notice.title[:200],
                body=p.notice.body,
                data=p.notice.data,
            )
            for p in new
            if channel_enabled(
                chosen=chosen, recipient_id=p.notice.recipient_id, event_type=p.event_type, channel=Channel.IN_APP
            )
        }
        Notification.objects.using(db).bulk_create(list(items.values()), ignore_conflicts=True)
        deliveries, digested = _deliveries(db=db, planned=new, items=items, chosen=chosen, traces=traces)
        Delivery.objects.using(db).bulk_create(deliveries, ignore_conflicts=True)
        cancellations_apply(cancellations=cancellations, rating_ids=_rating_ids(new), db=db)
        digest_entries_add(entries=digested, db=db)
        # Deliveries held by quiet hours are the sweeper's once they are due.
        now = timezone.now()
        due = [delivery for delivery in deliveries if delivery.next_attempt_at <= now]
        transaction.on_commit(lambda: deliveries_enqueue(deliveries=due), using=db, robust=True)
        # The recipients' open live streams read the new items once they are committed.
        live.inbox_changed(recipient_ids={item.recipient_id for item in items.values()}, using=db)
    channels: dict[tuple, list[str]] = defaultdict(list)
    for delivery in deliveries:
        channels[(delivery.event_id, delivery.recipient_id)].append(delivery.channel)
    for entry in digested:
        channels[(entry.event_id, entry.recipient_id)].append(f"email ({entry.frequency} digest)")
    for p in new:
        key = (p.event_id, p.notice.recipient_id)
        item = items.get(key)
        if item is not None:
            NOTIFICATIONS_CREATED.labels(item.type).inc()
        # One line per event and recipient, under the id of the request that caused it.
        with request_id_scope(p.request_id):
            logger.info(
                "notifications: %s event %s: inbox item %s for %s, deliveries: %s",
                p.event_type,
                p.event_id,
                item.pk if item is not None else "none (inbox switched off)",
                p.notice.recipient_id,
                ", ".join(channels[key]) or "none",
                extra={"event_id": str(p.event_id), "notification_id": str(item.pk) if item is not None else ""},
            )
    return list(items.values())


def _rating_ids(planned: list[_Planned]) -> set[str]:
    """The ratings the notices are about (events of other kinds have none)."""
    ids = set()
    for p in planned:
        try:
            ids.add(str(UUID(str(p.notice.data["rating_id"]))))
        except (KeyError, ValueError):
            continue
    return ids


def _deliveries(
    *,
    db: str,
    planned: list[_Planned],
    items: dict[tuple, Notification],
    chosen: dict[tuple, bool],
    traces: dict[UUID, dict],
) -> tuple[list[Delivery], list[DigestEntry]]:
    """Email per recipient, webhook per subscribed endpoint, push per device; and the emails
    that go to a digest instead.

    One push delivery per device rather than per recipient: a device whose token is gone is
    removed without touching the others, and a retry never re-sends to devices that got it.
    An email or push of an event without an inbox item (the recipient switched ``in_app`` off)
    carries its own copy of what it shows (``Delivery.content``). The recipient's schedule
    (``NotificationSchedule``) decides the rest: a digestible email of a recipient on hourly or
    daily digests becomes a digest entry, and a non-critical email or push made during their
    quiet hours is due when those end. Webhooks are never held.
    """
    recipients = {p.notice.recipient_id for p in planned}
    schedules = schedules_of(recipient_ids=recipients)
    endpoints: dict[UUID, list[WebhookEndpoint]] = defaultdict(list)
    for endpoint in WebhookEndpoint.objects.using(db).filter(recipient_id__in=recipients, enabled=True):
        endpoints[endpoint.recipient_id].append(endpoint)
    devices: dict[UUID, list[Device]] = defaultdict(list)
    for device in Device.objects.using(db).filter(recipient_id__in=recipients):
        devices[device.recipient_id].append(device)

    now = timezone.now()
    deliveries: list[Delivery] = []
    digested: list[DigestEntry] = []
    for p in planned:
        recipient = p.notice.recipient_id
        item = items.get((p.event_id, recipient))
        notice = {} if item is not None else {NOTICE_KEY: _content(p)}
        spec = EVENT_TYPES[p.event_type]
        schedule = schedules.get(recipient)
        held_until = None
        if schedule is not None and not spec.critical:
            held_until = quiet_until(
                at=now, time_zone=schedule.time_zone, start=schedule.quiet_start, end=schedule.quiet_end
            )
        common = {
            "event_id": p.event_id,
            "recipient_id": recipient,
            "notification": item,
            "request_id": p.request_id,
            "event_at": parse_datetime(p.occurred_at),
            "trace": traces.get(p.event_id, {}),
            "locale": p.notice.locale,
        }
        held = {**common, "next_attempt_at": held_until} if held_until else common
        enabled = {
            channel: channel_enabled(chosen=chosen, recipient_id=recipient, event_type=p.event_type, channel=channel)
            for channel in (*EXTERNAL_CHANNELS, Channel.PUSH)
        }
        for channel in EXTERNAL_CHANNELS:
            if not (p.notice.email and enabled[channel]):
                continue
            if channel == Channel.EMAIL and _digests(spec, schedule):
                digested.append(_digest_entry(p, schedule=schedule, at=now))
                continue
            deliveries.append(
                Delivery(channel=channel, address=p.notice.email, payload={**p.notice.secret, **notice}, **held)
            )
        if spec.email_only:
            continue
        for endpoint in endpoints[recipient]:
            if _subscribed(endpoint, p.event_type):
                payload = webhook_payload(
                    event_id=p.event_id, event_type=p.event_type, timestamp=p.occurred_at, notice=p.notice
                )
                deliveries.append(
                    Delivery(
                        channel=Channel.WEBHOOK, endpoint=endpoint, address=endpoint.url, payload=payload, **common
                    )
                )
        if enabled[Channel.PUSH]:
            for device in devices[recipient]:
                deliveries.append(
                    Delivery(channel=Channel.PUSH, device=device, address=device.token, payload=notice, **held)
                )
    return deliveries, digested


def _digests(spec, schedule: NotificationSchedule | None) -> bool:
    return spec.digestible and schedule is not None and schedule.rating_emails != RatingEmails.IMMEDIATE


def _digest_entry(p: _Planned, *, schedule: NotificationSchedule, at) -> DigestEntry:
    """A rating filed under the digest of the period it happened in (its ``occurred_at``)."""
    occurred_at = parse_datetime(p.occurred_at) or at
    if timezone.is_naive(occurred_at):
        occurred_at = timezone.make_aware(occurred_at, UTC)
    notice = p.notice
    return DigestEntry(
        recipient_id=notice.recipient_id,
        event_id=p.event_id,
        frequency=schedule.rating_emails,
        time_zone=schedule.time_zone,
        occurred_at=occurred_at,
        email=notice.email,
        data={
            "rating_id": notice.data.get("rating_id"),
            "customer_name": notice.data.get("customer_name", ""),
            "score": notice.data.get("score"),
            "comment": notice.body,
            "summary": notice.summary,
        },
        at=occurred_at,
    )


def _content(p: _Planned) -> dict:
    return {"type": p.event_type, "title": p.notice.title[:200], "body": p.notice.body, "data": p.notice.data}
