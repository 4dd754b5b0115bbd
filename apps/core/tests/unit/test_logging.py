"""Log lines: JSON in production, text locally and in tests, the request id on every one."""

import json
import logging
import os
import subprocess
import sys
import time
import types
from datetime import datetime
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.core import logging as core_logging
from apps.core.logging import JsonFormatter, RequestIdFilter
from apps.core.middleware import request_id_scope
from config.log_config import logging_config

ROOT = Path(__file__).resolve().parents[4]
PRODUCTION_ENV = {
    "SECRET_KEY": "logging-test-secret-0123456789abcdefghijklmnopqrstuvwxyz-0123456789",
    "ALLOWED_HOSTS": "ratings.example.com",
    "DATABASE_URL": "postgres://check@127.0.0.1:1/unused",
    "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",
    "REDIS_URL": "redis://127.0.0.1:1/0",
    "METRICS_TOKEN": "logging-test-token",
}


def _format(record_logger: str = "apps.example", *, exc_info=None, **extra) -> dict:
    record = logging.getLogger(record_logger).makeRecord(
        record_logger, logging.WARNING, __file__, 1, "rated %s", ("p1",), exc_info, extra=extra or None
    )
    RequestIdFilter().filter(record)
    return json.loads(JsonFormatter().format(record))


def test_a_json_line_has_time_level_logger_message_and_request_id():
    with request_id_scope("req-123"):
        line = _format(provider="p1")
    assert list(line)[:5] == ["timestamp", "level", "logger", "message", "request_id"]
    assert line["level"] == "WARNING"
    assert line["logger"] == "apps.example"
    assert line["message"] == "rated p1"
    assert line["request_id"] == "req-123"
    assert line["provider"] == "p1"  # extra= fields follow
    stamp = datetime.fromisoformat(line["timestamp"])
    assert stamp.utcoffset().total_seconds() == 0
    assert abs(time.time() - stamp.timestamp()) < 5


def test_outside_a_request_the_request_id_is_null_and_there_is_no_trace_id():
    line = _format()
    assert line["request_id"] is None
    assert "trace_id" not in line


def test_an_exception_is_in_the_line():
    try:
        raise ValueError("boom")
    except ValueError:
        line = _format(exc_info=sys.exc_info())
    assert "ValueError: boom" in line["exc_info"]


def test_an_unusable_request_id_is_not_taken():
    with request_id_scope("has spaces and is not an id"):
        assert _format()["request_id"] is None


class _Span:
    def __init__(self, trace_id: int, valid: bool):
        self.context = types.SimpleNamespace(trace_id=trace_id, is_valid=valid)

    def get_span_context(self):
        return self.context


def test_the_active_spans_trace_id_is_in_the_line(monkeypatch):
    # The trace API's two calls the formatter makes, as OpenTelemetry answers them with a span
    # active and with none (its invalid span).
    span = _Span(0x4BF92F3577B34DA6A3CE929D0E0E4736, valid=True)
    monkeypatch.setattr(core_logging, "trace_api", types.SimpleNamespace(get_current_span=lambda: span))
    assert _format()["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    span.context.is_valid = False
    assert "trace_id" not in _format()
    monkeypatch.setattr(core_logging, "trace_api", None)  # OpenTelemetry not installed
    assert "trace_id" not in _format()


def test_with_opentelemetry_installed_the_current_span_is_read():
    trace = pytest.importorskip("opentelemetry.trace")
    context = trace.SpanContext(
        trace_id=0x0AF7651916CD43DD8448EB211C80319C, span_id=0xB7AD6B7169203331, is_remote=False
    )
    with trace.use_span(trace.NonRecordingSpan(context)):
        assert _format()["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    assert "trace_id" not in _format()


def test_log_format_must_be_json_or_text():
    assert logging_config(log_format="json", level="INFO")["handlers"]["console"]["formatter"] == "json"
    with pytest.raises(ImproperlyConfigured, match="LOG_FORMAT must be one of json, text"):
        logging_config(log_format="yaml", level="INFO")


def test_tests_log_text(settings):
    assert settings.LOG_FORMAT == "text"
    assert settings.LOGGING["handlers"]["console"]["formatter"] == "text"


# --- the web process -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_every_request_has_an_access_line_under_its_request_id(client, json_log):
    response = client.get("/api/v1/providers/does-not-exist/", HTTP_X_REQUEST_ID="req-web-7")
    assert response.status_code == 404
    lines = json_log()
    (access,) = [line for line in lines if line["logger"] == "apps.core.access"]
    assert access["request_id"] == "req-web-7"
    assert (access["method"], access["path"], access["status"]) == ("GET", "/api/v1/providers/does-not-exist/", 404)
    assert access["duration_ms"] >= 0
    # Django's own line about the 404 carries it too.
    assert {line["request_id"] for line in lines if line["logger"] == "django.request"} == {"req-web-7"}


# --- each settings module's processes (subprocesses: settings load once) ----------------------------
_LOG_A_LINE = (
    "import logging; from apps.core.middleware import request_id_scope\n"
    "with request_id_scope('req-sub-1'): logging.getLogger('apps.check').warning('hello %s', 'there')"
)


def _run(settings_module: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST") and k not in ("LOG_FORMAT", "LOG_LEVEL")}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": settings_module, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _lines_of(stderr: str, logger: str) -> list[str]:
    return [line for line in stderr.splitlines() if logger in line]


def test_production_logs_json_lines():
    result = _run("config.settings.production", "manage.py", "shell", "-c", _LOG_A_LINE, **PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    (line,) = _lines_of(result.stderr, "apps.check")
    parsed = json.loads(line)
    assert (parsed["level"], parsed["logger"], parsed["message"], parsed["request_id"]) == (
        "WARNING",
        "apps.check",
        "hello there",
        "req-sub-1",
    )


def test_local_settings_log_readable_text():
    result = _run("config.settings.local", "manage.py", "shell", "-c", _LOG_A_LINE)
    assert result.returncode == 0, result.stderr
    (line,) = _lines_of(result.stderr, "apps.check")
    assert line.endswith(" WARNING apps.check [req-sub-1] hello there")


def test_production_can_log_text_when_asked():
    env = {**PRODUCTION_ENV, "LOG_FORMAT": "text"}
    result = _run("config.settings.production", "manage.py", "shell", "-c", _LOG_A_LINE, **env)
    (line,) = _lines_of(result.stderr, "apps.check")
    assert line.endswith(" WARNING apps.check [req-sub-1] hello there")


def test_the_celery_worker_logs_through_the_same_formatter(tmp_path):
    # A real worker (on the test settings' in-memory broker): Celery's own lines (startup,
    # "ready") come out as JSON lines, not in Celery's format.
    stderr = tmp_path / "worker.log"
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PYTEST") and k not in ("LOG_LEVEL", "CELERY_BROKER_URL")
    }
    command = [sys.executable, "-m", "celery", "-A", "config", "-q", "worker", "--pool", "solo"]
    command += ["-Q", "logging-test", "-n", "logging-test@%h", "--without-gossip", "--without-mingle"]
    with stderr.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={
                **base,
                "LOG_FORMAT": "json",
                "DJANGO_SETTINGS_MODULE": "config.settings.test",
                # Celery warns about running as root before any logging is set up; test machines
                # run as root, the image does not (USER app).
                "PYTHONWARNINGS": "ignore:You're running the worker with superuser privileges",
            },
            stdout=subprocess.DEVNULL,
            stderr=out,
        )
    try:
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline and " ready." not in stderr.read_text():
            assert process.poll() is None, stderr.read_text()
            time.sleep(0.2)
    finally:
        process.terminate()
        process.wait(timeout=30)
    lines = [line for line in stderr.read_text().splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]  # every line is JSON
    ready = [line for line in parsed if line["message"].endswith(" ready.")]
    assert ready, lines
    assert ready[0]["logger"].startswith("celery.")
    assert ready[0]["level"] == "INFO"
    assert {"timestamp", "request_id"} <= set(ready[0])
