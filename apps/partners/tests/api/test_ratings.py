import uuid

import pytest

from apps.partners.selectors import NOT_FOUND
from apps.partners.tests.conftest import own_customer
from apps.ratings.models import Rating, RatingStatus
from apps.ratings.tests.conftest import summary_of
from tests.factories import ProviderFactory

pytestmark = pytest.mark.django_db


def _z(dt) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def rate(partner, customer, provider, rating=5, comment="Great job"):
    body = {"customerId": str(customer.pk), "serviceProviderId": str(provider.pk), "rating": rating}
    if comment is not None:
        body["comment"] = comment
    return partner.post("/v1/ratings", body)


def test_rate_then_read_the_rating_and_the_average(partner, customer, provider, events):
    response = rate(partner, customer, provider, rating=4, comment="Quick and tidy")

    assert response.status_code == 201
    rating = Rating.objects.get()
    assert response.json() == {
        "id": str(rating.pk),
        "customerId": str(customer.pk),
        "serviceProviderId": str(provider.pk),
        "rating": 4,
        "comment": "Quick and tidy",
        "created_at": _z(rating.created_at),
        "updated_at": _z(rating.updated_at),
    }
    # Our rules: published, counted in the summary, announced.
    assert rating.status == RatingStatus.PUBLISHED
    assert summary_of(provider)["count"] == 1
    assert [name for name, _ in events] == ["rating_created"]

    assert partner.get(f"/v1/ratings/{rating.pk}").json() == response.json()

    rate(partner, own_customer(partner.key), provider, rating=5)
    average = partner.get(f"/v1/service-providers/{provider.pk}/average-rating")
    assert average.status_code == 200
    summary = provider.rating_summary
    summary.refresh_from_db()
    assert average.json() == {
        "serviceProviderId": str(provider.pk),
        "averageRating": 4.5,
        "totalRatings": 2,
        "lastUpdated": _z(summary.updated_at),
    }


def test_comment_is_optional(partner, customer, provider):
    response = rate(partner, customer, provider, comment=None)

    assert response.status_code == 201
    assert response.json()["comment"] == ""


def test_second_rating_of_the_same_pair_is_409_and_changes_nothing(partner, customer, provider):
    rate(partner, customer, provider, rating=5)

    response = rate(partner, customer, provider, rating=1)

    assert response.status_code == 409
    assert response.json() == {"status": 409, "message": "You have already rated this provider."}
    assert list(Rating.objects.values_list("score", flat=True)) == [5]
    assert summary_of(provider) == {"count": 1, "sum": 5, "stars": [0, 0, 0, 0, 1], "verified_count": 0}


def test_a_held_comment_is_created_but_not_counted(partner, customer, provider, settings, events):
    settings.RATING_HOLD_LINKS = True

    response = rate(partner, customer, provider, comment="See https://spam.example.com")

    assert response.status_code == 201
    assert Rating.objects.get().status == RatingStatus.PENDING_REVIEW
    assert summary_of(provider)["count"] == 0
    average = partner.get(f"/v1/service-providers/{provider.pk}/average-rating").json()
    assert (average["averageRating"], average["totalRatings"]) == (0, 0)
    assert events[0][1]["status"] == RatingStatus.PENDING_REVIEW


@pytest.mark.parametrize("unknown", ["customerId", "serviceProviderId"])
def test_unknown_customer_or_provider_is_404_and_creates_nothing(partner, customer, provider, unknown):
    body = {"customerId": str(customer.pk), "serviceProviderId": str(provider.pk), "rating": 5, "comment": ""}
    body[unknown] = str(uuid.uuid4())

    response = partner.post("/v1/ratings", body)

    assert response.status_code == 404
    assert response.json() == {"status": 404, "message": NOT_FOUND}
    assert Rating.objects.count() == 0


@pytest.mark.parametrize("value", ["5", 5.0, 4.5, True, None, 0, 6, -1])
def test_rating_must_be_a_json_integer_from_1_to_5(partner, customer, provider, value):
    response = rate(partner, customer, provider, rating=value)

    assert response.status_code == 400
    body = response.json()
    assert body["status"] == 400
    assert body["message"] == "The request is invalid."
    assert [d["field"] for d in body["details"]] == ["rating"]
    assert Rating.objects.count() == 0


def test_missing_fields_are_each_listed(partner):
    response = partner.post("/v1/ratings", {})

    assert response.status_code == 400
    assert response.json()["details"] == [
        {"field": "customerId", "error": "This field is required."},
        {"field": "serviceProviderId", "error": "This field is required."},
        {"field": "rating", "error": "This field is required."},
    ]


def test_a_body_that_is_not_an_object_is_400(partner):
    response = partner.post("/v1/ratings", [1, 2], format="json")

    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "non_field_errors"


def test_malformed_json_is_400_in_the_partner_shape(partner):
    response = partner.generic("POST", "/v1/ratings", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["status"] == 400
    assert set(response.json()) == {"status", "message"}


@pytest.mark.parametrize("rating_id", ["3f1c8a2e-0000-4000-8000-00000000abcd", "42"])
def test_unknown_rating_is_404(partner, rating_id):
    response = partner.get(f"/v1/ratings/{rating_id}")

    assert response.status_code == 404
    assert response.json() == {"status": 404, "message": NOT_FOUND}


def test_average_of_an_unrated_provider_is_zero(partner, provider):
    response = partner.get(f"/v1/service-providers/{provider.pk}/average-rating")

    assert response.status_code == 200
    assert response.json() == {
        "serviceProviderId": str(provider.pk),
        "averageRating": 0,
        "totalRatings": 0,
        "lastUpdated": None,
    }


@pytest.mark.parametrize("provider_id", ["3f1c8a2e-0000-4000-8000-00000000abcd", "abc"])
def test_average_of_an_unknown_provider_is_404(partner, provider_id):
    response = partner.get(f"/v1/service-providers/{provider_id}/average-rating")

    assert response.status_code == 404
    assert response.json() == {"status": 404, "message": NOT_FOUND}


def test_the_rest_of_the_api_keeps_its_error_shape(api_client, provider):
    # The partner shape is the partner views' own: other views still answer {type, errors}.
    response = api_client.get(f"/api/v1/providers/{uuid.uuid4()}/")

    assert response.status_code == 404
    assert set(response.json()) == {"type", "errors"}
    assert ProviderFactory._meta.model.objects.count() == 1


def test_the_same_rating_again_returns_it_and_adds_nothing(partner, customer, provider, events):
    first = rate(partner, customer, provider, rating=5, comment="Fantastic")

    again = rate(partner, customer, provider, rating=5, comment="Fantastic")

    # A retry or a re-run of the same script: Homerun's 201, the same rating, announced once.
    assert (again.status_code, again.json()) == (201, first.json())
    assert Rating.objects.count() == 1
    assert [name for name, _ in events] == ["rating_created"]
    assert summary_of(provider)["count"] == 1
