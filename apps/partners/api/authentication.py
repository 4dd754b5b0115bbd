"""Partner API authentication: ``Authorization: Api-Key <key>`` only, never a user's JWT.

A key belongs to a partner (``request.auth.partner``) and carries scopes; each view names the
scope each of its methods needs (``required_scopes``).
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.permissions import BasePermission
from rest_framework.throttling import SimpleRateThrottle

from apps.core.api.keys import APIKeyAuthentication
from apps.core.exceptions import PermissionDenied
from apps.core.throttling import RedisWindowMixin
from apps.partners.keys import partner_key_used
from apps.partners.models import ALL_SCOPES, PartnerKey


class PartnerKeyAuthentication(APIKeyAuthentication):
    model = PartnerKey

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            partner_key_used(key=result[1])
        return result


class HasPartnerKey(BasePermission):
    """A partner key with the scope the view's method needs (``required_scopes[method]``)."""

    message = "A partner API key is required."

    def has_permission(self, request, view) -> bool:
        if not isinstance(request.auth, PartnerKey):
            return False
        scope = getattr(view, "required_scopes", {}).get(request.method)
        if scope is not None and scope not in request.auth.scopes:
            raise PermissionDenied(f"This key lacks the scope {scope!r}.")
        return True


class PartnerKeyThrottle(RedisWindowMixin, SimpleRateThrottle):
    """Requests per partner key (``THROTTLE_PARTNER``), counted under the key's id, whatever its IP."""

    scope = "partner"

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, PartnerKey):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class PartnerKeyAccess:
    """A view for partner keys only (a user's JWT is a 401), throttled per key.
    ``required_scopes`` maps each HTTP method to the key scope it needs."""

    authentication_classes = [PartnerKeyAuthentication]
    permission_classes = [HasPartnerKey]
    throttle_classes = [PartnerKeyThrottle]
    required_scopes: dict[str, str] = {}


class PartnerKeyScheme(OpenApiAuthenticationExtension):
    target_class = PartnerKeyAuthentication
    name = "PartnerApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "`Api-Key <key>`: a key of one partner (a marketplace), issued by staff in the admin "
                "(Partners), shown once and stored hashed. A partner sees only what it created (and the "
                "providers staff granted it): anything else is a 404. Each key carries scopes ("
                + ", ".join(f"`{scope}`" for scope in ALL_SCOPES)
                + "); a call outside them is a 403. A revoked key, or a rotated one after its grace "
                "period, is a 401."
            ),
        }
