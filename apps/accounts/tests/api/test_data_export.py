"""A user's data export: asked for through the API, built by the task from every app's sections,
mailed as an expiring link, once a day."""

import json
from datetime import UTC, datetime, timedelta
from unittest import mock
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core import mail
from rest_framework.test import APIClient

from apps.accounts.exports import BUILD_TASK, DATA_EXPORTS_PURGE, data_export_build
from apps.accounts.models import DataExport
from apps.core.exports import export_section_names
from apps.core.models import OutboxEvent
from apps.core.retention import registered_purges
from apps.notifications.models import Channel, Delivery, DeliveryStatus, Device, NotificationPreference
from apps.notifications.services import deliveries_send, events_ingest, webhook_create
from apps.ratings.models import RatingHelpfulVote, RatingReply
from conftest import auth_client
from tests.factories import CustomerFactory, NotificationFactory, ProviderFactory, rating_make

pytestmark = pytest.mark.django_db

URL = "/api/v1/accounts/me/export/"


def _z(value) -> str:
    return value.isoformat().replace("+00:00", "Z")


@pytest.fixture
def sent(monkeypatch):
    recorder = mock.Mock()
    monkeypatch.setattr("apps.accounts.exports.current_app.send_task", recorder)
    return recorder


def _ask(client, capture) -> dict:
    with capture(execute=True):
        response = client.post(URL)
    assert response.status_code == 202, response.json()
    return response.json()


def test_asking_answers_202_and_queues_the_build_after_commit(sent, django_capture_on_commit_callbacks):
    customer = CustomerFactory()

    body = _ask(auth_client(customer.user), django_capture_on_commit_callbacks)

    export = DataExport.objects.get()
    assert body == {"id": str(export.pk), "status": "pending", "requested_at": _z(export.requested_at)}
    sent.assert_called_once_with(BUILD_TASK, args=[str(export.pk)])


def test_the_archive_of_a_new_account_has_every_section(sent, django_capture_on_commit_callbacks):
    customer = CustomerFactory()
    _ask(auth_client(customer.user), django_capture_on_commit_callbacks)
    export = DataExport.objects.get()

    assert data_export_build(export_id=export.pk) is True

    export.refresh_from_db()
    user = customer.user
    assert export.archive == {
        "format": "marketplace-ratings.export/1",
        "generated_at": _z(export.ready_at),
        "account": {
            "id": str(user.pk),
            "email": user.email,
            "name": user.name,
            "date_joined": _z(user.date_joined),
            "last_login": None,
            "email_verified_at": None,
            "is_staff": False,
        },
        "customer": {"id": str(customer.pk), "created_at": customer.created_at.isoformat()},
        "deliveries": [],
        "devices": [],
        "helpful_votes": [],
        "inbox": [],
        "notification_preferences": {"switches": [], "schedule": None},
        "provider": None,
        "ratings": [],
        "replies": [],
        "reports": [],
        "webhook_endpoints": [],
    }
    # Every app's registered section is in it (the registry, not a list kept here).
    assert set(export_section_names()) <= set(export.archive)
    assert export.expires_at == export.ready_at + timedelta(days=7)


def test_the_archive_holds_the_users_rows_but_no_secret(sent, django_capture_on_commit_callbacks):
    customer, provider = CustomerFactory(), ProviderFactory()
    rating = rating_make(customer=customer, provider=provider, score=4, comment="Tidy work")
    other = rating_make(customer=CustomerFactory(), provider=ProviderFactory(), score=3)
    RatingHelpfulVote.objects.create(rating=other, user=customer.user)
    user = customer.user
    NotificationFactory(recipient_id=user.pk, title="Hello")
    Device.objects.create(recipient_id=user.pk, token="push-token-secret", platform="ios")
    endpoint = webhook_create(recipient_id=user.pk, url="https://hooks.example.com/me", event_types=[])
    NotificationPreference.objects.create(
        recipient_id=user.pk, event_type="rating.replied", channel=Channel.PUSH, enabled=False
    )
    _ask(auth_client(user), django_capture_on_commit_callbacks)

    data_export_build(export_id=DataExport.objects.get().pk)

    archive = DataExport.objects.get().archive
    assert [(r["id"], r["score"], r["comment"]) for r in archive["ratings"]] == [(str(rating.pk), 4, "Tidy work")]
    assert archive["helpful_votes"] == [
        {"rating_id": str(other.pk), "created_at": RatingHelpfulVote.objects.get().created_at.isoformat()}
    ]
    assert [n["title"] for n in archive["inbox"]] == ["Hello"]
    assert [d["platform"] for d in archive["devices"]] == ["ios"]
    assert [(e["id"], e["url"]) for e in archive["webhook_endpoints"]] == [(str(endpoint.pk), endpoint.url)]
    assert archive["notification_preferences"]["switches"] == [
        {"event_type": "rating.replied", "channel": "push", "enabled": False}
    ]
    text = json.dumps(archive)
    assert endpoint.secret not in text
    assert "push-token-secret" not in text
    assert "password" not in text


def test_replies_are_the_provider_s_own(sent, django_capture_on_commit_callbacks):
    provider = ProviderFactory()
    rating = rating_make(customer=CustomerFactory(), provider=provider, score=5)
    reply = RatingReply.objects.create(rating=rating, body="Thank you")
    _ask(auth_client(provider.user), django_capture_on_commit_callbacks)

    data_export_build(export_id=DataExport.objects.get().pk)

    archive = DataExport.objects.get().archive
    assert archive["replies"] == [
        {
            "id": str(reply.pk),
            "rating_id": str(rating.pk),
            "body": "Thank you",
            "status": reply.status,
            "created_at": reply.created_at.isoformat(),
            "updated_at": reply.updated_at.isoformat(),
        }
    ]
    assert archive["provider"]["id"] == str(provider.pk)
    assert archive["customer"] is None


def test_the_email_links_to_the_archive_which_downloads_until_the_link_expires(
    sent, django_capture_on_commit_callbacks
):
    customer = CustomerFactory()
    _ask(auth_client(customer.user), django_capture_on_commit_callbacks)
    export = DataExport.objects.get()
    data_export_build(export_id=export.pk)
    export.refresh_from_db()

    [event] = OutboxEvent.objects.filter(type="account.export_ready")
    assert event.data["recipient_user_id"] == str(customer.user_id)
    assert event.data["expires_at"] == _z(export.expires_at)
    events_ingest(envelopes=[event.envelope])
    [email] = Delivery.objects.filter(recipient_id=customer.user_id)
    assert (email.channel, email.address) == (Channel.EMAIL, customer.user.email)
    assert deliveries_send(delivery_ids=[email.pk]) == {str(email.pk): DeliveryStatus.SENT}
    [message] = mail.outbox
    assert message.subject == "Your Marketplace Ratings data export is ready"
    link = event.data["link"]["url"]
    assert link in message.body
    # The archive has no unsubscribe link: the user asked for it.
    assert "List-Unsubscribe" not in message.extra_headers

    parts = urlsplit(link)
    download = APIClient().get(f"{parts.path}?{parts.query}")

    assert download.status_code == 200
    assert download.json() == export.archive
    assert download["Content-Disposition"] == f'attachment; filename="marketplace-ratings-export-{export.pk}.json"'
    assert download["Cache-Control"] == "private, no-store"

    with time_machine.travel(export.expires_at + timedelta(seconds=1)):
        expired = APIClient().get(f"{parts.path}?{parts.query}")
    assert expired.status_code == 410
    assert expired.json() == {
        "type": "client_error",
        "errors": [
            {
                "code": "export_link_expired",
                "detail": "This download link has expired: ask for a new export.",
                "attr": None,
            }
        ],
    }


def test_a_wrong_token_or_another_export_s_token_is_404(sent, django_capture_on_commit_callbacks):
    first, second = CustomerFactory(), CustomerFactory()
    _ask(auth_client(first.user), django_capture_on_commit_callbacks)
    _ask(auth_client(second.user), django_capture_on_commit_callbacks)
    for export in DataExport.objects.all():
        data_export_build(export_id=export.pk)
    links = {
        e.data["recipient_user_id"]: e.data["link"] for e in OutboxEvent.objects.filter(type="account.export_ready")
    }
    mine, theirs = links[str(first.user_id)], links[str(second.user_id)]

    wrong = APIClient().get(f"/api/v1/accounts/exports/{mine['uid']}/", {"token": "nope"})
    swapped = APIClient().get(f"/api/v1/accounts/exports/{mine['uid']}/", {"token": theirs["token"]})

    assert wrong.status_code == swapped.status_code == 404
    assert swapped.json()["errors"] == [{"code": "not_found", "detail": "No such export.", "attr": None}]


def test_one_export_per_day_then_429_with_when(sent, django_capture_on_commit_callbacks):
    customer = CustomerFactory()
    # Each call signs in at its time (an access token lives minutes, not hours).
    with time_machine.travel(datetime(2026, 12, 7, 10, 0, tzinfo=UTC), tick=False):
        _ask(auth_client(customer.user), django_capture_on_commit_callbacks)
    with time_machine.travel(datetime(2026, 12, 7, 16, 0, tzinfo=UTC), tick=False):
        again = auth_client(customer.user).post(URL)
    assert again.status_code == 429
    assert again.json() == {
        "type": "client_error",
        "errors": [
            {
                "code": "export_too_soon",
                "detail": "One data export per day: the next can be asked for at 2026-12-08T10:00:00Z.",
                "attr": None,
            }
        ],
    }
    assert again["Retry-After"] == str(18 * 3600 + 1)
    assert DataExport.objects.count() == 1
    with time_machine.travel(datetime(2026, 12, 8, 10, 0, tzinfo=UTC), tick=False):
        _ask(auth_client(customer.user), django_capture_on_commit_callbacks)
    assert DataExport.objects.count() == 2


def test_the_build_is_idempotent(sent, django_capture_on_commit_callbacks):
    _ask(auth_client(CustomerFactory().user), django_capture_on_commit_callbacks)
    export = DataExport.objects.get()

    assert data_export_build(export_id=export.pk) is True
    assert data_export_build(export_id=export.pk) is False
    assert data_export_build(export_id="00000000-0000-0000-0000-000000000000") is False

    assert OutboxEvent.objects.filter(type="account.export_ready").count() == 1


def test_anonymous_is_401(api_client):
    response = api_client.post(URL)

    assert response.status_code == 401
    assert not DataExport.objects.exists()


def test_the_purge_keeps_an_export_while_it_limits_or_its_link_works():
    from django.utils import timezone

    from apps.core.tasks import retention_purge_task

    assert DATA_EXPORTS_PURGE in registered_purges(app_label="core")
    assert DATA_EXPORTS_PURGE.retention() == timedelta(days=7)
    user = CustomerFactory().user
    now = timezone.now()
    old = DataExport.objects.create(user=user, requested_at=now - timedelta(days=7, minutes=1))
    kept = DataExport.objects.create(user=user, requested_at=now - timedelta(days=6, hours=23))

    assert retention_purge_task()["account_exports"] == 1

    assert set(DataExport.objects.values_list("pk", flat=True)) == {kept.pk}
    assert not DataExport.objects.filter(pk=old.pk).exists()


def test_deleting_the_account_deletes_its_exports(sent, django_capture_on_commit_callbacks):
    from apps.accounts.services import user_erase
    from tests.factories import DEFAULT_PASSWORD

    customer = CustomerFactory()
    _ask(auth_client(customer.user), django_capture_on_commit_callbacks)
    data_export_build(export_id=DataExport.objects.get().pk)

    user_erase(user=customer.user, password=DEFAULT_PASSWORD)

    assert not DataExport.objects.exists()
