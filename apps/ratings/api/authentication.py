"""Authentication of partner systems by a staff-issued API key (``Authorization: Api-Key <key>``).

djangorestframework-api-key stores only a hash of each key and offers it as a permission;
this thin authentication class puts the key on ``request.auth`` so a view knows which partner
called, and documents the scheme in the OpenAPI schema.
"""

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework_api_key.permissions import KeyParser

from apps.ratings.models import PartnerAPIKey


class PartnerAPIKeyAuthentication(BaseAuthentication):
    keyword = KeyParser.keyword

    def authenticate(self, request):
        key = KeyParser().get(request)
        if not key:
            return None
        try:
            api_key = PartnerAPIKey.objects.get_from_key(key)
        except PartnerAPIKey.DoesNotExist:
            raise AuthenticationFailed("Invalid API key.") from None
        if api_key.has_expired:
            raise AuthenticationFailed("This API key has expired.")
        return AnonymousUser(), api_key

    def authenticate_header(self, request) -> str:
        return self.keyword


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
