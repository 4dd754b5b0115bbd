"""Webhook deliveries end to end against real receivers on 127.0.0.1."""

import json
import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from apps.notifications.models import Delivery, DeliveryAttempt, DeliveryStatus, Notification, WebhookEndpoint
from apps.notifications.outbound import breakers
from apps.notifications.outbound.tests.servers import Receiver, reply
from apps.notifications.services import delivery_attempt, events_ingest, webhook_create, webhook_rotate_secret
from apps.notifications.tests.conftest import envelope

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _breakers(settings, breaker_redis):
    settings.BREAKER_FAIL_MAX = 100


def _endpoint(receiver, owner=None, **kwargs):
    import uuid

    return webhook_create(recipient_id=owner or uuid.uuid4(), url=receiver.url(), event_types=[], **kwargs)


def _deliver_event(endpoint, django_capture_on_commit_callbacks, send_task, **data):
    event = envelope(recipient_id=endpoint.recipient_id, **data)
    with django_capture_on_commit_callbacks(execute=True):
        events_ingest(envelopes=[event])
    delivery = Delivery.objects.get(endpoint=endpoint, event_id=event["id"])
    send_task.assert_any_call("notifications.deliver_batch", args=[[str(delivery.pk)]])
    return event, delivery


def _verify(secret, request):
    return Webhook(secret).verify(request.body, request.headers)


def test_a_webhook_is_signed_so_the_standard_library_verifies_it(
    receiver_factory, django_capture_on_commit_callbacks, send_task
):
    receiver = receiver_factory()
    endpoint = _endpoint(receiver)
    event, delivery = _deliver_event(endpoint, django_capture_on_commit_callbacks, send_task)

    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.SENT

    [request] = receiver.requests
    assert request.headers["webhook-id"] == event["id"]
    payload = _verify(endpoint.secret, request)
    assert payload["type"] == "rating.created"
    assert payload["data"]["rating_id"] == event["data"]["rating_id"]
    assert "recipient_email" not in json.dumps(payload)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == (DeliveryStatus.SENT, 1, 200)
    # A first attempt that went out at once logs no attempt row: the delivery row says it all.
    assert not DeliveryAttempt.objects.filter(delivery=delivery).exists()
    assert delivery.sent_at is not None and delivery.last_duration_ms is not None


def test_an_endpoint_gets_only_the_event_types_it_subscribed_to(receiver_factory, send_task):
    import uuid

    owner = uuid.uuid4()
    receiver = receiver_factory()
    webhook_create(recipient_id=owner, url=receiver.url(), event_types=["rating.replied"])
    events_ingest(envelopes=[envelope(recipient_id=owner)])
    assert not Delivery.objects.filter(channel="webhook").exists()
    # Running the same event again creates nothing.
    event = envelope(recipient_id=owner, type="rating.replied")
    events_ingest(envelopes=[event])
    events_ingest(envelopes=[event])
    assert Delivery.objects.filter(channel="webhook").count() == 1


def test_rotation_grace_sends_both_signatures_then_only_the_new_one(
    receiver_factory, django_capture_on_commit_callbacks, send_task
):
    receiver = receiver_factory()
    endpoint = _endpoint(receiver)
    old_secret = endpoint.secret
    rotated = webhook_rotate_secret(recipient_id=endpoint.recipient_id, endpoint_id=endpoint.pk)
    assert rotated.secret != old_secret
    _, delivery = _deliver_event(endpoint, django_capture_on_commit_callbacks, send_task)
    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.SENT

    request = receiver.requests[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert _verify(old_secret, request) == _verify(rotated.secret, request)

    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(previous_secret_expires_at=timezone.now())
    _, second = _deliver_event(endpoint, django_capture_on_commit_callbacks, send_task)
    assert delivery_attempt(delivery_id=second.pk) == DeliveryStatus.SENT
    request = receiver.requests[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    _verify(rotated.secret, request)
    with pytest.raises(WebhookVerificationError):
        _verify(old_secret, request)


def test_a_failed_attempt_is_retried_on_the_jittered_schedule_then_dead(
    settings, receiver_factory, django_capture_on_commit_callbacks, send_task
):
    settings.OUTBOUND_RETRY_BASE_SECONDS = 60
    settings.OUTBOUND_MAX_ATTEMPTS = 2
    receiver = receiver_factory(reply(500, b"boom"))
    endpoint = _endpoint(receiver)
    _, delivery = _deliver_event(endpoint, django_capture_on_commit_callbacks, send_task)

    before = timezone.now()
    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.RETRY
    delivery.refresh_from_db()
    assert delivery.attempts == 1
    assert delivery.last_error == "HTTP 500: boom"
    assert before + timedelta(seconds=1) <= delivery.next_attempt_at <= timezone.now() + timedelta(seconds=60)
    assert delivery_attempt(delivery_id=delivery.pk) is None  # not due yet

    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.DEAD
    assert len(receiver.requests) == 2
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.failing_since is not None


def test_retry_after_sets_the_next_attempt(settings, receiver_factory, django_capture_on_commit_callbacks, send_task):
    settings.OUTBOUND_RETRY_BASE_SECONDS = 1
    receiver = receiver_factory(reply(503, headers={"Retry-After": "120"}))
    endpoint = _endpoint(receiver)
    _, delivery = _deliver_event(endpoint, django_capture_on_commit_callbacks, send_task)

    before = timezone.now()
    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.RETRY
    delivery.refresh_from_db()
    assert before + timedelta(seconds=120) <= delivery.next_attempt_at <= timezone.now() + timedelta(seconds=120)


def test_410_disables_the_endpoint_and_tells_its_owner(receiver_factory, django_capture_on_commit_callbacks, send_task):
    receiver = receiver_factory(reply(410))
    endpoint = _endpoint(receiver)
    _, delivery = _deliver_event(endpoint, django_capture_on_commit_callbacks, send_task)

    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.DEAD

    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.disabled_reason) == (False, "the receiver answered 410 Gone")
    notice = Notification.objects.get(recipient_id=endpoint.recipient_id, type="webhook.disabled")
    assert notice.data == {"endpoint_id": str(endpoint.pk), "url": endpoint.url, "reason": endpoint.disabled_reason}
    # A disabled endpoint gets no new deliveries.
    events_ingest(envelopes=[envelope(recipient_id=endpoint.recipient_id)])
    assert Delivery.objects.filter(endpoint=endpoint).count() == 1


def test_an_endpoint_failing_for_too_long_is_disabled_and_its_owner_told(
    settings, receiver_factory, django_capture_on_commit_callbacks, send_task
):
    settings.WEBHOOK_DISABLE_AFTER = 3 * 86400
    receiver = receiver_factory(reply(500))
    endpoint = _endpoint(receiver)
    _, delivery = _deliver_event(endpoint, django_capture_on_commit_callbacks, send_task)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now() - timedelta(days=2))

    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.RETRY
    endpoint.refresh_from_db()
    assert endpoint.enabled  # two days is not long enough

    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now() - timedelta(days=3, seconds=1))
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    delivery_attempt(delivery_id=delivery.pk)
    endpoint.refresh_from_db()
    assert not endpoint.enabled
    assert endpoint.disabled_reason == "every delivery attempt failed for too long"
    assert Notification.objects.filter(recipient_id=endpoint.recipient_id, type="webhook.disabled").count() == 1


def test_a_success_ends_the_failing_streak(receiver_factory, django_capture_on_commit_callbacks, send_task):
    receiver = receiver_factory()
    endpoint = _endpoint(receiver)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now() - timedelta(days=1))
    _, delivery = _deliver_event(endpoint, django_capture_on_commit_callbacks, send_task)
    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.SENT
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None


def test_an_open_endpoint_breaker_skips_the_endpoint_without_spending_an_attempt_then_half_opens(
    settings, receiver_factory, django_capture_on_commit_callbacks, send_task
):
    settings.BREAKER_FAIL_MAX = 2
    # pybreaker's Redis storage keeps the opening time in whole seconds: a reset timeout of 1 s
    # could half-open the breaker right away; 3 s leaves at least 2 s of open state.
    settings.WEBHOOK_ENDPOINT_RESET_TIMEOUT = 3
    receiver = receiver_factory(reply(500))
    endpoint = _endpoint(receiver)
    _, delivery = _deliver_event(endpoint, django_capture_on_commit_callbacks, send_task)
    # One endpoint answering 500 is its own failure: its breaker opens, not its origin's.
    key = breakers.endpoint_key(endpoint.pk)

    for _ in range(2):
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.RETRY
    assert breakers.breaker_states()[key] == "open"
    assert len(receiver.requests) == 2

    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.RETRY
    assert breakers.breaker_states().get(breakers.origin_key(endpoint.url), "closed") == "closed"
    assert len(receiver.requests) == 2  # nothing reached the endpoint
    delivery.refresh_from_db()
    assert delivery.attempts == 2
    assert delivery.last_error == "circuit breaker open for the endpoint"
    reopen = breakers.reopens_at(key)
    assert delivery.next_attempt_at == reopen

    receiver.behaviour = reply(200)
    deadline = time.monotonic() + 6
    while timezone.now() < reopen and time.monotonic() < deadline:
        time.sleep(0.05)
    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.SENT
    assert len(receiver.requests) == 3
    assert breakers.breaker_states()[key] == "closed"
    delivery.refresh_from_db()
    assert delivery.attempts == 3


def test_an_endpoint_whose_breaker_trial_succeeds_gets_its_held_deliveries_at_once(
    settings, receiver_factory, django_capture_on_commit_callbacks, send_task, monkeypatch
):
    from apps.notifications.outbound import retry

    settings.BREAKER_FAIL_MAX = 1
    # Full jitter may draw a wait at the one-second floor, which the slow steps below can outlast;
    # the longest wait keeps "the other host's delivery still waits" about the breaker.
    settings.OUTBOUND_RETRY_BASE_SECONDS = 60
    monkeypatch.setattr(retry.random, "uniform", lambda low, high: high)
    settings.WEBHOOK_ENDPOINT_RESET_TIMEOUT = 0.3
    receiver = receiver_factory(reply(500))
    endpoint = _endpoint(receiver)
    other = Receiver(reply(500), host="127.0.0.2")  # another host: another breaker
    elsewhere = webhook_create(recipient_id=uuid.uuid4(), url=f"http://127.0.0.2:{other.port}/hook", event_types=[])
    _, failed = _deliver_event(endpoint, django_capture_on_commit_callbacks, send_task)
    _, skipped = _deliver_event(endpoint, django_capture_on_commit_callbacks, send_task)
    _, other_host = _deliver_event(elsewhere, django_capture_on_commit_callbacks, send_task)
    assert delivery_attempt(delivery_id=failed.pk) == DeliveryStatus.RETRY  # opens the endpoint's breaker
    assert delivery_attempt(delivery_id=skipped.pk) == DeliveryStatus.RETRY  # skipped: breaker open
    assert delivery_attempt(delivery_id=other_host.pk) == DeliveryStatus.RETRY
    # The failed ones wait out their backoff (the skipped one the breaker's reset timeout).
    for delivery in (failed, other_host):
        delivery.refresh_from_db()
        assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=1)

    receiver.behaviour = reply(204)
    time.sleep(0.4)  # the reset timeout: the next send is the trial
    _, trial = _deliver_event(endpoint, django_capture_on_commit_callbacks, send_task)
    send_task.reset_mock()
    assert delivery_attempt(delivery_id=trial.pk) == DeliveryStatus.SENT

    # Both deliveries held for the healed endpoint are due now and enqueued; the other host's wait.
    now = timezone.now()
    for delivery in (failed, skipped):
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.RETRY and delivery.next_attempt_at <= now
    other_host.refresh_from_db()
    assert other_host.next_attempt_at > now
    [call] = send_task.call_args_list
    assert call.args == ("notifications.deliver_batch",)
    assert set(call.kwargs["args"][0]) == {str(failed.pk), str(skipped.pk)}
    assert delivery_attempt(delivery_id=failed.pk) == DeliveryStatus.SENT
    assert delivery_attempt(delivery_id=skipped.pk) == DeliveryStatus.SENT
    other.close()


@pytest.mark.django_db(transaction=True)
def test_a_group_that_outlasts_its_lease_keeps_its_rows_by_renewing_it(settings, receiver_factory, send_task):
    """A dead worker's claim lapses within the short lease; a live one renews it while it sends,
    even while one send takes longer than the whole lease."""
    from django.db import connections

    from apps.notifications.services import deliveries_send

    settings.NOTIFICATIONS_DELIVERY_LEASE_SECONDS = 0.6
    lapsed: list[int] = []

    def slow(handler, request):
        time.sleep(0.8)  # longer than the lease
        # Another worker's view, mid-group: could it take any of these rows over now?
        try:
            lapsable = Delivery.objects.filter(status=DeliveryStatus.SENDING, locked_until__lt=timezone.now())
            lapsed.append(lapsable.count())
        finally:
            connections.close_all()
        reply(204)(handler, request)

    receiver = receiver_factory(slow, keep_alive=True)
    endpoint = _endpoint(receiver)
    deliveries = []
    for _ in range(3):
        event = envelope(recipient_id=endpoint.recipient_id)
        events_ingest(envelopes=[event])
        deliveries.append(Delivery.objects.get(endpoint=endpoint, event_id=event["id"]))

    statuses = deliveries_send(delivery_ids=[d.pk for d in deliveries])

    assert set(statuses.values()) == {DeliveryStatus.SENT}
    assert lapsed == [0, 0, 0]  # the group ran 2.4 s, four times its lease
