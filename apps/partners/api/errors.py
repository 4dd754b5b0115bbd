"""The partner API's error shape, ``{"status", "message", "details"?: [{"field", "error"}]}``.

It is the shape Homerun clients parse. Only the partner views use this handler (their
``get_exception_handler``); the rest of the API keeps ``{type, errors}``. Each error is first
rendered by the project's handler (size limits, logging of unexpected exceptions, 500s) and
then reworded, so both shapes say the same thing.
"""

from drf_standardized_errors.handler import exception_handler as standardized_exception_handler
from rest_framework import serializers
from rest_framework.response import Response

VALIDATION_MESSAGE = "The request is invalid."


def partner_exception_handler(exc, context):
    response = standardized_exception_handler(exc, context)
    if response is None:
        return None
    body = response.data
    errors = body.get("errors") or [{}]
    if body.get("type") == "validation_error":
        shaped = {
            "status": response.status_code,
            "message": VALIDATION_MESSAGE,
            "details": [{"field": e.get("attr") or "non_field_errors", "error": e.get("detail", "")} for e in errors],
        }
    else:
        shaped = {"status": response.status_code, "message": errors[0].get("detail") or "Error."}
    headers = {k: v for k, v in response.items() if k.lower() in ("www-authenticate", "retry-after", "allow")}
    return Response(shaped, status=response.status_code, headers=headers)


class PartnerErrorDetail(serializers.Serializer):
    field = serializers.CharField(help_text="The request field, `non_field_errors` for the body as a whole.")
    error = serializers.CharField()


class PartnerError(serializers.Serializer):
    status = serializers.IntegerField(help_text="The HTTP status code, repeated.")
    message = serializers.CharField()
    details = PartnerErrorDetail(many=True, required=False, help_text="Validation errors, one per field error.")
