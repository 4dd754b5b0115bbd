import pytest
from rest_framework.test import APIClient

from apps.ratings.models import Rating, RatingInvitation
from apps.ratings.services import rating_moderate
from apps.ratings.tests.conftest import summary_of
from conftest import auth_client
from tests.factories import CustomerFactory, ProviderFactory, UserFactory, partner_key_create

pytestmark = pytest.mark.django_db

URL = "/api/v1/ratings/invitations/"


@pytest.fixture
def partner():
    key, secret = partner_key_create()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    client.key = key
    return client


def invite(partner, customer, provider, reference="JOB-1"):
    return partner.post(
        URL, {"customer_id": str(customer.pk), "provider_id": str(provider.pk), "external_reference": reference}
    )


def test_invitation_then_verified_rating(partner, customer, provider, customer_client, events):
    response = invite(partner, customer, provider)

    assert response.status_code == 201
    invitation = RatingInvitation.objects.get()
    assert response.json() == {
        "id": str(invitation.pk),
        "customer_id": str(customer.pk),
        "provider_id": str(provider.pk),
        "external_reference": "JOB-1",
        "created_at": response.json()["created_at"],
    }
    assert invitation.partner_key == partner.key

    rated = customer_client.post(
        "/api/v1/ratings/", {"provider_id": str(provider.pk), "score": 5, "invitation_id": str(invitation.pk)}
    )

    assert rated.status_code == 201
    assert rated.json()["verified"] is True
    assert Rating.objects.get().invitation == invitation
    assert summary_of(provider) == {"count": 1, "sum": 5, "stars": [0, 0, 0, 0, 1], "verified_count": 1}
    assert events[-1][0] == "rating_created"
    assert events[-1][1]["verified"] is True
    summary = APIClient().get(f"/api/v1/providers/{provider.pk}/rating-summary/").json()
    assert summary["verified_count"] == 1

    # Hiding and publishing a verified rating keeps verified_count exact.
    moderator = UserFactory(is_staff=True)
    rating = Rating.objects.get()
    rating_moderate(rating=rating, to_status="hidden", reason="Check", moderator=moderator)
    assert summary_of(provider) == {"count": 0, "sum": 0, "stars": [0, 0, 0, 0, 0], "verified_count": 0}
    rating_moderate(rating=rating, to_status="published", moderator=moderator)
    assert summary_of(provider) == {"count": 1, "sum": 5, "stars": [0, 0, 0, 0, 1], "verified_count": 1}


def test_held_verified_rating_counts_only_once_published(partner, customer, provider, customer_client):
    invitation_id = invite(partner, customer, provider).json()["id"]

    rated = customer_client.post(
        "/api/v1/ratings/",
        {"provider_id": str(provider.pk), "score": 2, "comment": "call 0123 456 789", "invitation_id": invitation_id},
    )

    assert rated.json()["status"] == "pending_review"
    assert summary_of(provider)["verified_count"] == 0
    rating_moderate(rating=Rating.objects.get(), to_status="published", moderator=UserFactory(is_staff=True))
    assert summary_of(provider) == {"count": 1, "sum": 2, "stars": [0, 1, 0, 0, 0], "verified_count": 1}


def test_invitation_of_someone_else_is_not_found(partner, customer, provider, customer_client):
    other_customer_invitation = invite(partner, CustomerFactory(), provider, "JOB-2").json()["id"]
    other_provider_invitation = invite(partner, customer, ProviderFactory(), "JOB-3").json()["id"]

    for invitation_id in (other_customer_invitation, other_provider_invitation):
        response = customer_client.post(
            "/api/v1/ratings/", {"provider_id": str(provider.pk), "score": 5, "invitation_id": invitation_id}
        )
        assert response.status_code == 400
        assert response.json()["errors"][0]["attr"] == "invitation_id"
    assert not Rating.objects.exists()


def test_one_rating_per_invitation(partner, customer, provider, customer_client):
    invitation_id = invite(partner, customer, provider).json()["id"]
    body = {"provider_id": str(provider.pk), "score": 5, "invitation_id": invitation_id}
    assert customer_client.post("/api/v1/ratings/", body).status_code == 201

    again = customer_client.post("/api/v1/ratings/", body)

    assert again.status_code == 409
    assert again.json()["errors"][0]["code"] == "already_rated"
    assert summary_of(provider)["verified_count"] == 1


def test_duplicate_reference_is_409(partner, customer, provider):
    invite(partner, customer, provider)

    response = invite(partner, customer, provider)

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "already_invited"


def test_only_a_valid_partner_key_may_invite(customer, provider, staff_client, api_client):
    key, secret = partner_key_create()
    body = {"customer_id": str(customer.pk), "provider_id": str(provider.pk), "external_reference": "X"}
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Api-Key nope.nope")
    revoked = APIClient()
    revoked.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    key.revoked = True
    key.save()

    assert api_client.post(URL, body).status_code == 401
    assert bad.post(URL, body).status_code == 401
    assert revoked.post(URL, body).status_code == 401
    assert staff_client.post(URL, body).status_code == 401
    assert auth_client(customer.user).post(URL, body).status_code == 401
    assert not RatingInvitation.objects.exists()


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
    assert response.json()["errors"][0]["attr"] == "customer_id"
