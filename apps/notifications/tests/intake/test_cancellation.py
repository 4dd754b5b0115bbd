"""services/cancellation.py on envelopes alone: which events cancel which deliveries."""

import uuid

import pytest
from django.utils.dateparse import parse_datetime

from apps.notifications.intake.cancellation import Cancellation, cancellation_of
from apps.notifications.models import (
    Delivery,
    DeliveryCancellation,
    DeliveryStatus,
    Device,
    Notification,
    WebhookEndpoint,
)
from apps.notifications.services import events_ingest, preference_set
from apps.notifications.tests.conftest import envelope
from tests.factories import DeliveryFactory, NotificationFactory

pytestmark = pytest.mark.django_db

RATING = str(uuid.uuid4())
BEFORE = "2026-01-02T03:04:04+00:00"  # the conftest envelopes occur at 03:04:05
AFTER = "2026-01-02T03:04:06+00:00"


def _delivery(*, type="rating.created", rating_id=RATING, at=BEFORE, status=DeliveryStatus.PENDING) -> Delivery:
    item = NotificationFactory(type=type, data={"rating_id": rating_id, "score": 5})
    return DeliveryFactory(notification=item, status=status, event_at=parse_datetime(at))


def _statuses(*deliveries) -> list[str]:
    return [Delivery.objects.get(pk=d.pk).status for d in deliveries]


def test_which_events_cancel():
    deleted = envelope(type="rating.deleted", rating_id=RATING)
    hidden = envelope(type="rating.moderated", rating_id=RATING, status="hidden")
    republished = envelope(type="rating.moderated", rating_id=RATING, status="published")
    reply_hidden = envelope(type="reply.moderated", rating_id=RATING, reply_status="hidden")
    when = parse_datetime("2026-01-02T03:04:05+00:00")

    assert cancellation_of(deleted) == Cancellation(event_id=uuid.UUID(deleted["id"]), rating_id=RATING, before=when)
    assert cancellation_of(hidden) == Cancellation(event_id=uuid.UUID(hidden["id"]), rating_id=RATING, before=when)
    assert cancellation_of(reply_hidden) == Cancellation(
        event_id=uuid.UUID(reply_hidden["id"]), rating_id=RATING, before=when, event_types=("rating.replied",)
    )
    assert cancellation_of(republished) is None
    assert cancellation_of(envelope(type="rating.created", rating_id=RATING)) is None
    assert cancellation_of({"type": "rating.deleted", "data": {"rating_id": "not-a-uuid"}}) is None
    assert cancellation_of({"type": "rating.deleted", "data": {}}) is None
    assert cancellation_of("rating.deleted") is None


def test_a_deletion_cancels_every_unfinished_delivery_of_earlier_events_of_that_rating_only():
    pending, retry, sending = (_delivery(status=s) for s in ("pending", "retry", "sending"))
    sent, dead = _delivery(status="sent"), _delivery(status="dead")
    later = _delivery(at=AFTER)
    other_rating = _delivery(rating_id=str(uuid.uuid4()))

    assert events_ingest(envelopes=[envelope(type="rating.deleted", rating_id=RATING)]) == []

    assert _statuses(pending, retry, sending) == ["cancelled"] * 3
    assert _statuses(sent, dead, later, other_rating) == ["sent", "dead", "pending", "pending"]
    assert Delivery.objects.filter(status="cancelled", cancelled_at__isnull=True).count() == 0


def test_a_hidden_reply_cancels_only_the_reply_notices():
    replied = _delivery(type="rating.replied")
    created = _delivery(type="rating.created")

    events_ingest(envelopes=[envelope(type="reply.moderated", rating_id=RATING, reply_status="hidden")])

    assert _statuses(replied, created) == ["cancelled", "pending"]


def test_ingesting_the_cancellation_again_changes_nothing():
    pending = _delivery()
    deleted = envelope(type="rating.deleted", rating_id=RATING)
    events_ingest(envelopes=[deleted])
    cancelled_at = Delivery.objects.get(pk=pending.pk).cancelled_at

    events_ingest(envelopes=[deleted])

    assert Delivery.objects.get(pk=pending.pk).cancelled_at == cancelled_at


def test_an_earlier_event_ingested_after_the_deletion_is_cancelled_as_it_arrives(send_task):
    deleted = envelope(type="rating.deleted", rating_id=RATING)
    events_ingest(envelopes=[deleted])
    assert DeliveryCancellation.objects.get().event_id == uuid.UUID(deleted["id"])

    # The rating's creation, delayed (a lost broker message the relay sent again).
    late = envelope(type="rating.created", rating_id=RATING)
    late["occurred_at"] = BEFORE
    assert len(events_ingest(envelopes=[late])) == 1

    assert list(Delivery.objects.values_list("status", flat=True)) == ["cancelled"]


def test_an_event_after_the_hiding_is_not_cancelled_by_it(send_task):
    events_ingest(envelopes=[envelope(type="rating.moderated", rating_id=RATING, status="hidden")])

    republished = envelope(type="rating.moderated", rating_id=RATING, status="published")
    republished["occurred_at"] = AFTER
    events_ingest(envelopes=[republished])

    assert sorted(Delivery.objects.values_list("status", flat=True)) == ["pending", "pending"]
    assert [d.notification.data["status"] for d in Delivery.objects.select_related("notification")] in (
        ["hidden", "published"],
        ["published", "hidden"],
    )


def test_a_malformed_rating_id_in_a_notice_does_not_stop_its_batch(send_task):
    broken = envelope(rating_id="not-a-uuid")

    assert len(events_ingest(envelopes=[broken, envelope()])) == 2


@pytest.mark.postgres
def test_the_items_of_a_rating_are_found_by_their_index():
    from django.db import connection

    from apps.notifications.models import Notification

    _delivery()
    sql, params = Notification.objects.filter(data__rating_id=RATING).values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        # On a handful of rows a sequential scan is cheapest: ask whether the index can serve it.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "notifications_rating_idx" in plan


def test_a_deletion_cancels_the_deliveries_of_a_recipient_without_inbox_items(send_task):
    recipient = uuid.uuid4()
    for event_type in ("rating.created", "rating.replied"):
        preference_set(recipient_id=recipient, event_type=event_type, channel="in_app", enabled=False)
    Device.objects.create(recipient_id=recipient, token="tok-1", platform="ios")
    WebhookEndpoint.objects.create(recipient_id=recipient, url="https://hooks.example.com/r", secret="s" * 32)
    created = envelope(type="rating.created", rating_id=RATING, recipient_id=recipient)
    created["occurred_at"] = BEFORE
    events_ingest(envelopes=[created])
    # What a switched-off inbox leaves: an email and a push carrying the notice, a webhook its body.
    assert not Notification.objects.exists()
    deliveries = list(Delivery.objects.order_by("channel"))
    assert [d.channel for d in deliveries] == ["email", "push", "webhook"]
    other = envelope(type="rating.created", recipient_id=recipient)
    other["occurred_at"] = BEFORE
    events_ingest(envelopes=[other])
    unrelated = list(Delivery.objects.exclude(pk__in=[d.pk for d in deliveries]))

    events_ingest(envelopes=[envelope(type="rating.deleted", rating_id=RATING)])

    assert _statuses(*deliveries) == ["cancelled"] * 3
    assert _statuses(*unrelated) == ["pending"] * 3


def test_a_hidden_reply_cancels_only_the_reply_notices_without_inbox_items_too(send_task):
    recipient = uuid.uuid4()
    for event_type in ("rating.created", "rating.replied"):
        preference_set(recipient_id=recipient, event_type=event_type, channel="in_app", enabled=False)
    replied = envelope(type="rating.replied", rating_id=RATING, recipient_id=recipient, reply_excerpt="Thanks")
    created = envelope(type="rating.created", rating_id=RATING, recipient_id=recipient)
    for event in (replied, created):
        event["occurred_at"] = BEFORE
    events_ingest(envelopes=[replied, created])
    assert not Notification.objects.exists()
    by_type = {d.payload["notice"]["type"]: d for d in Delivery.objects.filter(channel="email")}

    events_ingest(envelopes=[envelope(type="reply.moderated", rating_id=RATING, reply_status="hidden")])

    assert _statuses(by_type["rating.replied"], by_type["rating.created"]) == ["cancelled", "pending"]
