import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

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


def test_the_inbox_lists_own_notifications_newest_first(provider, provider_client, django_assert_max_num_queries):
    items = _inbox(provider.user, 3)
    NotificationFactory()  # someone else's
    with django_assert_max_num_queries(2):
        response = provider_client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert [r["id"] for r in body["results"]] == [str(n.pk) for n in items]
    assert body["next"] is None
    first = body["results"][0]
    assert set(first) == {"id", "type", "title", "body", "data", "created_at", "read_at"}
    assert first["type"] == "rating.created"
    assert first["read_at"] is None


def test_the_inbox_query_count_does_not_grow_with_the_page(provider, provider_client, django_assert_max_num_queries):
    _inbox(provider.user, 25)
    with django_assert_max_num_queries(2):
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


def test_unread_count(provider, provider_client, django_assert_max_num_queries):
    _inbox(provider.user, 3)
    NotificationFactory(recipient_id=provider.user.pk, read_at=timezone.now())
    NotificationFactory()
    # One query loads the token's user (main deployment's JWTAuthentication), one counts.
    with django_assert_max_num_queries(2):
        response = provider_client.get(URL + "unread-count/")
    assert response.json() == {"unread": 3}


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
        # Critical: shown, always on.
        ("webhook.disabled", "in_app"): True,
        ("webhook.disabled", "push"): True,
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
