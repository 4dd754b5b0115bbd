"""Delivery outcomes coming back through the intake: endpoint health, retired devices.

The engine reports each group's outcomes (``delivery.outcomes``) to this listener, registered
in ``NotificationsConfig.ready``. In one transaction it records the endpoints' health and
retires gone devices (the subscriptions wing), and an endpoint disabled on the way becomes a
``webhook.disabled`` event ingested like any other: its handler tells the owner (a critical
notice). So the arrows run intake → subscriptions → delivery and never back.
"""

from uuid import uuid4

from django.db import transaction
from django.utils import timezone

from apps.notifications.db import notifications_db
from apps.notifications.delivery.channels.base import Result
from apps.notifications.delivery.outcomes import Outcome
from apps.notifications.events import WEBHOOK_DISABLED
from apps.notifications.intake.ingest import events_ingest
from apps.notifications.models import Channel
from apps.notifications.subscriptions.devices import devices_retire
from apps.notifications.subscriptions.webhooks import Disabled, endpoints_health_record


def _disabled_event(disabled: Disabled) -> dict:
    return {
        "id": str(uuid4()),
        "type": WEBHOOK_DISABLED,
        "version": 1,
        "occurred_at": timezone.now().isoformat(),
        "data": {
            "recipient_user_id": str(disabled.recipient_id),
            "endpoint_id": str(disabled.endpoint_id),
            "url": disabled.url,
            "reason": disabled.reason,
        },
    }


def delivery_outcomes_ingest(outcomes: list[Outcome]) -> None:
    """Act on one group's outcomes; safe to run twice (a disabled endpoint is told once)."""
    gone = [o.device_id for o in outcomes if o.channel == Channel.PUSH and o.result is Result.GONE and o.device_id]
    health = [(o.endpoint_id, o.result) for o in outcomes if o.channel == Channel.WEBHOOK and o.endpoint_id]
    if not (gone or health):
        return
    db = notifications_db()
    # Joins the engine's record transaction (the listener runs inside it): no savepoint needed,
    # a failure rolls the record back with it and the record is written again.
    with transaction.atomic(using=db, savepoint=False):
        devices_retire(device_ids=gone)
        disabled = endpoints_health_record(health)
        if disabled:
            events_ingest(envelopes=[_disabled_event(d) for d in disabled])
