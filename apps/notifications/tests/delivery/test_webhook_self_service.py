"""What an endpoint's owner sets, as a real receiver on 127.0.0.1 sees it: custom headers, the
attempt log with the receiver's answer, a recovery's order, and the endpoint's send rate.

Real PostgreSQL and Redis when the run has them (the rate is then the one every worker shares).
"""

import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY

from apps.notifications.delivery.channels.webhook import signing
from apps.notifications.models import Channel, Delivery, DeliveryStatus
from apps.notifications.outbound import rates
from apps.notifications.outbound.tests.servers import reply
from apps.notifications.services import (
    deliveries_send,
    events_ingest,
    webhook_create,
    webhook_recover,
    webhook_update,
)
from apps.notifications.tests.conftest import envelope

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _shared_state(settings, breaker_redis):
    settings.OUTBOUND_CONNECT_TIMEOUT = 0.5
    settings.OUTBOUND_TOTAL_TIMEOUT = 2
    settings.OUTBOUND_KEEPALIVE_IDLE_SECONDS = 0


def _ingest(owner, count: int = 1) -> None:
    events_ingest(envelopes=[envelope(recipient_id=owner) for _ in range(count)])


def _due_ids() -> list:
    return list(
        Delivery.objects.filter(
            channel=Channel.WEBHOOK,
            status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRY],
            next_attempt_at__lte=timezone.now(),
        ).values_list("pk", flat=True)
    )


def test_custom_headers_go_with_each_delivery_and_the_signature_stays_ours(send_task, receiver_factory):
    receiver = receiver_factory()
    owner = uuid.uuid4()
    endpoint = webhook_create(
        recipient_id=owner, url=receiver.url(), event_types=[], headers={"X-Tenant": "acme", "X-Api-Key": "k1"}
    )
    _ingest(owner)
    deliveries_send(delivery_ids=_due_ids())
    [request] = receiver.requests
    assert (request.headers["x-tenant"], request.headers["x-api-key"]) == ("acme", "k1")
    expected = signing.sign(
        msg_id=request.headers["webhook-id"],
        timestamp=int(request.headers["webhook-timestamp"]),
        body=request.body,
        secrets=[endpoint.secret],
    )
    assert request.headers["webhook-signature"] == expected
    assert request.headers["content-type"] == "application/json"


def test_each_failed_attempt_keeps_the_start_of_the_receivers_answer(
    send_task, receiver_factory, provider, provider_client
):
    receiver = receiver_factory(reply(503, b"upstream down " + b"x" * 1000))
    endpoint = webhook_create(recipient_id=provider.user.pk, url=receiver.url(), event_types=[])
    _ingest(provider.user.pk)
    deliveries_send(delivery_ids=_due_ids())
    receiver.behaviour = reply(200, b"thanks")
    Delivery.objects.filter(endpoint=endpoint).update(next_attempt_at=timezone.now())
    deliveries_send(delivery_ids=_due_ids())

    delivery = Delivery.objects.get(endpoint=endpoint)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 2)
    body = provider_client.get(f"/api/v1/notifications/deliveries/{delivery.pk}/attempts/").json()
    assert [(a["number"], a["outcome"], a["status_code"], a["error"][:21]) for a in body] == [
        (1, "retry", 503, "HTTP 503: upstream do"),
        (2, "sent", 200, ""),
    ]
    assert body[0]["response_excerpt"] == "upstream down " + "x" * 486
    assert body[1]["response_excerpt"] == "thanks"
    assert all(a["duration_ms"] is not None and a["duration_ms"] >= 0 for a in body)


def test_a_recovery_reaches_the_receiver_in_event_order(send_task, receiver_factory):
    receiver = receiver_factory(reply(500))
    owner = uuid.uuid4()
    endpoint = webhook_create(recipient_id=owner, url=receiver.url(), event_types=[])
    since = timezone.now()
    _ingest(owner, count=6)
    # Made a second apart, so "in order" has one answer whatever the ids.
    for position, delivery in enumerate(Delivery.objects.filter(endpoint=endpoint).order_by("id")):
        Delivery.objects.filter(pk=delivery.pk).update(
            created_at=since + timedelta(seconds=position), status=DeliveryStatus.DEAD, attempts=20
        )
    expected = [
        str(d["payload"]["id"])
        for d in Delivery.objects.filter(endpoint=endpoint).order_by("created_at").values("payload")
    ]
    receiver.behaviour = reply(204)

    assert webhook_recover(recipient_id=owner, endpoint_id=endpoint.pk, since=since) == 6
    deliveries_send(delivery_ids=_due_ids())
    assert [r.headers["webhook-id"] for r in receiver.requests] == expected
    assert webhook_recover(recipient_id=owner, endpoint_id=endpoint.pk, since=since) == 0
    assert len(receiver.requests) == 6


def test_an_endpoints_rate_spaces_its_sends_and_never_holds_another_endpoint(send_task, receiver_factory):
    arrivals: dict[str, list[float]] = {"/limited": [], "/free": []}
    lock = threading.Lock()

    def stamp(handler, request):
        with lock:
            arrivals[request.path].append(time.monotonic())
        reply(204)(handler, request)

    receiver = receiver_factory(stamp)
    owner = uuid.uuid4()
    rate, sends = 5, 15
    limited = webhook_create(recipient_id=owner, url=receiver.url("/limited"), event_types=[])
    webhook_update(recipient_id=owner, endpoint_id=limited.pk, rate_per_second=rate)
    webhook_create(recipient_id=owner, url=receiver.url("/free"), event_types=[])
    _ingest(owner, count=sends)

    started = time.monotonic()
    deliveries_send(delivery_ids=_due_ids())
    # The first pass sent every unlimited delivery and one second's worth of the limited ones;
    # the rest were put back (no attempt spent) and enqueued again for when the rate allows.
    assert len(arrivals["/free"]) == sends
    # (One more when the pass itself took over 1/rate seconds on a loaded machine.)
    first_pass = len(arrivals["/limited"])
    assert rate <= first_pass <= rate + 2
    held = Delivery.objects.filter(endpoint=limited, status=DeliveryStatus.RETRY)
    assert held.count() == sends - first_pass
    assert set(held.values_list("attempts", flat=True)) == {0}
    requeued = [call for call in send_task.mock_calls if "countdown" in call.kwargs]
    assert len(requeued) == 1
    assert 0 < requeued[0].kwargs["countdown"] <= 1 / rate + 0.1
    assert sorted(requeued[0].kwargs["args"][0]) == sorted(str(pk) for pk in held.values_list("pk", flat=True))

    # What the requeued tasks do, each when it is due; bounded in passes and time.
    for _ in range(500):
        if len(arrivals["/limited"]) == sends or time.monotonic() - started > 20:
            break
        due = _due_ids()
        if due:
            deliveries_send(delivery_ids=due)
        time.sleep(0.02)
    times = arrivals["/limited"]
    assert len(times) == sends
    # A bucket of one second's sends: the first `rate` at once, then one every 1/rate seconds.
    for i in range(rate, sends):
        assert times[i] - times[0] >= (i - rate + 1) / rate - 0.02, (i, times[i] - times[0])
    assert times[-1] - times[0] < (sends - rate) / rate + 3.0
    assert set(Delivery.objects.filter(endpoint=limited).values_list("attempts", flat=True)) == {1}


def test_rate_take_lets_a_burst_through_then_says_how_long_to_wait(settings):
    key = f"endpoint:{uuid.uuid4()}"
    assert [rates.take(key, rate=4) for _ in range(4)] == [0.0] * 4
    wait = rates.take(key, rate=4)
    assert 0 < wait <= 0.25
    # A refused send counts nothing: asked again, the wait is the same or shorter.
    assert 0 < rates.take(key, rate=4) <= wait
    time.sleep(wait + 0.01)
    assert rates.take(key, rate=4) == 0.0
    # Another key has its own rate.
    assert rates.take(f"endpoint:{uuid.uuid4()}", rate=4) == 0.0


def test_rate_take_in_process_without_redis(settings):
    settings.REDIS_URL = ""
    key = f"endpoint:{uuid.uuid4()}"
    assert [rates.take(key, rate=2) for _ in range(2)] == [0.0, 0.0]
    assert 0 < rates.take(key, rate=2) <= 0.5


def test_rate_take_lets_sends_through_when_redis_is_down(redis_down):
    before = REGISTRY.get_sample_value("outbound_rate_fail_open_total") or 0
    key = f"endpoint:{uuid.uuid4()}"
    assert [rates.take(key, rate=1) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert REGISTRY.get_sample_value("outbound_rate_fail_open_total") == before + 3


def test_concurrent_takers_share_one_bucket(settings):
    # Workers are processes sharing Redis; threads here race on the same script just as they do.
    key = f"endpoint:{uuid.uuid4()}"
    granted: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def worker() -> None:
        start.wait(timeout=5)
        for _ in range(10):
            # A burst of 5, then one a second: nothing refills while the 40 calls run.
            wait = rates.take(key, rate=1, burst=5)
            with lock:
                granted.append(wait)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(granted) == 40
    # One bucket across all of them, whoever asked first; the rest told to wait.
    assert granted.count(0.0) == 5
    assert all(0 < wait <= 1.0 for wait in granted if wait)
