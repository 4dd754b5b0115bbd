"""Inbox states: unread again, seen, archived, and the counts of several filters in one call."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.notifications.models import Notification
from tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/notifications/"
NOW = timezone.now().replace(microsecond=0)


def _item(user, minutes_ago: int = 0, **fields) -> Notification:
    return NotificationFactory(
        recipient_id=user.pk,
        title="New 5-star rating",
        body="Great job.",
        data={"score": 5},
        created_at=NOW - timedelta(minutes=minutes_ago),
        **fields,
    )


def _body(item: Notification, **changes) -> dict:
    body = {
        "id": str(item.pk),
        "type": "rating.created",
        "title": "New 5-star rating",
        "body": "Great job.",
        "data": {"score": 5},
        "created_at": item.created_at.isoformat().replace("+00:00", "Z"),
        "read_at": None,
        "seen_at": None,
        "archived_at": None,
    }
    return {**body, **changes}


def _iso(value) -> str:
    return value.isoformat().replace("+00:00", "Z")


def test_mark_unread_makes_a_read_item_unread_again_and_repeating_changes_nothing(provider, provider_client):
    item = _item(provider.user, read_at=NOW)
    response = provider_client.post(f"{URL}{item.pk}/unread/")
    assert response.status_code == 200
    assert response.json() == _body(item)
    assert provider_client.post(f"{URL}{item.pk}/unread/").json() == _body(item)
    item.refresh_from_db()
    assert item.read_at is None
    assert provider_client.get(URL + "unread-count/").json() == {"unread": 1}


def test_archive_leaves_the_default_list_and_unarchive_brings_it_back(provider, provider_client):
    kept, archived = _item(provider.user, 1), _item(provider.user, 2)
    response = provider_client.post(f"{URL}{archived.pk}/archive/")
    assert response.status_code == 200
    archived.refresh_from_db()
    assert archived.archived_at is not None
    assert response.json() == _body(archived, archived_at=_iso(archived.archived_at))
    # Archiving again keeps the first time.
    assert provider_client.post(f"{URL}{archived.pk}/archive/").json()["archived_at"] == _iso(archived.archived_at)

    assert [r["id"] for r in provider_client.get(URL).json()["results"]] == [str(kept.pk)]
    assert [r["id"] for r in provider_client.get(URL, {"archived": "true"}).json()["results"]] == [str(archived.pk)]
    assert provider_client.get(URL + "unread-count/").json() == {"unread": 1}

    response = provider_client.post(f"{URL}{archived.pk}/unarchive/")
    assert response.status_code == 200
    assert response.json() == _body(archived)
    assert [r["id"] for r in provider_client.get(URL).json()["results"]] == [str(kept.pk), str(archived.pk)]


def test_seen_marks_only_own_unseen_items(provider, provider_client):
    first, second = _item(provider.user, 1), _item(provider.user, 2)
    already = _item(provider.user, 3, seen_at=NOW - timedelta(minutes=1))
    other = NotificationFactory()
    response = provider_client.post(
        URL + "seen/", {"ids": [str(first.pk), str(already.pk), str(other.pk), str(uuid.uuid4())]}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == {"updated": 1}
    first.refresh_from_db()
    second.refresh_from_db()
    already.refresh_from_db()
    other.refresh_from_db()
    assert first.seen_at is not None
    assert (second.seen_at, other.seen_at) == (None, None)
    assert already.seen_at == NOW - timedelta(minutes=1)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, {"code": "required", "detail": "This field is required.", "attr": "ids"}),
        ({"ids": []}, {"code": "min_length", "detail": "Ensure this field has at least 1 elements.", "attr": "ids"}),
        ({"ids": ["nope"]}, {"code": "invalid", "detail": "Must be a valid UUID.", "attr": "ids.0"}),
        (
            {"ids": [str(uuid.uuid4()) for _ in range(101)]},
            {"code": "max_length", "detail": "Ensure this field has no more than 100 elements.", "attr": "ids"},
        ),
    ],
)
def test_bad_seen_input_is_a_400_and_changes_nothing(provider, provider_client, body, error):
    item = _item(provider.user)
    response = provider_client.post(URL + "seen/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {"type": "validation_error", "errors": [error]}
    item.refresh_from_db()
    assert item.seen_at is None


@pytest.mark.parametrize("action", ["unread", "archive", "unarchive"])
def test_another_users_item_is_404_and_unchanged(provider_client, action):
    other = NotificationFactory(read_at=NOW, archived_at=NOW if action == "unarchive" else None)
    response = provider_client.post(f"{URL}{other.pk}/{action}/")
    assert response.status_code == 404
    assert response.json() == {
        "type": "client_error",
        "errors": [{"code": "not_found", "detail": "Not found.", "attr": None}],
    }
    before = (other.read_at, other.archived_at)
    other.refresh_from_db()
    assert (other.read_at, other.archived_at) == before


def test_counts_of_several_filters_in_one_query(provider, provider_client):
    _item(provider.user, 1)  # unread, unseen
    _item(provider.user, 2, seen_at=NOW)  # unread, seen
    _item(provider.user, 3, read_at=NOW, seen_at=NOW)  # read, seen
    _item(provider.user, 4, archived_at=NOW)  # archived (unread, unseen: not counted as such)
    NotificationFactory()  # someone else's
    with CaptureQueriesContext(connection) as queries:
        response = provider_client.get(URL + "counts/")
    assert response.status_code == 200
    assert response.json() == {"unread": 2, "unseen": 1, "archived": 1, "total": 4}
    assert len(queries) == 1
    assert "accounts_user" not in queries.captured_queries[0]["sql"]


def test_read_all_leaves_the_archive_alone(provider, provider_client):
    _item(provider.user, 1)
    archived = _item(provider.user, 2, archived_at=NOW)
    assert provider_client.post(URL + "read-all/").json() == {"updated": 1}
    archived.refresh_from_db()
    assert archived.read_at is None


@pytest.mark.parametrize("path", ["counts/", "seen/", f"{uuid.uuid4()}/archive/"])
def test_the_state_endpoints_need_authentication(api_client, path):
    method = api_client.get if path == "counts/" else api_client.post
    response = method(URL + path)
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "not_authenticated"


@pytest.mark.postgres
def test_the_default_inbox_list_is_served_by_its_partial_index(provider):
    from apps.notifications.selectors import notification_list

    _item(provider.user)
    queryset = notification_list(recipient_id=provider.user.pk)[:20]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = queryset.explain()
    assert "notif_inbox_active_idx" in plan
    assert "Sort" not in plan
