"""Account self-service: password change, password reset by email, email verification.

Emails are followed all the way: the request writes an outbox event, the notifications app
turns it into an inbox item and an email delivery, the delivery engine sends it (locmem mail
backend), and the test reads the link out of the email it received.
"""

import re
import time
from datetime import datetime, timedelta
from unittest import mock

import pytest
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import mail
from django.utils import timezone
from django.utils.http import urlsafe_base64_encode
from rest_framework.settings import api_settings
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from apps.accounts.models import User
from apps.core.models import OutboxEvent
from apps.notifications.models import Channel, Delivery, Notification, NotificationPreference, WebhookEndpoint
from apps.notifications.services import delivery_attempt, events_ingest
from conftest import auth_client
from tests.errors import assert_error
from tests.factories import DEFAULT_PASSWORD, CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGE_URL = "/api/v1/auth/password/change/"
RESET_URL = "/api/v1/auth/password/reset/"
CONFIRM_URL = "/api/v1/auth/password/reset/confirm/"
VERIFY_URL = "/api/v1/auth/email/verify/"
RESEND_URL = "/api/v1/auth/email/verify/resend/"
TOKEN_URL = "/api/v1/auth/token/"
REFRESH_URL = "/api/v1/auth/token/refresh/"
NEW_PASSWORD = "a-brand-new-long-secret"
ACCEPTED = {"detail": "If an account has this email address, a password reset link is on its way."}


@pytest.fixture
def rates(settings, monkeypatch):
    """Set throttle rates for one test; DRF reads them into a class attribute at import."""

    def apply(**changed):
        full = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **changed}
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": full}
        api_settings.reload()
        monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", full)

    yield apply
    api_settings.reload()


def deliver_account_emails() -> list:
    """Run every undelivered account event through ingest and the delivery engine."""
    events = OutboxEvent.objects.filter(type__startswith="account.", confirmed_at__isnull=True)
    envelopes = [event.envelope for event in events]
    events.update(confirmed_at=timezone.now())
    sent_before = len(mail.outbox)
    events_ingest(envelopes=envelopes)
    for delivery in Delivery.objects.filter(status="pending"):
        delivery_attempt(delivery_id=delivery.pk)
    return mail.outbox[sent_before:]


def link_values(message) -> dict:
    return dict(re.findall(r"^(uid|token): (\S+)$", message.body, re.M))


def _sign_in(client, email, password):
    return client.post(TOKEN_URL, {"email": email, "password": password}, format="json")


def _live_refresh_tokens(user) -> int:
    return OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True).count()


# --- Password change ------------------------------------------------------------------------


def test_password_change_sets_the_password_revokes_every_refresh_token_and_returns_a_fresh_pair():
    user = UserFactory(email="ann@example.com")
    sessions = [str(RefreshToken.for_user(user)) for _ in range(2)]
    response = auth_client(user).post(
        CHANGE_URL, {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    pair = response.json()
    assert set(pair) == {"access", "refresh"}
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    client = APIClient()
    for old in sessions:
        assert_error(client.post(REFRESH_URL, {"refresh": old}, format="json"), 401, "token_not_valid")
    # Only the pair just issued is live, and it works.
    assert _live_refresh_tokens(user) == 1
    assert client.post(REFRESH_URL, {"refresh": pair["refresh"]}, format="json").status_code == 200
    assert _sign_in(client, "ann@example.com", NEW_PASSWORD).status_code == 200
    assert_error(_sign_in(client, "ann@example.com", DEFAULT_PASSWORD), 401, "no_active_account")


def test_password_change_with_a_wrong_current_password_changes_nothing():
    user = UserFactory()
    session = RefreshToken.for_user(user)
    response = auth_client(user).post(
        CHANGE_URL, {"old_password": "not-the-password", "new_password": NEW_PASSWORD}, format="json"
    )
    assert response.json() == {
        "type": "client_error",
        "errors": [{"code": "wrong_password", "detail": "The current password is not correct.", "attr": None}],
    }
    assert response.status_code == 400
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)
    assert not BlacklistedToken.objects.filter(token__jti=session["jti"]).exists()


def test_password_change_to_a_weak_password_is_refused_with_the_validator_code():
    user = UserFactory()
    response = auth_client(user).post(
        CHANGE_URL, {"old_password": DEFAULT_PASSWORD, "new_password": "password"}, format="json"
    )
    assert_error(response, 400, attr="new_password")
    codes = {e["code"] for e in response.json()["errors"]}
    assert "password_too_common" in codes
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


def test_password_change_needs_a_signed_in_user():
    response = APIClient().post(CHANGE_URL, {"old_password": "x", "new_password": NEW_PASSWORD}, format="json")
    assert_error(response, 401, "not_authenticated")


def test_password_change_is_throttled_per_user(rates):
    rates(password_change="2/min")
    user = UserFactory()
    client = auth_client(user)
    body = {"old_password": "wrong-guess", "new_password": NEW_PASSWORD}
    assert [client.post(CHANGE_URL, body, format="json").status_code for _ in range(2)] == [400, 400]
    response = client.post(CHANGE_URL, {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD})
    assert_error(response, 429, "throttled")
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


# --- Password reset -------------------------------------------------------------------------


def test_password_reset_answers_the_same_for_a_known_and_an_unknown_address():
    UserFactory(email="ann@example.com")
    client = APIClient()
    known = client.post(RESET_URL, {"email": "ANN@example.com"}, format="json")
    unknown = client.post(RESET_URL, {"email": "nobody@example.com"}, format="json")
    assert (known.status_code, known.json()) == (202, ACCEPTED)
    assert (unknown.status_code, unknown.json()) == (202, ACCEPTED)
    # Only the known address gets an event; nothing is sent during the request itself.
    assert list(OutboxEvent.objects.values_list("type", "data__recipient_email")) == [
        ("account.password_reset", "ann@example.com")
    ]
    assert mail.outbox == []


def test_password_reset_email_goes_through_the_delivery_engine_and_its_link_sets_the_password(settings):
    settings.ACCOUNT_PASSWORD_RESET_URL = "https://app.test/reset?uid={uid}&token={token}"
    user = UserFactory(email="ann@example.com")
    sessions = [str(RefreshToken.for_user(user)) for _ in range(2)]
    client = APIClient()
    assert client.post(RESET_URL, {"email": "ann@example.com"}, format="json").status_code == 202

    (message,) = deliver_account_emails()
    assert message.to == ["ann@example.com"]
    assert message.subject == "Reset your Marketplace Ratings password"
    values = link_values(message)
    assert f"https://app.test/reset?uid={values['uid']}&token={values['token']}" in message.body
    # Critical: no unsubscribe offered. The link is on the email delivery only.
    assert "List-Unsubscribe" not in message.extra_headers
    notification = Notification.objects.get(recipient_id=user.pk, type="account.password_reset")
    assert values["token"] not in str(notification.data) + notification.body + notification.title

    response = client.post(CONFIRM_URL, {**values, "new_password": NEW_PASSWORD}, format="json")
    assert response.status_code == 204, response.content
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert _live_refresh_tokens(user) == 0
    for old in sessions:
        assert_error(client.post(REFRESH_URL, {"refresh": old}, format="json"), 401, "token_not_valid")

    # Single use: the same link again is refused and the password stays.
    again = client.post(CONFIRM_URL, {**values, "new_password": "yet-another-long-secret"}, format="json")
    assert again.json() == {
        "type": "client_error",
        "errors": [
            {
                "code": "link_invalid",
                "detail": "This link is not valid: it was already used, or it is not one we sent.",
                "attr": None,
            }
        ],
    }
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_password_reset_link_expires_after_the_timeout(settings):
    settings.PASSWORD_RESET_TIMEOUT = 600
    user = UserFactory(email="ann@example.com")
    # The token is made 601 s ago by the generator's own clock.
    with mock.patch.object(PasswordResetTokenGenerator, "_now", return_value=datetime.now() - timedelta(seconds=601)):
        assert APIClient().post(RESET_URL, {"email": "ann@example.com"}, format="json").status_code == 202
    (message,) = deliver_account_emails()
    response = APIClient().post(CONFIRM_URL, {**link_values(message), "new_password": NEW_PASSWORD}, format="json")
    assert_error(response, 400, "link_expired", attr=None)
    assert response.json()["errors"][0]["detail"] == "This link has expired; ask for a new one."
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


def test_password_reset_confirm_refuses_a_forged_token_or_uid_and_changes_nothing():
    user = UserFactory(email="ann@example.com")
    APIClient().post(RESET_URL, {"email": "ann@example.com"}, format="json")
    values = link_values(deliver_account_emails()[0])
    other = UserFactory()
    client = APIClient()
    for body in (
        {**values, "token": values["token"][:-1] + ("a" if values["token"][-1] != "a" else "b")},
        {**values, "token": "garbage"},
        {**values, "uid": "not-base64!"},
        # Another account's uid with this account's token.
        {**values, "uid": urlsafe_base64_encode(str(other.pk).encode())},
    ):
        response = client.post(CONFIRM_URL, {**body, "new_password": NEW_PASSWORD}, format="json")
        assert_error(response, 400, "link_invalid", attr=None)
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


def test_password_reset_confirm_with_a_weak_password_keeps_the_link_usable():
    user = UserFactory(email="ann@example.com")
    APIClient().post(RESET_URL, {"email": "ann@example.com"}, format="json")
    values = link_values(deliver_account_emails()[0])
    weak = APIClient().post(CONFIRM_URL, {**values, "new_password": "12345678"}, format="json")
    assert_error(weak, 400, attr="new_password")
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)
    ok = APIClient().post(CONFIRM_URL, {**values, "new_password": NEW_PASSWORD}, format="json")
    assert ok.status_code == 204


def test_password_reset_email_ignores_the_users_email_preferences():
    user = UserFactory(email="ann@example.com")
    NotificationPreference.objects.create(
        recipient_id=user.pk, event_type="account.password_reset", channel=Channel.EMAIL, enabled=False
    )
    WebhookEndpoint.objects.create(recipient_id=user.pk, url="https://hooks.example.com/x", secret="s")
    APIClient().post(RESET_URL, {"email": "ann@example.com"}, format="json")
    assert len(deliver_account_emails()) == 1
    # Email only: the link never goes to a webhook.
    assert list(Delivery.objects.values_list("channel", flat=True)) == [Channel.EMAIL]


def test_password_reset_is_throttled_per_address_and_the_refusal_is_the_same_for_unknown_ones(rates):
    rates(account_email="2/hour")
    UserFactory(email="ann@example.com")
    client = APIClient()
    for email in ("ann@example.com", "nobody@example.com"):
        statuses = [client.post(RESET_URL, {"email": email}, format="json").status_code for _ in range(2)]
        assert statuses == [202, 202]
        assert_error(client.post(RESET_URL, {"email": email.upper()}, format="json"), 429, "throttled")
    assert OutboxEvent.objects.filter(type="account.password_reset").count() == 2


def test_password_reset_is_throttled_per_client_ip(rates):
    rates(account_email_ip="2/hour")
    client = APIClient()
    assert client.post(RESET_URL, {"email": "a@example.com"}, format="json").status_code == 202
    assert client.post(RESET_URL, {"email": "b@example.com"}, format="json").status_code == 202
    assert_error(client.post(RESET_URL, {"email": "c@example.com"}, format="json"), 429, "throttled")


# --- Email verification ---------------------------------------------------------------------


@pytest.mark.parametrize(("path", "body"), [("/api/v1/customers/", {}), ("/api/v1/providers/", {"services": []})])
def test_registration_sends_a_verification_email_whose_link_verifies_the_address(path, body):
    client = APIClient()
    response = client.post(
        path, {"email": "new@example.com", "password": "a-long-enough-secret", "name": "New", **body}, format="json"
    )
    assert response.status_code == 201
    assert (response.json()["email_verified"], response.json()["email_verified_at"]) == (False, None)
    (message,) = deliver_account_emails()
    assert (message.to, message.subject) == (["new@example.com"], "Confirm your email address")
    values = link_values(message)

    first = client.post(VERIFY_URL, values, format="json")
    assert first.status_code == 200, first.content
    user = User.objects.get(email="new@example.com")
    assert first.json() == {
        "email": "new@example.com",
        "email_verified": True,
        "email_verified_at": user.email_verified_at.isoformat().replace("+00:00", "Z"),
    }
    # Idempotent: the same link again answers the same and keeps the first time.
    second = client.post(VERIFY_URL, values, format="json")
    assert (second.status_code, second.json()) == (200, first.json())


def test_verify_refuses_a_forged_or_expired_token_and_changes_nothing(settings):
    user = UserFactory(email="ann@example.com")
    client = auth_client(user)
    # The token is signed 8 days ago (the signer's clock); ACCOUNT_EMAIL_VERIFY_TIMEOUT is 7.
    eight_days_ago = time.time() - 8 * 24 * 3600
    with mock.patch("django.core.signing.time.time", return_value=eight_days_ago):
        assert client.post(RESEND_URL).status_code == 202
    values = link_values(deliver_account_emails()[0])
    assert_error(APIClient().post(VERIFY_URL, values, format="json"), 400, "link_expired", attr=None)
    forged = {**values, "token": values["token"] + "x"}
    assert_error(APIClient().post(VERIFY_URL, forged, format="json"), 400, "link_invalid", attr=None)
    user.refresh_from_db()
    assert user.email_verified_at is None


def test_resend_sends_a_new_link_and_is_409_once_verified():
    user = UserFactory(email="ann@example.com")
    client = auth_client(user)
    response = client.post(RESEND_URL)
    assert (response.status_code, response.json()) == (202, {"detail": "A verification email is on its way."})
    values = link_values(deliver_account_emails()[0])
    assert APIClient().post(VERIFY_URL, values, format="json").status_code == 200
    assert_error(client.post(RESEND_URL), 409, "email_already_verified", attr=None)
    assert deliver_account_emails() == []


def test_resend_is_throttled_per_address(rates):
    rates(account_email="1/hour")
    client = auth_client(UserFactory())
    assert client.post(RESEND_URL).status_code == 202
    assert_error(client.post(RESEND_URL), 429, "throttled")
    assert OutboxEvent.objects.filter(type="account.email_verify").count() == 1


def test_me_shows_whether_the_address_is_verified():
    customer = CustomerFactory(user__email_verified_at=timezone.now())
    body = auth_client(customer.user).get("/api/v1/customers/me/").json()
    assert body["email_verified"] is True
    assert body["email_verified_at"] is not None
