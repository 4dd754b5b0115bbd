"""Thin Celery tasks: JSON in, one service call, safe to run twice."""

import logging

from celery import shared_task

from apps.core.outbox import outbox_confirm_send
from apps.notifications import services

logger = logging.getLogger(__name__)


def _ingest(envelopes: list[dict]) -> int:
    """Ingest every event, then confirm them all with one call."""
    created = 0
    for envelope in envelopes:
        created += len(services.ingest_event(envelope=envelope))
    event_ids = [envelope["id"] for envelope in envelopes]
    try:
        outbox_confirm_send(event_ids=event_ids)
    except Exception as exc:  # noqa: BLE001 - unconfirmed events are resent; ingest is idempotent
        logger.warning("notifications: confirming %d events failed: %s", len(event_ids), exc)
    return created


@shared_task(name="notifications.ingest_events")
def ingest_events_task(envelopes: list[dict]) -> int:
    """One outbox batch (the dispatcher sends one per batch and task)."""
    return _ingest(envelopes)


@shared_task(name="notifications.ingest_event")
def ingest_event_task(envelope: dict) -> int:
    # Messages published one per event (before batching, or rows dispatched before the upgrade).
    return _ingest([envelope])


@shared_task(name="notifications.deliver")
def deliver_task(delivery_id: str) -> str | None:
    return services.delivery_attempt(delivery_id=delivery_id)


@shared_task(name="notifications.deliveries_sweep")
def deliveries_sweep_task() -> int:
    return services.deliveries_sweep()
