"""The worker logs its work on a rating's event, and on each delivery, under the id of the
request that posted the rating (carried by the outbox envelope and the delivery row)."""

from unittest import mock

import pytest

from apps.core.middleware import get_request_id
from apps.core.models import OutboxEvent
from apps.core.outbox import outbox_dispatch
from apps.notifications.models import Delivery
from apps.notifications.tasks import deliver_batch_task, ingest_events_task

from .conftest import envelope

pytestmark = pytest.mark.django_db
REQUEST_ID = "req-rating-42"


def test_the_worker_logs_a_ratings_event_and_deliveries_under_the_posting_requests_id(
    customer_client, provider, django_capture_on_commit_callbacks, send_task, json_log
):
    with (
        mock.patch("apps.core.outbox.current_app.send_task") as publish,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = customer_client.post(
            "/api/v1/ratings/",
            {"provider_id": str(provider.pk), "score": 5, "comment": "Great"},
            HTTP_X_REQUEST_ID=REQUEST_ID,
        )
        assert response.status_code == 201
        assert outbox_dispatch() == 1
    assert OutboxEvent.objects.get().request_id == REQUEST_ID
    ((sent_envelope,),) = publish.call_args.kwargs["args"]
    assert sent_envelope["request_id"] == REQUEST_ID

    # The worker: this process, outside any request, with the envelope the dispatcher sent.
    assert get_request_id() is None
    with django_capture_on_commit_callbacks(execute=True):
        assert ingest_events_task([sent_envelope]) == 1
    ingest = [line for line in json_log() if line["logger"] == "apps.notifications.intake.ingest"]
    assert len(ingest) == 1
    assert ingest[0]["request_id"] == REQUEST_ID
    assert ingest[0]["event_id"] == sent_envelope["id"]
    assert "deliveries: email" in ingest[0]["message"]

    delivery = Delivery.objects.get()
    assert delivery.request_id == REQUEST_ID
    ((delivery_ids,),) = [call.kwargs["args"] for call in send_task.call_args_list]
    assert deliver_batch_task(delivery_ids) == {str(delivery.pk): "sent"}
    sends = [line for line in json_log() if line["logger"] == "apps.notifications.delivery.records"]
    assert [(line["request_id"], line["delivery_id"], line["status"]) for line in sends] == [
        (REQUEST_ID, str(delivery.pk), "sent")
    ]
    # Nothing leaks into the worker's later lines.
    assert get_request_id() is None


def test_a_batch_of_several_requests_events_logs_each_under_its_own(send_task, json_log):
    events = [envelope(), envelope(), envelope()]
    events[0]["request_id"] = "req-a"
    events[1]["request_id"] = "req-b"
    events[2]["request_id"] = "not a request id!"  # another publisher's value: dropped
    ingest_events_task(events)
    by_event = {
        line["event_id"]: line["request_id"]
        for line in json_log()
        if line["logger"] == "apps.notifications.intake.ingest"
    }
    assert by_event == {events[0]["id"]: "req-a", events[1]["id"]: "req-b", events[2]["id"]: None}
    assert {d.event_id.hex: d.request_id for d in Delivery.objects.all()} == {
        events[0]["id"].replace("-", ""): "req-a",
        events[1]["id"].replace("-", ""): "req-b",
        events[2]["id"].replace("-", ""): "",
    }


def test_a_malformed_event_is_logged_under_its_request_id(json_log):
    bad = envelope()
    bad["request_id"] = "req-bad"
    del bad["data"]["recipient_user_id"]
    assert ingest_events_task([bad]) == 0
    (line,) = [line for line in json_log() if line["logger"] == "apps.notifications.intake.ingest"]
    assert line["level"] == "ERROR"
    assert line["request_id"] == "req-bad"
