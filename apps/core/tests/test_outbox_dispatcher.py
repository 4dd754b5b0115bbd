"""The outbox: confirming, the outbox_dispatcher command (NOTIFY, SIGTERM, lingering) and the upgrade."""

import importlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from kombu import Connection

from apps.core import outbox
from apps.core.models import OutboxEvent
from apps.core.tasks import outbox_confirm_task
from apps.core.tests.outbox_support import (
    ROOT,
    SEND,
    _row,
    _rows,
    postgres_only,
)


# --- confirm ----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_confirm_marks_events_processed_once_in_one_update(django_assert_num_queries):
    first, second = _row(dispatched_at=timezone.now()), _row(dispatched_at=timezone.now())
    with django_assert_num_queries(1):
        assert outbox.outbox_confirm(event_ids=[first.pk, str(second.pk)]) == 2
    assert outbox.outbox_confirm(event_ids=[first.pk]) == 0
    assert outbox.outbox_confirm(event_ids=[]) == 0
    assert OutboxEvent.objects.filter(confirmed_at__isnull=False).count() == 2
    with mock.patch(SEND) as send:
        assert outbox.outbox_dispatch() == 0
    send.assert_not_called()


@pytest.mark.django_db
def test_the_confirm_task_takes_a_list_or_one_id_from_older_publishers():
    first, second, third = _row(), _row(), _row()
    assert outbox_confirm_task([str(first.pk), str(second.pk)]) == 2
    assert outbox_confirm_task(str(third.pk)) == 1
    assert OutboxEvent.objects.filter(confirmed_at__isnull=True).count() == 0


@pytest.mark.django_db
def test_a_consumer_in_the_publishers_database_confirms_inline(settings):
    settings.OUTBOX_CONFIRM_INLINE = True
    first, second = _row(dispatched_at=timezone.now()), _row(dispatched_at=timezone.now())
    with mock.patch(SEND) as send:
        outbox.outbox_confirm_send(event_ids=[first.pk, second.pk])
    send.assert_not_called()
    assert OutboxEvent.objects.filter(confirmed_at__isnull=False).count() == 2


@pytest.mark.django_db
def test_a_consumer_with_its_own_database_confirms_through_the_broker_with_one_task(settings):
    settings.OUTBOX_CONFIRM_INLINE = False
    first, second = _row(dispatched_at=timezone.now()), _row(dispatched_at=timezone.now())
    with mock.patch(SEND) as send:
        outbox.outbox_confirm_send(event_ids=[first.pk, second.pk])
        outbox.outbox_confirm_send(event_ids=[])
    send.assert_called_once_with("core.outbox_confirm", args=[[str(first.pk), str(second.pk)]], queue="default")
    assert OutboxEvent.objects.filter(confirmed_at__isnull=True).count() == 2


# --- the outbox_dispatcher command ------------------------------------------------------------
@pytest.mark.django_db
def test_the_command_once_dispatches_what_is_due_and_exits(capsys):
    rows = _rows(3)
    with mock.patch(SEND) as send:
        call_command("outbox_dispatcher", "--once")
    assert capsys.readouterr().out == "3 outbox events dispatched\n"
    send.assert_called_once_with(
        "notifications.ingest_events", args=[[row.envelope for row in rows]], queue="notifications", confirm_timeout=5.0
    )


def test_on_rabbitmq_the_dispatcher_asks_for_publisher_confirms_and_other_brokers_are_left_alone(monkeypatch):
    from celery import current_app

    from apps.core.management.commands.outbox_dispatcher import publisher_confirms

    for url, confirmed in (("amqp://guest:guest@127.0.0.1:5672//", True), ("redis://127.0.0.1:6379/0", False)):
        monkeypatch.setitem(current_app.conf, "broker_url", url)
        monkeypatch.setitem(current_app.conf, "broker_transport_options", {"write_timeout": 3})
        publisher_confirms()
        expected = {"write_timeout": 3, "confirm_publish": True} if confirmed else {"write_timeout": 3}
        assert current_app.conf.broker_transport_options == expected


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _wait_for(predicate, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_dispatcher_sends_on_notify_and_exits_on_sigterm(settings, tmp_path):
    redis_url = settings.REDIS_URL or os.environ.get("REDIS_URL")
    if not redis_url:
        pytest.skip("needs a Redis broker (REDIS_URL)")
    queue = f"test-outbox-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "dispatcher.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": redis_url,
        # Only a NOTIFY can wake it within this test's deadline.
        "OUTBOX_DISPATCHER_POLL_SECONDS": "60",
        "OUTBOX_DISPATCHER_HEARTBEAT_FILE": str(tmp_path / "heartbeat"),
    }
    (tmp_path / "heartbeat").write_text("left by a previous process")
    stale = time.time() - 3600
    os.utime(tmp_path / "heartbeat", (stale, stale))
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "outbox_dispatcher"], cwd=ROOT, env=env, stdout=out, stderr=out
        )
    try:
        _wait_for(lambda: "listening on outbox_events" in log.read_text(), timeout=20, what="the LISTEN")
        time.sleep(0.3)  # its first round found nothing: it waits for a NOTIFY now
        # Its heartbeat is a new file (the stale one was removed) and goes on while it waits.
        heartbeat = tmp_path / "heartbeat"
        first = heartbeat.stat().st_mtime
        assert heartbeat.read_text() == ""
        assert time.time() - first < 5
        _wait_for(lambda: heartbeat.stat().st_mtime > first, timeout=3, what="a second heartbeat in the wait")
        with transaction.atomic():
            event = outbox.publish("rating.created", {"n": 1}, queue=queue)
        committed = time.monotonic()

        with Connection(redis_url) as broker, broker.SimpleQueue(queue) as messages:
            message = messages.get(timeout=5)
            received = time.monotonic() - committed
            message.ack()
        assert message.headers["task"] == "notifications.ingest_events"
        args, _kwargs, _embed = message.decode()
        assert args == [[OutboxEvent.objects.get(pk=event.pk).envelope]]
        assert received < 2, received
        _wait_for(
            lambda: OutboxEvent.objects.filter(pk=event.pk, dispatched_at__isnull=False).exists(),
            timeout=5,
            what="the row marked dispatched",
        )

        stopping = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
        # Well under a poll interval: the loop stops at once (it logs "stopped" within ~0.2 s);
        # the rest is the interpreter's exit, which a loaded CI machine can stretch.
        assert time.monotonic() - stopping < 4
        assert "outbox dispatcher: stopped" in log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


# --- the upgrade --------------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_data_migration_moves_undispatched_rows_to_the_batch_task():
    from django.apps import apps

    migration = importlib.import_module("apps.core.migrations.0004_outboxevent_batch_ingest_task")
    editor = mock.Mock(connection=connection)
    old = "notifications.ingest_event"
    undispatched = _row(task_name=old)
    dispatched = _row(task_name=old, dispatched_at=timezone.now(), attempts=1)
    other = _row(task_name="search.index")

    migration.forwards(apps, editor)
    assert OutboxEvent.objects.get(pk=undispatched.pk).task_name == "notifications.ingest_events"
    assert OutboxEvent.objects.get(pk=dispatched.pk).task_name == old  # sent one by one, as before
    assert OutboxEvent.objects.get(pk=other.pk).task_name == "search.index"

    migration.backwards(apps, editor)
    assert set(OutboxEvent.objects.values_list("task_name", flat=True)) == {old, "search.index"}


# --- lingering: batches that grow with the load ----------------------------------------------
def _waiting_dispatcher(settings, *, poll: float):
    from apps.core.management.commands.outbox_dispatcher import Dispatcher

    settings.OUTBOX_DISPATCHER_POLL_SECONDS = poll
    dispatcher = Dispatcher()
    dispatcher._listen()
    return dispatcher


def _wait_in_thread(dispatcher) -> threading.Thread:
    thread = threading.Thread(target=dispatcher._wait, daemon=True)
    thread.start()
    return thread


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_dispatcher_lingers_after_a_notify_until_enough_commits_have_notified(settings):
    settings.OUTBOX_DISPATCH_LINGER_SECONDS = 60
    settings.OUTBOX_DISPATCH_LINGER_EVENTS = 3
    dispatcher = _waiting_dispatcher(settings, poll=60)
    try:
        thread = _wait_in_thread(dispatcher)
        for n in range(2):
            with transaction.atomic():
                outbox.publish("rating.created", {"n": n})
        thread.join(timeout=1)
        assert thread.is_alive()  # two commits: still gathering
        with transaction.atomic():
            outbox.publish("rating.created", {"n": 2})
        thread.join(timeout=10)
        assert not thread.is_alive()  # the third one ends the linger, long before its 60 s
        # The round after it claims all three at once: one message.
        with mock.patch("apps.core.outbox.current_app.send_task") as send:
            assert outbox.outbox_dispatch() == 3
        send.assert_called_once()
    finally:
        dispatcher.stopping = True
        dispatcher._close_listener()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_notifies_that_arrive_together_all_count_toward_the_linger(settings):
    # Two commits notify before the dispatcher waits: both NOTIFYs reach it in one read, and
    # both count, so the third commit ends the linger (a busy dispatcher counted one of them).
    settings.OUTBOX_DISPATCH_LINGER_SECONDS = 60
    settings.OUTBOX_DISPATCH_LINGER_EVENTS = 3
    dispatcher = _waiting_dispatcher(settings, poll=60)
    try:
        for n in range(2):
            with transaction.atomic():
                outbox.publish("rating.created", {"n": n})
        time.sleep(0.5)  # both NOTIFYs are in the listener's socket before it reads
        thread = _wait_in_thread(dispatcher)
        thread.join(timeout=1)
        assert thread.is_alive()  # two commits: still gathering
        with transaction.atomic():
            outbox.publish("rating.created", {"n": 2})
        thread.join(timeout=10)
        assert not thread.is_alive()
    finally:
        dispatcher.stopping = True
        dispatcher._close_listener()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_lone_commit_waits_only_the_linger_not_the_poll_interval(settings):
    settings.OUTBOX_DISPATCH_LINGER_SECONDS = 0.05
    settings.OUTBOX_DISPATCH_LINGER_EVENTS = 100
    dispatcher = _waiting_dispatcher(settings, poll=60)
    try:
        thread = _wait_in_thread(dispatcher)
        with transaction.atomic():
            outbox.publish("rating.created", {"n": 1})
        thread.join(timeout=10)
        assert not thread.is_alive()
    finally:
        dispatcher.stopping = True
        dispatcher._close_listener()
