"""Replies follow the rating's content rules and moderation states; only a published reply is public."""

import pytest

from apps.ratings.models import RatingReply, RatingStatus
from apps.ratings.services import StatusUnchanged, rating_create, reply_moderate, reply_set
from apps.ratings.tests.conftest import base_event, without_time
from tests.factories import moderator_create

pytestmark = pytest.mark.django_db

HELD = "Call us on 0123 456 789 instead"
REASON = "Automatic hold: contains a phone number"


def url(rating) -> str:
    return f"/api/v1/ratings/{rating.pk}/reply/"


def _z(dt) -> str:
    return dt.isoformat().replace("+00:00", "Z")


@pytest.fixture
def rating(customer, provider):
    return rating_create(customer=customer, provider=provider, score=2, comment="Late")


def _reply_event(rating, reply, **extra) -> dict:
    return base_event(rating, reply_id=str(reply.pk), reply_excerpt=reply.body, reply_status=reply.status, **extra)


def test_a_reply_that_trips_a_rule_is_held_not_public_and_not_announced(
    rating, provider_client, api_client, customer_client, events
):
    events.clear()

    response = provider_client.put(url(rating), {"body": HELD}, format="json")

    assert response.status_code == 200
    reply = RatingReply.objects.get()
    assert response.json() == {
        "body": HELD,
        "status": "pending_review",
        "created_at": _z(reply.created_at),
        "updated_at": _z(reply.updated_at),
    }
    assert (reply.status, reply.moderation_reason, reply.first_published_at) == ("pending_review", REASON, None)
    assert api_client.get(f"/api/v1/ratings/{rating.pk}/").json()["reply"] is None
    assert customer_client.get(f"/api/v1/ratings/{rating.pk}/").json()["reply"] is None
    assert (
        api_client.get("/api/v1/ratings/", {"provider": str(rating.provider_id)}).json()["results"][0]["reply"] is None
    )
    assert [(n, without_time(e)) for n, e in events] == [
        (
            "reply_moderated",
            _reply_event(
                rating,
                reply,
                previous_reply_status="",
                reason=REASON,
                moderator_id=None,
                first_publication=False,
            ),
        )
    ]


def test_staff_publishing_a_held_reply_makes_it_public_and_tells_the_author(rating, provider, api_client, events):
    reply = reply_set(rating=rating, body=HELD)
    moderator = moderator_create()
    events.clear()

    reply_moderate(reply=reply, to_status=RatingStatus.PUBLISHED, reason="Fine", moderator=moderator)

    reply.refresh_from_db()
    assert (reply.status, reply.moderation_reason) == ("published", "")
    assert reply.first_published_at is not None
    assert [(n, without_time(e)) for n, e in events] == [
        (
            "reply_moderated",
            _reply_event(
                rating,
                reply,
                previous_reply_status="pending_review",
                reason="Fine",
                moderator_id=str(moderator.pk),
                first_publication=True,
            ),
        ),
        ("rating_replied", _reply_event(rating, reply, reply_created=True)),
    ]
    shown = api_client.get(f"/api/v1/ratings/{rating.pk}/").json()["reply"]
    assert shown == {
        "body": HELD,
        "status": "published",
        "created_at": _z(reply.created_at),
        "updated_at": _z(reply.updated_at),
    }


def test_a_hidden_reply_disappears_and_hiding_needs_a_reason(rating, api_client, events):
    reply = reply_set(rating=rating, body="Sorry about that")
    moderator = moderator_create()
    events.clear()

    with pytest.raises(Exception, match="Hiding a reply needs a reason"):
        reply_moderate(reply=reply, to_status=RatingStatus.HIDDEN, reason=" ", moderator=moderator)
    assert RatingReply.objects.get().status == "published"
    assert events == []

    reply_moderate(reply=reply, to_status=RatingStatus.HIDDEN, reason="Rude", moderator=moderator)

    assert api_client.get(f"/api/v1/ratings/{rating.pk}/").json()["reply"] is None
    assert [n for n, _ in events] == ["reply_moderated"]
    with pytest.raises(StatusUnchanged):
        reply_moderate(reply=reply, to_status=RatingStatus.HIDDEN, reason="Again", moderator=moderator)


def test_editing_a_published_reply_into_held_content_sends_it_back_to_review(rating, provider_client, events):
    provider_client.put(url(rating), {"body": "Sorry about that"}, format="json")
    events.clear()

    response = provider_client.put(url(rating), {"body": HELD}, format="json")

    assert response.json()["status"] == "pending_review"
    assert [n for n, _ in events] == ["reply_moderated"]
    assert events[0][1]["previous_reply_status"] == "published"


def test_editing_a_held_or_hidden_reply_keeps_it_out_of_sight(rating, provider_client, api_client, events):
    provider_client.put(url(rating), {"body": HELD}, format="json")
    events.clear()

    response = provider_client.put(url(rating), {"body": "Clean now"}, format="json")

    assert response.json()["status"] == "pending_review"
    assert api_client.get(f"/api/v1/ratings/{rating.pk}/").json()["reply"] is None
    assert events == []


def test_editing_a_published_reply_tells_the_author_again(rating, provider_client, events):
    provider_client.put(url(rating), {"body": "Sorry about that"}, format="json")
    events.clear()

    provider_client.put(url(rating), {"body": "Sorry, fixed now"}, format="json")

    assert [(n, e["reply_created"], e["reply_status"]) for n, e in events] == [("rating_replied", False, "published")]
