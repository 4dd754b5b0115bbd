import os
import uuid

import pytest
import redis

from apps.notifications.outbound import http

from .servers import Receiver


@pytest.fixture(autouse=True)
def _no_connection_outlives_its_test():
    # Keep-alive pools are per thread and the tests share one: a connection kept by one test
    # must not serve (or be counted by) the next one.
    http.close_idle_connections()
    yield
    http.close_idle_connections()


@pytest.fixture
def receiver_factory():
    started: list[Receiver] = []

    def make(behaviour=None, *, keep_alive: bool = False) -> Receiver:
        server = Receiver(behaviour, keep_alive=keep_alive)
        started.append(server)
        return server

    yield make
    for server in started:
        server.close()


@pytest.fixture
def receiver(receiver_factory) -> Receiver:
    return receiver_factory()


@pytest.fixture
def breaker_redis(settings):
    """Point the breakers at a real Redis with a prefix of this test's own; removed afterwards.

    Uses REDIS_URL when the run sets one (CI), else DB 7 of a local Redis. Skipped when no
    Redis answers, except in CI where a missing Redis must fail.
    """
    # A database no engineer's REDIS_URL uses on a shared machine (their suites FLUSHDB theirs).
    url = settings.REDIS_URL or "redis://127.0.0.1:6379/11"
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no Redis at {url}: {exc}")
    settings.REDIS_URL = url
    settings.BREAKER_KEY_PREFIX = f"mr-test-breaker-{uuid.uuid4().hex}"
    yield url
    for key in client.scan_iter(match=f"{settings.BREAKER_KEY_PREFIX}:*"):
        client.delete(key)
    client.close()
