"""Authentication of partner systems by a staff-issued API key (``Authorization: Api-Key <key>``),
and its scheme in the OpenAPI document."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.permissions import BasePermission

from apps.core.api.keys import APIKeyAuthentication
from apps.ratings.models import PartnerAPIKey


class PartnerAPIKeyAuthentication(APIKeyAuthentication):
    model = PartnerAPIKey


class HasPartnerAPIKey(BasePermission):
    message = "A partner API key is required."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, PartnerAPIKey)


class PartnerAPIKeyScheme(OpenApiAuthenticationExtension):
    target_class = PartnerAPIKeyAuthentication
    name = "PartnerApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`, a key issued by staff in the admin (Partner API keys).",
        }
