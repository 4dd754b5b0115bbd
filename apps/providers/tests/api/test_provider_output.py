"""The hand-written provider representation is DRF's, field for field, in one query per page."""

import datetime as dt
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework import serializers

from apps.providers.api.serializers import ProviderMeOutput, ProviderOutput
from apps.providers.models import Provider
from apps.providers.selectors import provider_get, provider_list
from tests.factories import CustomerFactory, ProviderFactory, ServiceCategoryFactory, rating_make

pytestmark = pytest.mark.django_db


def _drf(serializer_class, provider) -> dict:
    # DRF's own field-by-field representation of the declared fields.
    return serializers.Serializer.to_representation(serializer_class(), provider)


@pytest.fixture
def providers():
    plumbing = ServiceCategoryFactory(slug="plumbing", name="Plumbing")
    # Same name twice: the order falls back to the id, in both representations.
    ServiceCategoryFactory(slug="zz-heating", name="Heating")
    heating = ServiceCategoryFactory(slug="heating", name="Heating")
    rated = ProviderFactory(name='Pipe "Dreams"', description="Ünïcode ✓")
    rated.services.set([plumbing, heating])
    for score in (5, 4, 4):
        rating_make(customer=CustomerFactory(), provider=rated, score=score)
    unrated = ProviderFactory(description="")
    # Microseconds and a non-UTC stored instant both survive the formatting.
    Provider.objects.filter(pk=unrated.pk).update(
        created_at=dt.datetime(2026, 3, 29, 1, 30, 0, 5, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))
    )
    return [rated, unrated]


def test_list_rows_are_represented_as_drf_would(providers):
    rows = list(provider_list().order_by("name"))
    assert len(rows) == 2
    for row in rows:
        assert ProviderOutput(row).data == _drf(ProviderOutput, row)
    rated = next(r for r in rows if r.pk == providers[0].pk)
    assert ProviderOutput(rated).data["services"] == [
        {"slug": "heating", "name": "Heating"},
        {"slug": "plumbing", "name": "Plumbing"},
    ]
    assert ProviderOutput(rated).data["rating"]["count"] == 3


def test_me_representation_is_drf_s_with_and_without_a_verified_email(providers):
    provider = provider_get(provider_id=providers[0].pk)
    assert ProviderMeOutput(provider).data == _drf(ProviderMeOutput, provider)
    provider.user.email_verified_at = timezone.now()
    provider.user.save(update_fields=["email_verified_at"])
    provider = provider_get(provider_id=providers[0].pk)
    assert ProviderMeOutput(provider).data == _drf(ProviderMeOutput, provider)
    assert ProviderMeOutput(provider).data["email_verified"] is True


def test_datetimes_follow_the_current_time_zone_like_drf(providers):
    row = provider_list().get(pk=providers[1].pk)
    with timezone.override(zoneinfo.ZoneInfo("America/New_York")):
        assert ProviderOutput(row).data == _drf(ProviderOutput, row)
    assert ProviderOutput(row).data["created_at"] == "2026-03-29T00:30:00.000005Z"


def test_a_page_looks_up_the_time_zone_once_and_still_writes_drf_s_datetimes(providers):
    rows = list(provider_list().filter(pk__in=[p.pk for p in providers]).order_by("created_at"))
    with timezone.override(zoneinfo.ZoneInfo("Asia/Kolkata")):
        page = ProviderOutput(rows, many=True).data
        assert page == [_drf(ProviderOutput, row) for row in rows]
    assert page[0]["created_at"] == "2026-03-29T06:00:00.000005+05:30"
    assert ProviderOutput(rows, many=True).data[0]["created_at"] == "2026-03-29T00:30:00.000005Z"


def test_a_page_of_providers_is_one_query(api_client, providers):
    more = ProviderFactory.create_batch(5)
    for provider in more:
        provider.services.set([ServiceCategoryFactory()])
    with CaptureQueriesContext(connection) as queries:
        response = api_client.get("/api/v1/providers/?ordering=-average&page_size=20")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 7
    assert all(len(p["services"]) == 1 for p in response.json()["results"] if p["id"] in {str(m.pk) for m in more})
    assert len(queries.captured_queries) == 1, [q["sql"] for q in queries.captured_queries]
