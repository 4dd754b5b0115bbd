"""Log formats: human-readable text (local, tests) or one JSON object per line (production).

``LOG_FORMAT`` picks one (config/log_config.py builds the ``LOGGING`` dict for Django, the
Celery worker and beat, and the web server). Both carry the request id: the web request's
(``RequestIdMiddleware``), or, in a worker, the id of the request whose event or delivery it is
handling (``request_id_scope``, the id travelling in the outbox envelope and on the delivery row).

Importable without Django set up: the web server's main process loads these classes before any app.
"""

import logging
import threading
import time

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from apps.core.middleware import get_request_id


def _trace_api():
    """OpenTelemetry's trace API when it is installed (tracing is optional), else None."""
    try:
        from opentelemetry import trace
    except ImportError:
        return None
    return trace


trace_api = _trace_api()


def current_trace_id() -> str | None:
    """The active span's trace id (32 hex digits, as tracing backends show it), or None."""
    if trace_api is None:
        return None
    context = trace_api.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = get_request_id() or "-"
        return True


# The fields every JSON line starts with, in this order; ``extra=`` fields and the exception follow.
_FIRST = ("timestamp", "level", "logger", "message", "request_id", "trace_id")


class JsonFormatter(_JsonFormatter):
    """``{"timestamp", "level", "logger", "message", "request_id", ["trace_id"], …extra}``.

    ``timestamp`` is ISO 8601 in UTC; ``request_id`` is null outside a request or an event of
    one; ``trace_id`` is there only when OpenTelemetry is installed and a span is active.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("fmt", ["levelname", "name", "message"])
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", True)
        super().__init__(*args, **kwargs)

    def add_fields(self, log_data: dict, record: logging.LogRecord, message_dict: dict) -> None:
        super().add_fields(log_data, record, message_dict)
        # The filter's "-" (text format) is null here; without the filter, read the context.
        request_id = getattr(record, "request_id", None) or get_request_id()
        log_data["request_id"] = None if request_id in (None, "-") else request_id
        trace_id = current_trace_id()
        if trace_id:
            log_data["trace_id"] = trace_id

    def process_log_record(self, log_data: dict) -> dict:
        ordered = {key: log_data.pop(key) for key in _FIRST if key in log_data}
        ordered.update(log_data)
        return ordered


class RepeatFilter(logging.Filter):
    """Lets one line per (logger, message template, level) through every ``window`` seconds.

    For infrastructure errors that every call reports while a dependency is down (pybreaker
    logs a traceback on each read of its Redis state; the slot and doorbell code warn on each
    send): one line, with its traceback, says what is wrong; a thousand say nothing more and
    bury the rest. The next line let through after a quiet spell tells how many were dropped.
    Per process; the counters are only ever read by the line that reports them.
    """

    def __init__(self, window: float = 30.0) -> None:
        super().__init__()
        self.window = window
        self._lock = threading.Lock()
        # key → (monotonic time the last line went through, lines dropped since)
        self._seen: dict[tuple, tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, str(record.msg))
        now = time.monotonic()
        with self._lock:
            shown_at, dropped = self._seen.get(key, (float("-inf"), 0))
            if now - shown_at < self.window:
                self._seen[key] = (shown_at, dropped + 1)
                return False
            self._seen[key] = (now, 0)
            if len(self._seen) > 1000:  # bounded: forget the oldest keys
                for old in sorted(self._seen, key=lambda k: self._seen[k][0])[:500]:
                    self._seen.pop(old)
        if dropped:
            record.msg = f"{record.msg} ({dropped} more like this in the last {int(now - shown_at)} s not logged)"
        return True
