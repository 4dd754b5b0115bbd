"""``Authorization: Api-Key <key>`` authentication against a djangorestframework-api-key model.

The package stores only a hash of each key and offers it as a permission; this puts the key on
``request.auth``, so a view knows which key called. Subclasses name the model (the partner keys,
``apps.partners.models.PartnerKey``).
"""

from django.contrib.auth.models import AnonymousUser
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_api_key.models import AbstractAPIKey
from rest_framework_api_key.permissions import KeyParser


class APIKeyAuthentication(BaseAuthentication):
    model: type[AbstractAPIKey]
    keyword = KeyParser.keyword

    def authenticate(self, request):
        key = KeyParser().get(request)
        if not key:
            return None
        try:
            # Revoked keys are not usable: get_from_key() does not find them.
            api_key = self.model.objects.get_from_key(key)
        except self.model.DoesNotExist:
            raise AuthenticationFailed("Invalid API key.") from None
        if api_key.has_expired:
            raise AuthenticationFailed("This API key has expired.")
        return AnonymousUser(), api_key

    def authenticate_header(self, request) -> str:
        # A 401 (not a 403) for a request without a key, with the scheme to use.
        return self.keyword
