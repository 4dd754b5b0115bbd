"""Quiet hours on a frozen clock (time-machine): what they hold, until when, and what they never hold."""

import uuid
from datetime import time, timedelta

import pytest
import time_machine
from django.core import mail

from apps.notifications.models import (
    Delivery,
    DeliveryStatus,
    Device,
    Notification,
    NotificationSchedule,
    WebhookEndpoint,
)
from apps.notifications.services import (
    deliveries_send,
    deliveries_sweep,
    preference_set,
)
from apps.notifications.tests.intake.digest_support import close, ingest, rating_at, sent_ids, utc
from tests.factories import DeliveryFactory

pytestmark = pytest.mark.django_db


def test_quiet_hours_hold_emails_and_pushes_until_they_end_but_not_webhooks(
    recipient, send_task, django_capture_on_commit_callbacks, settings
):
    NotificationSchedule.objects.create(
        recipient_id=recipient, time_zone="Europe/Berlin", quiet_start=time(22), quiet_end=time(7)
    )
    Device.objects.create(recipient_id=recipient, token="device-1", platform="ios")
    WebhookEndpoint.objects.create(recipient_id=recipient, url="https://hooks.example.com/r", secret="whsec_x")
    # 23:30 UTC is 00:30 in Berlin: quiet until 07:00 local, 06:00 UTC.
    with time_machine.travel(utc(2026, 11, 30, 23, 30), tick=False):
        ingest(
            [rating_at(recipient, utc(2026, 11, 30, 23, 30), name="A", score=5, summary=None)],
            django_capture_on_commit_callbacks,
        )
    rows = {d.channel: d for d in Delivery.objects.all()}
    assert {channel: d.next_attempt_at for channel, d in rows.items()} == {
        "email": utc(2026, 12, 1, 6),
        "push": utc(2026, 12, 1, 6),
        "webhook": utc(2026, 11, 30, 23, 30),
    }
    assert sent_ids(send_task) == [str(rows["webhook"].pk)]
    assert Notification.objects.count() == 1  # the inbox is never held

    # Nothing is due before the end, not even by the sweeper or a stray task.
    with time_machine.travel(utc(2026, 12, 1, 5, 59), tick=False):
        assert deliveries_send(delivery_ids=[rows["email"].pk, rows["push"].pk]) == {}
    send_task.reset_mock()
    with time_machine.travel(
        utc(2026, 12, 1, 6) + timedelta(seconds=settings.NOTIFICATIONS_SWEEP_GRACE_SECONDS), tick=False
    ):
        # The webhook is there too: its task was recorded, never run, so it is still pending.
        assert deliveries_sweep() == 3
        assert sorted(sent_ids(send_task)) == sorted(str(d.pk) for d in rows.values())
        assert deliveries_send(delivery_ids=[rows["email"].pk]) == {str(rows["email"].pk): DeliveryStatus.SENT}
    assert len(mail.outbox) == 1


def test_critical_emails_go_through_quiet_hours(recipient, send_task, django_capture_on_commit_callbacks):
    NotificationSchedule.objects.create(
        recipient_id=recipient, time_zone="UTC", quiet_start=time(22), quiet_end=time(7)
    )
    reset = {
        "id": str(uuid.uuid4()),
        "type": "account.password_reset",
        "version": 1,
        "occurred_at": "2026-11-30T23:00:00+00:00",
        "data": {
            "recipient_user_id": str(recipient),
            "recipient_email": "owner@example.com",
            "link": {"url": "https://ratings.test/reset", "uid": "u", "token": "t"},
        },
    }
    with time_machine.travel(utc(2026, 11, 30, 23), tick=False):
        ingest([reset], django_capture_on_commit_callbacks)
        delivery = Delivery.objects.get()
        assert delivery.next_attempt_at == utc(2026, 11, 30, 23)
        assert sent_ids(send_task) == [str(delivery.pk)]
        assert deliveries_send(delivery_ids=[delivery.pk]) == {str(delivery.pk): DeliveryStatus.SENT}
    assert mail.outbox[0].to == ["owner@example.com"]


def test_a_digest_closing_in_quiet_hours_waits_for_their_end(recipient, send_task, django_capture_on_commit_callbacks):
    NotificationSchedule.objects.create(
        recipient_id=recipient,
        time_zone="Europe/Berlin",
        rating_emails="daily",
        quiet_start=time(22),
        quiet_end=time(7),
    )
    # A rating at 15:00 local is not held (outside quiet hours) but digested.
    with time_machine.travel(utc(2026, 11, 30, 14), tick=False):
        ingest(
            [rating_at(recipient, utc(2026, 11, 30, 14), name="A", score=5, summary=None)],
            django_capture_on_commit_callbacks,
        )
    # The day ends at local midnight, inside quiet hours: the email is due at 07:00 local.
    with time_machine.travel(utc(2026, 11, 30, 23, 1), tick=False):
        assert close(django_capture_on_commit_callbacks) == 1
    delivery = Delivery.objects.get()
    assert delivery.next_attempt_at == utc(2026, 12, 1, 6)
    send_task.assert_not_called()


def test_switching_back_to_immediate_sends_the_next_rating_at_once_and_the_open_digest_at_its_end(
    recipient, send_task, django_capture_on_commit_callbacks
):
    schedule = NotificationSchedule.objects.create(recipient_id=recipient, rating_emails="hourly")
    with time_machine.travel(utc(2026, 11, 30, 10, 5), tick=False):
        ingest(
            [rating_at(recipient, utc(2026, 11, 30, 10, 5), name="A", score=5, summary=None)],
            django_capture_on_commit_callbacks,
        )
        schedule.rating_emails = "immediate"
        schedule.save()
        ingest(
            [rating_at(recipient, utc(2026, 11, 30, 10, 6), name="B", score=5, summary=None)],
            django_capture_on_commit_callbacks,
        )
    assert list(Delivery.objects.values_list("notification__data__customer_name", flat=True)) == ["B"]
    with time_machine.travel(utc(2026, 11, 30, 11), tick=False):
        assert close(django_capture_on_commit_callbacks) == 1
    assert Delivery.objects.count() == 2


def test_a_delivery_coming_due_inside_quiet_hours_is_held_without_spending_an_attempt(recipient):
    """A retry (or replay) due in the middle of the night goes back until the quiet hours end."""
    NotificationSchedule.objects.create(
        recipient_id=recipient, time_zone="America/New_York", quiet_start=time(21), quiet_end=time(6, 30)
    )
    retry = DeliveryFactory(recipient_id=recipient, notification__recipient_id=recipient, status="retry", attempts=1)
    reset = DeliveryFactory(
        recipient_id=recipient, notification__recipient_id=recipient, notification__type="account.password_reset"
    )
    # 03:00 UTC is 22:00 in New York (EST): quiet until 06:30 local, 11:30 UTC.
    with time_machine.travel(utc(2026, 12, 1, 3), tick=False):
        Delivery.objects.update(next_attempt_at=utc(2026, 12, 1, 3))
        assert deliveries_send(delivery_ids=[retry.pk, reset.pk]) == {
            str(retry.pk): DeliveryStatus.RETRY,
            str(reset.pk): DeliveryStatus.SENT,
        }
    retry.refresh_from_db()
    assert (retry.attempts, retry.next_attempt_at, retry.last_error) == (
        1,
        utc(2026, 12, 1, 11, 30),
        "held by the recipient's quiet hours",
    )
    assert not retry.attempt_log.exists()
    assert [m.subject for m in mail.outbox] == [reset.notification.title]
    with time_machine.travel(utc(2026, 12, 1, 11, 30), tick=False):
        assert deliveries_send(delivery_ids=[retry.pk]) == {str(retry.pk): DeliveryStatus.SENT}
    assert len(mail.outbox) == 2


def test_quiet_hours_hold_the_email_and_push_of_a_switched_off_inbox_with_their_copy(
    recipient, send_task, django_capture_on_commit_callbacks
):
    preference_set(recipient_id=recipient, event_type="rating.created", channel="in_app", enabled=False)
    NotificationSchedule.objects.create(
        recipient_id=recipient, time_zone="UTC", quiet_start=time(22), quiet_end=time(7)
    )
    Device.objects.create(recipient_id=recipient, token="device-1", platform="ios")
    with time_machine.travel(utc(2026, 11, 30, 23, 30), tick=False):
        ingest(
            [rating_at(recipient, utc(2026, 11, 30, 23, 30), name="A", score=5, summary=None)],
            django_capture_on_commit_callbacks,
        )

    assert not Notification.objects.exists()
    rows = {d.channel: d for d in Delivery.objects.all()}
    assert {channel: (d.next_attempt_at, d.payload["notice"]["title"]) for channel, d in rows.items()} == {
        "email": (utc(2026, 12, 1, 7), "New 5-star rating from A"),
        "push": (utc(2026, 12, 1, 7), "New 5-star rating from A"),
    }
    send_task.assert_not_called()
