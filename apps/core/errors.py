"""Django-level error views, so that URLs no DRF view handles still answer in the one shape."""

from django.http import JsonResponse


def _error(status: int, code: str, detail: str, type_: str = "client_error") -> JsonResponse:
    return JsonResponse({"type": type_, "errors": [{"code": code, "detail": detail, "attr": None}]}, status=status)


def not_found(request, exception=None):
    return _error(404, "not_found", "Not found.")


def server_error(request):
    return _error(500, "error", "A server error occurred.", type_="server_error")


def bad_request(request, exception=None):
    return _error(400, "bad_request", "Bad request.")


def permission_denied(request, exception=None):
    return _error(403, "permission_denied", "You do not have permission to perform this action.")
