import logging
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from prometheus_client import REGISTRY

from apps.core.logging import RepeatFilter
from apps.notifications.outbound import breakers, http, limits
from apps.notifications.outbound.errors import ConnectFailed, UnsafeURL
from apps.notifications.outbound.http import OutboundResponse
from config.log_config import logging_config

ROOT = Path(__file__).resolve().parents[4]


def _run_in_other_process(code: str, *, settings) -> str:
    """Run ``code`` in a fresh interpreter with the same Redis, prefix and thresholds."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "REDIS_URL": settings.REDIS_URL,
        "BREAKER_KEY_PREFIX": settings.BREAKER_KEY_PREFIX,
        "BREAKER_FAIL_MAX": str(settings.BREAKER_FAIL_MAX),
        "BREAKER_RESET_TIMEOUT": str(settings.BREAKER_RESET_TIMEOUT),
        "BREAKER_RESET_MAX_TIMEOUT": str(settings.BREAKER_RESET_MAX_TIMEOUT),
    }
    prelude = "import django; django.setup()\nfrom apps.notifications.outbound import breakers\n"
    result = subprocess.run(
        [sys.executable, "-c", prelude + code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _trip(key, times):
    for _ in range(times):
        assert breakers.allow(key)
        breakers.record_failure(key)


def _wait_until_allowed(key, seconds):
    deadline = time.monotonic() + seconds
    while breakers.is_open(key) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not breakers.is_open(key)


def _transitions(kind, old, new):
    # Labelled by kind only (cumulative across tests): callers compare before and after.
    labels = {"kind": kind, "from": old, "to": new}
    return REGISTRY.get_sample_value("outbound_breaker_transitions_total", labels) or 0


@pytest.fixture
def key():
    return breakers.origin_key(f"https://{uuid.uuid4().hex}.example.com/hook")


@pytest.fixture(params=[False, True], ids=["memory", "redis"])
def shared_state(request, settings) -> bool:
    """The test runs twice: with the breakers' state in this process, and shared in the run's
    Redis (``REDIS_URL``; skipped when the run has none). True when shared."""
    shared = request.param
    if shared and not os.environ.get("REDIS_URL"):
        pytest.skip("needs REDIS_URL")
    settings.REDIS_URL = os.environ.get("REDIS_URL", "") if shared else ""
    return shared


def test_breaker_lifecycle_in_one_process_memory_storage(settings, key):
    settings.REDIS_URL = ""
    settings.BREAKER_FAIL_MAX = 3
    settings.BREAKER_RESET_TIMEOUT = 0.5
    moves = [("closed", "open"), ("open", "half-open"), ("half-open", "closed")]
    before = {move: _transitions("origin", *move) for move in moves}

    _trip(key, 2)
    assert breakers.allow(key)  # two failures: still closed
    breakers.record_failure(key)  # the third opens it
    assert breakers.is_open(key)
    assert not breakers.allow(key)
    assert breakers.breaker_states()[key] == "open"
    assert breakers.reopens_at(key) is not None

    time.sleep(0.6)
    assert not breakers.is_open(key)
    assert breakers.allow(key)  # the half-open trial…
    assert not breakers.allow(key)  # …only one
    breakers.record_success(key)
    assert breakers.breaker_states()[key] == "closed"
    assert breakers.allow(key)
    assert breakers.reopens_at(key) is None
    assert {move: _transitions("origin", *move) - before[move] for move in moves} == dict.fromkeys(moves, 1)


def test_a_send_refused_while_another_holds_the_trial_comes_back_shortly(settings, key, shared_state):
    # Not a whole reset timeout later: the trial decides within the send deadline, and a put-back
    # racing a successful trial's release would wait behind a healthy destination.
    settings.BREAKER_FAIL_MAX = 1
    settings.BREAKER_RESET_TIMEOUT = 0.5
    settings.NOTIFICATIONS_BUSY_RETRY_SECONDS = 2

    _trip(key, 1)
    opened = breakers.retry_at(key)
    assert opened == breakers.reopens_at(key)  # open: when its trial is let through
    assert opened <= datetime.now(UTC) + timedelta(seconds=0.5)
    _wait_until_allowed(key, 5)
    assert breakers.allow(key)  # this caller holds the trial…
    assert not breakers.allow(key)  # …so another is refused, and comes back within seconds
    assert breakers.retry_at(key) <= datetime.now(UTC) + timedelta(seconds=2)

    # The trial succeeds between a refusal and the refused send asking when to come back (the
    # race the fault matrix caught): the breaker reads closed, and the answer is still shortly.
    breakers.record_success(key)
    before = datetime.now(UTC)
    refused_until = breakers.retry_at(key)
    assert before + timedelta(seconds=1.9) <= refused_until <= datetime.now(UTC) + timedelta(seconds=2)


def test_a_success_resets_the_failure_count(settings, key):
    settings.REDIS_URL = ""
    settings.BREAKER_FAIL_MAX = 2

    for _ in range(3):
        breakers.record_failure(key)
        breakers.record_success(key)
    assert breakers.allow(key)
    assert breakers.breaker_states()[key] == "closed"


def test_a_success_recorded_while_open_is_ignored(settings, key):
    # A send that started before the breaker opened and succeeded late does not close it.
    settings.REDIS_URL = ""
    settings.BREAKER_FAIL_MAX = 1
    settings.BREAKER_RESET_TIMEOUT = 30

    breakers.record_failure(key)
    breakers.record_success(key)

    assert breakers.is_open(key)
    assert not breakers.allow(key)


def test_record_result_maps_outcomes_to_the_breaker(settings, key):
    settings.REDIS_URL = ""
    settings.BREAKER_FAIL_MAX = 2

    def response(status):
        return OutboundResponse(status=status, headers={}, body="", truncated=False, elapsed=0.1, address="1.2.3.4")

    # Answers that refuse the message, and refusals before sending, never count as failures.
    for result in (response(404), response(400), response(302), response(410), UnsafeURL("private")):
        breakers.record_result(key, result)
        breakers.record_result(key, result)
        assert breakers.allow(key), result
    breakers.record_result(key, response(503))
    breakers.record_result(key, UnsafeURL("nothing sent: not evidence either way"))
    breakers.record_result(key, ConnectFailed("refused"))
    assert breakers.is_open(key)


def test_a_failure_recorded_by_the_trial_reopens(settings, key):
    settings.REDIS_URL = ""
    settings.BREAKER_FAIL_MAX = 1
    settings.BREAKER_RESET_TIMEOUT = 0.3

    _trip(key, 1)
    _wait_until_allowed(key, 2)
    assert breakers.allow(key)
    breakers.record_failure(key)

    assert breakers.is_open(key)
    assert not breakers.allow(key)
    _wait_until_allowed(key, 2)
    assert breakers.allow(key)  # the failed trial gave its claim back: the next trial may go


def test_the_reset_timeout_doubles_with_each_failed_trial_up_to_its_cap():
    assert [breakers.reset_timeout_after(n, base=10, cap=60) for n in range(5)] == [10, 20, 40, 60, 60]
    assert breakers.reset_timeout_after(10_000, base=10, cap=60) == 60
    # A webhook endpoint's longer base is never cut down to the origins' cap.
    assert breakers.reset_timeout_after(2, base=300, cap=60) == 300


def test_a_failed_trial_reopens_for_longer_and_a_successful_one_starts_over(settings, key):
    settings.REDIS_URL = ""
    settings.BREAKER_FAIL_MAX = 1
    settings.BREAKER_RESET_TIMEOUT = 0.3
    settings.BREAKER_RESET_MAX_TIMEOUT = 0.6
    breaker = breakers.breaker_for(key)

    _trip(key, 1)
    assert breaker.reset_timeout == 0.3
    _wait_until_allowed(key, 2)
    assert breakers.allow(key)
    breakers.record_failure(key)  # the trial fails: open for twice as long
    assert breaker.reset_timeout == 0.6
    assert breakers.reopens_at(key) == breaker._state_storage.opened_at + timedelta(seconds=0.6)

    time.sleep(0.4)  # past the first timeout, within the second
    assert breakers.is_open(key)
    assert not breakers.allow(key)
    # pybreaker's own open-state check reads the same timeout: a success reported now (a send
    # that started before it opened) is refused as "still open", not taken as the trial.
    breakers.record_success(key)
    assert breaker.current_state == "open"

    _wait_until_allowed(key, 2)
    assert breakers.allow(key)
    breakers.record_failure(key)
    assert breaker.reset_timeout == 0.6  # the cap
    _wait_until_allowed(key, 2)
    assert breakers.allow(key)
    breakers.record_success(key)
    assert breaker.current_state == "closed"
    assert breaker.reset_timeout == 0.3  # the next outage starts from the shortest timeout
    _trip(key, 1)
    assert breakers.reopens_at(key) == breaker._state_storage.opened_at + timedelta(seconds=0.3)


def test_the_grown_timeout_is_the_same_in_every_process(settings, breaker_redis, key):
    settings.BREAKER_FAIL_MAX = 1
    # pybreaker keeps the opening time in whole seconds in Redis: waits of 1 and 2 s.
    settings.BREAKER_RESET_TIMEOUT = 1
    settings.BREAKER_RESET_MAX_TIMEOUT = 2
    counted = f"{settings.BREAKER_KEY_PREFIX}:{key}:failed_trials"
    client = redis.Redis.from_url(breaker_redis)

    _trip(key, 1)
    _wait_until_allowed(key, 3)
    assert breakers.allow(key)
    breakers.record_failure(key)  # this process's trial fails
    assert breakers.breaker_for(key).reset_timeout == 2

    # Another process (a fresh interpreter: no cached breaker) reads the same schedule…
    reopens = breakers.reopens_at(key)
    out = _run_in_other_process(
        f"print(breakers.breaker_for({key!r}).reset_timeout, breakers.reopens_at({key!r}).isoformat())",
        settings=settings,
    )
    assert out == f"2.0 {reopens.isoformat()}"
    # …and its own failed trial counts for this one.
    _wait_until_allowed(key, 4)
    out = _run_in_other_process(
        f"assert breakers.allow({key!r}); breakers.record_failure({key!r}); print(breakers.is_open({key!r}))",
        settings=settings,
    )
    assert out == "True"
    assert client.get(counted) == b"2"
    assert 0 < client.ttl(counted) <= 86400  # goes by itself from a breaker nobody uses
    assert breakers.breaker_for(key).reset_timeout == 2  # capped

    # A successful trial, here, starts the schedule over for every process.
    _wait_until_allowed(key, 4)
    assert breakers.allow(key)
    breakers.record_success(key)
    assert client.get(counted) is None
    out = _run_in_other_process(f"print(breakers.breaker_for({key!r}).reset_timeout)", settings=settings)
    assert out == "1.0"

    # A trip from a failed trial (``health``'s quorum) grows it as a recorded failure would.
    breakers.trip(key)
    assert breakers.breaker_for(key).reset_timeout == 1
    _wait_until_allowed(key, 3)
    assert breakers.allow(key)
    breakers.trip(key)
    assert breakers.breaker_for(key).reset_timeout == 2
    breakers.forget(key)
    assert client.get(counted) is None
    client.close()


def test_one_refused_send_per_breaker_comes_back_by_itself_at_the_trial(settings, key, shared_state):
    settings.BREAKER_FAIL_MAX = 1
    settings.BREAKER_RESET_TIMEOUT = 1
    other = breakers.origin_key(f"https://{uuid.uuid4().hex}.example.com/")

    _trip(key, 1)
    at = breakers.retry_at(key)
    assert breakers.come_back_once(key, at=at)  # the first refused send comes back at the trial…
    assert not breakers.come_back_once(key, at=at)  # …the others wait for what its trial releases
    assert breakers.come_back_once(other, at=at)  # another breaker's refused sends are its own
    assert not breakers.come_back_once(key, at=datetime.now(UTC))  # nothing to wait for
    time.sleep(max((at - datetime.now(UTC)).total_seconds(), 0) + 0.05)
    assert breakers.come_back_once(key, at=datetime.now(UTC) + timedelta(seconds=2))  # the next window
    breakers.forget(key)
    breakers.forget(other)


def test_a_success_after_failures_below_the_threshold_claims_one_release_per_interval(settings, key, shared_state):
    settings.BREAKER_FAIL_MAX = 3
    settings.BREAKER_RELEASE_INTERVAL = 0.5
    quiet = breakers.Gate()
    quiet.record_success(key)
    assert quiet.recovered == set()  # nothing failed: nothing waits

    breakers.record_failure(key)
    breakers.record_failure(key)
    gate = breakers.Gate()
    gate.record_success(key)
    gate.record_success(key)
    assert (gate.recovered, gate.healed) == ({key}, set())
    assert breakers.breaker_states()[key] == "closed"

    # Another blink within the interval: the success after it finds the release claimed.
    breakers.record_failure(key)
    other = breakers.Gate()
    other.record_success(key)
    assert other.recovered == set()
    time.sleep(0.55)
    breakers.record_failure(key)
    later = breakers.Gate()
    later.record_success(key)
    assert later.recovered == {key}

    # A breaker that opened heals through its trial instead: that release is the whole backlog's.
    settings.BREAKER_RESET_TIMEOUT = 1
    _trip(key, 3)
    _wait_until_allowed(key, 3)
    trial = breakers.Gate()
    assert trial.allow(key)
    trial.record_success(key)
    assert (trial.healed, trial.recovered) == ({key}, set())
    breakers.forget(key)


def test_an_unreported_trial_lapses_after_one_reset_timeout(settings, key):
    settings.REDIS_URL = ""
    settings.BREAKER_FAIL_MAX = 1
    settings.BREAKER_RESET_TIMEOUT = 0.3
    settings.OUTBOUND_TOTAL_TIMEOUT = 0.1  # the claim lasts max(reset timeout, one send's deadline)

    _trip(key, 1)
    _wait_until_allowed(key, 2)
    assert breakers.allow(key)  # a trial whose worker dies before recording
    assert not breakers.allow(key)
    time.sleep(0.35)
    assert breakers.allow(key)


def test_no_lock_is_held_while_a_send_is_in_flight(settings, receiver_factory):
    settings.REDIS_URL = ""
    settings.OUTBOUND_TOTAL_TIMEOUT = 5
    slow = receiver_factory()
    entered = threading.Event()

    def stall(handler, _request):
        entered.set()
        slow.stop.wait(1.5)
        handler.send_response(200)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    slow.behaviour = stall
    host_a = breakers.origin_key(slow.url())
    host_b = breakers.origin_key(f"https://{uuid.uuid4().hex}.example.com/")
    assert breakers.allow(host_a)

    def send():
        try:
            breakers.record_result(host_a, http.post(slow.url(), body=b"{}", headers={}))
        finally:
            entered.set()

    sender = threading.Thread(target=send)
    sender.start()
    try:
        assert entered.wait(5)
        started = time.monotonic()
        for key in (host_a, host_b):
            assert breakers.allow(key)
            breakers.record_failure(key)
            breakers.record_success(key)
        assert time.monotonic() - started < 0.2
        assert sender.is_alive()  # the slow send was in flight all along
    finally:
        sender.join(5)
    assert len(slow.requests) == 1


def test_state_is_shared_by_two_processes(settings, breaker_redis, key):
    settings.BREAKER_FAIL_MAX = 2
    # Open for longer than any interpreter start, however loaded the machine (a 15 s timeout once
    # lapsed between two starts in CI); the trial below shortens it, as every process reads it
    # from its settings when it looks at the breaker.
    settings.BREAKER_RESET_TIMEOUT = 600
    # The trial claim lasts at least one send's deadline: long enough for a third interpreter.
    settings.OUTBOUND_TOTAL_TIMEOUT = 30

    # Process A trips the breaker.
    out_a = _run_in_other_process(
        f"""
for _ in range(2):
    assert breakers.allow({key!r})
    breakers.record_failure({key!r})
print(breakers.breaker_for({key!r}).current_state)
""",
        settings=settings,
    )
    assert out_a == "open"

    # Process B sees it open and does not send.
    out_b = _run_in_other_process(f"print(breakers.allow({key!r}), breakers.is_open({key!r}))", settings=settings)
    assert out_b == "False True"
    assert breakers.is_open(key)  # and so does this (third) process
    assert breakers.breaker_states() == {key: "open"}

    # After the reset timeout one trial is let through, in whichever process claims it first…
    settings.BREAKER_RESET_TIMEOUT = 1
    _wait_until_allowed(key, 5)
    assert breakers.allow(key)
    out_b_trial = _run_in_other_process(f"print(breakers.allow({key!r}))", settings=settings)
    assert out_b_trial == "False"
    # …and its recorded success closes the breaker for all.
    breakers.record_success(key)
    assert breakers.breaker_states() == {key: "closed"}
    out_b2 = _run_in_other_process(f"print(breakers.breaker_for({key!r}).current_state)", settings=settings)
    assert out_b2 == "closed"


def test_failed_trial_reopens(settings, breaker_redis, key):
    settings.BREAKER_FAIL_MAX = 1
    settings.BREAKER_RESET_TIMEOUT = 1

    _trip(key, 1)
    _wait_until_allowed(key, 3)
    assert breakers.allow(key)
    breakers.record_failure(key)
    assert breakers.is_open(key)
    assert not breakers.allow(key)


def test_unreachable_redis_falls_back_to_a_closed_breaker(settings, closed_port, key):
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port}/0"

    assert not breakers.is_open(key)
    assert breakers.allow(key)
    breakers.record_failure(key)
    breakers.record_success(key)


@pytest.mark.parametrize("redis_down", [False, True], ids=["memory", "redis-down"])
def test_a_trial_claim_and_a_failed_trials_count_are_dropped_or_left_to_lapse(
    settings, closed_port, key, caplog, redis_down
):
    settings.REDIS_URL = ""
    settings.BREAKER_FAIL_MAX = 1
    settings.BREAKER_RESET_TIMEOUT = 0.2
    _trip(key, 1)
    _wait_until_allowed(key, 2)
    assert breakers.allow(key)  # the trial is claimed…
    breakers.record_failure(key)  # …and fails: one failed trial counted
    assert breakers.breaker_for(key).reset_timeout == 0.4
    if redis_down:
        # Redis goes away: nothing to delete, each entry lapses by itself, and the warning says so.
        settings.REDIS_URL = f"redis://127.0.0.1:{closed_port}/0"
        name = "apps.notifications.outbound.breakers"
        # Without the configured once-per-window filter, which an earlier test may have fed.
        configured = logging.getLogger(name).filters[:]
        for existing in configured:
            logging.getLogger(name).removeFilter(existing)
        try:
            with caplog.at_level(logging.WARNING, logger=name):
                breakers.release_trial(key)
                breakers._clear_failed_trials(key)
        finally:
            for existing in configured:
                logging.getLogger(name).addFilter(existing)
        assert [r.getMessage() for r in caplog.records if r.name == name] == [
            f"Redis unavailable releasing the trial of breaker {key}; it lapses by itself",
            f"Redis unavailable resetting the schedule of breaker {key}; it expires",
        ]
        return
    _wait_until_allowed(key, 2)
    assert breakers.allow(key)
    assert not breakers.allow(key)
    breakers.release_trial(key)  # given back: the next caller may try at once
    assert breakers.allow(key)
    breakers._clear_failed_trials(key)
    assert breakers.breaker_for(key).reset_timeout == 0.2


def test_an_infrastructure_error_repeated_by_every_call_is_logged_once_per_window(
    settings, breaker_redis, closed_port, caplog
):
    """Redis goes down: pybreaker logs a traceback on every read of a breaker's state; the
    filter the logging configuration puts on its logger lets one line through per window."""
    config = logging_config(log_format="text", level="INFO")
    assert config["loggers"]["pybreaker"]["filters"] == ["repeats"]
    assert config["loggers"]["apps.notifications.outbound.breakers"]["filters"] == ["repeats"]
    breaker = breakers.breaker_for("origin:https://down.example:443")  # made while Redis answered
    # Now it is down (a client as the breakers make theirs: no retry backoff).
    breaker._state_storage._redis = redis.Redis(host="127.0.0.1", port=closed_port, retry=limits.FAST_FAIL)
    repeats = RepeatFilter(window=60)
    pybreaker_logger = logging.getLogger("pybreaker")
    configured = pybreaker_logger.filters[:]  # the settings' own, with its own memory
    for existing in configured:
        pybreaker_logger.removeFilter(existing)
    pybreaker_logger.addFilter(repeats)
    try:
        with caplog.at_level(logging.ERROR, logger="pybreaker"):
            for _ in range(20):
                assert breakers.allow("origin:https://down.example:443") is True  # fails open, as before
        lines = [r for r in caplog.records if r.name == "pybreaker"]
        assert len(lines) == 1, [r.getMessage() for r in lines]
        assert lines[0].exc_info is not None  # the one line keeps its traceback

        # After the window, the next one says how many were dropped.
        repeats.window = 0
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="pybreaker"):
            breakers.allow("origin:https://down.example:443")
        [line] = [r for r in caplog.records if r.name == "pybreaker"]
        assert "more like this" in line.getMessage()
    finally:
        pybreaker_logger.removeFilter(repeats)
        for existing in configured:
            pybreaker_logger.addFilter(existing)


def _breaker_keys(url: str, prefix: str, key: str) -> list[bytes]:
    return sorted(redis.Redis.from_url(url).scan_iter(match=f"{prefix}:{key}:*"))


@pytest.mark.django_db
def test_a_deleted_endpoints_breaker_leaves_redis(settings, breaker_redis, django_capture_on_commit_callbacks):
    from apps.notifications.subscriptions.webhooks import webhook_create, webhook_delete

    owner = uuid.uuid4()
    endpoint = webhook_create(recipient_id=owner, url="https://hooks.example.com/a", event_types=[])
    kept = webhook_create(recipient_id=owner, url="https://hooks.example.com/b", event_types=[])
    gone_key, kept_key = breakers.endpoint_key(endpoint.pk), breakers.endpoint_key(kept.pk)
    for key in (gone_key, kept_key):
        breakers.record_failure(key)
        breakers.trip(key)
    assert _breaker_keys(breaker_redis, settings.BREAKER_KEY_PREFIX, gone_key)

    with django_capture_on_commit_callbacks(execute=True):
        webhook_delete(recipient_id=owner, endpoint_id=endpoint.pk)

    assert _breaker_keys(breaker_redis, settings.BREAKER_KEY_PREFIX, gone_key) == []
    assert gone_key not in breakers.breaker_states()
    # The other endpoint's breaker is untouched, and a new breaker for the old key starts closed.
    assert breakers.breaker_states()[kept_key] == "open"
    assert breakers.breaker_for(gone_key).current_state == "closed"


@pytest.mark.django_db
def test_an_erased_accounts_endpoint_breakers_leave_redis(settings, breaker_redis, django_capture_on_commit_callbacks):
    from apps.notifications.services import events_ingest
    from apps.notifications.subscriptions.webhooks import webhook_create

    owner = uuid.uuid4()
    endpoint = webhook_create(recipient_id=owner, url="https://hooks.example.com/a", event_types=[])
    key = breakers.endpoint_key(endpoint.pk)
    breakers.record_failure(key)
    assert _breaker_keys(breaker_redis, settings.BREAKER_KEY_PREFIX, key)

    erased = {"recipient_user_id": str(owner), "rating_ids": []}
    with django_capture_on_commit_callbacks(execute=True):
        events_ingest(envelopes=[{"id": str(uuid.uuid4()), "type": "account.deleted", "version": 1, "data": erased}])

    assert _breaker_keys(breaker_redis, settings.BREAKER_KEY_PREFIX, key) == []
