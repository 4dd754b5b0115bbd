import pytest

from apps.ratings.services import rating_create
from tests.factories import CustomerFactory, ProviderFactory


def _paths(provider):
    return [
        f"/api/v1/providers/{provider.pk}/rating-summary/",
        f"/api/v1/providers/{provider.pk}/",
        "/api/v1/providers/?ordering=-average",
    ]


@pytest.mark.django_db
def test_public_reads_answer_if_none_match_with_304_until_a_rating_changes_them(api_client):
    provider = ProviderFactory()
    for path in _paths(provider):
        first = api_client.get(path)
        assert first.status_code == 200
        etag = first["ETag"]
        assert etag.startswith('"') and etag.endswith('"')
        assert first["Cache-Control"] == "public, no-cache"

        again = api_client.get(path, HTTP_IF_NONE_MATCH=etag)
        assert again.status_code == 304
        assert again.content == b""
        assert again["ETag"] == etag
        # Weak comparison and lists, as RFC 9110 has If-None-Match compare.
        assert api_client.get(path, HTTP_IF_NONE_MATCH=f'"other", W/{etag}').status_code == 304
        assert api_client.get(path, HTTP_IF_NONE_MATCH='"other"').status_code == 200

    etags = {path: api_client.get(path)["ETag"] for path in _paths(provider)}
    rating_create(customer=CustomerFactory(), provider=provider, score=4, comment="")
    for path, etag in etags.items():
        changed = api_client.get(path, HTTP_IF_NONE_MATCH=etag)
        assert changed.status_code == 200, path
        assert changed["ETag"] != etag
    assert api_client.get(_paths(provider)[0]).json()["count"] == 1


@pytest.mark.django_db
def test_max_age_comes_from_settings(api_client, settings):
    settings.PUBLIC_READ_MAX_AGE = 30
    provider = ProviderFactory()
    assert api_client.get(_paths(provider)[0])["Cache-Control"] == "public, max-age=30"


@pytest.mark.django_db
def test_errors_and_private_reads_carry_no_etag(api_client, customer_client):
    missing = api_client.get("/api/v1/providers/00000000-0000-0000-0000-000000000000/rating-summary/")
    assert missing.status_code == 404
    assert "ETag" not in missing
    inbox = customer_client.get("/api/v1/notifications/")
    assert inbox.status_code == 200
    assert "ETag" not in inbox
