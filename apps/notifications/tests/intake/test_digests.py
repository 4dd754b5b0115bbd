"""Digests on a frozen clock (time-machine): ingest → digest → one email."""

import threading
import uuid

import pytest
import time_machine
from django.core import mail
from django.db import connections, transaction

from apps.notifications.intake.digests import DigestEntry, digest_entries_add
from apps.notifications.models import (
    Delivery,
    DeliveryStatus,
    Digest,
    DigestItem,
    Notification,
    NotificationSchedule,
)
from apps.notifications.services import (
    deliveries_send,
    digests_close,
    events_ingest,
    preference_set,
)
from apps.notifications.tests.intake.digest_support import close, ingest, rating_at, sent_ids, utc

pytestmark = pytest.mark.django_db


def test_a_daily_digest_collects_the_local_days_ratings_into_one_email(
    recipient, send_task, django_capture_on_commit_callbacks, urls
):
    NotificationSchedule.objects.create(recipient_id=recipient, time_zone="Europe/Berlin", rating_emails="daily")
    first = rating_at(
        recipient,
        utc(2026, 11, 30, 8, 59),
        name="Alice",
        score=5,
        summary={"count": 11, "sum": 44},
        comment="Fixed our boiler in an hour.",
    )
    second = rating_at(recipient, utc(2026, 11, 30, 21, 15), name="Bob", score=5, summary={"count": 12, "sum": 49})
    with time_machine.travel(utc(2026, 11, 30, 21, 15, 1), tick=False):
        ingest([first, second], django_capture_on_commit_callbacks)
        # A rating of the next local day (23:05 UTC is 00:05 in Berlin) opens the next digest.
        ingest(
            [rating_at(recipient, utc(2026, 11, 30, 23, 5), name="Cy", score=1, summary={"count": 13, "sum": 50})],
            django_capture_on_commit_callbacks,
        )

    # The inbox is immediate; the email waits for the digest.
    assert Notification.objects.filter(recipient_id=recipient).count() == 3
    assert not Delivery.objects.exists()
    send_task.assert_not_called()
    digests = list(Digest.objects.order_by("period_start").values_list("frequency", "period_start", "period_end"))
    assert digests == [
        ("daily", utc(2026, 11, 29, 23), utc(2026, 11, 30, 23)),
        ("daily", utc(2026, 11, 30, 23), utc(2026, 12, 1, 23)),
    ]
    assert DigestItem.objects.count() == 3

    with time_machine.travel(utc(2026, 11, 30, 22, 59, 59), tick=False):
        assert close(django_capture_on_commit_callbacks) == 0
    with time_machine.travel(utc(2026, 11, 30, 23, 0, 30), tick=False):
        assert close(django_capture_on_commit_callbacks) == 1
        assert close(django_capture_on_commit_callbacks) == 0  # closed once
        delivery = Delivery.objects.get()
        digest = Digest.objects.get(period_start=utc(2026, 11, 29, 23))
        assert (delivery.event_id, delivery.recipient_id, delivery.channel, delivery.address) == (
            digest.pk,
            recipient,
            "email",
            "pipes@example.com",
        )
        assert digest.closed_at == utc(2026, 11, 30, 23, 0, 30)
        assert sent_ids(send_task) == [str(delivery.pk)]
        assert deliveries_send(delivery_ids=[delivery.pk]) == {str(delivery.pk): DeliveryStatus.SENT}
        assert deliveries_send(delivery_ids=[delivery.pk]) == {}

    (message,) = mail.outbox
    assert message.subject == "Your daily digest: 2 new ratings on Mon 30 Nov 2026"
    assert message.to == ["pipes@example.com"]
    assert message.extra_headers["Message-ID"] == f"<{digest.pk}.{recipient}@mail.test>"
    unsubscribe = message.extra_headers["List-Unsubscribe"][1:-1]
    assert unsubscribe.startswith("https://ratings.test/notifications/unsubscribe/")
    assert message.body == (
        "Your daily digest: 2 new ratings on Mon 30 Nov 2026\n"
        "\n"
        '- 09:59 5/5 from Alice: "Fixed our boiler in an hour."\n'
        "- 22:15 5/5 from Bob\n"
        "\n"
        "Your rating: 3.90 from 10 → 4.08 from 12 ratings.\n"
        "\n"
        "Times are in Europe/Berlin. Read all your notifications in your Marketplace Ratings inbox.\n"
        "\n"
        f"Unsubscribe from new-rating emails: {unsubscribe}\n"
    )
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "<q>Fixed our boiler in an hour.</q>" in html
    assert "3.90 from 10 → 4.08 from 12 ratings." in html


def test_an_hourly_digest_follows_the_local_hour_and_a_first_rating_starts_from_none(
    recipient, send_task, django_capture_on_commit_callbacks
):
    NotificationSchedule.objects.create(recipient_id=recipient, time_zone="Asia/Kolkata", rating_emails="hourly")
    event = rating_at(recipient, utc(2026, 11, 30, 10, 40), name="Dee", score=4, summary={"count": 1, "sum": 4})
    with time_machine.travel(utc(2026, 11, 30, 10, 40), tick=False):
        ingest([event], django_capture_on_commit_callbacks)
    assert list(Digest.objects.values_list("period_start", "period_end")) == [
        (utc(2026, 11, 30, 10, 30), utc(2026, 11, 30, 11, 30))
    ]
    with time_machine.travel(utc(2026, 11, 30, 11, 30), tick=False):
        assert close(django_capture_on_commit_callbacks) == 1
        deliveries_send(delivery_ids=[Delivery.objects.get().pk])
    (message,) = mail.outbox
    assert message.subject == "Your hourly digest: 1 new rating, 16:00-17:00 IST on Mon 30 Nov 2026"
    assert "\n- 16:10 4/5 from Dee\n" in message.body
    assert "Your rating: none → 4.00 from 1 rating.\n" in message.body


def test_events_without_a_summary_make_a_digest_without_the_summary_line(
    recipient, send_task, django_capture_on_commit_callbacks
):
    NotificationSchedule.objects.create(recipient_id=recipient, rating_emails="hourly")
    with time_machine.travel(utc(2026, 11, 30, 10, 5), tick=False):
        ingest(
            [rating_at(recipient, utc(2026, 11, 30, 10, 5), name="Eve", score=3, summary=None)],
            django_capture_on_commit_callbacks,
        )
    with time_machine.travel(utc(2026, 11, 30, 11, 0), tick=False):
        close(django_capture_on_commit_callbacks)
        deliveries_send(delivery_ids=[Delivery.objects.get().pk])
    (message,) = mail.outbox
    assert message.subject == "Your hourly digest: 1 new rating, 10:00-11:00 UTC on Mon 30 Nov 2026"
    assert "Your rating:" not in message.body


def test_ingesting_an_event_again_adds_nothing_to_its_digest(recipient, send_task, django_capture_on_commit_callbacks):
    NotificationSchedule.objects.create(recipient_id=recipient, rating_emails="daily")
    event = rating_at(recipient, utc(2026, 11, 30, 10), name="Al", score=5, summary={"count": 1, "sum": 5})
    with time_machine.travel(utc(2026, 11, 30, 10), tick=False):
        ingest([event], django_capture_on_commit_callbacks)
        ingest([event, event], django_capture_on_commit_callbacks)
    assert (Digest.objects.count(), DigestItem.objects.count(), Notification.objects.count()) == (1, 1, 1)


def test_a_rating_arriving_after_its_period_closed_goes_to_the_open_period(
    recipient, send_task, django_capture_on_commit_callbacks
):
    NotificationSchedule.objects.create(recipient_id=recipient, rating_emails="hourly")
    with time_machine.travel(utc(2026, 11, 30, 10, 30), tick=False):
        ingest(
            [rating_at(recipient, utc(2026, 11, 30, 10, 30), name="A", score=5, summary={"count": 1, "sum": 5})],
            django_capture_on_commit_callbacks,
        )
    with time_machine.travel(utc(2026, 11, 30, 11, 0, 5), tick=False):
        assert close(django_capture_on_commit_callbacks) == 1
        # Happened at 10:59 but ingested after the 10:00 digest was closed (a broker delay).
        ingest(
            [rating_at(recipient, utc(2026, 11, 30, 10, 59), name="B", score=4, summary={"count": 2, "sum": 9})],
            django_capture_on_commit_callbacks,
        )
    late = DigestItem.objects.get(data__customer_name="B")
    assert (late.digest.period_start, late.digest.closed_at) == (utc(2026, 11, 30, 11), None)
    assert late.occurred_at == utc(2026, 11, 30, 10, 59)
    assert Delivery.objects.count() == 1


def test_a_rating_redelivered_days_later_goes_to_the_open_period_not_a_past_one_of_its_own(
    recipient, send_task, django_capture_on_commit_callbacks
):
    NotificationSchedule.objects.create(recipient_id=recipient, rating_emails="daily")
    with time_machine.travel(utc(2026, 11, 30, 10), tick=False):
        ingest(
            [rating_at(recipient, utc(2026, 11, 27, 9), name="Old", score=3, summary=None)],
            django_capture_on_commit_callbacks,
        )
        # A rating whose period has ended but whose digest the closer has not reached yet joins it.
        Digest.objects.create(
            recipient_id=recipient,
            frequency="daily",
            time_zone="UTC",
            period_start=utc(2026, 11, 29),
            period_end=utc(2026, 11, 30),
        )
        ingest(
            [rating_at(recipient, utc(2026, 11, 29, 23, 59), name="Late", score=4, summary=None)],
            django_capture_on_commit_callbacks,
        )
    placed = dict(DigestItem.objects.values_list("data__customer_name", "digest__period_start"))
    assert placed == {"Old": utc(2026, 11, 30), "Late": utc(2026, 11, 29)}
    old = DigestItem.objects.get(data__customer_name="Old")
    assert old.occurred_at == utc(2026, 11, 27, 9)


def test_closing_catches_up_on_every_period_that_ended_during_downtime(
    recipient, send_task, django_capture_on_commit_callbacks
):
    NotificationSchedule.objects.create(recipient_id=recipient, rating_emails="hourly")
    for hour in (7, 8, 9):
        at = utc(2026, 11, 30, hour, 10)
        with time_machine.travel(at, tick=False):
            ingest(
                [rating_at(recipient, at, name=f"C{hour}", score=5, summary={"count": hour, "sum": 5 * hour})],
                django_capture_on_commit_callbacks,
            )
    # Beat was down from 07:10 to 12:00; a batch size of 2 makes the catch-up take two rounds.
    with time_machine.travel(utc(2026, 11, 30, 12), tick=False):
        assert close(django_capture_on_commit_callbacks, batch=2) == 3
        assert close(django_capture_on_commit_callbacks) == 0
    assert sorted(Delivery.objects.values_list("event_id", flat=True)) == sorted(
        Digest.objects.values_list("pk", flat=True)
    )
    assert Delivery.objects.count() == 3
    assert not Digest.objects.filter(closed_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_closers_make_one_email_per_digest(recipient, send_task):
    NotificationSchedule.objects.create(recipient_id=recipient, rating_emails="hourly")
    with time_machine.travel(utc(2026, 11, 30, 10, 10), tick=False):
        events_ingest(
            envelopes=[
                rating_at(recipient, utc(2026, 11, 30, 10, 10), name="A", score=5, summary={"count": 1, "sum": 5})
            ]
        )
    barrier = threading.Barrier(4)
    results = []

    def close():
        try:
            barrier.wait()
            results.append(digests_close(now=utc(2026, 11, 30, 11, 1)))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=close) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [0, 0, 0, 1]
    assert Delivery.objects.count() == 1


def test_a_deleted_account_loses_its_schedule_and_digests(recipient, send_task, django_capture_on_commit_callbacks):
    NotificationSchedule.objects.create(recipient_id=recipient, rating_emails="daily")
    other = uuid.uuid4()
    NotificationSchedule.objects.create(recipient_id=other, rating_emails="daily")
    with time_machine.travel(utc(2026, 11, 30, 10), tick=False):
        ingest(
            [
                rating_at(recipient, utc(2026, 11, 30, 10), name="A", score=5, summary=None),
                rating_at(other, utc(2026, 11, 30, 10), name="A", score=5, summary=None),
            ],
            django_capture_on_commit_callbacks,
        )
        ingest(
            [{"id": str(uuid.uuid4()), "type": "account.deleted", "data": {"recipient_user_id": str(recipient)}}],
            django_capture_on_commit_callbacks,
        )
    assert list(NotificationSchedule.objects.values_list("recipient_id", flat=True)) == [other]
    assert list(Digest.objects.values_list("recipient_id", flat=True)) == [other]
    assert list(DigestItem.objects.values_list("recipient_id", flat=True)) == [other]


@pytest.mark.postgres  # SKIP LOCKED: SQLite serialises writers, so the closer would wait for the ingest
@pytest.mark.django_db(transaction=True)
def test_a_digest_being_added_to_is_closed_by_the_next_run_with_every_item(recipient, send_task):
    """The closer skips a digest an ingest holds (SKIP LOCKED), so no rating lands in a closed one."""
    NotificationSchedule.objects.create(recipient_id=recipient, rating_emails="hourly")
    with time_machine.travel(utc(2026, 11, 30, 10, 10), tick=False):
        events_ingest(envelopes=[rating_at(recipient, utc(2026, 11, 30, 10, 10), name="A", score=5, summary=None)])
    adding, closed_meanwhile = threading.Event(), threading.Event()

    def ingest_slowly():
        # An ingest of a rating of 10:59, still in its transaction when the period ends.
        try:
            with transaction.atomic():
                digest_entries_add(
                    entries=[
                        DigestEntry(
                            recipient_id=recipient,
                            event_id=uuid.uuid4(),
                            frequency="hourly",
                            time_zone="UTC",
                            occurred_at=utc(2026, 11, 30, 10, 59),
                            email="pipes@example.com",
                            data={"customer_name": "B", "score": 4},
                            at=utc(2026, 11, 30, 10, 59),
                        )
                    ],
                    db="default",
                )
                adding.set()
                closed_meanwhile.wait(timeout=30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=ingest_slowly)
    thread.start()
    assert adding.wait(timeout=30)
    assert digests_close(now=utc(2026, 11, 30, 11, 0, 1)) == 0
    closed_meanwhile.set()
    thread.join(timeout=30)
    assert digests_close(now=utc(2026, 11, 30, 11, 0, 2)) == 1
    delivery = Delivery.objects.get()
    assert [r["customer_name"] for r in delivery.payload["digest"]["ratings"]] == ["A", "B"]


def test_with_the_inbox_switched_off_a_rating_goes_to_the_digest_once(
    recipient, send_task, django_capture_on_commit_callbacks, urls
):
    preference_set(recipient_id=recipient, event_type="rating.created", channel="in_app", enabled=False)
    NotificationSchedule.objects.create(recipient_id=recipient, time_zone="UTC", rating_emails="hourly")
    event = rating_at(recipient, utc(2026, 11, 30, 9, 10), name="Alice", score=4, summary={"count": 1, "sum": 4})
    with time_machine.travel(utc(2026, 11, 30, 9, 10, 1), tick=False):
        assert ingest([event], django_capture_on_commit_callbacks) == []
        # The same event again (a redelivery): it leaves no inbox item or delivery to find, and
        # the digest item's uniqueness keeps it one.
        assert ingest([event], django_capture_on_commit_callbacks) == []

    assert not Notification.objects.exists()
    assert not Delivery.objects.exists()
    assert list(DigestItem.objects.values_list("event_id", "recipient_id")) == [(uuid.UUID(event["id"]), recipient)]
    with time_machine.travel(utc(2026, 11, 30, 10, 0, 30), tick=False):
        assert close(django_capture_on_commit_callbacks) == 1
        delivery = Delivery.objects.get()
        assert deliveries_send(delivery_ids=[delivery.pk]) == {str(delivery.pk): DeliveryStatus.SENT}
    (message,) = mail.outbox
    assert message.subject == "Your hourly digest: 1 new rating, 09:00-10:00 UTC on Mon 30 Nov 2026"
    send_task.assert_called_once_with("notifications.deliver_batch", args=[[str(delivery.pk)]])
