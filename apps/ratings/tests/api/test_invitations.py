from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.core.models import OutboxEvent
from apps.ratings.models import Rating, RatingInvitation, RatingRevision
from apps.ratings.services import rating_moderate
from apps.ratings.tests.conftest import summary_of
from conftest import auth_client
from tests.factories import CustomerFactory, ProviderFactory, UserFactory, partner_grant, partner_key_create

pytestmark = pytest.mark.django_db

URL = "/api/v1/ratings/invitations/"
MINE_URL = "/api/v1/customers/me/invitations/"
TTL = 3600


@pytest.fixture(autouse=True)
def _ttl(settings):
    settings.RATING_INVITATION_TTL = TTL
    settings.RATING_INVITATION_URL = "https://app.example.com/rate?invitation={invitation_id}&provider={provider_id}"


def key_client(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return client


@pytest.fixture
def partner():
    key, secret = partner_key_create()
    client = key_client(secret)
    client.key = key
    return client


@pytest.fixture
def other_partner():
    key, secret = partner_key_create(name="Other partner")
    client = key_client(secret)
    client.key = key
    return client


def iso(value) -> str:
    return value.isoformat().replace("+00:00", "Z")


def invite(partner, customer, provider, reference="JOB-1"):
    partner_grant(partner.key, provider)
    return partner.post(
        URL, {"customer_id": str(customer.pk), "provider_id": str(provider.pk), "external_reference": reference}
    )


def partner_body(invitation: RatingInvitation, status: str) -> dict:
    invitation.refresh_from_db()
    return {
        "id": str(invitation.pk),
        "customer_id": str(invitation.customer_id),
        "provider_id": str(invitation.provider_id),
        "external_reference": invitation.external_reference,
        "status": status,
        "created_at": iso(invitation.created_at),
        "expires_at": iso(invitation.expires_at),
        "used_at": iso(invitation.used_at) if invitation.used_at else None,
        "revoked_at": iso(invitation.revoked_at) if invitation.revoked_at else None,
    }


def rate(client, provider, invitation_id, score=5, **extra):
    body = {"provider_id": str(provider.pk), "score": score, "invitation_id": str(invitation_id), **extra}
    return client.post("/api/v1/ratings/", body)


def state(provider) -> dict:
    """Everything a refused invitation use must leave as it was."""
    return {
        "ratings": list(Rating.objects.values_list("pk", "score", "comment", "verified", "invitation_id")),
        "invitations": list(RatingInvitation.objects.values_list("pk", "used_at", "revoked_at")),
        "summary": summary_of(provider),
        "outbox": OutboxEvent.objects.count(),
    }


# --- Creating, and the customer's notice ----------------------------------------------------


def test_invitation_expires_after_the_ttl_and_notifies_the_customer(partner, customer, provider):
    before = timezone.now()
    response = invite(partner, customer, provider)
    after = timezone.now()

    assert response.status_code == 201
    invitation = RatingInvitation.objects.get()
    assert response.json() == partner_body(invitation, "open")
    assert invitation.partner_link.partner == partner.key.partner
    assert before + timedelta(seconds=TTL) <= invitation.expires_at <= after + timedelta(seconds=TTL)
    event = OutboxEvent.objects.get(type="rating.invited")
    assert event.data == {
        "invitation_id": str(invitation.pk),
        "provider_id": str(provider.pk),
        "provider_name": provider.name,
        "provider_user_id": str(provider.user_id),
        "customer_id": str(customer.pk),
        "customer_user_id": str(customer.user_id),
        "customer_name": customer.user.name,
        "customer_email": customer.user.email,
        "expires_at": invitation.expires_at.isoformat(),
        "url": f"https://app.example.com/rate?invitation={invitation.pk}&provider={provider.pk}",
        "occurred_at": event.data["occurred_at"],
    }


def test_a_refused_invitation_notifies_nobody(partner, customer, provider):
    invite(partner, customer, provider)
    outbox_before = OutboxEvent.objects.count()

    response = invite(partner, CustomerFactory(), provider)  # the same reference for this provider

    assert response.status_code == 409
    assert response.json() == {
        "type": "client_error",
        "errors": [
            {
                "code": "already_invited",
                "detail": "An invitation with this external reference already exists for this provider.",
                "attr": None,
            }
        ],
    }
    assert RatingInvitation.objects.count() == 1
    assert OutboxEvent.objects.count() == outbox_before


# --- Rating with an invitation ------------------------------------------------------------------


def test_invitation_then_verified_rating(partner, customer, provider, customer_client, events):
    invitation_id = invite(partner, customer, provider).json()["id"]

    rated = rate(customer_client, provider, invitation_id)

    assert rated.status_code == 201
    assert rated.json()["verified"] is True
    invitation = RatingInvitation.objects.get()
    assert Rating.objects.get().invitation == invitation
    assert invitation.used_at is not None
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

    rated = rate(customer_client, provider, invitation_id, score=2, comment="call 0123 456 789")

    assert rated.json()["status"] == "pending_review"
    assert summary_of(provider)["verified_count"] == 0
    rating_moderate(rating=Rating.objects.get(), to_status="published", moderator=UserFactory(is_staff=True))
    assert summary_of(provider) == {"count": 1, "sum": 2, "stars": [0, 1, 0, 0, 0], "verified_count": 1}


def test_invitation_of_someone_else_is_not_found(partner, customer, provider, customer_client):
    other_customer_invitation = invite(partner, CustomerFactory(), provider, "JOB-2").json()["id"]
    other_provider_invitation = invite(partner, customer, ProviderFactory(), "JOB-3").json()["id"]
    before = state(provider)

    for invitation_id in (other_customer_invitation, other_provider_invitation):
        response = rate(customer_client, provider, invitation_id)
        assert response.status_code == 400
        assert response.json() == {
            "type": "validation_error",
            "errors": [{"code": "does_not_exist", "detail": "Invitation not found.", "attr": "invitation_id"}],
        }
    assert state(provider) == before


def test_a_used_invitation_cannot_verify_again(partner, customer, provider, customer_client):
    invitation_id = invite(partner, customer, provider).json()["id"]
    assert rate(customer_client, provider, invitation_id).status_code == 201
    before = state(provider)

    again = rate(customer_client, provider, invitation_id)

    assert again.status_code == 409
    assert again.json() == {
        "type": "client_error",
        "errors": [
            {"code": "invitation_used", "detail": "This invitation has already verified a rating.", "attr": None}
        ],
    }
    assert state(provider) == before


@pytest.mark.parametrize(
    ("spoil", "code", "detail"),
    [
        (
            {"created_at": timezone.now() - timedelta(seconds=TTL + 1)},
            "invitation_expired",
            "This invitation has expired.",
        ),
        (
            {"revoked_at": timezone.now()},
            "invitation_revoked",
            "This invitation was revoked by the partner that made it.",
        ),
    ],
    ids=["expired", "revoked"],
)
def test_an_expired_or_revoked_invitation_cannot_be_used(
    partner, customer, provider, customer_client, spoil, code, detail
):
    invitation_id = invite(partner, customer, provider).json()["id"]
    RatingInvitation.objects.filter(pk=invitation_id).update(**spoil)
    before = state(provider)

    response = rate(customer_client, provider, invitation_id)

    assert response.status_code == 400
    assert response.json() == {"type": "client_error", "errors": [{"code": code, "detail": detail, "attr": None}]}
    assert state(provider) == before
    assert not Rating.objects.exists()


# --- Verifying an existing rating ---------------------------------------------------------


def test_an_invitation_verifies_the_rating_the_customer_already_made(
    partner, customer, provider, customer_client, events
):
    rating_id = customer_client.post("/api/v1/ratings/", {"provider_id": str(provider.pk), "score": 2}).json()["id"]
    assert summary_of(provider) == {"count": 1, "sum": 2, "stars": [0, 1, 0, 0, 0], "verified_count": 0}
    invitation_id = invite(partner, customer, provider).json()["id"]
    outbox_before = OutboxEvent.objects.count()

    response = customer_client.patch(
        f"/api/v1/ratings/{rating_id}/", {"invitation_id": invitation_id, "score": 4, "comment": "Better now"}
    )

    assert response.status_code == 200
    rating = Rating.objects.get()
    assert response.json() == {
        "id": rating_id,
        "provider_id": str(provider.pk),
        "customer": {"id": str(customer.pk), "name": customer.user.name},
        "score": 4,
        "comment": "Better now",
        "status": "published",
        "verified": True,
        "reply": None,
        "helpful_count": 0,
        "edited": True,
        "edited_at": iso(rating.edited_at),
        "created_at": iso(rating.created_at),
        "updated_at": iso(rating.updated_at),
    }
    assert str(rating.invitation_id) == invitation_id
    assert RatingInvitation.objects.get().used_at is not None
    # The author's change made with the invitation is kept in the history like any edit.
    assert list(RatingRevision.objects.values_list("kind", "score", "comment", "changed_by")) == [
        ("edit", 2, "", customer.user_id)
    ]
    assert summary_of(provider) == {"count": 1, "sum": 4, "stars": [0, 0, 0, 1, 0], "verified_count": 1}
    name, event = events[-1]
    assert (name, event["previous_score"], event["score"], event["previous_verified"], event["verified"]) == (
        "rating_updated",
        2,
        4,
        False,
        True,
    )
    published = OutboxEvent.objects.order_by("created_at")[outbox_before:]
    assert [(e.type, e.data["previous_score"], e.data["score"], e.data["verified"]) for e in published] == [
        ("rating.updated", 2, 4, True)
    ]


def test_an_invitation_verifies_a_rating_whose_edit_window_has_closed(
    settings, partner, customer, provider, customer_client
):
    settings.RATING_EDIT_WINDOW = timedelta(days=30)
    rating_id = customer_client.post("/api/v1/ratings/", {"provider_id": str(provider.pk), "score": 2}).json()["id"]
    Rating.objects.filter(pk=rating_id).update(created_at=timezone.now() - timedelta(days=31))
    invitation_id = invite(partner, customer, provider).json()["id"]
    # An ordinary edit is refused now...
    assert customer_client.patch(f"/api/v1/ratings/{rating_id}/", {"score": 3}).status_code == 403

    # ...but the invitation (a later job) verifies the rating, with the change that comes with it.
    response = customer_client.patch(f"/api/v1/ratings/{rating_id}/", {"invitation_id": invitation_id, "score": 5})

    assert response.status_code == 200
    assert (response.json()["score"], response.json()["verified"], response.json()["edited"]) == (5, True, True)
    stored = Rating.objects.get(pk=rating_id)
    assert (stored.score, stored.verified, str(stored.invitation_id)) == (5, True, invitation_id)
    assert summary_of(provider) == {"count": 1, "sum": 5, "stars": [0, 0, 0, 0, 1], "verified_count": 1}
    assert list(RatingRevision.objects.values_list("kind", "score")) == [("edit", 2)]


def test_a_second_invitation_keeps_verified_count_exact_and_the_first_one_used(
    partner, customer, provider, customer_client
):
    first = invite(partner, customer, provider, "JOB-1").json()["id"]
    rating_id = rate(customer_client, provider, first, score=3).json()["id"]
    second = invite(partner, customer, provider, "JOB-2").json()["id"]

    response = customer_client.patch(f"/api/v1/ratings/{rating_id}/", {"invitation_id": second})

    assert response.status_code == 200
    assert response.json()["verified"] is True
    assert summary_of(provider) == {"count": 1, "sum": 3, "stars": [0, 0, 1, 0, 0], "verified_count": 1}
    assert str(Rating.objects.get().invitation_id) == second
    # The first invitation stays used: neither listed as open again nor reusable.
    assert RatingInvitation.objects.filter(used_at__isnull=False).count() == 2
    assert customer_client.get(MINE_URL).json()["results"] == []
    reused = customer_client.patch(f"/api/v1/ratings/{rating_id}/", {"invitation_id": first})
    assert reused.status_code == 409
    assert reused.json()["errors"][0]["code"] == "invitation_used"


def test_verifying_only_a_verification_announces_it_to_the_provider(partner, customer, provider, customer_client):
    rating_id = customer_client.post("/api/v1/ratings/", {"provider_id": str(provider.pk), "score": 5}).json()["id"]
    invitation_id = invite(partner, customer, provider).json()["id"]
    outbox_before = OutboxEvent.objects.count()

    assert customer_client.patch(f"/api/v1/ratings/{rating_id}/", {"invitation_id": invitation_id}).status_code == 200

    (event,) = OutboxEvent.objects.order_by("created_at")[outbox_before:]
    assert (event.type, event.data["previous_score"], event.data["previous_verified"], event.data["verified"]) == (
        "rating.updated",
        5,
        False,
        True,
    )
    assert summary_of(provider) == {"count": 1, "sum": 5, "stars": [0, 0, 0, 0, 1], "verified_count": 1}


@pytest.mark.parametrize(
    ("spoil", "status", "code"),
    [
        ({"created_at": timezone.now() - timedelta(seconds=TTL + 1)}, 400, "invitation_expired"),
        ({"revoked_at": timezone.now()}, 400, "invitation_revoked"),
        ({"used_at": timezone.now()}, 409, "invitation_used"),
    ],
    ids=["expired", "revoked", "used"],
)
def test_updating_with_an_unusable_invitation_changes_nothing(
    partner, customer, provider, customer_client, spoil, status, code
):
    rating_id = customer_client.post("/api/v1/ratings/", {"provider_id": str(provider.pk), "score": 2}).json()["id"]
    invitation_id = invite(partner, customer, provider).json()["id"]
    RatingInvitation.objects.filter(pk=invitation_id).update(**spoil)
    before = state(provider)

    response = customer_client.patch(f"/api/v1/ratings/{rating_id}/", {"invitation_id": invitation_id, "score": 5})

    assert response.status_code == status
    assert response.json()["errors"] == [{"code": code, "detail": response.json()["errors"][0]["detail"], "attr": None}]
    assert state(provider) == before


def test_updating_with_an_invitation_for_another_provider_is_not_found(partner, customer, provider, customer_client):
    rating_id = customer_client.post("/api/v1/ratings/", {"provider_id": str(provider.pk), "score": 2}).json()["id"]
    invitation_id = invite(partner, customer, ProviderFactory()).json()["id"]
    before = state(provider)

    response = customer_client.patch(f"/api/v1/ratings/{rating_id}/", {"invitation_id": invitation_id})

    assert response.status_code == 400
    assert response.json() == {
        "type": "validation_error",
        "errors": [{"code": "does_not_exist", "detail": "Invitation not found.", "attr": "invitation_id"}],
    }
    assert state(provider) == before


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
