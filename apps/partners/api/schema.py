"""OpenAPI for the partner views: their errors in the partner shape, every status documented."""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, extend_schema

from apps.partners.api.errors import PartnerError

_DESCRIPTIONS = {
    "400": "Invalid request: `details` lists each field error.",
    "401": "No, an unknown, a revoked or an expired partner API key (a user's JWT is not accepted).",
    "403": "The key lacks the scope this operation needs.",
    "404": "Not found.",
    "405": "Method not allowed.",
    "406": "The `Accept` header asks for a type the API does not serve.",
    "409": "Conflict with the current state.",
    "413": "The request body is larger than the server accepts.",
    "415": "The request body is not JSON.",
    "429": "Too many requests for this partner key (`THROTTLE_PARTNER`); see `Retry-After`.",
    "500": "Server error.",
}


class PartnerAutoSchema(AutoSchema):
    """drf-spectacular's schema (not drf-standardized-errors', whose error shape these views do
    not use) with the partner error responses every partner operation can give."""

    def _error_statuses(self) -> list[str]:
        statuses = ["401", "403", "406", "429", "500"]
        if self.method in ("POST", "PUT", "PATCH"):
            statuses += ["400", "413", "415"]
        if "{" in self.path:  # an id in the path may name nothing
            statuses.append("404")
        return statuses

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for status in self._error_statuses():
            if status not in responses:
                response = OpenApiResponse(PartnerError, description=_DESCRIPTIONS[status])
                responses[status] = self._get_response_for_code(response, status)
        return responses


def error(status: int, description: str | None = None) -> OpenApiResponse:
    return OpenApiResponse(PartnerError, description=description or _DESCRIPTIONS[str(status)])


def partner_operation(**kwargs):
    """``extend_schema`` for a partner view method, tagged ``partner``, on ``PartnerAutoSchema``.

    A method's ``extend_schema`` builds on ``DEFAULT_SCHEMA_CLASS`` unless the method names
    its own base schema, which would bring back the other error shape's responses and examples.
    """

    def decorate(func):
        func.schema = PartnerAutoSchema
        return extend_schema(tags=["partner"], **kwargs)(func)

    return decorate
