"""A table of bad requests: each gets its exact 4xx in the error shape and changes nothing."""

import json

import pytest

from apps.accounts.models import User
from apps.core.models import IdempotencyKey
from apps.customers.models import Customer
from apps.providers.models import Provider
from apps.ratings.models import Rating, RatingSummary
from tests.errors import assert_error
from tests.factories import ProviderFactory, rating_make

RATINGS = "/api/v1/ratings/"
CUSTOMERS = "/api/v1/customers/"
PROVIDERS = "/api/v1/providers/"
UNKNOWN = "00000000-0000-0000-0000-000000000000"
PROVIDER = object()  # placeholder for the rated provider's id

GOOD_RATING = {"provider_id": PROVIDER, "score": 4, "comment": "ok"}


def _without(data, key):
    return {k: v for k, v in data.items() if k != key}


# (id, method, content, content_type, status, code, attr); content None means "JSON of the body"
RATING_CASES = [
    ("score-0", {**GOOD_RATING, "score": 0}, 400, "min_value", "score"),
    ("score-6", {**GOOD_RATING, "score": 6}, 400, "max_value", "score"),
    ("score-3.5", {**GOOD_RATING, "score": 3.5}, 400, "invalid", "score"),
    ("score-string", {**GOOD_RATING, "score": "5"}, 400, "invalid", "score"),
    ("score-true", {**GOOD_RATING, "score": True}, 400, "invalid", "score"),
    ("score-null", {**GOOD_RATING, "score": None}, 400, "null", "score"),
    ("score-missing", _without(GOOD_RATING, "score"), 400, "required", "score"),
    ("score-list", {**GOOD_RATING, "score": [5]}, 400, "invalid", "score"),
    ("comment-2001", {**GOOD_RATING, "comment": "x" * 2001}, 400, "max_length", "comment"),
    ("comment-object", {**GOOD_RATING, "comment": {"a": 1}}, 400, "invalid", "comment"),
    ("provider-not-uuid", {**GOOD_RATING, "provider_id": "42"}, 400, "invalid", "provider_id"),
    ("provider-missing", _without(GOOD_RATING, "provider_id"), 400, "required", "provider_id"),
    ("provider-unknown", {**GOOD_RATING, "provider_id": UNKNOWN}, 400, "does_not_exist", "provider_id"),
    ("body-a-list", [GOOD_RATING], 400, "invalid", "non_field_errors"),
]


def _resolve(data, provider_id):
    if isinstance(data, list):
        return [_resolve(item, provider_id) for item in data]
    return {k: (provider_id if v is PROVIDER else v) for k, v in data.items()}


@pytest.fixture
def world(db):
    """Some existing state, so that 'nothing changed' is about real rows."""
    provider = ProviderFactory()
    rating_make(provider=provider, score=3)
    return provider


def _snapshot():
    return {
        "users": User.objects.count(),
        "customers": Customer.objects.count(),
        "providers": Provider.objects.count(),
        "ratings": list(Rating.objects.order_by("pk").values_list("pk", "score", "comment")),
        "summaries": list(
            RatingSummary.objects.order_by("pk").values_list(
                "pk", "count", "sum", "stars_1", "stars_2", "stars_3", "stars_4", "stars_5"
            )
        ),
        "idempotency_keys": IdempotencyKey.objects.count(),
    }


@pytest.mark.parametrize(
    ("data", "status", "code", "attr"), [c[1:] for c in RATING_CASES], ids=[c[0] for c in RATING_CASES]
)
def test_bad_rating_bodies(customer_client, world, data, status, code, attr):
    before = _snapshot()
    body = json.dumps(_resolve(data, str(world.pk)))
    response = customer_client.generic(
        "POST", RATINGS, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="table"
    )
    assert_error(response, status, code, attr=attr, type_="validation_error")
    assert _snapshot() == before


RAW_CASES = [
    ("malformed-json", "POST", '{"provider_id": ', "application/json", 400, "parse_error", None, "client_error"),
    ("empty-body", "POST", "", "application/json", 400, "required", "provider_id", "validation_error"),
    ("json-null", "POST", "null", "application/json", 400, "null", "non_field_errors", "validation_error"),
    ("form-encoded", "POST", "score=4", "application/x-www-form-urlencoded", 415, "unsupported_media_type", None, None),
    ("text-plain", "POST", '{"score": 4}', "text/plain", 415, "unsupported_media_type", None, None),
    ("multipart", "POST", "--x--", "multipart/form-data; boundary=x", 415, "unsupported_media_type", None, None),
    ("put-on-list", "PUT", "{}", "application/json", 405, "method_not_allowed", None, None),
    ("delete-on-list", "DELETE", "", "application/json", 405, "method_not_allowed", None, None),
    ("patch-on-list", "PATCH", "{}", "application/json", 405, "method_not_allowed", None, None),
]


@pytest.mark.parametrize(
    ("method", "content", "content_type", "status", "code", "attr", "type_"),
    [c[1:] for c in RAW_CASES],
    ids=[c[0] for c in RAW_CASES],
)
def test_bad_rating_requests(customer_client, world, method, content, content_type, status, code, attr, type_):
    before = _snapshot()
    response = customer_client.generic(method, RATINGS, content, content_type=content_type)
    assert_error(response, status, code, attr=attr, type_=type_ or "client_error")
    assert _snapshot() == before


@pytest.mark.parametrize("url", [CUSTOMERS, PROVIDERS])
@pytest.mark.parametrize(
    ("data", "status", "code", "attr"),
    [
        ({"password": "a-long-enough-secret", "name": "N"}, 400, "required", "email"),
        ({"email": "not-an-email", "password": "a-long-enough-secret", "name": "N"}, 400, "invalid", "email"),
        ({"email": "a@example.com", "password": "a-long-enough-secret"}, 400, "required", "name"),
        ({"email": "a@example.com", "password": "a-long-enough-secret", "name": ""}, 400, "blank", "name"),
        ({"email": "a@example.com", "password": "a-long-enough-secret", "name": "x" * 151}, 400, "max_length", "name"),
        ({"email": "a@example.com", "password": "short", "name": "N"}, 400, "min_length", "password"),
        ({"email": "a@example.com", "password": "x" * 129, "name": "N"}, 400, "max_length", "password"),
        (
            {"email": "a@example.com", "password": "48201938475612", "name": "N"},
            400,
            "password_entirely_numeric",
            "password",
        ),
        # JSON types are not coerced: a number is not a password, a string is not a name.
        ({"email": "a@example.com", "password": 48201938475612, "name": "N"}, 400, "invalid", "password"),
        ({"email": "a@example.com", "password": "a-long-enough-secret", "name": 7}, 400, "invalid", "name"),
        (
            {"email": "a@example.com", "password": "a-long-enough-secret", "name": "A\nB"},
            400,
            "control_characters",
            "name",
        ),
        ({"email": ["a@example.com"], "password": "a-long-enough-secret", "name": "N"}, 400, "invalid", "email"),
    ],
    ids=[
        "no-email",
        "bad-email",
        "no-name",
        "blank-name",
        "long-name",
        "short-pw",
        "long-pw",
        "numeric-pw",
        "number-pw",
        "number-name",
        "newline-name",
        "email-list",
    ],
)
def test_bad_registration_bodies(api_client, world, url, data, status, code, attr):
    before = _snapshot()
    response = api_client.post(url, data, format="json")
    assert_error(response, status, code, attr=attr, type_="validation_error")
    assert _snapshot() == before


@pytest.mark.parametrize("url", [CUSTOMERS, PROVIDERS])
@pytest.mark.parametrize(
    ("method", "content", "content_type", "status", "code"),
    [
        ("POST", "{oops", "application/json", 400, "parse_error"),
        ("POST", "email=a@example.com", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        ("POST", "hello", "text/plain", 415, "unsupported_media_type"),
        ("PUT", "{}", "application/json", 405, "method_not_allowed"),
    ],
    ids=["malformed-json", "form-encoded", "text-plain", "put"],
)
def test_bad_registration_requests(api_client, world, url, method, content, content_type, status, code):
    before = _snapshot()
    response = api_client.generic(method, url, content, content_type=content_type)
    assert_error(response, status, code, attr=None, type_="client_error")
    assert _snapshot() == before


def test_provider_registration_with_bad_services(api_client, world):
    before = _snapshot()
    for services, code in [("plumbing", "not_a_list"), (["not a slug!"], "invalid"), (["x"] * 51, "max_length")]:
        response = api_client.post(
            PROVIDERS,
            {"email": "a@example.com", "password": "a-long-enough-secret", "name": "N", "services": services},
            format="json",
        )
        first = assert_error(response, 400, code, type_="validation_error")
        assert first["attr"].startswith("services")
    assert _snapshot() == before
