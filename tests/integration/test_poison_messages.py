"""A malformed broker message is poison: logged, counted and dropped; the consumer goes on.

Exercised through kombu's own consumer loop (``drain_events``, what a Celery worker's loop
runs) on the transports the project registers: the filesystem broker of ``make run`` and Redis.
"""

import os
import uuid

import pytest
import redis as redis_client
from kombu import Connection, Exchange, Queue

from config import celery_transports
from config.celery_options import broker_transport_options
from config.celery_transports import POISON_MESSAGES

celery_transports.install()


def _poisoned(transport: str) -> float:
    return POISON_MESSAGES.labels(transport)._value.get()


def _consume_one(connection, queue) -> list:
    received = []

    def on_message(body, message):
        received.append(body)
        message.ack()

    with connection.Consumer([queue], callbacks=[on_message], accept=["json"]):
        for _ in range(20):
            if received:
                break
            try:
                connection.drain_events(timeout=0.5)
            except TimeoutError:
                continue
    return received


def test_the_filesystem_broker_drops_malformed_files_and_delivers_the_next(tmp_path, caplog):
    options = broker_transport_options("filesystem://", var_dir=tmp_path, socket_timeout=1, hard_time_limit=1)
    # A name of its own: the filesystem transport keeps exchange bindings process-wide.
    name = f"poison-{uuid.uuid4().hex[:8]}"
    exchange = Exchange(name, type="direct")
    queue = Queue(name, exchange, routing_key=name)
    inbox = tmp_path / "broker" / "out"
    before = _poisoned("filesystem")

    with Connection("filesystem://", transport_options=options) as connection:
        assert type(connection.transport).__name__ == "FilesystemTransport"
        connection.Producer().publish({"n": 1}, exchange=exchange, routing_key=name, declare=[queue])
        # Sorted before the valid message: read first.
        (inbox / f"0_a.{name}.msg").write_text("not json {")
        (inbox / f"0_b.{name}.msg").write_text('{"just": "json"}')
        received = _consume_one(connection, queue)

    assert received == [{"n": 1}]
    assert _poisoned("filesystem") == before + 2
    assert sorted(os.listdir(inbox)) == []
    assert sum("malformed message on filesystem" in r.getMessage() for r in caplog.records) == 2


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")
def test_the_redis_broker_drops_malformed_messages_and_delivers_the_next(caplog):
    url = os.environ["REDIS_URL"]
    name = f"poison-{uuid.uuid4().hex[:8]}"
    exchange = Exchange(name, type="direct")
    queue = Queue(name, exchange, routing_key=name)
    before = _poisoned("redis")
    client = redis_client.Redis.from_url(url)

    with Connection(url) as connection:
        assert type(connection.transport).__name__ == "RedisTransport"
        queue(connection.default_channel).declare()
        client.lpush(name, b"not json {", b'{"just": "json"}')
        connection.Producer().publish({"n": 2}, exchange=exchange, routing_key=name, declare=[queue])
        received = _consume_one(connection, queue)
        queue(connection.default_channel).delete()

    assert received == [{"n": 2}]
    assert _poisoned("redis") == before + 2
