"""Partner API authentication: ``Authorization: Api-Key <key>`` only, never a user's JWT."""

from django.apps import apps
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.throttling import SimpleRateThrottle
from rest_framework_api_key.models import AbstractAPIKey

from apps.core.api.keys import APIKeyAuthentication
from apps.core.throttling import RedisWindowMixin
from apps.partners.models import PartnerKey


class PartnerKeyAuthentication(APIKeyAuthentication):
    model = PartnerKey


def partner_authentication() -> type[BaseAuthentication]:
    """The key authentication of this deployment: the ratings app's own where it is installed
    (one class, so one security scheme in the OpenAPI document), else the one above."""
    if apps.is_installed("apps.ratings"):
        from apps.ratings.api.authentication import PartnerAPIKeyAuthentication

        return PartnerAPIKeyAuthentication
    return PartnerKeyAuthentication


class HasPartnerKey(BasePermission):
    message = "A partner API key is required."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, AbstractAPIKey)


class PartnerKeyThrottle(RedisWindowMixin, SimpleRateThrottle):
    """Requests per partner key (``THROTTLE_PARTNER``), counted under the key's id, whatever its IP."""

    scope = "partner"

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, AbstractAPIKey):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class PartnerKeyScheme(OpenApiAuthenticationExtension):
    target_class = PartnerKeyAuthentication
    # The same scheme as the invitation endpoint's (apps.ratings): one key, one definition.
    name = "PartnerApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`, a key issued by staff in the admin (Partner API keys).",
        }
