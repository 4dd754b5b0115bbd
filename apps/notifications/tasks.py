"""Thin Celery tasks: JSON in, one service call, safe to run twice."""

import logging

from celery import shared_task

from apps.core.outbox import outbox_confirm_send
from apps.notifications import services

logger = logging.getLogger(__name__)


@shared_task(name="notifications.ingest_event")
def ingest_event_task(envelope: dict) -> int:
    created = services.ingest_event(envelope=envelope)
    try:
        outbox_confirm_send(event_id=envelope["id"])
    except Exception as exc:  # noqa: BLE001 - unconfirmed events are resent; ingest is idempotent
        logger.warning("notifications: confirming event %s failed: %s", envelope.get("id"), exc)
    return len(created)


@shared_task(name="notifications.deliver")
def deliver_task(delivery_id: str) -> str | None:
    return services.delivery_attempt(delivery_id=delivery_id)


@shared_task(name="notifications.deliveries_sweep")
def deliveries_sweep_task() -> int:
    return services.deliveries_sweep()
