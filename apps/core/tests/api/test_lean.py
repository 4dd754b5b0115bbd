"""The lean path of a public read answers exactly what DRF's path answers, and only when it may."""

import pytest
from rest_framework.settings import api_settings

from apps.ratings.api.provider_views import ProviderRatingSummaryView
from apps.ratings.services import rating_create
from tests.factories import CustomerFactory, ProviderFactory

pytestmark = pytest.mark.django_db

# Set per response by the middleware, whichever path answered.
PER_RESPONSE = {"X-Request-ID", "Date", "traceparent"}


@pytest.fixture
def lean_calls(monkeypatch):
    """The answers the lean path gave (what ``lean_get`` returned), in order."""
    calls = []
    original = ProviderRatingSummaryView.lean_get.__func__

    def spy(cls, request, **kwargs):
        result = original(cls, request, **kwargs)
        calls.append(result)
        return result

    monkeypatch.setattr(ProviderRatingSummaryView, "lean_get", classmethod(spy))
    return calls


def _headers(response) -> dict:
    return {k: v for k, v in response.headers.items() if k not in PER_RESPONSE}


def _both(client, path: str, **extra):
    """The lean answer, then DRF's to the same request (``?format=json`` takes DRF's path)."""
    joiner = "&" if "?" in path else "?"
    return client.get(path, **extra), client.get(f"{path}{joiner}{api_settings.URL_FORMAT_OVERRIDE}=json", **extra)


@pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
def test_the_summary_s_lean_answer_is_drf_s_byte_for_byte(api_client, lean_calls, accept):
    rated, unrated = ProviderFactory(), ProviderFactory()
    for score in (5, 4, 4):
        rating_create(customer=CustomerFactory(), provider=rated, score=score, comment="")
    extra = {"HTTP_ACCEPT": accept} if accept else {}
    for provider in (rated, unrated):
        path = f"/api/v1/providers/{provider.pk}/rating-summary/"
        lean, drf = _both(api_client, path, **extra)
        assert lean.status_code == drf.status_code == 200
        assert lean.content == drf.content
        assert _headers(lean) == _headers(drf)
        assert lean["Content-Type"] == "application/json" and lean["ETag"]
        # Revalidation: the same 304, headers and all.
        lean_304, drf_304 = _both(api_client, path, HTTP_IF_NONE_MATCH=lean["ETag"], **extra)
        assert lean_304.status_code == drf_304.status_code == 304
        assert _headers(lean_304) == _headers(drf_304)
    assert [c["count"] for c in lean_calls] == [3, 3, 0, 0]


def test_everything_but_the_plain_get_goes_through_drf(api_client, lean_calls):
    # (A THROTTLE_PUBLIC_READ rate also takes DRF's path: test_throttling counts the summary.)
    provider = ProviderFactory()
    path = f"/api/v1/providers/{provider.pk}/rating-summary/"
    # The browsable API, another media type, HEAD and OPTIONS, a method the view does not serve.
    assert api_client.get(path, HTTP_ACCEPT="text/html").status_code == 200
    assert api_client.get(path, HTTP_ACCEPT="application/json; indent=2").content.startswith(b"{\n")
    assert api_client.get(path, HTTP_ACCEPT="application/xml").status_code == 406
    assert api_client.head(path).status_code == 200
    assert api_client.options(path).status_code == 200
    refused = api_client.delete(path)
    assert refused.status_code == 405 and refused.json()["errors"][0]["code"] == "method_not_allowed"
    assert lean_calls == []
    # An unknown provider: the lean path declines, DRF answers 404 in the error shape.
    missing = api_client.get("/api/v1/providers/00000000-0000-0000-0000-000000000000/rating-summary/")
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "not_found"
    assert lean_calls == [None]
