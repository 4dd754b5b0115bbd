import pytest

from apps.ratings.services import rating_create, rating_moderate
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_only_published_ratings_are_public_but_authors_see_their_own(customer, customer_client, provider, api_client):
    published = rating_create(customer=CustomerFactory(), provider=provider, score=5)
    held = rating_create(customer=customer, provider=provider, score=1, comment="see www.x.example")
    hidden = rating_create(customer=CustomerFactory(), provider=provider, score=2)
    rating_moderate(rating=hidden, to_status="hidden", reason="Abuse", moderator=UserFactory(is_staff=True))

    public = api_client.get(f"/api/v1/ratings/?provider={provider.pk}").json()["results"]
    mine = customer_client.get("/api/v1/ratings/?mine=true").json()["results"]

    assert [r["id"] for r in public] == [str(published.pk)]
    assert [(r["id"], r["status"]) for r in mine] == [(str(held.pk), "pending_review")]
    assert api_client.get(f"/api/v1/ratings/{held.pk}/").status_code == 404
    assert api_client.get(f"/api/v1/ratings/{hidden.pk}/").status_code == 404
    assert customer_client.get(f"/api/v1/ratings/{held.pk}/").json()["status"] == "pending_review"
    summary = api_client.get(f"/api/v1/providers/{provider.pk}/rating-summary/").json()
    assert (summary["count"], summary["distribution"]) == (1, {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1})


def test_api_create_of_a_held_rating_says_pending_review(customer_client, provider):
    response = customer_client.post(
        "/api/v1/ratings/", {"provider_id": str(provider.pk), "score": 4, "comment": "mail me at me@x.example"}
    )

    assert response.status_code == 201
    assert response.json()["status"] == "pending_review"
