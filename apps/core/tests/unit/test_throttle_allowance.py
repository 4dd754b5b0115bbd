"""The throttles' local allowance (apps/core/throttling.py) against the real Redis.

Two ``LocalAllowance`` objects stand for two web processes: each has its own unreported counts,
both report to the same Redis key, as two workers or two pods do.
"""

import pytest
import redis
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from apps.core import throttling
from apps.core.throttling import AnonRateThrottle, LocalAllowance

LIMIT = 100
SHARE = 0.05  # A = 5 per process


class HundredPerMinute(AnonRateThrottle):
    rate = f"{LIMIT}/min"


@pytest.fixture(autouse=True)
def _on_redis(settings):
    if not isinstance(caches["default"], RedisCache):
        pytest.skip("the allowance is reported to Redis")
    settings.THROTTLE_LOCAL_SHARE = SHARE
    # Reports only when the test says so (the background thread would report at its own pace).
    settings.THROTTLE_SYNC_SECONDS = 3600


@pytest.fixture
def pipelines(monkeypatch):
    """How many Redis pipelines were executed (each is one round trip)."""
    executed = []
    real = redis.client.Pipeline.execute

    def counting(self, *args, **kwargs):
        executed.append(len(self.command_stack))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(redis.client.Pipeline, "execute", counting)
    return executed


def _allowed(process: LocalAllowance, monkeypatch, ip: str) -> bool:
    monkeypatch.setattr(throttling, "allowances", process)
    request = Request(APIRequestFactory().get("/", REMOTE_ADDR=ip))
    return HundredPerMinute().allow_request(request, None)


def _redis_count(ip: str) -> int:
    backend = caches["default"]
    key = backend.make_and_validate_key(HundredPerMinute.cache_format % {"scope": "anon", "ident": ip})
    value = backend._cache.get_client(key).get(key)
    return int(value or 0)


def test_a_process_admits_its_allowance_without_a_round_trip_then_asks_redis(monkeypatch, pipelines):
    process = LocalAllowance()
    assert [_allowed(process, monkeypatch, "10.7.0.1") for _ in range(5)] == [True] * 5
    assert pipelines == []
    assert _redis_count("10.7.0.1") == 0
    # The sixth asks Redis, reporting the five and itself in one pipeline.
    assert _allowed(process, monkeypatch, "10.7.0.1")
    assert len(pipelines) == 1
    assert _redis_count("10.7.0.1") == 6


def test_a_sync_reports_every_key_in_one_pipeline_with_its_window(monkeypatch, pipelines):
    process = LocalAllowance()
    for ip in ("10.7.1.1", "10.7.1.2", "10.7.1.3"):
        assert _allowed(process, monkeypatch, ip)
        assert _allowed(process, monkeypatch, ip)
    assert pipelines == []
    process.sync()
    assert pipelines == [9]  # INCRBY, EXPIRE NX, TTL per key
    backend = caches["default"]
    for ip in ("10.7.1.1", "10.7.1.2", "10.7.1.3"):
        assert _redis_count(ip) == 2
        key = backend.make_and_validate_key(HundredPerMinute.cache_format % {"scope": "anon", "ident": ip})
        assert 0 < backend._cache.get_client(key).ttl(key) <= 60
    process.sync()
    assert pipelines == [9]  # nothing left to report


@pytest.mark.parametrize("sync_every", [1, 7, 50])
def test_two_processes_never_exceed_the_rate_by_more_than_their_allowances(monkeypatch, sync_every):
    """The stated tolerance: at most P x A past the rate in a window, and never a refusal before
    the rate is reached."""
    processes = [LocalAllowance(), LocalAllowance()]
    ip = f"10.7.2.{sync_every}"
    admitted = 0
    for n in range(400):
        process = processes[n % 2]
        admitted += _allowed(process, monkeypatch, ip)
        if n % sync_every == 0:
            process.sync()
    for process in processes:
        process.sync()
    allowance = int(LIMIT * SHARE)
    assert LIMIT <= admitted <= LIMIT + len(processes) * allowance
    assert _redis_count(ip) >= admitted


def test_a_refusal_past_the_rate_is_decided_locally_and_says_when_to_retry(monkeypatch, pipelines):
    process = LocalAllowance()
    results = [_allowed(process, monkeypatch, "10.7.3.1") for _ in range(LIMIT + 20)]
    assert results[:LIMIT] == [True] * LIMIT
    assert not any(results[LIMIT + 1 :])
    asked = len(pipelines)
    throttle = HundredPerMinute()
    monkeypatch.setattr(throttling, "allowances", process)
    assert not throttle.allow_request(Request(APIRequestFactory().get("/", REMOTE_ADDR="10.7.3.1")), None)
    assert len(pipelines) == asked  # known to be over: no round trip
    assert 0 < throttle.wait() <= 60


def test_rates_below_one_over_the_share_ask_redis_every_time(monkeypatch, pipelines):
    class NinePerMinute(AnonRateThrottle):
        rate = "9/min"

    monkeypatch.setattr(throttling, "allowances", LocalAllowance())
    request = Request(APIRequestFactory().get("/", REMOTE_ADDR="10.7.4.1"))
    assert [NinePerMinute().allow_request(request, None) for _ in range(10)] == [True] * 9 + [False]
    assert len(pipelines) == 10
