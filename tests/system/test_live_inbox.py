"""The live inbox over a real ASGI server: rating → dispatcher → broker → worker → Redis
doorbell → the stream process (gunicorn + uvicorn worker) → an SSE client on loopback."""

import http.client
import json
import queue
import threading
import time
from urllib.parse import urlsplit

import pytest

from tests.system.harness import http as http_call
from tests.system.harness import query, seed, wait_until

pytestmark = pytest.mark.system


class SSEClient:
    """A plain HTTP/1.1 event-stream reader in a thread: each event with the time it arrived."""

    def __init__(self, base: str, token: str, *, last_event_id: str | None = None):
        parts = urlsplit(base)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        self.conn.request("GET", "/api/v1/notifications/stream/", headers=headers)
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.events: queue.Queue = queue.Queue()
        if self.status == 200:
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        event = {}
        try:
            for raw in self.response:
                line = raw.decode().rstrip("\n")
                if not line:
                    if event:
                        event["received"] = time.time()
                        self.events.put(event)
                    event = {}
                elif line.startswith(":"):
                    event["comment"] = line[1:].strip()
                else:
                    field, _, value = line.partition(": ")
                    event[field] = json.loads(value) if field == "data" else value
        except (OSError, ValueError, AttributeError):  # AttributeError: read after close()
            pass

    def next(self, *, kind: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            event = self.events.get(timeout=max(deadline - time.monotonic(), 0.01))
            if event.get("event") == kind:
                return event

    def close(self):
        self.conn.close()


def test_an_item_ingested_by_the_worker_reaches_the_stream_within_a_second_and_a_reconnect_replays(
    stack, make_db, redis_broker, cache_redis
):
    db = make_db()
    env = stack.env(
        DATABASE_URL=db,
        CELERY_BROKER_URL=redis_broker.url,
        REDIS_URL=cache_redis.url,
        NOTIFICATIONS_STREAM_CHANNEL_PREFIX="system-live",
        NOTIFICATIONS_STREAM_HEARTBEAT_SECONDS="2",
        NOTIFICATIONS_STREAM_MAX_PER_USER="2",
    )
    base = stack.web("web", env, workers=1)
    stream_base = stack.stream("stream", env)
    stack.worker("worker", env, "default,notifications,deliveries", pool="threads", concurrency=4)
    stack.dispatcher("dispatcher", env)
    stack.beat("beat", env)
    seeded = seed(env, customers=4, providers=1)
    provider = seeded["providers"][0]

    def rate(customer):
        status, _ = http_call(
            "POST",
            base + "/api/v1/ratings/",
            token=customer["token"],
            body={"provider_id": provider["id"], "score": 5, "comment": "live"},
        )
        assert status == 201

    client = SSEClient(stream_base, provider["token"])
    assert client.status == 200
    assert client.next(kind="unread", timeout=10)["data"] == {"unread": 0}

    # Live: the worker's item arrives, with the unread count.
    rate(seeded["customers"][0])
    event = client.next(kind="notification", timeout=60)
    (created_at,) = query(
        db, "SELECT created_at FROM notifications_notification WHERE id = %s", (event["data"]["id"],)
    )[0]
    latency = event["received"] - created_at.timestamp()
    print(f"\nitem created → event received: {latency * 1000:.0f} ms")
    assert latency < 1.0
    assert event["data"]["title"].startswith("New 5-star rating")
    assert client.next(kind="unread", timeout=5)["data"] == {"unread": 1}
    # Heartbeats keep the idle stream open.
    deadline = time.monotonic() + 10
    while "comment" not in (heartbeat := client.events.get(timeout=max(deadline - time.monotonic(), 0.01))):
        pass
    assert heartbeat["comment"] == "heartbeat"

    # Disconnect; two items are made meanwhile; reconnecting with Last-Event-ID replays them.
    client.close()
    rate(seeded["customers"][1])
    rate(seeded["customers"][2])
    wait_until(
        lambda: query(db, "SELECT count(*) FROM notifications_notification")[0][0] == 3,
        timeout=60,
        what="the two missed items",
    )
    missed = {
        str(row[0])
        for row in query(db, "SELECT id FROM notifications_notification WHERE id <> %s", (event["data"]["id"],))
    }
    again = SSEClient(stream_base, provider["token"], last_event_id=event["id"])
    assert again.status == 200
    replayed = [again.next(kind="notification", timeout=10) for _ in range(2)]
    assert {e["data"]["id"] for e in replayed} == missed
    assert [e["id"] for e in replayed] == sorted(e["id"] for e in replayed)
    assert again.next(kind="unread", timeout=5)["data"] == {"unread": 3}

    # Two streams per user here: the third is refused, in the error shape.
    second = SSEClient(stream_base, provider["token"])
    assert second.status == 200
    third = SSEClient(stream_base, provider["token"])
    assert third.status == 429
    assert json.loads(third.response.read())["errors"][0]["code"] == "too_many_streams"
    # A disconnected client's slot is given back.
    second.close()
    wait_until(
        lambda: (c := SSEClient(stream_base, provider["token"])).status == 200 and (c.close() or True),
        timeout=10,
        what="the closed stream's slot back",
    )
    again.close()
