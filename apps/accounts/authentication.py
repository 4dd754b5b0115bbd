from types import SimpleNamespace

from drf_spectacular.authentication import SessionScheme
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.drainage import set_override
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import aware_utcnow

from apps.accounts.revocation import token_revoked
from apps.core.db.page_queries import row_by_pk

# Tokens whose signature and claims were verified, by their bytes and the keys they were
# verified with: the same bytes verify the same way under the same keys, so a client's next
# request skips the signature check and the claims' decoding. Only the expiry moves with time,
# and it is checked on every use. Bounded: full, it starts again (a cache, never the truth).
_VERIFIED_MAX = 1024
_verified: dict[tuple, Token] = {}


def _verification_key(raw_token) -> tuple:
    return (
        raw_token,
        api_settings.SIGNING_KEY,
        api_settings.VERIFYING_KEY,
        api_settings.ALGORITHM,
        api_settings.AUDIENCE,
        api_settings.ISSUER,
        tuple(api_settings.AUTH_TOKEN_CLASSES),
    )


class RevocationCheckMixin:
    """Refuses a token revoked by its account's deletion or deactivation (``revocation``):
    one Redis read, no database query, on every Bearer request."""

    def _verified_token(self, raw_token) -> Token:
        key = _verification_key(raw_token)
        token = _verified.get(key)
        if token is not None:
            try:
                token.check_exp(current_time=aware_utcnow())
                return token
            except TokenError:
                _verified.pop(key, None)  # simplejwt's own check below says why, as it always has
        token = super().get_validated_token(raw_token)
        if len(_verified) >= _VERIFIED_MAX:
            _verified.clear()
        _verified[key] = token
        return token

    def get_validated_token(self, raw_token):
        token = self._verified_token(raw_token)
        user_id = token.get(api_settings.USER_ID_CLAIM)
        issued_at = token.get("iat")
        if not isinstance(issued_at, int) or token_revoked(user_id=user_id, issued_at=issued_at):
            raise InvalidToken({"detail": "Token is revoked.", "code": "token_not_valid"})
        return token


class JWTAuthentication(RevocationCheckMixin, authentication.JWTAuthentication):
    """simplejwt's Bearer authentication, loading the user's customer and provider profiles in
    the same query, so role permissions (``IsCustomer``, ``IsProvider``) and the views behind
    them cost no further query. Token checks (signature, expiry, active user, revocation) are
    simplejwt's own: only the user lookup it performs is given ``select_related``.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        users = self.user_model
        self.user_model = SimpleNamespace(objects=_UserLookup(users), DoesNotExist=users.DoesNotExist)


class _UserLookup:
    """What simplejwt's ``get_user`` asks of the users' manager (``get(id=...)``): the user and
    both profiles by a statement compiled once per worker (``row_by_pk``), not per request."""

    def __init__(self, users) -> None:
        self.users = users

    def get(self, **lookup):
        with_profiles = self.users.objects.select_related("customer", "provider")
        (field, value), *others = lookup.items()
        if others or field not in ("id", "pk"):
            return with_profiles.get(**lookup)
        user = row_by_pk(with_profiles, value)
        if user is None:
            raise self.users.DoesNotExist
        return user


JWT_SCHEME_DESCRIPTION = (
    "`Authorization: Bearer <access token>`: the `access` token of `POST /api/v1/auth/token/` "
    "(valid JWT_ACCESS_MINUTES; renew it with `POST /api/v1/auth/token/refresh/`). One token "
    "for every operation, whichever deployment serves it."
)


class JWTAuthenticationScheme(SimpleJWTScheme):
    """The OpenAPI security scheme of simplejwt's authentication, for this subclass too."""

    target_class = JWTAuthentication

    def get_security_definition(self, auto_schema):
        return {**super().get_security_definition(auto_schema), "description": JWT_SCHEME_DESCRIPTION}


class JWTStatelessAuthentication(RevocationCheckMixin, authentication.JWTStatelessUserAuthentication):
    """simplejwt's stateless Bearer authentication: the token is verified (signature, expiry,
    not revoked) and ``request.user`` is a ``TokenUser`` carrying its ``user_id``; no users
    query. For hot reads that need nothing but the caller's id (the inbox, its stream)."""


class JWTStatelessAuthenticationScheme(JWTAuthenticationScheme):
    """The same scheme as every other Bearer operation: the client sends the same token, so the
    document must not make it pick between two schemes (Swagger UI sends a token only for the
    scheme it was entered under). That the inbox does not load the user is server business."""

    target_class = JWTStatelessAuthentication


# Both classes register the one "jwtAuth" component on purpose; tell drf-spectacular that the
# shared name is not an accident.
set_override(JWTStatelessAuthentication, "suppress_collision_warning", True)


class DescribedSessionScheme(SessionScheme):
    """The session cookie, described."""

    priority = 1

    def get_security_definition(self, auto_schema):
        return {
            **super().get_security_definition(auto_schema),
            "description": (
                "The Django session of a signed-in staff member (the admin and the browsable "
                "API); unsafe methods also need the CSRF token. API clients use the Bearer token."
            ),
        }
