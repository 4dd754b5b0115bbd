"""Claims on deliveries: who may send a row, and for how long.

A claim is a compare-and-set with a lease (``claim``); the lease is renewed while its group is
sent (``Lease``) and only its holder may record the outcome (``records``). A cancellation since
the claim takes a row away (``still_held``).
"""

import logging
import threading
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import InterfaceError, OperationalError, connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.notifications.db import notifications_db
from apps.notifications.models import Delivery, DeliveryStatus

logger = logging.getLogger(__name__)


def _claimable(now: datetime) -> Q:
    due = Q(status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRY], next_attempt_at__lte=now)
    stale = Q(status=DeliveryStatus.SENDING, locked_until__lt=now)
    return due | stale


def claim(delivery_ids: list, *, now: datetime, lease: datetime) -> list[Delivery]:
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
    # In the order they became due, then were made: a destination's group is sent in this
    # order, so a recovery's replays reach the receiver in event order.
    return list(
        Delivery.objects.using(db)
        .select_related("notification", "endpoint", "device")
        .filter(pk__in=ids)
        .order_by("next_attempt_at", "created_at", "id")
    )


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


def still_held(rows: list[Delivery], *, lease: datetime) -> set:
    """The ids among ``rows`` still ours to send: a cancellation since the claim takes a row away."""
    return set(
        Delivery.objects.using(notifications_db())
        .filter(pk__in=[row.pk for row in rows], status=DeliveryStatus.SENDING, locked_until=lease)
        .values_list("pk", flat=True)
    )


class Lease:
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
                # Cancelled rows too: their record must still find them (as ``records.update_rows`` does).
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
