"""Retention of inbox items, deliveries and delivery log lines (services/retention.py)."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.retention import purge_run, purges_run
from apps.notifications.models import (
    Delivery,
    DeliveryAttempt,
    DeliveryCancellation,
    DeliveryStatus,
    Digest,
    DigestItem,
    Notification,
)
from apps.notifications.services.retention import (
    CANCELLATIONS_PURGE,
    CANCELLED_DELIVERIES_PURGE,
    DEAD_DELIVERIES_PURGE,
    DELIVERY_ATTEMPTS_PURGE,
    DIGESTS_PURGE,
    INBOX_PURGE,
    READ_INBOX_PURGE,
    SENT_DELIVERIES_PURGE,
)
from apps.notifications.tasks import retention_purge_task
from tests.factories import DeliveryFactory, NotificationFactory

pytestmark = pytest.mark.django_db
LIVE = (DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.RETRY)


@pytest.fixture(autouse=True)
def _retention(settings):
    settings.RETENTION_BATCH_PAUSE_SECONDS = 0
    settings.RETENTION_BATCH_SIZE = 2
    settings.RETENTION_DELIVERY_ATTEMPTS_DAYS = 14
    settings.RETENTION_DELIVERIES_DAYS = 30
    settings.RETENTION_DEAD_DELIVERIES_DAYS = 0
    settings.RETENTION_INBOX_READ_DAYS = 90
    settings.RETENTION_INBOX_DAYS = 365
    settings.RETENTION_DIGESTS_DAYS = 30


def _ago(days: float):
    return timezone.now() - timedelta(days=days)


def _item(*, age: float, read: bool = False) -> Notification:
    return NotificationFactory(created_at=_ago(age), read_at=_ago(age - 1) if read else None)


def _delivery(*, status: str, finished: float | None = None, notification=None, **fields) -> Delivery:
    """A delivery whose last attempt was ``finished`` days ago (None: never attempted)."""
    notification = notification or NotificationFactory(created_at=_ago(finished or 0))
    return DeliveryFactory(
        notification=notification,
        status=status,
        last_attempt_at=None if finished is None else _ago(finished),
        created_at=notification.created_at,
        **fields,
    )


def _attempt(delivery: Delivery, *, age: float) -> DeliveryAttempt:
    return DeliveryAttempt.objects.create(delivery=delivery, number=1, outcome="error", created_at=_ago(age))


def _ids(model) -> set:
    return set(model.objects.values_list("pk", flat=True))


# --- delivery log lines ------------------------------------------------------------------------
def test_old_log_lines_of_sent_deliveries_go_the_log_of_anything_unsent_stays():
    sent = _delivery(status=DeliveryStatus.SENT, finished=15)
    old_lines = [_attempt(sent, age=15), _attempt(sent, age=16), _attempt(sent, age=17)]
    recent = _attempt(sent, age=13)
    kept = {recent.pk}
    for status in (*LIVE, DeliveryStatus.DEAD):
        other = _delivery(status=status, finished=20)
        kept.add(_attempt(other, age=20).pk)

    result = purge_run(DELIVERY_ATTEMPTS_PURGE)

    assert (result.deleted, result.batches) == (len(old_lines), 2)
    assert _ids(DeliveryAttempt) == kept
    assert Delivery.objects.count() == 5
    assert purge_run(DELIVERY_ATTEMPTS_PURGE).deleted == 0


# --- deliveries --------------------------------------------------------------------------------
def test_sent_deliveries_past_their_age_go_with_their_log_and_unfinished_ones_stay():
    old_sent = [_delivery(status=DeliveryStatus.SENT, finished=31) for _ in range(3)]
    for delivery in old_sent:
        _attempt(delivery, age=31)
    recent_sent = _delivery(status=DeliveryStatus.SENT, finished=29)
    _attempt(recent_sent, age=29)
    # However old: waiting to be sent, being sent, retrying, dead (awaiting a replay), and a
    # pending one never attempted.
    kept = {recent_sent.pk} | {_delivery(status=status, finished=400).pk for status in (*LIVE, DeliveryStatus.DEAD)}
    kept.add(_delivery(status=DeliveryStatus.PENDING).pk)

    result = purge_run(SENT_DELIVERIES_PURGE)

    assert result.deleted == 3
    assert _ids(Delivery) == kept
    assert set(DeliveryAttempt.objects.values_list("delivery_id", flat=True)) == {recent_sent.pk}
    # The inbox items stay: only the inbox purges remove items.
    assert Notification.objects.count() == len(kept) + 3
    assert purge_run(SENT_DELIVERIES_PURGE).deleted == 0


def test_dead_deliveries_stay_unless_their_own_age_is_set(settings):
    dead = _delivery(status=DeliveryStatus.DEAD, finished=61)
    _attempt(dead, age=61)
    recently_dead = _delivery(status=DeliveryStatus.DEAD, finished=59)
    assert purge_run(DEAD_DELIVERIES_PURGE).cutoff is None
    assert purge_run(SENT_DELIVERIES_PURGE).deleted == 0
    assert _ids(Delivery) == {dead.pk, recently_dead.pk}

    settings.RETENTION_DEAD_DELIVERIES_DAYS = 60
    assert purge_run(DEAD_DELIVERIES_PURGE).deleted == 1
    assert _ids(Delivery) == {recently_dead.pk}
    assert DeliveryAttempt.objects.count() == 0


def test_a_webhook_test_send_without_an_inbox_item_is_purged_like_any_delivery():
    test_send = DeliveryFactory(
        notification=None,
        event_id=uuid.uuid4(),
        recipient_id=uuid.uuid4(),
        status=DeliveryStatus.SENT,
        last_attempt_at=_ago(31),
        channel="webhook",
        address="https://hooks.example.com/",
    )
    assert purge_run(SENT_DELIVERIES_PURGE).deleted == 1
    assert not Delivery.objects.filter(pk=test_send.pk).exists()


# --- inbox -------------------------------------------------------------------------------------
def test_read_items_past_their_age_go_with_their_sent_deliveries():
    old_read = [_item(age=91, read=True) for _ in range(3)]
    delivery = _delivery(status=DeliveryStatus.SENT, finished=10, notification=old_read[0])
    _attempt(delivery, age=10)
    kept = {
        _item(age=89, read=True).pk,  # read, not old enough
        _item(age=200).pk,  # unread, younger than RETENTION_INBOX_DAYS
    }

    result = purge_run(READ_INBOX_PURGE)

    assert (result.deleted, result.batches) == (3, 2)
    assert _ids(Notification) == kept
    assert Delivery.objects.count() == 0
    assert DeliveryAttempt.objects.count() == 0
    assert purge_run(READ_INBOX_PURGE).deleted == 0


def test_any_item_past_the_longer_age_goes_read_or_not():
    unread, read = _item(age=366), _item(age=366, read=True)
    kept = {_item(age=364).pk}
    assert purge_run(INBOX_PURGE).deleted == 2
    assert _ids(Notification) == kept
    assert not Notification.objects.filter(pk__in=[unread.pk, read.pk]).exists()


@pytest.mark.parametrize("status", [*LIVE, DeliveryStatus.DEAD])
def test_an_item_stays_while_any_of_its_deliveries_is_unsent(status):
    # The engine renders a send from its inbox item; a dead one waits for a replay.
    item = _item(age=400, read=True)
    unsent = _delivery(status=status, finished=400, notification=item)
    sent = _delivery(status=DeliveryStatus.SENT, finished=1, notification=item, channel="push", address="device-token")
    assert purge_run(READ_INBOX_PURGE).deleted == 0
    assert purge_run(INBOX_PURGE).deleted == 0
    assert _ids(Notification) == {item.pk}
    assert _ids(Delivery) == {unsent.pk, sent.pk}


def test_an_item_whose_dead_delivery_was_purged_can_go(settings):
    settings.RETENTION_DEAD_DELIVERIES_DAYS = 30
    item = _item(age=400, read=True)
    _delivery(status=DeliveryStatus.DEAD, finished=100, notification=item)
    assert retention_purge_task() == {
        "delivery_attempts": 0,
        "deliveries_sent": 0,
        "deliveries_dead": 1,
        "deliveries_cancelled": 0,
        "cancellations": 0,
        "inbox_read": 1,
        "inbox_all": 0,
        "digests_closed": 0,
    }
    assert Notification.objects.count() == Delivery.objects.count() == 0


def test_a_full_run_twice_deletes_nothing_more_and_keeps_every_live_row():
    live = {_delivery(status=status, finished=500).pk for status in LIVE}
    for _ in range(3):
        delivery = _delivery(status=DeliveryStatus.SENT, finished=500, notification=_item(age=500, read=True))
        _attempt(delivery, age=500)
    first = {r.name: r.deleted for r in purges_run(app_label="notifications")}
    assert first["delivery_attempts"] == 3
    assert first["deliveries_sent"] == 3
    # The live deliveries' items are younger than their deliveries here (500 days), but old
    # enough for the inbox purges; they stay for the deliveries.
    assert {r.name: r.deleted for r in purges_run(app_label="notifications")} == dict.fromkeys(first, 0)
    assert _ids(Delivery) == live
    assert Notification.objects.count() == len(live)


def test_cancelled_deliveries_go_a_retention_after_their_cancellation_and_free_their_item():
    item = _item(age=400, read=True)
    old = _delivery(status=DeliveryStatus.CANCELLED, notification=item, cancelled_at=_ago(31))
    _attempt(old, age=31)
    recent = _delivery(status=DeliveryStatus.CANCELLED, cancelled_at=_ago(29))

    assert purge_run(CANCELLED_DELIVERIES_PURGE).deleted == 1

    assert _ids(Delivery) == {recent.pk}
    assert DeliveryAttempt.objects.count() == 0
    # A cancelled delivery is finished: it does not hold its inbox item back.
    recent_item = recent.notification
    Notification.objects.filter(pk=recent_item.pk).update(created_at=_ago(400), read_at=_ago(399))
    assert purge_run(READ_INBOX_PURGE).deleted == 2
    assert Notification.objects.count() == Delivery.objects.count() == 0


def test_kept_cancellations_go_a_retention_after_their_ingest():
    def kept(age: float) -> DeliveryCancellation:
        return DeliveryCancellation.objects.create(
            event_id=uuid.uuid4(), rating_id=uuid.uuid4(), before=_ago(age), created_at=_ago(age)
        )

    kept(31)
    recent = kept(29)

    assert purge_run(CANCELLATIONS_PURGE).deleted == 1
    assert list(DeliveryCancellation.objects.values_list("pk", flat=True)) == [recent.pk]


def _digest(*, closed_days_ago: float | None, ended_days_ago: float) -> Digest:
    end = _ago(ended_days_ago)
    digest = Digest.objects.create(
        recipient_id=uuid.uuid4(),
        frequency="daily",
        time_zone="UTC",
        period_start=end - timedelta(days=1),
        period_end=end,
        closed_at=None if closed_days_ago is None else _ago(closed_days_ago),
    )
    DigestItem.objects.create(
        digest=digest,
        event_id=uuid.uuid4(),
        recipient_id=digest.recipient_id,
        occurred_at=end - timedelta(hours=1),
        email="p@example.com",
        data={"score": 5},
    )
    return digest


def test_closed_digests_go_with_their_items_after_their_age_and_open_ones_stay(settings):
    old = _digest(closed_days_ago=31, ended_days_ago=31)
    recent = _digest(closed_days_ago=29, ended_days_ago=29)
    # Open long after its end (beat was down): the closer still needs it.
    still_open = _digest(closed_days_ago=None, ended_days_ago=60)
    assert purge_run(DIGESTS_PURGE).deleted == 1
    assert _ids(Digest) == {recent.pk, still_open.pk}
    assert set(DigestItem.objects.values_list("digest_id", flat=True)) == {recent.pk, still_open.pk}
    assert not Digest.objects.filter(pk=old.pk).exists()
    settings.RETENTION_DIGESTS_DAYS = 0
    assert purge_run(DIGESTS_PURGE).deleted == 0
