"""The live inbox's doorbell: Redis pub/sub from the processes that change an inbox to the
processes that stream it (``apps.notifications.api.stream``).

A message carries no data, only "this recipient's inbox changed": the stream reads the items
and the unread count from the database, which stays the one source of truth. So a lost
message (Redis down or restarting, a publish that failed) costs a delay, never an item: the
stream also looks at the database on every heartbeat, and every ``NOTIFICATIONS_STREAM_POLL_SECONDS``
while it has no working subscription (always, without ``REDIS_URL``, as under ``make run``).

Publishing happens after commit and never fails the write that caused it: an ingest batch
whose publish fails is committed all the same.

One subscriber connection per process (``Hub``) serves every stream of that process, whatever
the number of users, instead of one Redis connection per open stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import Iterable
from uuid import UUID

import redis
import redis.asyncio
from django.conf import settings
from django.db import transaction
from prometheus_client import Counter

logger = logging.getLogger(__name__)

PUBLISH_FAILED = Counter(
    "notifications_live_publish_failed_total",
    "Live inbox doorbells not published because Redis was unavailable (streams catch up by polling)",
)

# After a failed publish, a process leaves Redis alone this long: a hung Redis must not cost
# every ingest batch a socket timeout.
_BACKOFF_SECONDS = 5.0
_publisher: redis.Redis | None = None
_publisher_url = ""
_down_until = 0.0


def channel(recipient_id: UUID | str) -> str:
    return f"{settings.NOTIFICATIONS_STREAM_CHANNEL_PREFIX}:notifications:{recipient_id}"


def _client() -> redis.Redis:
    global _publisher, _publisher_url
    if _publisher is None or _publisher_url != settings.REDIS_URL:
        _publisher = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5)
        _publisher_url = settings.REDIS_URL
    return _publisher


def inbox_changed_publish(*, recipient_ids: Iterable[UUID | str]) -> None:
    """Ring the doorbell of each recipient now (one round trip); Redis errors are logged only."""
    global _down_until
    recipients = list(dict.fromkeys(str(r) for r in recipient_ids))
    if not recipients or not settings.REDIS_URL or time.monotonic() < _down_until:
        return
    try:
        pipe = _client().pipeline(transaction=False)
        for recipient in recipients:
            pipe.publish(channel(recipient), b"1")
        pipe.execute()
    except redis.RedisError as exc:
        _down_until = time.monotonic() + _BACKOFF_SECONDS
        PUBLISH_FAILED.inc(len(recipients))
        logger.warning("live inbox: Redis unavailable, %d doorbell(s) not published: %r", len(recipients), exc)


def inbox_changed(*, recipient_ids: Iterable[UUID | str], using: str) -> None:
    """Ring the recipients' doorbells once the current transaction of ``using`` commits."""
    recipients = list(recipient_ids)
    transaction.on_commit(lambda: inbox_changed_publish(recipient_ids=recipients), using=using, robust=True)


class Hub:
    """This event loop's subscriptions: one Redis connection, any number of local streams.

    ``subscribe`` returns an ``asyncio.Event`` set whenever the channel's doorbell rings, and
    also when the subscription broke (the stream then checks the database itself).
    ``healthy`` is false while no subscription works; streams poll then.
    """

    def __init__(self, url: str):
        self._url = url
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._client: redis.asyncio.Redis | None = None
        self._pubsub = None
        self._reader: asyncio.Task | None = None
        self._connected = asyncio.Event()
        self.healthy = False

    async def subscribe(self, name: str) -> asyncio.Event:
        event = asyncio.Event()
        first = name not in self._waiters
        self._waiters.setdefault(name, set()).add(event)
        if self._reader is None or self._reader.done():
            self._reader = asyncio.get_running_loop().create_task(self._run())
        # Subscribed before the caller's first database read, so nothing committed after
        # that read goes unannounced.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), timeout=1)
        if first and self.healthy:
            try:
                await self._pubsub.subscribe(name)
            except (redis.RedisError, OSError):
                self._broken()
        return event

    async def unsubscribe(self, name: str, event: asyncio.Event) -> None:
        waiters = self._waiters.get(name)
        if waiters is None:
            return
        waiters.discard(event)
        if not waiters:
            del self._waiters[name]
            if self.healthy:
                try:
                    await self._pubsub.unsubscribe(name)
                except (redis.RedisError, OSError):
                    self._broken()

    def _broken(self) -> None:
        self.healthy = False
        self._connected.clear()
        for waiters in self._waiters.values():
            for event in waiters:
                event.set()

    async def _run(self) -> None:
        backoff = 0.5
        while self._waiters:
            try:
                self._client = redis.asyncio.Redis.from_url(
                    self._url, socket_connect_timeout=1, health_check_interval=30
                )
                self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
                await self._pubsub.subscribe(*self._waiters)
                self.healthy = True
                self._connected.set()
                backoff = 0.5
                # Anything announced while the subscription was down: let every stream look.
                for waiters in self._waiters.values():
                    for event in waiters:
                        event.set()
                while self._waiters:
                    message = await self._pubsub.get_message(timeout=1.0)
                    if message and message.get("type") == "message":
                        name = message["channel"].decode()
                        for event in self._waiters.get(name, ()):
                            event.set()
            except (redis.RedisError, OSError) as exc:
                logger.warning("live inbox: Redis subscription lost, streams poll the database: %r", exc)
                self._broken()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                await self._close()
        self.healthy = False
        self._connected.clear()

    async def _close(self) -> None:
        with contextlib.suppress(Exception):
            if self._pubsub is not None:
                await self._pubsub.aclose()
        with contextlib.suppress(Exception):
            if self._client is not None:
                await self._client.aclose()
        self._pubsub = self._client = None


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def hub() -> Hub | None:
    """The running loop's hub; None without ``REDIS_URL`` (the streams poll)."""
    if not settings.REDIS_URL:
        return None
    loop = asyncio.get_running_loop()
    current = _hubs.get(loop)
    if current is None or current._url != settings.REDIS_URL:
        current = _hubs[loop] = Hub(settings.REDIS_URL)
    return current
