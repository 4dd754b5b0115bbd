"""Partner invitations: creating one, the customer's notice, rating and verifying with it."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.core.models import OutboxEvent
from apps.ratings.models import Rating, RatingInvitation, RatingRevision
from apps.ratings.services import rating_moderate
from apps.ratings.tests.api.invitations.support import (
    MINE_URL,
    TTL,
    invite,
    iso,
    partner_body,
    rate,
    state,
)
from apps.ratings.tests.conftest import summary_of
from tests.factories import CustomerFactory, ProviderFactory, UserFactory

pytestmark = pytest.mark.django_db


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
