import json
import time
import uuid

import pytest

from apps.notifications.delivery.channels.push import gateway as push
from apps.notifications.outbound import breakers

from .servers import reply

MESSAGE = push.PushMessage(
    message_id="evt-1:device-1",
    token="device-token-1",
    platform="android",
    title="New rating",
    body="Ana rated you 5 stars",
    data={"rating_id": "r1"},
)


@pytest.fixture
def gateways(receiver_factory, settings):
    settings.REDIS_URL = ""
    settings.BREAKER_FAIL_MAX = 5
    a, b = receiver_factory(), receiver_factory()
    run = uuid.uuid4().hex
    providers = [
        # Listed out of order on purpose: priority decides.
        push.Provider(
            id=f"b-{run}", name="B", kind="http_push", endpoint=b.url("/push"), credential="cred-b", priority=2
        ),
        push.Provider(
            id=f"a-{run}", name="A", kind="http_push", endpoint=a.url("/push"), credential="cred-a", priority=1
        ),
    ]
    return a, b, providers


def test_a_down_b_delivers_then_a_back_b_down_a_delivers(gateways):
    a, b, providers = gateways
    a.behaviour = reply(503, b"maintenance")

    result = push.deliver_with_fallback(providers=providers, message=MESSAGE)

    assert result.provider.name == "B"
    assert [(x.provider_name, x.outcome) for x in result.attempts] == [("A", "failed"), ("B", "sent")]
    assert "HTTP 503: maintenance" in result.attempts[0].detail
    assert (len(a.requests), len(b.requests)) == (1, 1)
    request = b.requests[0]
    assert request.headers["authorization"] == "Bearer cred-b"
    assert request.headers["idempotency-key"] == "evt-1:device-1"
    assert json.loads(request.body) == {
        "token": "device-token-1",
        "platform": "android",
        "title": "New rating",
        "body": "Ana rated you 5 stars",
        "data": {"rating_id": "r1"},
    }

    a.behaviour, b.behaviour = reply(200), reply(500)
    result = push.deliver_with_fallback(providers=providers, message=MESSAGE)

    assert result.provider.name == "A"
    assert [(x.provider_name, x.outcome) for x in result.attempts] == [("A", "sent")]
    assert (len(a.requests), len(b.requests)) == (2, 1)
    assert a.requests[1].headers["authorization"] == "Bearer cred-a"


def test_both_down_raises_all_providers_failed(gateways, closed_port):
    _a, b, providers = gateways
    b.behaviour = reply(502)
    providers = [
        push.Provider(**{**vars(providers[1]), "endpoint": f"http://127.0.0.1:{closed_port}/push"}),
        providers[0],
    ]

    with pytest.raises(push.AllProvidersFailed) as excinfo:
        push.deliver_with_fallback(providers=providers, message=MESSAGE)

    errors = excinfo.value.errors
    assert set(errors) == {providers[0].id, providers[1].id}
    assert "Connection refused" in errors[providers[0].id]
    assert "HTTP 502" in errors[providers[1].id]
    assert len(b.requests) == 1


def test_open_breaker_skips_a_without_a_request(gateways, settings):
    a, b, providers = gateways
    settings.BREAKER_FAIL_MAX = 1
    a.behaviour = reply(500)
    push.deliver_with_fallback(providers=providers, message=MESSAGE)  # A fails once: its breaker opens
    assert breakers.is_open(breakers.provider_key(providers[1].id))
    a.behaviour = reply(200)

    result = push.deliver_with_fallback(providers=providers, message=MESSAGE)

    assert result.provider.name == "B"
    assert [(x.provider_name, x.outcome) for x in result.attempts] == [("A", "skipped_open"), ("B", "sent")]
    assert (len(a.requests), len(b.requests)) == (1, 2)


def test_every_breaker_open_raises_all_providers_open_and_sends_nothing(gateways, settings):
    a, b, providers = gateways
    for provider in providers:
        breakers.breaker_for(breakers.provider_key(provider.id)).open()

    with pytest.raises(push.AllProvidersOpen):
        push.deliver_with_fallback(providers=providers, message=MESSAGE)
    assert (a.requests, b.requests) == ([], [])


def test_disabled_providers_are_ignored(gateways):
    a, _b, providers = gateways
    providers = [push.Provider(**{**vars(p), "enabled": p.name != "A"}) for p in providers]

    assert push.deliver_with_fallback(providers=providers, message=MESSAGE).provider.name == "B"
    assert a.requests == []

    with pytest.raises(push.AllProvidersFailed, match="no enabled provider"):
        push.deliver_with_fallback(providers=[], message=MESSAGE)


def test_gone_token_stops_the_fallback(gateways):
    a, b, providers = gateways
    a.behaviour = reply(410)

    with pytest.raises(push.DeviceGone):
        push.deliver_with_fallback(providers=providers, message=MESSAGE)
    assert b.requests == []
    assert not breakers.is_open(breakers.provider_key(providers[1].id))


def test_senders_are_pluggable_per_kind(settings):
    settings.REDIS_URL = ""
    sent = []

    def fake_smtp(*, provider, message):
        sent.append((provider.name, message))
        return "250 queued"

    relay = push.Provider(id=f"smtp-{uuid.uuid4().hex}", name="relay", kind="smtp", endpoint="", credential="")

    result = push.deliver_with_fallback(providers=[relay], message="email", senders={"smtp": fake_smtp})

    assert (result.provider.name, result.detail, sent) == ("relay", "250 queued", [("relay", "email")])


def test_a_refused_message_falls_through_without_counting_against_the_provider(gateways, settings):
    a, _b, providers = gateways
    settings.BREAKER_FAIL_MAX = 1
    a.behaviour = reply(400, b"bad token format")

    result = push.deliver_with_fallback(providers=providers, message=MESSAGE)

    assert [(x.provider_name, x.outcome, x.permanent) for x in result.attempts] == [
        ("A", "failed", True),
        ("B", "sent", False),
    ]
    assert breakers.allow(breakers.provider_key(providers[1].id))  # a 400 is not A's failure


def test_every_provider_refusing_the_message_is_a_permanent_failure(gateways, settings):
    a, b, providers = gateways
    settings.BREAKER_FAIL_MAX = 1
    a.behaviour, b.behaviour = reply(422), reply(403)

    with pytest.raises(push.AllProvidersFailed) as excinfo:
        push.deliver_with_fallback(providers=providers, message=MESSAGE)

    assert excinfo.value.permanent is True
    assert not any(breakers.is_open(breakers.provider_key(p.id)) for p in providers)

    b.behaviour = reply(503)
    with pytest.raises(push.AllProvidersFailed) as excinfo:
        push.deliver_with_fallback(providers=providers, message=MESSAGE)
    assert excinfo.value.permanent is False  # B may recover: retry
    assert breakers.is_open(breakers.provider_key(providers[0].id))


def test_half_open_trial_through_the_fallback_closes_the_breaker(gateways, settings):
    a, b, providers = gateways
    settings.BREAKER_FAIL_MAX = 1
    settings.BREAKER_RESET_TIMEOUT = 0.3
    key_a = breakers.provider_key(providers[1].id)
    a.behaviour = reply(500)
    push.deliver_with_fallback(providers=providers, message=MESSAGE)
    assert breakers.is_open(key_a)
    a.behaviour = reply(200)

    time.sleep(0.35)
    result = push.deliver_with_fallback(providers=providers, message=MESSAGE)

    assert [(x.provider_name, x.outcome) for x in result.attempts] == [("A", "sent")]
    assert breakers.breaker_states()[key_a] == "closed"
    assert (len(a.requests), len(b.requests)) == (2, 1)
