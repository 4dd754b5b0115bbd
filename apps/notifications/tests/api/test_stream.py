"""The live inbox stream (Server-Sent Events).

The WSGI answer (what is there now, then the end) is tested with the ordinary client; the live
ASGI stream with Django's AsyncClient against real Redis pub/sub (or polling without Redis),
the items written by the ingest service in another thread, committed as a worker would.
"""

import asyncio
import contextlib
import json
import socket
import time
import uuid
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.db import transaction
from django.test import AsyncClient
from django.utils import timezone
from rest_framework_simplejwt.tokens import RefreshToken

from apps.notifications.api.stream import event_id
from apps.notifications.intake import live
from apps.notifications.services import events_ingest
from apps.notifications.tests.conftest import envelope
from tests.factories import NotificationFactory

URL = "/api/v1/notifications/stream/"
STARTED = [{"retry": "200"}, {"event": "unread", "data": {"unread": 0}}]
NOW = timezone.now().replace(microsecond=0)


def _events(body: bytes) -> list[dict]:
    """Parse an event-stream body: one dict per event or comment."""
    events = []
    for block in body.decode().split("\n\n"):
        if not block:
            continue
        event = {}
        for line in block.split("\n"):
            if line.startswith(":"):
                event["comment"] = line[1:].strip()
                continue
            field, _, value = line.partition(": ")
            event[field] = json.loads(value) if field == "data" else value
        events.append(event)
    return events


@pytest.fixture
def stream_settings(settings):
    settings.NOTIFICATIONS_STREAM_CHANNEL_PREFIX = f"test-{uuid.uuid4().hex[:8]}"
    settings.BREAKER_KEY_PREFIX = f"test-{uuid.uuid4().hex[:8]}"
    settings.NOTIFICATIONS_STREAM_POLL_SECONDS = 0.2
    settings.NOTIFICATIONS_STREAM_HEARTBEAT_SECONDS = 30
    return settings


# --- The WSGI answer ----------------------------------------------------------------------------
@pytest.mark.django_db
def test_without_authentication_it_is_401_in_the_error_shape(api_client):
    response = api_client.get(URL, HTTP_ACCEPT="text/event-stream")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "type": "client_error",
        "errors": [
            {"code": "not_authenticated", "detail": "Authentication credentials were not provided.", "attr": None}
        ],
    }


@pytest.mark.django_db
def test_under_wsgi_it_answers_the_unread_count_and_ends(provider, provider_client, stream_settings):
    NotificationFactory(recipient_id=provider.user.pk)
    NotificationFactory(recipient_id=provider.user.pk, read_at=NOW)
    response = provider_client.get(URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    assert response["Cache-Control"] == "no-cache"
    events = _events(b"".join(response.streaming_content))
    position = events[1].pop("id")
    assert events == [{"retry": "200"}, {"event": "unread", "data": {"unread": 1}}]
    # The count carries the stream's position: the reconnect (every second, under WSGI) gets
    # what was committed after this answer, and only that.
    assert position.endswith("." + uuid.UUID(int=0).hex)
    stream_settings.NOTIFICATIONS_STREAM_SLACK_SECONDS = 0
    later = NotificationFactory(recipient_id=provider.user.pk, created_at=timezone.now() + timedelta(seconds=1))
    again = _events(b"".join(provider_client.get(URL, HTTP_LAST_EVENT_ID=position).streaming_content))
    assert [(e.get("event"), e.get("id")) for e in again[1:]] == [("notification", event_id(later)), ("unread", None)]


@pytest.mark.django_db
def test_last_event_id_replays_the_items_created_after_it(provider, provider_client, stream_settings):
    stream_settings.NOTIFICATIONS_STREAM_SLACK_SECONDS = 0
    seen, *missed = [
        NotificationFactory(recipient_id=provider.user.pk, created_at=NOW - timedelta(minutes=3 - i)) for i in range(3)
    ]
    NotificationFactory()  # someone else's
    response = provider_client.get(URL, HTTP_LAST_EVENT_ID=event_id(seen))
    events = _events(b"".join(response.streaming_content))
    assert [e.get("id") for e in events[1:3]] == [event_id(item) for item in missed]
    assert events[1] == {
        "id": event_id(missed[0]),
        "event": "notification",
        "data": {
            "id": str(missed[0].pk),
            "type": "rating.created",
            "title": missed[0].title,
            "body": "Great job.",
            "data": missed[0].data,
            "created_at": missed[0].created_at.isoformat().replace("+00:00", "Z"),
            "read_at": None,
            "seen_at": None,
            "archived_at": None,
        },
    }
    assert events[3] == {"event": "unread", "data": {"unread": 3}}
    assert len(events) == 4


@pytest.mark.django_db
def test_replay_is_bounded_past_it_a_reset_event(provider, provider_client, stream_settings):
    stream_settings.NOTIFICATIONS_STREAM_REPLAY_MAX = 2
    first = NotificationFactory(recipient_id=provider.user.pk, created_at=NOW - timedelta(minutes=10))
    for i in range(3):
        NotificationFactory(recipient_id=provider.user.pk, created_at=NOW - timedelta(minutes=5 - i))
    response = provider_client.get(URL, HTTP_LAST_EVENT_ID=event_id(first))
    events = _events(b"".join(response.streaming_content))
    # After a reset the position is now: the next reconnect does not reset again.
    assert events[2].pop("id").endswith("." + uuid.UUID(int=0).hex)
    assert events == [
        {"retry": "200"},
        {"event": "reset", "data": {"reason": "too_many_missed"}},
        {"event": "unread", "data": {"unread": 4}},
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["nope", "123.zz", "1" * 30 + "." + uuid.uuid4().hex, "-5." + uuid.uuid4().hex])
def test_a_malformed_last_event_id_is_a_400(provider_client, stream_settings, value):
    response = provider_client.get(URL, HTTP_LAST_EVENT_ID=value)
    assert response.status_code == 400
    assert response.json() == {
        "type": "client_error",
        "errors": [
            {
                "code": "invalid_last_event_id",
                "detail": "Last-Event-ID is not an event id this stream sent.",
                "attr": None,
            }
        ],
    }


# --- The live ASGI stream -----------------------------------------------------------------------
class Stream:
    """Reads a streaming response in a task, as the ASGI handler does; ``close`` cancels that
    task, which is what Django's handler does when the client disconnects."""

    def __init__(self, response):
        self.response = response
        self.chunks: asyncio.Queue = asyncio.Queue()
        self.task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self):
        async for chunk in self.response.streaming_content:
            await self.chunks.put(chunk)
        await self.chunks.put(None)

    async def next(self, *, timeout: float) -> dict | None:
        chunk = await asyncio.wait_for(self.chunks.get(), timeout=timeout)
        if chunk is None:
            return None
        (event,) = _events(chunk)
        if event.get("event") == "unread" and event.get("id", "").endswith("." + uuid.UUID(int=0).hex):
            # The stream's position on the first count (asserted by the WSGI tests).
            self.position = event.pop("id")
        return event

    async def close(self):
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


async def _open(auth: dict) -> Stream:
    response = await AsyncClient().get(URL, headers=auth)
    assert response.status_code == 200, response.content
    return Stream(response)


def _ingest_one(recipient_id) -> None:
    events_ingest(envelopes=[envelope(recipient_id=recipient_id)])


def _ingest_one_timed(recipient_id, committed: list[float]) -> None:
    # The first commit callback of the ingest's transaction: when the item became visible.
    with transaction.atomic():
        transaction.on_commit(lambda: committed.append(time.monotonic()))
        _ingest_one(recipient_id)


def _token(user) -> str:
    return f"Bearer {RefreshToken.for_user(user).access_token}"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fan_out", ["redis", "polling"])
def test_a_new_item_reaches_the_open_stream(provider, stream_settings, fan_out):
    if fan_out == "polling":
        stream_settings.REDIS_URL = ""
    user_id = provider.user.pk
    auth = {"Authorization": _token(provider.user)}

    async def scenario():
        stream = await _open(auth)
        try:
            assert await stream.next(timeout=5) == {"retry": "200"}
            assert await stream.next(timeout=5) == {"event": "unread", "data": {"unread": 0}}
            committed: list[float] = []
            await sync_to_async(_ingest_one_timed, thread_sensitive=False)(user_id, committed)
            item = await stream.next(timeout=5)
            # From the item's commit (the ingest's own run time is not the stream's latency).
            took = asyncio.get_running_loop().time() - committed[0]
            assert item["event"] == "notification"
            assert item["data"]["type"] == "rating.created"
            assert await stream.next(timeout=5) == {"event": "unread", "data": {"unread": 1}}
            return took
        finally:
            await stream.close()

    took = asyncio.run(scenario())
    assert took < 1.0


@pytest.mark.django_db(transaction=True)
def test_heartbeats_are_comment_lines(provider, stream_settings):
    stream_settings.NOTIFICATIONS_STREAM_HEARTBEAT_SECONDS = 0.3
    auth = {"Authorization": _token(provider.user)}

    async def scenario():
        stream = await _open(auth)
        try:
            assert [await stream.next(timeout=5) for _ in range(2)] == [
                {"retry": "200"},
                {"event": "unread", "data": {"unread": 0}},
            ]
            assert await stream.next(timeout=2) == {"comment": "heartbeat"}
            assert await stream.next(timeout=2) == {"comment": "heartbeat"}
        finally:
            await stream.close()

    asyncio.run(scenario())


@pytest.mark.django_db(transaction=True)
def test_one_stream_too_many_is_429_and_a_closed_one_frees_its_slot(provider, stream_settings):
    stream_settings.NOTIFICATIONS_STREAM_MAX_PER_USER = 2
    auth = {"Authorization": _token(provider.user)}

    async def scenario():
        first, second = await _open(auth), await _open(auth)
        for stream in (first, second):
            assert [await stream.next(timeout=5) for _ in range(2)] == STARTED
        third = await AsyncClient().get(URL, headers=auth)
        assert third.status_code == 429
        assert json.loads(third.content) == {
            "type": "client_error",
            "errors": [
                {
                    "code": "too_many_streams",
                    "detail": "Too many live streams are open for this user; close one first.",
                    "attr": None,
                }
            ],
        }
        await first.close()
        again = await _open(auth)
        assert [await again.next(timeout=5) for _ in range(2)] == STARTED
        await again.close()
        await second.close()

    asyncio.run(scenario())


@pytest.mark.django_db(transaction=True)
def test_a_stream_ends_when_its_access_token_expires(provider, stream_settings):
    token = RefreshToken.for_user(provider.user).access_token
    # Long enough to still be valid when a loaded machine gets to the request (1 s was not).
    token.set_exp(lifetime=timedelta(seconds=4))
    auth = {"Authorization": f"Bearer {token}"}

    async def scenario():
        stream = await _open(auth)
        events = []
        while (event := await stream.next(timeout=10)) is not None:
            events.append(event)
        return events

    assert asyncio.run(scenario()) == [{"retry": "200"}, {"event": "unread", "data": {"unread": 0}}]


# --- Ingest when Redis is down -------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_ingest_commits_its_items_when_redis_refuses_the_publish(provider, stream_settings, caplog):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    stream_settings.REDIS_URL = f"redis://127.0.0.1:{closed_port}/0"
    live._down_until = 0.0
    before = live.PUBLISH_FAILED._value.get()
    try:
        items = events_ingest(envelopes=[envelope(recipient_id=provider.user.pk)])
    finally:
        live._down_until = 0.0
    assert len(items) == 1
    assert items[0].__class__.objects.filter(recipient_id=provider.user.pk).count() == 1
    assert live.PUBLISH_FAILED._value.get() == before + 1
    assert "doorbell(s) not published" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_stream_closed_while_it_starts_gives_its_slot_back(provider, stream_settings):
    # The client leaves before the first database read is done: nothing waits on the shared
    # Redis connection, the slot is released, and the loop shuts down cleanly.
    stream_settings.NOTIFICATIONS_STREAM_MAX_PER_USER = 1
    auth = {"Authorization": _token(provider.user)}

    async def scenario():
        for _ in range(3):
            stream = await _open(auth)
            assert await stream.next(timeout=5) == {"retry": "200"}
            await asyncio.wait_for(stream.close(), timeout=5)

    asyncio.run(scenario())
