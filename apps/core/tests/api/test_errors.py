"""Every 4xx/5xx, wherever it comes from, uses the one error shape."""

import json
import logging
from datetime import timedelta
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.core.signals import got_request_exception
from django.http import HttpResponseNotAllowed
from django.test import RequestFactory
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from apps.accounts.models import User
from apps.core.errors import ApiErrorShapeMiddleware
from apps.core.models import IdempotencyKey
from apps.customers.models import Customer
from apps.ratings.models import Rating
from conftest import auth_client
from tests.errors import assert_error
from tests.factories import ProviderFactory, UserFactory

# Django's default DATA_UPLOAD_MAX_MEMORY_SIZE is 2.5 MB; the project keeps it.
THREE_MB = 3 * 1024 * 1024


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/api/v1/nothing-here/", "/api/v1/ratings/not-a-uuid/", "/api/v1/", "/api/v1/providers/1/x/"]
)
def test_unknown_url_is_404_in_the_error_shape(api_client, settings, path):
    assert settings.DEBUG is False
    response = api_client.get(path)
    assert response["Content-Type"] == "application/json"
    assert assert_error(response, 404, "not_found", attr=None, type_="client_error")["detail"] == "Not found."


NOT_FOUND = {"type": "client_error", "errors": [{"code": "not_found", "detail": "Not found.", "attr": None}]}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/api/v1/nothing-here/", "/api/v1/ratings/not-a-uuid/", "/api/v1/", "/api/nothing", "/api/v1/x/y/z"]
)
def test_unknown_url_is_404_in_the_error_shape_with_debug_on(api_client, settings, path):
    # DEBUG's technical 404 page bypasses handler404 and lists every URL pattern.
    settings.DEBUG = True
    response = api_client.get(path, HTTP_ACCEPT="text/html")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == NOT_FOUND


@pytest.mark.django_db
def test_append_slash_still_redirects_an_api_get_with_debug_on(api_client, settings):
    settings.DEBUG = True
    response = api_client.get("/api/v1/providers")
    assert response.status_code == 301
    assert response["Location"] == "/api/v1/providers/"


@pytest.mark.django_db
def test_an_exception_outside_drf_is_a_500_in_the_error_shape_with_debug_on_and_still_reported(settings):
    # APPEND_SLASH raises on a POST without the slash when DEBUG is on: the traceback page.
    settings.DEBUG = True
    reported = []

    def receiver(**kwargs):
        reported.append(kwargs["request"].path)

    got_request_exception.connect(receiver)
    try:
        response = APIClient(raise_request_exception=False).post("/api/v1/customers", {}, format="json")
    finally:
        got_request_exception.disconnect(receiver)
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "type": "server_error",
        "errors": [{"code": "error", "detail": "A server error occurred.", "attr": None}],
    }
    assert reported == ["/api/v1/customers"]
    assert User.objects.count() == 0


@pytest.mark.django_db
def test_django_error_pages_outside_the_api_are_left_alone_with_debug_on(client, settings):
    settings.DEBUG = True
    response = client.get("/nothing-here/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_drf_errors_keep_the_browsable_api_with_debug_on(api_client, settings):
    settings.DEBUG = True
    response = api_client.get("/api/v1/providers/", {"cursor": "garbage"}, HTTP_ACCEPT="text/html")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_django_405_under_the_api_is_in_the_error_shape_with_the_allow_header():
    middleware = ApiErrorShapeMiddleware(lambda request: HttpResponseNotAllowed(["GET", "HEAD"]))
    response = middleware(RequestFactory().delete("/api/v1/anything/"))
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert json.loads(response.content) == {
        "type": "client_error",
        "errors": [{"code": "method_not_allowed", "detail": 'Method "DELETE" not allowed.', "attr": None}],
    }


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
def test_405_in_the_error_shape_in_both_modes(api_client, settings, debug):
    settings.DEBUG = debug
    response = api_client.delete("/api/v1/providers/")
    assert response.json() == {
        "type": "client_error",
        "errors": [{"code": "method_not_allowed", "detail": 'Method "DELETE" not allowed.', "attr": None}],
    }


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
        "apps.ratings.api.provider_views.rating_summary_get", side_effect=RuntimeError("secret internals")
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


def test_the_upload_limit_is_djangos_default():
    assert django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE == int(2.5 * 1024 * 1024) < THREE_MB


@pytest.mark.django_db
def test_a_body_over_the_upload_limit_is_413_and_registers_nobody(api_client, caplog):
    body = json.dumps({"email": "ann@example.com", "password": "long-enough-password", "name": "x" * THREE_MB})
    with caplog.at_level(logging.ERROR, logger="django.security"):
        response = api_client.post("/api/v1/customers/", body, content_type="application/json")
    assert response.json() == {
        "type": "client_error",
        "errors": [
            {
                "code": "request_too_large",
                "detail": "The request body is larger than the server accepts.",
                "attr": None,
            }
        ],
    }
    assert response.status_code == 413
    assert User.objects.count() == 0
    assert Customer.objects.count() == 0
    assert [r.name for r in caplog.records] == ["django.security.RequestDataTooBig"]


@pytest.mark.django_db
def test_an_idempotent_post_over_the_upload_limit_is_413_and_stores_no_key(customer_client):
    provider = ProviderFactory()
    body = json.dumps({"provider_id": str(provider.pk), "score": 5, "comment": "x" * THREE_MB})
    response = customer_client.post(
        "/api/v1/ratings/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert_error(response, 413, "request_too_large", attr=None, type_="client_error")
    assert Rating.objects.count() == 0
    assert IdempotencyKey.objects.count() == 0


@pytest.mark.django_db
def test_a_body_over_the_upload_limit_outside_drf_is_413_in_the_error_shape():
    # Django's own views (the admin login, read by the CSRF middleware) go through handler400.
    client = APIClient(raise_request_exception=False)
    response = client.post("/admin/login/", {"username": "x" * THREE_MB, "password": "x"}, format="multipart")
    assert_error(response, 413, "request_too_large", attr=None, type_="client_error")


@pytest.mark.django_db
def test_too_many_query_parameters_is_400_parse_error(api_client, caplog):
    query = "&".join(f"f{i}=1" for i in range(django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    with caplog.at_level(logging.ERROR, logger="django.security"):
        response = api_client.get(f"/api/v1/providers/?{query}")
    assert response.status_code == 400
    assert response.json() == {
        "type": "client_error",
        "errors": [
            {
                "code": "parse_error",
                "detail": "The request has more parameters than the server accepts.",
                "attr": None,
            }
        ],
    }
    assert [r.name for r in caplog.records] == ["django.security.TooManyFieldsSent"]


@pytest.mark.django_db
def test_a_query_at_the_parameter_limit_is_served(api_client):
    query = "&".join(f"f{i}=1" for i in range(django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS))
    assert api_client.get(f"/api/v1/providers/?{query}").status_code == 200


def _one_error(response, status: int, code: str, detail: str):
    assert response.status_code == status, response.content
    assert response.json() == {"type": "client_error", "errors": [{"code": code, "detail": detail, "attr": None}]}


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/customers/me/", "/api/v1/notifications/"])
@pytest.mark.parametrize("token", ["garbage", "a.b.c", "expired", "refresh"])
def test_an_invalid_bearer_token_is_one_token_not_valid_error(customer, path, token):
    if token == "expired":
        access = AccessToken.for_user(customer.user)
        access.set_exp(lifetime=-timedelta(seconds=1))
        token = str(access)
    elif token == "refresh":  # a refresh token is not an access token
        token = str(RefreshToken.for_user(customer.user))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.get(path)
    _one_error(response, 401, "token_not_valid", "Given token not valid for any token type")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.django_db
def test_a_token_of_a_deleted_user_is_one_authentication_failed_error():
    user = UserFactory()
    client = auth_client(user)
    user.delete()
    _one_error(client.get("/api/v1/customers/me/"), 401, "authentication_failed", "User not found")


@pytest.mark.django_db
def test_a_refresh_with_a_garbage_token_is_one_token_not_valid_error(api_client):
    response = api_client.post("/api/v1/auth/token/refresh/", {"refresh": "garbage"}, format="json")
    _one_error(response, 401, "token_not_valid", "Token is invalid")


@pytest.mark.django_db
def test_the_documented_401_codes_include_token_not_valid_and_413_is_documented(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    enums = schema["components"]["schemas"]
    assert enums["ErrorCode401Enum"]["enum"] == ["authentication_failed", "not_authenticated", "token_not_valid"]
    assert enums["ErrorCode413Enum"]["enum"] == ["request_too_large"]
    me = schema["paths"]["/api/v1/customers/me/"]["get"]["responses"]
    assert me["401"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorResponse401"}
    assert "413" not in me
    register = schema["paths"]["/api/v1/customers/"]["post"]["responses"]
    assert register["413"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorResponse413"}
    refresh = schema["paths"]["/api/v1/auth/token/refresh/"]["post"]["responses"]["401"]
    refresh_codes = refresh["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert refresh_codes == "TokenNotValidErrorResponse"
