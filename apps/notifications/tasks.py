"""Thin Celery tasks: JSON in, one service call, safe to run twice."""

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError, connections

from apps.core.outbox import outbox_confirm_send, outbox_take
from apps.core.retention import purges_run
from apps.notifications import exports, services

logger = logging.getLogger(__name__)

T = TypeVar("T")
# How long a task goes on retrying a dropped database connection (a PostgreSQL restart, a
# terminated backend) before it gives up to the outbox resend or the sweeper. Well inside the
# soft time limit; the work is idempotent, so running it again is safe.
DB_RETRY_SECONDS = 20.0


def _through_database_blips(work: Callable[[], T], *, what: str) -> T:
    """Run ``work``; on a lost database connection, reconnect and run it again at once.

    Without this, one ``OperationalError`` ended the task and its work waited for the outbox's
    confirmation timeout or a delivery lease: minutes for a blip of a second.
    """
    deadline = time.monotonic() + DB_RETRY_SECONDS
    delay = 0.1
    while True:
        try:
            return work()
        except (OperationalError, InterfaceError) as exc:
            if time.monotonic() + delay > deadline:
                raise
            logger.warning("notifications: %s lost its database connection, running it again: %s", what, exc)
            # This thread's connections only; the next query opens a fresh one.
            connections.close_all()
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


@shared_task(name="notifications.ingest_events")
def ingest_events_task(envelopes: list[dict]) -> int:
    """One batch claimed by the outbox dispatcher: ingest it, then confirm every event at once."""
    ids = [str(envelope["id"]) for envelope in envelopes if isinstance(envelope, dict) and "id" in envelope]
    if settings.OUTBOX_CONFIRM_INLINE:
        # Ours while we work: if this process dies, the dispatcher resends within the lease.
        _through_database_blips(lambda: outbox_take(event_ids=ids), what="taking a batch")
    created = _through_database_blips(lambda: services.events_ingest(envelopes=envelopes), what="ingest")
    try:
        outbox_confirm_send(event_ids=ids)
    except Exception as exc:  # noqa: BLE001 - unconfirmed events are resent; ingest is idempotent
        # The batch holds the events of many requests: the line lists them.
        request_ids = sorted({e["request_id"] for e in envelopes if isinstance(e, dict) and e.get("request_id")})
        logger.warning(
            "notifications: confirming %d events failed: %s", len(ids), exc, extra={"request_ids": request_ids}
        )
    return len(created)


@shared_task(name="notifications.ingest_event")
def ingest_event_task(envelope: dict) -> int:
    """One event, as published before events were dispatched in batches (still in brokers).

    A shim: it goes after 2027-03-01, once no such outbox row is unconfirmed (docs/operations.md,
    "Compatibility shims and when they go").
    """
    return ingest_events_task(envelopes=[envelope])


@shared_task(name=exports.SECTIONS_TASK)
def data_export_sections_task(envelopes: list[dict]) -> int:
    """Requests for this app's part of users' data exports (outbox batch): read, answer by name."""
    return _through_database_blips(lambda: exports.export_requests_answer(envelopes=envelopes), what="export part")


@shared_task(name="notifications.deliver_batch")
def deliver_batch_task(delivery_ids: list[str]) -> dict[str, str]:
    return _through_database_blips(lambda: services.deliveries_send(delivery_ids=delivery_ids), what="delivery batch")


@shared_task(name="notifications.deliver")
def deliver_task(delivery_id: str) -> str | None:
    """One delivery, as enqueued before deliveries were sent in groups (still in brokers).

    A shim: it goes after 2027-03-01 (docs/operations.md, "Compatibility shims and when they go").
    """
    return services.delivery_attempt(delivery_id=delivery_id)


@shared_task(name="notifications.deliveries_sweep")
def deliveries_sweep_task() -> int:
    return services.deliveries_sweep()


@shared_task(name="notifications.digests_close")
def digests_close_task() -> int:
    """Close the digests whose period has ended (and any missed while beat was down)."""
    return services.digests_close()


@shared_task(name="notifications.retention_purge")
def retention_purge_task() -> dict[str, int]:
    """The notifications tables' retention purges, within RETENTION_MAX_SECONDS."""
    results = purges_run(app_label="notifications", max_seconds=settings.RETENTION_MAX_SECONDS)
    return {result.name: result.deleted for result in results}
