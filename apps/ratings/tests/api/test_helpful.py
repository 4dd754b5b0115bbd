"""POST/DELETE ratings/{id}/helpful/: one vote per user, an exact helpful_count, the list by helpfulness."""

import pytest
from django.db import connection
from django.utils import timezone

from apps.ratings.models import Rating, RatingHelpfulVote, RatingStatus
from apps.ratings.services import helpful_vote_add, rating_create, rating_moderate
from conftest import auth_client
from tests.factories import CustomerFactory, UserFactory, moderator_create

pytestmark = pytest.mark.django_db


def url(rating) -> str:
    return f"/api/v1/ratings/{rating.pk}/helpful/"


@pytest.fixture
def rating(customer, provider):
    return rating_create(customer=customer, provider=provider, score=5, comment="Great")


@pytest.fixture
def voter_client():
    return auth_client(UserFactory(email_verified_at=timezone.now()))


def _count(rating) -> int:
    return Rating.objects.get(pk=rating.pk).helpful_count


def test_a_vote_is_201_then_a_repeat_is_200_with_the_same_body(rating, voter_client, api_client):
    first = voter_client.post(url(rating))
    again = voter_client.post(url(rating))

    body = {"rating_id": str(rating.pk), "helpful_count": 1, "voted": True}
    assert (first.status_code, first.json()) == (201, body)
    assert (again.status_code, again.json()) == (200, body)
    assert RatingHelpfulVote.objects.count() == 1
    assert api_client.get(f"/api/v1/ratings/{rating.pk}/").json()["helpful_count"] == 1


def test_votes_of_several_users_add_up_and_withdrawing_takes_one_back(rating, voter_client):
    others = [auth_client(CustomerFactory(user__email_verified_at=timezone.now()).user) for _ in range(2)]
    for client in [voter_client, *others]:
        assert client.post(url(rating)).status_code == 201
    assert _count(rating) == 3

    assert voter_client.delete(url(rating)).status_code == 204
    assert voter_client.delete(url(rating)).status_code == 204  # nothing left to withdraw

    assert _count(rating) == 2
    assert RatingHelpfulVote.objects.count() == 2


@pytest.mark.parametrize("who", ["author", "rated provider"])
def test_no_vote_on_your_own_rating(rating, customer, provider, who):
    client = auth_client(customer.user if who == "author" else provider.user)

    response = client.post(url(rating))

    assert response.status_code == 403
    assert response.json() == {
        "type": "client_error",
        "errors": [
            {
                "code": "cannot_vote_own_rating",
                "detail": "You cannot vote on your own rating or on a rating of you.",
                "attr": None,
            }
        ],
    }
    assert RatingHelpfulVote.objects.count() == 0
    assert _count(rating) == 0


@pytest.mark.parametrize("status", [RatingStatus.HIDDEN, RatingStatus.PENDING_REVIEW])
def test_a_rating_that_is_not_published_is_404_for_votes(rating, voter_client, customer_client, status):
    voter_client.post(url(rating))
    rating_moderate(rating=rating, to_status=status, reason="Check", moderator=moderator_create())

    for response in (
        voter_client.post(url(rating)),
        voter_client.delete(url(rating)),
        customer_client.post(url(rating)),
    ):
        assert response.status_code == 404
        assert response.json() == {
            "type": "client_error",
            "errors": [{"code": "not_found", "detail": "Rating not found.", "attr": None}],
        }
    assert RatingHelpfulVote.objects.count() == 1
    assert _count(rating) == 1


def test_anonymous_votes_are_401(rating, api_client):
    assert api_client.post(url(rating)).status_code == 401
    assert api_client.delete(url(rating)).status_code == 401
    assert RatingHelpfulVote.objects.count() == 0


def test_a_vote_racing_a_hide_is_rolled_back(rating):
    voter = UserFactory(email_verified_at=timezone.now())
    # The rating was read as published, then hidden before the vote's UPDATE.
    Rating.objects.filter(pk=rating.pk).update(status=RatingStatus.HIDDEN)

    with pytest.raises(Exception, match="Rating not found"):
        helpful_vote_add(rating=rating, user=voter)

    assert RatingHelpfulVote.objects.count() == 0
    assert _count(rating) == 0


def test_the_provider_list_orders_by_helpfulness_and_its_cursor_keeps_ties_in_order(provider, api_client):
    ratings = [rating_create(customer=CustomerFactory(), provider=provider, score=4) for _ in range(5)]
    counts = [2, 0, 2, 1, 0]
    for rating, count in zip(ratings, counts, strict=True):
        Rating.objects.filter(pk=rating.pk).update(helpful_count=count)
    expected = sorted(
        Rating.objects.filter(provider=provider), key=lambda r: (-r.helpful_count, -r.created_at.timestamp(), str(r.pk))
    )
    # Same created_at cannot happen in one test run reliably; the id decides any tie left.
    expected = [str(r.pk) for r in expected]

    seen, params = [], {"provider": str(provider.pk), "ordering": "-helpful_count", "page_size": 2}
    page = api_client.get("/api/v1/ratings/", params).json()
    seen += [r["id"] for r in page["results"]]
    while page["next"]:
        page = api_client.get(page["next"]).json()
        seen += [r["id"] for r in page["results"]]

    assert seen == expected
    back = api_client.get(page["previous"]).json()
    assert [r["id"] for r in back["results"]] == expected[2:4]
    assert [r["helpful_count"] for r in api_client.get("/api/v1/ratings/", params).json()["results"]] == [2, 2]


def test_an_unknown_ordering_is_400(api_client, provider):
    response = api_client.get("/api/v1/ratings/", {"ordering": "helpful_count"})

    assert response.status_code == 400
    assert response.json() == {
        "type": "validation_error",
        "errors": [{"code": "invalid_choice", "detail": '"helpful_count" is not a valid choice.', "attr": "ordering"}],
    }


@pytest.mark.postgres
def test_the_helpful_ordering_is_served_by_its_index(provider):
    for _ in range(3):
        rating_create(customer=CustomerFactory(), provider=provider, score=4)
    with connection.cursor() as cursor:
        # On a handful of rows any plan is cheap: ask which index can give the order without a sort.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM ratings_rating WHERE provider_id = %s AND status = 'published' "
            "ORDER BY helpful_count DESC, created_at DESC, id DESC LIMIT 21",
            [provider.pk],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "ratings_provider_helpful_idx" in plan
    assert "Sort" not in plan


def test_the_list_by_helpfulness_is_one_query_whatever_its_replies(provider, api_client, django_assert_num_queries):
    from apps.ratings.services import reply_set

    for body in ("Thanks", "Call 0123 456 789", "Sorry"):
        reply_set(rating=rating_create(customer=CustomerFactory(), provider=provider, score=3), body=body)

    with django_assert_num_queries(1):
        response = api_client.get("/api/v1/ratings/", {"provider": str(provider.pk), "ordering": "-helpful_count"})

    assert sorted((r["reply"] or {}).get("body", "") for r in response.json()["results"]) == ["", "Sorry", "Thanks"]
