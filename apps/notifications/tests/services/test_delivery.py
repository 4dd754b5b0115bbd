from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.utils import timezone

from apps.notifications.models import Delivery, DeliveryStatus, NotificationPreference
from apps.notifications.services import deliveries_replay, deliveries_sweep, delivery_attempt, retry_delay
from tests.factories import DeliveryFactory

pytestmark = pytest.mark.django_db
SEND_EMAIL = "apps.notifications.services.SENDERS"


def test_a_delivery_is_sent_once_with_a_stable_message_id_and_one_click_unsubscribe(settings):
    settings.NOTIFICATIONS_EMAIL_DOMAIN = "mail.test"
    settings.NOTIFICATIONS_PUBLIC_BASE_URL = "https://ratings.test"
    delivery = DeliveryFactory(address="pipes@example.com")

    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.SENT
    assert delivery_attempt(delivery_id=delivery.pk) is None

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["pipes@example.com"]
    assert message.subject == delivery.notification.title
    assert message.extra_headers["Message-ID"] == f"<{delivery.event_id}.{delivery.recipient_id}@mail.test>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.extra_headers["List-Unsubscribe"].startswith("<https://ratings.test/notifications/unsubscribe/")
    assert "Great job." in message.body
    assert message.alternatives[0].mimetype == "text/html"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.locked_until) == (DeliveryStatus.SENT, 1, None)
    assert delivery.sent_at is not None
    assert delivery.last_duration_ms is not None


def test_a_failed_send_is_retried_later_with_backoff_kept_in_the_database(settings):
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 10
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 3
    delivery = DeliveryFactory()
    failing = {"email": mock.Mock(side_effect=ConnectionRefusedError("smtp down"))}

    before = timezone.now()
    with mock.patch.dict(SEND_EMAIL, failing):
        assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.RETRY
        # Not due yet: nobody may claim it.
        assert delivery_attempt(delivery_id=delivery.pk) is None
    delivery.refresh_from_db()
    assert delivery.attempts == 1
    assert delivery.last_error == "ConnectionRefusedError: smtp down"
    assert before + timedelta(seconds=5) <= delivery.next_attempt_at <= timezone.now() + timedelta(seconds=10)
    assert len(mail.outbox) == 0


def test_a_delivery_is_dead_after_the_maximum_attempts(settings):
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 2
    delivery = DeliveryFactory()
    failing = {"email": mock.Mock(side_effect=OSError("boom"))}
    with mock.patch.dict(SEND_EMAIL, failing):
        assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.RETRY
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.DEAD
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DEAD, 2)


def test_backoff_doubles_with_jitter_and_is_capped(settings):
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 10
    settings.NOTIFICATIONS_RETRY_MAX_SECONDS = 60
    assert all(5 <= retry_delay(1) <= 10 for _ in range(50))
    assert all(20 <= retry_delay(3) <= 40 for _ in range(50))
    assert all(30 <= retry_delay(10) <= 60 for _ in range(50))


def test_a_claim_abandoned_by_a_dead_worker_is_taken_over_after_its_lease():
    now = timezone.now()
    live = DeliveryFactory(status=DeliveryStatus.SENDING, locked_until=now + timedelta(minutes=1), attempts=1)
    stale = DeliveryFactory(status=DeliveryStatus.SENDING, locked_until=now - timedelta(seconds=1), attempts=1)
    assert delivery_attempt(delivery_id=live.pk) is None
    assert delivery_attempt(delivery_id=stale.pk) == DeliveryStatus.SENT
    assert len(mail.outbox) == 1


def test_the_sweeper_enqueues_due_retries_missed_pending_and_stale_claims(send_task, settings):
    settings.NOTIFICATIONS_SWEEP_GRACE_SECONDS = 30
    now = timezone.now()
    due_retry = DeliveryFactory(status=DeliveryStatus.RETRY, next_attempt_at=now - timedelta(seconds=1))
    DeliveryFactory(status=DeliveryStatus.RETRY, next_attempt_at=now + timedelta(minutes=1))
    missed = DeliveryFactory(status=DeliveryStatus.PENDING, next_attempt_at=now - timedelta(minutes=1))
    DeliveryFactory(status=DeliveryStatus.PENDING, next_attempt_at=now)  # just enqueued on commit
    stale = DeliveryFactory(status=DeliveryStatus.SENDING, locked_until=now - timedelta(seconds=1))
    DeliveryFactory(status=DeliveryStatus.SENDING, locked_until=now + timedelta(minutes=1))
    DeliveryFactory(status=DeliveryStatus.SENT)
    DeliveryFactory(status=DeliveryStatus.DEAD)

    assert deliveries_sweep() == 3
    enqueued = {c.kwargs["args"][0] for c in send_task.call_args_list}
    assert enqueued == {str(due_retry.pk), str(missed.pk), str(stale.pk)}
    assert {c.args[0] for c in send_task.call_args_list} == {"notifications.deliver"}


def test_replay_gives_dead_deliveries_new_attempts(send_task, django_capture_on_commit_callbacks):
    dead = DeliveryFactory(status=DeliveryStatus.DEAD, attempts=8, last_error="boom")
    sent = DeliveryFactory(status=DeliveryStatus.SENT, attempts=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_replay(delivery_ids=[dead.pk, sent.pk]) == 1
    dead.refresh_from_db()
    assert (dead.status, dead.attempts) == (DeliveryStatus.PENDING, 0)
    assert Delivery.objects.get(pk=sent.pk).status == DeliveryStatus.SENT
    send_task.assert_called_once_with("notifications.deliver", args=[str(dead.pk)])


def _unsubscribe_path(delivery) -> str:
    from apps.notifications.email import unsubscribe_url

    url = unsubscribe_url(recipient_id=delivery.recipient_id, event_type="rating.created")
    return url.split("localhost:8000", 1)[1]


def test_unsubscribe_get_only_asks_and_post_switches_email_off(client):
    delivery = DeliveryFactory()
    path = _unsubscribe_path(delivery)

    response = client.get(path)
    assert response.status_code == 200
    assert b"Unsubscribe from" in response.content
    assert NotificationPreference.objects.count() == 0

    response = client.post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    preference = NotificationPreference.objects.get()
    assert (preference.recipient_id, preference.event_type, preference.channel, preference.enabled) == (
        delivery.recipient_id,
        "rating.created",
        "email",
        False,
    )


def test_a_tampered_unsubscribe_token_is_rejected(client):
    path = _unsubscribe_path(DeliveryFactory())
    response = client.post(path.replace("/unsubscribe/", "/unsubscribe/x"))
    assert response.status_code == 400
    assert NotificationPreference.objects.count() == 0
