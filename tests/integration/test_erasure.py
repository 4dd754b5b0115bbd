"""Erasure that erases: after a customer deletes their account, their name, address and words
are nowhere in the database.

A unique marker goes into the customer's name, email address and comments; every flow that
copies them runs for real (sign-up and its verification email, a rating with an
``Idempotency-Key``, an edit that keeps a revision, a report, the provider's reply, a partner's
invitation, the provider's inbox, immediate email, webhook, hourly digest and the partner feed);
the account is deleted; then every text and JSON column of every table of every database is
searched, the columns found by introspection, so a column added later is searched too and fails
this test until erasure handles it.
"""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connections
from django.utils import timezone
from rest_framework.test import APIClient

from apps.core.models import OutboxEvent
from apps.notifications.models import Delivery, Notification
from apps.notifications.outbound.tests.conftest import breaker_redis, receiver_factory  # noqa: F401
from apps.notifications.services import deliveries_send, digests_close, events_ingest, schedule_update
from apps.notifications.subscriptions.webhooks import webhook_create
from apps.partners.feed import feed_consume
from conftest import auth_client
from tests.factories import (
    DEFAULT_PASSWORD,
    CustomerFactory,
    ProviderFactory,
    partner_grant,
    partner_key_create,
    rating_make,
)

pytestmark = pytest.mark.django_db(transaction=False, databases="__all__")

MARKER = "qzvmarker7k"
TEXT_FIELDS = {"CharField", "TextField", "JSONField", "EmailField", "SlugField", "URLField"}


def _hits() -> list[tuple[str, str, str]]:
    """(database, table, column) of every text or JSON column holding the marker."""
    found = []
    for alias in connections:
        connection = connections[alias]
        qn = connection.ops.quote_name
        cast = "::text" if connection.vendor == "postgresql" else ""
        with connection.cursor() as cursor:
            for table in connection.introspection.table_names(cursor):
                for column in connection.introspection.get_table_description(cursor, table):
                    kind = connection.introspection.get_field_type(column.type_code, column)
                    if kind not in TEXT_FIELDS:
                        continue
                    cursor.execute(
                        f"SELECT count(*) FROM {qn(table)} WHERE lower({qn(column.name)}{cast}) LIKE %s",
                        [f"%{MARKER}%"],
                    )
                    if cursor.fetchone()[0]:
                        found.append((alias, table, column.name))
    return found


class Pipeline:
    """The outbox's envelopes, ingested as the consumer would; each batch is kept as a broker
    message still in flight would carry it."""

    def __init__(self, capture):
        self.capture = capture
        self.seen: set = set()
        self.batches: list[list[dict]] = []

    def run(self) -> None:
        rows = list(OutboxEvent.objects.exclude(pk__in=self.seen).order_by("occurred_at", "id"))
        self.seen.update(row.pk for row in rows)
        envelopes = [row.envelope for row in rows]
        self.batches.append(envelopes)
        with self.capture(execute=True):
            events_ingest(envelopes=envelopes)
        due = Delivery.objects.filter(status="pending").values_list("pk", flat=True)
        deliveries_send(delivery_ids=list(due))


@pytest.fixture
def pipeline(django_capture_on_commit_callbacks, send_task):
    return Pipeline(django_capture_on_commit_callbacks)


@pytest.fixture
def webhook_receiver(receiver_factory, breaker_redis):  # noqa: F811 (fixtures imported above)
    return receiver_factory().url()


def test_a_deleted_customer_leaves_no_trace(settings, pipeline, webhook_receiver):
    settings.RATING_INVITATION_URL = "https://app.example.com/rate?invitation={invitation_id}&provider={provider_id}"
    immediate = ProviderFactory()
    digesting = ProviderFactory()
    webhook_create(recipient_id=immediate.user_id, url=webhook_receiver, event_types=[])
    schedule_update(recipient_id=digesting.user_id, rating_emails="hourly")
    # A partner that has both providers (granted by staff): their ratings reach its feed, and it
    # may invite for them.
    key, secret = partner_key_create()
    partner_grant(key, immediate, digesting)

    signup = APIClient().post(
        "/api/v1/customers/",
        {"email": f"{MARKER}@example.com", "password": "long-enough-pass-2026", "name": f"Zelda {MARKER}"},
        format="json",
    )
    assert signup.status_code == 201, signup.content
    customer_id = signup.json()["id"]
    client = APIClient()
    token = client.post(
        "/api/v1/auth/token/", {"email": f"{MARKER}@example.com", "password": "long-enough-pass-2026"}, format="json"
    )
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.json()['access']}")

    ratings = {}
    for provider in (immediate, digesting):
        response = client.post(
            "/api/v1/ratings/",
            {"provider_id": str(provider.pk), "score": 4, "comment": f"Great work, {MARKER} says"},
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"rate-{provider.pk}",
        )
        assert response.status_code == 201, response.content
        ratings[provider] = response.json()["id"]
    edited = client.patch(
        f"/api/v1/ratings/{ratings[immediate]}/", {"score": 2, "comment": f"Changed my mind, {MARKER}"}, format="json"
    )
    assert edited.status_code == 200, edited.content
    someone_elses = rating_make(provider=immediate, score=1, comment="Bad")
    report = client.post(
        f"/api/v1/ratings/{someone_elses.pk}/reports/", {"reason": "spam", "details": f"Reported by {MARKER}"}
    )
    assert report.status_code == 201, report.content
    reply = auth_client(immediate.user).put(
        f"/api/v1/ratings/{ratings[immediate]}/reply/", {"body": "Thanks for the feedback"}, format="json"
    )
    assert reply.status_code in (200, 201), reply.content
    partner = APIClient()
    partner.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    invitation = partner.post(
        "/api/v1/ratings/invitations/",
        {"customer_id": customer_id, "provider_id": str(digesting.pk), "external_reference": "JOB-1"},
    )
    assert invitation.status_code == 201, invitation.content
    pipeline.run()
    digests_close(now=timezone.now() + timedelta(hours=2))
    pipeline.run()

    # Every flow ran and copied the marker: the search below finds what erasure must remove.
    feed, _ = feed_consume(partner=key.partner, provider_id=immediate.pk)
    assert any(MARKER in item.message for item in feed)
    assert any(MARKER in m.body or MARKER in m.subject for m in mail.outbox)
    assert Notification.objects.filter(recipient_id=immediate.user_id, title__contains=MARKER).exists()
    assert Delivery.objects.filter(channel="webhook", payload__data__body__icontains=MARKER).exists()
    assert Delivery.objects.filter(channel="email", recipient_id=digesting.user_id).exists()
    tables = {table for _, table, _ in _hits()}
    assert {
        "accounts_user",
        "ratings_rating",
        "ratings_ratingrevision",
        "ratings_ratingreport",
        "core_outboxevent",
        "core_idempotencykey",
        "notifications_notification",
        "notifications_delivery",
        "notifications_digestitem",
    } <= tables

    deleted = client.delete("/api/v1/customers/me/", {"password": "long-enough-pass-2026"}, format="json")
    assert deleted.status_code == 204
    pipeline.run()
    # Work still queued from before the deletion (a broker message, an outbox event sent again)
    # arrives afterwards and must not bring the marker back.
    for batch in pipeline.batches[:-1]:
        with pipeline.capture(execute=True):
            events_ingest(envelopes=batch)

    assert _hits() == []
    # What stays: the ratings, their scores and the provider's inbox item (without the name).
    item = Notification.objects.get(type="rating.created", data__rating_id=ratings[immediate])
    assert (item.title, item.body, item.data["customer_name"]) == (
        "New 4-star rating from Deleted user",
        "",
        "Deleted user",
    )
    assert not Notification.objects.filter(type__in=["rating.replied", "rating.invited"]).exists()


def test_a_deleted_provider_leaves_no_trace(settings, pipeline):
    settings.RATING_INVITATION_URL = "https://app.example.com/rate?invitation={invitation_id}&provider={provider_id}"
    provider = ProviderFactory(name=f"Pipes {MARKER}", user__email=f"{MARKER}@pipes.example.com")
    customer = CustomerFactory()
    rating = rating_make(customer=customer, provider=provider, score=3, comment="Fine")
    replied = auth_client(provider.user).put(
        f"/api/v1/ratings/{rating.pk}/reply/", {"body": f"Thanks from {MARKER}"}, format="json"
    )
    assert replied.status_code in (200, 201), replied.content
    key, secret = partner_key_create()
    partner_grant(key, provider)
    partner = APIClient()
    partner.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    invited = partner.post(
        "/api/v1/ratings/invitations/",
        {"customer_id": str(customer.pk), "provider_id": str(provider.pk), "external_reference": "JOB-2"},
    )
    assert invited.status_code == 201, invited.content
    pipeline.run()
    assert Notification.objects.filter(recipient_id=customer.user_id, title__icontains=MARKER).exists()

    deleted = auth_client(provider.user).delete("/api/v1/providers/me/", {"password": DEFAULT_PASSWORD}, format="json")
    assert deleted.status_code == 204, deleted.content
    pipeline.run()
    for batch in pipeline.batches[:-1]:
        with pipeline.capture(execute=True):
            events_ingest(envelopes=batch)

    assert _hits() == []
    # The customer keeps their items, without the provider's name or words.
    assert Notification.objects.filter(recipient_id=customer.user_id).count() == 2
