"""Every 4xx/5xx, wherever it comes from, uses the one error shape."""

from unittest import mock

import pytest
from rest_framework.test import APIClient

from tests.errors import assert_error
from tests.factories import ProviderFactory


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/api/v1/nothing-here/", "/api/v1/ratings/not-a-uuid/", "/api/v1/", "/api/v1/providers/1/x/"]
)
def test_unknown_url_is_404_in_the_error_shape(api_client, settings, path):
    assert settings.DEBUG is False
    response = api_client.get(path)
    assert response["Content-Type"] == "application/json"
    assert assert_error(response, 404, "not_found", attr=None, type_="client_error")["detail"] == "Not found."


@pytest.mark.django_db
def test_405_in_the_error_shape(api_client):
    response = api_client.delete("/api/v1/providers/")
    assert_error(response, 405, "method_not_allowed", attr=None, type_="client_error")


@pytest.mark.django_db
def test_415_in_the_error_shape(api_client):
    response = api_client.post("/api/v1/customers/", "x=1", content_type="application/x-www-form-urlencoded")
    assert_error(response, 415, "unsupported_media_type", attr=None, type_="client_error")


@pytest.mark.django_db
def test_406_in_the_error_shape(api_client):
    response = api_client.get("/api/v1/providers/", HTTP_ACCEPT="application/xml")
    assert_error(response, 406, "not_acceptable", attr=None, type_="client_error")


@pytest.mark.django_db
def test_500_in_the_error_shape_without_leaking_the_exception(provider):
    client = APIClient(raise_request_exception=False)
    with mock.patch(
        "apps.ratings.api.views.rating_summary_get", side_effect=RuntimeError("secret internals")
    ) as selector:
        response = client.get(f"/api/v1/providers/{provider.pk}/rating-summary/")
    assert selector.call_count == 1
    first = assert_error(response, 500, "error", attr=None, type_="server_error")
    assert "secret internals" not in response.content.decode()
    assert first["detail"]


@pytest.mark.django_db
def test_500_from_a_list_view_in_the_error_shape():
    ProviderFactory()
    client = APIClient(raise_request_exception=False)
    with mock.patch("apps.providers.api.views.provider_list", side_effect=RuntimeError("boom")):
        response = client.get("/api/v1/providers/")
    assert_error(response, 500, "error", attr=None, type_="server_error")
