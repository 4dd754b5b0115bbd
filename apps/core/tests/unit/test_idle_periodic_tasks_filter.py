"""make run's console: a periodic task's run is logged only when it did something."""

import logging

import pytest
from celery.app.trace import LOG_RECEIVED, LOG_SUCCESS

from config.log_filters import IdlePeriodicTasksFilter


def _record(name: str, msg: str, args) -> logging.LogRecord:
    return logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, None)


def _task(name: str, return_value: str = "") -> dict:
    return {"name": name, "id": "0c8f", "runtime": 0.01, "return_value": return_value}


@pytest.mark.parametrize(
    ("record", "kept"),
    [
        (_record("celery.beat", "Scheduler: Sending due task %s (%s)", ("outbox-relay", "core.outbox_relay")), False),
        (_record("celery.worker.strategy", LOG_RECEIVED, _task("core.outbox_relay")), False),
        (_record("celery.app.trace", LOG_SUCCESS, _task("core.outbox_relay", "0")), False),
        (_record("celery.app.trace", LOG_SUCCESS, _task("core.retention_purge", "{'outbox': 0, 'inbox': 0}")), False),
        (_record("celery.app.trace", LOG_SUCCESS, _task("notifications.deliveries_sweep", "None")), False),
        # Work done is shown.
        (_record("celery.app.trace", LOG_SUCCESS, _task("core.outbox_relay", "3")), True),
        (_record("celery.app.trace", LOG_SUCCESS, _task("core.retention_purge", "{'outbox': 2, 'inbox': 0}")), True),
        # Tasks that are not periodic are shown whatever they return.
        (_record("celery.worker.strategy", LOG_RECEIVED, _task("notifications.deliver_batch")), True),
        (_record("celery.app.trace", LOG_SUCCESS, _task("notifications.deliver_batch", "0")), True),
        (_record("apps.notifications.intake.ingest", "notifications: %s", ("an event",)), True),
    ],
)
def test_idle_runs_of_periodic_tasks_are_dropped_and_everything_else_is_kept(record, kept):
    assert IdlePeriodicTasksFilter().filter(record) is kept


def test_the_local_settings_put_the_filter_on_the_console():
    from config.settings import local

    assert "idle_periodic_tasks" in local.LOGGING["handlers"]["console"]["filters"]
