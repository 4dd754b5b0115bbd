"""Webhooks with real worker processes, a Redis broker and a receiver on 127.0.0.1.

- A flapping receiver (about half the requests answer 500, some hang past the deadline) gets
  every event exactly once by ``webhook-id``, within the retry schedule.
- An endpoint's circuit breaker, kept in Redis, is shared by two worker processes: it opens
  after the threshold, no request reaches the host while it is open (deliveries are rescheduled
  without spending attempts), it half-opens after the reset time and closes on success.
"""

import json
import random
import threading
import time
import uuid
from collections import Counter

import pytest
import redis
from standardwebhooks.webhooks import Webhook

from apps.notifications.outbound.tests.servers import Receiver, reply
from tests.system.harness import manage, scalar, wait_until

pytestmark = pytest.mark.system

SETUP = """
import json, os, uuid
from django.utils import timezone
from apps.notifications.services import events_ingest, webhook_create

owner = uuid.uuid4()
endpoint = webhook_create(recipient_id=owner, url=os.environ["HOOK_URL"], event_types=[])
ids = []
for i in range(int(os.environ["EVENTS"])):
    event_id = str(uuid.uuid4())
    events_ingest(envelopes=[{
        "id": event_id, "type": "rating.created", "version": 1, "occurred_at": timezone.now().isoformat(),
        "data": {"rating_id": str(uuid.uuid4()), "provider_id": str(uuid.uuid4()), "recipient_user_id": str(owner),
                 "customer_name": "Alice", "score": 1 + i % 5, "status": "published"},
    }])
    ids.append(event_id)
print(json.dumps({"secret": endpoint.secret, "events": ids, "endpoint": str(endpoint.pk)}))
"""


def _env(stack, db, redis_broker, **overrides):
    return stack.env(
        DATABASE_URL=db,
        CELERY_BROKER_URL=redis_broker.url,
        REDIS_URL=redis_broker.url,
        BREAKER_KEY_PREFIX=f"sys-{uuid.uuid4().hex[:8]}",
        OUTBOUND_ALLOW_LOOPBACK="true",
        OUTBOUND_REQUIRE_HTTPS="false",
        OUTBOUND_RETRY_BASE_SECONDS="0.5",
        OUTBOUND_RETRY_CAP_SECONDS="3",
        OUTBOUND_MAX_ATTEMPTS="30",
        OUTBOUND_CONNECT_TIMEOUT="0.5",
        OUTBOUND_TOTAL_TIMEOUT="1",
        **overrides,
    )


def _setup(env, url: str, events: int) -> dict:
    out = manage({**env, "HOOK_URL": url, "EVENTS": str(events)}, "shell", "-c", SETUP)
    return json.loads(out.strip().splitlines()[-1])


class Flapping:
    """About 40 % answer 500, 15 % hang past the client's 1 s deadline, the rest 200."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rng = random.Random(4)
        self.seen: Counter = Counter()
        self.accepted: Counter = Counter()
        self.accepted_requests = []

    def __call__(self, handler, request):
        webhook_id = request.headers["webhook-id"]
        with self.lock:
            roll = self.rng.random()
            self.seen[webhook_id] += 1
        if roll < 0.15:
            time.sleep(1.6)
            reply(503)(handler, request)
            return
        if roll < 0.55:
            reply(500, b"flap")(handler, request)
            return
        with self.lock:
            self.accepted[webhook_id] += 1
            self.accepted_requests.append(request)
        reply(200)(handler, request)


def test_a_flapping_receiver_gets_every_event_exactly_once(stack, make_db, redis_broker):
    flapping = Flapping()
    receiver = Receiver(flapping)
    try:
        db = make_db()
        env = _env(stack, db, redis_broker, BREAKER_FAIL_MAX="100000")
        stack.worker("worker", env, queues="notifications,deliveries")
        stack.beat("beat", env)
        events = 40
        setup = _setup(env, receiver.url(), events)

        wait_until(lambda: len(flapping.accepted) >= events, timeout=120, what="every event accepted once")
        time.sleep(4)  # a late duplicate would show up now

        assert set(flapping.seen) == set(setup["events"])
        assert len(flapping.accepted) == events
        assert max(flapping.accepted.values()) == 1
        assert sum(flapping.seen.values()) > events  # it did flap
        hook = Webhook(setup["secret"])
        for request in flapping.accepted_requests:
            assert hook.verify(request.body, request.headers)["type"] == "rating.created"
        assert scalar(db, "SELECT count(*) FROM notifications_delivery WHERE status = 'sent'") == events
        assert scalar(db, "SELECT max(attempts) FROM notifications_delivery") < 30
        # Every request the receiver saw is on record: an attempt row, or, for a first attempt
        # that went out at once (no attempt row), the sent delivery itself.
        logged = scalar(db, "SELECT count(*) FROM notifications_deliveryattempt")
        clean_first = scalar(
            db,
            "SELECT count(*) FROM notifications_delivery d WHERE status = 'sent' AND attempts = 1"
            " AND NOT EXISTS (SELECT 1 FROM notifications_deliveryattempt a WHERE a.delivery_id = d.id)",
        )
        assert logged + clean_first >= sum(flapping.seen.values())
    finally:
        receiver.close()


def test_the_endpoint_breaker_is_shared_by_two_workers(stack, make_db, redis_broker):
    fail_max, reset = 3, 5
    times: list[float] = []
    lock = threading.Lock()
    state = {"status": 500}

    def behaviour(handler, request):
        with lock:
            times.append(time.time())
        reply(state["status"])(handler, request)

    receiver = Receiver(behaviour)
    try:
        db = make_db()
        env = _env(stack, db, redis_broker, BREAKER_FAIL_MAX=str(fail_max), WEBHOOK_ENDPOINT_RESET_TIMEOUT=str(reset))
        stack.worker("worker-a", env, queues="notifications,deliveries")
        stack.worker("worker-b", env, queues="notifications,deliveries")
        stack.beat("beat", env)
        client = redis.Redis.from_url(redis_broker.url)
        events = 8
        setup = _setup(env, receiver.url(), events)
        # One endpoint answering 500 is its own failure, not its host's (outbound.health).
        namespace = f"{env['BREAKER_KEY_PREFIX']}:endpoint:{setup['endpoint']}:pybreaker"

        def breaker_state():
            value = client.get(f"{namespace}:state")
            return value.decode() if value else None

        wait_until(lambda: breaker_state() == "open", timeout=30, what="the breaker to open")
        opened_at = float(client.get(f"{namespace}:opened_at"))
        with lock:
            at_open = len(times)
        # Both workers send concurrently, so a few calls may be in flight when it trips.
        assert fail_max <= at_open <= fail_max + 4
        # While open, nothing reaches the host and skipped sends spend no attempt.
        wait_until(
            lambda: (
                scalar(
                    db,
                    "SELECT count(*) FROM notifications_delivery WHERE starts_with(last_error, 'circuit breaker open')",
                )
                > 0
            ),
            timeout=reset,
            what="a delivery skipped by the open breaker",
        )
        time.sleep(max(0.0, opened_at + reset - 1 - time.time()))
        with lock:
            assert len(times) == at_open
        assert scalar(db, "SELECT sum(attempts) FROM notifications_delivery WHERE status = 'retry'") <= at_open

        state["status"] = 200
        wait_until(
            lambda: scalar(db, "SELECT count(*) FROM notifications_delivery WHERE status = 'sent'") == events,
            timeout=60,
            what="every delivery sent after the breaker closed",
        )
        with lock:
            after_open = times[at_open:]
        # The half-open trial came after the reset time; success closed the shared breaker.
        assert after_open[0] >= opened_at + reset - 0.5
        assert breaker_state() == "closed"
        # One request per delivery after the switch: the skipped ones were not lost.
        assert len(times) == at_open + events
        logs = {name: (stack.workdir / f"{name}.log").read_text() for name in ("worker-a", "worker-b")}
        for name, text in logs.items():
            assert "notifications.deliver" in text and "succeeded" in text, name
    finally:
        receiver.close()
