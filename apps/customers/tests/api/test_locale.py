"""The language of a user's notices: set at sign-up from Accept-Language, changed on the profile,
published to the notifications app (``account.locale_set``) in the change's transaction."""

import pytest

from apps.accounts.models import User
from apps.core.models import OutboxEvent
from tests.errors import assert_error

STRONG = "a-long-enough-secret"


def _locale_events() -> list[dict]:
    return [
        {"data": e.data, "version": e.version}
        for e in OutboxEvent.objects.filter(type="account.locale_set").order_by("occurred_at")
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("de-AT,de;q=0.9,en;q=0.8", "de"),
        ("fr-FR,fr;q=0.9,de;q=0.5", "de"),  # French is not offered: the next choice
        ("en-GB,de;q=0.9", "en"),
        ("fr", "en"),
        ("", "en"),
        ("de;q=x,,", "en"),  # malformed: English, never an error
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/customers/", "/api/v1/providers/"])
def test_sign_up_takes_the_language_from_accept_language(api_client, path, header, locale):
    response = api_client.post(
        path,
        {"email": "ann@example.com", "password": STRONG, "name": "Ann"},
        format="json",
        HTTP_ACCEPT_LANGUAGE=header,
    )
    assert response.status_code == 201
    assert response.json()["locale"] == locale
    user = User.objects.get()
    assert user.locale == locale
    (event,) = _locale_events()
    assert event["data"] == {"recipient_user_id": str(user.pk), "locale": locale}
    assert event["version"] == 1


@pytest.mark.django_db
def test_a_customer_changes_the_language_of_their_notices(customer, customer_client):
    response = customer_client.patch("/api/v1/customers/me/", {"locale": "de"}, format="json")
    assert response.status_code == 200
    assert response.json()["locale"] == "de"
    customer.user.refresh_from_db()
    assert customer.user.locale == "de"
    assert [e["data"] for e in _locale_events()] == [{"recipient_user_id": str(customer.user_id), "locale": "de"}]
    # The same language again is no change: nothing more is published.
    assert customer_client.patch("/api/v1/customers/me/", {"locale": "de"}, format="json").status_code == 200
    assert len(_locale_events()) == 1


@pytest.mark.django_db
def test_a_provider_changes_the_language_of_their_notices_and_profile_at_once(provider, provider_client):
    response = provider_client.patch(
        "/api/v1/providers/me/", {"locale": "de", "description": "Rohre und Fliesen."}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["locale"], body["description"]) == ("de", "Rohre und Fliesen.")
    assert provider_client.get("/api/v1/providers/me/").json()["locale"] == "de"
    assert [e["data"] for e in _locale_events()] == [{"recipient_user_id": str(provider.user_id), "locale": "de"}]


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["fr", "DE", "", None, 7, ["de"]])
@pytest.mark.parametrize("path", ["/api/v1/customers/me/", "/api/v1/providers/me/"])
def test_a_language_not_offered_is_400_and_changes_nothing(customer_client, provider_client, path, value):
    client = customer_client if "customers" in path else provider_client
    response = client.patch(path, {"locale": value, "name": "Renamed"}, format="json")
    error = assert_error(response, 400, attr="locale", type_="validation_error")
    assert error["code"] in {"invalid_choice", "null"}
    assert not User.objects.filter(name="Renamed").exists()
    assert not User.objects.exclude(locale="en").exists()
    assert _locale_events() == []
