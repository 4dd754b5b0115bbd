"""Log formats: human-readable text (local, tests) or one JSON object per line (production).

``LOG_FORMAT`` picks one (config/log_config.py builds the ``LOGGING`` dict for Django, the
Celery worker and beat, and the web server). Both carry the request id: the web request's
(``RequestIdMiddleware``), or, in a worker, the id of the request whose event or delivery it is
handling (``request_id_scope``, the id travelling in the outbox envelope and on the delivery row).

Importable without Django set up: the web server's main process loads these classes before any app.
"""

import logging

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
