"""DRF throttles that cost one cache round trip per request on Redis.

DRF's ``SimpleRateThrottle`` keeps a list of timestamps per client and reads then rewrites it
(two round trips per throttle, so four on an anonymous read and four on a rating POST); in the
bench profile that was a third of a rating-summary read. On Redis these count requests in a
fixed window instead: ``INCR`` + ``EXPIRE NX`` + ``TTL`` in one pipeline. A client can burst to
twice the rate across a window edge, the usual trade of fixed windows. On any other cache
(locmem in the embedded default) DRF's own algorithm runs.

A throttle fails open: when Redis does not answer, the request goes through uncounted (a rate
limit protects the service; refusing every request during a cache outage would be the outage),
counted in ``throttle_fail_open_total`` and logged at most once per ``_WARN_EVERY`` seconds.
After a failure the process does not ask Redis again for THROTTLE_FAIL_OPEN_SECONDS: a Redis
that hangs instead of refusing would otherwise cost every request a socket timeout per
throttle. That pause is this process's own business (it only spares it the waits), so it is
kept in process memory.
"""

import logging
import threading
import time

import redis
from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache import cache as default_cache
from django.core.cache.backends.redis import RedisCache
from prometheus_client import Counter
from rest_framework import throttling

logger = logging.getLogger(__name__)

# Labelled by throttle scope only (anon, user, rating_submit, login_account, login_ip,
# webhook_test): a bounded set.
THROTTLE_FAIL_OPEN = Counter(
    "throttle_fail_open",
    "Requests let through unthrottled because the throttle's cache (Redis) was unavailable",
    ["scope"],
)

# An outage fails every request; one warning line per request would flood the log.
_WARN_EVERY = 60.0
_warn_lock = threading.Lock()
_warned_at: float | None = None
_suppressed = 0


def _warn_fail_open(scope: str, exc: Exception) -> None:
    global _warned_at, _suppressed
    now = time.monotonic()
    with _warn_lock:
        if _warned_at is not None and now - _warned_at < _WARN_EVERY:
            _suppressed += 1
            return
        suppressed, _suppressed, _warned_at = _suppressed, 0, now
    logger.warning(
        "Throttle cache unavailable (%s: %s); letting requests through unthrottled "
        "(%d more since the last warning, next warning in %ds at the earliest)",
        scope,
        type(exc).__name__,
        suppressed,
        int(_WARN_EVERY),
    )


_redis_paused_until = 0.0


def _fail_open(scope: str, exc: Exception | None) -> bool:
    global _redis_paused_until
    THROTTLE_FAIL_OPEN.labels(scope=scope).inc()
    if exc is not None:
        _redis_paused_until = time.monotonic() + settings.THROTTLE_FAIL_OPEN_SECONDS
        _warn_fail_open(scope, exc)
    return True


def _backend(cache):
    # DRF's throttles hold the ``django.core.cache.cache`` proxy, never the backend itself.
    return caches[DEFAULT_CACHE_ALIAS] if cache is default_cache else cache


class RedisWindowMixin:
    _wait: float | None = None

    def allow_request(self, request, view) -> bool:
        backend = _backend(self.cache)
        if not isinstance(backend, RedisCache):
            return super().allow_request(request, view)
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        scope = self.scope or type(self).__name__
        self._wait = None
        if time.monotonic() < _redis_paused_until:
            return _fail_open(scope, None)
        key = backend.make_and_validate_key(self.key)
        try:
            pipeline = backend._cache.get_client(key, write=True).pipeline(transaction=False)
            pipeline.incr(key)
            pipeline.expire(key, self.duration, nx=True)
            pipeline.ttl(key)
            count, _, ttl = pipeline.execute()
        except redis.RedisError as exc:
            return _fail_open(scope, exc)
        self._wait = ttl if ttl > 0 else self.duration
        return count <= self.num_requests

    def wait(self):
        if self._wait is not None:
            return self._wait
        return super().wait()


class AnonRateThrottle(RedisWindowMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(RedisWindowMixin, throttling.UserRateThrottle):
    """The per-user throttle, for authenticated requests only.

    DRF's own also counts anonymous requests, per client IP, under the ``user`` rate; the
    ``anon`` throttle already counts them per IP under a rate that is not looser (600/min
    against 1200/min by default), so that second count could only refuse what the first
    had refused, and cost every anonymous request more cache round trips.
    """

    def get_cache_key(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return None
        return super().get_cache_key(request, view)


class PublicReadThrottle(RedisWindowMixin, throttling.AnonRateThrottle):
    """Per client IP on the public reads (``PublicReadCacheMixin``), off unless THROTTLE_PUBLIC_READ is set.

    Those reads are one primary-key lookup or one page query, the same answer for every caller
    and cacheable by a CDN (ETag, Cache-Control): counting each in Redis was the largest single
    cost of a rating-summary read after the query itself. The place to limit them is the edge
    (ingress or CDN rate limiting, in front of every replica); a deployment without one sets
    THROTTLE_PUBLIC_READ and gets the fixed-window count per IP here, signed in or not.
    """

    scope = "public_read"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def redis_paused() -> bool:
    """Whether Redis failed to answer within the last THROTTLE_FAIL_OPEN_SECONDS. Every
    per-request Redis read (the throttles, the token revocation check) skips Redis meanwhile,
    so a hung Redis costs one socket timeout, not one per request and per reader."""
    return time.monotonic() < _redis_paused_until


def redis_pause(reader: str, exc: Exception) -> None:
    """Record that Redis did not answer ``reader``: the per-request readers skip it for a while
    (and the throttles let requests through meanwhile, which the one warning says)."""
    global _redis_paused_until
    _redis_paused_until = time.monotonic() + settings.THROTTLE_FAIL_OPEN_SECONDS
    _warn_fail_open(reader, exc)
