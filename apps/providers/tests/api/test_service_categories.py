import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.providers.models import ServiceCategory
from conftest import auth_client
from tests.factories import CustomerFactory, ServiceCategoryFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/service-categories/"


def test_the_catalog_is_public_and_sorted_by_name(api_client):
    ServiceCategoryFactory(slug="tutoring", name="Tutoring")
    ServiceCategoryFactory(slug="plumbing", name="Plumbing")
    ServiceCategoryFactory(slug="electrics", name="Electrics")

    with CaptureQueriesContext(connection) as queries:
        response = api_client.get(URL)

    assert response.status_code == 200
    assert response.json() == {
        "next": None,
        "previous": None,
        "results": [
            {"slug": "electrics", "name": "Electrics"},
            {"slug": "plumbing", "name": "Plumbing"},
            {"slug": "tutoring", "name": "Tutoring"},
        ],
    }
    assert len(queries) == 1
    assert response["Cache-Control"] == "public, no-cache"
    # A token is neither needed nor looked at.
    assert auth_client(CustomerFactory().user).get(URL).json() == response.json()


def test_pages_follow_the_cursor_and_304_when_unchanged(api_client):
    for i in range(5):
        ServiceCategoryFactory(slug=f"cat-{i}", name=f"Category {i}")

    first = api_client.get(URL, {"page_size": 2})
    second = api_client.get(first.json()["next"])
    third = api_client.get(second.json()["next"])

    slugs = [c["slug"] for page in (first, second, third) for c in page.json()["results"]]
    assert slugs == [f"cat-{i}" for i in range(5)]
    assert third.json()["next"] is None
    again = api_client.get(URL, {"page_size": 2}, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304


def test_an_empty_catalog_and_a_bad_page_size(api_client):
    assert ServiceCategory.objects.count() == 0
    assert api_client.get(URL).json() == {"next": None, "previous": None, "results": []}
    response = api_client.get(URL, {"page_size": 0})
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "page_size"


def test_only_get(api_client):
    response = api_client.post(URL, {"slug": "x", "name": "X"})

    assert response.status_code == 405
    assert ServiceCategory.objects.count() == 0
