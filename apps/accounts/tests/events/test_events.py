"""The accounts app's published events: type, version and payload as the outbox records them."""

import pytest

from apps.accounts import events
from apps.accounts.services import email_verification_send, password_reset_request, user_erase
from apps.core.models import OutboxEvent
from tests.factories import UserFactory


def test_the_catalogue_names_each_type_once_with_its_version():
    assert [(t.TYPE, t.VERSION) for t in events.EVENT_TYPES] == [
        ("account.password_reset", 1),
        ("account.email_verify", 1),
        ("account.export_ready", 1),
        ("account.locale_set", 1),
        ("account.deleted", 1),
    ]


@pytest.mark.django_db
def test_a_reset_request_records_its_typed_event_in_the_outbox(settings):
    settings.ACCOUNT_PASSWORD_RESET_URL = "https://app.example/reset?uid={uid}&token={token}"
    user = UserFactory(email="ann@example.com", name="Ann", password="a-long-password-1")

    password_reset_request(email="ann@example.com")

    [row] = OutboxEvent.objects.all()
    link = row.data["link"]
    assert (row.type, row.version) == ("account.password_reset", 1)
    assert row.data == {
        "recipient_user_id": str(user.pk),
        "recipient_email": "ann@example.com",
        "recipient_name": "Ann",
        "link": {"url": f"https://app.example/reset?uid={link['uid']}&token={link['token']}", **link},
        "purpose": "reset",
    }
    assert set(link) == {"url", "uid", "token"} and link["uid"] and link["token"]


@pytest.mark.django_db
def test_a_verification_link_and_an_erasure_record_their_typed_events():
    user = UserFactory(email="bob@example.com", name="Bob", password="a-long-password-1", email_verified_at=None)

    email_verification_send(user=user)
    user_erase(user=user, password="a-long-password-1")

    verify, erased = OutboxEvent.objects.order_by("created_at", "type")
    assert (verify.type, verify.version) == ("account.email_verify", 1)
    # The erasure redacted the address the pending verification email would have carried.
    assert verify.data["recipient_email"] == ""
    assert (erased.type, erased.version, erased.data) == (
        "account.deleted",
        1,
        {"recipient_user_id": str(user.pk), "rating_ids": [], "provider_id": None},
    )
