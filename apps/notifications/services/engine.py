"""The delivery engine: claim a group of due deliveries, send them through their channel, record.

The path of one delivery:

1. ``deliveries_enqueue`` (after the ingest commits, or the sweeper) groups deliveries by
   channel and destination (``ChannelSender.destination``: the webhook endpoint, the SMTP relays,
   the push gateways) and sends one ``notifications.deliver_batch`` task per group chunk.
2. ``deliveries_send`` claims the group's due rows (compare-and-set, ``SKIP LOCKED``, a lease),
   takes one of the destination's concurrency slots (``outbound.limits``; none free: the group
   is rescheduled without spending an attempt, so a slow host can hold at most its own slots
   of the workers), and sends the rows through one channel session (one SMTP connection, one
   keep-alive connection per host).
3. The outcome of the whole group is written in a few statements: ``sent``, ``retry`` at the
   retry policy's next time (``outbound.retry``, the same for every channel), or ``dead``,
   each with its attempt log. Only the holder of the lease may record.

A destination that stops answering (connect error, deadline) ends its group early: the rest
are rescheduled untouched rather than each waiting for the same deadline.

A delivery cancelled after its claim (``services.cancellation``: its rating was deleted or
hidden) is dropped by the check right before the group's sends, and its record keeps it
``cancelled`` whatever the send reported, unless the message had already gone out (``sent``).

Each send is a span under the trace context stored on its delivery row (the ingest span of its
event: ``apps.core.tracing``), linked to the batch task's span; the HTTP or SMTP exchange inside
is its child.
"""

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from uuid import UUID

from celery import current_app
from django.conf import settings
from django.db import InterfaceError, OperationalError, connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.core import tracing
from apps.core.exceptions import Conflict
from apps.core.middleware import request_id_scope
from apps.notifications.channels import channel_for, webhook
from apps.notifications.channels.base import Result, SendResult
from apps.notifications.events import EVENT_TYPES
from apps.notifications.metrics import DELIVERY_ATTEMPTS, DELIVERY_LATENCY
from apps.notifications.models import Channel, Delivery, DeliveryAttempt, DeliveryStatus, Device
from apps.notifications.outbound import limits, retry
from apps.notifications.periods import quiet_until
from apps.notifications.selectors import delivery_get, schedules_of
from apps.notifications.services.db import notifications_db

logger = logging.getLogger(__name__)

DELIVER_BATCH_TASK = "notifications.deliver_batch"
_RECORDED_FIELDS = [
    "status",
    "attempts",
    "next_attempt_at",
    "locked_until",
    "last_error",
    "response_status",
    "provider_id",
    "sent_at",
    "last_duration_ms",
]


class DeliveryNotDead(Conflict):
    default_code = "delivery_not_dead"
    default_detail = "Only dead deliveries can be replayed."


def _group_key(delivery: Delivery) -> tuple[str, str]:
    return delivery.channel, channel_for(delivery.channel).destination(delivery)


def deliveries_enqueue(*, deliveries: Iterable[Delivery]) -> int:
    """Send one batch task per (channel, destination) chunk; returns how many tasks were sent.

    A broker failure stops here: the rows stay due in the database and the sweeper sends them.
    """
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for delivery in deliveries:
        groups[_group_key(delivery)].append(str(delivery.pk))
    size = settings.NOTIFICATIONS_DELIVERY_BATCH
    sent = 0
    for ids in groups.values():
        for start in range(0, len(ids), size):
            try:
                current_app.send_task(DELIVER_BATCH_TASK, args=[ids[start : start + size]])
            except Exception as exc:  # noqa: BLE001 - the sweeper re-enqueues from the database
                logger.warning("notifications: enqueueing %d deliveries failed: %s", len(ids), exc)
                return sent
            sent += 1
    return sent


def _claimable(now: datetime) -> Q:
    due = Q(status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRY], next_attempt_at__lte=now)
    stale = Q(status=DeliveryStatus.SENDING, locked_until__lt=now)
    return due | stale


def _claim(delivery_ids: list, *, now: datetime, lease: datetime) -> list[Delivery]:
    """Lease the due rows among ``delivery_ids``; rows another worker holds are skipped.

    The attempt is counted at the claim, so a message that kills its worker still runs out of
    attempts; a skipped send gives its attempt back.
    """
    db = notifications_db()
    if connections[db].vendor == "postgresql":
        ids = _claim_ids_postgres(delivery_ids, now=now, lease=lease, db=db)
    else:
        # SQLite has no row locks; its write transactions are serialized (BEGIN IMMEDIATE).
        with transaction.atomic(using=db):
            ids = list(
                Delivery.objects.using(db).filter(_claimable(now), pk__in=delivery_ids).values_list("pk", flat=True)
            )
            Delivery.objects.using(db).filter(pk__in=ids).update(
                status=DeliveryStatus.SENDING, locked_until=lease, last_attempt_at=now, attempts=F("attempts") + 1
            )
    if not ids:
        return []
    return list(Delivery.objects.using(db).select_related("notification", "endpoint", "device").filter(pk__in=ids))


def _claim_ids_postgres(delivery_ids: list, *, now: datetime, lease: datetime, db: str) -> list:
    """One statement: lock the due rows (SKIP LOCKED), lease them, return their ids.

    SQL rather than the ORM's SELECT … FOR UPDATE + UPDATE: the claim runs for every group,
    and compiling those two queries was over a quarter of the delivery worker's CPU.
    """
    table = Delivery._meta.db_table
    sql = (
        f"UPDATE {table} SET status = %s, locked_until = %s, last_attempt_at = %s, attempts = attempts + 1"
        f" WHERE id IN (SELECT id FROM {table} WHERE id = ANY(%s) AND ("
        "(status IN (%s, %s) AND next_attempt_at <= %s) OR (status = %s AND locked_until < %s))"
        " FOR UPDATE SKIP LOCKED) RETURNING id"
    )
    params = [
        DeliveryStatus.SENDING,
        lease,
        now,
        [UUID(str(pk)) for pk in delivery_ids],
        DeliveryStatus.PENDING,
        DeliveryStatus.RETRY,
        now,
        DeliveryStatus.SENDING,
        now,
    ]
    with connections[db].cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def _apply(delivery: Delivery, sent: SendResult, *, now: datetime, duration_ms: int) -> None:
    """Set the row's new state from what the channel reported (one retry policy for all)."""
    delivery.locked_until = None
    delivery.last_duration_ms = duration_ms
    delivery.response_status = sent.status_code
    if sent.provider_id:
        delivery.provider_id = sent.provider_id
    if sent.result is Result.SKIPPED:
        delivery.status = DeliveryStatus.RETRY
        delivery.next_attempt_at = max(
            sent.reschedule_at or now + timedelta(seconds=settings.BREAKER_RESET_TIMEOUT), now
        )
        delivery.last_error = sent.error[:2000]
        delivery.attempts -= 1
        return
    delivery.last_error = sent.error[:2000]
    if sent.result is Result.SENT:
        delivery.status = DeliveryStatus.SENT
        delivery.sent_at = now
        delivery.last_error = ""
    elif sent.result in (Result.GONE, Result.DEAD) or retry.is_exhausted(attempts=delivery.attempts):
        delivery.status = DeliveryStatus.DEAD
    else:
        delivery.status = DeliveryStatus.RETRY
        delivery.next_attempt_at = retry.next_attempt_at(
            attempt=delivery.attempts, now=now, retry_after_header=sent.retry_after
        )


_CANCELLED = SendResult(result=Result.SKIPPED, error="cancelled before it was sent")


def _still_held(rows: list[Delivery], *, lease: datetime) -> set:
    """The ids among ``rows`` still ours to send: a cancellation since the claim takes a row away."""
    return set(
        Delivery.objects.using(notifications_db())
        .filter(pk__in=[row.pk for row in rows], status=DeliveryStatus.SENDING, locked_until=lease)
        .values_list("pk", flat=True)
    )


class _Lease:
    """The claim's lease, renewed while its group is sent: a worker that dies releases its rows
    within ``NOTIFICATIONS_DELIVERY_LEASE_SECONDS`` (the sweeper takes them over), while a live
    one keeps them however long its sends take. Only the holder of the current value may record.

    A thread renews it every third of the lease, so a send blocked on a slow remote system
    still renews it. It stops (``release``) before the outcome is recorded, which must use the
    value it left.
    """

    def __init__(self, *, until: datetime) -> None:
        self.until = until
        self.lock = threading.Lock()
        self._ids: list = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, ids: list) -> None:
        self._ids = ids
        self._thread = threading.Thread(target=self._renew_loop, name="delivery-lease", daemon=True)
        self._thread.start()

    def release(self) -> datetime:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return self.until

    def _renew_loop(self) -> None:
        try:
            while not self._stop.wait(settings.NOTIFICATIONS_DELIVERY_LEASE_SECONDS / 3):
                self._renew()
        finally:
            connections.close_all()  # this thread's own

    def _renew(self) -> None:
        until = timezone.now() + timedelta(seconds=settings.NOTIFICATIONS_DELIVERY_LEASE_SECONDS)
        db = notifications_db()
        with self.lock:
            try:
                # Cancelled rows too: their record must still find them (as ``_update_rows`` does).
                renewed = (
                    Delivery.objects.using(db)
                    .filter(
                        pk__in=self._ids,
                        status__in=[DeliveryStatus.SENDING, DeliveryStatus.CANCELLED],
                        locked_until=self.until,
                    )
                    .update(locked_until=until)
                )
            except (OperationalError, InterfaceError) as exc:
                # The database is away: nobody else can claim meanwhile; the record insists later.
                logger.warning("notifications: renewing the lease of %d deliveries failed: %s", len(self._ids), exc)
                connections[db].close()
                return
            if renewed:
                self.until = until


def _send_group(
    rows: list[Delivery], *, key: tuple[str, str], started: float, lease: _Lease, healed: set[str]
) -> list[tuple[Delivery, SendResult, int]]:
    """Send one destination's rows (``key``: channel, destination) through one session,
    holding one of the destination's slots. Adds to ``healed`` the breaker keys whose
    half-open trial this session's sends closed."""
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
        busy = SendResult(
            result=Result.SKIPPED,
            error="destination busy: every concurrency slot is taken",
            reschedule_at=timezone.now() + timedelta(seconds=settings.NOTIFICATIONS_BUSY_RETRY_SECONDS),
        )
        return [(row, busy, 0) for row in rows]
    results: list[tuple[Delivery, SendResult, int]] = []
    held_back: SendResult | None = None
    try:
        with channel.session() as session:
            # Checked once the session is open (connecting can take a while), right before sending.
            with lease.lock:
                held = _still_held(rows, lease=lease.until)
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
                        result=Result.SKIPPED, error=f"held back: {sent.error}"[:2000], reschedule_at=when
                    )
            gate = getattr(session, "gate", None)
            if gate is not None:
                healed.update(gate.healed)
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
    lease = _Lease(until=now + timedelta(seconds=settings.NOTIFICATIONS_DELIVERY_LEASE_SECONDS))
    rows = _claim(list(delivery_ids), now=now, lease=lease.until)
    if not rows:
        return {}
    lease.hold([row.pk for row in rows])
    healed: dict[str, set[str]] = defaultdict(set)
    try:
        started = time.monotonic()
        rows, outcomes = _quiet_hours_hold(rows, now=now)
        groups: dict[tuple[str, str], list[Delivery]] = defaultdict(list)
        for row in rows:
            groups[_group_key(row)].append(row)
        for key, group in groups.items():
            outcomes += _send_group(group, key=key, started=started, lease=lease, healed=healed[key[0]])
    finally:
        held_until = lease.release()
    _record(outcomes, lease=held_until)
    for channel, keys in healed.items():
        if keys:
            deliveries_release(channel=channel, breaker_keys=keys)
    return {str(row.pk): row.status for row, _, _ in outcomes}


def deliveries_release(*, channel: str, breaker_keys: Iterable[str], limit: int = 5000) -> int:
    """A destination whose breaker trial just succeeded works again: the deliveries to it that
    wait out a retry backoff (or the open breaker) are due now and enqueued at once, instead of
    each waiting for its own time. Webhooks: those to the healed endpoints and origins; email
    and push (provider breakers): the channel's. Returns how many were released.
    """
    now = timezone.now()
    db = notifications_db()
    # Those already due too: the sweeper would only find them at its next run.
    waiting = Delivery.objects.using(db).filter(status=DeliveryStatus.RETRY, channel=channel)
    if channel == Channel.WEBHOOK:
        # The healed endpoints' deliveries, and every endpoint's at a healed origin.
        matches = webhook.waiting_for(breaker_keys)
        if matches is None:
            return 0
        waiting = waiting.filter(matches)
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


_HELD_CHANNELS = (Channel.EMAIL, Channel.PUSH)


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
            SendResult(result=Result.SKIPPED, error="held by the recipient's quiet hours", reschedule_at=held[row.pk]),
            0,
        )
        for row in rows
        if row.pk in held
    ]
    return [row for row in rows if row.pk not in held], outcomes


def _critical(row: Delivery) -> bool:
    spec = EVENT_TYPES.get(row.notification.type) if row.notification is not None else None
    return spec is not None and spec.critical


def _record(outcomes: list[tuple[Delivery, SendResult, int]], *, lease: datetime) -> None:
    """Write what was sent, insisting through a database blink.

    The sends already happened: if this write were lost, the lease would expire and every one
    of them would go out again. So a connection error is retried (fresh connection, at most a
    second apart) for up to NOTIFICATIONS_RECORD_RETRY_SECONDS. While the database is away
    nobody can take the rows over; once it answers again this write lands within a second,
    ahead of the sweeper (every NOTIFICATIONS_SWEEP_INTERVAL) that would hand the lapsed claim
    to another worker. Only a crash of the worker leaves the documented duplicate window.
    """
    now = timezone.now()
    for row, sent, duration_ms in outcomes:
        _apply(row, sent, now=now, duration_ms=duration_ms)
        with request_id_scope(row.request_id):
            _log_outcome(row, sent, duration_ms=duration_ms)
    db = notifications_db()
    deadline = time.monotonic() + settings.NOTIFICATIONS_RECORD_RETRY_SECONDS
    delay = 0.2
    while True:
        try:
            _write_outcomes(outcomes, lease=lease, db=db)
            break
        except (OperationalError, InterfaceError) as exc:
            if time.monotonic() + delay > deadline:
                raise
            logger.warning("notifications: recording %d deliveries failed, retrying: %s", len(outcomes), exc)
            connections[db].close()
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
    for row, _, _ in outcomes:
        DELIVERY_ATTEMPTS.labels(row.channel, row.status).inc()
        if row.status == DeliveryStatus.SENT and row.sent_at is not None:
            # From the event (its occurred_at, stamped just before the publisher's commit) to
            # this send, retries included; rows made before event_at existed fall back to their creation.
            started = row.event_at or row.created_at
            DELIVERY_LATENCY.labels(row.channel).observe(max((row.sent_at - started).total_seconds(), 0.0))


def _log_outcome(row: Delivery, sent: SendResult, *, duration_ms: int) -> None:
    """One line per send (none for a send held back untouched), under the event's request id."""
    if sent.result is Result.SKIPPED:
        return
    extra = {
        "delivery_id": str(row.pk),
        "event_id": str(row.event_id),
        "channel": row.channel,
        "status": row.status,
        "attempt": row.attempts,
        "duration_ms": duration_ms,
    }
    if sent.result is Result.SENT:
        logger.info("notifications: delivery %s (%s) sent in %d ms", row.pk, row.channel, duration_ms, extra=extra)
    else:
        logger.warning(
            "notifications: delivery %s %s (%s): %s", row.pk, sent.result, row.status, sent.error, extra=extra
        )


def _write_outcomes(outcomes: list[tuple[Delivery, SendResult, int]], *, lease: datetime, db: str) -> None:
    rows = [row for row, _, _ in outcomes]
    with transaction.atomic(using=db):
        _update_rows(rows, lease=lease, db=db)
        DeliveryAttempt.objects.using(db).bulk_create(
            DeliveryAttempt(
                delivery_id=row.pk,
                number=row.attempts,
                provider_id=line.provider_id,
                target=line.target[:300],
                outcome=line.outcome,
                status_code=line.status_code,
                error=line.error,
                duration_ms=line.duration_ms,
            )
            for row, sent, _ in outcomes
            if not _clean_first_send(row, sent)
            for line in sent.lines
        )
        _consequences(outcomes)


def _clean_first_send(row: Delivery, sent: SendResult) -> bool:
    """A first attempt that went out at once: its row says it all (status, sent_at, provider,
    response status, duration), so it writes no attempt log. The log is for what went wrong:
    retries, failovers, skips, failures."""
    return (
        row.status == DeliveryStatus.SENT and row.attempts == 1 and all(line.outcome == "sent" for line in sent.lines)
    )


def _update_rows(rows: list[Delivery], *, lease: datetime, db: str) -> None:
    """Write each row's recorded fields; only the holder of ``lease`` may.

    A row cancelled since its claim stays ``cancelled`` unless its send went out (``sent``);
    each row's status in memory is set to what was written. On PostgreSQL one
    ``UPDATE … FROM unnest(arrays)`` for the whole group. Django's ``bulk_update`` would do the
    same in one statement too, but builds a ``CASE WHEN`` per field and row: in the engine's
    profile that cost more CPU than the sends themselves.
    """
    held = [DeliveryStatus.SENDING, DeliveryStatus.CANCELLED]
    if connections[db].vendor != "postgresql":
        # The embedded default (SQLite) sends little: a statement per row is fine there.
        for row in rows:
            current = (
                Delivery.objects.using(db)
                .filter(pk=row.pk, status__in=held, locked_until=lease)
                .values_list("status", flat=True)
                .first()
            )
            if current is None:
                continue
            if current == DeliveryStatus.CANCELLED and row.status != DeliveryStatus.SENT:
                row.status = DeliveryStatus.CANCELLED
            Delivery.objects.using(db).filter(pk=row.pk, status__in=held, locked_until=lease).update(
                **{name: getattr(row, name) for name in _RECORDED_FIELDS}
            )
        return
    columns = [(name, Delivery._meta.get_field(name)) for name in _RECORDED_FIELDS]
    arrays = [[row.pk for row in rows]] + [[getattr(row, name) for row in rows] for name, _ in columns]
    types = ["uuid"] + [field.db_type(connections[db]).split("(")[0] for _, field in columns]
    table = Delivery._meta.db_table
    assignments = ", ".join(
        "status = CASE WHEN d.status = %s AND v.status <> %s THEN d.status ELSE v.status END"
        if name == "status"
        else f"{field.column} = v.{field.column}"
        for name, field in columns
    )
    unnest = ", ".join(f"%s::{db_type}[]" for db_type in types)
    names = ", ".join(["id"] + [field.column for _, field in columns])
    sql = (
        f"UPDATE {table} AS d SET {assignments} FROM unnest({unnest}) AS v({names}) "
        "WHERE d.id = v.id AND d.status IN (%s, %s) AND d.locked_until = %s RETURNING d.id, d.status"
    )
    params = [DeliveryStatus.CANCELLED, DeliveryStatus.SENT, *arrays, *held, lease]
    with connections[db].cursor() as cursor:
        cursor.execute(sql, params)
        written = dict(cursor.fetchall())
    for row in rows:
        row.status = written.get(row.pk, row.status)


def _consequences(outcomes: list[tuple[Delivery, SendResult, int]]) -> None:
    """What the results mean beyond their deliveries: retired devices, endpoint health."""
    from apps.notifications.services import webhooks

    gone_devices = [
        row.device_id for row, sent, _ in outcomes if row.channel == Channel.PUSH and sent.result is Result.GONE
    ]
    if gone_devices:
        Device.objects.filter(pk__in=[d for d in gone_devices if d]).delete()
    webhooks.endpoints_health_record(
        (row.endpoint_id, sent.result)
        for row, sent, _ in outcomes
        if row.channel == Channel.WEBHOOK and row.endpoint_id and sent.result is not Result.SKIPPED
    )


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
