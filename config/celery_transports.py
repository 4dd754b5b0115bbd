"""Broker transports whose workers survive a malformed message: it is poison, not a crash.

kombu's virtual transports (the filesystem broker of ``make run``, with its atomic writes and
claims from ``config.filesystem_broker``, and Redis) parse each message
they take off the queue as JSON and build a message from its ``properties``; a message that is
not JSON, or not such an envelope, raised out of the worker's event loop and the worker died
(restarted by ``bin/supervise``, to die again on the next one). Here such a message is logged
(with what it was and why), counted (``celery_poison_messages_total{transport}``) and dropped:
it was already taken off the queue, which is its acknowledgement. A message that is a valid
envelope but not a valid task (an unknown task name, a body that does not decode) is Celery's to
handle, and it logs and acknowledges those itself. RabbitMQ frames every message, so its
envelopes are always valid; its bodies take Celery's path.

The Redis channel also keeps one redis-py client per connection pool, where kombu builds a new
one for every acknowledgement and publish.

Registered in place of kombu's own ``filesystem`` and ``redis`` transports (``install()``, run
by ``config.celery_app``), so the broker URLs stay what they are.
"""

import logging
from contextlib import nullcontext

from kombu import transport as kombu_transport
from kombu.transport import redis
from prometheus_client import Counter

from config import filesystem_broker

logger = logging.getLogger("config.celery_transports")

POISON_MESSAGES = Counter(
    "celery_poison_messages_total",
    "Broker messages a worker dropped because they were malformed (not a message envelope).",
    ["transport"],
)
# Every failure of parsing or reading an envelope: JSON errors are ValueErrors; a payload of the
# wrong shape fails with a KeyError, TypeError or AttributeError.
_MALFORMED = (ValueError, KeyError, TypeError, AttributeError)


def _poison(transport: str, queue, exc: Exception, payload=None) -> None:
    POISON_MESSAGES.labels(transport).inc()
    logger.error(
        "celery: malformed message on %s queue %r dropped (%s: %s); payload: %.200r",
        transport,
        queue,
        type(exc).__name__,
        exc,
        payload,
    )


def _well_formed(message) -> bool:
    if not isinstance(message, dict):
        return False
    properties = message.get("properties")
    return (
        isinstance(properties, dict)
        and "delivery_tag" in properties
        and isinstance(properties.get("delivery_info"), dict)
        and isinstance(message.get("headers", {}), dict)
    )


class _PoisonSafeDelivery:
    driver_name: str

    def _deliver(self, message, queue):
        if not _well_formed(message):
            _poison(self.driver_name, queue, ValueError("not a message envelope"), message)
            return None
        return super()._deliver(message, queue)


class FilesystemChannel(filesystem_broker.Channel):
    def _get(self, queue):
        # The file of a message that does not parse is already out of the queue's folder: take
        # the next one. Each turn removes a file, so the loop ends with the folder (Empty).
        while True:
            try:
                return super()._get(queue)
            except _MALFORMED as exc:
                _poison("filesystem", queue, exc)


class FilesystemTransport(_PoisonSafeDelivery, filesystem_broker.Transport):
    Channel = FilesystemChannel


class RedisChannel(redis.Channel):
    _kept_client = None

    def conn_or_acquire(self, client=None):
        # kombu builds a new redis.Redis for every use that brings no client (each ack, publish,
        # restore): building one (its table of response callbacks) was near a tenth of a
        # delivery worker's CPU under load. One client per connection pool does the same work:
        # a redis-py client is thread-safe and takes a connection from the pool per command.
        # A new pool (kombu replaces it after a fork) gets a new client.
        if client:
            return nullcontext(client)
        pool = self.pool
        kept = self._kept_client
        if kept is None or kept.connection_pool is not pool:
            kept = self._kept_client = self._create_client()
        return nullcontext(kept)

    def _brpop_read(self, **options):
        try:
            return super()._brpop_read(**options)
        except _MALFORMED as exc:
            # BRPOP has taken it off the list: it is gone, and the next read goes on.
            _poison("redis", None, exc)
            return True

    def _get(self, queue):
        # Each turn pops a message, so the loop ends with the list (Empty).
        while True:
            try:
                return super()._get(queue)
            except _MALFORMED as exc:
                _poison("redis", queue, exc)


class RedisTransport(_PoisonSafeDelivery, redis.Transport):
    Channel = RedisChannel


def install() -> None:
    """Make the ``filesystem://`` and ``redis://`` broker URLs use these transports."""
    kombu_transport.TRANSPORT_ALIASES["filesystem"] = "config.celery_transports:FilesystemTransport"
    kombu_transport.TRANSPORT_ALIASES["redis"] = "config.celery_transports:RedisTransport"
    kombu_transport.TRANSPORT_ALIASES["rediss"] = "config.celery_transports:RedisTransport"
