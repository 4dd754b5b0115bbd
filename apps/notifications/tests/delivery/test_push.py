"""Push (and email) delivery through providers in priority order, against real local gateways."""

import json
import socket
import uuid

import pytest
from django.utils import timezone

from apps.notifications.models import Delivery, DeliveryAttempt, DeliveryProvider, DeliveryStatus, Device
from apps.notifications.outbound.tests.servers import reply
from apps.notifications.services import deliveries_replay, delivery_attempt, events_ingest
from apps.notifications.tests.conftest import envelope
from tests.system.harness import SmtpSink

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _breakers(settings, breaker_redis):
    settings.BREAKER_FAIL_MAX = 100


@pytest.fixture
def gateways(receiver_factory):
    a, b = receiver_factory(), receiver_factory()
    DeliveryProvider.objects.create(
        channel="push", name="gateway-a", kind="http_push", endpoint=a.url("/push"), credentials={"token": "ta"}
    )
    DeliveryProvider.objects.create(
        channel="push",
        name="gateway-b",
        kind="http_push",
        endpoint=b.url("/push"),
        credentials={"token": "tb"},
        priority=1,
    )
    return a, b


@pytest.fixture
def device():
    return Device.objects.create(recipient_id=uuid.uuid4(), token="device-token-1", platform="android")


def _push(device) -> Delivery:
    event = envelope(recipient_id=device.recipient_id, recipient_email="")
    events_ingest(envelopes=[event])
    return Delivery.objects.get(device=device, event_id=event["id"])


def _log(delivery) -> list[tuple[str, str]]:
    return list(DeliveryAttempt.objects.filter(delivery=delivery).values_list("target", "outcome"))


def test_a_down_b_delivers_then_a_back_b_down_a_delivers(gateways, device, send_task):
    a, b = gateways
    a.behaviour = reply(503)
    first = _push(device)
    assert first.channel == "push"

    assert delivery_attempt(delivery_id=first.pk) == DeliveryStatus.SENT
    first.refresh_from_db()
    assert first.provider.name == "gateway-b"
    assert _log(first) == [("gateway-a", "failed"), ("gateway-b", "sent")]
    [received] = b.requests
    assert received.headers["authorization"] == "Bearer tb"
    assert received.headers["idempotency-key"] == f"{first.event_id}.{device.pk}"
    body = json.loads(received.body)
    assert (body["token"], body["platform"], body["title"]) == ("device-token-1", "android", first.notification.title)

    a.behaviour, b.behaviour = reply(200), reply(503)
    second = _push(device)
    assert delivery_attempt(delivery_id=second.pk) == DeliveryStatus.SENT
    second.refresh_from_db()
    assert second.provider.name == "gateway-a"
    # Sent at once by the first gateway: the row says it all, no attempt log.
    assert _log(second) == []


def test_both_down_retries_then_dead_and_replay_delivers(settings, gateways, device, send_task):
    settings.OUTBOUND_MAX_ATTEMPTS = 2
    a, b = gateways
    a.behaviour = b.behaviour = reply(500)
    delivery = _push(device)

    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.RETRY
    delivery.refresh_from_db()
    assert delivery.last_error.startswith("all providers failed: gateway-a: failed HTTP 500")
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.DEAD
    assert (len(a.requests), len(b.requests)) == (2, 2)

    b.behaviour = reply(200)
    assert deliveries_replay(delivery_ids=[delivery.pk]) == 1
    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.SENT
    delivery.refresh_from_db()
    assert (delivery.provider.name, delivery.attempts) == ("gateway-b", 1)


def test_open_breakers_on_every_provider_reschedule_without_an_attempt(settings, gateways, device, send_task):
    settings.BREAKER_FAIL_MAX = 1
    settings.BREAKER_RESET_TIMEOUT = 60
    a, b = gateways
    a.behaviour = b.behaviour = reply(500)
    delivery = _push(device)
    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.RETRY  # trips both
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())

    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.RETRY
    delivery.refresh_from_db()
    assert delivery.attempts == 1
    assert (len(a.requests), len(b.requests)) == (1, 1)
    assert delivery.next_attempt_at > timezone.now() + timezone.timedelta(seconds=50)
    assert _log(delivery)[-2:] == [("gateway-a", "skipped_open"), ("gateway-b", "skipped_open")]


def test_a_gone_device_is_removed(gateways, device, send_task):
    a, _ = gateways
    a.behaviour = reply(410)
    delivery = _push(device)
    assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.DEAD
    assert not Device.objects.filter(pk=device.pk).exists()
    delivery.refresh_from_db()
    assert delivery.device_id is None


def test_push_follows_the_recipients_preference(device, send_task):
    from apps.notifications.services import preference_set

    preference_set(recipient_id=device.recipient_id, event_type="rating.created", channel="push", enabled=False)
    events_ingest(envelopes=[envelope(recipient_id=device.recipient_id, recipient_email="")])
    assert not Delivery.objects.filter(channel="push").exists()


def test_email_falls_back_between_smtp_providers(settings, send_task):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    sink = SmtpSink()
    sink.start()
    try:
        DeliveryProvider.objects.create(
            channel="email", name="relay-a", kind="smtp", endpoint=f"smtp://127.0.0.1:{closed}"
        )
        DeliveryProvider.objects.create(
            channel="email", name="relay-b", kind="smtp", endpoint=f"smtp://127.0.0.1:{sink.port}", priority=1
        )
        event = envelope()
        events_ingest(envelopes=[event])
        delivery = Delivery.objects.get(channel="email", event_id=event["id"])
        assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.SENT
        delivery.refresh_from_db()
        assert delivery.provider.name == "relay-b"
        assert [o for _, o in _log(delivery)] == ["failed", "sent"]
        assert sink.message_ids == [f"<{delivery.message_id}@{settings.NOTIFICATIONS_EMAIL_DOMAIN}>"]
    finally:
        sink.stop()
