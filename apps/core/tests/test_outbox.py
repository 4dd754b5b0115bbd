from datetime import timedelta
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone

from apps.core import outbox
from apps.core.models import OutboxEvent

pytestmark = pytest.mark.django_db
SEND = "apps.core.outbox.current_app.send_task"


def _publish(**data) -> OutboxEvent:
    return outbox.publish("rating.created", {"rating_id": "r1", **data}, occurred_at="2026-01-02T03:04:05+00:00")


def test_publish_sends_the_envelope_after_commit_and_marks_it_dispatched(django_capture_on_commit_callbacks):
    with mock.patch(SEND) as send, django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event = _publish(score=5)
        send.assert_not_called()
    event.refresh_from_db()
    envelope = {
        "id": str(event.pk),
        "type": "rating.created",
        "version": 1,
        "occurred_at": "2026-01-02T03:04:05+00:00",
        "data": {"rating_id": "r1", "score": 5},
    }
    send.assert_called_once_with("notifications.ingest_event", args=[envelope], queue="notifications")
    assert event.dispatched_at is not None
    assert event.attempts == 1
    assert event.locked_until is None
    assert event.confirmed_at is None


def test_a_rolled_back_publish_writes_and_sends_nothing(django_capture_on_commit_callbacks):
    with (
        mock.patch(SEND) as send,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        _publish()
        raise RuntimeError("rating rolled back")
    assert OutboxEvent.objects.count() == 0
    assert callbacks == []
    send.assert_not_called()


def test_broker_down_at_commit_leaves_the_row_for_the_relay(django_capture_on_commit_callbacks):
    with (
        mock.patch(SEND, side_effect=ConnectionRefusedError("broker down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        event = _publish()
    event.refresh_from_db()
    assert event.dispatched_at is None
    assert event.locked_until is None
    assert event.attempts == 1
    assert event.last_error == "ConnectionRefusedError: broker down"

    with mock.patch(SEND) as send:
        assert outbox.outbox_relay() == 1
    send.assert_called_once()
    event.refresh_from_db()
    assert event.dispatched_at is not None
    assert event.attempts == 2
    assert event.last_error == ""


def _row(**fields) -> OutboxEvent:
    defaults = {
        "type": "rating.created",
        "occurred_at": timezone.now(),
        "data": {},
        "task_name": "notifications.ingest_event",
        "queue": "notifications",
    }
    return OutboxEvent.objects.create(**{**defaults, **fields})


def test_relay_sends_due_rows_oldest_first_and_leaves_the_rest(settings):
    settings.OUTBOX_CONFIRM_TIMEOUT_SECONDS = 60
    now = timezone.now()
    newer = _row()
    older = _row()
    OutboxEvent.objects.filter(pk=older.pk).update(created_at=now - timedelta(minutes=5))
    stale = _row(dispatched_at=now - timedelta(minutes=2))
    _row(dispatched_at=now - timedelta(seconds=5))  # recently dispatched: waits for confirmation
    _row(dispatched_at=now - timedelta(hours=1), confirmed_at=now)  # confirmed: done
    _row(locked_until=now + timedelta(seconds=30))  # leased by a commit hook or another relay

    with mock.patch(SEND) as send:
        assert outbox.outbox_relay() == 3
    sent = [c.kwargs["args"][0]["id"] for c in send.call_args_list]
    assert sent[0] == str(older.pk)
    assert set(sent) == {str(older.pk), str(newer.pk), str(stale.pk)}
    assert OutboxEvent.objects.get(pk=stale.pk).attempts == 1


def test_relay_stops_at_the_first_broker_failure():
    _row()
    _row()
    with mock.patch(SEND, side_effect=OSError("down")) as send:
        assert outbox.outbox_relay() == 0
    assert send.call_count == 1
    assert OutboxEvent.objects.filter(dispatched_at__isnull=True, locked_until__isnull=True).count() == 2


def test_confirm_marks_the_event_processed_once():
    event = _row(dispatched_at=timezone.now())
    assert outbox.outbox_confirm(event_id=event.pk) is True
    assert outbox.outbox_confirm(event_id=event.pk) is False
    event.refresh_from_db()
    assert event.confirmed_at is not None
    with mock.patch(SEND) as send:
        assert outbox.outbox_relay() == 0
    send.assert_not_called()


def test_a_consumer_in_the_publishers_database_confirms_inline(settings):
    settings.OUTBOX_CONFIRM_INLINE = True
    event = _row(dispatched_at=timezone.now())
    with mock.patch("apps.core.outbox.current_app.send_task") as send:
        outbox.outbox_confirm_send(event_id=event.pk)
    send.assert_not_called()
    event.refresh_from_db()
    assert event.confirmed_at is not None


def test_a_consumer_with_its_own_database_confirms_through_the_broker(settings):
    settings.OUTBOX_CONFIRM_INLINE = False
    event = _row(dispatched_at=timezone.now())
    with mock.patch("apps.core.outbox.current_app.send_task") as send:
        outbox.outbox_confirm_send(event_id=event.pk)
    send.assert_called_once_with("core.outbox_confirm", args=[str(event.pk)], queue="default")
    event.refresh_from_db()
    assert event.confirmed_at is None
