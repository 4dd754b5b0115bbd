"""The domain error contract: every business rule violation is an ``ApplicationError``.

drf-standardized-errors renders these (and every other exception) in the one error shape
``{"type", "errors": [{"code", "detail", "attr"}]}``.
"""

from rest_framework import status
from rest_framework.exceptions import APIException


class ApplicationError(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"
    default_detail = "The request could not be processed."

    def __init__(self, detail: str | None = None, code: str | None = None):
        super().__init__(detail=detail or self.default_detail, code=code or self.default_code)


class Conflict(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "The request conflicts with the current state of the resource."


class AlreadyExists(Conflict):
    default_code = "already_exists"
    default_detail = "An object with these values already exists."


class NotFound(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"
    default_detail = "Not found."


class PermissionDenied(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "permission_denied"
    default_detail = "You do not have permission to perform this action."
