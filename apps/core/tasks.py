"""Periodic publisher-side tasks. Thin: each calls one service."""

from celery import shared_task
from django.conf import settings

from apps.core import outbox
from apps.core.retention import purges_run


@shared_task(name="core.outbox_relay")
def outbox_relay_task() -> int:
    # The safety net when no dispatcher runs (or it is behind): bounded, so a large backlog
    # never holds a worker thread for long; the next run takes the rest.
    return outbox.outbox_dispatch(limit=settings.OUTBOX_RELAY_BATCH, path="relay")


@shared_task(name="core.outbox_confirm")
def outbox_confirm_task(event_ids: list[str] | str) -> int:
    # Publishers before batching sent one id string per message (a shim: it goes after
    # 2027-03-01, docs/operations.md, "Compatibility shims and when they go").
    return outbox.outbox_confirm(event_ids=[event_ids] if isinstance(event_ids, str) else event_ids)


@shared_task(name="core.retention_purge")
def retention_purge_task() -> dict[str, int]:
    """The main database's retention purges (outbox, idempotency keys, the accounts' data
    exports), within RETENTION_MAX_SECONDS."""
    results = purges_run(app_label="core", max_seconds=settings.RETENTION_MAX_SECONDS)
    return {result.name: result.deleted for result in results}
