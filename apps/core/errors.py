"""Error handling outside the views: the DRF exception handler and Django's error views, so
that every error, wherever it is raised, answers in the one shape."""

import logging
import sys

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent, TooManyFilesSent
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from drf_standardized_errors.handler import ExceptionHandler as StandardizedExceptionHandler
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework_simplejwt.exceptions import DetailDictMixin


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"
    default_detail = "The request body is larger than the server accepts."


TOO_MANY_FIELDS_DETAIL = "The request has more parameters than the server accepts."

logger = logging.getLogger(__name__)

# What a client waits before retrying a request the database could not complete: a lost
# connection is replaced on the next request, a failover takes seconds.
DATABASE_RETRY_AFTER_SECONDS = 2


class DatabaseUnavailable(exceptions.APIException):
    """The database connection failed under the request (lost, terminated, failover).

    Nothing the request wrote was committed unless the loss came after the commit itself;
    a retry with the same ``Idempotency-Key`` replays the committed result in that case and
    performs the write otherwise, so it happens exactly once.
    """

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "database_unavailable"
    default_detail = "The database did not complete the request. Retry it (with the same Idempotency-Key)."
    # drf-standardized-errors turns ``wait`` into the Retry-After header.
    wait = DATABASE_RETRY_AFTER_SECONDS


def _database_unavailable(exc: BaseException | None) -> bool:
    # OperationalError: the connection was lost or terminated, a failover, a statement or lock
    # timeout; InterfaceError: the connection was already closed when used. Neither is the
    # request's fault nor permanent. Integrity and data errors stay 500s: those are bugs.
    return isinstance(exc, OperationalError | InterfaceError)


def _security_log(exc: SuspiciousOperation, request, status_code: int) -> None:
    # What Django logs for a SuspiciousOperation it answers itself, so alerts on
    # ``django.security.*`` see these too.
    logging.getLogger(f"django.security.{exc.__class__.__name__}").error(
        str(exc), exc_info=exc, extra={"status_code": status_code, "request": request}
    )


class ExceptionHandler(StandardizedExceptionHandler):
    """drf-standardized-errors' handler, with the exceptions it would render badly mapped first.

    - Django's request size limits (``DATA_UPLOAD_MAX_MEMORY_SIZE``,
      ``DATA_UPLOAD_MAX_NUMBER_FIELDS``) are raised lazily from ``request.data`` and
      ``request.query_params`` inside the view, where the package would make them a 500.
    - simplejwt's exceptions carry a dict (``detail``, ``code``, ``messages`` with the token
      classes tried), which the formatter would list as one error per key: one error with the
      message and the exception's code is what the API documents.
    """

    def convert_known_exceptions(self, exc: Exception) -> Exception:
        if _database_unavailable(exc):
            logger.warning("database unavailable during the request: %s", exc, exc_info=exc)
            return DatabaseUnavailable()
        if isinstance(exc, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):
            if isinstance(exc, RequestDataTooBig):
                converted = RequestTooLarge()
            else:
                converted = exceptions.ParseError(TOO_MANY_FIELDS_DETAIL)
            _security_log(exc, getattr(self.context.get("request"), "_request", None), converted.status_code)
            return converted
        if isinstance(exc, DetailDictMixin) and isinstance(exc.detail, dict) and "detail" in exc.detail:
            message = exc.detail["detail"]
            single = exceptions.AuthenticationFailed(str(message), code=getattr(message, "code", exc.default_code))
            single.status_code = exc.status_code
            # Set on the raised exception by APIView.handle_exception (the WWW-Authenticate header).
            single.auth_header = getattr(exc, "auth_header", None)
            return single
        return super().convert_known_exceptions(exc)


def _error(status: int, code: str, detail: str, type_: str = "client_error") -> JsonResponse:
    return JsonResponse({"type": type_, "errors": [{"code": code, "detail": detail, "attr": None}]}, status=status)


def not_found(request, exception=None):
    return _error(404, "not_found", "Not found.")


def server_error(request):
    # Django calls handler500 inside its ``except`` block: a database failure raised outside a
    # DRF view (a middleware's query) answers as it does inside one.
    if _database_unavailable(sys.exc_info()[1]):
        response = _error(
            503, DatabaseUnavailable.default_code, str(DatabaseUnavailable.default_detail), type_="server_error"
        )
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response
    return _error(500, "error", "A server error occurred.", type_="server_error")


def bad_request(request, exception=None):
    # Django sends every SuspiciousOperation raised outside a DRF view here (it has logged it).
    if isinstance(exception, RequestDataTooBig):
        return _error(413, RequestTooLarge.default_code, str(RequestTooLarge.default_detail))
    if isinstance(exception, TooManyFieldsSent | TooManyFilesSent):
        return _error(400, "parse_error", TOO_MANY_FIELDS_DETAIL)
    return _error(400, "bad_request", "Bad request.")


def permission_denied(request, exception=None):
    return _error(403, "permission_denied", "You do not have permission to perform this action.")


def method_not_allowed(request, allow: str) -> JsonResponse:
    response = _error(405, "method_not_allowed", f'Method "{request.method}" not allowed.')
    if allow:
        response["Allow"] = allow
    return response


class ApiErrorShapeMiddleware:
    """Makes Django's own error responses under ``/api/`` answer in the one error shape.

    The DRF views answer their errors through the exception handler, and handler400/403/404/500
    cover the rest, except where Django bypasses them: with DEBUG on, a URL that resolves to
    nothing is ``technical_404_response`` (an HTML page listing every URL pattern) and an
    exception outside a DRF view (a middleware, ``APPEND_SLASH`` on a POST) is the HTML
    traceback page, whatever the client accepts. Rewriting the finished response, rather than
    catching the exception, leaves Django's logging and ``got_request_exception`` (error
    reporting) as they are; DRF responses are left alone (the browsable API renders its errors
    as HTML on purpose). It lives here, not in ``middleware.py``, which the logging
    configuration imports before the apps are loaded.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and request.path_info.startswith("/api/")
            and not isinstance(response, Response)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return self._shaped(request, response) or response
        return response

    @staticmethod
    def _shaped(request, response) -> JsonResponse | None:
        status_code = response.status_code
        if status_code == 404:
            return not_found(request)
        if status_code == 405:
            return method_not_allowed(request, response.get("Allow", ""))
        if status_code == 403:
            return permission_denied(request)
        if status_code == 400:
            return bad_request(request)
        if status_code >= 500:
            shaped = server_error(request)
            shaped.status_code = status_code
            return shaped
        return None
