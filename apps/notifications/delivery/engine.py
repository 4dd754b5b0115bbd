"""The delivery engine: claim a group of due deliveries, send them through their channel, record.

The path of one delivery:

1. ``deliveries_enqueue`` (after the ingest commits, or the sweeper) groups deliveries by
   channel and destination (``ChannelSender.destination``: the webhook endpoint, the SMTP relays,
   the push gateways) and sends one ``notifications.deliver_batch`` task per chunk of a
   channel's ``message_key`` (the healthy webhook endpoints of one origin share a task; every
   other destination is a task of its own).
2. ``deliveries_send`` claims the group's due rows (compare-and-set, ``SKIP LOCKED``, a lease),
   takes one of the destination's concurrency slots (``outbound.limits``; none free: the group
   is rescheduled without spending an attempt, so a slow host can hold at most its own slots
   of the workers), and sends the rows through one channel session (one SMTP connection, one
   keep-alive connection per host).
3. The outcome of the whole group is written in a few statements (``records``): ``sent``,
   ``retry`` at the retry policy's next time (``outbound.retry``, the same for every channel),
   or ``dead``, each with its attempt log. Only the holder of the lease (``claims``) may record.

A destination that stops answering (connect error, deadline) ends its group early: the rest
are rescheduled untouched rather than each waiting for the same deadline.

A delivery cancelled after its claim (``intake.cancellation``: its rating was deleted or
hidden) is dropped by the check right before the group's sends, and its record keeps it
``cancelled`` whatever the send reported, unless the message had already gone out (``sent``).

Each send is a span under the trace context stored on its delivery row (the ingest span of its
event: ``apps.core.tracing``), linked to the batch task's span; the HTTP or SMTP exchange inside
is its child.
"""

import functools
import logging
import operator
import time
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from uuid import UUID

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.core import tracing
from apps.core.exceptions import Conflict
from apps.core.middleware import request_id_scope
from apps.notifications.db import notifications_db
from apps.notifications.delivery.channels import channel_for
from apps.notifications.delivery.channels.base import Result, SendResult
from apps.notifications.delivery.channels.webhook.channel import waiting_for
from apps.notifications.delivery.claims import Lease, claim, still_held
from apps.notifications.delivery.records import record
from apps.notifications.events import EVENT_TYPES
from apps.notifications.models import Blame, Channel, Delivery, DeliveryStatus
from apps.notifications.outbound import breakers, limits, retry
from apps.notifications.periods import quiet_until
from apps.notifications.selectors import delivery_get, schedules_of

logger = logging.getLogger(__name__)

DELIVER_BATCH_TASK = "notifications.deliver_batch"


class DeliveryNotDead(Conflict):
    default_code = "delivery_not_dead"
    default_detail = "Only dead deliveries can be replayed."


def _group_key(delivery: Delivery) -> tuple[str, str]:
    return delivery.channel, channel_for(delivery.channel).destination(delivery)


def _message_key(delivery: Delivery) -> tuple[str, str]:
    """What one task carries: a channel's ``message_key`` when it has one (the healthy webhook
    endpoints of one origin travel together), else its destination."""
    channel = channel_for(delivery.channel)
    key = getattr(channel, "message_key", channel.destination)
    return delivery.channel, key(delivery)


def deliveries_enqueue(*, deliveries: Iterable[Delivery], countdown: float | None = None) -> int:
    """Send one batch task per (channel, message key) chunk; returns how many tasks were sent.

    ``countdown``: the tasks run that many seconds from now (rows put back due shortly).
    A broker failure stops here: the rows stay due in the database and the sweeper sends them.
    """
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for delivery in deliveries:
        groups[_message_key(delivery)].append(str(delivery.pk))
    size = settings.NOTIFICATIONS_DELIVERY_BATCH
    sent = 0
    for ids in groups.values():
        for start in range(0, len(ids), size):
            try:
                if countdown is None:
                    current_app.send_task(DELIVER_BATCH_TASK, args=[ids[start : start + size]])
                else:
                    current_app.send_task(DELIVER_BATCH_TASK, args=[ids[start : start + size]], countdown=countdown)
            except Exception as exc:  # noqa: BLE001 - the sweeper re-enqueues from the database
                logger.warning("notifications: enqueueing %d deliveries failed: %s", len(ids), exc)
                return sent
            sent += 1
    return sent


_CANCELLED = SendResult(result=Result.SKIPPED, error="cancelled before it was sent")


def _send_channel(
    groups: list[tuple[tuple[str, str], list[Delivery]]],
    *,
    started: float,
    lease: Lease,
    healed: set[str],
    recovered: set[str],
) -> list[tuple[Delivery, SendResult, int]]:
    """Send one channel's groups (one per destination) through one session, in order. Adds to
    ``healed`` the breaker keys whose half-open trial this session's sends closed, to
    ``recovered`` those whose closed breaker's failures they ended (``breakers.Gate``).

    One task may carry several destinations of a channel (the healthy webhook endpoints of one
    origin: ``message_key``): one claim, one cancellation check, one session (its breaker reads)
    and one record for all of them. Once a send of one destination ran into a connect error or
    its deadline, the groups after it are not sent behind it: they go back due at once and are
    enqueued again as a task of their own.
    """
    channel = channel_for(groups[0][0][0])
    results: list[tuple[Delivery, SendResult, int]] = []
    with channel.session() as session:
        # Checked once the session is open (connecting can take a while), right before sending.
        with lease.lock:
            held = still_held([row for _, rows in groups for row in rows], lease=lease.until)
        handed_off: SendResult | None = None
        for key, rows in groups:
            if handed_off is not None:
                results += [(row, handed_off, 0) for row in rows]
                continue
            sent = _send_group(session, rows, key=key, started=started, held=held)
            results += sent
            if any(outcome.destination_down for _, outcome, _ in sent):
                handed_off = SendResult(result=Result.SKIPPED, error="", reschedule_at=timezone.now(), requeue=True)
        gate = getattr(session, "gate", None)
        if gate is not None:
            healed.update(gate.healed)
            recovered.update(gate.recovered)
    return results


def _send_group(
    session, rows: list[Delivery], *, key: tuple[str, str], started: float, held: set
) -> list[tuple[Delivery, SendResult, int]]:
    """Send one destination's rows (``key``: channel, destination) holding one of its slots."""
    channel = channel_for(key[0])
    # A webhook endpoint takes its origin's slots, at most its fair share of them.
    slot_key, member = limits.split_member(":".join(key))
    budget = settings.NOTIFICATIONS_BATCH_SECONDS
    # The slot lapses by itself if its holder dies; it must outlast the group's longest run.
    slot_ttl = max(settings.NOTIFICATIONS_DELIVERY_LEASE_SECONDS, budget + settings.OUTBOUND_TOTAL_TIMEOUT)
    token = limits.acquire(
        slot_key,
        limit=settings.OUTBOUND_HOST_CONCURRENCY,
        ttl=slot_ttl,
        member=member,
        share=channel.slot_share(rows) if member else 0,
    )
    if token is None:
        # Back by itself when a slot is likely free: left to the sweep, a group finding every
        # slot taken (a healed destination's released backlog, all at once) waited for its
        # next pass.
        busy = SendResult(
            result=Result.SKIPPED,
            error="destination busy: every concurrency slot is taken",
            reschedule_at=timezone.now() + timedelta(seconds=settings.NOTIFICATIONS_BUSY_RETRY_SECONDS),
            requeue=True,
        )
        return [(row, busy, 0) for row in rows]
    results: list[tuple[Delivery, SendResult, int]] = []
    held_back: SendResult | None = None
    try:
        for row in rows:
            if row.pk not in held:
                results.append((row, _CANCELLED, 0))
                continue
            if held_back is None and time.monotonic() - started > budget:
                held_back = SendResult(result=Result.SKIPPED, error="", reschedule_at=timezone.now())
            if held_back is not None:
                results.append((row, held_back, 0))
                continue
            sent_started = time.monotonic()
            # What the channel logs about this send carries the request behind its event.
            with request_id_scope(row.request_id):
                sent = _traced_send(session, row)
            results.append((row, sent, int((time.monotonic() - sent_started) * 1000)))
            if sent.destination_down:
                # The rest would wait for the same deadline: they go back untouched and
                # come again when the failed one is due.
                when = retry.next_attempt_at(attempt=row.attempts, now=timezone.now())
                held_back = SendResult(
                    result=Result.SKIPPED,
                    error=f"held back: {sent.error}"[:2000],
                    reschedule_at=when,
                    blamed=sent.blamed,
                )
    finally:
        limits.release(slot_key, token)
    return results


_FAILED = (Result.RETRY, Result.DEAD, Result.GONE)


def _traced_send(session, row: Delivery) -> SendResult:
    """``session.send(row)`` in a span of the delivery's own trace (a no-op when tracing is off)."""
    with tracing.span_under(
        f"notifications deliver {row.channel}",
        row.trace,
        attributes={
            "notifications.delivery.id": str(row.pk),
            "notifications.channel": row.channel,
            "notifications.event.id": str(row.event_id),
            "notifications.delivery.attempt": row.attempts,
        },
    ) as span:
        sent = session.send(row)
        if span is not None:
            tracing.set_attributes(
                span,
                {"notifications.delivery.result": sent.result.value, "http.response.status_code": sent.status_code},
            )
            if sent.result in _FAILED:
                tracing.record_error(span, sent.error or sent.result.value)
        return sent


def deliveries_send(*, delivery_ids: Iterable[UUID | str]) -> dict[str, str]:
    """Claim, send and record the due deliveries among ``delivery_ids``.

    Returns ``{delivery_id: new status}`` for the rows this call held; rows that were not due,
    or that another worker holds, are left alone.
    """
    now = timezone.now()
    lease = Lease(until=now + timedelta(seconds=settings.NOTIFICATIONS_DELIVERY_LEASE_SECONDS))
    rows = claim(list(delivery_ids), now=now, lease=lease.until)
    if not rows:
        return {}
    lease.hold([row.pk for row in rows])
    healed: dict[str, set[str]] = defaultdict(set)
    recovered: dict[str, set[str]] = defaultdict(set)
    try:
        started = time.monotonic()
        rows, outcomes = _quiet_hours_hold(rows, now=now)
        groups: dict[tuple[str, str], list[Delivery]] = defaultdict(list)
        for row in rows:
            groups[_group_key(row)].append(row)
        by_channel: dict[str, list[tuple[tuple[str, str], list[Delivery]]]] = defaultdict(list)
        for key, group in groups.items():
            by_channel[key[0]].append((key, group))
        for channel, its_groups in by_channel.items():
            outcomes += _send_channel(
                its_groups, started=started, lease=lease, healed=healed[channel], recovered=recovered[channel]
            )
    finally:
        held_until = lease.release()
    record(outcomes, lease=held_until)
    _requeue(outcomes)
    for channel, keys in healed.items():
        if keys:
            deliveries_release(channel=channel, breaker_keys=keys)
    # After the record: a row of this very task that failed is among those released.
    for channel, keys in recovered.items():
        if keys - healed[channel]:
            deliveries_release(channel=channel, breaker_keys=keys - healed[channel], failed_only=True)
    return {str(row.pk): row.status for row, _, _ in outcomes}


# A task due a moment after its rows are: one that came early would find them not yet due.
_REQUEUE_MARGIN = 0.05


def _requeue(outcomes: list[tuple[Delivery, SendResult, int]]) -> None:
    """Enqueue again, for when they are due, the rows put back for a moment (an endpoint's rate):
    left to the sweeper they would wait for its next pass instead."""
    soon = [(row, sent) for row, sent, _ in outcomes if sent.requeue and row.status == DeliveryStatus.RETRY]
    if not soon:
        return
    now = timezone.now()
    due = max(row.next_attempt_at for row, _ in soon)
    deliveries_enqueue(
        deliveries=[row for row, _ in soon], countdown=max((due - now).total_seconds(), 0.0) + _REQUEUE_MARGIN
    )


def deliveries_release(
    *, channel: str, breaker_keys: Iterable[str], limit: int = 5000, failed_only: bool = False
) -> int:
    """A destination whose breaker trial just succeeded works again: the deliveries to it that
    wait out a retry backoff (or the open breaker) are due now and enqueued at once, instead of
    each waiting for its own time. Webhooks: those to the healed endpoints and origins. Email
    and push (relay and gateway breakers, the ``EMAIL_URL`` relay's included): the channel's,
    since every one of its deliveries is tried through the same relays or gateways in priority
    order, so whichever works again can take any of them; not those their recipient's quiet
    hours hold, which would only be put back. Returns how many were released.

    ``failed_only``: a destination that failed without its breaker opening answers again
    (``breakers.Gate.recovered``): only the deliveries waiting out a failure of that kind of
    destination (``Delivery.blamed``) are released, at a webhook origin or endpoint only those
    whose failure counted against it; not those a message's own failure, an answer's
    ``Retry-After`` or anything else holds.
    """
    now = timezone.now()
    db = notifications_db()
    # Those already due too: the sweeper would only find them at its next run.
    waiting = Delivery.objects.using(db).filter(status=DeliveryStatus.RETRY, channel=channel)
    breaker_keys = list(breaker_keys)
    if channel == Channel.WEBHOOK:
        # The healed endpoints' deliveries, and every endpoint's at a healed origin.
        matches = _blamed_on(breaker_keys) if failed_only else waiting_for(breaker_keys)
        if matches is None:
            return 0
        waiting = waiting.filter(matches)
    elif failed_only:
        waiting = waiting.filter(blamed=Blame.PROVIDER)
    else:
        waiting = waiting.exclude(last_error=QUIET_HOURS_HELD)
    rows = list(waiting.only("pk", "channel", "address", "endpoint_id")[:limit])
    if not rows:
        return 0
    released = (
        Delivery.objects.using(db)
        .filter(pk__in=[row.pk for row in rows], status=DeliveryStatus.RETRY)
        .update(next_attempt_at=now)
    )
    logger.info("notifications: %d %s deliveries released: their destination works again", released, channel)
    deliveries_enqueue(deliveries=rows)
    return released


def _blamed_on(breaker_keys: list[str]) -> Q | None:
    """The webhook deliveries ``waiting_for`` each of these breakers whose failure counted
    against it (an origin's: a transport failure; an endpoint's: a timeout or an HTTP error)."""
    matches = [(waiting_for([key]), breakers.key_kind(key)) for key in breaker_keys]
    found = [match & Q(blamed=kind) for match, kind in matches if match is not None]
    return functools.reduce(operator.or_, found) if found else None


_HELD_CHANNELS = (Channel.EMAIL, Channel.PUSH)
# The error of a delivery put back until its recipient's quiet hours end (nothing else writes it).
QUIET_HOURS_HELD = "held by the recipient's quiet hours"


def _quiet_hours_hold(rows: list[Delivery], *, now: datetime) -> tuple[list[Delivery], list]:
    """Split off the claimed rows their recipient's quiet hours hold: ``(rows to send, outcomes)``.

    Ingest already schedules new deliveries for the end of quiet hours; this catches what comes
    due inside them anyway (a retry, a replay, quiet hours chosen after the row was made). A held
    row goes back, due when they end, without spending an attempt. Critical types (account
    emails, a disabled webhook) and webhooks are never held.
    """
    candidates = [row for row in rows if row.channel in _HELD_CHANNELS and not _critical(row)]
    if not candidates:
        return rows, []
    schedules = schedules_of(recipient_ids={row.recipient_id for row in candidates})
    held: dict[UUID, datetime] = {}
    for row in candidates:
        schedule = schedules.get(row.recipient_id)
        until = schedule and quiet_until(
            at=now, time_zone=schedule.time_zone, start=schedule.quiet_start, end=schedule.quiet_end
        )
        if until:
            held[row.pk] = until
    outcomes = [
        (
            row,
            SendResult(result=Result.SKIPPED, error=QUIET_HOURS_HELD, reschedule_at=held[row.pk]),
            0,
        )
        for row in rows
        if row.pk in held
    ]
    return [row for row in rows if row.pk not in held], outcomes


def _critical(row: Delivery) -> bool:
    spec = EVENT_TYPES.get(row.notification.type) if row.notification is not None else None
    return spec is not None and spec.critical


def delivery_attempt(*, delivery_id: UUID | str) -> str | None:
    """Send one delivery now if it is due; its new status, or None when it was not claimed."""
    return deliveries_send(delivery_ids=[delivery_id]).get(str(delivery_id))


def deliveries_sweep(*, limit: int = 2000) -> int:
    """Re-enqueue retries that are due, pending rows the fast path missed, and stale claims."""
    now = timezone.now()
    missed = now - timedelta(seconds=settings.NOTIFICATIONS_SWEEP_GRACE_SECONDS)
    due = (
        Q(status=DeliveryStatus.RETRY, next_attempt_at__lte=now)
        | Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=missed)
        | Q(status=DeliveryStatus.SENDING, locked_until__lt=now)
    )
    db = notifications_db()
    with transaction.atomic(using=db):
        rows = list(
            Delivery.objects.using(db)
            .select_for_update(skip_locked=True)
            .filter(due)
            .order_by("next_attempt_at")
            .only("pk", "channel", "address", "endpoint_id")[:limit]
        )
    deliveries_enqueue(deliveries=rows)
    return len(rows)


def deliveries_replay(*, delivery_ids: Iterable[UUID]) -> int:
    """Give dead deliveries a fresh set of attempts (staff action)."""
    db = notifications_db()
    with transaction.atomic(using=db):
        rows = list(
            Delivery.objects.using(db)
            .filter(pk__in=list(delivery_ids), status=DeliveryStatus.DEAD)
            .only("pk", "channel", "address", "endpoint_id")
        )
        Delivery.objects.using(db).filter(pk__in=[row.pk for row in rows], status=DeliveryStatus.DEAD).update(
            status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=timezone.now(), locked_until=None
        )
        transaction.on_commit(lambda: deliveries_enqueue(deliveries=rows), using=db, robust=True)
    return len(rows)


def delivery_replay(*, recipient_id: UUID, delivery_id: UUID) -> Delivery:
    """The owner replays one of their dead deliveries."""
    delivery = delivery_get(recipient_id=recipient_id, delivery_id=delivery_id)
    if not deliveries_replay(delivery_ids=[delivery.pk]):
        raise DeliveryNotDead()
    delivery.refresh_from_db()
    return delivery
