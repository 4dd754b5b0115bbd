"""Recording what a group's sends did: each row's new state, its attempt log, the metrics.

Written in a few statements for the whole group, insisting through a database blink (the sends
already happened), and only by the holder of the claim's lease. What the outcomes mean beyond
their deliveries is reported through ``delivery.outcomes``, in the same transaction.
"""

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError, connections, transaction
from django.utils import timezone

from apps.core.middleware import request_id_scope
from apps.notifications.db import notifications_db
from apps.notifications.delivery.channels.base import Result, SendResult
from apps.notifications.delivery.outcomes import Outcome, report
from apps.notifications.metrics import DELIVERY_ATTEMPTS, DELIVERY_LATENCY
from apps.notifications.models import Delivery, DeliveryAttempt, DeliveryStatus
from apps.notifications.outbound import retry

logger = logging.getLogger(__name__)

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
    "blamed",
]


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
        delivery.blamed = sent.blamed
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
    delivery.blamed = sent.blamed if delivery.status == DeliveryStatus.RETRY else ""


def record(outcomes: list[tuple[Delivery, SendResult, int]], *, lease: datetime) -> None:
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
        update_rows(rows, lease=lease, db=db)
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
                response_excerpt=line.response_excerpt,
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


def update_rows(rows: list[Delivery], *, lease: datetime, db: str) -> None:
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
    """What the results mean beyond their deliveries (retired devices, endpoint health) is for
    the wings that keep those subscriptions: told through ``delivery.outcomes``."""
    report(
        [
            Outcome(channel=row.channel, result=sent.result, endpoint_id=row.endpoint_id, device_id=row.device_id)
            for row, sent, _ in outcomes
            if sent.result is not Result.SKIPPED and (row.endpoint_id or row.device_id)
        ]
    )
