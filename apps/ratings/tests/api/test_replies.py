import pytest

from apps.ratings.models import RatingReply
from apps.ratings.services import rating_create
from apps.ratings.tests.conftest import base_event, summary_of, without_time
from conftest import auth_client
from tests.factories import CustomerFactory, ProviderFactory

pytestmark = pytest.mark.django_db


def url(rating) -> str:
    return f"/api/v1/ratings/{rating.pk}/reply/"


@pytest.fixture
def rating(customer, provider):
    return rating_create(customer=customer, provider=provider, score=3, comment="OK-ish")


def test_rated_provider_creates_edits_and_deletes_the_reply(rating, provider, provider_client, api_client, events):
    before = summary_of(provider)
    events.clear()

    created = provider_client.put(url(rating), {"body": "Thanks, we'll do better."})

    assert created.status_code == 200
    reply = RatingReply.objects.get()
    assert created.json() == {
        "body": "Thanks, we'll do better.",
        "status": "published",
        "created_at": reply.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": reply.updated_at.isoformat().replace("+00:00", "Z"),
    }
    shown = api_client.get(f"/api/v1/ratings/{rating.pk}/").json()["reply"]
    assert shown == created.json()
    assert [(n, without_time(e)) for n, e in events] == [
        (
            "rating_replied",
            base_event(
                rating,
                reply_id=str(reply.pk),
                reply_excerpt="Thanks, we'll do better.",
                reply_status="published",
                reply_created=True,
            ),
        )
    ]
    events.clear()

    edited = provider_client.put(url(rating), {"body": "Edited answer"})

    assert edited.status_code == 200
    assert edited.json()["body"] == "Edited answer"
    assert RatingReply.objects.get().pk == reply.pk
    assert events[0][1]["reply_excerpt"] == "Edited answer"
    assert events[0][1]["reply_created"] is False
    events.clear()
    assert provider_client.put(url(rating), {"body": "Edited answer"}).status_code == 200
    assert events == []

    assert provider_client.delete(url(rating)).status_code == 204
    assert not RatingReply.objects.exists()
    assert api_client.get(f"/api/v1/ratings/{rating.pk}/").json()["reply"] is None
    assert summary_of(provider) == before


def test_others_get_403_and_invisible_ratings_404(rating, customer_client, provider):
    other_provider = auth_client(ProviderFactory().user)

    assert other_provider.put(url(rating), {"body": "Not mine"}).status_code == 403
    assert customer_client.put(url(rating), {"body": "Author"}).status_code == 403
    assert other_provider.delete(url(rating)).status_code == 403
    held = rating_create(customer=CustomerFactory(), provider=provider, score=1, comment="a@b.example")
    assert auth_client(provider.user).put(url(held), {"body": "Hi"}).status_code == 404
    assert not RatingReply.objects.exists()


def test_blank_body_is_refused(rating, provider_client):
    response = provider_client.put(url(rating), {"body": "   "})

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "body"


def test_list_query_count_is_pinned_with_replies(provider, api_client, django_assert_max_num_queries):
    for _ in range(5):
        rating = rating_create(customer=CustomerFactory(), provider=provider, score=4)
        RatingReply.objects.create(rating=rating, body="Thanks")

    with django_assert_max_num_queries(2):
        response = api_client.get(f"/api/v1/ratings/?provider={provider.pk}")

    assert [r["reply"]["body"] for r in response.json()["results"]] == ["Thanks"] * 5
