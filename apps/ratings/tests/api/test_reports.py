import pytest

from apps.ratings.models import RatingReport
from apps.ratings.services import rating_create
from conftest import auth_client
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


def url(rating) -> str:
    return f"/api/v1/ratings/{rating.pk}/reports/"


@pytest.fixture
def rating(customer, provider):
    return rating_create(customer=customer, provider=provider, score=1, comment="Awful")


def test_signed_in_user_reports_once(rating):
    reporter = auth_client(UserFactory())

    response = reporter.post(url(rating), {"reason": "conflict_of_interest", "details": "Competitor"})

    assert response.status_code == 201
    report = RatingReport.objects.get()
    assert response.json() == {
        "id": str(report.pk),
        "rating_id": str(rating.pk),
        "reason": "conflict_of_interest",
        "details": "Competitor",
        "status": "open",
        "created_at": response.json()["created_at"],
    }
    again = reporter.post(url(rating), {"reason": "spam"})
    assert again.status_code == 409
    assert again.json()["errors"][0]["code"] == "already_reported"
    assert RatingReport.objects.count() == 1


def test_author_gets_403_and_nothing_is_written(rating, customer_client):
    response = customer_client.post(url(rating), {"reason": "spam"})

    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "cannot_report_own_rating"
    assert not RatingReport.objects.exists()


def test_anonymous_bad_reason_and_invisible_rating(api_client, rating, provider):
    assert api_client.post(url(rating), {"reason": "spam"}).status_code == 401
    reporter = auth_client(CustomerFactory().user)
    bad = reporter.post(url(rating), {"reason": "boring"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["attr"] == "reason"
    held = rating_create(customer=CustomerFactory(), provider=provider, score=2, comment="www.x.example")
    assert reporter.post(url(held), {"reason": "spam"}).status_code == 404
    assert not RatingReport.objects.exists()
