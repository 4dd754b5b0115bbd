from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.models import IdempotencyKey
from apps.ratings.models import Rating, RatingSummary
from conftest import auth_client
from tests.errors import assert_error
from tests.factories import CustomerFactory, ProviderFactory, rating_make

URL = "/api/v1/ratings/"


def _z(dt) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def _summary(client, provider) -> dict:
    response = client.get(f"/api/v1/providers/{provider.pk}/rating-summary/")
    assert response.status_code == 200
    return response.json()


@pytest.mark.django_db
def test_create_returns_201_with_the_exact_body(customer, customer_client, provider):
    response = customer_client.post(
        URL, {"provider_id": str(provider.pk), "score": 4, "comment": "Good work"}, format="json"
    )
    assert response.status_code == 201
    rating = Rating.objects.get()
    assert response.json() == {
        "id": str(rating.pk),
        "provider_id": str(provider.pk),
        "customer": {"id": str(customer.pk), "name": customer.user.name},
        "score": 4,
        "comment": "Good work",
        "status": "published",
        "verified": False,
        "reply": None,
        "helpful_count": 0,
        "edited": False,
        "edited_at": None,
        "created_at": _z(rating.created_at),
        "updated_at": _z(rating.updated_at),
    }
    assert (rating.customer_id, rating.provider_id, rating.score, rating.comment) == (
        customer.pk,
        provider.pk,
        4,
        "Good work",
    )


@pytest.mark.django_db
def test_create_without_comment_stores_an_empty_comment(customer_client, provider):
    response = customer_client.post(URL, {"provider_id": str(provider.pk), "score": 1}, format="json")
    assert response.status_code == 201
    assert response.json()["comment"] == ""


@pytest.mark.django_db
def test_summary_follows_create_update_and_delete(api_client, customer_client, provider):
    other_client = auth_client(CustomerFactory().user)
    first = customer_client.post(URL, {"provider_id": str(provider.pk), "score": 5}, format="json").json()
    other_client.post(URL, {"provider_id": str(provider.pk), "score": 2}, format="json")
    assert _summary(api_client, provider) == {
        "provider_id": str(provider.pk),
        "count": 2,
        "average": 3.5,
        "bayesian_average": 3.5,  # (17.5 + 7) / 7
        "distribution": {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1},
        "verified_count": 0,
    }

    response = customer_client.patch(f"{URL}{first['id']}/", {"score": 3}, format="json")
    assert response.status_code == 200
    assert response.json()["score"] == 3
    assert _summary(api_client, provider) == {
        "provider_id": str(provider.pk),
        "count": 2,
        "average": 2.5,
        "bayesian_average": 3.21,  # 22.5 / 7 = 3.214…
        "distribution": {"1": 0, "2": 1, "3": 1, "4": 0, "5": 0},
        "verified_count": 0,
    }

    response = customer_client.delete(f"{URL}{first['id']}/")
    assert response.status_code == 204
    assert response.content == b""
    assert not Rating.objects.filter(pk=first["id"]).exists()
    assert _summary(api_client, provider) == {
        "provider_id": str(provider.pk),
        "count": 1,
        "average": 2.0,
        "bayesian_average": 3.25,  # 19.5 / 6
        "distribution": {"1": 0, "2": 1, "3": 0, "4": 0, "5": 0},
        "verified_count": 0,
    }


@pytest.mark.django_db
def test_patch_comment_only_keeps_the_summary(api_client, customer, customer_client, provider):
    rating = rating_make(customer=customer, provider=provider, score=4)
    response = customer_client.patch(f"{URL}{rating.pk}/", {"comment": "edited"}, format="json")
    assert response.status_code == 200
    assert (response.json()["comment"], response.json()["score"]) == ("edited", 4)
    assert _summary(api_client, provider)["distribution"] == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0}


@pytest.mark.django_db
def test_patch_with_a_bad_score_is_400_and_changes_nothing(customer, customer_client, provider):
    rating = rating_make(customer=customer, provider=provider, score=4)
    for bad in (0, 6, 3.5, "5", True, None):
        assert_error(customer_client.patch(f"{URL}{rating.pk}/", {"score": bad}, format="json"), 400, attr="score")
    rating.refresh_from_db()
    assert rating.score == 4
    assert RatingSummary.objects.get(provider=provider).stars == [0, 0, 0, 1, 0]


@pytest.mark.django_db
def test_duplicate_rating_is_409_already_rated(customer, customer_client, provider):
    rating_make(customer=customer, provider=provider, score=4)
    response = customer_client.post(URL, {"provider_id": str(provider.pk), "score": 1}, format="json")
    assert_error(response, 409, "already_rated", attr=None, type_="client_error")
    assert Rating.objects.count() == 1
    assert RatingSummary.objects.get(provider=provider).stars == [0, 0, 0, 1, 0]


@pytest.mark.django_db
def test_only_customers_can_rate(api_client, provider_client, staff_client, provider):
    body = {"provider_id": str(provider.pk), "score": 5}
    assert_error(provider_client.post(URL, body, format="json"), 403, "permission_denied")
    assert_error(staff_client.post(URL, body, format="json"), 403, "permission_denied")
    assert_error(api_client.post(URL, body, format="json"), 401, "not_authenticated")
    assert Rating.objects.count() == 0
    assert list(RatingSummary.objects.values_list("count", flat=True)) == [0]


@pytest.mark.django_db
def test_only_the_author_can_patch_or_delete(customer, provider, staff_client, provider_client):
    rating = rating_make(customer=customer, provider=provider, score=4)
    other = auth_client(CustomerFactory().user)
    for client in (other, provider_client, staff_client):
        assert_error(client.patch(f"{URL}{rating.pk}/", {"score": 1}, format="json"), 403, "permission_denied")
        assert_error(client.delete(f"{URL}{rating.pk}/"), 403, "permission_denied")
    rating.refresh_from_db()
    assert rating.score == 4
    assert RatingSummary.objects.get(provider=provider).count == 1


@pytest.mark.django_db
def test_detail_is_public_and_unknown_is_404(api_client, provider):
    rating = rating_make(provider=provider, score=3)
    response = api_client.get(f"{URL}{rating.pk}/")
    assert response.status_code == 200
    assert response.json()["id"] == str(rating.pk)
    assert_error(api_client.get(f"{URL}00000000-0000-0000-0000-000000000000/"), 404, "not_found")


@pytest.mark.django_db
def test_list_by_provider_newest_first(api_client):
    provider, elsewhere = ProviderFactory(), ProviderFactory()
    first = rating_make(provider=provider, score=1)
    second = rating_make(provider=provider, score=2)
    rating_make(provider=elsewhere, score=3)
    response = api_client.get(URL, {"provider": str(provider.pk)})
    assert response.status_code == 200
    body = response.json()
    assert body["next"] is None
    assert body["previous"] is None
    assert [r["id"] for r in body["results"]] == [str(second.pk), str(first.pk)]

    assert len(api_client.get(URL).json()["results"]) == 3


@pytest.mark.django_db
def test_list_rejects_a_provider_that_is_not_a_uuid(api_client):
    assert_error(api_client.get(URL, {"provider": "nope"}), 400, "invalid", attr="provider")


@pytest.mark.django_db
def test_list_mine(customer, customer_client, api_client, provider_client):
    mine = rating_make(customer=customer, score=5)
    rating_make(score=2)
    response = customer_client.get(URL, {"mine": "true"})
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [str(mine.pk)]
    assert_error(api_client.get(URL, {"mine": "true"}), 401, "not_authenticated")
    assert_error(provider_client.get(URL, {"mine": "true"}), 403, "permission_denied")


@pytest.mark.django_db
def test_list_is_cursor_paginated_without_gaps(api_client):
    provider = ProviderFactory()
    created = [str(rating_make(provider=provider, score=(i % 5) + 1).pk) for i in range(7)]
    seen, url, params, pages = [], URL, {"provider": str(provider.pk), "page_size": 3}, 0
    while url and pages < 10:
        body = api_client.get(url, params).json() if params else api_client.get(url).json()
        seen.extend(r["id"] for r in body["results"])
        url, params, pages = body["next"], None, pages + 1
    assert seen == list(reversed(created))


@pytest.mark.django_db
def test_list_query_count_is_constant(api_client, django_assert_max_num_queries):
    provider = ProviderFactory()
    for _ in range(30):
        rating_make(provider=provider, score=3)
    with django_assert_max_num_queries(1):
        response = api_client.get(URL, {"provider": str(provider.pk), "page_size": 30})
    assert len(response.json()["results"]) == 30


# --- Idempotency-Key ---------------------------------------------------------------------


@pytest.mark.django_db
def test_idempotency_key_replays_the_first_response(customer_client, provider):
    body = {"provider_id": str(provider.pk), "score": 5, "comment": "great"}
    first = customer_client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers

    replay = customer_client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert Rating.objects.count() == 1
    assert RatingSummary.objects.get(provider=provider).count == 1
    assert IdempotencyKey.objects.count() == 1


@pytest.mark.django_db
def test_idempotency_key_reused_with_another_body_is_422(customer_client, provider):
    customer_client.post(URL, {"provider_id": str(provider.pk), "score": 5}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    response = customer_client.post(
        URL, {"provider_id": str(provider.pk), "score": 4}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert_error(response, 422, "idempotency_key_reused", attr=None, type_="client_error")
    assert Rating.objects.get().score == 5


@pytest.mark.django_db
def test_idempotency_keys_are_per_user(customer_client, provider):
    body = {"provider_id": str(provider.pk), "score": 5}
    other = auth_client(CustomerFactory().user)
    first = customer_client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    second = other.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    assert (first.status_code, second.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in second.headers
    assert first.json()["id"] != second.json()["id"]
    assert Rating.objects.count() == 2


@pytest.mark.django_db
def test_an_expired_idempotency_key_is_not_replayed(settings, customer, customer_client, provider):
    body = {"provider_id": str(provider.pk), "score": 5}
    first = customer_client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="old")
    assert first.status_code == 201
    IdempotencyKey.objects.update(created_at=timezone.now() - settings.IDEMPOTENCY_KEY_TTL - timedelta(seconds=1))
    Rating.objects.all().delete()  # bypass the summary: only the key matters here
    RatingSummary.objects.all().delete()

    again = customer_client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="old")
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again.headers
    assert again.json()["id"] != first.json()["id"]
    assert IdempotencyKey.objects.get().response_body["id"] == again.json()["id"]


@pytest.mark.django_db
def test_a_failed_request_does_not_burn_the_idempotency_key(customer, customer_client, provider):
    rating_make(customer=customer, provider=provider, score=1)
    failed = customer_client.post(
        URL, {"provider_id": str(provider.pk), "score": 5}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert_error(failed, 409, "already_rated")
    assert IdempotencyKey.objects.count() == 0

    other_provider = ProviderFactory()
    ok = customer_client.post(
        URL, {"provider_id": str(other_provider.pk), "score": 5}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert ok.status_code == 201
    assert "Idempotent-Replayed" not in ok.headers
    assert other_provider.ratings.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "x" * 256, "bad\nkey"])
def test_an_invalid_idempotency_key_is_400(customer_client, provider, key):
    response = customer_client.post(
        URL, {"provider_id": str(provider.pk), "score": 5}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    assert_error(response, 400, "invalid_idempotency_key")
    assert Rating.objects.count() == 0


# --- rating summary ----------------------------------------------------------------------


@pytest.mark.django_db
def test_summary_of_an_unrated_provider(api_client, provider):
    assert _summary(api_client, provider) == {
        "provider_id": str(provider.pk),
        "count": 0,
        "average": None,
        "bayesian_average": 3.5,
        "distribution": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0},
        "verified_count": 0,
    }


@pytest.mark.django_db
def test_summary_of_an_unknown_provider_is_404(api_client):
    response = api_client.get("/api/v1/providers/00000000-0000-0000-0000-000000000000/rating-summary/")
    assert_error(response, 404, "not_found")


@pytest.mark.django_db
def test_reading_a_summary_costs_the_same_at_1_and_50_ratings(api_client, django_assert_num_queries):
    provider = ProviderFactory()
    rating_make(provider=provider, score=5)
    with django_assert_num_queries(1):
        assert _summary(api_client, provider)["count"] == 1
    for _ in range(49):
        rating_make(provider=provider, score=4)
    with django_assert_num_queries(1):
        body = _summary(api_client, provider)
    assert (body["count"], body["average"], body["bayesian_average"]) == (50, 4.02, 3.97)  # (17.5 + 201) / 55
