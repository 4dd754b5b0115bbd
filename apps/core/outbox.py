"""The transactional outbox (publisher side).

``publish()`` writes an ``OutboxEvent`` in the caller's transaction and, on PostgreSQL, a
``NOTIFY outbox_events`` that the server delivers at commit: the request path makes no broker
call. ``outbox_dispatch()`` (run by the ``outbox_dispatcher`` command, woken by the NOTIFY, and
by the beat task ``core.outbox_relay`` as a safety net) claims due rows in batches, sends one
Celery task per (task name, queue) with the batch's envelopes, by *name* so core never imports
the consumer, and marks them dispatched. The consumer confirms what it processed; what stays
unconfirmed is sent again after ``OUTBOX_CONFIRM_TIMEOUT_SECONDS`` (consumers are idempotent)
and, after ``OUTBOX_MAX_ATTEMPTS`` sends and ``OUTBOX_DEAD_AFTER_SECONDS``, is marked dead for
staff to look at and replay.
"""

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.core import tracing
from apps.core.metrics import EVENTS_DEAD, EVENTS_DISPATCHED, EVENTS_PUBLISHED
from apps.core.middleware import get_request_id
from apps.core.models import OutboxEvent
from apps.core.retention import Purge, days

logger = logging.getLogger(__name__)

NOTIFY_CHANNEL = "outbox_events"
NOTIFICATIONS_INGEST_TASK = "notifications.ingest_events"
NOTIFICATIONS_QUEUE = "notifications"
CONFIRM_TASK = "core.outbox_confirm"
DEFAULT_QUEUE = "default"
# Tasks that take one envelope, not a list: rows published before batching existed (and by
# publishers not yet upgraded) are sent one message per row, as those consumers expect. A shim:
# it goes after 2027-03-01, once no such row is unconfirmed (docs/operations.md,
# "Compatibility shims and when they go").
SINGLE_ENVELOPE_TASKS = frozenset({"notifications.ingest_event"})


def _lease_end(now: datetime) -> datetime:
    return now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)


def _notify() -> None:
    """Wake the dispatchers; PostgreSQL delivers it only if and when the transaction commits."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [NOTIFY_CHANNEL])


def publish(
    event_type: str,
    data: dict,
    *,
    occurred_at: datetime | str | None = None,
    version: int = 1,
    task_name: str = NOTIFICATIONS_INGEST_TASK,
    queue: str = NOTIFICATIONS_QUEUE,
) -> OutboxEvent:
    """Record ``event_type`` in the current transaction; a dispatcher sends it after commit.

    The current request id goes with it (the envelope's ``request_id``): the consumer logs its
    work on the event under that id.
    """
    if isinstance(occurred_at, str):
        occurred_at = parse_datetime(occurred_at)
    event = OutboxEvent.objects.create(
        type=event_type,
        version=version,
        occurred_at=occurred_at or timezone.now(),
        data=data,
        task_name=task_name,
        queue=queue,
        request_id=get_request_id() or "",
        # The request's trace travels with the event (envelope key "trace"); {} when tracing is off.
        trace=tracing.current_carrier(),
    )
    _notify()
    # Counted when written: a transaction rolled back afterwards still counts (no on_commit
    # hook on the request path just for a counter).
    EVENTS_PUBLISHED.labels(event_type).inc()
    return event


def _due(now: datetime) -> Q:
    """Not sent yet, or sent and not confirmed: after ``OUTBOX_CONFIRM_TIMEOUT_SECONDS``, or at
    once when the consumer that took it (``outbox_take``) let its lease lapse (it died).

    A dispatched row has no lease (the dispatcher clears it) until a consumer takes it.
    """
    stale = now - timedelta(seconds=settings.OUTBOX_CONFIRM_TIMEOUT_SECONDS)
    return (
        Q(confirmed_at__isnull=True, dead_at__isnull=True)
        & (Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        & (Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=stale) | Q(locked_until__isnull=False))
    )


def _request_ids(rows: Iterable[OutboxEvent]) -> list[str]:
    """The requests behind a batch (one batch holds the events of many), for its log lines."""
    return sorted({row.request_id for row in rows if row.request_id})


def _claim(size: int) -> tuple[int, list[OutboxEvent]]:
    """Lease up to ``size`` due rows, oldest first, in one short transaction.

    Returns how many rows were leased (fewer than ``size``: nothing more was due) and the ones
    to send: leased rows already sent ``OUTBOX_MAX_ATTEMPTS`` times, and old enough, are marked
    dead instead. PostgreSQL: SKIP LOCKED, so
    dispatchers never wait on each other nor get the same row. SQLite has no row locks (its
    transactions are serialized by BEGIN IMMEDIATE, see settings); each row is still claimed
    with a compare-and-set, so two dispatchers never both send it.
    """
    now = timezone.now()
    if connection.features.has_select_for_update_skip_locked:
        rows = _claim_postgres(size, now=now)
    else:
        with transaction.atomic():
            rows = list(OutboxEvent.objects.filter(_due(now)).order_by("created_at", "id")[:size])
            # SQLite: no row locks, so each row is claimed with a compare-and-set.
            lease = _lease_end(now)
            rows = [row for row in rows if OutboxEvent.objects.filter(_due(now), pk=row.pk).update(locked_until=lease)]
    # Both a count and an age: a consumer outage (workers down, broker up) also leaves rows
    # unconfirmed, and must cost a delay, not a manual replay of every event it spanned.
    old_enough = now - timedelta(seconds=settings.OUTBOX_DEAD_AFTER_SECONDS)
    dead = [row.pk for row in rows if row.attempts >= settings.OUTBOX_MAX_ATTEMPTS and row.created_at <= old_enough]
    if dead:
        marked = OutboxEvent.objects.filter(pk__in=dead, dead_at__isnull=True).update(
            dead_at=now,
            locked_until=None,
            last_error=f"dead: dispatched {settings.OUTBOX_MAX_ATTEMPTS} times without confirmation",
        )
        EVENTS_DEAD.inc(marked)
        logger.warning(
            "outbox: %d events dead after %d dispatches",
            marked,
            settings.OUTBOX_MAX_ATTEMPTS,
            extra={"event_ids": [str(pk) for pk in dead], "request_ids": _request_ids(r for r in rows if r.pk in dead)},
        )
    return len(rows), [row for row in rows if row.pk not in dead]


_CLAIM_FIELDS = (
    "id",
    "type",
    "version",
    "occurred_at",
    "data",
    "task_name",
    "queue",
    "attempts",
    "created_at",
    "request_id",
    "trace",
)


def _claim_postgres(size: int, *, now: datetime) -> list[OutboxEvent]:
    """Select and lease in one statement (SKIP LOCKED: dispatchers never wait on each other).

    Written in SQL because this runs after every commit under load, and in the dispatcher's
    profile compiling the ORM's SELECT … FOR UPDATE and UPDATE was most of its CPU.
    """
    table = OutboxEvent._meta.db_table
    columns = ", ".join(f"o.{OutboxEvent._meta.get_field(name).column}" for name in _CLAIM_FIELDS)
    sql = (
        f"WITH due AS (SELECT id FROM {table} WHERE confirmed_at IS NULL AND dead_at IS NULL"
        " AND (locked_until IS NULL OR locked_until < %s)"
        " AND (dispatched_at IS NULL OR dispatched_at < %s OR locked_until IS NOT NULL)"
        " ORDER BY created_at, id LIMIT %s FOR UPDATE SKIP LOCKED)"
        f" UPDATE {table} AS o SET locked_until = %s FROM due WHERE o.id = due.id RETURNING {columns}"
    )
    stale = now - timedelta(seconds=settings.OUTBOX_CONFIRM_TIMEOUT_SECONDS)
    with connection.cursor() as cursor:
        cursor.execute(sql, [now, stale, size, _lease_end(now)])
        fetched = cursor.fetchall()
    rows = [OutboxEvent(**dict(zip(_CLAIM_FIELDS, values, strict=True))) for values in fetched]
    for row in rows:
        if isinstance(row.data, str):
            row.data = json.loads(row.data)
        if isinstance(row.trace, str):
            row.trace = json.loads(row.trace)
    # RETURNING keeps no order; dispatch oldest first.
    rows.sort(key=lambda row: (row.created_at, str(row.pk)))
    return rows


def _groups(rows: Iterable[OutboxEvent]) -> list[list[OutboxEvent]]:
    """One message per (task, queue) in order of first appearance; single-envelope tasks one per row."""
    groups: dict[tuple, list[OutboxEvent]] = {}
    for row in rows:
        key = (row.task_name, row.queue, row.pk if row.task_name in SINGLE_ENVELOPE_TASKS else None)
        groups.setdefault(key, []).append(row)
    return list(groups.values())


def _send(group: list[OutboxEvent]) -> None:
    first = group[0]
    args = [first.envelope] if first.task_name in SINGLE_ENVELOPE_TASKS else [[row.envelope for row in group]]
    # One message for events of many requests: the span links each event's trace; the events
    # themselves carry their context to the consumer (envelope "trace").
    with tracing.linked_span(
        f"outbox dispatch {first.task_name}",
        [row.trace for row in group],
        attributes={"messaging.destination.name": first.queue, "messaging.batch.message_count": len(group)},
    ):
        # The wait for RabbitMQ's confirmation, where the dispatcher asked for one: bounded, so
        # a broker that stops answering fails the round instead of holding the dispatcher.
        current_app.send_task(
            first.task_name,
            args=args,
            queue=first.queue,
            confirm_timeout=settings.OUTBOX_PUBLISH_CONFIRM_TIMEOUT_SECONDS,
        )


@dataclass(frozen=True)
class DispatchRound:
    sent: int
    broker_failed: bool


def outbox_dispatch_round(
    *, limit: int | None = None, path: str = "dispatcher", progress: Callable[[], None] | None = None
) -> DispatchRound:
    """``outbox_dispatch`` that also tells whether it stopped at a broker failure (for backoff).

    ``progress`` is called after each batch (the dispatcher's liveness heartbeat).
    """
    sent = seen = 0
    while limit is None or seen < limit:
        batch = settings.OUTBOX_DISPATCH_BATCH if limit is None else min(settings.OUTBOX_DISPATCH_BATCH, limit - seen)
        looked_at, rows = _claim(batch)
        if not looked_at:
            break
        seen += looked_at
        groups = _groups(rows)
        done: list[OutboxEvent] = []
        for index, group in enumerate(groups):
            try:
                _send(group)
            except Exception as exc:  # noqa: BLE001 - any broker failure: the rows wait for the next round
                logger.warning(
                    "outbox: sending %d events to %s failed: %s",
                    len(group),
                    group[0].task_name,
                    exc,
                    extra={"request_ids": _request_ids(group)},
                )
                unsent = [row.pk for rest in groups[index:] for row in rest]
                # Not an attempt: the consumer never saw them.
                OutboxEvent.objects.filter(pk__in=unsent).update(
                    locked_until=None, last_error=f"{type(exc).__name__}: {exc}"[:2000]
                )
                EVENTS_DISPATCHED.labels(path, "error").inc(len(unsent))
                _mark_dispatched(done, path=path)
                return DispatchRound(sent=sent + len(done), broker_failed=True)
            done.extend(group)
        _mark_dispatched(done, path=path)
        sent += len(done)
        if progress is not None:
            progress()
        if looked_at < batch:
            # Nothing more was due when we looked; whatever commits later NOTIFYs the next round,
            # so a second, empty claim would only cost its round trips.
            break
    return DispatchRound(sent=sent, broker_failed=False)


def _mark_dispatched(rows: list[OutboxEvent], *, path: str) -> None:
    if not rows:
        return
    ids = [row.pk for row in rows]
    if connection.vendor == "postgresql":
        # As _claim_postgres: the ORM's UPDATE compiled per round was a quarter of the dispatcher.
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {OutboxEvent._meta.db_table} SET dispatched_at = %s, attempts = attempts + 1,"
                " locked_until = NULL, last_error = '' WHERE id = ANY(%s)",
                [timezone.now(), ids],
            )
    else:
        OutboxEvent.objects.filter(pk__in=ids).update(
            dispatched_at=timezone.now(), attempts=F("attempts") + 1, locked_until=None, last_error=""
        )
    EVENTS_DISPATCHED.labels(path, "ok").inc(len(rows))


def outbox_dispatch(*, limit: int | None = None, path: str = "dispatcher") -> int:
    """Send due events in batches, oldest first; returns how many were sent.

    Loops until nothing is due or ``limit`` rows were claimed; stops at the first broker
    failure (the unsent rows are released, without counting an attempt, for the next round).
    ``path`` labels the metrics: "dispatcher" or "relay".
    """
    return outbox_dispatch_round(limit=limit, path=path).sent


def outbox_take(*, event_ids: Iterable[UUID | str]) -> int:
    """A consumer sharing this database starts on ``event_ids``: it holds them for
    ``OUTBOX_TAKEN_LEASE_SECONDS``. If it dies before confirming, the dispatchers send them again
    as soon as that lease lapses, not after the whole ``OUTBOX_CONFIRM_TIMEOUT_SECONDS``
    (which is for events still waiting in the broker, or consumers that cannot take).
    """
    event_ids = list(event_ids)
    if not event_ids:
        return 0
    until = timezone.now() + timedelta(seconds=settings.OUTBOX_TAKEN_LEASE_SECONDS)
    return OutboxEvent.objects.filter(pk__in=event_ids, confirmed_at__isnull=True, dispatched_at__isnull=False).update(
        locked_until=until
    )


def outbox_confirm(*, event_ids: Iterable[UUID | str]) -> int:
    """The consumer processed ``event_ids``: never send them again. Returns how many were newly confirmed."""
    event_ids = list(event_ids)
    if not event_ids:
        return 0
    return OutboxEvent.objects.filter(pk__in=event_ids, confirmed_at__isnull=True).update(
        confirmed_at=timezone.now(), locked_until=None, dead_at=None
    )


def outbox_confirm_send(*, event_ids: Iterable[UUID | str]) -> None:
    """Called by a consumer (possibly another deployment and database) once it processed events."""
    event_ids = [str(event_id) for event_id in event_ids]
    if not event_ids:
        return
    if settings.OUTBOX_CONFIRM_INLINE:
        outbox_confirm(event_ids=event_ids)
        return
    current_app.send_task(CONFIRM_TASK, args=[event_ids], queue=DEFAULT_QUEUE)


def outbox_events_replay(*, event_ids: Iterable[UUID | str]) -> int:
    """Give dead events a fresh set of attempts; the dispatchers send them right away."""
    replayed = OutboxEvent.objects.filter(
        pk__in=list(event_ids), dead_at__isnull=False, confirmed_at__isnull=True
    ).update(dead_at=None, attempts=0, locked_until=None, dispatched_at=None)
    if replayed:
        _notify()
    return replayed


# Retention (apps.core.retention). Confirmed events are history: the consumer has them. Dead ones
# wait for a replay; RETENTION_OUTBOX_DEAD_DAYS (0 by default: never) lets them go that long
# after they died. Undispatched and dispatched-but-unconfirmed rows never match either.
OUTBOX_CONFIRMED_PURGE = Purge(
    name="outbox_confirmed",
    app_label="core",
    model=OutboxEvent,
    order_column="confirmed_at",
    condition="t.confirmed_at IS NOT NULL AND t.confirmed_at < %s",
    retention=days("RETENTION_OUTBOX_CONFIRMED_DAYS"),
)
OUTBOX_DEAD_PURGE = Purge(
    name="outbox_dead",
    app_label="core",
    model=OutboxEvent,
    order_column="dead_at",
    condition="t.confirmed_at IS NULL AND t.dead_at IS NOT NULL AND t.dead_at < %s",
    retention=days("RETENTION_OUTBOX_DEAD_DAYS"),
)
