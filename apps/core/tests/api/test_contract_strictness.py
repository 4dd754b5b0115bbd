"""Input the OpenAPI document rules out is refused, and nothing the document promises is refused.

Each case here is one that schemathesis found accepted or answered off-contract; the live
fuzzing itself runs in tests/system/test_contract.py.
"""

import pytest

from apps.notifications.models import Device, WebhookEndpoint
from apps.ratings.models import Rating
from apps.ratings.services import rating_create
from tests.errors import assert_error
from tests.factories import CustomerFactory, ProviderFactory


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/api/v1/ratings/00000000-0000-0000-0000-000000000001/", "/api/v1/notifications/", "/api/v1/customers/me/"]
)
def test_an_undocumented_method_is_405_before_authentication(api_client, path):
    response = api_client.generic("TRACE", path)
    assert_error(response, 405, "method_not_allowed", attr=None)
    assert "GET" in response["Allow"]


@pytest.mark.django_db
def test_a_documented_method_still_needs_authentication(api_client):
    assert_error(api_client.get("/api/v1/notifications/"), 401, "not_authenticated", attr=None)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "attr", "code"),
    [
        ({"token": 12345, "platform": "ios"}, "token", "invalid"),
        ({"token": "abc", "platform": 1}, "platform", "invalid_choice"),
        ({"token": ["abc"], "platform": "ios"}, "token", "invalid"),
    ],
)
def test_a_body_value_of_another_json_type_is_not_coerced(customer_client, body, attr, code):
    assert_error(
        customer_client.post("/api/v1/notifications/devices/", body, format="json"),
        400,
        code,
        attr=attr,
        type_="validation_error",
    )
    assert not Device.objects.exists()


@pytest.mark.django_db
def test_list_items_of_another_json_type_are_refused_with_their_index(customer_client):
    for items, attr, code in (
        (["rating.created", 7, False], "event_types.1", "invalid"),
        ([None], "event_types.0", "null"),
    ):
        body = {"url": "https://hooks.example.com/in", "event_types": items}
        response = customer_client.post("/api/v1/notifications/webhooks/", body, format="json")
        assert_error(response, 400, code, attr=attr, type_="validation_error")
    assert [e["attr"] for e in response.json()["errors"]] == ["event_types.0"]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_a_boolean_is_a_json_boolean(customer_client):
    body = {"preferences": [{"event_type": "rating.created", "channel": "email", "enabled": "false"}]}
    response = customer_client.patch("/api/v1/notifications/preferences/", body, format="json")
    assert_error(response, 400, "invalid", attr="preferences.0.enabled", type_="validation_error")


@pytest.mark.django_db
def test_preferences_patch_without_changes_changes_nothing(provider_client):
    before = provider_client.get("/api/v1/notifications/preferences/").json()
    response = provider_client.patch("/api/v1/notifications/preferences/", {}, format="json")
    assert response.status_code == 200
    assert response.json() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "attr", "code"),
    [
        ({"provider": ""}, "provider", "invalid"),
        ({"provider": "not-a-uuid"}, "provider", "invalid"),
        ({"mine": "maybe"}, "mine", "invalid"),
        ({"page_size": "true"}, "page_size", "invalid"),
    ],
)
def test_ratings_query_parameters_are_validated_even_when_empty(api_client, query, attr, code):
    assert_error(api_client.get("/api/v1/ratings/", query), 400, code, attr=attr, type_="validation_error")


@pytest.mark.django_db
def test_an_empty_filter_value_is_refused_on_the_inbox_and_delivery_log(customer_client):
    assert_error(
        customer_client.get("/api/v1/notifications/", {"type": ""}), 400, "blank", attr="type", type_="validation_error"
    )
    assert_error(
        customer_client.get("/api/v1/notifications/deliveries/", {"status": ""}),
        400,
        "invalid_choice",
        attr="status",
        type_="validation_error",
    )


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["", "x", "0", "6"])
def test_min_average_must_be_a_number_from_1_to_5_when_given(api_client, value):
    ProviderFactory()
    response = api_client.get("/api/v1/providers/", {"min_average": value})
    error = assert_error(response, 400, attr="min_average", type_="validation_error")
    assert error["code"] in {"invalid", "min_value", "max_value"}


@pytest.mark.django_db
def test_anonymous_mine_is_the_documented_401(api_client):
    assert_error(api_client.get("/api/v1/ratings/", {"mine": "true"}), 401, "not_authenticated", attr=None)


@pytest.mark.django_db
def test_editing_someone_elses_rating_is_the_documented_403(customer_client):
    rating = rating_create(customer=CustomerFactory(), provider=ProviderFactory(), score=5, comment="")
    response = customer_client.patch(f"/api/v1/ratings/{rating.pk}/", {"score": 1}, format="json")
    assert_error(response, 403, "permission_denied", attr=None)
    assert Rating.objects.get(pk=rating.pk).score == rating.score


@pytest.mark.django_db
def test_the_documented_403_and_400_codes_are_in_the_schema(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    components = schema["components"]["schemas"]
    rating_patch = schema["paths"]["/api/v1/ratings/{rating_id}/"]["patch"]["responses"]
    assert "403" in rating_patch
    report = schema["paths"]["/api/v1/ratings/{rating_id}/reports/"]["post"]["responses"]["403"]
    ref = report["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    error = components[ref]["properties"]["errors"]["items"]["$ref"].rsplit("/", 1)[1]
    assert set(components[error]["properties"]["code"]["enum"]) == {"cannot_report_own_rating", "permission_denied"}
    create_400 = components["RatingsCreateErrorResponse400"]["discriminator"]["mapping"]["client_error"]
    client_error = components[create_400.rsplit("/", 1)[1]]
    item = components[client_error["properties"]["errors"]["items"]["$ref"].rsplit("/", 1)[1]]
    assert "invalid_idempotency_key" in item["properties"]["code"]["enum"]
