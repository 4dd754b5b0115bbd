import uuid

import pytest
from django.db import connection

from apps.notifications.models import Delivery, DeliveryStatus, Notification, NotificationPreference
from apps.notifications.services import events_ingest
from apps.notifications.tests.conftest import envelope

pytestmark = pytest.mark.django_db


def test_ingest_creates_the_inbox_item_and_an_email_delivery(send_task, django_capture_on_commit_callbacks):
    recipient = uuid.uuid4()
    event = envelope(recipient_id=recipient, score=4)
    with django_capture_on_commit_callbacks(execute=True):
        created = events_ingest(envelopes=[event])

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
        "customer_name": "Alice",
    }
    assert notification.read_at is None
    delivery = Delivery.objects.get()
    assert (delivery.channel, delivery.status, delivery.address, delivery.attempts) == (
        "email",
        DeliveryStatus.PENDING,
        "pipes@example.com",
        0,
    )
    send_task.assert_called_once_with("notifications.deliver_batch", args=[[str(delivery.pk)]])


def test_ingesting_the_same_event_twice_creates_nothing_new(send_task, django_capture_on_commit_callbacks):
    event = envelope()
    with django_capture_on_commit_callbacks(execute=True):
        events_ingest(envelopes=[event])
    send_task.reset_mock()
    with django_capture_on_commit_callbacks(execute=True):
        assert events_ingest(envelopes=[event]) == []
    assert Notification.objects.count() == 1
    assert Delivery.objects.count() == 1
    send_task.assert_not_called()


@pytest.mark.parametrize("status", ["pending", "hidden", None])
def test_an_unpublished_rating_is_not_announced(send_task, django_capture_on_commit_callbacks, status):
    with django_capture_on_commit_callbacks(execute=True):
        assert events_ingest(envelopes=[envelope(status=status)]) == []
    assert Notification.objects.count() == 0
    assert Delivery.objects.count() == 0
    send_task.assert_not_called()


def test_an_unknown_event_type_is_ignored(send_task):
    assert events_ingest(envelopes=[envelope(type="rating.exploded")]) == []
    assert Notification.objects.count() == 0


def test_email_switched_off_means_inbox_only(send_task, django_capture_on_commit_callbacks):
    recipient = uuid.uuid4()
    NotificationPreference.objects.create(
        recipient_id=recipient, event_type="rating.created", channel="email", enabled=False
    )
    with django_capture_on_commit_callbacks(execute=True):
        events_ingest(envelopes=[envelope(recipient_id=recipient)])
    assert Notification.objects.filter(recipient_id=recipient).count() == 1
    assert Delivery.objects.count() == 0
    send_task.assert_not_called()


def test_a_rating_update_notifies_in_the_inbox_only_by_default(send_task, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        events_ingest(envelopes=[envelope(type="rating.updated", score=2, previous_score=5)])
    assert Notification.objects.get().title == "Alice changed their rating from 5-star to 2-star"
    assert Delivery.objects.count() == 0


def test_broker_down_after_ingest_leaves_the_delivery_to_the_sweeper(send_task, django_capture_on_commit_callbacks):
    send_task.side_effect = ConnectionRefusedError("down")
    with django_capture_on_commit_callbacks(execute=True):
        events_ingest(envelopes=[envelope()])
    assert Delivery.objects.get().status == DeliveryStatus.PENDING


def _hooked_recipient(n: int) -> uuid.UUID:
    from apps.notifications.models import WebhookEndpoint

    recipient = uuid.uuid4()
    WebhookEndpoint.objects.create(recipient_id=recipient, url=f"https://hooks-{n % 3}.example.com/r", secret="whsec_x")
    return recipient


# The fixed count is PostgreSQL's (one UPDATE … FROM unnest for a group, unbounded batches);
# SQLite writes row by row and splits large inserts at its variable limit.
@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")
def test_a_batch_costs_the_same_queries_whatever_its_size(
    send_task, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    small = [envelope(recipient_id=_hooked_recipient(n)) for n in range(2)]
    large = [envelope(recipient_id=_hooked_recipient(n)) for n in range(60)]
    for batch in (small, large):
        # 13: the cancellations kept for the batch's ratings are one query (services/cancellation.py),
        # the erased ids among the batch's another (services/erasure.py), the languages and time
        # zones of everyone the batch may tell two more (intake/locales.py).
        with django_assert_max_num_queries(13), django_capture_on_commit_callbacks(execute=True):
            assert len(events_ingest(envelopes=batch)) == len(batch)
    assert Notification.objects.count() == 62
    assert Delivery.objects.filter(channel="email").count() == 62
    assert Delivery.objects.filter(channel="webhook").count() == 62
    # Deliveries leave grouped: the email relay (in chunks of 50), and the healthy webhook
    # endpoints of each origin together (one endpoint per recipient here, on three hosts: two
    # origins reached by the small batch, three by the large one).
    sent_ids = [id_ for c in send_task.call_args_list for id_ in c.kwargs["args"][0]]
    assert sorted(sent_ids) == sorted(str(pk) for pk in Delivery.objects.values_list("pk", flat=True))
    assert len(send_task.call_args_list) == (1 + 2) + (2 + 3)


def test_a_batch_is_idempotent_as_a_whole_and_per_event(send_task, django_capture_on_commit_callbacks):
    first, second = envelope(), envelope()
    with django_capture_on_commit_callbacks(execute=True):
        events_ingest(envelopes=[first])
    with django_capture_on_commit_callbacks(execute=True):
        created = events_ingest(envelopes=[first, second, second])
    assert [str(n.event_id) for n in created] == [second["id"]]
    assert Notification.objects.count() == 2
    assert Delivery.objects.count() == 2


def test_a_malformed_event_is_skipped_without_losing_the_rest_of_its_batch(send_task):
    good = envelope()
    broken = envelope()
    del broken["data"]["recipient_user_id"]
    not_a_uuid = {**envelope(), "id": "not-a-uuid"}
    created = events_ingest(envelopes=[broken, not_a_uuid, good, "garbage"])
    assert [str(n.event_id) for n in created] == [good["id"]]
