"""The signed-in provider deletes its account: erased, no longer listed or rated, ratings and summary kept."""

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from apps.core.models import OutboxEvent
from apps.notifications.models import Delivery, Device, Notification, NotificationPreference, WebhookEndpoint
from apps.notifications.services import events_ingest
from apps.partners.services import partner_invitation_create
from apps.providers.models import Provider
from apps.ratings.models import Rating, RatingInvitation
from apps.ratings.services import invitation_create, rating_create, rating_moderate, reply_set
from apps.ratings.tests.conftest import summary_of
from conftest import auth_client
from tests.errors import assert_error
from tests.factories import (
    DEFAULT_PASSWORD,
    CustomerFactory,
    DeliveryFactory,
    NotificationFactory,
    ProviderFactory,
    ServiceCategoryFactory,
    UserFactory,
    partner_grant,
    partner_key_create,
    rating_make,
)

pytestmark = pytest.mark.django_db

ME = "/api/v1/providers/me/"


def _snapshot(provider: Provider) -> tuple:
    provider.refresh_from_db()
    user = provider.user
    user.refresh_from_db()
    return (
        provider.name,
        provider.description,
        provider.deleted_at,
        sorted(provider.services.values_list("slug", flat=True)),
        user.email,
        user.name,
        user.password,
        user.is_active,
    )


@pytest.fixture
def rated_provider():
    provider = ProviderFactory(name="Pipes Ltd", description="Plumbing", user__email="pipes@example.com")
    provider.services.add(ServiceCategoryFactory(slug="plumbing"))
    first = rating_make(customer=CustomerFactory(), provider=provider, score=2, comment="Late")
    reply_set(rating=first, body="Sorry, traffic.")
    verified_customer = CustomerFactory()
    invitation = invitation_create(customer=verified_customer, provider=provider, external_reference="JOB-1")
    rating_create(customer=verified_customer, provider=provider, score=5, invitation=invitation)
    return provider


def test_delete_erases_the_profile_and_keeps_the_ratings_and_the_exact_summary(rated_provider):
    provider, user = rated_provider, rated_provider.user
    summary_url = f"/api/v1/providers/{provider.pk}/rating-summary/"
    summary_before = APIClient().get(summary_url).json()
    assert (summary_before["count"], summary_before["average"], summary_before["verified_count"]) == (2, 3.5, 1)
    stored_before = summary_of(provider)
    session = str(RefreshToken.for_user(user))
    client = auth_client(user)

    response = client.delete(ME, {"password": DEFAULT_PASSWORD}, format="json")

    assert response.status_code == 204, response.content
    provider.refresh_from_db()
    user.refresh_from_db()
    assert (provider.name, provider.description, list(provider.services.all())) == ("Deleted provider", "", [])
    assert provider.deleted_at is not None
    assert (user.email, user.name) == (f"{user.pk.hex}@deleted.invalid", "Deleted user")
    assert (user.is_active, user.has_usable_password()) == (False, False)
    assert not OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True).exists()
    assert_error(APIClient().post("/api/v1/auth/token/refresh/", {"refresh": session}, format="json"), 401)
    assert_error(client.get(ME), 401)

    # No longer listed or shown…
    anonymous = APIClient()
    assert anonymous.get("/api/v1/providers/").json()["results"] == []
    assert_error(anonymous.get(f"/api/v1/providers/{provider.pk}/"), 404, "not_found")
    # …but its ratings and its summary are exactly what they were; its replies (its own words) go.
    assert anonymous.get(summary_url).json() == summary_before
    assert summary_of(provider) == stored_before
    ratings = anonymous.get(f"/api/v1/ratings/?provider={provider.pk}").json()["results"]
    assert sorted((r["score"], r["verified"], (r["reply"] or {}).get("body")) for r in ratings) == [
        (2, False, None),
        (5, True, None),
    ]
    (event,) = OutboxEvent.objects.filter(type="account.deleted")
    assert event.data == {"recipient_user_id": str(user.pk), "rating_ids": [], "provider_id": str(provider.pk)}


def test_the_notifications_app_drops_the_providers_data(rated_provider, send_task):
    user = rated_provider.user
    item = NotificationFactory(recipient_id=user.pk)
    DeliveryFactory(notification=item, recipient_id=user.pk, address="pipes@example.com")
    Device.objects.create(recipient_id=user.pk, token="tok-pipes", platform="ios")
    WebhookEndpoint.objects.create(recipient_id=user.pk, url="https://hooks.example.com/pipes", secret="s")
    NotificationPreference.objects.create(
        recipient_id=user.pk, event_type="rating.created", channel="email", enabled=False
    )
    someone_else = NotificationFactory()

    assert auth_client(user).delete(ME, {"password": DEFAULT_PASSWORD}, format="json").status_code == 204
    events_ingest(envelopes=[OutboxEvent.objects.get(type="account.deleted").envelope])

    for model in (Notification, Delivery, Device, WebhookEndpoint, NotificationPreference):
        assert not model.objects.filter(recipient_id=user.pk).exists(), model
    assert Notification.objects.filter(pk=someone_else.pk).exists()


def test_a_deleted_provider_cannot_be_rated_or_invited_for(rated_provider):
    provider = rated_provider
    customer = CustomerFactory()
    rated_before = CustomerFactory()
    rating = rating_make(customer=rated_before, provider=provider, score=3)
    key, secret = partner_key_create(name="Partner")
    partner_grant(key, provider)
    open_invitation = partner_invitation_create(
        partner=key.partner, customer=customer, provider=provider, external_reference="J2"
    )
    verify_invitation = partner_invitation_create(
        partner=key.partner, customer=rated_before, provider=provider, external_reference="J3"
    )
    assert auth_client(provider.user).delete(ME, {"password": DEFAULT_PASSWORD}, format="json").status_code == 204
    summary_before = summary_of(provider)
    partner = APIClient()
    partner.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    customer_client = auth_client(customer.user)

    rated = customer_client.post("/api/v1/ratings/", {"provider_id": str(provider.pk), "score": 5}, format="json")
    assert_error(rated, 400, "does_not_exist", attr="provider_id")
    invited = partner.post(
        "/api/v1/ratings/invitations/",
        {"customer_id": str(customer.pk), "provider_id": str(provider.pk), "external_reference": "J4"},
        format="json",
    )
    assert_error(invited, 400, "does_not_exist", attr="provider_id")
    # The Homerun partner API no longer knows it either.
    assert partner.get(f"/v1/service-providers/{provider.pk}").status_code == 404
    homerun = partner.post(
        "/v1/ratings", {"customerId": str(customer.pk), "serviceProviderId": str(provider.pk), "rating": 5}
    )
    assert homerun.status_code == 404
    # Open invitations for it are no longer listed, nor usable.
    assert customer_client.get("/api/v1/customers/me/invitations/").json()["results"] == []
    verified = auth_client(rated_before.user).patch(
        f"/api/v1/ratings/{rating.pk}/", {"invitation_id": str(verify_invitation.pk)}, format="json"
    )
    assert_error(verified, 400, "does_not_exist", attr="invitation_id")

    assert summary_of(provider) == summary_before
    assert Rating.objects.filter(provider=provider).count() == 3
    assert not Rating.objects.get(pk=rating.pk).verified
    assert RatingInvitation.objects.filter(pk__in=[open_invitation.pk, verify_invitation.pk], used_at=None).count() == 2
    assert RatingInvitation.objects.filter(provider=provider).count() == 3


def test_delete_with_a_wrong_or_missing_password_changes_nothing(rated_provider):
    provider = rated_provider
    before = _snapshot(provider)
    client = auth_client(provider.user)

    assert_error(client.delete(ME, {"password": "not-the-password"}, format="json"), 400, "wrong_password", attr=None)
    assert_error(client.delete(ME, {}, format="json"), 400, "required", attr="password")

    assert _snapshot(provider) == before
    assert not OutboxEvent.objects.filter(type="account.deleted").exists()
    assert client.get(ME).status_code == 200
    assert [p["id"] for p in APIClient().get("/api/v1/providers/").json()["results"]] == [str(provider.pk)]


def test_only_a_provider_has_a_me_to_delete():
    customer = CustomerFactory()

    assert_error(auth_client(customer.user).delete(ME, {"password": DEFAULT_PASSWORD}, format="json"), 403)
    customer.user.refresh_from_db()
    assert customer.user.is_active


def test_a_deleted_provider_is_told_nothing_more(rated_provider):
    provider = rated_provider
    author = CustomerFactory()
    rating = rating_make(customer=author, provider=provider, score=3)
    assert auth_client(provider.user).delete(ME, {"password": DEFAULT_PASSWORD}, format="json").status_code == 204
    published = OutboxEvent.objects.count()

    # The author edits their rating, and staff hide it: no notice to the erased provider (no
    # inbox item made again for it, no email to its placeholder address); the author still hears.
    assert (
        auth_client(author.user).patch(f"/api/v1/ratings/{rating.pk}/", {"score": 1}, format="json").status_code == 200
    )
    rating_moderate(rating=rating, to_status="hidden", reason="Spam", moderator=UserFactory(is_staff=True))

    new = list(OutboxEvent.objects.order_by("created_at")[published:])
    # The events say what changed and that the provider's account is gone; the intake's
    # handlers decide who is told.
    assert [(e.type, e.data["provider_user_active"]) for e in new] == [
        ("rating.updated", False),
        ("rating.moderated", False),
    ]
    events_ingest(envelopes=[e.envelope for e in new])
    assert not Notification.objects.filter(recipient_id=provider.user_id).exists()
    assert list(Notification.objects.filter(recipient_id=author.user_id).values_list("type", flat=True)) == [
        "rating.moderated"
    ]
