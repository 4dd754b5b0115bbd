"""The notifications app's part of a user's data export: the requests its worker answers."""

import uuid

import pytest

from apps.core.exports import export_part
from apps.core.models import OutboxEvent
from apps.notifications.tasks import data_export_sections_task
from tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db


def _request(*, recipient_id, part="notifications", version=1, **data) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "type": "account.export_part_requested",
        "version": version,
        "occurred_at": "2026-12-07T10:00:00+00:00",
        "data": {
            "recipient_user_id": str(recipient_id),
            "export_id": str(uuid.uuid4()),
            "part": part,
            "reply_task": "accounts.data_export_attach",
            "reply_queue": "default",
            **data,
        },
    }


def test_the_part_is_registered_for_the_notifications_queue():
    part = export_part("notifications")
    assert (part.task, part.queue) == ("notifications.data_export_sections", "notifications")
    assert part.sections == ("deliveries", "devices", "inbox", "notification_preferences", "webhook_endpoints")


def test_each_request_is_answered_by_name_with_its_recipients_sections(send_task):
    first, second = uuid.uuid4(), uuid.uuid4()
    item = NotificationFactory(recipient_id=first, title="Hello")
    requests = [_request(recipient_id=first), _request(recipient_id=second)]

    assert data_export_sections_task(requests) == 2

    answers = [call.kwargs for call in send_task.call_args_list]
    assert [call.args for call in send_task.call_args_list] == [("accounts.data_export_attach",)] * 2
    assert [a["queue"] for a in answers] == ["default", "default"]
    (mine, theirs) = (a["kwargs"] for a in answers)
    assert {k: v for k, v in mine.items() if k != "sections"} == {
        "export_id": requests[0]["data"]["export_id"],
        "part": "notifications",
        "request_id": requests[0]["id"],
    }
    assert [(n["id"], n["title"]) for n in mine["sections"]["inbox"]] == [(str(item.pk), "Hello")]
    assert theirs["sections"] == {
        "deliveries": [],
        "devices": [],
        "inbox": [],
        "notification_preferences": {"switches": [], "schedule": None},
        "webhook_endpoints": [],
    }
    # The reply confirms the request where the outbox is; nothing is written here.
    assert not OutboxEvent.objects.exists()


@pytest.mark.parametrize(
    "request_",
    [
        _request(recipient_id=uuid.uuid4(), version=2),
        _request(recipient_id=uuid.uuid4(), part="ratings"),
        _request(recipient_id=uuid.uuid4(), reply_task=None),
        {**_request(recipient_id=uuid.uuid4()), "type": "account.deleted"},
        {"id": str(uuid.uuid4()), "data": "not an object"},
        "not an envelope",
    ],
    ids=["other-version", "other-part", "no-reply-task", "other-type", "bad-data", "not-a-dict"],
)
def test_what_is_not_a_request_for_our_part_is_left_unanswered(send_task, request_):
    assert data_export_sections_task([request_]) == 0

    send_task.assert_not_called()
