"""Partner invitations: the customer's and the partner's lists, revoking, who may call."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.models import OutboxEvent
from apps.ratings.models import Rating, RatingInvitation
from apps.ratings.tests.api.invitations.support import (
    MINE_URL,
    TTL,
    URL,
    invite,
    iso,
    key_client,
    partner_body,
    rate,
    state,
)
from conftest import auth_client
from tests.factories import CustomerFactory, ProviderFactory, partner_key_create

pytestmark = pytest.mark.django_db


# --- The customer's open invitations ------------------------------------------------------


def test_the_ttl_applies_to_invitations_already_made(partner, customer, provider, customer_client, settings):
    invitation_id = invite(partner, customer, provider).json()["id"]
    RatingInvitation.objects.filter(pk=invitation_id).update(created_at=timezone.now() - timedelta(seconds=600))
    assert [i["id"] for i in customer_client.get(MINE_URL).json()["results"]] == [invitation_id]

    settings.RATING_INVITATION_TTL = 599

    assert customer_client.get(MINE_URL).json()["results"] == []
    assert partner.get(URL).json()["results"][0]["status"] == "expired"
    refused = rate(customer_client, provider, invitation_id)
    assert (refused.status_code, refused.json()["errors"][0]["code"]) == (400, "invitation_expired")
    assert not Rating.objects.exists()


def test_the_customer_lists_only_their_open_invitations(partner, customer, provider, customer_client):
    rated_provider = ProviderFactory()
    customer_client.post("/api/v1/ratings/", {"provider_id": str(rated_provider.pk), "score": 3})
    open_new = RatingInvitation.objects.get(pk=invite(partner, customer, provider, "A").json()["id"])
    open_rated = RatingInvitation.objects.get(pk=invite(partner, customer, rated_provider, "B").json()["id"])
    expired = invite(partner, customer, ProviderFactory(), "C").json()["id"]
    RatingInvitation.objects.filter(pk=expired).update(created_at=timezone.now() - timedelta(seconds=TTL + 1))
    revoked = invite(partner, customer, ProviderFactory(), "D").json()["id"]
    partner.post(f"{URL}{revoked}/revoke/")
    used_provider = ProviderFactory()
    rate(customer_client, used_provider, invite(partner, customer, used_provider, "E").json()["id"])
    invite(partner, CustomerFactory(), provider, "F")  # someone else's

    response = customer_client.get(MINE_URL)

    assert response.status_code == 200
    rating = Rating.objects.get(provider=rated_provider)
    assert response.json() == {
        "next": None,
        "previous": None,
        "results": [
            {
                "id": str(open_rated.pk),
                "provider": {"id": str(rated_provider.pk), "name": rated_provider.name},
                "external_reference": "B",
                "created_at": iso(open_rated.created_at),
                "expires_at": iso(open_rated.expires_at),
                "rating_id": str(rating.pk),
            },
            {
                "id": str(open_new.pk),
                "provider": {"id": str(provider.pk), "name": provider.name},
                "external_reference": "A",
                "created_at": iso(open_new.created_at),
                "expires_at": iso(open_new.expires_at),
                "rating_id": None,
            },
        ],
    }


def test_the_customer_list_costs_a_fixed_number_of_queries(
    partner, customer, customer_client, django_assert_max_num_queries
):
    for n in range(5):
        invite(partner, customer, ProviderFactory(), f"J{n}")

    with django_assert_max_num_queries(4):
        response = customer_client.get(MINE_URL)

    assert len(response.json()["results"]) == 5


# --- The partner's invitations --------------------------------------------------------------


def test_a_partner_lists_its_own_invitations_in_every_state(partner, other_partner, customer, provider):
    used = invite(partner, customer, provider, "USED").json()["id"]
    rate(auth_client(customer.user), provider, used)
    revoked = invite(partner, customer, ProviderFactory(), "REVOKED").json()["id"]
    partner.post(f"{URL}{revoked}/revoke/")
    expired = invite(partner, customer, ProviderFactory(), "EXPIRED").json()["id"]
    RatingInvitation.objects.filter(pk=expired).update(created_at=timezone.now() - timedelta(seconds=TTL + 1))
    open_ = invite(partner, customer, ProviderFactory(), "OPEN").json()["id"]
    invite(other_partner, customer, provider, "THEIRS")

    first = partner.get(URL, {"page_size": 3})
    second = partner.get(first.json()["next"])

    assert first.status_code == 200
    results = first.json()["results"] + second.json()["results"]
    assert results == [
        # Newest first: the expired one was made a TTL ago.
        partner_body(RatingInvitation.objects.get(pk=open_), "open"),
        partner_body(RatingInvitation.objects.get(pk=revoked), "revoked"),
        partner_body(RatingInvitation.objects.get(pk=used), "used"),
        partner_body(RatingInvitation.objects.get(pk=expired), "expired"),
    ]
    assert second.json()["next"] is None
    theirs = other_partner.get(URL).json()["results"]
    assert [item["external_reference"] for item in theirs] == ["THEIRS"]


def test_the_partner_list_costs_a_fixed_number_of_queries(partner, django_assert_max_num_queries):
    for n in range(5):
        invite(partner, CustomerFactory(), ProviderFactory(), f"J{n}")

    with django_assert_max_num_queries(3):
        response = partner.get(URL)

    assert len(response.json()["results"]) == 5


def test_revoking_is_idempotent_and_closes_the_invitation(partner, customer, provider, customer_client):
    invitation_id = invite(partner, customer, provider).json()["id"]

    first = partner.post(f"{URL}{invitation_id}/revoke/")
    again = partner.post(f"{URL}{invitation_id}/revoke/")

    invitation = RatingInvitation.objects.get()
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json() == partner_body(invitation, "revoked")
    assert customer_client.get(MINE_URL).json()["results"] == []


def test_a_used_invitation_cannot_be_revoked(partner, customer, provider, customer_client):
    invitation_id = invite(partner, customer, provider).json()["id"]
    rate(customer_client, provider, invitation_id)
    before = state(provider)

    response = partner.post(f"{URL}{invitation_id}/revoke/")

    assert response.status_code == 409
    assert response.json() == {
        "type": "client_error",
        "errors": [
            {
                "code": "invitation_used",
                "detail": "This invitation has already verified a rating; it cannot be revoked.",
                "attr": None,
            }
        ],
    }
    assert state(provider) == before
    assert Rating.objects.get().verified is True


def test_another_partners_invitation_is_not_found(partner, other_partner, customer, provider):
    invitation_id = invite(partner, customer, provider).json()["id"]

    response = other_partner.post(f"{URL}{invitation_id}/revoke/")

    assert response.status_code == 404
    assert response.json() == {
        "type": "client_error",
        "errors": [{"code": "not_found", "detail": "Invitation not found.", "attr": None}],
    }
    assert RatingInvitation.objects.get().revoked_at is None


# --- Who may call ---------------------------------------------------------------------------


def test_only_a_valid_partner_key_may_invite(customer, provider, staff_client, api_client):
    key, secret = partner_key_create()
    body = {"customer_id": str(customer.pk), "provider_id": str(provider.pk), "external_reference": "X"}
    bad = key_client("nope.nope")
    revoked = key_client(secret)
    key.revoked = True
    key.save()

    for client in (api_client, bad, revoked, staff_client, auth_client(customer.user)):
        assert client.post(URL, body).status_code == 401
        assert client.get(URL).status_code == 401
    assert not RatingInvitation.objects.exists()
    assert not OutboxEvent.objects.exists()


def test_a_partner_key_does_not_open_the_customer_list(partner):
    response = partner.get(MINE_URL)

    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "not_authenticated"


def test_unknown_customer_is_a_validation_error(partner, provider):
    response = partner.post(
        URL,
        {
            "customer_id": "00000000-0000-0000-0000-000000000000",
            "provider_id": str(provider.pk),
            "external_reference": "X",
        },
    )

    assert response.status_code == 400
    assert response.json() == {
        "type": "validation_error",
        "errors": [{"code": "does_not_exist", "detail": "Customer not found.", "attr": "customer_id"}],
    }
    assert not RatingInvitation.objects.exists()
    assert not OutboxEvent.objects.exists()
