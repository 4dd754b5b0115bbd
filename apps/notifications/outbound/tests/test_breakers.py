import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from apps.notifications.outbound import breakers

ROOT = Path(__file__).resolve().parents[4]


class Boom(Exception):
    pass


def _fail():
    raise Boom("down")


def _run_in_other_process(code: str, *, settings) -> str:
    """Run ``code`` in a fresh interpreter with the same Redis, prefix and thresholds."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "REDIS_URL": settings.REDIS_URL,
        "BREAKER_KEY_PREFIX": settings.BREAKER_KEY_PREFIX,
        "BREAKER_FAIL_MAX": str(settings.BREAKER_FAIL_MAX),
        "BREAKER_RESET_TIMEOUT": str(settings.BREAKER_RESET_TIMEOUT),
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
        with pytest.raises(Boom):
            breakers.call(key, _fail)


def _transitions(key, old, new):
    return REGISTRY.get_sample_value("outbound_breaker_transitions_total", {"key": key, "from": old, "to": new}) or 0


@pytest.fixture
def key():
    return breakers.host_key(f"https://{uuid.uuid4().hex}.example.com/hook")


def test_breaker_lifecycle_in_one_process_memory_storage(settings, key):
    settings.REDIS_URL = ""
    settings.BREAKER_FAIL_MAX = 3
    settings.BREAKER_RESET_TIMEOUT = 0.5
    calls = []

    _trip(key, 3)  # the third failure opens it, and still raises the real error
    assert breakers.is_open(key)
    with pytest.raises(breakers.BreakerOpen):
        breakers.call(key, lambda: calls.append("skipped?"))
    assert calls == []
    assert breakers.breaker_states()[key] == "open"

    time.sleep(0.6)
    assert not breakers.is_open(key)  # the next call is the half-open trial
    assert breakers.call(key, lambda: "ok") == "ok"
    assert breakers.breaker_states()[key] == "closed"
    assert _transitions(key, "closed", "open") == 1
    assert _transitions(key, "open", "half-open") == 1
    assert _transitions(key, "half-open", "closed") == 1


def test_not_a_breaker_failure_does_not_count(settings, key):
    settings.REDIS_URL = ""
    settings.BREAKER_FAIL_MAX = 2

    class Gone(breakers.NotABreakerFailure):
        pass

    def gone():
        raise Gone()

    for _ in range(3):
        with pytest.raises(Gone):
            breakers.call(key, gone)
    assert not breakers.is_open(key)


def test_state_is_shared_by_two_processes(settings, breaker_redis, key):
    settings.BREAKER_FAIL_MAX = 2
    # Long enough for two interpreters to start while it is open (opened_at has 1 s resolution).
    settings.BREAKER_RESET_TIMEOUT = 4

    # Process A trips the breaker.
    out_a = _run_in_other_process(
        f"""
class Boom(Exception):
    pass
def fail():
    raise Boom()
for _ in range(2):
    try:
        breakers.call({key!r}, fail)
    except Boom:
        pass
print(breakers.breaker_for({key!r}).current_state)
""",
        settings=settings,
    )
    assert out_a == "open"

    # Process B sees it open and skips the call.
    out_b = _run_in_other_process(
        f"""
calls = []
try:
    breakers.call({key!r}, lambda: calls.append(1))
    print("called")
except breakers.BreakerOpen:
    print("skipped", breakers.is_open({key!r}), len(calls))
""",
        settings=settings,
    )
    assert out_b == "skipped True 0"
    assert breakers.is_open(key)  # and so does this (third) process
    assert breakers.breaker_states() == {key: "open"}

    # After the reset timeout a trial call is let through; its success closes the breaker for all.
    deadline = time.monotonic() + 6
    while breakers.is_open(key) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert breakers.call(key, lambda: "trial ok") == "trial ok"
    assert breakers.breaker_states() == {key: "closed"}
    out_b2 = _run_in_other_process(f"print(breakers.breaker_for({key!r}).current_state)", settings=settings)
    assert out_b2 == "closed"


def test_failed_trial_reopens(settings, breaker_redis, key):
    settings.BREAKER_FAIL_MAX = 1
    settings.BREAKER_RESET_TIMEOUT = 1

    _trip(key, 1)
    deadline = time.monotonic() + 3
    while breakers.is_open(key) and time.monotonic() < deadline:
        time.sleep(0.1)
    with pytest.raises(Boom):
        breakers.call(key, _fail)
    assert breakers.is_open(key)


def test_unreachable_redis_falls_back_to_a_closed_breaker(settings, closed_port, key):
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port}/0"

    assert not breakers.is_open(key)
    assert breakers.call(key, lambda: "sent anyway") == "sent anyway"
