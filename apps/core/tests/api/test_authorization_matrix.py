"""Who may call what: anonymous / customer / other customer / provider / staff / partner key,
against every endpoint.

"customer" is the author of the rating and the subject of the customer detail; "provider" is the
rated provider and the subject of the provider detail.
"""

import re

import pytest
from django.urls import URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from apps.accounts.models import DataExport, User
from apps.notifications.models import DeliveryStatus, Device, WebhookEndpoint
from apps.partners.services import partner_invitation_create
from conftest import auth_client
from tests.factories import (
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

ROLES = ["anonymous", "customer", "other_customer", "provider", "staff", "partner"]


@pytest.fixture
def world(db):
    customer = CustomerFactory()
    # Verified: helpful votes need a confirmed address (everyone else here has none).
    other_customer = CustomerFactory(user__email_verified_at=timezone.now())
    provider = ProviderFactory()
    unrated_provider = ProviderFactory()
    staff = UserFactory(is_staff=True)
    ServiceCategoryFactory(slug="plumbing")
    rating = rating_make(customer=customer, provider=provider, score=4)
    notification = NotificationFactory(recipient_id=provider.user.pk)
    webhook = WebhookEndpoint.objects.create(
        recipient_id=provider.user.pk, url="https://hooks.example.com/r", secret="s"
    )
    device = Device.objects.create(recipient_id=provider.user.pk, token="tok-1", platform="ios")
    delivery = DeliveryFactory(notification=notification, status=DeliveryStatus.DEAD)
    partner_key, partner_secret = partner_key_create()
    # The partner may act for the providers (staff granted them); the customer's open
    # invitation for the provider they rated is the partner's.
    partner_grant(partner_key, provider, unrated_provider)
    invitation = partner_invitation_create(
        partner=partner_key.partner, customer=customer, provider=provider, external_reference="job-0"
    )
    users = {
        "anonymous": None,
        "customer": customer.user,
        "other_customer": other_customer.user,
        "provider": provider.user,
        "staff": staff,
        "partner": partner_secret,
    }
    return {
        "users": users,
        "customer": customer,
        "provider": provider,
        "unrated_provider": unrated_provider,
        "rating": rating,
        "notification": notification,
        "webhook": webhook,
        "device": device,
        "delivery": delivery,
        "invitation": invitation,
        "export": DataExport.objects.create(user=customer.user),
    }


def _client(user):
    if isinstance(user, str):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {user}")
        return client
    return APIClient() if user is None else auth_client(user)


def _logout_body(world, user):
    # Each caller logs out its own session; anonymous sends a valid token of someone else.
    # A partner key is no user: it too sends someone else's token.
    owner = user if isinstance(user, User) else world["users"]["customer"]
    return {"refresh": str(RefreshToken.for_user(owner))}


_n = iter(range(10_000))

# endpoint id → (method, path template, body factory | None)
ENDPOINTS = {
    "token": ("post", "/api/v1/auth/token/", lambda w, u: {"email": "nobody@example.com", "password": "x" * 10}),
    "token_refresh": (
        "post",
        "/api/v1/auth/token/refresh/",
        lambda w, u: {"refresh": str(RefreshToken.for_user(w["users"]["customer"]))},
    ),
    "logout": ("post", "/api/v1/auth/logout/", _logout_body),
    # Every caller (anonymous: no one to check) gets the wrong current password: 400, not 200.
    "password_change": (
        "post",
        "/api/v1/auth/password/change/",
        lambda w, u: {"old_password": "not-the-password", "new_password": "a-brand-new-long-secret"},
    ),
    "password_reset": ("post", "/api/v1/auth/password/reset/", lambda w, u: {"email": "nobody@example.com"}),
    "password_reset_confirm": (
        "post",
        "/api/v1/auth/password/reset/confirm/",
        lambda w, u: {"uid": "x", "token": "y", "new_password": "a-brand-new-long-secret"},
    ),
    "email_verify": ("post", "/api/v1/auth/email/verify/", lambda w, u: {"uid": "x", "token": "y"}),
    "email_verify_resend": ("post", "/api/v1/auth/email/verify/resend/", None),
    "customers_list_get": ("get", "/api/v1/customers/", None),
    "customers_register": (
        "post",
        "/api/v1/customers/",
        lambda w, u: {"email": f"new{next(_n)}@example.com", "password": "a-long-enough-secret", "name": "N"},
    ),
    "customers_me": ("get", "/api/v1/customers/me/", None),
    "customers_me_patch": ("patch", "/api/v1/customers/me/", lambda w, u: {"name": "Renamed"}),
    # A wrong password: the caller's account must survive for the other cases.
    "customers_me_delete": ("delete", "/api/v1/customers/me/", lambda w, u: {"password": "not-the-password"}),
    "customers_detail": ("get", "/api/v1/customers/{customer}/", None),
    "providers_list": ("get", "/api/v1/providers/", None),
    "providers_register": (
        "post",
        "/api/v1/providers/",
        lambda w, u: {"email": f"newp{next(_n)}@example.com", "password": "a-long-enough-secret", "name": "N"},
    ),
    "providers_me": ("get", "/api/v1/providers/me/", None),
    # A wrong password, as for customers: the provider must survive for the other cases.
    "providers_me_delete": ("delete", "/api/v1/providers/me/", lambda w, u: {"password": "not-the-password"}),
    "providers_detail": ("get", "/api/v1/providers/{provider}/", None),
    "providers_patch": ("patch", "/api/v1/providers/{provider}/", lambda w, u: {"name": "Renamed"}),
    "rating_summary": ("get", "/api/v1/providers/{provider}/rating-summary/", None),
    "rating_metrics": ("get", "/api/v1/providers/{provider}/rating-metrics/", None),
    "service_categories": ("get", "/api/v1/service-categories/", None),
    "ratings_list": ("get", "/api/v1/ratings/", None),
    "ratings_mine": ("get", "/api/v1/ratings/?mine=true", None),
    "ratings_create": (
        "post",
        "/api/v1/ratings/",
        lambda w, u: {"provider_id": str(w["unrated_provider"].pk), "score": 5},
    ),
    "rating_detail": ("get", "/api/v1/ratings/{rating}/", None),
    "rating_patch": ("patch", "/api/v1/ratings/{rating}/", lambda w, u: {"score": 2}),
    "rating_delete": ("delete", "/api/v1/ratings/{rating}/", None),
    "rating_report": ("post", "/api/v1/ratings/{rating}/reports/", lambda w, u: {"reason": "spam"}),
    "rating_reply_put": ("put", "/api/v1/ratings/{rating}/reply/", lambda w, u: {"body": "Thank you!"}),
    "rating_reply_delete": ("delete", "/api/v1/ratings/{rating}/reply/", None),
    "rating_helpful": ("post", "/api/v1/ratings/{rating}/helpful/", None),
    "rating_helpful_delete": ("delete", "/api/v1/ratings/{rating}/helpful/", None),
    "notifications_list": ("get", "/api/v1/notifications/", None),
    "notifications_unread_count": ("get", "/api/v1/notifications/unread-count/", None),
    "notifications_read_all": ("post", "/api/v1/notifications/read-all/", None),
    "notification_read": ("post", "/api/v1/notifications/{notification}/read/", None),
    "notification_unread": ("post", "/api/v1/notifications/{notification}/unread/", None),
    "notification_archive": ("post", "/api/v1/notifications/{notification}/archive/", None),
    "notification_unarchive": ("post", "/api/v1/notifications/{notification}/unarchive/", None),
    "notifications_seen": ("post", "/api/v1/notifications/seen/", lambda w, u: {"ids": [str(w["notification"].pk)]}),
    "notifications_counts": ("get", "/api/v1/notifications/counts/", None),
    "notifications_stream": ("get", "/api/v1/notifications/stream/", None),
    "notification_preferences_get": ("get", "/api/v1/notifications/preferences/", None),
    "notification_preferences_patch": (
        "patch",
        "/api/v1/notifications/preferences/",
        lambda w, u: {"preferences": [{"event_type": "rating.created", "channel": "email", "enabled": False}]},
    ),
    "notification_schedule_get": ("get", "/api/v1/notifications/schedule/", None),
    "notification_schedule_patch": (
        "patch",
        "/api/v1/notifications/schedule/",
        lambda w, u: {"time_zone": "Europe/Paris", "rating_emails": "daily"},
    ),
    "event_types": ("get", "/api/v1/notifications/event-types/", None),
    "webhooks_list": ("get", "/api/v1/notifications/webhooks/", None),
    "webhooks_create": (
        "post",
        "/api/v1/notifications/webhooks/",
        lambda w, u: {"url": "https://hooks.example.com/new", "event_types": ["rating.created"]},
    ),
    "webhook_get": ("get", "/api/v1/notifications/webhooks/{webhook}/", None),
    "webhook_patch": (
        "patch",
        "/api/v1/notifications/webhooks/{webhook}/",
        lambda w, u: {"description": "Renamed", "rate_per_second": 3, "headers": {"X-Tenant": "t"}},
    ),
    "webhook_delete": ("delete", "/api/v1/notifications/webhooks/{webhook}/", None),
    "webhook_rotate_secret": ("post", "/api/v1/notifications/webhooks/{webhook}/rotate-secret/", None),
    "webhook_test": ("post", "/api/v1/notifications/webhooks/{webhook}/test/", None),
    "webhook_recover": (
        "post",
        "/api/v1/notifications/webhooks/{webhook}/recover/",
        lambda w, u: {"since": "2020-01-01T00:00:00Z"},
    ),
    "deliveries_list": ("get", "/api/v1/notifications/deliveries/", None),
    "delivery_replay": ("post", "/api/v1/notifications/deliveries/{delivery}/replay/", None),
    "delivery_attempts": ("get", "/api/v1/notifications/deliveries/{delivery}/attempts/", None),
    "devices_list": ("get", "/api/v1/notifications/devices/", None),
    "devices_register": ("post", "/api/v1/notifications/devices/", lambda w, u: {"token": "t-new", "platform": "web"}),
    "device_delete": ("delete", "/api/v1/notifications/devices/{device}/", None),
    "invitations_list": ("get", "/api/v1/ratings/invitations/", None),
    "invitation_revoke": ("post", "/api/v1/ratings/invitations/{invitation}/revoke/", None),
    "customers_me_invitations": ("get", "/api/v1/customers/me/invitations/", None),
    "rating_verify": (
        "patch",
        "/api/v1/ratings/{rating}/",
        lambda w, u: {"invitation_id": str(w["invitation"].pk), "score": 5},
    ),
    "invitations_bulk": (
        "post",
        "/api/v1/ratings/invitations/bulk/",
        lambda w, u: {
            "invitations": [
                {
                    "customer_id": str(w["customer"].pk),
                    "provider_id": str(w["unrated_provider"].pk),
                    "external_reference": "job-bulk",
                }
            ]
        },
    ),
    "invitations_create": (
        "post",
        "/api/v1/ratings/invitations/",
        lambda w, u: {
            "customer_id": str(w["customer"].pk),
            "provider_id": str(w["unrated_provider"].pk),
            "external_reference": "job-1",
        },
    ),
    # A notice of a declared custom type to the provider (the partner's: staff granted it); each
    # caller's key is its own, so every role's first call is a new trigger.
    "account_export": ("post", "/api/v1/accounts/me/export/", None),
    # The mailed link is its own credential: without its token, nobody gets the archive.
    "account_export_download": ("get", "/api/v1/accounts/exports/{export}/?token=wrong", None),
    "notification_trigger": (
        "post",
        "/api/v1/notifications/triggers/",
        lambda w, u: {
            "type": "custom.message",
            "recipient": {"provider_id": str(w["provider"].pk)},
            "title": "Your booking is tomorrow",
            "idempotency_key": "matrix-1",
        },
    ),
}

#                            anonymous, customer, other_customer, provider, staff, partner
EXPECTED = {
    "token": (401, 401, 401, 401, 401, 401),
    "token_refresh": (200, 200, 200, 200, 200, 200),
    "logout": (401, 204, 204, 204, 204, 401),
    "password_change": (401, 400, 400, 400, 400, 401),
    # Anonymous by design: the same answer for everyone, whether the address exists or not.
    "password_reset": (202, 202, 202, 202, 202, 202),
    "password_reset_confirm": (400, 400, 400, 400, 400, 400),
    "email_verify": (400, 400, 400, 400, 400, 400),
    "email_verify_resend": (401, 202, 409, 202, 202, 401),
    "customers_list_get": (405, 405, 405, 405, 405, 405),
    "customers_register": (201, 201, 201, 201, 201, 201),
    "customers_me": (401, 200, 200, 403, 403, 401),
    "customers_me_patch": (401, 200, 200, 403, 403, 401),
    "customers_me_delete": (401, 400, 400, 403, 403, 401),
    "customers_detail": (401, 200, 404, 404, 200, 401),
    "providers_list": (200, 200, 200, 200, 200, 200),
    "providers_register": (201, 201, 201, 201, 201, 201),
    "providers_me": (401, 403, 403, 200, 403, 401),
    "providers_me_delete": (401, 403, 403, 400, 403, 401),
    "providers_detail": (200, 200, 200, 200, 200, 200),
    "providers_patch": (401, 403, 403, 200, 200, 401),
    "rating_summary": (200, 200, 200, 200, 200, 200),
    "rating_metrics": (200, 200, 200, 200, 200, 200),
    "service_categories": (200, 200, 200, 200, 200, 200),
    "ratings_list": (200, 200, 200, 200, 200, 200),
    "ratings_mine": (401, 200, 200, 403, 403, 401),
    "ratings_create": (401, 201, 201, 403, 403, 401),
    "rating_detail": (200, 200, 200, 200, 200, 200),
    "rating_patch": (401, 200, 403, 403, 403, 401),
    "rating_delete": (401, 204, 403, 403, 403, 401),
    # Reporting: any signed-in user but the author.
    "rating_report": (401, 403, 201, 201, 201, 401),
    "rating_reply_put": (401, 403, 403, 200, 403, 401),
    # DELETE is idempotent: no reply yet is still 204 for the one allowed to delete it.
    "rating_reply_delete": (401, 403, 403, 204, 403, 401),
    # Helpful votes: any signed-in user with a confirmed address but the author and the rated
    # provider (staff here has none).
    "rating_helpful": (401, 403, 201, 403, 403, 401),
    # Withdrawing is idempotent: no vote is still 204.
    "rating_helpful_delete": (401, 204, 204, 204, 204, 401),
    # Partner systems only: no user token opens them, whatever the role; a partner key opens
    # nothing else (it is no user: every user endpoint treats it as anonymous).
    "invitations_create": (401, 401, 401, 401, 401, 201),
    # One answer for the whole batch, each item's outcome inside it.
    "invitations_bulk": (401, 401, 401, 401, 401, 200),
    "invitations_list": (401, 401, 401, 401, 401, 200),
    "invitation_revoke": (401, 401, 401, 401, 401, 200),
    # The customer's own open invitations, and verifying their rating with one.
    "customers_me_invitations": (401, 200, 200, 403, 403, 401),
    "rating_verify": (401, 200, 403, 403, 403, 401),
    # Everyone signed in has an inbox; another user's notification is 404, never 403.
    "notifications_list": (401, 200, 200, 200, 200, 401),
    "notifications_unread_count": (401, 200, 200, 200, 200, 401),
    "notifications_read_all": (401, 200, 200, 200, 200, 401),
    "notification_read": (401, 404, 404, 200, 404, 401),
    "notification_unread": (401, 404, 404, 200, 404, 401),
    "notification_archive": (401, 404, 404, 200, 404, 401),
    "notification_unarchive": (401, 404, 404, 200, 404, 401),
    # Seen takes ids: another user's are simply not the caller's (nothing updated), not an error.
    "notifications_seen": (401, 200, 200, 200, 200, 401),
    "notifications_counts": (401, 200, 200, 200, 200, 401),
    # The live stream is the caller's own inbox (here the WSGI answer: the count, then the end).
    "notifications_stream": (401, 200, 200, 200, 200, 401),
    "notification_preferences_get": (401, 200, 200, 200, 200, 401),
    "notification_preferences_patch": (401, 200, 200, 200, 200, 401),
    # The schedule is the signed-in user's own, whatever the role.
    "notification_schedule_get": (401, 200, 200, 200, 200, 401),
    "notification_schedule_patch": (401, 200, 200, 200, 200, 401),
    # Webhooks, deliveries and devices are the user's own; anyone else's is 404, staff too.
    # The catalogue of webhook event types: anyone signed in.
    "event_types": (401, 200, 200, 200, 200, 401),
    "webhooks_list": (401, 200, 200, 200, 200, 401),
    "webhooks_create": (401, 201, 201, 201, 201, 401),
    "webhook_get": (401, 404, 404, 200, 404, 401),
    "webhook_patch": (401, 404, 404, 200, 404, 401),
    "webhook_delete": (401, 404, 404, 204, 404, 401),
    "webhook_rotate_secret": (401, 404, 404, 200, 404, 401),
    "webhook_test": (401, 404, 404, 202, 404, 401),
    "webhook_recover": (401, 404, 404, 200, 404, 401),
    "deliveries_list": (401, 200, 200, 200, 200, 401),
    "delivery_replay": (401, 404, 404, 202, 404, 401),
    "delivery_attempts": (401, 404, 404, 200, 404, 401),
    "devices_list": (401, 200, 200, 200, 200, 401),
    "devices_register": (401, 201, 201, 201, 201, 401),
    "device_delete": (401, 404, 404, 204, 404, 401),
    # Any signed-in user exports their own data; the customer asked already today (the world's
    # export), so theirs is 429 until tomorrow.
    "account_export": (401, 429, 202, 202, 202, 401),
    "account_export_download": (404, 404, 404, 404, 404, 404),
    # Staff, or a partner key with the notifications:trigger scope (for its own providers).
    "notification_trigger": (401, 403, 403, 403, 202, 202),
}

CASES = [(endpoint, role, EXPECTED[endpoint][i]) for endpoint in ENDPOINTS for i, role in enumerate(ROLES)]


def _api_routes(patterns, prefix=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _api_routes(pattern.url_patterns, route)
        else:
            yield route


def test_the_matrix_covers_every_endpoint():
    assert set(EXPECTED) == set(ENDPOINTS)
    routed = {re.sub(r"<[^>]+>", "{}", r) for r in _api_routes(get_resolver().url_patterns) if r.startswith("api/v1/")}
    covered = {re.sub(r"\{[a-z_]+\}", "{}", t.split("?")[0]).removeprefix("/") for _, t, _ in ENDPOINTS.values()}
    assert routed == covered


@pytest.mark.parametrize(("endpoint", "role", "status"), CASES, ids=[f"{e}-{r}" for e, r, _ in CASES])
def test_authorization_matrix(world, endpoint, role, status):
    method, template, body = ENDPOINTS[endpoint]
    path = template.format(
        customer=world["customer"].pk,
        provider=world["provider"].pk,
        rating=world["rating"].pk,
        notification=world["notification"].pk,
        webhook=world["webhook"].pk,
        device=world["device"].pk,
        delivery=world["delivery"].pk,
        invitation=world["invitation"].pk,
        export=world["export"].pk,
    )
    user = world["users"][role]
    kwargs = {"format": "json"}
    if body is not None:
        kwargs["data"] = body(world, user)
    response = getattr(_client(user), method)(path, **kwargs)
    assert response.status_code == status, response.content[:300]
    if status >= 400:
        body_json = response.json()
        assert set(body_json) == {"type", "errors"}
        expected_code = {
            401: {"not_authenticated", "no_active_account"},
            403: {"permission_denied", "cannot_report_own_rating", "cannot_vote_own_rating", "email_not_verified"},
            409: {"email_already_verified"},
            429: {"export_too_soon"},
        }
        expected_code |= {400: {"wrong_password", "link_invalid"}, 404: {"not_found"}, 405: {"method_not_allowed"}}
        assert body_json["errors"][0]["code"] in expected_code[status]
