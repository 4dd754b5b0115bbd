"""OpenAPI components for the domain errors drf-standardized-errors cannot infer by itself."""

from functools import cache

from drf_spectacular.utils import OpenApiResponse
from drf_standardized_errors.openapi_serializers import ClientErrorEnum
from rest_framework import serializers


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
        },
    )


def conflict_response(*codes: str) -> OpenApiResponse:
    name = "".join(part.title() for code in codes for part in code.split("_"))
    return OpenApiResponse(_error_response(name, codes), description="Conflict: " + ", ".join(codes))


def unprocessable_response(*codes: str) -> OpenApiResponse:
    name = "".join(part.title() for code in codes for part in code.split("_"))
    return OpenApiResponse(_error_response(name, codes), description="Unprocessable: " + ", ".join(codes))
