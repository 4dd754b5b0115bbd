"""OpenAPI components for the errors drf-standardized-errors cannot infer by itself."""

from functools import cache

from django.db import models
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from drf_standardized_errors.openapi import AutoSchema as StandardizedAutoSchema
from drf_standardized_errors.openapi_serializers import ClientErrorEnum
from rest_framework import serializers

from apps.core.errors import RequestTooLarge


class ErrorCode401Enum(models.TextChoices):
    AUTHENTICATION_FAILED = "authentication_failed"
    NOT_AUTHENTICATED = "not_authenticated"
    # simplejwt: a Bearer token that is malformed, expired, revoked or of the wrong type.
    TOKEN_NOT_VALID = "token_not_valid"


class ErrorCode413Enum(models.TextChoices):
    REQUEST_TOO_LARGE = RequestTooLarge.default_code


class Error401Serializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=ErrorCode401Enum.choices)
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ErrorResponse401Serializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    errors = Error401Serializer(many=True)


class Error413Serializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=ErrorCode413Enum.choices)
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ErrorResponse413Serializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    errors = Error413Serializer(many=True)


def _example(name: str, status_code: int, code: str, detail: str) -> OpenApiExample:
    return OpenApiExample(
        name,
        value={"type": "client_error", "errors": [{"code": code, "detail": detail, "attr": None}]},
        response_only=True,
        status_codes=[str(status_code)],
    )


_EXAMPLES = [
    _example("TokenNotValid", 401, "token_not_valid", "Given token not valid for any token type"),
    _example("RequestTooLarge", 413, RequestTooLarge.default_code, str(RequestTooLarge.default_detail)),
]


class AutoSchema(StandardizedAutoSchema):
    """The package's schema, plus the 413 of operations that read a request body."""

    def _should_add_error_response(self, responses: dict, status_code: str) -> bool:
        if status_code == "413" and self.method not in ("POST", "PUT", "PATCH"):
            return False
        return super()._should_add_error_response(responses, status_code)

    def _get_examples(self, serializer, direction, media_type, status_code=None, extras=None):
        codes = getattr(serializer, "error_codes", None)
        if direction != "response" or codes is None:
            return super()._get_examples(serializer, direction, media_type, status_code, extras)
        # A response declared with its own codes (``conflict_response``…) shows only the
        # package's examples of those codes, not every example of its status.
        examples = [e for e in self._get_error_response_examples() if e.value["errors"][0]["code"] in codes]
        return SpectacularAutoSchema._get_examples(
            self, serializer, direction, media_type, status_code, (extras or []) + examples
        )

    def _get_error_response_examples(self) -> list[OpenApiExample]:
        allowed = set(self._get_allowed_error_status_codes())
        own = [example for example in _EXAMPLES if allowed.intersection(example.status_codes)]
        return super()._get_error_response_examples() + own


@cache
def _error_response(name: str, codes: tuple[str, ...]) -> type[serializers.Serializer]:
    error = type(
        f"{name}Error",
        (serializers.Serializer,),
        {
            "code": serializers.ChoiceField(choices=[(c, c) for c in codes]),
            "detail": serializers.CharField(),
            "attr": serializers.CharField(allow_null=True),
        },
    )
    return type(
        f"{name}ErrorResponse",
        (serializers.Serializer,),
        {
            "type": serializers.ChoiceField(choices=ClientErrorEnum.choices),
            "errors": error(many=True),
            "error_codes": codes,
        },
    )


def conflict_response(*codes: str) -> OpenApiResponse:
    name = "".join(part.title() for code in codes for part in code.split("_"))
    return OpenApiResponse(_error_response(name, codes), description="Conflict: " + ", ".join(codes))


def unauthorized_response(*codes: str) -> OpenApiResponse:
    """The 401 of a view without authentication classes (the package documents none for it)."""
    name = "".join(part.title() for code in codes for part in code.split("_"))
    return OpenApiResponse(_error_response(name, codes), description="Unauthorized: " + ", ".join(codes))


def unprocessable_response(*codes: str) -> OpenApiResponse:
    name = "".join(part.title() for code in codes for part in code.split("_"))
    return OpenApiResponse(_error_response(name, codes), description="Unprocessable: " + ", ".join(codes))
