"""Webhook health: what one send's outcome says, and about whom — the endpoint or its origin.

Many tenants' endpoints can share one origin (scheme, host, port): an automation platform, a
partner's ingestion host, a SaaS with a path per customer. Blaming the origin for what one
endpoint does would let any tenant who can make their own endpoint fail (a path that answers
500, or sleeps) hold every other tenant's webhooks there. So:

- **Transport failures** (refused, reset, TLS, DNS, no connection before the connect timeout)
  count against the *origin*: nothing reached any endpoint, and every endpoint there would fail
  the same way. A tenant cannot cause them on an origin they do not run.
- **Timeouts after connecting and HTTP errors** (5xx, 408, 429) count against the *endpoint*:
  its breaker (``breakers.endpoint_key``) holds its own deliveries on its own schedule. They
  hold the origin only on a **quorum**: failures of at least ``WEBHOOK_ORIGIN_QUORUM_ENDPOINTS``
  distinct endpoints of at least ``WEBHOOK_ORIGIN_QUORUM_OWNERS`` distinct owners there within
  ``WEBHOOK_ORIGIN_QUORUM_WINDOW`` seconds — never one endpoint's retries alone, nor one owner's
  endpoints (an owner can register several). That is how a down application behind a shared
  origin (every path answering 502) is still held as one.
- **Any answer** (2xx, 410, another 4xx) proves both the endpoint and the origin work.

Half-open trials are shared fairly: the endpoint breaker is asked first, so an endpoint held on
its own schedule never takes its origin's trial; and an endpoint whose own failure spent an
origin's trial *sits out*: it is held for its own reset timeout (``WEBHOOK_ENDPOINT_RESET_TIMEOUT``,
longer than the origin's longest, ``BREAKER_RESET_MAX_TIMEOUT``), so the next trials go to other
endpoints (that may show the origin healthy) rather than to the same failing backlog again. Its
failure was the origin's as much as its own, so it sits out only while the origin is held: when
another endpoint's trial heals the origin, the endpoints sitting out there get a trial of their
own at once (``breakers.end_wait``) instead of waiting out their reset timeout behind a healthy
host.

The quorum's witnesses live in Redis (a sorted set per origin, ``BREAKER_KEY_PREFIX`` namespace,
expiring with the window) so every worker process counts the same failures, and so do the
endpoints sitting out (a set per origin, expiring with their reset timeout); without Redis, in
this process (the embedded single-worker default). Redis unreachable: the origin is not held
(the breakers' own policy — go on rather than stall on no evidence).
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from django.conf import settings

from . import breakers, retry
from .errors import ConnectFailed, ConnectTimedOut, ResolutionFailed
from .http import OutboundResponse
from .limits import FAST_FAIL

logger = logging.getLogger(__name__)

ORIGIN = "origin"
ENDPOINT = "endpoint"

_ORIGIN_FAILURES = (ConnectFailed, ConnectTimedOut, ResolutionFailed)

# KEYS[1]: the origin's witnesses. ARGV: member ("<owner>/<endpoint>"), window in ms, owners
# needed, endpoints needed. Adds the member at Redis' own time, drops those older than the
# window, returns 1 when the quorum holds. Stops counting once it does: a large shared origin
# costs at most the members read before the quorum is met.
_NOTE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local window = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now_ms, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms - window)
redis.call('PEXPIRE', KEYS[1], window)
local need_owners = tonumber(ARGV[3])
local need_endpoints = tonumber(ARGV[4])
if redis.call('ZCARD', KEYS[1]) < need_endpoints then
    return 0
end
local owners = {}
local count = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    local owner = string.match(member, '^([^/]*)/')
    if owner and not owners[owner] then
        owners[owner] = true
        count = count + 1
        if count >= need_owners then
            return 1
        end
    end
end
return 0
"""

_lock = threading.Lock()
_clients: dict[str, tuple[redis.Redis, object]] = {}
# Without Redis: (prefix, origin) → {member: monotonic time noted}.
_local: dict[tuple[str, str], dict[str, float]] = {}
# Without Redis: (prefix, origin) → endpoint breaker keys sitting out its trials.
_local_sitting_out: dict[tuple[str, str], set[str]] = {}


def blame(result: OutboundResponse | BaseException) -> str | None:
    """``ORIGIN`` or ``ENDPOINT`` for a send that failed because of the destination; None for an
    answer (it works) or a message refused before sending (no evidence either way)."""
    if retry.destination_failed(result) is not True:
        return None
    return ORIGIN if isinstance(result, _ORIGIN_FAILURES) else ENDPOINT


def _client(url: str) -> tuple[redis.Redis, object]:
    with _lock:
        found = _clients.get(url)
        if found is None:
            client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5, retry=FAST_FAIL)
            found = _clients[url] = (client, client.register_script(_NOTE))
        return found


def _name(origin: str) -> str:
    return f"{settings.BREAKER_KEY_PREFIX}:{origin}:witnesses"


def _member(owner: object, endpoint: object) -> str:
    return f"{owner}/{endpoint}"


def note_failure(origin: str, *, owner: object, endpoint: object) -> bool:
    """Count an endpoint-level failure at ``origin``; True when the quorum now holds there."""
    member = _member(owner, endpoint)
    window = settings.WEBHOOK_ORIGIN_QUORUM_WINDOW
    need_owners = settings.WEBHOOK_ORIGIN_QUORUM_OWNERS
    need_endpoints = settings.WEBHOOK_ORIGIN_QUORUM_ENDPOINTS
    if settings.REDIS_URL:
        try:
            client, script = _client(settings.REDIS_URL)
            held = script(
                keys=[_name(origin)],
                args=[member, max(int(window * 1000), 1), need_owners, need_endpoints],
                client=client,
            )
        except redis.RedisError:
            logger.warning("Redis unavailable counting failures at %s; the origin is not held", origin)
            return False
        return bool(held)
    now = time.monotonic()
    with _lock:
        seen = _local.setdefault((settings.BREAKER_KEY_PREFIX, origin), {})
        seen[member] = now
        for old, at in list(seen.items()):
            if at < now - window:
                del seen[old]
        owners = {name.partition("/")[0] for name in seen}
        return len(seen) >= need_endpoints and len(owners) >= need_owners


def forget_failure(origin: str, *, owner: object, endpoint: object) -> None:
    """The endpoint answered: it no longer witnesses against its origin."""
    member = _member(owner, endpoint)
    if settings.REDIS_URL:
        try:
            client, _script = _client(settings.REDIS_URL)
            client.zrem(_name(origin), member)
        except redis.RedisError:
            logger.warning("Redis unavailable clearing a failure at %s; it lapses with the window", origin)
        return
    with _lock:
        seen = _local.get((settings.BREAKER_KEY_PREFIX, origin))
        if seen is not None:
            seen.pop(member, None)


def _sitting_out_name(origin: str) -> str:
    return f"{settings.BREAKER_KEY_PREFIX}:{origin}:sitting_out"


def sit_out(origin: str, endpoint: str) -> None:
    """Hold ``endpoint`` (a breaker key, just tripped for spending ``origin``'s trial) until the
    origin heals (``end_sit_outs``) or its own reset timeout lapses."""
    if settings.REDIS_URL:
        # As long as the longest an endpoint's breaker stays open: by then it has lapsed anyway.
        expiry = max(int(max(settings.WEBHOOK_ENDPOINT_RESET_TIMEOUT, settings.BREAKER_RESET_MAX_TIMEOUT)), 1)
        try:
            client, _script = _client(settings.REDIS_URL)
            with client.pipeline(transaction=True) as pipe:
                pipe.sadd(_sitting_out_name(origin), endpoint)
                pipe.expire(_sitting_out_name(origin), expiry)
                pipe.execute()
        except redis.RedisError:
            logger.warning("Redis unavailable noting an endpoint sitting out %s; it waits its reset timeout", origin)
        return
    with _lock:
        _local_sitting_out.setdefault((settings.BREAKER_KEY_PREFIX, origin), set()).add(endpoint)


def end_sit_outs(origin: str) -> list[str]:
    """``origin`` works again: each endpoint sitting out its trials may send its own trial now.
    Returns their breaker keys."""
    if settings.REDIS_URL:
        name = _sitting_out_name(origin)
        try:
            client, _script = _client(settings.REDIS_URL)
            with client.pipeline(transaction=True) as pipe:
                pipe.smembers(name)
                pipe.delete(name)
                members, _deleted = pipe.execute()
        except redis.RedisError:
            logger.warning("Redis unavailable ending the sit-outs at %s; they wait their reset timeout", origin)
            return []
        endpoints = sorted(member.decode() for member in members)
    else:
        with _lock:
            endpoints = sorted(_local_sitting_out.pop((settings.BREAKER_KEY_PREFIX, origin), set()))
    for endpoint in endpoints:
        breakers.end_wait(endpoint)
    return endpoints


class WebhookHealth:
    """The endpoint and origin breakers as one webhook session sees them.

    ``admit`` before a send, ``record`` after it; ``healed`` holds the breaker keys (origins and
    endpoints) whose trial this session's sends closed, for the engine to release what waits.
    """

    def __init__(self) -> None:
        self.gate = breakers.Gate()
        self._trials: set[str] = set()
        # Endpoints whose answer this session already took off their origin's witnesses: one
        # Redis round trip per endpoint and session, not per send.
        self._cleared: set[str] = set()

    @property
    def healed(self) -> set[str]:
        return self.gate.healed

    def admit(self, *, origin: str, endpoint: str) -> str | None:
        """None when a send to ``endpoint`` at ``origin`` may start now; otherwise the breaker
        key that holds it (``breakers.reopens_at(key)`` says when to come back)."""
        self._trials = set()
        # The endpoint first: an endpoint held on its own schedule must not take (or spend) the
        # origin's half-open trial, which another endpoint there could use to show it healthy.
        how = self.gate.admit(endpoint)
        if how is None:
            return endpoint
        via = self.gate.admit(origin)
        if via is None:
            if how == breakers.ADMIT_TRIAL:
                breakers.release_trial(endpoint)
            return origin
        self._trials = {key for key, kind in ((endpoint, how), (origin, via)) if kind == breakers.ADMIT_TRIAL}
        return None

    def record(
        self, *, origin: str, endpoint: str, owner: object, result: OutboundResponse | BaseException
    ) -> str | None:
        """Record the admitted send's ``result``; returns whom it blamed (``blame``)."""
        trials, self._trials = self._trials, set()
        blamed = blame(result)
        if blamed is None:
            if retry.destination_failed(result) is False:
                self.gate.record_success(endpoint)
                healed_before = origin in self.gate.healed
                self.gate.record_success(origin)
                if not healed_before and origin in self.gate.healed:
                    end_sit_outs(origin)
                if endpoint not in self._cleared:
                    forget_failure(origin, owner=owner, endpoint=endpoint.partition(":")[2])
                    self._cleared.add(endpoint)
            else:
                # Nothing was sent: no evidence, and no trial should wait for it to lapse.
                for key in trials:
                    breakers.release_trial(key)
            return None
        if blamed == ORIGIN:
            self.gate.record_failure(origin)
            if endpoint in trials:
                breakers.release_trial(endpoint)  # the endpoint was never reached
            return ORIGIN
        self.gate.record_failure(endpoint)
        self._cleared.discard(endpoint)
        spent_origin_trial = origin in trials
        if spent_origin_trial:
            # The fair share of trials: this endpoint's backlog waits its own reset timeout, or
            # until another endpoint heals the origin, before it may take another of its trials.
            breakers.trip(endpoint)
            self.gate.forget(endpoint)
            sit_out(origin, endpoint)
        if note_failure(origin, owner=owner, endpoint=endpoint.partition(":")[2]):
            if spent_origin_trial or not breakers.is_open(origin):
                breakers.trip(origin)
                self.gate.forget(origin)
        elif spent_origin_trial:
            # One endpoint's failure says nothing about the origin: the next send there tries.
            breakers.release_trial(origin)
        return ENDPOINT
