"""An address a partner registered (an account without a password) can be claimed by its owner.

Before: the owner's sign-up was 409 and their password reset silently did nothing, so the
address was theirs no more. Now both email a claim link; following it sets the password,
verifies the address, and the partner's record of the account stays the same account.
"""

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.core.models import OutboxEvent
from apps.customers.models import Customer
from tests.factories import partner_key_create

pytestmark = pytest.mark.django_db

PASSWORD = "my-own-long-password-2026"


@pytest.fixture
def partner() -> APIClient:
    _key, secret = partner_key_create()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return client


@pytest.fixture
def squatted(partner) -> dict:
    response = partner.post("/v1/customers", {"name": "X Example", "email": "x@example.com"})
    assert response.status_code == 201, response.content
    return response.json()


def _claim_links() -> list[dict]:
    return [
        e.data
        for e in OutboxEvent.objects.filter(type="account.password_reset").order_by("created_at")
        if e.data.get("purpose") == "claim"
    ]


def _claim(link: dict) -> None:
    response = APIClient().post(
        "/api/v1/auth/password/reset/confirm/",
        {"uid": link["link"]["uid"], "token": link["link"]["token"], "new_password": PASSWORD},
        format="json",
    )
    assert response.status_code == 204, response.content


@pytest.mark.parametrize("path", ["/api/v1/customers/", "/api/v1/providers/"])
def test_sign_up_with_an_unclaimed_address_sends_a_claim_link_instead_of_409(path, squatted, partner):
    response = APIClient().post(
        path, {"email": "X@Example.com", "password": "another-long-password", "name": "X"}, format="json"
    )

    assert response.status_code == 202, response.content
    assert "claim" in response.json()["detail"]
    assert User.objects.count() == 1
    (link,) = _claim_links()
    assert link["recipient_email"] == "x@example.com"

    _claim(link)

    user = User.objects.get()
    assert user.check_password(PASSWORD)
    assert user.email_verified
    token = APIClient().post("/api/v1/auth/token/", {"email": "x@example.com", "password": PASSWORD}, format="json")
    assert token.status_code == 200
    # The partner's record is the account the owner now signs in to.
    assert Customer.objects.get().user == user
    assert partner.get(f"/v1/customers/{squatted['id']}").json()["email"] == "x@example.com"
    me = APIClient()
    me.credentials(HTTP_AUTHORIZATION=f"Bearer {token.json()['access']}")
    assert me.get("/api/v1/customers/me/").json()["id"] == squatted["id"]


def test_a_password_reset_of_an_unclaimed_address_is_a_claim_link(squatted):
    response = APIClient().post("/api/v1/auth/password/reset/", {"email": "x@example.com"}, format="json")

    assert response.status_code == 202
    (link,) = _claim_links()
    _claim(link)
    assert User.objects.get().check_password(PASSWORD)


def test_a_claimed_address_is_409_again():
    client = APIClient()
    body = {"email": "y@example.com", "password": "a-long-enough-password", "name": "Y"}
    assert client.post("/api/v1/customers/", body, format="json").status_code == 201

    again = client.post("/api/v1/customers/", body, format="json")

    assert again.status_code == 409
    assert _claim_links() == []
