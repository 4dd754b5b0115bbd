"""Tenancy: two partners, each with its own objects; every partner endpoint called with the other
partner's key on the first one's objects answers as for an id that does not exist (404 on the
Homerun paths) and changes nothing."""

import uuid

import pytest

from apps.partners.models import PartnerCustomer, PartnerFeedItem, PartnerInvitation, PartnerProvider, PartnerRating
from apps.partners.tests.conftest import own_customer, own_provider
from apps.ratings.models import Rating, RatingInvitation
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

UNKNOWN = str(uuid.uuid4())


@pytest.fixture
def world(partner, other_partner):
    """The first partner's customer, provider, rating, invitation and feed items; the other
    partner's own customer and provider."""
    a_customer, a_provider = own_customer(partner.key), own_provider(partner.key)
    rating = partner.post(
        "/v1/ratings",
        {"customerId": str(a_customer.pk), "serviceProviderId": str(a_provider.pk), "rating": 4, "comment": "Ok"},
    ).json()
    invitation = partner.post(
        "/api/v1/ratings/invitations/",
        {"customer_id": str(CustomerFactory().pk), "provider_id": str(a_provider.pk), "external_reference": "J-1"},
    ).json()
    partner.post(
        "/api/internal/notifications",
        {"serviceProviderId": str(a_provider.pk), "ratingId": UNKNOWN, "rating": 2, "customerName": "Bo"},
    )
    assert PartnerFeedItem.objects.count() == 2
    return {
        "customer": str(a_customer.pk),
        "provider": str(a_provider.pk),
        "rating": rating["id"],
        "invitation": invitation["id"],
        "b_customer": str(own_customer(other_partner.key).pk),
        "b_provider": str(own_provider(other_partner.key).pk),
    }


def snapshot() -> dict:
    return {
        "ratings": sorted(Rating.objects.values_list("pk", "score", "comment", "status")),
        "invitations": sorted(RatingInvitation.objects.values_list("pk", "revoked_at", "used_at")),
        "feed": sorted(PartnerFeedItem.objects.values_list("pk", "partner_id", "consumed_at")),
        "links": [m.objects.count() for m in (PartnerCustomer, PartnerProvider, PartnerRating, PartnerInvitation)],
    }


# (method, path, body): {x} is one of the first partner's ids, filled from the world fixture.
MATRIX = [
    ("get", "/v1/customers/{customer}", None),
    ("get", "/v1/service-providers/{provider}", None),
    ("get", "/v1/service-providers/{provider}/average-rating", None),
    ("get", "/v1/ratings/{rating}", None),
    ("post", "/v1/ratings", {"customerId": "{customer}", "serviceProviderId": "{provider}", "rating": 1}),
    ("post", "/v1/ratings", {"customerId": "{b_customer}", "serviceProviderId": "{provider}", "rating": 1}),
    ("post", "/v1/ratings", {"customerId": "{customer}", "serviceProviderId": "{b_provider}", "rating": 1}),
    ("post", "/api/v1/ratings/invitations/{invitation}/revoke/", None),
]


def _fill(value, world):
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    return value.format(**world) if isinstance(value, str) else value


@pytest.mark.parametrize(("method", "path", "body"), MATRIX, ids=[f"{m} {p}" for m, p, b in MATRIX])
def test_another_partners_object_is_404_and_nothing_changes(world, other_partner, method, path, body):
    before = snapshot()

    response = getattr(other_partner, method)(_fill(path, world), _fill(body, world), format="json")

    assert response.status_code == 404, response.json()
    unknown = dict.fromkeys(world, UNKNOWN)
    control = getattr(other_partner, method)(_fill(path, unknown), _fill(body, unknown), format="json")
    # The same answer as for an id that names nothing: no enumeration.
    assert (response.status_code, response.json()) == (control.status_code, control.json())
    assert snapshot() == before


def test_another_partners_provider_cannot_be_invited_for(world, other_partner):
    before = snapshot()
    body = {"customer_id": str(CustomerFactory().pk), "external_reference": "J-2"}

    theirs = other_partner.post("/api/v1/ratings/invitations/", {**body, "provider_id": world["provider"]})
    unknown = other_partner.post("/api/v1/ratings/invitations/", {**body, "provider_id": UNKNOWN})

    assert theirs.status_code == 400
    assert theirs.json() == unknown.json()
    assert snapshot() == before


def test_lists_and_feeds_show_only_the_partners_own(world, partner, other_partner):
    before = snapshot()

    assert other_partner.get("/api/v1/ratings/invitations/").json()["results"] == []
    assert other_partner.get(f"/api/notifications/{world['provider']}").json() == {
        "notifications": [],
        "hasMore": False,
    }
    assert snapshot() == before
    # The first partner's own items were not consumed by the other's read.
    assert [i["id"] for i in partner.get("/api/v1/ratings/invitations/").json()["results"]] == [world["invitation"]]
    assert len(partner.get(f"/api/notifications/{world['provider']}").json()["notifications"]) == 2
