"""Tenants sharing a webhook host: what fails together is held together, and nothing more.

Real receivers on 127.0.0.1 (one port is one origin, paths are endpoints), real PostgreSQL and
Redis when the run has them: the breakers, slots and quorum are the shared ones.
"""

import socket
import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.notifications.delivery.channels.webhook import channel as webhook
from apps.notifications.models import Channel, Delivery, DeliveryStatus
from apps.notifications.outbound import breakers, health
from apps.notifications.outbound.http import OutboundResponse
from apps.notifications.outbound.tests.servers import Receiver, reply
from apps.notifications.services import deliveries_send, events_ingest, webhook_create
from apps.notifications.tests.conftest import envelope

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _shared_state(settings, breaker_redis):
    settings.BREAKER_FAIL_MAX = 2
    settings.OUTBOUND_CONNECT_TIMEOUT = 0.5
    settings.OUTBOUND_TOTAL_TIMEOUT = 0.4
    settings.OUTBOUND_KEEPALIVE_IDLE_SECONDS = 0


def _paths(routes: dict):
    """One receiver, one behaviour per path: several endpoints on one origin."""

    def behave(handler, request):
        routes[request.path](handler, request)

    return behave


def _hang(stop):
    def behave(handler, request):
        stop.wait(1.0)  # past the 0.4 s deadline; bounded so the server thread ends
        reply(200)(handler, request)

    return behave


def _ingest(owner) -> list[Delivery]:
    event = envelope(recipient_id=owner)
    events_ingest(envelopes=[event])
    return list(Delivery.objects.filter(event_id=event["id"], channel=Channel.WEBHOOK))


def _due_now():
    Delivery.objects.filter(channel=Channel.WEBHOOK, status=DeliveryStatus.RETRY).update(next_attempt_at=timezone.now())


def test_keys_name_what_fails_together():
    assert breakers.origin_key("https://Hooks.Example./a/b?x=1") == "origin:https://hooks.example:443"
    assert breakers.origin_key("https://hooks.example:443/c") == "origin:https://hooks.example:443"
    assert breakers.origin_key("https://hooks.example:8443/a") == "origin:https://hooks.example:8443"
    assert breakers.origin_key("http://hooks.example/a") == "origin:http://hooks.example:80"
    assert breakers.origin_key("http://[::1]:8080/a") == "origin:http://[::1]:8080"
    assert breakers.key_kind(breakers.endpoint_key(uuid.uuid4())) == "endpoint"


def test_one_tenants_failing_endpoints_never_hold_another_tenants_on_the_same_host(send_task, closed_port):
    stop_hanging = threading.Event()
    shared = Receiver(
        _paths({"/a/500": reply(500, b"broken"), "/b/hang": _hang(stop_hanging), "/c/good": reply(204)}),
    )
    beside = Receiver(reply(204))  # the same host, another port: another origin
    try:
        owner_a, owner_b, owner_c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        refusing = webhook_create(recipient_id=owner_a, url=f"http://127.0.0.1:{closed_port}/a", event_types=[])
        erroring = webhook_create(recipient_id=owner_a, url=shared.url("/a/500"), event_types=[])
        hanging = webhook_create(recipient_id=owner_b, url=shared.url("/b/hang"), event_types=[])
        good = webhook_create(recipient_id=owner_c, url=shared.url("/c/good"), event_types=[])
        good_beside = webhook_create(recipient_id=owner_c, url=beside.url("/c/also"), event_types=[])

        healthy_sends = []
        for _ in range(5):
            _due_now()
            bad = _ingest(owner_a) + _ingest(owner_b)
            waiting = list(Delivery.objects.filter(channel=Channel.WEBHOOK, status=DeliveryStatus.RETRY))
            mine = _ingest(owner_c)
            # The bad neighbours go first, as in a worker's queue; their backlog with them.
            deliveries_send(delivery_ids=[d.pk for d in bad + waiting])
            started = time.monotonic()
            statuses = deliveries_send(delivery_ids=[d.pk for d in mine])
            healthy_sends.append(time.monotonic() - started)
            assert set(statuses.values()) == {DeliveryStatus.SENT}

        # Every one of the healthy tenant's webhooks went out at its first attempt, on both origins.
        assert Delivery.objects.filter(endpoint__in=[good, good_beside], status=DeliveryStatus.SENT).count() == 10
        assert set(Delivery.objects.filter(endpoint__in=[good, good_beside]).values_list("attempts", flat=True)) == {1}
        assert [r.path for r in shared.requests].count("/c/good") == 5
        assert len(beside.requests) == 5
        assert max(healthy_sends) < 0.4  # never a neighbour's deadline
        # Each failure is held where it belongs: the dead port's origin, the two endpoints.
        states = breakers.breaker_states()
        assert states[breakers.origin_key(refusing.url)] == "open"
        assert states[breakers.endpoint_key(erroring.pk)] == "open"
        assert states[breakers.endpoint_key(hanging.pk)] == "open"
        assert states.get(breakers.origin_key(shared.url()), "closed") == "closed"
        assert states.get(breakers.origin_key(beside.url()), "closed") == "closed"
        assert states.get(breakers.endpoint_key(good.pk), "closed") == "closed"
        # The refusals never counted against the refusing endpoint itself: its origin holds it.
        assert (
            breakers.endpoint_key(refusing.pk) not in states or states[breakers.endpoint_key(refusing.pk)] == "closed"
        )
        # Held deliveries spent no attempt while held.
        held = Delivery.objects.filter(endpoint=erroring, last_error="circuit breaker open for the endpoint")
        assert held.exists()
    finally:
        stop_hanging.set()
        shared.close()
        beside.close()


def _answer(status: int) -> OutboundResponse:
    return OutboundResponse(status=status, headers={}, body="", truncated=False, elapsed=0.01, address="127.0.0.1")


def _fail(origin: str, owner, endpoint_id) -> None:
    gate = health.WebhookHealth()
    endpoint = breakers.endpoint_key(endpoint_id)
    assert gate.admit(origin=origin, endpoint=endpoint) is None
    assert gate.record(origin=origin, endpoint=endpoint, owner=owner, result=_answer(500)) == health.ENDPOINT


def test_an_origin_is_held_on_a_quorum_of_owners_and_endpoints_never_one_endpoints_retries(settings):
    settings.BREAKER_FAIL_MAX = 100
    origin = breakers.origin_key(f"https://{uuid.uuid4().hex}.example/")
    one_owner = uuid.uuid4()
    first = uuid.uuid4()

    for _ in range(10):
        _fail(origin, one_owner, first)
    assert not breakers.is_open(origin)  # one endpoint's retries alone
    _fail(origin, one_owner, uuid.uuid4())
    _fail(origin, one_owner, uuid.uuid4())
    assert not breakers.is_open(origin)  # three endpoints, but one owner's

    # A second owner's endpoint fails too, but the first endpoint answered meanwhile: it no
    # longer witnesses, so two endpoints of one owner and one of another are not a quorum.
    gate = health.WebhookHealth()
    assert gate.admit(origin=origin, endpoint=breakers.endpoint_key(first)) is None
    gate.record(origin=origin, endpoint=breakers.endpoint_key(first), owner=one_owner, result=_answer(200))
    settings.WEBHOOK_ORIGIN_QUORUM_ENDPOINTS = 4
    _fail(origin, uuid.uuid4(), uuid.uuid4())
    assert not breakers.is_open(origin)
    _fail(origin, uuid.uuid4(), uuid.uuid4())
    assert breakers.is_open(origin)  # four endpoints of three owners within the window


def test_the_failing_backlog_cannot_take_every_trial_of_an_origin(settings):
    """A quorum holds the origin; its half-open trials are shared: the endpoint whose failure
    spent one sits out the next, so a healthy endpoint there gets a trial and releases it."""
    settings.BREAKER_FAIL_MAX = 100
    # pybreaker keeps the opening time in whole seconds in Redis: 2 s is at least 1 s open. The
    # failed trial below would double it: capped at the same 2 s, the test waits no longer.
    settings.BREAKER_RESET_TIMEOUT = 2
    settings.BREAKER_RESET_MAX_TIMEOUT = 2
    settings.WEBHOOK_ENDPOINT_RESET_TIMEOUT = 30
    origin = breakers.origin_key(f"https://{uuid.uuid4().hex}.example/")
    bad = [(uuid.uuid4(), uuid.uuid4()) for _ in range(3)]
    for owner, endpoint_id in bad:
        _fail(origin, owner, endpoint_id)
    assert breakers.is_open(origin)
    healthy = breakers.endpoint_key(uuid.uuid4())
    gate = health.WebhookHealth()
    assert gate.admit(origin=origin, endpoint=healthy) == origin  # held with the rest

    def wait_half_open():
        deadline = time.monotonic() + 5
        while breakers.is_open(origin) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not breakers.is_open(origin)

    # Trial 1 goes to the failing backlog (it asked first) and fails: the origin stays held,
    # and that endpoint is held on its own schedule.
    wait_half_open()
    owner, endpoint_id = bad[0]
    failing = breakers.endpoint_key(endpoint_id)
    gate = health.WebhookHealth()
    assert gate.admit(origin=origin, endpoint=failing) is None
    assert health.WebhookHealth().admit(origin=origin, endpoint=healthy) == origin  # one trial at a time
    gate.record(origin=origin, endpoint=failing, owner=owner, result=_answer(503))
    assert breakers.is_open(origin)
    assert breakers.is_open(failing)

    # Trial 2: the same backlog asks first again but may not take it; the healthy endpoint does.
    wait_half_open()
    assert health.WebhookHealth().admit(origin=origin, endpoint=failing) == failing
    gate = health.WebhookHealth()
    assert gate.admit(origin=origin, endpoint=healthy) is None
    gate.record(origin=origin, endpoint=healthy, owner=uuid.uuid4(), result=_answer(200))
    assert breakers.breaker_states()[origin] == "closed"
    assert gate.healed == {origin}

    # The origin works again: the endpoint that sat out its trials gets a trial of its own at
    # once, not after its own 30 s, and its answer closes its breaker.
    assert breakers.breaker_states()[failing] == "half-open"
    gate = health.WebhookHealth()
    assert gate.admit(origin=origin, endpoint=failing) is None
    assert health.WebhookHealth().admit(origin=origin, endpoint=failing) == failing  # one trial
    gate.record(origin=origin, endpoint=failing, owner=owner, result=_answer(200))
    assert breakers.breaker_states()[failing] == "closed"
    assert gate.healed == {failing}


def test_an_endpoint_held_by_its_own_failures_still_waits_when_its_origin_heals(settings):
    """Only the endpoints that sat out an origin's trials get one when it heals: an endpoint
    that tripped its own breaker (its failures alone, the origin never held) keeps its schedule."""
    settings.BREAKER_FAIL_MAX = 1
    settings.BREAKER_RESET_TIMEOUT = 2
    settings.WEBHOOK_ENDPOINT_RESET_TIMEOUT = 30
    origin = breakers.origin_key(f"https://{uuid.uuid4().hex}.example/")
    owner, own = uuid.uuid4(), uuid.uuid4()
    failing = breakers.endpoint_key(own)
    gate = health.WebhookHealth()
    assert gate.admit(origin=origin, endpoint=failing) is None
    gate.record(origin=origin, endpoint=failing, owner=owner, result=_answer(503))
    assert breakers.is_open(failing)
    assert not breakers.is_open(origin)
    health.end_sit_outs(origin)
    assert breakers.is_open(failing)


def test_a_whole_origin_down_is_held_and_released_when_it_answers_again(
    settings, send_task, closed_port, django_capture_on_commit_callbacks
):
    settings.BREAKER_RESET_TIMEOUT = 2
    owners = [uuid.uuid4() for _ in range(3)]
    endpoints = [
        webhook_create(recipient_id=owner, url=f"http://127.0.0.1:{closed_port}/tenant/{n}", event_types=[])
        for n, owner in enumerate(owners)
    ]
    origin = breakers.origin_key(endpoints[0].url)
    rows = [row for owner in owners for row in _ingest(owner)]
    for row in rows:
        deliveries_send(delivery_ids=[row.pk])
    assert breakers.is_open(origin)  # refused twice: the origin, whichever endpoint asked
    assert Delivery.objects.filter(last_error=f"circuit breaker open for http://127.0.0.1:{closed_port}").exists()
    for endpoint in endpoints:
        assert breakers.breaker_states().get(breakers.endpoint_key(endpoint.pk), "closed") == "closed"

    revived = Receiver(reply(204), port=closed_port)
    try:
        deadline = time.monotonic() + 5
        while breakers.is_open(origin) and time.monotonic() < deadline:
            time.sleep(0.05)
        Delivery.objects.filter(pk=rows[0].pk).update(next_attempt_at=timezone.now())
        send_task.reset_mock()
        assert deliveries_send(delivery_ids=[rows[0].pk]) == {str(rows[0].pk): DeliveryStatus.SENT}  # the trial
        assert breakers.breaker_states()[origin] == "closed"
        # Every endpoint's held deliveries at the healed origin are due now and enqueued.
        others = {str(row.pk) for row in rows[1:]}
        enqueued = {pk for call in send_task.call_args_list for pk in call.kwargs["args"][0]}
        assert others <= enqueued
        assert not Delivery.objects.filter(pk__in=others, next_attempt_at__gt=timezone.now() + timedelta(seconds=1))
    finally:
        revived.close()


def test_an_origin_that_blinks_below_the_threshold_releases_what_it_failed_at_its_next_answer(send_task, closed_port):
    first, second = uuid.uuid4(), uuid.uuid4()
    blinked_to = webhook_create(recipient_id=first, url=f"http://127.0.0.1:{closed_port}/a", event_types=[])
    webhook_create(recipient_id=second, url=f"http://127.0.0.1:{closed_port}/b", event_types=[])
    origin = breakers.origin_key(blinked_to.url)
    [refused] = _ingest(first)
    assert deliveries_send(delivery_ids=[refused.pk]) == {str(refused.pk): DeliveryStatus.RETRY}
    assert breakers.breaker_states()[origin] == "closed"  # one refused connection: below the threshold
    refused.refresh_from_db()
    assert refused.blamed == "origin"
    later = timezone.now() + timedelta(hours=1)
    Delivery.objects.filter(pk=refused.pk).update(next_attempt_at=later)
    # The same endpoint's delivery its own 503 holds waits on: the origin answering says nothing
    # about that path.
    own_failure = Delivery.objects.create(
        event_id=uuid.uuid4(),
        recipient_id=first,
        channel=Channel.WEBHOOK,
        address=blinked_to.url,
        endpoint=blinked_to,
        status=DeliveryStatus.RETRY,
        next_attempt_at=later,
        blamed="endpoint",
    )

    revived = Receiver(reply(204), port=closed_port)
    try:
        [answered] = _ingest(second)
        send_task.reset_mock()
        assert deliveries_send(delivery_ids=[answered.pk]) == {str(answered.pk): DeliveryStatus.SENT}
        [call] = send_task.call_args_list
        assert call.kwargs["args"] == [[str(refused.pk)]]
        refused.refresh_from_db()
        assert refused.next_attempt_at <= timezone.now()
        own_failure.refresh_from_db()
        assert own_failure.next_attempt_at == later
        assert deliveries_send(delivery_ids=[refused.pk]) == {str(refused.pk): DeliveryStatus.SENT}
    finally:
        revived.close()


def test_held_deliveries_are_found_by_their_endpoint_or_origin():
    endpoint_id = uuid.uuid4()
    rows = [
        ("http://127.0.0.1:8080/a", None),
        ("http://127.0.0.1:8081/a", None),
        ("https://hooks.example/x", None),
        ("https://hooks.example:443/y", None),
        ("https://hooks.example:8443/z", None),
        ("https://other.example/q", endpoint_id),
    ]
    from apps.notifications.models import WebhookEndpoint

    owner = uuid.uuid4()
    WebhookEndpoint.objects.create(pk=endpoint_id, recipient_id=owner, url="https://other.example/q", secret="s")
    for address, endpoint in rows:
        Delivery.objects.create(
            event_id=uuid.uuid4(), recipient_id=owner, channel=Channel.WEBHOOK, address=address, endpoint_id=endpoint
        )

    def found(*keys):
        return sorted(Delivery.objects.filter(webhook.waiting_for(keys)).values_list("address", flat=True))

    assert found("origin:http://127.0.0.1:8080") == ["http://127.0.0.1:8080/a"]
    assert found("origin:https://hooks.example:443") == ["https://hooks.example/x", "https://hooks.example:443/y"]
    assert found(breakers.endpoint_key(endpoint_id)) == ["https://other.example/q"]
    assert webhook.waiting_for(["provider:1"]) is None


def test_transport_failures_blame_the_origin_and_the_rest_the_endpoint(settings, receiver_factory, closed_port):
    from apps.notifications.outbound import http
    from apps.notifications.outbound.errors import ConnectTimedOut

    def outcome(url):
        try:
            return http.post(url, body=b"{}", headers={})
        except Exception as exc:  # noqa: BLE001 - the result under test
            return exc

    stop = threading.Event()
    answering = receiver_factory(_paths({"/ok": reply(204), "/500": reply(500), "/hang": _hang(stop)}))
    # A listener whose accept queue is full drops new connection attempts: a connect timeout.
    full = socket.socket()
    full.bind(("127.0.0.1", 0))
    full.listen(0)
    fillers = []
    try:
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(full.getsockname())
            fillers.append(filler)
        time.sleep(0.1)
        timed_out = outcome(f"http://127.0.0.1:{full.getsockname()[1]}/x")
        assert isinstance(timed_out, ConnectTimedOut)
        assert health.blame(timed_out) == health.ORIGIN
        assert health.blame(outcome(f"http://127.0.0.1:{closed_port}/x")) == health.ORIGIN
        assert health.blame(outcome(answering.url("/hang"))) == health.ENDPOINT  # a deadline after connecting
        assert health.blame(outcome(answering.url("/500"))) == health.ENDPOINT
        assert health.blame(outcome(answering.url("/ok"))) is None
    finally:
        stop.set()
        for filler in fillers:
            filler.close()
        full.close()


def test_a_failing_endpoint_gets_one_of_its_origins_slots_a_healthy_one_its_share(
    settings, receiver_factory, send_task
):
    from apps.notifications.models import WebhookEndpoint
    from apps.notifications.outbound import limits

    settings.OUTBOUND_HOST_CONCURRENCY = 4
    settings.OUTBOUND_ENDPOINT_CONCURRENCY = 2
    receiver = receiver_factory(reply(204))
    failing = webhook_create(recipient_id=uuid.uuid4(), url=receiver.url("/failing"), event_types=[])
    healthy = webhook_create(recipient_id=uuid.uuid4(), url=receiver.url("/healthy"), event_types=[])
    WebhookEndpoint.objects.filter(pk=failing.pk).update(failing_since=timezone.now())
    # The engine's slot key for a webhook group: the channel and the origin.
    slots = f"webhook:{breakers.origin_key(receiver.url())}"

    def hold(endpoint):
        token = limits.acquire(slots, limit=4, ttl=30, member=breakers.endpoint_key(endpoint.pk), share=4)
        assert token is not None
        return token

    held = [hold(failing)]  # one send of the failing endpoint in flight (hanging, say)
    [stuck] = _ingest(failing.recipient_id)
    send_task.reset_mock()
    assert deliveries_send(delivery_ids=[stuck.pk]) == {str(stuck.pk): DeliveryStatus.RETRY}
    stuck.refresh_from_db()
    assert (stuck.attempts, stuck.last_error) == (0, "destination busy: every concurrency slot is taken")
    # Enqueued again for when it is due, not left to the sweeper's next pass.
    send_task.assert_called_once()
    assert send_task.call_args.kwargs["args"] == [[str(stuck.pk)]]
    wait = (stuck.next_attempt_at - timezone.now()).total_seconds()
    assert wait <= send_task.call_args.kwargs["countdown"] <= settings.NOTIFICATIONS_BUSY_RETRY_SECONDS + 1

    held.append(hold(healthy))  # the healthy endpoint has one in flight: its share is two
    [fine] = _ingest(healthy.recipient_id)
    assert deliveries_send(delivery_ids=[fine.pk]) == {str(fine.pk): DeliveryStatus.SENT}
    held.append(hold(healthy))
    [waits] = _ingest(healthy.recipient_id)
    assert deliveries_send(delivery_ids=[waits.pk]) == {str(waits.pk): DeliveryStatus.RETRY}  # its share is full
    assert [r.path for r in receiver.requests] == ["/healthy"]
    for token in held:
        limits.release(slots, token)


def _webhook_tasks(send_task) -> list[set[str]]:
    """The delivery ids of each webhook task sent (emails left out)."""
    webhooks = {str(pk) for pk in Delivery.objects.filter(channel=Channel.WEBHOOK).values_list("pk", flat=True)}
    tasks = []
    for call in send_task.call_args_list:
        ids = set(call.kwargs["args"][0]) & webhooks
        if ids:
            tasks.append(ids)
    return tasks


def test_healthy_endpoints_of_one_origin_share_a_task_a_failing_one_travels_alone(
    receiver_factory, send_task, django_capture_on_commit_callbacks
):
    from apps.notifications.models import WebhookEndpoint

    shared = receiver_factory(reply(204))
    other = receiver_factory(reply(204))
    owners = [uuid.uuid4() for _ in range(4)]
    healthy = [
        webhook_create(recipient_id=owner, url=shared.url(f"/{n}"), event_types=[])
        for n, owner in enumerate(owners[:2])
    ]
    failing = webhook_create(recipient_id=owners[2], url=shared.url("/failing"), event_types=[])
    WebhookEndpoint.objects.filter(pk=failing.pk).update(failing_since=timezone.now())
    elsewhere = webhook_create(recipient_id=owners[3], url=other.url("/x"), event_types=[])

    with django_capture_on_commit_callbacks(execute=True):
        events_ingest(envelopes=[envelope(recipient_id=owner) for owner in owners])

    def ids(endpoint):
        return {str(pk) for pk in Delivery.objects.filter(endpoint=endpoint).values_list("pk", flat=True)}

    tasks = _webhook_tasks(send_task)
    assert sorted(tasks, key=len) == sorted([ids(healthy[0]) | ids(healthy[1]), ids(failing), ids(elsewhere)], key=len)
    # One task, and still each endpoint its own group: both arrive.
    [together] = [task for task in tasks if len(task) == 2]
    assert set(deliveries_send(delivery_ids=list(together)).values()) == {DeliveryStatus.SENT}
    assert sorted(r.path for r in shared.requests) == ["/0", "/1"]

    # Rows that come without their endpoint (the sweeper's) are sent one endpoint per task.
    send_task.reset_mock()
    Delivery.objects.filter(endpoint__in=healthy).update(status=DeliveryStatus.RETRY, next_attempt_at=timezone.now())
    from apps.notifications.services import deliveries_sweep

    deliveries_sweep()
    assert sorted(_webhook_tasks(send_task), key=sorted) == sorted([ids(healthy[0]), ids(healthy[1])], key=sorted)


def test_an_endpoint_that_starts_hanging_hands_its_task_neighbours_to_a_task_of_their_own(
    receiver_factory, send_task, django_capture_on_commit_callbacks
):
    from apps.notifications.models import WebhookEndpoint

    stop = threading.Event()
    shared = receiver_factory(_paths({"/hang": _hang(stop), "/good": reply(204)}))
    try:
        hang_owner, good_owner = uuid.uuid4(), uuid.uuid4()
        hanging = webhook_create(recipient_id=hang_owner, url=shared.url("/hang"), event_types=[])
        good = webhook_create(recipient_id=good_owner, url=shared.url("/good"), event_types=[])
        with django_capture_on_commit_callbacks(execute=True):
            events_ingest(envelopes=[envelope(recipient_id=hang_owner), envelope(recipient_id=good_owner)])
        [task] = _webhook_tasks(send_task)
        # The hanging endpoint's delivery comes first in the task (it became due first).
        Delivery.objects.filter(endpoint=hanging).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        [waiting] = Delivery.objects.filter(endpoint=good)
        send_task.reset_mock()

        statuses = deliveries_send(delivery_ids=list(task))

        # The good endpoint was not sent behind the deadline: it went back untouched, due now,
        # and was enqueued again at once in a task of its own.
        assert statuses[str(waiting.pk)] == DeliveryStatus.RETRY
        waiting.refresh_from_db()
        assert waiting.attempts == 0
        assert [r.path for r in shared.requests] == ["/hang"]
        assert _webhook_tasks(send_task) == [{str(waiting.pk)}]
        assert send_task.call_args.kwargs["countdown"] < 1
        assert deliveries_send(delivery_ids=[waiting.pk]) == {str(waiting.pk): DeliveryStatus.SENT}
        # From its first failure the hanging endpoint travels alone.
        assert WebhookEndpoint.objects.get(pk=hanging.pk).failing_since is not None
        send_task.reset_mock()
        with django_capture_on_commit_callbacks(execute=True):
            events_ingest(envelopes=[envelope(recipient_id=hang_owner), envelope(recipient_id=good_owner)])
        assert len(_webhook_tasks(send_task)) == 2
    finally:
        stop.set()
