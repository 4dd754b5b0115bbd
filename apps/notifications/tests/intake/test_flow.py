"""A rating posted through the API reaches the provider's inbox through the outbox envelope."""

from unittest import mock

import pytest

from apps.core.models import OutboxEvent
from apps.core.outbox import outbox_dispatch
from apps.notifications.models import Notification
from apps.notifications.tasks import ingest_events_task

pytestmark = pytest.mark.django_db


def test_rating_created_is_published_with_the_rating_and_reaches_the_inbox(
    customer_client, provider, django_capture_on_commit_callbacks, send_task
):
    with (
        mock.patch("apps.core.outbox.current_app.send_task") as publish,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = customer_client.post(
            "/api/v1/ratings/", {"provider_id": str(provider.pk), "score": 5, "comment": "Great"}
        )
        assert response.status_code == 201
        publish.assert_not_called()  # nothing but the transaction on the request path
        assert outbox_dispatch() == 1
    event = OutboxEvent.objects.get()
    assert event.type == "rating.created"
    assert event.dispatched_at is not None
    publish.assert_called_once()
    assert publish.call_args.args == ("notifications.ingest_events",)
    ((envelope,),) = publish.call_args.kwargs["args"]
    # The change itself (version 2): who is told is the intake's decision, not the publisher's.
    assert envelope["version"] == 2
    assert envelope["data"]["rating_id"] == response.json()["id"]
    assert envelope["data"]["provider_user_id"] == str(provider.user_id)
    assert envelope["data"]["provider_email"] == provider.user.email
    assert envelope["data"]["status"] == "published"
    # The provider's summary after this rating, for digests.
    assert envelope["data"]["summary"] == {"count": 1, "sum": 5}

    with django_capture_on_commit_callbacks(execute=True):
        assert ingest_events_task([envelope]) == 1
    notification = Notification.objects.get()
    assert notification.recipient_id == provider.user_id
    assert notification.type == "rating.created"
    assert notification.data["rating_id"] == response.json()["id"]
    event.refresh_from_db()
    assert event.confirmed_at is not None


def test_a_rejected_rating_publishes_nothing(customer_client, provider, django_capture_on_commit_callbacks):
    with (
        mock.patch("apps.core.outbox.current_app.send_task") as publish,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = customer_client.post("/api/v1/ratings/", {"provider_id": str(provider.pk), "score": 9})
    assert response.status_code == 400
    assert OutboxEvent.objects.count() == 0
    publish.assert_not_called()


def test_broker_down_the_rating_is_still_created(customer_client, provider, django_capture_on_commit_callbacks):
    with (
        mock.patch("apps.core.outbox.current_app.send_task", side_effect=ConnectionRefusedError("down")) as publish,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = customer_client.post("/api/v1/ratings/", {"provider_id": str(provider.pk), "score": 3})
        assert response.status_code == 201
        publish.assert_not_called()
        assert outbox_dispatch() == 0
    publish.assert_called_once()
    event = OutboxEvent.objects.get()
    assert event.dispatched_at is None
    assert event.attempts == 0
    assert event.last_error == "ConnectionRefusedError: down"
