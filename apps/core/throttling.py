"""DRF throttles that cost one cache round trip per request on Redis.

DRF's ``SimpleRateThrottle`` keeps a list of timestamps per client and reads then rewrites it
(two round trips per throttle, so four on an anonymous read and four on a rating POST); in the
bench profile that was a third of a rating-summary read. On Redis these count requests in a
fixed window instead: ``INCR`` + ``EXPIRE NX`` + ``TTL`` in one pipeline. A client can burst to
twice the rate across a window edge, the usual trade of fixed windows. On any other cache
(locmem in the embedded default) DRF's own algorithm runs.

**Local allowance.** A round trip per request and throttle was still the largest cost of a
rating POST after the database. A process therefore may admit up to ``A = floor(rate x
THROTTLE_LOCAL_SHARE)`` requests of a key without asking Redis (default share 5 %: 60 of
``user``'s 1200/min, 30 of ``anon``'s 600/min, 1 of ``rating_submit``'s 30/min); its counts
go to Redis in one pipeline per process every THROTTLE_SYNC_SECONDS, and the answer (the
window's total and TTL) is what the process refuses by until the next sync. When a key's
unsynced count reaches ``A`` the request asks Redis itself, as before. **Tolerance**: with
``P`` web processes a key can get at most ``P x A`` requests past its rate in a window (each
process's unsynced allowance), never more; rates below ``1 / share`` (sign-in, password and
email limits: ``A = 0``) are counted in Redis on every request, exactly as before.
THROTTLE_LOCAL_SHARE=0 turns the allowance off everywhere. The counts live in Redis (the
allowance is only what a process has not yet reported), so every process and replica shares
one limit.

A throttle fails open: when Redis does not answer, the request goes through uncounted (a rate
limit protects the service; refusing every request during a cache outage would be the outage),
counted in ``throttle_fail_open_total`` and logged at most once per ``_WARN_EVERY`` seconds.
After a failure the process does not ask Redis again for THROTTLE_FAIL_OPEN_SECONDS: a Redis
that hangs instead of refusing would otherwise cost every request a socket timeout per
throttle. That pause is this process's own business (it only spares it the waits), so it is
kept in process memory.
"""

import logging
import math
import os
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


class _Window:
    """This process's view of one key's window: the total Redis last reported, what this
    process admitted since (not yet reported), and when the window ends (monotonic)."""

    __slots__ = ("client", "ends", "pending", "synced")

    def __init__(self, ends: float, client) -> None:
        self.synced = 0
        self.pending = 0
        self.ends = ends
        self.client = client


class LocalAllowance:
    """Counts admitted locally and reported to Redis in batches (one pipeline per sync)."""

    # Beyond this many keys, windows with nothing to report are dropped first (a flood of
    # distinct client IPs must not grow the process's memory without bound).
    MAX_KEYS = 50_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, _Window] = {}
        self._pid: int | None = None
        self._thread: threading.Thread | None = None

    def admit(self, *, client, key: str, limit: int, duration: int, allowance: int) -> tuple[bool, float] | None:
        """(allowed, seconds left in the window) decided locally, or None: ask Redis now."""
        now = time.monotonic()
        with self._lock:
            self._ensure_thread()
            window = self._windows.get(key)
            if window is None or now >= window.ends:
                if len(self._windows) >= self.MAX_KEYS:
                    self._windows = {k: w for k, w in self._windows.items() if w.pending and now < w.ends}
                window = self._windows[key] = _Window(now + duration, client)
            if window.synced + window.pending >= limit:
                return False, window.ends - now
            if window.pending < allowance:
                window.pending += 1
                return True, window.ends - now
        return None

    def take_pending(self, key: str) -> int:
        """What this process admitted for ``key`` and has not reported (the caller reports it)."""
        with self._lock:
            window = self._windows.get(key)
            if window is None:
                return 0
            pending, window.pending = window.pending, 0
            return pending

    def synced(self, key: str, *, total: int, ttl: float) -> None:
        with self._lock:
            window = self._windows.get(key)
            if window is not None:
                window.synced = max(window.synced, total)
                window.ends = time.monotonic() + ttl

    def sync(self) -> None:
        """Report every key's pending count: INCRBY + EXPIRE NX + TTL, one pipeline per client."""
        global _redis_paused_until
        now = time.monotonic()
        batches: dict[int, tuple[object, list[tuple[str, int, float]]]] = {}
        with self._lock:
            for key, window in list(self._windows.items()):
                if window.pending:
                    remaining = max(window.ends - now, 1.0)
                    # One pipeline per server: a client object per call, one pool per server.
                    batches.setdefault(id(window.client.connection_pool), (window.client, []))[1].append(
                        (key, window.pending, remaining)
                    )
                    window.pending = 0
                elif now >= window.ends:
                    del self._windows[key]
        for client, items in batches.values():
            try:
                pipeline = client.pipeline(transaction=False)
                for key, count, remaining in items:
                    pipeline.incrby(key, count)
                    pipeline.expire(key, math.ceil(remaining), nx=True)
                    pipeline.ttl(key)
                results = pipeline.execute()
            except redis.RedisError as exc:
                # Admitted already: their counts are lost, as a request counted while Redis is
                # down would be (fail open).
                _redis_paused_until = time.monotonic() + settings.THROTTLE_FAIL_OPEN_SECONDS
                _warn_fail_open("sync", exc)
                continue
            for index, (key, _count, remaining) in enumerate(items):
                total, ttl = results[3 * index], results[3 * index + 2]
                self.synced(key, total=total, ttl=ttl if ttl > 0 else remaining)

    def _ensure_thread(self) -> None:
        # Per process: a forked worker starts its own (the parent's thread does not survive a fork).
        if self._pid == os.getpid():
            return
        self._pid = os.getpid()
        self._windows = {}
        self._thread = threading.Thread(target=self._run, name="throttle-sync", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(settings.THROTTLE_SYNC_SECONDS)
            try:
                self.sync()
            except Exception:  # the sync thread must outlive any one failure
                logger.exception("throttle sync failed")


allowances = LocalAllowance()


def local_allowance(limit: int) -> int:
    return int(limit * settings.THROTTLE_LOCAL_SHARE)


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
        client = backend._cache.get_client(key, write=True)
        allowance = local_allowance(self.num_requests)
        if allowance:
            decided = allowances.admit(
                client=client, key=key, limit=self.num_requests, duration=self.duration, allowance=allowance
            )
            if decided is not None:
                allowed, self._wait = decided
                return allowed
        # This request and whatever this process admitted of the key since its last report.
        count = 1 + (allowances.take_pending(key) if allowance else 0)
        try:
            pipeline = client.pipeline(transaction=False)
            pipeline.incrby(key, count)
            pipeline.expire(key, self.duration, nx=True)
            pipeline.ttl(key)
            total, _, ttl = pipeline.execute()
        except redis.RedisError as exc:
            return _fail_open(scope, exc)
        self._wait = ttl if ttl > 0 else self.duration
        if allowance:
            allowances.synced(key, total=total, ttl=self._wait)
        return total <= self.num_requests

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
