from types import SimpleNamespace

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt import authentication


class JWTAuthentication(authentication.JWTAuthentication):
    """simplejwt's Bearer authentication, loading the user's customer and provider profiles in
    the same query, so role permissions (``IsCustomer``, ``IsProvider``) and the views behind
    them cost no further query. Token checks (signature, expiry, active user, revocation) are
    simplejwt's own: only the user lookup it performs is given ``select_related``.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        users = self.user_model
        self.user_model = SimpleNamespace(
            objects=users.objects.select_related("customer", "provider"), DoesNotExist=users.DoesNotExist
        )


class JWTAuthenticationScheme(SimpleJWTScheme):
    """The OpenAPI security scheme of simplejwt's authentication, for this subclass too."""

    target_class = JWTAuthentication


class JWTStatelessAuthentication(authentication.JWTStatelessUserAuthentication):
    """simplejwt's stateless Bearer authentication: the token is verified (signature, expiry)
    and ``request.user`` is a ``TokenUser`` carrying its ``user_id``; no users query. For hot
    reads that need nothing but the caller's id (the inbox)."""


class JWTStatelessAuthenticationScheme(SimpleJWTScheme):
    """Its own OpenAPI name: the document shows which operations do not load the user."""

    target_class = JWTStatelessAuthentication
    name = "jwtStatelessAuth"
