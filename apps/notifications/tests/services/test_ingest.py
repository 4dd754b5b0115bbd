import uuid

import pytest

from apps.notifications.models import Delivery, DeliveryStatus, Notification, NotificationPreference
from apps.notifications.services import ingest_event
from apps.notifications.tests.conftest import envelope

pytestmark = pytest.mark.django_db


def test_ingest_creates_the_inbox_item_and_an_email_delivery(send_task, django_capture_on_commit_callbacks):
    recipient = uuid.uuid4()
    event = envelope(recipient_id=recipient, score=4)
    with django_capture_on_commit_callbacks(execute=True):
        created = ingest_event(envelope=event)

    notification = Notification.objects.get()
    assert created == [notification]
    assert notification.recipient_id == recipient
    assert str(notification.event_id) == event["id"]
    assert notification.type == "rating.created"
    assert notification.title == "New 4-star rating from Alice"
    assert notification.body == "Fixed our boiler in an hour."
    assert notification.data == {
        "rating_id": event["data"]["rating_id"],
        "provider_id": event["data"]["provider_id"],
        "score": 4,
    }
    assert notification.read_at is None
    delivery = Delivery.objects.get()
    assert (delivery.channel, delivery.status, delivery.address, delivery.attempts) == (
        "email",
        DeliveryStatus.PENDING,
        "pipes@example.com",
        0,
    )
    send_task.assert_called_once_with("notifications.deliver", args=[str(delivery.pk)])


def test_ingesting_the_same_event_twice_creates_nothing_new(send_task, django_capture_on_commit_callbacks):
    event = envelope()
    with django_capture_on_commit_callbacks(execute=True):
        ingest_event(envelope=event)
    send_task.reset_mock()
    with django_capture_on_commit_callbacks(execute=True):
        assert ingest_event(envelope=event) == []
    assert Notification.objects.count() == 1
    assert Delivery.objects.count() == 1
    send_task.assert_not_called()


@pytest.mark.parametrize("status", ["pending", "hidden", None])
def test_an_unpublished_rating_is_not_announced(send_task, django_capture_on_commit_callbacks, status):
    with django_capture_on_commit_callbacks(execute=True):
        assert ingest_event(envelope=envelope(status=status)) == []
    assert Notification.objects.count() == 0
    assert Delivery.objects.count() == 0
    send_task.assert_not_called()


def test_an_unknown_event_type_is_ignored(send_task):
    assert ingest_event(envelope=envelope(type="rating.exploded")) == []
    assert Notification.objects.count() == 0


def test_email_switched_off_means_inbox_only(send_task, django_capture_on_commit_callbacks):
    recipient = uuid.uuid4()
    NotificationPreference.objects.create(
        recipient_id=recipient, event_type="rating.created", channel="email", enabled=False
    )
    with django_capture_on_commit_callbacks(execute=True):
        ingest_event(envelope=envelope(recipient_id=recipient))
    assert Notification.objects.filter(recipient_id=recipient).count() == 1
    assert Delivery.objects.count() == 0
    send_task.assert_not_called()


def test_a_rating_update_notifies_in_the_inbox_only_by_default(send_task, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ingest_event(envelope=envelope(type="rating.updated", score=2, previous_score=5))
    assert Notification.objects.get().title == "Alice changed their rating from 5-star to 2-star"
    assert Delivery.objects.count() == 0


def test_broker_down_after_ingest_leaves_the_delivery_to_the_sweeper(send_task, django_capture_on_commit_callbacks):
    send_task.side_effect = ConnectionRefusedError("down")
    with django_capture_on_commit_callbacks(execute=True):
        ingest_event(envelope=envelope())
    assert Delivery.objects.get().status == DeliveryStatus.PENDING
