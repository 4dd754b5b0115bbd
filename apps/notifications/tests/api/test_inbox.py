import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from apps.notifications.events import EVENT_TYPES, EventType
from apps.notifications.models import Notification, NotificationPreference
from tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/notifications/"


def _inbox(user, n: int, **fields) -> list[Notification]:
    now = timezone.now()
    return [
        NotificationFactory(recipient_id=user.pk, created_at=now - timedelta(minutes=i), **fields) for i in range(n)
    ]


def _only_notification_queries(queries) -> bool:
    """The stateless token authentication reads no user row (nor the customer/provider profiles)."""
    return all("notifications_notification" in q["sql"] and "accounts_user" not in q["sql"] for q in queries)


def test_the_inbox_lists_own_notifications_newest_first(provider, provider_client):
    items = _inbox(provider.user, 3)
    NotificationFactory()  # someone else's
    with CaptureQueriesContext(connection) as queries:
        response = provider_client.get(URL)
    # One query: the page. The recipient is the verified token's user_id; no users query.
    assert len(queries) == 1, [q["sql"] for q in queries]
    assert _only_notification_queries(queries.captured_queries)
    assert response.status_code == 200
    body = response.json()
    assert [r["id"] for r in body["results"]] == [str(n.pk) for n in items]
    assert body["next"] is None
    first = body["results"][0]
    assert set(first) == {"id", "type", "title", "body", "data", "created_at", "read_at", "seen_at", "archived_at"}
    assert first["type"] == "rating.created"
    assert first["read_at"] is None


def test_the_inbox_query_count_does_not_grow_with_the_page(provider, provider_client, django_assert_num_queries):
    _inbox(provider.user, 25)
    with django_assert_num_queries(1):
        response = provider_client.get(URL, {"page_size": 25})
    assert len(response.json()["results"]) == 25


def test_the_inbox_filters_unread_and_type(provider, provider_client):
    unread, read = _inbox(provider.user, 2)
    Notification.objects.filter(pk=read.pk).update(read_at=timezone.now())
    updated = NotificationFactory(recipient_id=provider.user.pk, type="rating.updated")

    ids = [r["id"] for r in provider_client.get(URL, {"unread": "true"}).json()["results"]]
    assert ids == [str(updated.pk), str(unread.pk)]
    ids = [r["id"] for r in provider_client.get(URL, {"type": "rating.updated"}).json()["results"]]
    assert ids == [str(updated.pk)]


def test_a_bad_unread_filter_is_a_400_in_the_error_shape(provider_client):
    response = provider_client.get(URL, {"unread": "maybe"})
    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
    assert response.json()["errors"][0]["attr"] == "unread"


def test_the_inbox_needs_authentication(api_client):
    assert api_client.get(URL).status_code == 401


@pytest.mark.parametrize("path", ["", "unread-count/"])
def test_the_stateless_inbox_reads_still_verify_the_token(provider, api_client, path):
    token = str(RefreshToken.for_user(provider.user).access_token)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token[:-2]}xx")
    assert api_client.get(URL + path).status_code == 401
    expired = AccessToken.for_user(provider.user)
    expired.set_exp(lifetime=-timedelta(seconds=1))
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {expired}")
    assert api_client.get(URL + path).status_code == 401


def test_a_session_user_still_reads_the_inbox(provider, api_client):
    _inbox(provider.user, 2)
    api_client.force_login(provider.user)
    response = api_client.get(URL)
    assert response.status_code == 200
    assert len(response.json()["results"]) == 2


def test_unread_count(provider, provider_client):
    _inbox(provider.user, 3)
    NotificationFactory(recipient_id=provider.user.pk, read_at=timezone.now())
    NotificationFactory()
    # One query counts; the recipient is the verified token's user_id (no users query).
    with CaptureQueriesContext(connection) as queries:
        response = provider_client.get(URL + "unread-count/")
    assert response.json() == {"unread": 3}
    assert len(queries) == 1, [q["sql"] for q in queries]
    assert _only_notification_queries(queries.captured_queries)


def test_reading_a_notification_is_idempotent(provider, provider_client):
    (notification,) = _inbox(provider.user, 1)
    first = provider_client.post(f"{URL}{notification.pk}/read/")
    assert first.status_code == 200
    assert first.json()["read_at"] is not None
    second = provider_client.post(f"{URL}{notification.pk}/read/")
    assert second.status_code == 200
    assert second.json()["read_at"] == first.json()["read_at"]


def test_another_users_notification_is_404_and_stays_unread(provider_client):
    other = NotificationFactory()
    response = provider_client.post(f"{URL}{other.pk}/read/")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"
    other.refresh_from_db()
    assert other.read_at is None
    assert provider_client.post(f"{URL}{uuid.uuid4()}/read/").status_code == 404


def test_read_all_marks_only_own_unread(provider, provider_client):
    _inbox(provider.user, 2)
    NotificationFactory(recipient_id=provider.user.pk, read_at=timezone.now())
    other = NotificationFactory()
    response = provider_client.post(URL + "read-all/")
    assert response.json() == {"updated": 2}
    assert provider_client.post(URL + "read-all/").json() == {"updated": 0}
    other.refresh_from_db()
    assert other.read_at is None


def test_preferences_show_defaults_then_choices(provider, provider_client):
    response = provider_client.get(URL + "preferences/")
    assert response.status_code == 200
    assert {(p["event_type"], p["channel"]): p["enabled"] for p in response.json()["preferences"]} == {
        ("rating.created", "in_app"): True,
        ("rating.created", "email"): True,
        ("rating.updated", "in_app"): True,
        ("rating.updated", "email"): False,
        ("rating.held", "in_app"): True,
        ("rating.held", "email"): False,
        ("rating.moderated", "in_app"): True,
        ("rating.moderated", "email"): True,
        ("rating.replied", "in_app"): True,
        ("rating.replied", "email"): True,
        ("rating.created", "push"): True,
        ("rating.updated", "push"): False,
        ("rating.held", "push"): False,
        ("rating.moderated", "push"): True,
        ("rating.replied", "push"): True,
        ("reply.moderated", "in_app"): True,
        ("reply.moderated", "email"): True,
        ("reply.moderated", "push"): False,
        ("rating.invited", "in_app"): True,
        ("rating.invited", "email"): True,
        ("rating.invited", "push"): True,
        ("partner.notification", "in_app"): True,
        ("partner.notification", "email"): True,
        ("partner.notification", "push"): True,
        ("rating.invitation_reminder", "in_app"): True,
        ("rating.invitation_reminder", "email"): True,
        ("rating.invitation_reminder", "push"): False,
        # The declared custom type (NOTIFICATIONS_CUSTOM_TYPES' default): inbox and email.
        ("custom.message", "in_app"): True,
        ("custom.message", "email"): True,
        ("custom.message", "push"): False,
        # Critical: shown, always on.
        ("webhook.disabled", "in_app"): True,
        ("webhook.disabled", "push"): True,
        ("account.password_reset", "email"): True,
        ("account.email_verify", "email"): True,
        ("account.export_ready", "email"): True,
    }
    response = provider_client.patch(
        URL + "preferences/",
        {"preferences": [{"event_type": "rating.created", "channel": "email", "enabled": False}]},
    )
    assert response.status_code == 200
    switches = {(p["event_type"], p["channel"]): p["enabled"] for p in response.json()["preferences"]}
    assert switches[("rating.created", "email")] is False
    preference = NotificationPreference.objects.get()
    assert (preference.recipient_id, preference.enabled) == (provider.user.pk, False)


def test_unknown_preference_is_400_and_changes_nothing(provider_client):
    response = provider_client.patch(
        URL + "preferences/",
        {
            "preferences": [
                {"event_type": "rating.created", "channel": "email", "enabled": False},
                {"event_type": "nope", "channel": "email", "enabled": False},
            ]
        },
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "unknown_preference"
    assert NotificationPreference.objects.count() == 0


def test_a_critical_type_cannot_be_switched_off(provider_client, monkeypatch):
    monkeypatch.setitem(
        EVENT_TYPES,
        "account.security",
        EventType(label="Security", build=lambda data: [], defaults={"email": True}, critical=True),
    )
    response = provider_client.patch(
        URL + "preferences/",
        {"preferences": [{"event_type": "account.security", "channel": "email", "enabled": False}]},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "critical_notification"
    assert NotificationPreference.objects.count() == 0
