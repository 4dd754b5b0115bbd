import threading
import time
import uuid

import pytest
import redis
from prometheus_client import REGISTRY

from apps.notifications.outbound import limits


@pytest.fixture
def key():
    return f"host:{uuid.uuid4().hex}.example.com"


@pytest.fixture(params=["redis", "memory"])
def backend(request, settings):
    if request.param == "redis":
        request.getfixturevalue("breaker_redis")
    else:
        settings.REDIS_URL = ""
    return request.param


def test_acquire_up_to_the_limit_then_none_until_released(backend, key):
    first = limits.acquire(key, limit=2, ttl=30)
    second = limits.acquire(key, limit=2, ttl=30)

    assert first and second and first != second
    assert limits.acquire(key, limit=2, ttl=30) is None
    assert limits.acquire(f"{key}-other", limit=2, ttl=30) is not None  # keys are independent

    limits.release(key, first)
    third = limits.acquire(key, limit=2, ttl=30)
    assert third is not None
    assert limits.acquire(key, limit=2, ttl=30) is None
    limits.release(key, first)  # twice: harmless, frees nothing
    assert limits.acquire(key, limit=2, ttl=30) is None


def test_a_slot_whose_holder_never_releases_lapses_after_its_ttl(backend, key):
    assert limits.acquire(key, limit=1, ttl=0.2) is not None
    assert limits.acquire(key, limit=1, ttl=0.2) is None
    time.sleep(0.25)
    assert limits.acquire(key, limit=1, ttl=0.2) is not None


def test_concurrent_acquires_never_exceed_the_limit(backend, key):
    granted: list[str] = []
    barrier = threading.Barrier(8)

    def grab():
        barrier.wait()
        token = limits.acquire(key, limit=3, ttl=30)
        if token:
            granted.append(token)

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert len(granted) == 3


def test_slots_are_shared_by_two_redis_clients(settings, breaker_redis, key):
    # Another process is another client: it must see this one's slots (one Lua script, atomic).
    other = redis.Redis.from_url(breaker_redis)
    script = other.register_script(limits._ACQUIRE)
    name = f"{settings.BREAKER_KEY_PREFIX}:{key}:slots"

    mine = limits.acquire(key, limit=2, ttl=30)
    assert script(keys=[name], args=[2, 30_000, "other-process"], client=other) == 1
    assert limits.acquire(key, limit=2, ttl=30) is None
    assert script(keys=[name], args=[2, 30_000, "other-again"], client=other) == 0

    other.zrem(name, "other-process")
    assert limits.acquire(key, limit=2, ttl=30) is not None
    limits.release(key, mine)
    assert other.zscore(name, mine) is None
    assert 0 < other.pttl(name) <= 30_000  # an idle key disappears on its own
    other.close()


def test_redis_down_fails_open_and_counts_it(settings, closed_port, key, caplog):
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port}/0"
    before = REGISTRY.get_sample_value("outbound_limit_fail_open_total") or 0

    started = time.monotonic()
    tokens = [limits.acquire(key, limit=1, ttl=30) for _ in range(3)]
    for token in tokens:
        limits.release(key, token)

    assert all(tokens)
    assert time.monotonic() - started < 5
    assert REGISTRY.get_sample_value("outbound_limit_fail_open_total") == before + 3
    assert "sending unbounded" in caplog.text


def test_limit_must_be_positive(key):
    with pytest.raises(ValueError):
        limits.acquire(key, limit=0, ttl=1)


def test_a_member_holds_at_most_its_share_and_leaves_the_rest_to_others(backend, key):
    hanging = [limits.acquire(key, limit=4, ttl=30, member="endpoint:a", share=2) for _ in range(3)]

    assert hanging[0] and hanging[1] and hanging[2] is None  # its share is full, the key is not
    healthy = [limits.acquire(key, limit=4, ttl=30, member="endpoint:b", share=2) for _ in range(2)]
    assert all(healthy)
    assert limits.acquire(key, limit=4, ttl=30, member="endpoint:c", share=2) is None  # the limit still holds
    assert limits.acquire(key, limit=4, ttl=30) is None

    limits.release(key, hanging[0])
    assert limits.acquire(key, limit=4, ttl=30, member="endpoint:b", share=2) is None  # b's share is full
    assert limits.acquire(key, limit=4, ttl=30, member="endpoint:a", share=2) is not None


def test_a_destination_names_its_slots_and_its_member():
    destination = limits.member_key("origin:https://h.example:443", "endpoint:1")

    assert limits.split_member(destination) == ("origin:https://h.example:443", "endpoint:1")
    assert limits.split_member("provider:7") == ("provider:7", None)


def test_a_member_needs_a_share(key):
    with pytest.raises(ValueError):
        limits.acquire(key, limit=2, ttl=1, member="endpoint:a")
