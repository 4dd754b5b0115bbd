"""The ``in_app`` switch decides whether an event leaves an inbox item; the other channels
follow their own switches either way."""

import uuid

import pytest
from django.core import mail

from apps.notifications.models import Delivery, Device, Notification, NotificationPreference
from apps.notifications.services import delivery_attempt, events_ingest, preference_set
from apps.notifications.tests.conftest import envelope
from conftest import auth_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _switch(recipient, channel, enabled, event_type="rating.created"):
    preference_set(recipient_id=recipient, event_type=event_type, channel=channel, enabled=enabled)


def test_in_app_off_leaves_no_inbox_item_but_still_emails(send_task, django_capture_on_commit_callbacks, settings):
    settings.NOTIFICATIONS_EMAIL_DOMAIN = "mail.test"
    user = UserFactory()
    _switch(user.pk, "in_app", False)
    event = envelope(recipient_id=user.pk, score=4)

    with django_capture_on_commit_callbacks(execute=True):
        created = events_ingest(envelopes=[event])

    assert created == []
    assert not Notification.objects.exists()
    delivery = Delivery.objects.get()
    assert (delivery.channel, delivery.notification, delivery.address) == ("email", None, "pipes@example.com")
    assert delivery.payload == {
        "notice": {
            "type": "rating.created",
            "title": "New 4-star rating from Alice",
            "body": "Fixed our boiler in an hour.",
            "data": {
                "rating_id": event["data"]["rating_id"],
                "provider_id": event["data"]["provider_id"],
                "score": 4,
                "customer_name": "Alice",
            },
        }
    }
    send_task.assert_called_once_with("notifications.deliver_batch", args=[[str(delivery.pk)]])
    # The email shows what the inbox item would have shown.
    assert delivery_attempt(delivery_id=delivery.pk) == "sent"
    (message,) = mail.outbox
    assert message.subject == "New 4-star rating from Alice"
    assert "Score: 4 / 5" in message.body
    assert 'Comment: "Fixed our boiler in an hour."' in message.body
    assert message.extra_headers["Message-ID"] == f"<{event['id']}.{user.pk}@mail.test>"
    # Nothing in the inbox API either.
    client = auth_client(user)
    assert client.get("/api/v1/notifications/").json()["results"] == []
    assert client.get("/api/v1/notifications/unread-count/").json() == {"unread": 0}


def test_in_app_off_is_idempotent_too(send_task, django_capture_on_commit_callbacks):
    recipient = uuid.uuid4()
    _switch(recipient, "in_app", False)
    Device.objects.create(recipient_id=recipient, token="tok-1", platform="ios")
    event = envelope(recipient_id=recipient)
    with django_capture_on_commit_callbacks(execute=True):
        events_ingest(envelopes=[event])
    send_task.reset_mock()

    with django_capture_on_commit_callbacks(execute=True):
        assert events_ingest(envelopes=[event]) == []

    assert sorted(Delivery.objects.values_list("channel", flat=True)) == ["email", "push"]
    assert not Notification.objects.exists()
    send_task.assert_not_called()


def test_a_push_without_an_inbox_item_carries_its_own_content(send_task, django_capture_on_commit_callbacks):
    recipient = uuid.uuid4()
    _switch(recipient, "in_app", False)
    Device.objects.create(recipient_id=recipient, token="tok-1", platform="ios")

    with django_capture_on_commit_callbacks(execute=True):
        events_ingest(envelopes=[envelope(recipient_id=recipient, score=3)])

    push = Delivery.objects.get(channel="push")
    assert push.notification is None
    assert push.content["title"] == "New 3-star rating from Alice"
    assert push.content["type"] == "rating.created"


def test_in_app_on_again_brings_the_inbox_item_back(send_task, django_capture_on_commit_callbacks):
    recipient = uuid.uuid4()
    _switch(recipient, "in_app", False)
    _switch(recipient, "in_app", True)

    with django_capture_on_commit_callbacks(execute=True):
        (item,) = events_ingest(envelopes=[envelope(recipient_id=recipient)])

    assert item.recipient_id == recipient
    delivery = Delivery.objects.get()
    assert delivery.notification == item
    assert delivery.payload == {}


def test_everything_off_writes_nothing(send_task, django_capture_on_commit_callbacks):
    recipient = uuid.uuid4()
    for channel in ("in_app", "email", "push"):
        _switch(recipient, channel, False)
    Device.objects.create(recipient_id=recipient, token="tok-1", platform="ios")

    with django_capture_on_commit_callbacks(execute=True):
        assert events_ingest(envelopes=[envelope(recipient_id=recipient)]) == []

    assert not Notification.objects.exists()
    assert not Delivery.objects.exists()
    send_task.assert_not_called()


def test_in_app_off_for_one_type_leaves_the_others(send_task, django_capture_on_commit_callbacks):
    recipient = uuid.uuid4()
    _switch(recipient, "in_app", False, event_type="rating.replied")
    replied = envelope(recipient_id=recipient, type="rating.replied", reply_excerpt="Thanks!")
    created = envelope(recipient_id=recipient)

    with django_capture_on_commit_callbacks(execute=True):
        items = events_ingest(envelopes=[replied, created])

    assert [item.type for item in items] == ["rating.created"]
    assert NotificationPreference.objects.get().enabled is False
    assert sorted(Delivery.objects.values_list("notification__type", flat=True), key=str) == [None, "rating.created"]
