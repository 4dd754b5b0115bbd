"""Bounded concurrency per destination: at most ``limit`` sends in flight to one key at once.

``acquire(key, limit=..., ttl=...)`` returns a token (a slot) or None when all slots are taken;
the caller then reschedules the send without spending an attempt, and always ``release``s a
token it got. A slot whose holder died lapses after ``ttl`` seconds.

A fair share: ``acquire(key, ..., member=m, share=n)`` also refuses when ``m`` already holds
``n`` of the key's slots. A webhook origin's slots are taken by member = endpoint, so one
endpoint that hangs holds at most its share and the other endpoints there keep the rest.

With ``settings.REDIS_URL`` the slots of a key are a Redis sorted set shared by every worker
process (member: a random token, score: when it lapses, in Redis' own clock so workers' clocks
do not matter); one Lua script drops lapsed members, checks the count and adds, atomically.
Without Redis the slots live in this process, which bounds one local worker and nothing more.

If Redis is unreachable the slot is granted (logged and counted): sends go on unbounded rather
than stall, as the breakers do, because the database decides what gets delivered.

Written here rather than taken from a library: the semaphores we know of (python-redis-lock,
redis-py's ``Lock``) are mutexes or block while waiting, and a delivery that finds its host busy
must come back later instead of holding a worker.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time

import redis
from django.conf import settings
from prometheus_client import Counter
from redis.backoff import NoBackoff
from redis.retry import Retry

logger = logging.getLogger(__name__)

LIMIT_FAIL_OPEN = Counter(
    "outbound_limit_fail_open_total",
    "Concurrency slots granted without a check because Redis was unavailable",
)

# KEYS[1]: the key's sorted set. ARGV: limit, ttl in ms, token, share (0: none), member prefix
# of the token. Returns 1 if the slot was taken.
_ACQUIRE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
    return 0
end
-- Without a share (ARGV[4] absent or 0) only the limit applies.
local share = tonumber(ARGV[4]) or 0
if share > 0 then
    -- At most ``limit`` members to look at: the count above stopped any more.
    local prefix = ARGV[5]
    local held = 0
    for _, token in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
        if string.sub(token, 1, #prefix) == prefix then
            held = held + 1
        end
    end
    if held >= share then
        return 0
    end
end
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now_ms + ttl, ARGV[3])
-- The set outlives its longest slot by nothing: an idle key disappears on its own.
if redis.call('PTTL', KEYS[1]) < ttl then
    redis.call('PEXPIRE', KEYS[1], ttl)
end
return 1
"""

# KEYS[1]: the key's sorted set. ARGV: ttl in ms, token. Pushes the token's lapse time back if
# it still holds its slot; returns 1 then, 0 if the slot lapsed (it is not taken again).
_RENEW = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local ttl = tonumber(ARGV[1])
local renewed = redis.call('ZADD', KEYS[1], 'XX', 'CH', now_ms + ttl, ARGV[2])
if redis.call('PTTL', KEYS[1]) < ttl then
    redis.call('PEXPIRE', KEYS[1], ttl)
end
return renewed
"""

_lock = threading.Lock()
_clients: dict[str, redis.Redis] = {}
_scripts: dict[str, object] = {}
# Without Redis: (prefix, key) → {token: monotonic time the slot lapses}.
_local: dict[tuple[str, str], dict[str, float]] = {}


# One immediate retry (a pooled connection a Redis restart broke), then the error: redis-py's
# default (ten retries with backoff) held every send about four seconds per command while Redis
# was down, where the callers already fall back (unbounded slots, closed breakers, polling).
FAST_FAIL = Retry(NoBackoff(), 1)


def _client(url: str) -> tuple[redis.Redis, object]:
    with _lock:
        client = _clients.get(url)
        if client is None:
            # Short timeouts: a hung Redis must cost a send a fraction of its own deadline.
            client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5, retry=FAST_FAIL)
            _clients[url] = client
            _scripts[url] = client.register_script(_ACQUIRE)
            _scripts[url, "renew"] = client.register_script(_RENEW)
        return client, _scripts[url]


def redis_client(url: str) -> redis.Redis:
    """The shared short-timeout client of ``url`` (``outbound.rates`` keeps its script on it too)."""
    return _client(url)[0]


# Separates a destination's slot key from the member whose fair share it takes.
_MEMBER = "|"


def member_key(key: str, member: str) -> str:
    """A destination whose slots are ``key``'s, taken within ``member``'s fair share."""
    return f"{key}{_MEMBER}{member}"


def split_member(key: str) -> tuple[str, str | None]:
    """``(slot key, member or None)`` of a destination made by ``member_key`` (or any other)."""
    slot_key, _, member = key.partition(_MEMBER)
    return slot_key, member or None


def _name(key: str) -> str:
    return f"{settings.BREAKER_KEY_PREFIX}:{key}:slots"


def acquire(key: str, *, limit: int, ttl: float, member: str | None = None, share: int = 0) -> str | None:
    """Take one of ``limit`` slots of ``key`` for at most ``ttl`` seconds; None if none is free.

    ``ttl`` must outlast the send (e.g. ``OUTBOUND_TOTAL_TIMEOUT`` plus a margin): it only frees
    the slot of a holder that died without ``release``. With ``member`` and ``share`` (>= 1), None
    also when ``member`` already holds ``share`` of the slots.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if member is not None and share < 1:
        raise ValueError("a member's share must be at least 1")
    prefix = f"{member}|" if member is not None else ""
    token = prefix + secrets.token_hex(16)
    share = share if member is not None else 0
    redis_url = settings.REDIS_URL
    if redis_url:
        try:
            client, script = _client(redis_url)
            taken = script(
                keys=[_name(key)], args=[limit, max(int(ttl * 1000), 1), token, share, prefix], client=client
            )
        except redis.RedisError:
            LIMIT_FAIL_OPEN.inc()
            logger.warning("Redis unavailable for the concurrency limit of %s; sending unbounded", key)
            return token
        return token if taken else None
    name = (settings.BREAKER_KEY_PREFIX, key)
    now = time.monotonic()
    with _lock:
        slots = _local.setdefault(name, {})
        for held, lapses in list(slots.items()):
            if lapses <= now:
                del slots[held]
        if len(slots) >= limit:
            return None
        if share and sum(1 for held in slots if held.startswith(prefix)) >= share:
            return None
        slots[token] = now + ttl
    return token


def renew(key: str, token: str, *, ttl: float) -> None:
    """Keep holding the slot ``token`` of ``key`` for ``ttl`` more seconds (a long-lived holder
    renews well before it lapses). A slot that lapsed meanwhile is not taken back."""
    redis_url = settings.REDIS_URL
    if redis_url:
        try:
            client, _script = _client(redis_url)
            _scripts[redis_url, "renew"](keys=[_name(key)], args=[max(int(ttl * 1000), 1), token], client=client)
        except redis.RedisError:
            logger.warning("Redis unavailable renewing a slot of %s", key)
        return
    with _lock:
        slots = _local.get((settings.BREAKER_KEY_PREFIX, key))
        if slots is not None and token in slots:
            slots[token] = time.monotonic() + ttl


def release(key: str, token: str) -> None:
    """Give back the slot ``token`` of ``key``. Releasing twice, or a lapsed slot, is harmless."""
    redis_url = settings.REDIS_URL
    if redis_url:
        try:
            client, _script = _client(redis_url)
            client.zrem(_name(key), token)
        except redis.RedisError:
            logger.warning("Redis unavailable releasing a slot of %s; it lapses with its ttl", key)
        return
    with _lock:
        slots = _local.get((settings.BREAKER_KEY_PREFIX, key))
        if slots is not None:
            slots.pop(token, None)
            if not slots:
                del _local[(settings.BREAKER_KEY_PREFIX, key)]
