import pytest
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.partners.api.authentication import PartnerKeyThrottle
from apps.partners.models import PartnerKey
from apps.partners.tests.conftest import key_client
from apps.ratings.models import Rating
from tests.factories import partner_key_create

pytestmark = pytest.mark.django_db

SOME_ID = "6d2b7f0e-0000-4000-8000-000000000001"
# Every partner operation, with a body that would succeed as far as authentication goes.
OPERATIONS = [
    ("post", "/v1/customers", {"name": "Eve", "email": "eve@example.com"}),
    ("get", f"/v1/customers/{SOME_ID}", None),
    ("post", "/v1/service-providers", {"name": "Eve", "email": "eve@example.com"}),
    ("get", f"/v1/service-providers/{SOME_ID}", None),
    ("get", f"/v1/service-providers/{SOME_ID}/average-rating", None),
    ("post", "/v1/ratings", {"customerId": SOME_ID, "serviceProviderId": SOME_ID, "rating": 5, "comment": ""}),
    ("get", f"/v1/ratings/{SOME_ID}", None),
    ("get", f"/api/notifications/{SOME_ID}", None),
    (
        "post",
        "/api/internal/notifications",
        {"serviceProviderId": SOME_ID, "ratingId": SOME_ID, "rating": 4, "customerName": "Eve", "comment": ""},
    ),
]
FEED = f"/api/notifications/{SOME_ID}"
IDS = [f"{method} {path.replace(SOME_ID, '{id}')}" for method, path, _ in OPERATIONS]


def _revoked_client():
    key, secret = partner_key_create(name="Former partner")
    PartnerKey.objects.filter(pk=key.pk).update(revoked=True)
    return key_client(secret)


def _unknown_key_client():
    return key_client("AbCdEfGh.not-a-real-secret-at-all")


@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS, ids=IDS)
@pytest.mark.parametrize("who", ["anonymous", "jwt", "revoked key", "unknown key"])
def test_only_a_valid_partner_key_opens_the_partner_api(request, method, path, body, who):
    client = {
        "anonymous": APIClient,
        "jwt": lambda: request.getfixturevalue("jwt_client"),
        "revoked key": _revoked_client,
        "unknown key": _unknown_key_client,
    }[who]()
    users_before = User.objects.count()

    response = getattr(client, method)(path, body)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"
    body = response.json()
    assert set(body) == {"status", "message"}
    assert body["status"] == 401
    assert User.objects.count() == users_before
    assert Rating.objects.count() == 0


@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS, ids=IDS)
def test_a_valid_key_gets_past_authentication(partner, method, path, body):
    response = getattr(partner, method)(path, body)

    # 404 for the unknown ids, 201/200 otherwise: never 401.
    assert response.status_code in (200, 201, 404), response.json()


def test_healthcheck_is_public_and_answers_get_and_head(api_client, settings):
    response = api_client.get("/healthcheck")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == f"OK {settings.SPECTACULAR_SETTINGS['VERSION']}"
    head = api_client.head("/healthcheck")
    assert head.status_code == 200
    assert head.content == b""


def test_throttled_per_key(monkeypatch, partner_key):
    # DRF reads the rates into the class when it is defined.
    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "partner": "2/min"}
    monkeypatch.setattr(PartnerKeyThrottle, "THROTTLE_RATES", rates)
    first, other = key_client(partner_key[1]), key_client(partner_key_create(name="Other")[1])

    assert [first.get(FEED).status_code for _ in range(2)] == [200, 200]
    refused = first.get(FEED)

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert refused.json()["status"] == 429
    # Another partner's key has its own budget.
    assert other.get(FEED).status_code == 200


def test_unsupported_method_is_405_before_authentication():
    response = APIClient().delete("/v1/customers")

    assert response.status_code == 405
    assert response.json() == {"status": 405, "message": 'Method "DELETE" not allowed.'}


def test_json_only(partner):
    response = partner.get(FEED, HTTP_ACCEPT="text/html")

    assert response.status_code == 406
    assert response.json() == {"status": 406, "message": "Could not satisfy the request Accept header."}


@pytest.mark.parametrize("path", ["/healthcheck", "/v1/customers", f"/api/notifications/{SOME_ID}"])
def test_cors_covers_the_partner_paths_from_the_same_settings(settings, path):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]

    preflight = APIClient().options(
        path,
        HTTP_ORIGIN="https://app.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )

    assert preflight["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "authorization" in preflight["Access-Control-Allow-Headers"]
    other = APIClient().get(path, HTTP_ORIGIN="https://evil.example.net")
    assert "Access-Control-Allow-Origin" not in other
