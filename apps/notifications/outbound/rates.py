"""Sends per second to one destination, across every worker: a rate that never makes anyone wait.

``take(key, rate=r)`` either lets one send go now (returns 0.0) or says how many seconds until
one may (returns the wait, taking nothing). The caller never sleeps on it: it puts the send
back, due after the wait, and goes on with other destinations, so one endpoint's rate never
stalls another's.

The limit is GCRA (the generic cell rate algorithm, a token bucket kept as one timestamp): the
key holds the "theoretical arrival time" of the next send; each send pushes it ``1/rate`` on,
and a send may go while it is at most ``burst - 1`` intervals ahead of now. A bucket of one
second's sends (``burst = rate``) lets an idle endpoint's first second go at once, then spaces
the rest ``1/rate`` apart. With ``settings.REDIS_URL`` one Lua script reads and moves the
timestamp atomically, on Redis' own clock (workers' clocks do not matter); the key expires when
the bucket is full again. Without Redis the timestamp lives in this process.

If Redis is unreachable the send goes (logged and counted), as ``outbound.limits`` does: a
rate is the receiver's wish, and the database, not Redis, decides what gets delivered.
"""

from __future__ import annotations

import logging
import math
import threading
import time

import redis
from django.conf import settings
from prometheus_client import Counter

from apps.notifications.outbound.limits import redis_client

logger = logging.getLogger(__name__)

RATE_FAIL_OPEN = Counter(
    "outbound_rate_fail_open_total",
    "Sends let through without a rate check because Redis was unavailable",
)

# KEYS[1]: the destination's timestamp. ARGV: the interval between sends and the burst, in
# microseconds and sends. Returns 0 when the send may go (and counts it), else the microseconds
# to wait (counting nothing). Integers only: Redis' TIME in microseconds fits a Lua double exactly.
_TAKE = """
local now = redis.call('TIME')
local now_us = tonumber(now[1]) * 1000000 + tonumber(now[2])
local interval = tonumber(ARGV[1])
local tolerance = interval * (tonumber(ARGV[2]) - 1)
local tat = tonumber(redis.call('GET', KEYS[1]) or now_us)
if tat < now_us then
    tat = now_us
end
local allowed_at = tat - tolerance
if now_us < allowed_at then
    return allowed_at - now_us
end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', math.ceil((next_tat - now_us) / 1000) + 1)
return 0
"""

_lock = threading.Lock()
_scripts: dict[str, object] = {}
# Without Redis: (prefix, key) → the theoretical arrival time (monotonic seconds).
_local: dict[tuple[str, str], float] = {}


def _name(key: str) -> str:
    return f"{settings.BREAKER_KEY_PREFIX}:{key}:rate"


def take(key: str, *, rate: int, burst: int | None = None) -> float:
    """0.0 and one send counted if one may go to ``key`` now; else the seconds to wait.

    ``rate``: sends per second (>= 1); ``burst``: how many may go at once after a pause
    (default ``rate``, one second's worth).
    """
    if rate < 1:
        raise ValueError("rate must be at least 1")
    burst = max(burst or rate, 1)
    interval_us = max(int(1_000_000 / rate), 1)
    redis_url = settings.REDIS_URL
    if redis_url:
        try:
            client = redis_client(redis_url)
            with _lock:
                script = _scripts.get(redis_url)
                if script is None:
                    script = _scripts[redis_url] = client.register_script(_TAKE)
            wait_us = script(keys=[_name(key)], args=[interval_us, burst], client=client)
        except redis.RedisError:
            RATE_FAIL_OPEN.inc()
            logger.warning("Redis unavailable for the send rate of %s; sending without it", key)
            return 0.0
        return int(wait_us) / 1_000_000
    interval = interval_us / 1_000_000
    name = (settings.BREAKER_KEY_PREFIX, key)
    now = time.monotonic()
    with _lock:
        tat = max(_local.get(name, now), now)
        allowed_at = tat - interval * (burst - 1)
        if now < allowed_at:
            # Rounded up to the microsecond, as Redis answers: never a wait that comes too early.
            return math.ceil((allowed_at - now) * 1_000_000) / 1_000_000
        _local[name] = tat + interval
    return 0.0
