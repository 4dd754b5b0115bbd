"""Circuit breakers (pybreaker), one per key, shared by every worker process through Redis.

Decide before, record after: ``allow(key)`` before a send, then ``record_success(key)`` or
``record_failure(key)`` (or ``record_result(key, result)``) once it is over. The send itself
runs outside the breaker. pybreaker's ``CircuitBreaker.call`` holds the breaker's lock for the
whole guarded call, so with one breaker per host per process every send to a slow host queued
behind the one in flight; here the lock is held only while a recorded outcome goes through
pybreaker's own state machine (``breaker.call`` of a function that returns or raises at once),
so its counting, transitions, listeners and Redis storage stay pybreaker's.

Half-open: once an open breaker's reset timeout has passed, ``allow`` lets ONE trial through
(claimed atomically, in Redis when configured) and says no to the others; the trial's recorded
outcome closes the breaker or re-opens it for another reset timeout. A trial that never
reports (its worker died) gives up its claim after one reset timeout (at least one send's
deadline, ``OUTBOUND_TOTAL_TIMEOUT``).

A destination that blinks (fails fewer than ``BREAKER_FAIL_MAX`` times, so its breaker never
opens) has no trial to say it is back; its next success says so instead. The reset of the failure
count that success makes reads the count it replaces (the same Redis command), and one caller per
destination and ``BREAKER_RELEASE_INTERVAL`` (``claim_release``, atomic like the trial claim)
has the engine release the deliveries waiting out those failures.

The reset timeout grows: the first after a breaker opens is ``BREAKER_RESET_TIMEOUT``, each
failed trial doubles it up to ``BREAKER_RESET_MAX_TIMEOUT``, and a successful one starts the
schedule over. A destination back after a blink is tried again within seconds, one down for
hours at most once per ``BREAKER_RESET_MAX_TIMEOUT``. The count of failed trials is shared
state like the rest (beside pybreaker's keys in Redis, expiring), so every process computes the
same timeout: ``_Breaker.reset_timeout``, which pybreaker's own open-state check reads too.

A key names what fails together, and nothing more: ``origin_key(url)`` for a webhook
destination's origin (scheme, host, port: what a refused connection, a TLS or DNS failure
says is down), ``endpoint_key(id)`` for one webhook endpoint (what a timeout or an HTTP error
says is failing; ``health`` decides when those hold the origin too), ``provider_key(id)`` for
a push/email delivery provider. With ``settings.REDIS_URL`` set, the
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
import time
from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from urllib.parse import urlsplit

import pybreaker
import redis
from django.conf import settings
from prometheus_client import Counter

from . import retry
from .http import OutboundResponse
from .limits import FAST_FAIL

logger = logging.getLogger(__name__)

STATE_CLOSED = pybreaker.STATE_CLOSED
STATE_OPEN = pybreaker.STATE_OPEN
STATE_HALF_OPEN = pybreaker.STATE_HALF_OPEN

# Labelled by kind ("origin", "endpoint", "provider"), never by key: a key names a customer's
# webhook origin or endpoint, an unbounded set that is not for the metrics scraper to see.
BREAKER_TRANSITIONS = Counter(
    "outbound_breaker_transitions_total",
    "Circuit breaker state transitions observed by this process, by breaker kind",
    ["kind", "from", "to"],
)

_lock = threading.Lock()
_breakers: dict[tuple[str, str, str], _Breaker] = {}
_clients: dict[str, redis.Redis] = {}
# Half-open trial claims without Redis: (prefix, key) → monotonic time the claim lapses.
_local_trials: dict[tuple[str, str], float] = {}
# Failed trials since each breaker opened, without Redis: (prefix, key) → count.
_local_failed_trials: dict[tuple[str, str], int] = {}
# Without Redis: (prefix, key) → monotonic time until which a refused send comes back by itself.
_local_come_back: dict[tuple[str, str], float] = {}
# Without Redis: (prefix, key) → monotonic time until which a blink's release is claimed.
_local_releases: dict[tuple[str, str], float] = {}
# Beyond this many doublings the cap has long been reached; it keeps the power bounded.
_MAX_DOUBLINGS = 32
# Seconds the count of failed trials stays in Redis after the last one: it must outlive the open
# period it lengthens and the quiet spell before the next send (which is the next trial), and
# goes by itself from a breaker nobody sends through any more; a schedule that lapses only
# starts over from the shortest timeout.
_FAILED_TRIALS_TTL = 86400


class NotABreakerFailure(Exception):
    """Mixin for exceptions that prove the destination works (e.g. "device token unknown").

    A caller catching one records a success for the breaker (``push.deliver_with_fallback``).
    """


class _RecordedFailure(Exception):
    """Carries a failure that happened outside the breaker into pybreaker's state machine."""


class _TransitionListener(pybreaker.CircuitBreakerListener):
    def __init__(self, key: str) -> None:
        self.key = key

    def state_change(self, cb, old_state, new_state) -> None:
        BREAKER_TRANSITIONS.labels(
            kind=key_kind(self.key),
            **{"from": old_state.name if old_state else "none", "to": new_state.name},
        ).inc()


# What this thread's last reset of a failure count found there (the storages below).
_reset_found = threading.local()


class _RedisStorage(pybreaker.CircuitRedisStorage):
    """pybreaker's Redis storage, whose reset of the failure count reads the count it replaces
    in the same command (``SET … GET``): a success learns that failures came before it (a
    blink) for no Redis round trip more."""

    def reset_counter(self) -> None:
        try:
            found = self._redis.set(self._namespace("fail_counter"), 0, get=True)
        except redis.RedisError:
            self.logger.exception("RedisError")
            return
        _reset_found.count = int(found or 0)


class _MemoryStorage(pybreaker.CircuitMemoryStorage):
    """pybreaker's memory storage, noting the failure count each reset replaces."""

    def reset_counter(self) -> None:
        _reset_found.count = self._fail_counter
        super().reset_counter()


class _Breaker(pybreaker.CircuitBreaker):
    """A pybreaker breaker whose reset timeout grows with the failed trials since it opened.

    ``reset_timeout`` is computed at each read from the shared count, so pybreaker's open
    state (which reads it to decide whether a call may be the trial), ``is_open``,
    ``reopens_at`` and the trial claim all agree on one schedule, in every process.
    """

    base_timeout = 60.0
    max_timeout = 60.0

    @property
    def reset_timeout(self) -> float:
        return reset_timeout_after(_failed_trials(self.name), base=self.base_timeout, cap=self.max_timeout)

    @reset_timeout.setter
    def reset_timeout(self, timeout: float) -> None:
        self.base_timeout = timeout


def reset_timeout_after(failed_trials: int, *, base: float, cap: float) -> float:
    """The reset timeout of a breaker whose last ``failed_trials`` trials failed since it
    opened: ``base`` doubled for each, at most ``cap`` (never less than ``base``)."""
    return min(max(cap, base), base * 2 ** min(failed_trials, _MAX_DOUBLINGS))


_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_key(url: str) -> str:
    """Breaker key of a webhook destination's origin: ``origin:<scheme>://<host>:<port>``.

    The port is always written (the scheme's default when the URL has none), so
    ``https://h/`` and ``https://h:443/`` share it while ``https://h:8443/`` does not: another
    port is another listener, which refuses or accepts connections on its own.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    try:
        port = parts.port
    except ValueError:
        port = None
    port = port or _DEFAULT_PORTS.get(scheme, 0)
    host = f"[{host}]" if ":" in host else host
    return f"origin:{scheme}://{host}:{port}"


def endpoint_key(endpoint_id: object) -> str:
    """Breaker key of one webhook endpoint (its timeouts and HTTP errors are its own)."""
    return f"endpoint:{endpoint_id}"


def provider_key(provider_id: object) -> str:
    """Breaker key of a delivery provider (push gateway, SMTP relay)."""
    return f"provider:{provider_id}"


KINDS = ("endpoint", "origin", "provider")


def key_kind(key: str) -> str:
    """``"endpoint"``, ``"origin"`` or ``"provider"`` (``"other"`` for a key made some other
    way): a bounded label."""
    kind = key.partition(":")[0]
    return kind if kind in KINDS else "other"


def _redis_client(url: str) -> redis.Redis:
    with _lock:
        client = _clients.get(url)
        if client is None:
            # pybreaker's storage decodes bytes itself, so no decode_responses. Short socket
            # timeouts: a hung Redis must not hold a delivery past its own deadline.
            client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1, retry=FAST_FAIL)
            _clients[url] = client
        return client


def _namespace(key: str) -> str:
    return f"{settings.BREAKER_KEY_PREFIX}:{key}"


def breaker_for(key: str) -> _Breaker:
    """The breaker for ``key``, with thresholds from BREAKER_FAIL_MAX, BREAKER_RESET_TIMEOUT
    (WEBHOOK_ENDPOINT_RESET_TIMEOUT for a webhook endpoint) and BREAKER_RESET_MAX_TIMEOUT.

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
                storage = _RedisStorage(
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
                storage = _MemoryStorage(STATE_CLOSED)
                cacheable = False
        else:
            storage = _MemoryStorage(STATE_CLOSED)
        breaker = _Breaker(
            name=key,
            state_storage=storage,
            listeners=[_TransitionListener(key)],
            # The recorded failure that trips the breaker comes back as itself; only a record
            # made while the breaker is open raises CircuitBreakerError.
            throw_new_error_on_trip=False,
        )
        if cacheable:
            with _lock:
                breaker = _breakers.setdefault(cache_key, breaker)
    # Read on every use so settings changes (and test overrides) apply to cached breakers.
    breaker.fail_max = settings.BREAKER_FAIL_MAX
    # A webhook endpoint backs off on its own, longer schedule: one that failed its origin's
    # trial sits out the origin's next trials while the origin is held (``health``).
    endpoint = key_kind(key) == "endpoint"
    breaker.base_timeout = settings.WEBHOOK_ENDPOINT_RESET_TIMEOUT if endpoint else settings.BREAKER_RESET_TIMEOUT
    breaker.max_timeout = max(breaker.base_timeout, settings.BREAKER_RESET_MAX_TIMEOUT)
    return breaker


def _open_until(breaker: pybreaker.CircuitBreaker) -> datetime | None:
    """When an open breaker's reset timeout ends; None unless it is open with a known time."""
    if breaker.current_state != STATE_OPEN:
        return None
    opened_at = breaker._state_storage.opened_at  # pybreaker exposes no public accessor
    return None if opened_at is None else opened_at + timedelta(seconds=breaker.reset_timeout)


def is_open(key: str) -> bool:
    """True while the breaker is open and its reset timeout has not elapsed (a pure read).

    Once it has, this returns False, though only the one send ``allow`` admits is the trial.
    """
    until = _open_until(breaker_for(key))
    return until is not None and datetime.now(UTC) < until


ADMIT_CLOSED = "closed"
ADMIT_TRIAL = "trial"


def admit(key: str) -> str | None:
    """``allow`` saying how: ``ADMIT_CLOSED``, ``ADMIT_TRIAL`` (this caller holds the half-open
    trial: its outcome decides the breaker), or None (no send now)."""
    breaker = breaker_for(key)
    state = breaker.current_state
    if state == STATE_CLOSED:
        return ADMIT_CLOSED
    if state == STATE_OPEN and is_open(key):
        return None
    # The claim outlasts the trial send itself (its deadline), so a slow trial is not joined by a
    # second one, and lapses by itself if the trial never reports.
    ttl = max(breaker.reset_timeout, settings.OUTBOUND_TOTAL_TIMEOUT, 0.001)
    return ADMIT_TRIAL if _claim_trial(key, ttl=ttl) else None


def allow(key: str) -> bool:
    """May a send to ``key`` start now? Call before every send; no lock is held afterwards.

    Closed: yes. Open within its reset timeout: no (the send costs no delivery attempt; come
    back at ``reopens_at``). Open past it, or half-open: yes for the one caller that claims the
    trial, no for everyone else until the trial's outcome is recorded. Reads shared state only
    (and writes the trial claim); with Redis unreachable the breaker reads closed: yes.
    """
    return admit(key) is not None


def trip(key: str) -> None:
    """Open the breaker of ``key`` now, for one reset timeout, whatever its failure count (a
    decision made from evidence pybreaker does not count, e.g. ``health``'s quorum), and give
    up any trial claim on it.

    A breaker that was not closed (its trial, or a send after its reset timeout, just failed)
    re-opens for the next, longer timeout, as a failed trial recorded here would.
    """
    breaker = breaker_for(key)
    if breaker.current_state == STATE_CLOSED:
        _clear_failed_trials(key)
    elif not is_open(key):
        # Half-open, or open past its reset timeout: what trips it now is a failed trial.
        _count_failed_trial(key, breaker)
    breaker.open()
    _release_trial(key)


def end_wait(key: str) -> None:
    """Let the next send to ``key``, if its breaker is open, be its half-open trial now rather
    than after its reset timeout (what held it is over: ``health``, when an origin heals)."""
    breaker = breaker_for(key)
    if breaker.current_state == STATE_OPEN:
        breaker.half_open()


def release_trial(key: str) -> None:
    """Give up a trial claimed with ``admit`` whose send did not happen or proved nothing about
    ``key``: the next caller may try at once instead of waiting for the claim to lapse."""
    _release_trial(key)


def record_success(key: str) -> None:
    """Record a send to ``key`` that reached a working destination (made outside the breaker).

    Resets the failure count; closes a breaker whose trial this was. A success reported while
    the breaker is open within its reset timeout (a send that started before it opened) is
    ignored, as pybreaker would.
    """
    _record(key, None)


def record_failure(key: str) -> None:
    """Record a send to ``key`` that failed because of the destination (5xx, timeout, refused…).

    Counts toward ``BREAKER_FAIL_MAX`` (opening the breaker at the threshold) and re-opens a
    breaker whose trial this was. Never record a permanent failure of the message itself
    (``retry.Outcome.DEAD``): the destination did nothing wrong.
    """
    _record(key, _RecordedFailure())


def record_result(key: str, result: OutboundResponse | BaseException) -> None:
    """Record an HTTP send's result as ``retry.destination_failed`` reads it.

    A failure for ``retry`` outcomes, a success for any answer (2xx, 410, 3xx, other 4xx),
    nothing when the message was refused before sending (``UnsafeURL``, encoding errors).
    """
    failed = retry.destination_failed(result)
    if failed is True:
        record_failure(key)
    elif failed is False:
        record_success(key)


def _succeed() -> None:
    return None


def _raise(exc: BaseException) -> None:
    raise exc


class _Recorded(NamedTuple):
    """One recorded outcome as this process saw it."""

    was_closed: bool
    closed_now: bool
    # The failures a closed breaker had counted before this success reset them.
    failures_before: int = 0


def _record(key: str, failure: _RecordedFailure | None) -> _Recorded:
    """Record one outcome."""
    breaker = breaker_for(key)
    was_closed = breaker.current_state == STATE_CLOSED
    refused = False
    _reset_found.count = 0
    try:
        # Holds pybreaker's lock only for this instant: the send is already over.
        if failure is None:
            breaker.call(_succeed)
        else:
            breaker.call(_raise, failure)
    except _RecordedFailure:
        pass
    except pybreaker.CircuitBreakerError:
        # Open within its reset timeout: another send already re-opened it; nothing to add.
        refused = True
    if was_closed:
        if failure is not None and breaker.current_state == STATE_OPEN:
            # This failure opened it: a new outage starts the schedule from the shortest timeout.
            _clear_failed_trials(key)
        # A success leaves a closed breaker closed (its reset noted the failures it replaced);
        # a failure may have opened it.
        return _Recorded(True, failure is None, _reset_found.count if failure is None else 0)
    state = breaker.current_state
    if state == STATE_CLOSED:
        _clear_failed_trials(key)
    elif state == STATE_OPEN and failure is not None and not refused:
        # The trial (or a send past the reset timeout, which pybreaker takes as one) failed.
        _count_failed_trial(key, breaker)
    if state != STATE_HALF_OPEN:
        # The trial (if this was it) is decided; the next one waits for the next timeout.
        _release_trial(key)
    return _Recorded(False, state == STATE_CLOSED)


class Gate:
    """The breakers as one session (one group of sends to one destination) sees them.

    A group goes to one host or relay within seconds. A key found closed is not read again
    while the session's own sends to it succeed, and its failure count is reset once rather
    than after every send: Redis round trips per group, not per send. A failure goes to the
    shared state at once (counted, and opening the breaker for every process at the
    threshold), and the key is read again before the next send. ``healed`` holds the keys whose
    breaker this session's trial closed: the engine releases the deliveries held for them.
    ``recovered`` holds the keys whose breaker stayed closed through failures (fewer than
    ``BREAKER_FAIL_MAX``) that a success of this session ended, when this process claimed
    their release (``claim_release``): the engine releases the deliveries waiting out those
    failures. Same methods as the module, so a caller takes either.
    """

    def __init__(self) -> None:
        self._trusted: set[str] = set()
        self.healed: set[str] = set()
        self.recovered: set[str] = set()

    def allow(self, key: str) -> bool:
        return self.admit(key) is not None

    def admit(self, key: str) -> str | None:
        return ADMIT_CLOSED if key in self._trusted else admit(key)

    def forget(self, key: str) -> None:
        """Read ``key`` from the shared state again before the next send (it was tripped)."""
        self._trusted.discard(key)

    def record_success(self, key: str) -> None:
        if key in self._trusted:
            return
        recorded = _record(key, None)
        if recorded.closed_now:
            self._trusted.add(key)
            if not recorded.was_closed:
                self.healed.add(key)
            elif recorded.failures_before and claim_release(key):
                self.recovered.add(key)

    def record_failure(self, key: str) -> None:
        self._trusted.discard(key)
        record_failure(key)

    def record_result(self, key: str, result: OutboundResponse | BaseException) -> None:
        failed = retry.destination_failed(result)
        if failed is True:
            self.record_failure(key)
        elif failed is False:
            self.record_success(key)


def _trial_name(key: str) -> str:
    return f"{settings.BREAKER_KEY_PREFIX}:{key}:trial"


def _claim(key: str, *, name: str, local: dict, ms: int) -> bool | None:
    """Claim one of ``key``'s own entries for ``ms`` milliseconds (``name`` in Redis, else
    ``key``'s in ``local``): True for exactly one claimant until it lapses, False for the
    others, None when Redis is unreachable (the caller's policy decides)."""
    if settings.REDIS_URL:
        try:
            return bool(_redis_client(settings.REDIS_URL).set(name, b"1", nx=True, px=ms))
        except redis.RedisError:
            return None
    local_key = (settings.BREAKER_KEY_PREFIX, key)
    now = time.monotonic()
    with _lock:
        if local.get(local_key, 0.0) > now:
            return False
        local[local_key] = now + ms / 1000
        return True


def _claim_trial(key: str, *, ttl: float) -> bool:
    """Claim the half-open trial for ``ttl`` seconds; True for exactly one claimant."""
    claimed = _claim(key, name=_trial_name(key), local=_local_trials, ms=int(ttl * 1000) or 1)
    if claimed is None:
        # Same policy as pybreaker's fallback state: go on unprotected rather than stall.
        logger.warning("Redis unavailable for the trial of breaker %s; letting the send through", key)
        return True
    return claimed


def _release_name(key: str) -> str:
    return f"{settings.BREAKER_KEY_PREFIX}:{key}:release"


def claim_release(key: str) -> bool:
    """May this caller release the deliveries waiting out ``key``'s failures now? True for one
    caller per ``BREAKER_RELEASE_INTERVAL`` (claimed atomically, in Redis when configured), so
    the workers whose sends find a destination answering again do not all run the same
    release. With Redis unreachable: no, they wait out their backoff as before."""
    ms = max(int(settings.BREAKER_RELEASE_INTERVAL * 1000), 1)
    return bool(_claim(key, name=_release_name(key), local=_local_releases, ms=ms))


def _failed_trials_name(key: str) -> str:
    return f"{settings.BREAKER_KEY_PREFIX}:{key}:failed_trials"


def _failed_trials(key: str) -> int:
    """Failed trials since ``key``'s breaker opened (0 when unknown: the shortest timeout)."""
    if settings.REDIS_URL:
        try:
            value = _redis_client(settings.REDIS_URL).get(_failed_trials_name(key))
        except redis.RedisError:
            # pybreaker reads the breaker closed meanwhile; the timeout matters only when open.
            return 0
        return int(value or 0)
    with _lock:
        return _local_failed_trials.get((settings.BREAKER_KEY_PREFIX, key), 0)


def _count_failed_trial(key: str, breaker: _Breaker) -> None:
    if settings.REDIS_URL:
        expiry = max(_FAILED_TRIALS_TTL, int(breaker.max_timeout) + 1)
        try:
            with _redis_client(settings.REDIS_URL).pipeline(transaction=True) as pipe:
                pipe.incr(_failed_trials_name(key))
                pipe.expire(_failed_trials_name(key), expiry)
                pipe.execute()
        except redis.RedisError:
            logger.warning("Redis unavailable counting a failed trial of breaker %s", key)
        return
    name = (settings.BREAKER_KEY_PREFIX, key)
    with _lock:
        _local_failed_trials[name] = _local_failed_trials.get(name, 0) + 1


def _drop(key: str, *, name: str, local: dict, warning: str) -> None:
    """Delete one of ``key``'s own entries: ``name`` in Redis, else ``key``'s in ``local``.

    ``warning`` (formatted with ``key``) is logged when Redis is unreachable: it says what
    becomes of the entry left behind.
    """
    if settings.REDIS_URL:
        try:
            _redis_client(settings.REDIS_URL).delete(name)
        except redis.RedisError:
            logger.warning(warning, key)
        return
    with _lock:
        local.pop((settings.BREAKER_KEY_PREFIX, key), None)


def _clear_failed_trials(key: str) -> None:
    _drop(
        key,
        name=_failed_trials_name(key),
        local=_local_failed_trials,
        warning="Redis unavailable resetting the schedule of breaker %s; it expires",
    )


def _release_trial(key: str) -> None:
    _drop(
        key,
        name=_trial_name(key),
        local=_local_trials,
        warning="Redis unavailable releasing the trial of breaker %s; it lapses by itself",
    )


def forget(key: str) -> None:
    """Drop ``key``'s breaker, in Redis and in this process: what it guarded is gone (a deleted
    webhook endpoint), and its keys would otherwise stay in Redis for good. Best effort: with
    Redis down the keys stay, as harmless as before."""
    prefix = settings.BREAKER_KEY_PREFIX
    with _lock:
        for cache_key in [cached for cached in _breakers if cached[1:] == (prefix, key)]:
            del _breakers[cache_key]
        _local_trials.pop((prefix, key), None)
        _local_failed_trials.pop((prefix, key), None)
        _local_come_back.pop((prefix, key), None)
        _local_releases.pop((prefix, key), None)
    if not settings.REDIS_URL:
        return
    storage = f"{_namespace(key)}:{pybreaker.CircuitRedisStorage.BASE_NAMESPACE}"
    names = [f"{storage}:{part}" for part in ("state", "fail_counter", "success_counter", "opened_at")]
    names += [_trial_name(key), _failed_trials_name(key), f"{prefix}:{key}:come_back", _release_name(key)]
    try:
        _redis_client(settings.REDIS_URL).delete(*names)
    except redis.RedisError:
        logger.warning("Redis unavailable forgetting breaker %s; its keys stay", key)


def reopens_at(key: str) -> datetime | None:
    """When an open breaker lets its half-open trial through; None unless it is open."""
    return _open_until(breaker_for(key))


def retry_at(key: str) -> datetime:
    """When a send that ``key``'s breaker refused should come back.

    Open: when it lets its trial through. Otherwise another caller holds the half-open trial,
    whose outcome closes or reopens the breaker within the send deadline: come back shortly.
    A whole reset timeout would be wrong there: a send put back while a successful trial
    releases its destination's waiting deliveries misses that release, and waited out the
    reset timeout behind a healthy destination (the fault matrix's webhook rows).
    """
    until = reopens_at(key)
    if until is not None:
        return until
    return datetime.now(UTC) + timedelta(seconds=settings.NOTIFICATIONS_BUSY_RETRY_SECONDS)


def come_back_once(key: str, *, at: datetime) -> bool:
    """Should this send, refused by ``key``'s breaker until ``at`` (``retry_at``), come back at
    ``at`` by itself (a task with a countdown) rather than wait for the deliveries sweep?

    True for one refused send per breaker until ``at`` (claimed atomically, in Redis when
    configured): left to the sweep, the trial would come up to a sweep interval after ``at``
    once the traffic that makes it has stopped; one send is enough, since a successful trial
    releases everything its breaker held. With Redis unreachable: no, the sweep is still there.
    """
    wait_ms = int((at - datetime.now(UTC)).total_seconds() * 1000)
    if wait_ms <= 0:
        return False
    return bool(_claim(key, name=f"{settings.BREAKER_KEY_PREFIX}:{key}:come_back", local=_local_come_back, ms=wait_ms))


def breaker_states() -> dict[str, str]:
    """Every known breaker's state, ``{key: "closed" | "open" | "half-open"}``.

    With Redis, read from the shared storage (all breakers any process has used); without,
    the breakers of this process. An open breaker whose reset timeout has passed still reads
    "open" until a trial's outcome is recorded.
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
