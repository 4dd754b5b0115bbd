"""The delivery engine, on the email channel: claims, one retry policy, failure classes, groups."""

import socket
import time
import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from apps.notifications.delivery.channels.email.channel import EMAIL_URL_BREAKER
from apps.notifications.delivery.engine import QUIET_HOURS_HELD
from apps.notifications.models import (
    Delivery,
    DeliveryAttempt,
    DeliveryProvider,
    DeliveryStatus,
    NotificationPreference,
)
from apps.notifications.outbound import breakers, limits
from apps.notifications.services import (
    deliveries_replay,
    deliveries_send,
    deliveries_sweep,
    delivery_attempt,
)
from tests.factories import DeliveryFactory, NotificationFactory
from tests.system.harness import SmtpSink

pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class CountingSink(SmtpSink):
    """The SMTP sink, also counting SMTP sessions (one EHLO per connection)."""

    def __init__(self, port: int | None = None):
        super().__init__(port)
        self.sessions = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.sessions += 1
        session.host_name = hostname
        return responses


@pytest.fixture
def sink():
    server = CountingSink()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def relay(sink, breaker_redis):
    return DeliveryProvider.objects.create(
        channel="email", name="relay", kind="smtp", endpoint=f"smtp://127.0.0.1:{sink.port}"
    )


def _smtp_down(settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _closed_port()
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False


def test_a_delivery_is_sent_once_with_a_stable_message_id_and_one_click_unsubscribe(settings):
    settings.NOTIFICATIONS_EMAIL_DOMAIN = "mail.test"
    settings.NOTIFICATIONS_PUBLIC_BASE_URL = "https://ratings.test"
    delivery = DeliveryFactory(address="pipes@example.com")

    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.SENT
    assert delivery_attempt(delivery_id=delivery.pk) is None

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["pipes@example.com"]
    assert message.subject == delivery.notification.title
    assert message.extra_headers["Message-ID"] == f"<{delivery.event_id}.{delivery.recipient_id}@mail.test>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.extra_headers["List-Unsubscribe"].startswith("<https://ratings.test/notifications/unsubscribe/")
    assert "Great job." in message.body
    assert message.alternatives[0].mimetype == "text/html"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.locked_until) == (DeliveryStatus.SENT, 1, None)
    assert delivery.sent_at is not None
    assert delivery.last_duration_ms is not None


def test_a_failed_send_is_retried_on_the_one_retry_policy_kept_in_the_database(settings):
    _smtp_down(settings)
    settings.OUTBOUND_RETRY_BASE_SECONDS = 10
    delivery = DeliveryFactory()

    before = timezone.now()
    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.RETRY
    # Not due yet: nobody may claim it.
    assert delivery_attempt(delivery_id=delivery.pk) is None
    delivery.refresh_from_db()
    assert delivery.attempts == 1
    assert delivery.last_error.startswith("EMAIL_URL: ConnectionRefusedError")
    # Full jitter over [1 s, base]: the same schedule as webhooks and push.
    assert before + timedelta(seconds=1) <= delivery.next_attempt_at <= timezone.now() + timedelta(seconds=10)
    assert list(DeliveryAttempt.objects.filter(delivery=delivery).values_list("target", "outcome")) == [
        ("EMAIL_URL", "failed")
    ]


def test_a_delivery_is_dead_after_the_maximum_attempts(settings):
    _smtp_down(settings)
    settings.OUTBOUND_MAX_ATTEMPTS = 2
    delivery = DeliveryFactory()
    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.RETRY
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.DEAD
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DEAD, 2)


def test_one_smtp_session_serves_a_whole_group(sink, relay):
    deliveries = [DeliveryFactory(address=f"p{n}@example.com") for n in range(5)]

    statuses = deliveries_send(delivery_ids=[d.pk for d in deliveries])

    assert statuses == {str(d.pk): DeliveryStatus.SENT for d in deliveries}
    assert sorted(sink.recipients) == sorted(d.address for d in deliveries)
    assert sink.sessions == 1
    assert set(Delivery.objects.values_list("provider__name", flat=True)) == {"relay"}


# The fixed count is PostgreSQL's (one UPDATE … FROM unnest for a group, unbounded batches);
# SQLite writes row by row and splits large inserts at its variable limit.
@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")
def test_a_group_is_claimed_sent_and_recorded_in_a_fixed_number_of_queries(sink, relay, django_assert_max_num_queries):
    few = [DeliveryFactory().pk for _ in range(2)]
    many = [DeliveryFactory().pk for _ in range(20)]
    with django_assert_max_num_queries(12):
        deliveries_send(delivery_ids=few)
    with django_assert_max_num_queries(12):
        deliveries_send(delivery_ids=many)
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 22


def test_a_poisoned_message_is_dead_at_once_and_never_trips_the_relay_breaker(settings, sink, relay):
    settings.BREAKER_FAIL_MAX = 2
    poisoned = [
        DeliveryFactory(notification=NotificationFactory(title="New 5-star rating from Eve\r\nBcc: all@example.com"))
        for _ in range(4)
    ]
    healthy = DeliveryFactory(address="pipes@example.com")

    statuses = deliveries_send(delivery_ids=[*(d.pk for d in poisoned), healthy.pk])

    assert statuses[str(healthy.pk)] == DeliveryStatus.SENT
    assert {statuses[str(d.pk)] for d in poisoned} == {DeliveryStatus.DEAD}
    dead = Delivery.objects.get(pk=poisoned[0].pk)
    assert dead.attempts == 1
    assert "BadHeaderError" in dead.last_error
    assert breakers.allow(breakers.provider_key(relay.pk))
    assert sink.recipients == ["pipes@example.com"]


def test_without_a_free_slot_the_group_waits_without_spending_an_attempt(settings, relay, send_task):
    settings.OUTBOUND_HOST_CONCURRENCY = 1
    delivery = DeliveryFactory()
    token = limits.acquire("email:email", limit=1, ttl=60)
    try:
        assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.RETRY
    finally:
        limits.release("email:email", token)
    delivery.refresh_from_db()
    assert delivery.attempts == 0
    assert "busy" in delivery.last_error
    assert (
        timezone.now()
        < delivery.next_attempt_at
        <= timezone.now() + timedelta(seconds=settings.NOTIFICATIONS_BUSY_RETRY_SECONDS)
    )
    # It comes back by itself when it is due, not at the sweep's next pass.
    [call] = send_task.call_args_list
    assert call.kwargs["args"] == [[str(delivery.pk)]]
    assert 0 < call.kwargs["countdown"] <= settings.NOTIFICATIONS_BUSY_RETRY_SECONDS + 0.05


def test_an_unreachable_destination_ends_its_group_after_one_attempt(settings, breaker_redis):
    settings.BREAKER_FAIL_MAX = 100
    DeliveryProvider.objects.create(
        channel="email", name="down", kind="smtp", endpoint=f"smtp://127.0.0.1:{_closed_port()}"
    )
    deliveries = [DeliveryFactory() for _ in range(3)]

    statuses = deliveries_send(delivery_ids=[d.pk for d in deliveries])

    assert set(statuses.values()) == {DeliveryStatus.RETRY}
    attempts = sorted(Delivery.objects.values_list("attempts", flat=True))
    # One connection was refused; the other two were held back untouched, not each refused.
    assert attempts == [0, 0, 1]
    assert DeliveryAttempt.objects.count() == 1
    held = Delivery.objects.filter(attempts=0)
    assert all(d.last_error.startswith("held back") for d in held)


def test_a_claim_abandoned_by_a_dead_worker_is_taken_over_after_its_lease():
    now = timezone.now()
    live = DeliveryFactory(status=DeliveryStatus.SENDING, locked_until=now + timedelta(minutes=1), attempts=1)
    stale = DeliveryFactory(status=DeliveryStatus.SENDING, locked_until=now - timedelta(seconds=1), attempts=1)
    assert delivery_attempt(delivery_id=live.pk) is None
    assert delivery_attempt(delivery_id=stale.pk) == DeliveryStatus.SENT
    assert len(mail.outbox) == 1
    stale.refresh_from_db()
    assert stale.attempts == 2


def test_the_sweeper_enqueues_due_retries_missed_pending_and_stale_claims_in_groups(send_task, settings):
    settings.NOTIFICATIONS_SWEEP_GRACE_SECONDS = 30
    now = timezone.now()
    due_retry = DeliveryFactory(status=DeliveryStatus.RETRY, next_attempt_at=now - timedelta(seconds=1))
    DeliveryFactory(status=DeliveryStatus.RETRY, next_attempt_at=now + timedelta(minutes=1))
    missed = DeliveryFactory(status=DeliveryStatus.PENDING, next_attempt_at=now - timedelta(minutes=1))
    DeliveryFactory(status=DeliveryStatus.PENDING, next_attempt_at=now)  # just enqueued on commit
    stale = DeliveryFactory(status=DeliveryStatus.SENDING, locked_until=now - timedelta(seconds=1))
    DeliveryFactory(status=DeliveryStatus.SENDING, locked_until=now + timedelta(minutes=1))
    DeliveryFactory(status=DeliveryStatus.SENT)
    DeliveryFactory(status=DeliveryStatus.DEAD)

    assert deliveries_sweep() == 3
    # Three emails share one destination: one task carries the group.
    send_task.assert_called_once()
    assert send_task.call_args.args == ("notifications.deliver_batch",)
    assert set(send_task.call_args.kwargs["args"][0]) == {str(due_retry.pk), str(missed.pk), str(stale.pk)}


def test_enqueue_splits_by_destination_and_batch_size(send_task, settings):
    from apps.notifications.models import Channel
    from apps.notifications.services import deliveries_enqueue

    settings.NOTIFICATIONS_DELIVERY_BATCH = 2
    emails = [Delivery(pk=uuid.uuid4(), channel=Channel.EMAIL, address=f"{n}@example.com") for n in range(3)]
    hooks = [
        Delivery(pk=uuid.uuid4(), channel=Channel.WEBHOOK, address=f"https://{host}.example.com/hook")
        for host in ("a", "b")
    ]
    assert deliveries_enqueue(deliveries=[*emails, *hooks]) == 4
    batches = sorted(sorted(c.kwargs["args"][0]) for c in send_task.call_args_list)
    expected = [sorted(str(d.pk) for d in emails[:2]), [str(emails[2].pk)], [str(hooks[0].pk)], [str(hooks[1].pk)]]
    assert batches == sorted(expected)


def test_replay_gives_dead_deliveries_new_attempts(send_task, django_capture_on_commit_callbacks):
    dead = DeliveryFactory(status=DeliveryStatus.DEAD, attempts=8, last_error="boom")
    sent = DeliveryFactory(status=DeliveryStatus.SENT, attempts=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_replay(delivery_ids=[dead.pk, sent.pk]) == 1
    dead.refresh_from_db()
    assert (dead.status, dead.attempts) == (DeliveryStatus.PENDING, 0)
    assert Delivery.objects.get(pk=sent.pk).status == DeliveryStatus.SENT
    send_task.assert_called_once_with("notifications.deliver_batch", args=[[str(dead.pk)]])


def _unsubscribe_path(delivery) -> str:
    from django.conf import settings

    from apps.notifications.delivery.channels.email.message import unsubscribe_url

    url = unsubscribe_url(recipient_id=delivery.recipient_id, event_type="rating.created")
    return url.removeprefix(settings.NOTIFICATIONS_PUBLIC_BASE_URL)


def test_unsubscribe_get_only_asks_and_post_switches_email_off(client):
    delivery = DeliveryFactory()
    path = _unsubscribe_path(delivery)

    response = client.get(path)
    assert response.status_code == 200
    assert b"Unsubscribe from" in response.content
    assert NotificationPreference.objects.count() == 0

    response = client.post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    preference = NotificationPreference.objects.get()
    assert (preference.recipient_id, preference.event_type, preference.channel, preference.enabled) == (
        delivery.recipient_id,
        "rating.created",
        "email",
        False,
    )


def test_a_tampered_unsubscribe_token_is_rejected(client):
    path = _unsubscribe_path(DeliveryFactory())
    response = client.post(path.replace("/unsubscribe/", "/unsubscribe/x"))
    assert response.status_code == 400
    assert NotificationPreference.objects.count() == 0


def test_a_worker_thread_keeps_its_smtp_connection_for_the_next_group(sink, relay):
    first, second = DeliveryFactory(), DeliveryFactory()
    assert deliveries_send(delivery_ids=[first.pk]) == {str(first.pk): DeliveryStatus.SENT}
    assert deliveries_send(delivery_ids=[second.pk]) == {str(second.pk): DeliveryStatus.SENT}
    assert sink.sessions == 1
    assert len(sink.recipients) == 2


def test_a_kept_connection_the_server_dropped_is_replaced_without_failing_the_send(sink, relay):
    first, second = DeliveryFactory(), DeliveryFactory()
    assert deliveries_send(delivery_ids=[first.pk]) == {str(first.pk): DeliveryStatus.SENT}
    sink.stop()  # the server goes away and comes back: the kept connection is dead
    restarted = CountingSink(port=sink.port)
    restarted.start()
    try:
        assert deliveries_send(delivery_ids=[second.pk]) == {str(second.pk): DeliveryStatus.SENT}
    finally:
        restarted.stop()
    second.refresh_from_db()
    assert (second.attempts, second.last_error) == (1, "")
    assert restarted.recipients == [second.address]
    assert restarted.sessions == 1


def _latency(channel: str, suffix: str, **labels) -> float:
    from prometheus_client import REGISTRY

    value = REGISTRY.get_sample_value(
        f"notifications_delivery_latency_seconds_{suffix}", {"channel": channel, **labels}
    )
    return value or 0.0


def test_a_sent_delivery_observes_its_latency_from_the_event(send_task, django_capture_on_commit_callbacks):
    from apps.notifications.services import events_ingest
    from apps.notifications.tests.conftest import envelope

    occurred = timezone.now() - timedelta(seconds=40)
    event = envelope()
    event["occurred_at"] = occurred.isoformat()
    with django_capture_on_commit_callbacks(execute=True):
        events_ingest(envelopes=[event])
    delivery = Delivery.objects.get(event_id=event["id"], channel="email")
    assert delivery.event_at == occurred
    count, under_30, under_60, total = (
        _latency("email", "count"),
        _latency("email", "bucket", le="30.0"),
        _latency("email", "bucket", le="60.0"),
        _latency("email", "sum"),
    )

    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.SENT
    assert _latency("email", "count") == count + 1
    assert _latency("email", "bucket", le="30.0") == under_30
    assert _latency("email", "bucket", le="60.0") == under_60 + 1
    assert 40 <= _latency("email", "sum") - total < 60


def test_a_failed_send_observes_no_latency(settings):
    _smtp_down(settings)
    delivery = DeliveryFactory()
    count = _latency("email", "count")
    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.RETRY
    assert _latency("email", "count") == count


def test_the_email_url_relay_has_a_breaker_whose_first_success_releases_the_waiting_emails(settings, send_task):
    settings.BREAKER_FAIL_MAX = 2
    # pybreaker keeps the opening time in whole seconds in Redis: open for 2 to 3 s, long enough
    # for the put-back below on a loaded machine.
    settings.BREAKER_RESET_TIMEOUT = 3
    _smtp_down(settings)
    refused = [DeliveryFactory(address=f"refused{n}@example.com") for n in range(2)]
    for delivery in refused:
        assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.RETRY
    assert breakers.is_open(EMAIL_URL_BREAKER)  # two refused connections opened it
    put_back = DeliveryFactory(address="put-back@example.com")
    send_task.reset_mock()
    assert delivery_attempt(delivery_id=put_back.pk) == DeliveryStatus.RETRY
    put_back.refresh_from_db()
    assert (put_back.attempts, put_back.last_error) == (0, "all providers skipped: circuit breakers open")
    # The first send put back comes back by itself at the trial: the sweep may be far off.
    [call] = send_task.call_args_list
    assert call.kwargs["args"] == [[str(put_back.pk)]]
    assert call.kwargs["countdown"] <= 3.05
    # The refused ones wait out their backoff (an hour here, as after a few attempts); a push
    # and an email its recipient's quiet hours hold wait for something else.
    later = timezone.now() + timedelta(hours=1)
    Delivery.objects.filter(pk__in=[d.pk for d in refused]).update(next_attempt_at=later)
    unrelated = [
        DeliveryFactory(channel="push", address="device", status=DeliveryStatus.RETRY, next_attempt_at=later),
        DeliveryFactory(status=DeliveryStatus.RETRY, next_attempt_at=later, last_error=QUIET_HOURS_HELD),
    ]

    sink = CountingSink(port=settings.EMAIL_PORT)  # the relay answers again
    sink.start()
    try:
        deadline = time.monotonic() + 5
        while breakers.is_open(EMAIL_URL_BREAKER) and time.monotonic() < deadline:
            time.sleep(0.05)
        trial = DeliveryFactory(address="trial@example.com")
        send_task.reset_mock()
        assert delivery_attempt(delivery_id=trial.pk) == DeliveryStatus.SENT
        assert breakers.breaker_states()[EMAIL_URL_BREAKER] == "closed"

        waiting = {str(d.pk) for d in [*refused, put_back]}
        [call] = send_task.call_args_list
        assert set(call.kwargs["args"][0]) == waiting
        assert not Delivery.objects.filter(pk__in=waiting, next_attempt_at__gt=timezone.now())
        for delivery in unrelated:
            delivery.refresh_from_db()
            assert (delivery.status, delivery.next_attempt_at) == (DeliveryStatus.RETRY, later)

        assert set(deliveries_send(delivery_ids=list(waiting)).values()) == {DeliveryStatus.SENT}
        assert sorted(sink.recipients) == sorted(
            ["trial@example.com", "put-back@example.com", "refused0@example.com", "refused1@example.com"]
        )
    finally:
        sink.stop()


class GreylistingSink(CountingSink):
    """The SMTP sink, answering 450 to one recipient: it refuses that email for now and works."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("greylisted@"):
            return "450 4.2.0 Greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_success_after_an_smtp_blink_below_the_breaker_threshold_releases_the_emails_it_failed(settings, send_task):
    settings.BREAKER_FAIL_MAX = 5
    settings.BREAKER_RELEASE_INTERVAL = 60
    _smtp_down(settings)
    blinked = DeliveryFactory(address="blinked@example.com")
    assert delivery_attempt(delivery_id=blinked.pk) == DeliveryStatus.RETRY
    blinked.refresh_from_db()
    assert breakers.breaker_for(EMAIL_URL_BREAKER).current_state == "closed"  # one failure: still closed
    assert blinked.blamed == "provider"
    assert blinked.next_attempt_at > timezone.now()
    # Its backoff as after a few attempts; beside it, emails and a push waiting for something else.
    later = timezone.now() + timedelta(hours=1)
    Delivery.objects.filter(pk=blinked.pk).update(next_attempt_at=later)
    unrelated = [
        DeliveryFactory(status=DeliveryStatus.RETRY, next_attempt_at=later, last_error=QUIET_HOURS_HELD),
        DeliveryFactory(
            channel="push", address="device", status=DeliveryStatus.RETRY, next_attempt_at=later, blamed="provider"
        ),
    ]

    sink = GreylistingSink(port=settings.EMAIL_PORT)  # the relay answers again a moment later
    sink.start()
    try:
        # A refusal of one email (4xx) counts against the relay but is the message's: it waits.
        greylisted = DeliveryFactory(address="greylisted@example.com")
        assert delivery_attempt(delivery_id=greylisted.pk) == DeliveryStatus.RETRY
        greylisted.refresh_from_db()
        assert greylisted.blamed == ""
        unrelated.append(greylisted)
        waited = {row.pk: row.next_attempt_at for row in unrelated}

        answered = DeliveryFactory(address="answered@example.com")
        send_task.reset_mock()
        assert delivery_attempt(delivery_id=answered.pk) == DeliveryStatus.SENT
        assert breakers.breaker_for(EMAIL_URL_BREAKER).current_state == "closed"

        # The email the blink failed is due now and enqueued, not an hour from now.
        [call] = send_task.call_args_list
        assert call.kwargs["args"] == [[str(blinked.pk)]]
        blinked.refresh_from_db()
        assert (blinked.status, blinked.attempts) == (DeliveryStatus.RETRY, 1)
        assert blinked.next_attempt_at <= timezone.now()
        for row in unrelated:
            row.refresh_from_db()
            assert (row.status, row.next_attempt_at) == (DeliveryStatus.RETRY, waited[row.pk])
        assert deliveries_send(delivery_ids=[blinked.pk]) == {str(blinked.pk): DeliveryStatus.SENT}
        assert sorted(sink.recipients) == ["answered@example.com", "blinked@example.com"]

        # Another blink within BREAKER_RELEASE_INTERVAL: its email waits out its backoff, since
        # one release per relay and interval is all the workers run.
        sink.stop()
        again = DeliveryFactory(address="again@example.com")
        assert delivery_attempt(delivery_id=again.pk) == DeliveryStatus.RETRY
        sink.start()
        send_task.reset_mock()
        assert delivery_attempt(delivery_id=DeliveryFactory().pk) == DeliveryStatus.SENT
        assert send_task.call_args_list == []
        again.refresh_from_db()
        assert again.next_attempt_at > timezone.now()
    finally:
        sink.stop()
