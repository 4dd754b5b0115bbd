"""The live inbox: ``GET /api/v1/notifications/stream/``, Server-Sent Events.

Events: ``notification`` (id: the item's resumable event id, data: the item as the list
renders it), ``unread`` (data ``{"unread": n}``, sent first and whenever it changes),
``reset`` (more was missed than is replayed: reload the list), and heartbeat comments.

Under an ASGI server (the ``stream`` role, ``make run``) the response is an async iterator that
lives until the client leaves, ``NOTIFICATIONS_STREAM_MAX_SECONDS`` pass or the access token
expires; it waits on the process's Redis subscription (``apps.notifications.intake.live``) and reads
the database when the doorbell rings, on every heartbeat, and every poll interval while there
is no subscription. Under WSGI (the web role's threads, the test client) a long-lived stream
would hold a worker thread, so the answer is what is there now followed by the end of the
response: EventSource reconnects after ``retry`` milliseconds with ``Last-Event-ID``, which
degrades to polling instead of starving the API.

Database reads run in the default executor (``thread_sensitive=False``): a thread per open
stream, which Django's per-request thread would be, does not scale to idle connections.
"""

import asyncio
import contextlib
import json
from datetime import UTC, datetime, timedelta
from uuid import UUID

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import close_old_connections
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import renderers, serializers, status
from rest_framework.response import Response

from apps.accounts.revocation import token_revoked
from apps.core.api.base import APIView
from apps.core.exceptions import ApplicationError
from apps.core.openapi import AutoSchema, raises
from apps.notifications import selectors
from apps.notifications.api.recipient import STATELESS_READ_AUTHENTICATION, recipient_id_of
from apps.notifications.api.serializers import NotificationOutput
from apps.notifications.intake import live
from apps.notifications.outbound import limits

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class TooManyStreams(ApplicationError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "too_many_streams"
    default_detail = "Too many live streams are open for this user; close one first."


class InvalidLastEventId(ApplicationError):
    default_code = "invalid_last_event_id"
    default_detail = "Last-Event-ID is not an event id this stream sent."


class EventStreamRenderer(renderers.BaseRenderer):
    media_type = "text/event-stream"
    format = "event-stream"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


def event_id(item) -> str:
    """Sortable and resumable: the item's creation time (microseconds since the epoch) and id."""
    return f"{(item.created_at - _EPOCH) // _MICROSECOND}.{item.pk.hex}"


def _parse_event_id(value: str) -> tuple[datetime, UUID]:
    micros, _, hex_id = value.strip().partition(".")
    try:
        if len(micros) > 17 or not micros.isdigit():
            raise ValueError(micros)
        return _EPOCH + int(micros) * _MICROSECOND, UUID(hex=hex_id)
    except ValueError:
        raise InvalidLastEventId() from None


def _event(name: str, data, *, id: str | None = None) -> bytes:
    lines = [f"id: {id}"] if id else []
    lines += [f"event: {name}", "data: " + json.dumps(data, separators=(",", ":"), cls=_Encoder)]
    return ("\n".join(lines) + "\n\n").encode()


class _Encoder(json.JSONEncoder):
    def default(self, o):
        return str(o)


class _Cursor:
    """What one stream has sent: items are read from the database, never from the doorbell.

    ``since`` is the creation time of the newest item sent; items created up to
    ``NOTIFICATIONS_STREAM_SLACK_SECONDS`` before it are read again and those already sent
    (``sent``) skipped, so an item that committed after a newer one is not lost.
    """

    def __init__(self, recipient_id: UUID):
        self.recipient_id = recipient_id
        self.slack = timedelta(seconds=settings.NOTIFICATIONS_STREAM_SLACK_SECONDS)
        self.limit = settings.NOTIFICATIONS_STREAM_REPLAY_MAX
        self.since = timezone.now()
        self.sent: dict[UUID, datetime] = {}
        self.unread: int | None = None

    def start(self, last_event_id: tuple[datetime, UUID] | None) -> list[bytes]:
        """The first events: the missed items (a reconnect) and the unread count."""
        chunks = []
        replayed = []
        if last_event_id is not None:
            self.since, last_id = last_event_id
            self.sent = {last_id: self.since}
            missed = self._read(self.limit + 1)
            if len(missed) > self.limit:
                chunks.append(_event("reset", {"reason": "too_many_missed"}))
                self._skip_to_now()
            else:
                replayed = self._send(missed)
        else:
            self._skip_to_now()
        if replayed:
            return replayed + self._unread()
        # No item went out, so nothing told the client where it is: the count carries the
        # stream's position, and a client that reconnects (EventSource after a dropped
        # connection, or after every answer of a WSGI server) resumes from here, losing nothing
        # committed in between and not asking for a reset again.
        return chunks + self._unread(id=f"{(self.since - _EPOCH) // _MICROSECOND}.{UUID(int=0).hex}")

    def _skip_to_now(self) -> None:
        # What the client can list already is not new; what commits from now on is.
        self.since = timezone.now()
        self.sent = {item.pk: item.created_at for item in self._read(None, everything=True)}

    def more(self) -> list[bytes]:
        chunks = []
        while True:
            items = self._read(self.limit)
            chunks += self._send(items)
            if len(items) < self.limit:
                break
        return chunks + self._unread()

    def _read(self, limit: int | None, *, everything: bool = False) -> list:
        return selectors.notifications_after(
            recipient_id=self.recipient_id,
            since=self.since - self.slack,
            exclude=() if everything else list(self.sent),
            limit=limit,
        )

    def _send(self, items: list) -> list[bytes]:
        chunks = []
        for item in items:
            chunks.append(_event("notification", NotificationOutput(item).data, id=event_id(item)))
            self.sent[item.pk] = item.created_at
            self.since = max(self.since, item.created_at)
        horizon = self.since - self.slack
        self.sent = {pk: created for pk, created in self.sent.items() if created >= horizon}
        return chunks

    def _unread(self, *, id: str | None = None) -> list[bytes]:
        unread = selectors.notification_unread_count(recipient_id=self.recipient_id)
        if unread == self.unread and id is None:
            return []
        self.unread = unread
        return [_event("unread", {"unread": unread}, id=id)]


async def _in_executor(func, *args, **kwargs):
    """Run a database read on the default executor's threads, whose connections outlive any
    request: drop one that is broken or past CONN_MAX_AGE first, as a request would."""

    def call():
        close_old_connections()
        return func(*args, **kwargs)

    return await sync_to_async(call, thread_sensitive=False)()


def _retry_line() -> bytes:
    return f"retry: {int(settings.NOTIFICATIONS_STREAM_POLL_SECONDS * 1000)}\n\n".encode()


async def _live(cursor: _Cursor, *, last_event_id, slot: str, lifetime: float, issued_at: int | None = None):
    """The stream of one ASGI connection; its slot is given back however it ends. A stream
    opened with a token ends at the first heartbeat after the token is revoked (its account
    deleted or deactivated)."""
    key = f"stream:{cursor.recipient_id}"
    heartbeat = settings.NOTIFICATIONS_STREAM_HEARTBEAT_SECONDS
    poll = settings.NOTIFICATIONS_STREAM_POLL_SECONDS
    loop = asyncio.get_running_loop()
    deadline = loop.time() + lifetime
    hub = live.hub()
    name = live.channel(cursor.recipient_id)
    doorbell = None
    try:
        yield _retry_line()
        if hub is not None:
            doorbell = await hub.subscribe(name)
        for chunk in await _in_executor(cursor.start, last_event_id):
            yield chunk
        next_beat = loop.time() + heartbeat
        while (now := loop.time()) < deadline:
            wait = min(next_beat, deadline) - now
            # No doorbell to count on (no Redis, Redis down, or the channel's SUBSCRIBE not yet
            # confirmed: the hub waits a second for it, a loaded machine can take longer):
            # read the database every poll interval meanwhile.
            if hub is None or not hub.healthy or not hub.subscribed(name):
                wait = min(wait, poll)
            if doorbell is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(doorbell.wait(), timeout=max(wait, 0))
                doorbell.clear()
            else:
                await asyncio.sleep(max(wait, 0))
            if loop.time() >= next_beat:
                if issued_at is not None and await sync_to_async(token_revoked, thread_sensitive=False)(
                    user_id=cursor.recipient_id, issued_at=issued_at
                ):
                    return
                yield b": heartbeat\n\n"
                await sync_to_async(limits.renew, thread_sensitive=False)(key, slot, ttl=_slot_ttl())
                next_beat = loop.time() + heartbeat
            for chunk in await _in_executor(cursor.more):
                yield chunk
    finally:
        if doorbell is not None:
            hub.unsubscribe(name, doorbell)
        await sync_to_async(limits.release, thread_sensitive=False)(key, slot)


def _slot_ttl() -> float:
    # Renewed every heartbeat: a slot of a process that died lapses after about three.
    return settings.NOTIFICATIONS_STREAM_HEARTBEAT_SECONDS * 3 + 5


class _StreamSchema(AutoSchema):
    """Errors are JSON in the one error shape (``finalize_response``), not events."""

    def _get_response_for_code(self, serializer, status_code, media_types=None, direction="response"):
        if int(status_code) >= 400:
            media_types = ["application/json"]
        return super()._get_response_for_code(serializer, status_code, media_types, direction)


class NotificationStreamView(APIView):
    authentication_classes = STATELESS_READ_AUTHENTICATION
    renderer_classes = [EventStreamRenderer]
    schema = _StreamSchema()

    @extend_schema(
        operation_id="notifications_stream",
        summary="Watch the inbox live",
        description=(
            "Server-Sent Events (`text/event-stream`) for the signed-in user: `notification` events "
            "(`id` is a resumable event id, `data` the new item as the list renders it), `unread` "
            '(`{"unread": n}`, first and whenever it changes), `reset` (more items were missed than are '
            "replayed: reload the list) and heartbeat comments every NOTIFICATIONS_STREAM_HEARTBEAT_SECONDS. "
            "Reconnecting with `Last-Event-ID` replays the items created after that event, at least once "
            "(drop repeats by item `id`). A user has at most NOTIFICATIONS_STREAM_MAX_PER_USER open streams: "
            "one more is 429 `too_many_streams`. Served live by the ASGI role; a WSGI server answers what "
            "is there now and ends the response, and the client reconnects after `retry`."
        ),
        tags=["notifications"],
        parameters=[
            OpenApiParameter(
                "Last-Event-ID",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="The id of the last event received; the items created after it are sent first.",
            )
        ],
        responses={
            (200, "text/event-stream"): OpenApiResponse(
                # One event of the stream (heartbeat comments are not events).
                response=inline_serializer(
                    "NotificationStreamEvent",
                    fields={
                        "event": serializers.ChoiceField(choices=["notification", "unread", "reset"]),
                        "data": serializers.CharField(help_text='JSON: the item, {"unread": n} or {"reason"}.'),
                        "id": serializers.CharField(required=False, help_text="Resumable; on `notification` only."),
                        "retry": serializers.IntegerField(required=False, help_text="Reconnect delay, ms."),
                    },
                ),
                description="An endless stream of events (see above).",
            )
        },
    )
    @raises(TooManyStreams, InvalidLastEventId)
    def get(self, request):
        recipient_id = recipient_id_of(request)
        header = request.headers.get("Last-Event-ID")
        last_event_id = _parse_event_id(header) if header else None
        cursor = _Cursor(recipient_id)
        if not isinstance(request._request, ASGIRequest):
            chunks = [_retry_line(), *cursor.start(last_event_id)]
            return self._response(iter(chunks))
        slot = limits.acquire(
            f"stream:{recipient_id}", limit=settings.NOTIFICATIONS_STREAM_MAX_PER_USER, ttl=_slot_ttl()
        )
        if slot is None:
            raise TooManyStreams()
        lifetime = settings.NOTIFICATIONS_STREAM_MAX_SECONDS
        expires = getattr(request.auth, "payload", {}).get("exp") if request.auth is not None else None
        if expires:
            lifetime = min(lifetime, max(expires - timezone.now().timestamp(), 0))
        issued_at = getattr(request.auth, "payload", {}).get("iat") if request.auth is not None else None
        return self._response(
            _live(cursor, last_event_id=last_event_id, slot=slot, lifetime=lifetime, issued_at=issued_at)
        )

    @staticmethod
    def _response(content) -> StreamingHttpResponse:
        response = StreamingHttpResponse(content, content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        # nginx (and proxies that honour it) would otherwise buffer the events.
        response["X-Accel-Buffering"] = "no"
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response):
            # Errors (401, 429, …) are JSON in the one error shape, not events.
            request.accepted_renderer = renderers.JSONRenderer()
            request.accepted_media_type = "application/json"
        return super().finalize_response(request, response, *args, **kwargs)
