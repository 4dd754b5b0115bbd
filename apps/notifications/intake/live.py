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

from apps.notifications.outbound.limits import FAST_FAIL

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
        _publisher = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5, retry=FAST_FAIL
        )
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
    ``healthy`` is false while no subscription works; streams poll then. Only the reader task
    touches the connection (SUBSCRIBE, UNSUBSCRIBE and reads), so a stream that goes away never
    waits on it.
    """

    # How often the reader looks at the subscriptions wanted when no message comes.
    TICK = 0.05

    def __init__(self, url: str):
        self._url = url
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._subscribed: set[str] = set()
        self._changed = asyncio.Event()
        self._reader: asyncio.Task | None = None
        self.healthy = False

    async def subscribe(self, name: str) -> asyncio.Event:
        event = asyncio.Event()
        self._waiters.setdefault(name, set()).add(event)
        self._changed.set()
        if self._reader is None or self._reader.done():
            self._reader = asyncio.get_running_loop().create_task(self._run())
        # Subscribed before the caller's first database read, so nothing committed after that
        # read goes unannounced; a Redis that does not answer costs a stream this wait once.
        deadline = asyncio.get_running_loop().time() + 1
        while name not in self._subscribed and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(self.TICK / 5)
        return event

    def subscribed(self, name: str) -> bool:
        """Whether Redis has confirmed the channel: until then a doorbell may be missed."""
        return name in self._subscribed

    def unsubscribe(self, name: str, event: asyncio.Event) -> None:
        waiters = self._waiters.get(name)
        if waiters is None:
            return
        waiters.discard(event)
        if not waiters:
            del self._waiters[name]
            self._changed.set()

    def _wake_all(self) -> None:
        for waiters in self._waiters.values():
            for event in waiters:
                event.set()

    async def _run(self) -> None:
        backoff = 0.5
        while self._waiters:
            client = redis.asyncio.Redis.from_url(
                self._url, socket_connect_timeout=1, socket_timeout=5, health_check_interval=30
            )
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                while self._waiters or self._subscribed:
                    if self._changed.is_set():
                        self._changed.clear()
                        wanted = set(self._waiters)
                        if gone := self._subscribed - wanted:
                            await pubsub.unsubscribe(*gone)
                        if new := wanted - self._subscribed:
                            await pubsub.subscribe(*new)
                        self._subscribed = wanted
                        if not self.healthy:
                            self.healthy = True
                            backoff = 0.5
                            # Anything announced while the subscription was down: let every stream look.
                            self._wake_all()
                        if not wanted:
                            break
                    message = await pubsub.get_message(timeout=self.TICK)
                    if message and message.get("type") == "message":
                        for event in self._waiters.get(message["channel"].decode(), ()):
                            event.set()
            except (redis.RedisError, OSError) as exc:
                logger.warning("live inbox: Redis subscription lost, streams poll the database: %r", exc)
                self.healthy = False
                self._subscribed = set()
                self._changed.set()
                self._wake_all()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                with contextlib.suppress(Exception):
                    await client.aclose()
        self.healthy = False
        self._subscribed = set()


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
