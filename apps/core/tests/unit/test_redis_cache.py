"""The Redis cache backend keeps one client per connection pool (apps/core/redis_cache.py)."""

import os
import uuid

import pytest
import redis

from apps.core.redis_cache import RedisCache


@pytest.fixture
def backend(settings):
    # REDIS_URL when the run sets one (CI), else a database of a local Redis no suite flushes.
    url = settings.REDIS_URL or "redis://127.0.0.1:6379/11"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no Redis at {url}: {exc}")
    return RedisCache(url, {"KEY_PREFIX": f"mr-test-cache-{uuid.uuid4().hex}", "OPTIONS": {"socket_timeout": 1}})


def test_every_operation_shares_one_client_and_the_cache_works(backend):
    first = backend._cache.get_client("a", write=True)

    backend.set("a", {"n": 1}, 30)
    backend.set_many({"b": 2, "c": 3}, 30)

    assert backend._cache.get_client("b") is first
    assert backend._cache.get_client("c", write=True) is first
    assert backend.get("a") == {"n": 1}
    assert backend.get_many(["b", "c", "missing"]) == {"b": 2, "c": 3}
    assert backend.incr("b") == 3
    backend.delete_many(["a", "b", "c"])
    assert backend.get_many(["a", "b", "c"]) == {}


def test_the_project_cache_is_this_backend_on_redis(settings):
    from django.core.cache import caches

    if not settings.REDIS_URL:
        pytest.skip("the embedded default has no Redis cache")
    assert isinstance(caches["default"], RedisCache)
