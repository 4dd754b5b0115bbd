"""The signed-in customer updates their profile and deletes their account."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from apps.accounts.models import User
from apps.accounts.tests.api.test_self_service import deliver_account_emails, link_values
from apps.core.models import OutboxEvent
from apps.notifications.models import Delivery, Device, Notification, NotificationPreference, WebhookEndpoint
from apps.notifications.services import events_ingest
from apps.ratings.models import RatingInvitation
from conftest import auth_client
from tests.errors import assert_error
from tests.factories import (
    DEFAULT_PASSWORD,
    CustomerFactory,
    DeliveryFactory,
    NotificationFactory,
    ProviderFactory,
    partner_key_create,
    rating_make,
)

pytestmark = pytest.mark.django_db

ME = "/api/v1/customers/me/"


def _snapshot(user: User) -> tuple:
    user.refresh_from_db()
    return (user.email, user.name, user.password, user.is_active, user.email_verified_at)


# --- Profile update -------------------------------------------------------------------------


def test_patch_changes_the_name_only():
    customer = CustomerFactory(user__name="Ann", user__email="ann@example.com", user__email_verified_at=timezone.now())
    response = auth_client(customer.user).patch(ME, {"name": "Ann B."}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["name"], body["email"], body["email_verified"]) == ("Ann B.", "ann@example.com", True)
    customer.user.refresh_from_db()
    assert customer.user.name == "Ann B."
    assert not OutboxEvent.objects.exists()


def test_patch_email_with_the_password_unverifies_it_and_sends_a_verification_email_to_the_new_address():
    customer = CustomerFactory(user__email="ann@example.com", user__email_verified_at=timezone.now())
    client = auth_client(customer.user)
    response = client.patch(ME, {"email": "Ann.New@Example.com", "password": DEFAULT_PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["email"], body["email_verified"], body["email_verified_at"]) == ("ann.new@example.com", False, None)
    (message,) = deliver_account_emails()
    assert message.to == ["ann.new@example.com"]
    assert APIClient().post("/api/v1/auth/email/verify/", link_values(message), format="json").status_code == 200
    assert client.get(ME).json()["email_verified"] is True


def test_patch_email_without_or_with_a_wrong_password_changes_nothing():
    customer = CustomerFactory(user__email="ann@example.com", user__email_verified_at=timezone.now())
    before = _snapshot(customer.user)
    client = auth_client(customer.user)
    for body in ({"email": "new@example.com"}, {"email": "new@example.com", "password": "not-the-password"}):
        assert_error(client.patch(ME, {**body, "name": "Changed"}, format="json"), 400, "wrong_password", attr=None)
    assert _snapshot(customer.user) == before
    assert not OutboxEvent.objects.exists()


def test_patch_email_taken_in_any_case_is_409_and_changes_nothing():
    CustomerFactory(user__email="taken@example.com")
    customer = CustomerFactory(user__email="ann@example.com")
    before = _snapshot(customer.user)
    response = auth_client(customer.user).patch(
        ME, {"email": "TAKEN@example.com", "password": DEFAULT_PASSWORD}, format="json"
    )
    assert response.json() == {
        "type": "client_error",
        "errors": [{"code": "already_exists", "detail": "A user with this email already exists.", "attr": None}],
    }
    assert response.status_code == 409
    assert _snapshot(customer.user) == before


def test_patch_refuses_a_multi_line_name():
    customer = CustomerFactory(user__name="Ann")
    assert_error(auth_client(customer.user).patch(ME, {"name": "Ann\nB"}, format="json"), 400, attr="name")
    customer.user.refresh_from_db()
    assert customer.user.name == "Ann"


# --- Account deletion -----------------------------------------------------------------------


def test_delete_erases_personal_data_keeps_the_ratings_counted_and_drops_the_notification_data():
    provider = ProviderFactory()
    customer = CustomerFactory(user__name="Ann Example", user__email="ann@example.com")
    user = customer.user
    rating_make(customer=customer, provider=provider, score=2, comment="Late")
    rating_make(customer=CustomerFactory(), provider=provider, score=5)
    summary_url = f"/api/v1/providers/{provider.pk}/rating-summary/"
    summary_before = APIClient().get(summary_url).json()
    assert (summary_before["count"], summary_before["average"]) == (2, 3.5)

    sessions = [str(RefreshToken.for_user(user)) for _ in range(2)]
    item = NotificationFactory(recipient_id=user.pk)
    DeliveryFactory(notification=item, recipient_id=user.pk, address="ann@example.com")
    Device.objects.create(recipient_id=user.pk, token="tok-ann", platform="ios")
    WebhookEndpoint.objects.create(recipient_id=user.pk, url="https://hooks.example.com/ann", secret="s")
    NotificationPreference.objects.create(
        recipient_id=user.pk, event_type="rating.replied", channel="email", enabled=False
    )
    others = NotificationFactory(recipient_id=provider.user.pk)

    client = auth_client(user)
    response = client.delete(ME, {"password": DEFAULT_PASSWORD}, format="json")
    assert response.status_code == 204, response.content

    user.refresh_from_db()
    assert user.email == f"{user.pk.hex}@deleted.invalid"
    assert user.name == "Deleted user"
    assert (user.is_active, user.has_usable_password(), user.email_verified_at) == (False, False, None)
    assert not OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True).exists()
    anonymous = APIClient()
    for old in sessions:
        assert_error(anonymous.post("/api/v1/auth/token/refresh/", {"refresh": old}, format="json"), 401)
    assert_error(client.get(ME), 401)
    assert_error(anonymous.post("/api/v1/auth/token/", {"email": "ann@example.com", "password": DEFAULT_PASSWORD}), 401)

    # The summary is exactly what it was; the rating shows a deleted author.
    assert APIClient().get(summary_url).json() == summary_before
    ratings = APIClient().get(f"/api/v1/ratings/?provider={provider.pk}").json()["results"]
    by_score = {r["score"]: r["customer"] for r in ratings}
    assert by_score[2] == {"id": str(customer.pk), "name": "Deleted user"}
    assert by_score[5]["name"] != "Deleted user"

    # The notifications app drops the account's data when it gets the event.
    (event,) = OutboxEvent.objects.filter(type="account.deleted")
    rating_id = str(customer.ratings.get().pk)
    assert event.data == {"recipient_user_id": str(user.pk), "rating_ids": [rating_id], "provider_id": None}
    events_ingest(envelopes=[event.envelope])
    for model in (Notification, Delivery, Device, WebhookEndpoint, NotificationPreference):
        assert not model.objects.filter(recipient_id=user.pk).exists(), model
    assert Notification.objects.filter(pk=others.pk).exists()
    # The address is free again.
    assert (
        APIClient()
        .post("/api/v1/customers/", {"email": "ann@example.com", "password": "a-long-enough-secret", "name": "Ann"})
        .status_code
        == 201
    )


def test_delete_with_a_wrong_or_missing_password_changes_nothing():
    customer = CustomerFactory()
    session = RefreshToken.for_user(customer.user)
    before = _snapshot(customer.user)
    client = auth_client(customer.user)
    assert_error(client.delete(ME, {"password": "not-the-password"}, format="json"), 400, "wrong_password", attr=None)
    assert_error(client.delete(ME, {}, format="json"), 400, "required", attr="password")
    assert _snapshot(customer.user) == before
    assert not OutstandingToken.objects.filter(jti=session["jti"], blacklistedtoken__isnull=False).exists()
    assert not OutboxEvent.objects.exists()
    assert client.get(ME).status_code == 200


def test_only_a_customer_has_a_me_to_patch_or_delete():
    provider = ProviderFactory()
    client = auth_client(provider.user)
    assert_error(client.patch(ME, {"name": "X"}, format="json"), 403, "permission_denied")
    assert_error(client.delete(ME, {"password": DEFAULT_PASSWORD}, format="json"), 403, "permission_denied")
    assert provider.user.is_active


def test_a_deleted_customer_is_told_nothing_more_and_cannot_be_invited():
    provider = ProviderFactory()
    customer = CustomerFactory()
    rating = rating_make(customer=customer, provider=provider, score=4)
    assert auth_client(customer.user).delete(ME, {"password": DEFAULT_PASSWORD}, format="json").status_code == 204
    published = OutboxEvent.objects.count()

    # The provider replies: no notice to the erased author (no inbox item, no email).
    assert auth_client(provider.user).put(f"/api/v1/ratings/{rating.pk}/reply/", {"body": "Thanks"}).status_code == 200
    _, secret = partner_key_create()
    partner = APIClient()
    partner.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    invited = partner.post(
        "/api/v1/ratings/invitations/",
        {"customer_id": str(customer.pk), "provider_id": str(provider.pk), "external_reference": "J1"},
        format="json",
    )

    assert_error(invited, 400, "does_not_exist", attr="customer_id")
    # The reply is published, saying the author's account is gone; the intake tells nobody.
    new = list(OutboxEvent.objects.order_by("created_at")[published:])
    assert [(e.type, e.data["customer_user_active"]) for e in new] == [("rating.replied", False)]
    assert events_ingest(envelopes=[e.envelope for e in new]) == []
    assert not Notification.objects.filter(recipient_id=customer.user_id).exists()
    assert not RatingInvitation.objects.exists()
