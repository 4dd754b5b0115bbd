"""Circuit breakers (pybreaker), one per key, shared by every worker process through Redis.

A key names what fails together: ``host_key(url)`` for a webhook destination host,
``provider_key(id)`` for a push/email delivery provider. With ``settings.REDIS_URL`` set, the
state lives in Redis (``pybreaker.CircuitRedisStorage``, namespace ``BREAKER_KEY_PREFIX:<key>``),
so a breaker tripped by one worker is open for all of them. With ``REDIS_URL`` empty (the
embedded default) the state is in ``pybreaker.CircuitMemoryStorage``: per process, which is
good enough for a single local worker and nothing more.

If Redis is unreachable, pybreaker logs the error and reports the breaker closed
(``fallback_circuit_state``): deliveries go on unprotected rather than stall, because the
database, not Redis, decides what gets delivered (DESIGN.md §3).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from urllib.parse import urlsplit

import pybreaker
import redis
from django.conf import settings
from prometheus_client import Counter

T = TypeVar("T")
logger = logging.getLogger(__name__)

STATE_CLOSED = pybreaker.STATE_CLOSED
STATE_OPEN = pybreaker.STATE_OPEN
STATE_HALF_OPEN = pybreaker.STATE_HALF_OPEN

BREAKER_TRANSITIONS = Counter(
    "outbound_breaker_transitions_total",
    "Circuit breaker state transitions observed by this process",
    ["key", "from", "to"],
)

_lock = threading.Lock()
_breakers: dict[tuple[str, str, str], pybreaker.CircuitBreaker] = {}
_clients: dict[str, redis.Redis] = {}


class BreakerOpen(Exception):
    """The breaker for ``key`` is open: the call was skipped and costs no delivery attempt."""

    def __init__(self, key: str) -> None:
        super().__init__(f"circuit breaker open for {key}")
        self.key = key


class NotABreakerFailure(Exception):
    """Mixin for exceptions that prove the destination works (e.g. "device token unknown").

    Raised through ``call`` they propagate, but count as a success for the breaker.
    """


class _TransitionListener(pybreaker.CircuitBreakerListener):
    def __init__(self, key: str) -> None:
        self.key = key

    def state_change(self, cb, old_state, new_state) -> None:
        BREAKER_TRANSITIONS.labels(
            key=self.key,
            **{"from": old_state.name if old_state else "none", "to": new_state.name},
        ).inc()


def host_key(url: str) -> str:
    """Breaker key of a webhook destination: its host name (all ports and paths share it)."""
    return f"host:{(urlsplit(url).hostname or '').rstrip('.')}"


def provider_key(provider_id: object) -> str:
    """Breaker key of a delivery provider (push gateway, SMTP relay)."""
    return f"provider:{provider_id}"


def _redis_client(url: str) -> redis.Redis:
    with _lock:
        client = _clients.get(url)
        if client is None:
            # pybreaker's storage decodes bytes itself, so no decode_responses. Short socket
            # timeouts: a hung Redis must not hold a delivery past its own deadline.
            client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
            _clients[url] = client
        return client


def _namespace(key: str) -> str:
    return f"{settings.BREAKER_KEY_PREFIX}:{key}"


def breaker_for(key: str) -> pybreaker.CircuitBreaker:
    """The breaker for ``key``, with thresholds from BREAKER_FAIL_MAX / BREAKER_RESET_TIMEOUT.

    One instance per key, Redis URL and prefix in this process; the state behind it is shared
    when Redis is configured.
    """
    redis_url = settings.REDIS_URL
    cache_key = (redis_url, settings.BREAKER_KEY_PREFIX, key)
    with _lock:
        breaker = _breakers.get(cache_key)
    if breaker is None:
        storage: pybreaker.CircuitBreakerStorage
        cacheable = True
        if redis_url:
            try:
                storage = pybreaker.CircuitRedisStorage(
                    STATE_CLOSED,
                    _redis_client(redis_url),
                    namespace=_namespace(key),
                    fallback_circuit_state=STATE_CLOSED,
                )
            except redis.RedisError:
                # The storage writes its initial keys in __init__, outside pybreaker's own
                # error handling. Same policy as its fallback: a closed breaker, not cached,
                # so the next call tries Redis again.
                logger.warning("Redis unavailable for breaker %s; using a closed local breaker", key, exc_info=True)
                storage = pybreaker.CircuitMemoryStorage(STATE_CLOSED)
                cacheable = False
        else:
            storage = pybreaker.CircuitMemoryStorage(STATE_CLOSED)
        breaker = pybreaker.CircuitBreaker(
            name=key,
            state_storage=storage,
            listeners=[_TransitionListener(key)],
            exclude=[NotABreakerFailure],
            # The call that trips the breaker raises its own error (the delivery log wants the
            # real cause); only skipped calls raise CircuitBreakerError.
            throw_new_error_on_trip=False,
        )
        if cacheable:
            with _lock:
                breaker = _breakers.setdefault(cache_key, breaker)
    # Read on every use so settings changes (and test overrides) apply to cached breakers.
    breaker.fail_max = settings.BREAKER_FAIL_MAX
    breaker.reset_timeout = settings.BREAKER_RESET_TIMEOUT
    return breaker


def is_open(key: str) -> bool:
    """True while the breaker is open and its reset timeout has not elapsed.

    Once it has, this returns False: the next ``call`` is the half-open trial.
    """
    breaker = breaker_for(key)
    if breaker.current_state != STATE_OPEN:
        return False
    opened_at = breaker._state_storage.opened_at  # pybreaker exposes no public accessor
    return opened_at is not None and datetime.now(UTC) < opened_at + timedelta(seconds=breaker.reset_timeout)


def reopens_at(key: str) -> datetime | None:
    """When an open breaker lets its half-open trial through; None unless it is open."""
    breaker = breaker_for(key)
    if breaker.current_state != STATE_OPEN:
        return None
    opened_at = breaker._state_storage.opened_at  # pybreaker exposes no public accessor
    return None if opened_at is None else opened_at + timedelta(seconds=breaker.reset_timeout)


def call(key: str, fn: Callable[[], T]) -> T:
    """Run ``fn`` through the breaker for ``key``.

    ``fn`` signals failure by raising; the exception propagates and counts toward the
    threshold (unless it is a ``NotABreakerFailure``). Raises ``BreakerOpen`` without calling
    ``fn`` while the breaker is open.
    """
    try:
        return breaker_for(key).call(fn)
    except pybreaker.CircuitBreakerError as exc:
        raise BreakerOpen(key) from exc


def breaker_states() -> dict[str, str]:
    """Every known breaker's state, ``{key: "closed" | "open" | "half-open"}``.

    With Redis, read from the shared storage (all breakers any process has used); without,
    the breakers of this process. An open breaker whose reset timeout has passed still reads
    "open" until a call tries it.
    """
    if not settings.REDIS_URL:
        prefix = settings.BREAKER_KEY_PREFIX
        with _lock:
            items = [(k, b) for (url, p, k), b in _breakers.items() if not url and p == prefix]
        return {key: breaker.current_state for key, breaker in sorted(items)}
    client = _redis_client(settings.REDIS_URL)
    head = f"{settings.BREAKER_KEY_PREFIX}:"
    tail = f":{pybreaker.CircuitRedisStorage.BASE_NAMESPACE}:state"
    names = sorted(client.scan_iter(match=f"{_escape_glob(head)}*{_escape_glob(tail)}", count=500))
    values = client.mget(names) if names else []
    return {
        name.decode()[len(head) : -len(tail)]: value.decode()
        for name, value in zip(names, values, strict=True)
        if value is not None
    }


def _escape_glob(text: str) -> str:
    return "".join(f"\\{ch}" if ch in "*?[]\\" else ch for ch in text)
