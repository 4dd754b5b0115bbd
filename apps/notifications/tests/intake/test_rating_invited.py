"""A partner's invitation reaches the customer: outbox → ingest → inbox item and an email with the link."""

from unittest import mock

import pytest
from django.core import mail
from rest_framework.test import APIClient

from apps.core.models import OutboxEvent
from apps.core.outbox import outbox_dispatch
from apps.notifications.models import Delivery, Notification, NotificationPreference
from apps.notifications.services import delivery_attempt, events_ingest
from apps.notifications.tasks import ingest_events_task
from apps.notifications.tests.conftest import envelope
from tests.factories import partner_grant, partner_key_create

pytestmark = pytest.mark.django_db

URL = "https://app.example.com/rate?invitation={invitation_id}&provider={provider_id}"


@pytest.fixture
def partner(db, provider):
    key, secret = partner_key_create()
    partner_grant(key, provider)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return client


def _published_envelope(publish) -> dict:
    assert outbox_dispatch() == 1
    ((envelope_,),) = publish.call_args.kwargs["args"]
    return envelope_


def test_an_invitation_notifies_the_customer_in_the_inbox_and_by_email(
    partner, customer, provider, settings, send_task, django_capture_on_commit_callbacks
):
    settings.RATING_INVITATION_URL = URL
    settings.NOTIFICATIONS_PUBLIC_BASE_URL = "https://ratings.test"
    with (
        mock.patch("apps.core.outbox.current_app.send_task") as publish,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = partner.post(
            "/api/v1/ratings/invitations/",
            {"customer_id": str(customer.pk), "provider_id": str(provider.pk), "external_reference": "JOB-7"},
        )
        assert response.status_code == 201
        publish.assert_not_called()  # only the outbox row on the request path
        event = _published_envelope(publish)
    invitation = response.json()
    link = f"https://app.example.com/rate?invitation={invitation['id']}&provider={provider.pk}"
    assert event["type"] == "rating.invited"

    with django_capture_on_commit_callbacks(execute=True):
        assert ingest_events_task([event]) == 1

    item = Notification.objects.get()
    expires_day = invitation["expires_at"][:10]
    assert (item.recipient_id, item.type, item.title, item.body) == (
        customer.user_id,
        "rating.invited",
        f"Rate {provider.name}: your rating will be verified",
        f"{provider.name} did a job for you. Rate it (or update your rating) with this invitation "
        f"before {expires_day} and it is shown as verified.",
    )
    assert item.data == {
        "invitation_id": invitation["id"],
        "provider_id": str(provider.pk),
        "provider_name": provider.name,
        "expires_at": event["data"]["expires_at"],
        "url": link,
    }
    delivery = Delivery.objects.get()
    assert (delivery.channel, delivery.address) == ("email", customer.user.email)
    assert delivery_attempt(delivery_id=delivery.pk) == "sent"
    (message,) = mail.outbox
    assert message.to == [customer.user.email]
    assert message.subject == item.title
    assert f"Rate {provider.name}: {link}" in message.body
    assert f'href="{link.replace("&", "&amp;")}"' in message.alternatives[0].content
    # Not critical: the customer can unsubscribe from invitation emails.
    assert message.extra_headers["List-Unsubscribe"].startswith("<https://ratings.test/notifications/unsubscribe/")
    assert OutboxEvent.objects.get().confirmed_at is not None


def test_invitation_emails_follow_the_email_switch(send_task, django_capture_on_commit_callbacks):
    event = envelope(
        type="rating.invited",
        invitation_id="5b0c3c1e-0000-4000-8000-000000000001",
        provider_name="Pipes Ltd",
        expires_at="2026-12-30T10:00:00+00:00",
        url="https://app.example.com/rate?invitation=x",
        recipient_role="customer",
    )
    NotificationPreference.objects.create(
        recipient_id=event["data"]["recipient_user_id"], event_type="rating.invited", channel="email", enabled=False
    )

    with django_capture_on_commit_callbacks(execute=True):
        (item,) = events_ingest(envelopes=[event])

    assert item.title == "Rate Pipes Ltd: your rating will be verified"
    assert not Delivery.objects.exists()
    send_task.assert_not_called()


def test_a_malformed_invitation_event_is_skipped(send_task):
    broken = envelope(type="rating.invited", provider_name="Pipes Ltd", url="https://x")  # no invitation_id

    assert events_ingest(envelopes=[broken]) == []
    assert not Notification.objects.exists()


@pytest.mark.parametrize(
    ("change", "title"),
    [
        ({"score": 5, "previous_score": 5}, "Alice's 5-star rating is now verified"),
        ({"score": 4, "previous_score": 2}, "Alice changed their rating from 2-star to 4-star (now verified)"),
    ],
    ids=["verified only", "verified and rescored"],
)
def test_a_verification_tells_the_provider(send_task, change, title):
    event = envelope(type="rating.updated", verified=True, previous_verified=False, **change)

    (item,) = events_ingest(envelopes=[event])

    assert item.title == title
    assert item.data == {
        "rating_id": event["data"]["rating_id"],
        "provider_id": event["data"]["provider_id"],
        "score": change["score"],
        "previous_score": change["previous_score"],
        "verified": True,
    }
