"""Periodic publisher-side tasks. Thin: each calls one service."""

from celery import shared_task

from apps.core import outbox
from apps.core.idempotency import idempotency_keys_purge


@shared_task(name="core.outbox_relay")
def outbox_relay_task() -> int:
    return outbox.outbox_relay()


@shared_task(name="core.outbox_confirm")
def outbox_confirm_task(event_id: str) -> bool:
    return outbox.outbox_confirm(event_id=event_id)


@shared_task(name="core.idempotency_keys_purge")
def idempotency_keys_purge_task() -> int:
    return idempotency_keys_purge()
