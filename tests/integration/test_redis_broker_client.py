"""The Redis broker's channel keeps one redis-py client per connection pool.

kombu builds a new ``redis.Redis`` for every ack, publish and restore; the project's channel
(``config.celery_transports.RedisChannel``) keeps one per pool, and a new pool (after a fork)
gets a new client. Exercised on a real Redis: messages published, consumed and acknowledged
through it leave nothing unacknowledged behind.
"""

import os
import uuid

import pytest
from kombu import Connection, Exchange, Queue

from config import celery_transports

celery_transports.install()

pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")


def test_one_client_per_pool_and_a_new_one_for_a_new_pool():
    with Connection(os.environ["REDIS_URL"]) as connection:
        channel = connection.default_channel
        assert type(channel).__name__ == "RedisChannel"
        with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
            assert first is second
            assert first.connection_pool is channel.pool
        given = object()
        with channel.conn_or_acquire(given) as passed:
            assert passed is given

        channel._disconnect_pools()  # what kombu does after a fork

        with channel.conn_or_acquire() as third:
            assert third is not first
            assert third.connection_pool is channel.pool
            assert third.ping()


def test_messages_acknowledged_through_the_kept_client_leave_nothing_unacked():
    name = f"kept-client-{uuid.uuid4().hex[:8]}"
    exchange = Exchange(name, type="direct")
    queue = Queue(name, exchange, routing_key=name)
    received = []

    with Connection(os.environ["REDIS_URL"]) as connection:
        channel = connection.default_channel
        queue(channel).declare()
        producer = connection.Producer()
        for n in range(5):
            producer.publish({"n": n}, exchange=exchange, routing_key=name, declare=[queue])

        def on_message(body, message):
            received.append(body["n"])
            message.ack()

        with connection.Consumer([queue], callbacks=[on_message], accept=["json"]):
            for _ in range(40):
                if len(received) == 5:
                    break
                try:
                    connection.drain_events(timeout=0.5)
                except TimeoutError:
                    continue
        with channel.conn_or_acquire() as client:
            # The unacked hash is the database's (other consumers may share it): ours only.
            unacked = [v for v in client.hvals(channel.unacked_key) if name.encode() in v]
            remaining = client.llen(name)
        queue(channel).delete()

    assert sorted(received) == [0, 1, 2, 3, 4]
    assert (unacked, remaining) == ([], 0)
