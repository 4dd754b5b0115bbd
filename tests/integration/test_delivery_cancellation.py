"""A deleted or hidden rating cancels the deliveries about it that have not gone out.

Real flow: the API writes the rating and its outbox events, the ingest turns the envelopes
into inbox items and deliveries, the engine sends them (locmem email backend, or a real SMTP
sink on loopback for a send in flight).
"""

import pytest
from django.core import mail

from apps.core.models import OutboxEvent
from apps.notifications.delivery import engine as engine_module
from apps.notifications.models import Delivery, DeliveryStatus, Notification
from apps.notifications.services import deliveries_send, deliveries_sweep, events_ingest
from apps.ratings.models import RatingStatus
from apps.ratings.services import rating_moderate, reply_moderate, reply_set
from tests.factories import moderator_create

pytestmark = pytest.mark.django_db


class Outbox:
    """The envelopes the ratings app published since the last ``take``."""

    def __init__(self):
        self.seen: set = set()

    def take(self) -> list[dict]:
        rows = OutboxEvent.objects.exclude(pk__in=self.seen).order_by("occurred_at", "id")
        envelopes = [row.envelope for row in rows]
        self.seen.update(row.pk for row in rows)
        return envelopes


@pytest.fixture
def outbox(db):
    return Outbox()


def _ingest(envelopes, capture) -> None:
    with capture(execute=True):
        events_ingest(envelopes=envelopes)


@pytest.fixture
def rated(customer_client, provider, outbox, django_capture_on_commit_callbacks, send_task):
    """A published rating whose "new rating" email to the provider is pending."""
    response = customer_client.post("/api/v1/ratings/", {"provider_id": str(provider.pk), "score": 2}, format="json")
    assert response.status_code == 201
    _ingest(outbox.take(), django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.address) == (DeliveryStatus.PENDING, provider.user.email)
    return response.json()["id"], delivery


def _status(delivery) -> str:
    delivery.refresh_from_db()
    return delivery.status


def test_deleting_the_rating_cancels_its_pending_email(
    rated, customer_client, outbox, django_capture_on_commit_callbacks
):
    rating_id, delivery = rated

    assert customer_client.delete(f"/api/v1/ratings/{rating_id}/").status_code == 204
    envelopes = outbox.take()
    # One event, the deletion itself (version 2); the intake's handler makes it a cancellation.
    assert [(e["type"], e["version"], e["data"]["rating_id"]) for e in envelopes] == [("rating.deleted", 2, rating_id)]
    _ingest(envelopes, django_capture_on_commit_callbacks)

    assert _status(delivery) == DeliveryStatus.CANCELLED
    assert delivery.cancelled_at is not None
    # The task already holding its id, and the sweeper, leave it alone: nothing is sent.
    assert deliveries_send(delivery_ids=[delivery.pk]) == {}
    assert deliveries_sweep() == 0
    assert mail.outbox == []
    assert (_status(delivery), delivery.attempts) == (DeliveryStatus.CANCELLED, 0)
    # No inbox item announces a deletion; the earlier one stays (the inbox is the provider's).
    assert list(Notification.objects.values_list("type", flat=True)) == ["rating.created"]


def test_hiding_cancels_what_came_before_but_sends_the_decision(
    rated, customer, provider, outbox, django_capture_on_commit_callbacks
):
    _, delivery = rated

    rating = customer.ratings.get()
    rating_moderate(rating=rating, to_status=RatingStatus.HIDDEN, reason="Abusive", moderator=moderator_create())
    _ingest(outbox.take(), django_capture_on_commit_callbacks)

    assert _status(delivery) == DeliveryStatus.CANCELLED
    decisions = Delivery.objects.exclude(pk=delivery.pk)
    assert sorted((d.address, d.status) for d in decisions) == sorted(
        [(provider.user.email, DeliveryStatus.PENDING), (customer.user.email, DeliveryStatus.PENDING)]
    )
    sent = deliveries_send(delivery_ids=[d.pk for d in Delivery.objects.all()])
    assert sorted(sent.values()) == [DeliveryStatus.SENT, DeliveryStatus.SENT]
    assert sorted(m.subject for m in mail.outbox) == sorted(
        [
            f"A 2-star rating from {customer.user.name} was hidden",
            f"Your rating of {provider.name} was hidden",
        ]
    )


def test_a_rating_and_its_deletion_in_one_batch_send_nothing(
    customer_client, provider, outbox, django_capture_on_commit_callbacks, send_task
):
    response = customer_client.post("/api/v1/ratings/", {"provider_id": str(provider.pk), "score": 5}, format="json")
    customer_client.delete(f"/api/v1/ratings/{response.json()['id']}/")

    _ingest(outbox.take(), django_capture_on_commit_callbacks)

    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.CANCELLED
    assert deliveries_send(delivery_ids=[delivery.pk]) == {}
    assert mail.outbox == []


def test_a_delivery_waiting_to_retry_is_cancelled_and_never_retried(
    rated, customer_client, outbox, django_capture_on_commit_callbacks
):
    rating_id, delivery = rated
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.RETRY, attempts=2)

    customer_client.delete(f"/api/v1/ratings/{rating_id}/")
    _ingest(outbox.take(), django_capture_on_commit_callbacks)

    assert (_status(delivery), delivery.attempts) == (DeliveryStatus.CANCELLED, 2)
    assert deliveries_sweep() == 0
    assert deliveries_send(delivery_ids=[delivery.pk]) == {}
    assert mail.outbox == []


def test_sent_and_dead_deliveries_are_left_as_they_are(
    rated, customer_client, outbox, django_capture_on_commit_callbacks
):
    rating_id, delivery = rated
    assert deliveries_send(delivery_ids=[delivery.pk]) == {str(delivery.pk): DeliveryStatus.SENT}

    customer_client.delete(f"/api/v1/ratings/{rating_id}/")
    _ingest(outbox.take(), django_capture_on_commit_callbacks)

    assert _status(delivery) == DeliveryStatus.SENT


def test_a_cancel_between_the_claim_and_the_send_stops_the_send(
    rated, customer_client, outbox, django_capture_on_commit_callbacks, monkeypatch
):
    rating_id, delivery = rated
    customer_client.delete(f"/api/v1/ratings/{rating_id}/")
    deletion = outbox.take()
    claim = engine_module.claim

    def claim_then_cancel(*args, **kwargs):
        rows = claim(*args, **kwargs)
        # The deletion is ingested while this worker holds the claimed row.
        _ingest(deletion, django_capture_on_commit_callbacks)
        return rows

    monkeypatch.setattr(engine_module, "claim", claim_then_cancel)

    assert deliveries_send(delivery_ids=[delivery.pk]) == {str(delivery.pk): DeliveryStatus.CANCELLED}
    assert mail.outbox == []
    delivery.refresh_from_db()
    # The claim's attempt is given back: nothing was tried.
    assert (delivery.status, delivery.attempts, delivery.locked_until) == (DeliveryStatus.CANCELLED, 0, None)


def test_a_send_already_under_way_is_recorded_as_what_happened(
    rated, customer_client, outbox, django_capture_on_commit_callbacks, monkeypatch
):
    rating_id, delivery = rated
    customer_client.delete(f"/api/v1/ratings/{rating_id}/")
    deletion = outbox.take()
    send = engine_module._traced_send

    def cancel_during_send(session, row):
        _ingest(deletion, django_capture_on_commit_callbacks)
        return send(session, row)

    monkeypatch.setattr(engine_module, "_traced_send", cancel_during_send)

    # The message had left when the cancellation came: the record says so rather than "cancelled".
    assert deliveries_send(delivery_ids=[delivery.pk]) == {str(delivery.pk): DeliveryStatus.SENT}
    assert len(mail.outbox) == 1
    assert _status(delivery) == DeliveryStatus.SENT


def test_a_failed_send_under_way_stays_cancelled_instead_of_retrying(
    rated, customer_client, outbox, django_capture_on_commit_callbacks, monkeypatch, settings, closed_port
):
    rating_id, delivery = rated
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", closed_port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    customer_client.delete(f"/api/v1/ratings/{rating_id}/")
    deletion = outbox.take()
    send = engine_module._traced_send

    def cancel_during_send(session, row):
        _ingest(deletion, django_capture_on_commit_callbacks)
        return send(session, row)

    monkeypatch.setattr(engine_module, "_traced_send", cancel_during_send)

    assert deliveries_send(delivery_ids=[delivery.pk]) == {str(delivery.pk): DeliveryStatus.CANCELLED}
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.CANCELLED, 1)
    assert deliveries_sweep() == 0


def test_hiding_a_reply_cancels_only_the_reply_notice(rated, customer, outbox, django_capture_on_commit_callbacks):
    _, rating_delivery = rated
    rating = customer.ratings.get()
    reply = reply_set(rating=rating, body="Sorry, we will call you")
    _ingest(outbox.take(), django_capture_on_commit_callbacks)
    reply_notice = Delivery.objects.get(notification__type="rating.replied")
    assert reply_notice.address == customer.user.email

    reply_moderate(reply=reply, to_status=RatingStatus.HIDDEN, reason="Off topic", moderator=moderator_create())
    _ingest(outbox.take(), django_capture_on_commit_callbacks)

    assert _status(reply_notice) == DeliveryStatus.CANCELLED
    assert _status(rating_delivery) == DeliveryStatus.PENDING
    assert Delivery.objects.get(notification__type="reply.moderated").status == DeliveryStatus.PENDING


def test_a_malformed_cancelling_event_cancels_nothing(rated, django_capture_on_commit_callbacks):
    _, delivery = rated

    _ingest(
        [
            {"id": "8c1f7f50-0000-4000-8000-000000000001", "type": "rating.deleted", "data": {"rating_id": "nope"}},
            {"id": "8c1f7f50-0000-4000-8000-000000000002", "type": "rating.deleted", "data": None},
        ],
        django_capture_on_commit_callbacks,
    )

    assert _status(delivery) == DeliveryStatus.PENDING
