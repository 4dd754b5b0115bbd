import logging
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

# One line per request, with its request id; it replaces the server's own access log (granian's,
# gunicorn's and runserver's are emitted after the request's context is gone, so they cannot carry the id).
access_logger = logging.getLogger("apps.core.access")


def get_request_id() -> str | None:
    return _request_id.get()


def valid_request_id(value) -> str | None:
    """``value`` if it is a well-formed request id (as the middleware accepts them), else None."""
    return value if isinstance(value, str) and _VALID_REQUEST_ID.match(value) else None


@contextmanager
def request_id_scope(request_id: str | None) -> Iterator[None]:
    """Log lines inside carry ``request_id``: a worker handling an event or a delivery of the
    request that caused it. An id that is not well formed (another publisher's) is dropped."""
    token = _request_id.set(valid_request_id(request_id))
    try:
        yield
    finally:
        _request_id.reset(token)


class RequestIdMiddleware:
    """Tags every request (and its log lines) with ``X-Request-ID``, taken from the caller
    when it is well formed, otherwise generated, and echoes it on the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = valid_request_id(request.headers.get("X-Request-ID", "")) or uuid.uuid4().hex
        # Not reset on the way out: Django logs a 4xx/5xx response ("Not Found: …") after the
        # middleware returned it. forget_request_id clears it when the response is closed.
        _request_id.set(request_id)
        started = time.monotonic()
        response = self.get_response(request)
        if access_logger.isEnabledFor(logging.INFO):
            duration_ms = round((time.monotonic() - started) * 1000, 1)
            access_logger.info(
                "%s %s %s %.1f ms",
                request.method,
                request.path,
                response.status_code,
                duration_ms,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": duration_ms,
                },
            )
        response["X-Request-ID"] = request_id
        return response


def forget_request_id(**kwargs) -> None:
    """``request_finished`` receiver: lines after the request (the server's) carry no stale id."""
    _request_id.set(None)
