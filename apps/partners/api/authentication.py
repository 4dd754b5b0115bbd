"""Partner API authentication: ``Authorization: Api-Key <key>`` only, never a user's JWT."""

from django.apps import apps
from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.throttling import SimpleRateThrottle
from rest_framework_api_key.models import AbstractAPIKey
from rest_framework_api_key.permissions import KeyParser

from apps.core.throttling import RedisWindowMixin
from apps.partners.models import PartnerKey


class PartnerKeyAuthentication(BaseAuthentication):
    keyword = KeyParser.keyword

    def authenticate(self, request):
        key = KeyParser().get(request)
        if not key:
            return None
        try:
            # Revoked keys are not usable: get_from_key() does not find them.
            api_key = PartnerKey.objects.get_from_key(key)
        except PartnerKey.DoesNotExist:
            raise AuthenticationFailed("Invalid API key.") from None
        if api_key.has_expired:
            raise AuthenticationFailed("This API key has expired.")
        return AnonymousUser(), api_key

    def authenticate_header(self, request) -> str:
        # A 401 (not a 403) for a request without a key, with the scheme to use.
        return self.keyword


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
