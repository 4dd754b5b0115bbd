"""Error handling outside the views: the DRF exception handler and Django's error views, so
that every error, wherever it is raised, answers in the one shape."""

import logging

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent, TooManyFilesSent
from django.http import JsonResponse
from drf_standardized_errors.handler import ExceptionHandler as StandardizedExceptionHandler
from rest_framework import exceptions, status
from rest_framework_simplejwt.exceptions import DetailDictMixin


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"
    default_detail = "The request body is larger than the server accepts."


TOO_MANY_FIELDS_DETAIL = "The request has more parameters than the server accepts."


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
