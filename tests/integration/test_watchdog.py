"""config/watchdog.py's idle heap trim, in a process of its own (importing the module builds the
WSGI application and installs tracing for the process, which the other tests must not inherit)."""

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# config.watchdog.EXIT_STATUS (EX_SOFTWARE), not imported here for the reason above.
EXIT_STATUS = 70

# A watchdog ticking every 0.5 s (timeout 2 s) around an application that holds one request for
# 1.2 s; prints when each trim happened relative to the request's end, and whether glibc's
# malloc_trim was found and ran.
SCRIPT = """
import json, threading, time
from config.watchdog import RequestWatchdog, _malloc_trim

trims = []
def app(environ, start_response):
    if environ.get("HOLD"):
        time.sleep(1.2)
    start_response("200 OK", [])
    return [b""]

watchdog = RequestWatchdog(app, timeout=2, trim=lambda: trims.append(time.monotonic()))
watchdog({"REQUEST_METHOD": "GET", "PATH_INFO": "/"}, lambda *a: None)
time.sleep(1.6)
first = len(trims)
time.sleep(1.2)
after_idle = len(trims)
watchdog({"REQUEST_METHOD": "GET", "PATH_INFO": "/", "HOLD": "1"}, lambda *a: None)
ended = time.monotonic()
during = [t for t in trims if t < ended]
time.sleep(1.6)
real = _malloc_trim()
if real is not None:
    real()
print(json.dumps({"first": first, "after_idle": after_idle, "during": len(during),
                  "after_second": len(trims), "glibc": real is not None}))
"""


# A request past the timeout while the trim is on: the process still ends with EXIT_STATUS.
STUCK = """
import time
from config.watchdog import RequestWatchdog, _malloc_trim

def app(environ, start_response):
    time.sleep(10)

RequestWatchdog(app, timeout=1, trim=_malloc_trim())({"REQUEST_METHOD": "GET", "PATH_INFO": "/stuck"}, None)
"""


def _python(script: str, *, check: bool) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "PYTHONPATH": str(ROOT)}
    env.pop("WEB_REQUEST_TIMEOUT", None)
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=check
    )


def _run() -> dict:
    return json.loads(_python(SCRIPT, check=True).stdout.strip().splitlines()[-1])


def test_an_idle_worker_trims_its_heap_once_per_idle_spell_and_never_during_a_request():
    result = _run()
    # Once after the first request, not again while nothing new was served.
    assert result["first"] == 1
    assert result["after_idle"] == 1
    # Not while the held request was in flight; once after it.
    assert result["during"] == 1
    assert result["after_second"] == 2
    if platform.libc_ver()[0] == "glibc":
        assert result["glibc"]


def test_a_stuck_request_still_ends_the_worker():
    started = time.monotonic()
    process = _python(STUCK, check=False)
    assert process.returncode == EXIT_STATUS
    assert "request timeout: GET /stuck" in process.stderr
    assert time.monotonic() - started < 10
