"""Moderation and replies reach the right inbox: the provider and the rating's author.

These drive the ratings services (the publisher), dispatch the resulting outbox rows as the
dispatcher does (the broker replaced by a recorder) and run the batch that was sent through
the consumer's task.
"""

import pytest

from apps.core.models import OutboxEvent
from apps.core.outbox import outbox_dispatch
from apps.notifications.models import Notification
from apps.notifications.tasks import ingest_events_task
from apps.ratings.models import RatingStatus
from apps.ratings.services import rating_create, rating_moderate, reply_set
from tests.factories import moderator_create

pytestmark = pytest.mark.django_db


def _published_and_ingested(capture, send_task) -> list[OutboxEvent]:
    events = list(OutboxEvent.objects.order_by("created_at", "id"))
    send_task.reset_mock()
    assert outbox_dispatch() == len(events)
    (batch,) = [c.kwargs["args"] for c in send_task.call_args_list if c.args == ("notifications.ingest_events",)]
    assert batch == [[event.envelope for event in events]]
    with capture(execute=True):
        ingest_events_task(*batch)
    assert not OutboxEvent.objects.filter(confirmed_at__isnull=True).exists()
    OutboxEvent.objects.all().delete()
    return events


def _inbox(user) -> list[tuple[str, str, str]]:
    return list(
        Notification.objects.filter(recipient_id=user.pk).order_by("created_at").values_list("type", "title", "body")
    )


def test_a_held_rating_tells_the_provider_it_awaits_review_and_announces_itself_once_published(
    customer, provider, django_capture_on_commit_callbacks, send_task
):
    with django_capture_on_commit_callbacks():
        rating = rating_create(customer=customer, provider=provider, score=4, comment="Call me on 0123 456 789")
    assert rating.status == RatingStatus.PENDING_REVIEW
    events = _published_and_ingested(django_capture_on_commit_callbacks, send_task)
    # One event, the change; the intake's handler decides it is a "held" notice for the provider.
    assert [(e.type, e.version, e.data["status"]) for e in events] == [("rating.created", 2, "pending_review")]
    assert _inbox(provider.user) == [
        (
            "rating.held",
            f"A new 4-star rating from {customer.user.name} is awaiting review",
            "Staff review it before it is shown; you will be told when it is published.",
        )
    ]

    with django_capture_on_commit_callbacks():
        rating_moderate(
            rating=rating, to_status=RatingStatus.PUBLISHED, reason="Phone number is ours", moderator=moderator_create()
        )
    events = _published_and_ingested(django_capture_on_commit_callbacks, send_task)

    assert [(e.type, e.data["first_publication"]) for e in events] == [("rating.moderated", True)]
    assert _inbox(provider.user)[-1][:2] == ("rating.created", f"New 4-star rating from {customer.user.name}")
    assert _inbox(customer.user) == [
        ("rating.moderated", f"Your rating of {provider.name} is published", "Reason: Phone number is ours")
    ]


def test_hiding_a_published_rating_tells_the_provider_and_the_author_why(
    customer, provider, django_capture_on_commit_callbacks, send_task
):
    with django_capture_on_commit_callbacks():
        rating = rating_create(customer=customer, provider=provider, score=1, comment="Awful")
    _published_and_ingested(django_capture_on_commit_callbacks, send_task)

    with django_capture_on_commit_callbacks():
        rating_moderate(rating=rating, to_status=RatingStatus.HIDDEN, reason="Insults", moderator=moderator_create())
    events = _published_and_ingested(django_capture_on_commit_callbacks, send_task)

    # One event; the intake tells both parties.
    assert [(e.type, e.data["status"], e.data["summary"]) for e in events] == [
        ("rating.moderated", "hidden", {"count": 0, "sum": 0})
    ]
    assert _inbox(provider.user)[-1] == (
        "rating.moderated",
        f"A 1-star rating from {customer.user.name} was hidden",
        "Reason: Insults",
    )
    assert _inbox(customer.user) == [
        ("rating.moderated", f"Your rating of {provider.name} was hidden", "Reason: Insults")
    ]
    notification = Notification.objects.get(recipient_id=customer.user.pk)
    assert notification.data == {
        "rating_id": str(rating.pk),
        "provider_id": str(provider.pk),
        "score": 1,
        "status": "hidden",
        "previous_status": "published",
        "reason": "Insults",
    }


def test_a_reply_notifies_the_author_only(customer, provider, django_capture_on_commit_callbacks, send_task):
    with django_capture_on_commit_callbacks():
        rating = rating_create(customer=customer, provider=provider, score=5, comment="Great")
    _published_and_ingested(django_capture_on_commit_callbacks, send_task)
    provider_inbox_before = _inbox(provider.user)

    with django_capture_on_commit_callbacks():
        reply_set(rating=rating, body="Thank you, see you next time!")
    events = _published_and_ingested(django_capture_on_commit_callbacks, send_task)

    assert [e.type for e in events] == ["rating.replied"]
    assert _inbox(customer.user) == [
        ("rating.replied", f"{provider.name} replied to your rating", "Thank you, see you next time!")
    ]
    assert _inbox(provider.user) == provider_inbox_before
