"""OpenAPI components for the errors drf-standardized-errors cannot infer by itself."""

import re
from functools import cache

from django.db import models
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from drf_standardized_errors.handler import exception_handler as standardized_errors_handler
from drf_standardized_errors.openapi import AutoSchema as StandardizedAutoSchema
from drf_standardized_errors.openapi_serializers import ClientErrorEnum, ServerErrorEnum
from drf_standardized_errors.openapi_utils import (
    InputDataField,
    get_flat_serializer_fields,
    get_serializer_fields_with_error_codes,
)
from inflection import camelize
from rest_framework import serializers
from rest_framework.exceptions import APIException

from apps.core.errors import DatabaseUnavailable, RequestTooLarge
from apps.core.pagination import PAGE_SIZE_ERROR_CODES, PAGE_SIZE_PARAMETER


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


def raises(*exceptions: type[APIException]):
    """Document the domain errors a view method raises: each class's status and code are
    added to that operation's error responses (400 ones to its ``client_error`` variant)."""

    def decorate(func):
        func.raises = (*getattr(func, "raises", ()), *exceptions)
        return func

    return decorate


# The codes DRF itself gives each status; a documented response keeps them next to the
# domain codes of ``raises``.
_DEFAULT_CODES = {"400": ("parse_error",), "403": ("permission_denied",), "404": ("not_found",)}


class AutoSchema(StandardizedAutoSchema):
    """The package's schema, plus what it cannot infer by itself:

    - the 413 of operations that read a request body;
    - the domain errors of ``@raises`` (403 ``cannot_report_own_rating``, 400
      ``invalid_idempotency_key``…) with their codes;
    - the 400 ``validation_error`` of query parameters read by a serializer
      (``parameters=[SomeQuery]``) and of the paginator's ``page_size``;
    - the 400 ``validation_error`` and 413 of a DELETE that reads a request body.
    """

    def _raised(self) -> dict[str, tuple[str, ...]]:
        handler = getattr(self.view, self.method.lower(), None)
        codes: dict[str, set[str]] = {}
        for exc in getattr(handler, "raises", ()):
            codes.setdefault(str(exc.status_code), set()).add(exc.default_code)
        return {status: tuple(sorted(set(_DEFAULT_CODES.get(status, ())) | c)) for status, c in codes.items()}

    def _query_serializers(self) -> list[serializers.Serializer]:
        if self.method != "GET":
            return []
        found = []
        for parameter in self.get_override_parameters():
            if isinstance(parameter, type) and issubclass(parameter, serializers.Serializer):
                found.append(parameter())
            elif isinstance(parameter, serializers.Serializer):
                found.append(parameter)
        return found

    def _deletes_with_body(self) -> bool:
        # drf-spectacular and the package document request bodies of POST, PUT and PATCH only;
        # a view whose DELETE reads one (account deletion's password) says so with
        # ``delete_reads_body = True``, and gets the body, its 400 validation_error and 413.
        return self.method == "DELETE" and getattr(self.view, "delete_reads_body", False)

    def _get_request_body(self, direction="request"):
        if not self._deletes_with_body():
            return super()._get_request_body(direction)
        method, self.method = self.method, "POST"
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = method

    def _paginates(self) -> bool:
        return self.method == "GET" and self._is_list_view() and self._get_paginator() is not None

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        allowed = set(self._get_allowed_error_status_codes())
        for status, codes in self._raised().items():
            if status not in allowed and status not in responses:
                name = camelize(self.get_operation_id()) + status
                responses[status] = self._get_response_for_code(_error_response(name, codes), status)
        return responses

    def _should_add_error_response(self, responses: dict, status_code: str) -> bool:
        if status_code == "413" and self.method not in ("POST", "PUT", "PATCH") and not self._deletes_with_body():
            return False
        if status_code in self._raised() and status_code not in responses:
            return self.view.get_exception_handler() is standardized_errors_handler
        return super()._should_add_error_response(responses, status_code)

    def _should_add_validation_error_response(self) -> bool:
        return (
            bool(self._query_serializers())
            or self._paginates()
            or self._deletes_with_body()
            or super()._should_add_validation_error_response()
        )

    def _determine_fields_with_error_codes(self):
        fields = super()._determine_fields_with_error_codes()
        if self._deletes_with_body():
            fields = get_serializer_fields_with_error_codes(get_flat_serializer_fields(self.get_request_serializer()))
        for query in self._query_serializers():
            fields.extend(get_serializer_fields_with_error_codes(get_flat_serializer_fields(query)))
        if self._paginates():
            fields.append(InputDataField(PAGE_SIZE_PARAMETER, serializers.IntegerField(), set(PAGE_SIZE_ERROR_CODES)))
        return fields

    def _get_error_response_serializer(self, status_code: str):
        raised = self._raised().get(status_code)
        if raised and status_code != "400":
            return _error_response(camelize(self.get_operation_id()) + status_code, raised)
        return super()._get_error_response_serializer(status_code)

    def _get_http400_serializer(self):
        raised = self._raised().get("400")
        serializer = super()._get_http400_serializer()
        if raised:
            # The package's client_error variant knows parse_error only.
            name = camelize(self.get_operation_id()) + "ClientError"
            serializer.serializers[ClientErrorEnum.CLIENT_ERROR.value] = _error_response(name, raised)
        return serializer

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
def _error_response(name: str, codes: tuple[str, ...], types=ClientErrorEnum) -> type[serializers.Serializer]:
    # The "ErrorComponent" suffix keeps the enum post-processing hook from turning each code
    # list into a shared enum component (code lists differ per operation by design).
    error = type(
        f"{name}ErrorComponent",
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
            "type": serializers.ChoiceField(choices=types.choices),
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


def database_unavailable_response() -> OpenApiResponse:
    """The 503 of a write whose database connection failed mid-flight (``Retry-After`` is sent)."""
    code = DatabaseUnavailable.default_code
    return OpenApiResponse(
        _error_response("DatabaseUnavailable", (code,), ServerErrorEnum),
        description=(
            f"Service unavailable: {code}. Nothing was written, or the write committed just before the "
            "connection was lost: retry after the `Retry-After` seconds with the same `Idempotency-Key`, "
            "which performs the write or replays its answer, so it happens once."
        ),
    )


def postprocess_indexed_attrs(result, generator, **kwargs):
    """Make the documented ``attr`` of list items match what the API sends.

    drf-standardized-errors documents an error on the 4th item of ``services`` as the literal
    ``attr: services.INDEX`` (an enum) and selects the error component with a discriminator on
    ``attr``; the API sends ``services.3``. Such attrs become a pattern, and an error union
    that holds one is left without the discriminator (its members stay mutually exclusive by
    their attr enum or pattern, so ``oneOf`` still selects exactly one).
    """
    schemas = result.get("components", {}).get("schemas", {})
    indexed = set()
    for name, schema in schemas.items():
        attr = schema.get("properties", {}).get("attr", {})
        values = attr.get("enum") or []
        if len(values) == 1 and ".INDEX" in str(values[0]):
            parts = [r"\d+" if part == "INDEX" else re.escape(part) for part in values[0].split(".")]
            attr.pop("enum")
            attr.pop("description", None)
            attr["pattern"] = "^" + r"\.".join(parts) + "$"
            indexed.add(f"#/components/schemas/{name}")
    for schema in schemas.values():
        mapping = schema.get("discriminator", {}).get("mapping", {})
        if indexed.intersection(mapping.values()):
            schema.pop("discriminator")
    return result


def postprocess_bearer_first(result, generator, **kwargs):
    """List the Bearer token first among the security schemes.

    drf-spectacular sorts them by name (``PartnerApiKey``, ``cookieAuth``, ``jwtAuth``); Swagger
    UI's Authorize dialog shows them in the document's order, and most readers need the Bearer
    token, so it leads. The others keep their order.
    """
    schemes = result.get("components", {}).get("securitySchemes")
    if schemes and "jwtAuth" in schemes:
        result["components"]["securitySchemes"] = {"jwtAuth": schemes["jwtAuth"]} | {
            name: scheme for name, scheme in schemes.items() if name != "jwtAuth"
        }
    return result
