"""The outbox: publishing in the transaction, dispatching in batches, dead letters and replay."""

import threading
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection, transaction
from django.utils import timezone

from apps.core import outbox
from apps.core.middleware import request_id_scope
from apps.core.models import OutboxEvent
from apps.core.tasks import outbox_relay_task
from apps.core.tests.outbox_support import (
    SEND,
    _listener,
    _publish,
    _row,
    _rows,
    _sample,
    postgres_only,
)


# --- publish ----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_publish_only_writes_the_row(django_capture_on_commit_callbacks):
    published = _sample("outbox_events_published_total", {"type": "rating.created"})
    with mock.patch(SEND) as send, django_capture_on_commit_callbacks() as callbacks:
        event = _publish(score=5)
    send.assert_not_called()
    assert callbacks == []
    event.refresh_from_db()
    assert event.envelope == {
        "id": str(event.pk),
        "type": "rating.created",
        "version": 1,
        "occurred_at": "2026-01-02T03:04:05+00:00",
        "data": {"rating_id": "r1", "score": 5},
    }
    assert (event.task_name, event.queue) == ("notifications.ingest_events", "notifications")
    assert (event.attempts, event.locked_until, event.dispatched_at, event.dead_at) == (0, None, None, None)
    assert _sample("outbox_events_published_total", {"type": "rating.created"}) == published + 1


@pytest.mark.django_db
def test_the_publishing_requests_id_travels_in_the_envelope(settings):
    with request_id_scope("req-pub-1"):
        event = _publish()
    outside = _publish()
    assert event.envelope["request_id"] == "req-pub-1"
    assert "request_id" not in outside.envelope  # optional: no request, no key
    with mock.patch(SEND) as send:
        assert outbox.outbox_dispatch() == 2
    (envelopes,) = send.call_args.kwargs["args"]
    assert [envelope.get("request_id") for envelope in envelopes] == ["req-pub-1", None]


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_publish_notifies_the_dispatchers_at_commit_and_not_before():
    listener = _listener()
    try:
        with transaction.atomic():
            event = _publish()
            _publish()
            assert list(listener.notifies(timeout=0.3)) == []  # not committed yet
        notices = list(listener.notifies(timeout=2, stop_after=1))
        # Two publishes in one transaction: PostgreSQL folds identical NOTIFYs into one.
        assert [(n.channel, n.payload) for n in notices] == [("outbox_events", "")]
        assert OutboxEvent.objects.filter(pk=event.pk).exists()
    finally:
        listener.close()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_publish_writes_nothing_and_notifies_nobody():
    listener = _listener()
    try:
        with mock.patch(SEND) as send, pytest.raises(RuntimeError), transaction.atomic():
            _publish()
            raise RuntimeError("rating rolled back")
        assert list(listener.notifies(timeout=0.5)) == []
    finally:
        listener.close()
    assert OutboxEvent.objects.count() == 0
    send.assert_not_called()


# --- dispatch ---------------------------------------------------------------------------------
@pytest.mark.django_db
def test_dispatch_sends_one_task_per_batch_with_the_batchs_envelopes(settings):
    settings.OUTBOX_DISPATCH_BATCH = 200
    rows = _rows(250)
    dispatched = _sample("outbox_events_dispatched_total", {"path": "dispatcher", "outcome": "ok"})

    with mock.patch(SEND) as send:
        assert outbox.outbox_dispatch() == 250

    assert send.call_args_list == [
        mock.call(
            "notifications.ingest_events",
            args=[[row.envelope for row in rows[:200]]],
            queue="notifications",
            confirm_timeout=5.0,
        ),
        mock.call(
            "notifications.ingest_events",
            args=[[row.envelope for row in rows[200:]]],
            queue="notifications",
            confirm_timeout=5.0,
        ),
    ]
    assert OutboxEvent.objects.filter(dispatched_at__isnull=False, attempts=1, locked_until__isnull=True).count() == 250
    assert _sample("outbox_events_dispatched_total", {"path": "dispatcher", "outcome": "ok"}) == dispatched + 250


@pytest.mark.django_db
def test_dispatch_groups_by_task_and_queue_and_sends_old_single_envelope_rows_one_by_one(settings):
    first, second, other, old_a, old_b = _rows(5)
    OutboxEvent.objects.filter(pk=other.pk).update(task_name="search.index", queue="default")
    OutboxEvent.objects.filter(pk__in=[old_a.pk, old_b.pk]).update(task_name="notifications.ingest_event")

    with mock.patch(SEND) as send:
        assert outbox.outbox_dispatch() == 5

    assert send.call_args_list == [
        mock.call(
            "notifications.ingest_events",
            args=[[first.envelope, second.envelope]],
            queue="notifications",
            confirm_timeout=5.0,
        ),
        mock.call("search.index", args=[[other.envelope]], queue="default", confirm_timeout=5.0),
        mock.call("notifications.ingest_event", args=[old_a.envelope], queue="notifications", confirm_timeout=5.0),
        mock.call("notifications.ingest_event", args=[old_b.envelope], queue="notifications", confirm_timeout=5.0),
    ]


@pytest.mark.django_db
def test_dispatch_sends_only_due_rows(settings):
    settings.OUTBOX_CONFIRM_TIMEOUT_SECONDS = 60
    now = timezone.now()
    new = _row()
    stale = _row(dispatched_at=now - timedelta(minutes=2), attempts=1)
    _row(dispatched_at=now - timedelta(seconds=5), attempts=1)  # waits for its confirmation
    _row(dispatched_at=now - timedelta(hours=1), confirmed_at=now, attempts=1)  # done
    _row(locked_until=now + timedelta(seconds=30))  # claimed by another dispatcher
    _row(dispatched_at=now - timedelta(hours=1), dead_at=now, attempts=10)  # given up on
    expired_lease = _row(locked_until=now - timedelta(seconds=1))  # its dispatcher died

    with mock.patch(SEND) as send:
        assert outbox.outbox_dispatch() == 3

    (call,) = send.call_args_list
    sent = {envelope["id"] for envelope in call.kwargs["args"][0]}
    assert sent == {str(new.pk), str(stale.pk), str(expired_lease.pk)}
    assert OutboxEvent.objects.get(pk=stale.pk).attempts == 2


@pytest.mark.django_db
def test_a_batch_whose_consumer_died_is_sent_again_when_its_take_lapses_not_after_the_timeout(settings):
    settings.OUTBOX_CONFIRM_TIMEOUT_SECONDS = 120
    settings.OUTBOX_TAKEN_LEASE_SECONDS = 30
    now = timezone.now()
    taken = _row(dispatched_at=now - timedelta(seconds=5), attempts=1)
    dead_consumer = _row(dispatched_at=now - timedelta(seconds=40), attempts=1)
    queued = _row(dispatched_at=now - timedelta(seconds=40), attempts=1)  # still in the broker
    undispatched = _row()
    assert outbox.outbox_take(event_ids=[taken.pk, dead_consumer.pk, undispatched.pk]) == 2
    OutboxEvent.objects.filter(pk=dead_consumer.pk).update(locked_until=now - timedelta(seconds=1))

    with mock.patch(SEND) as send:
        assert outbox.outbox_dispatch() == 2

    (call,) = send.call_args_list
    assert {envelope["id"] for envelope in call.kwargs["args"][0]} == {str(dead_consumer.pk), str(undispatched.pk)}
    # Confirming ends the take.
    assert outbox.outbox_confirm(event_ids=[taken.pk]) == 1
    assert OutboxEvent.objects.get(pk=taken.pk).locked_until is None
    assert OutboxEvent.objects.get(pk=queued.pk).attempts == 1


@pytest.mark.django_db
def test_dispatch_stops_at_the_limit(settings):
    settings.OUTBOX_DISPATCH_BATCH = 20
    rows = _rows(50)
    with mock.patch(SEND) as send:
        assert outbox.outbox_dispatch(limit=30) == 30
    assert [len(c.kwargs["args"][0]) for c in send.call_args_list] == [20, 10]
    assert set(OutboxEvent.objects.filter(dispatched_at__isnull=True).values_list("pk", flat=True)) == {
        row.pk for row in rows[30:]
    }


@pytest.mark.django_db
def test_a_round_reports_progress_after_every_batch(settings):
    """The dispatcher's heartbeat: a backlog of many batches is progress, not a wedged loop."""
    settings.OUTBOX_DISPATCH_BATCH = 20
    _rows(50)
    progress = mock.Mock()
    with mock.patch(SEND):
        result = outbox.outbox_dispatch_round(progress=progress)
    assert result.sent == 50
    assert progress.call_count == 3


@pytest.mark.django_db
def test_a_broker_failure_releases_the_unsent_rows_without_counting_an_attempt(settings):
    settings.OUTBOX_DISPATCH_BATCH = 3
    rows = _rows(7)
    OutboxEvent.objects.filter(pk=rows[2].pk).update(task_name="search.index", queue="default")
    failed = _sample("outbox_events_dispatched_total", {"path": "relay", "outcome": "error"})

    # First group of the first batch goes out, the second is refused: the broker went down.
    with mock.patch(SEND, side_effect=[None, ConnectionRefusedError("broker down")]) as send:
        assert outbox.outbox_dispatch(path="relay") == 2

    assert send.call_count == 2  # stopped: no third call, no second batch
    sent = OutboxEvent.objects.filter(pk__in=[rows[0].pk, rows[1].pk])
    assert [(r.attempts, r.locked_until, r.last_error) for r in sent] == [(1, None, "")] * 2
    refused = OutboxEvent.objects.get(pk=rows[2].pk)
    assert (refused.attempts, refused.dispatched_at, refused.locked_until) == (0, None, None)
    assert refused.last_error == "ConnectionRefusedError: broker down"
    assert OutboxEvent.objects.filter(dispatched_at__isnull=True, attempts=0, locked_until__isnull=True).count() == 5
    assert _sample("outbox_events_dispatched_total", {"path": "relay", "outcome": "error"}) == failed + 1

    with mock.patch(SEND) as send:
        assert outbox.outbox_dispatch() == 5
    refused.refresh_from_db()
    assert (refused.attempts, refused.last_error) == (1, "")


@pytest.mark.django_db
def test_an_event_never_confirmed_is_dead_after_the_attempt_cap_and_age(settings):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    settings.OUTBOX_CONFIRM_TIMEOUT_SECONDS = 60
    settings.OUTBOX_DEAD_AFTER_SECONDS = 1800
    long_ago = timezone.now() - timedelta(hours=1)
    tired = _row(dispatched_at=long_ago, attempts=2)
    spent = _row(dispatched_at=long_ago, attempts=3)
    # created_at is auto_now_add: age the two rows afterwards.
    OutboxEvent.objects.filter(pk__in=[tired.pk, spent.pk]).update(created_at=long_ago)
    # As many sends, but young: its consumers may just be down for a while; it is sent again.
    young = _row(dispatched_at=long_ago, attempts=3)
    dead_before = _sample("outbox_events_dead_total")

    with mock.patch(SEND) as send:
        assert outbox.outbox_dispatch() == 2

    assert [envelope["id"] for envelope in send.call_args.kwargs["args"][0]] == [str(tired.pk), str(young.pk)]
    young.refresh_from_db()
    assert (young.attempts, young.dead_at) == (4, None)
    tired.refresh_from_db()
    assert (tired.attempts, tired.dead_at) == (3, None)
    spent.refresh_from_db()
    assert spent.dead_at is not None
    assert (spent.attempts, spent.locked_until) == (3, None)
    assert spent.last_error == "dead: dispatched 3 times without confirmation"
    assert _sample("outbox_events_dead_total") == dead_before + 1

    OutboxEvent.objects.filter(pk=tired.pk).update(dispatched_at=long_ago)
    OutboxEvent.objects.filter(pk=young.pk).update(confirmed_at=timezone.now())
    with mock.patch(SEND) as send:
        assert outbox.outbox_dispatch() == 0
    send.assert_not_called()
    assert OutboxEvent.objects.filter(dead_at__isnull=False).count() == 2


@pytest.mark.django_db
def test_a_batch_of_only_dead_rows_does_not_hide_the_live_ones_behind_it(settings):
    settings.OUTBOX_DISPATCH_BATCH = 2
    settings.OUTBOX_MAX_ATTEMPTS = 1
    settings.OUTBOX_DEAD_AFTER_SECONDS = 0
    spent = _rows(3, attempts=1)
    live = _row()
    with mock.patch(SEND) as send:
        assert outbox.outbox_dispatch() == 1
    assert send.call_args.kwargs["args"] == [[live.envelope]]
    assert OutboxEvent.objects.filter(pk__in=[r.pk for r in spent], dead_at__isnull=False).count() == 3


@pytest.mark.django_db
def test_replay_gives_dead_events_fresh_attempts_and_leaves_the_others():
    now = timezone.now()
    dead = _row(dispatched_at=now, dead_at=now, attempts=10, last_error="dead: dispatched 10 times")
    confirmed = _row(dispatched_at=now, confirmed_at=now, attempts=1)
    pending = _row(attempts=4)

    assert outbox.outbox_events_replay(event_ids=[dead.pk, confirmed.pk, pending.pk]) == 1

    dead.refresh_from_db()
    assert (dead.dead_at, dead.attempts, dead.locked_until, dead.dispatched_at) == (None, 0, None, None)
    assert OutboxEvent.objects.get(pk=confirmed.pk).confirmed_at == now
    assert OutboxEvent.objects.get(pk=pending.pk).attempts == 4
    with mock.patch(SEND) as send:
        assert outbox.outbox_dispatch() == 2
    assert {e["id"] for e in send.call_args.kwargs["args"][0]} == {str(dead.pk), str(pending.pk)}


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_replay_wakes_the_dispatchers():
    dead = _row(dead_at=timezone.now(), attempts=10)
    listener = _listener()
    try:
        assert outbox.outbox_events_replay(event_ids=[dead.pk]) == 1
        assert len(list(listener.notifies(timeout=2, stop_after=1))) == 1
    finally:
        listener.close()


@pytest.mark.django_db
def test_the_relay_task_is_the_bounded_safety_net(settings):
    settings.OUTBOX_RELAY_BATCH = 3
    _rows(5)
    relayed = _sample("outbox_events_dispatched_total", {"path": "relay", "outcome": "ok"})
    with mock.patch(SEND):
        assert outbox_relay_task() == 3
    assert OutboxEvent.objects.filter(dispatched_at__isnull=True).count() == 2
    assert _sample("outbox_events_dispatched_total", {"path": "relay", "outcome": "ok"}) == relayed + 3


@postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("row_locks", [True, False], ids=["skip-locked", "compare-and-set-only"])
def test_concurrent_dispatchers_never_send_the_same_row(settings, monkeypatch, row_locks):
    settings.OUTBOX_DISPATCH_BATCH = 7
    if not row_locks:
        # What SQLite does: no FOR UPDATE, each row claimed by compare-and-set alone.
        features = type(connection.features)
        monkeypatch.setattr(features, "has_select_for_update", False)
        monkeypatch.setattr(features, "has_select_for_update_skip_locked", False)
    rows = _rows(300)
    sent: list[str] = []
    lock = threading.Lock()

    def send_task(name, *, args, queue, confirm_timeout):
        time.sleep(0.002)  # a broker round trip: lets the dispatchers interleave
        with lock:
            sent.extend(envelope["id"] for envelope in args[0])

    start = threading.Barrier(4)
    counts: list[int] = []
    errors: list[BaseException] = []

    def dispatcher():
        try:
            start.wait()
            counts.append(outbox.outbox_dispatch())
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    with mock.patch(SEND, side_effect=send_task):
        threads = [threading.Thread(target=dispatcher) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert errors == []
    assert sorted(sent) == sorted(str(row.pk) for row in rows)
    assert len(set(sent)) == 300
    assert sum(counts) == 300
    assert OutboxEvent.objects.filter(attempts=1, dispatched_at__isnull=False).count() == 300
