"""The ingest tasks: a batch from the outbox dispatcher, or one envelope from older publishers."""

from unittest import mock

import pytest
from django.utils import timezone

from apps.core.models import OutboxEvent
from apps.notifications.models import Notification
from apps.notifications.tasks import ingest_event_task, ingest_events_task

from .conftest import envelope

pytestmark = pytest.mark.django_db


def _outbox_row(event: dict) -> OutboxEvent:
    return OutboxEvent.objects.create(
        id=event["id"],
        type=event["type"],
        occurred_at=timezone.now(),
        data=event["data"],
        task_name="notifications.ingest_events",
        queue="notifications",
        dispatched_at=timezone.now(),
        attempts=1,
    )


def test_a_batch_is_ingested_and_confirmed_with_one_call(send_task, django_capture_on_commit_callbacks):
    events = [envelope(), envelope(), envelope(type="rating.exploded")]
    with (
        mock.patch("apps.notifications.tasks.outbox_confirm_send") as confirm,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert ingest_events_task(events) == 2
    confirm.assert_called_once_with(event_ids=[event["id"] for event in events])
    assert sorted(str(e) for e in Notification.objects.values_list("event_id", flat=True)) == sorted(
        event["id"] for event in events[:2]
    )


def test_a_batch_confirms_its_outbox_rows_inline_in_the_monolith(send_task, django_capture_on_commit_callbacks):
    events = [envelope(), envelope()]
    rows = [_outbox_row(event) for event in events]
    with django_capture_on_commit_callbacks(execute=True):
        assert ingest_events_task(events) == 2
        assert ingest_events_task(events) == 0  # a resend creates nothing
    assert OutboxEvent.objects.filter(pk__in=[r.pk for r in rows], confirmed_at__isnull=False).count() == 2


def test_a_failed_confirmation_leaves_the_events_for_a_resend(send_task, django_capture_on_commit_callbacks):
    with (
        mock.patch("apps.notifications.tasks.outbox_confirm_send", side_effect=OSError("broker down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert ingest_events_task([envelope()]) == 1
    assert Notification.objects.count() == 1


def test_the_single_envelope_task_still_ingests_and_confirms(send_task, django_capture_on_commit_callbacks):
    event = envelope()
    row = _outbox_row(event)
    with django_capture_on_commit_callbacks(execute=True):
        assert ingest_event_task(event) == 1
    assert str(Notification.objects.get().event_id) == event["id"]
    row.refresh_from_db()
    assert row.confirmed_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_batch_whose_database_connection_was_terminated_runs_again_at_once(send_task, settings):
    """A terminated backend (a PostgreSQL restart) costs the task a reconnect, not the outbox resend."""
    import psycopg
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("terminates a PostgreSQL backend")
    settings.OUTBOX_CONFIRM_INLINE = True
    events = [envelope(), envelope()]
    rows = [_outbox_row(event) for event in events]
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])

    assert ingest_events_task(events) == 2
    assert Notification.objects.count() == 2
    assert OutboxEvent.objects.filter(pk__in=[r.pk for r in rows], confirmed_at__isnull=False).count() == 2
