"""Task routing: ingest and external sends run on separate queues (README "Celery roles")."""

import time

import pytest
from django.db import connection

from config.celery_app import app, close_old_db_connections


def _queue(task_name: str) -> str:
    return app.amqp.router.route({}, task_name)["queue"].name


@pytest.mark.parametrize("task_name", ["notifications.deliver_batch", "notifications.deliver"])
def test_external_sends_have_their_own_queue(task_name):
    assert _queue(task_name) == "deliveries"


@pytest.mark.parametrize(
    "task_name",
    [
        "notifications.ingest_events",
        "notifications.ingest_event",
        "notifications.deliveries_sweep",
        "notifications.digests_close",
        # The notifications deployment's workers consume this queue: its purge runs there.
        "notifications.retention_purge",
        # A data export's notifications part: answered where the notifications database is.
        "notifications.data_export_sections",
    ],
)
def test_ingest_and_the_sweeper_stay_on_the_notifications_queue(task_name):
    assert _queue(task_name) == "notifications"


@pytest.mark.parametrize(
    "task_name",
    ["core.outbox_relay", "core.outbox_confirm", "core.retention_purge", "accounts.data_export_attach"],
)
def test_core_tasks_stay_on_default(task_name):
    assert _queue(task_name) == "default"


def test_every_routed_queue_is_declared():
    declared = {queue.name for queue in app.conf.task_queues}
    assert declared == {"default", "notifications", "deliveries"}


def test_workers_keep_database_connections_between_tasks():
    # Celery's Django fixup reconnects around every task unless reuse is on; the task signals
    # then apply Django's per-request rule (CONN_MAX_AGE, unusable after an error).
    assert app.conf.get("CELERY_DB_REUSE_MAX")


@pytest.mark.django_db(transaction=True)
def test_the_task_signal_keeps_a_fresh_connection_and_drops_an_old_one(monkeypatch):
    closed = []
    monkeypatch.setattr(connection, "close", lambda: closed.append(True))
    connection.ensure_connection()
    connection.close_at = time.monotonic() + 60  # CONN_MAX_AGE not reached
    close_old_db_connections(task=None)
    assert closed == []
    connection.close_at = time.monotonic() - 1  # past CONN_MAX_AGE
    close_old_db_connections(task=None)
    assert closed == [True]
