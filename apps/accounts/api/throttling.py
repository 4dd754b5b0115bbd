"""Brute-force limits on ``POST /api/v1/auth/token/``, checked before the password is hashed.

Every sign-in attempt is counted up front, per account (the normalised email) and per client
IP, so parallel guesses cannot all slip past a check-then-count; a successful sign-in then
gives its count back (``refund``), so only failed attempts use up the limit and a user is
never locked out by their own sign-ins. Counting happens before authentication because the
password hash is the cost being protected (~0.4 s of CPU per guess in production).
"""

import contextlib
import hashlib

import redis
from django.core.cache.backends.redis import RedisCache
from rest_framework import throttling

from apps.accounts.emails import email_lookup_form
from apps.core.throttling import RedisWindowMixin, UserRateThrottle, _backend

# Decrements only a live counter: once the window has expired, a plain DECR would create a
# key at -1 with no TTL, a standing extra attempt for the next window.
_REFUND = "if redis.call('exists', KEYS[1]) == 1 then return redis.call('decr', KEYS[1]) end return 0"


class LoginThrottleMixin(RedisWindowMixin):
    def refund(self) -> None:
        """Give back the attempt this request counted (it signed in)."""
        key = getattr(self, "key", None)
        if key is None:
            return
        backend = _backend(self.cache)
        if isinstance(backend, RedisCache):
            full_key = backend.make_and_validate_key(key)
            # Redis gone since the count: the success stays counted until the window ends at
            # worst, and the throttle fails open meanwhile.
            with contextlib.suppress(redis.RedisError):
                backend._cache.get_client(full_key, write=True).eval(_REFUND, 1, full_key)
            return
        history = self.cache.get(key, [])
        if self.now in history:
            history.remove(self.now)
            self.cache.set(key, history, self.duration)


class LoginAccountThrottle(LoginThrottleMixin, throttling.SimpleRateThrottle):
    """``THROTTLE_LOGIN_ACCOUNT``: failed sign-ins per account, from any IP and with any password."""

    scope = "login_account"

    def get_cache_key(self, request, view):
        email = request.data.get("email") if hasattr(request.data, "get") else None
        if not isinstance(email, str) or not email.strip():
            return None  # The serializer refuses it (400) without hashing anything.
        # Normalised as the serializer does, so ``ANN@example.com`` is the same account; hashed
        # so no address is stored in the cache in clear.
        ident = hashlib.sha256(email_lookup_form(email).encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}


class LoginIPThrottle(LoginThrottleMixin, throttling.SimpleRateThrottle):
    """``THROTTLE_LOGIN_IP``: failed sign-ins per client IP (``NUM_PROXIES`` aware), any account."""

    scope = "login_ip"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class PasswordChangeThrottle(UserRateThrottle):
    """``THROTTLE_PASSWORD_CHANGE``: password change attempts per user, right or wrong; a
    stolen access token must not be a way to guess the current password."""

    scope = "password_change"


def _email_ident(email: str) -> str:
    # Hashed so no address is stored in the cache in clear; any letter case is one address.
    return hashlib.sha256(email_lookup_form(email).encode()).hexdigest()


class AccountEmailThrottle(RedisWindowMixin, throttling.SimpleRateThrottle):
    """``THROTTLE_ACCOUNT_EMAIL``: password-reset and verification emails per address, from any
    IP, so nobody can flood a mailbox. The address is the body's ``email`` (reset request) or
    the signed-in user's own (verification resend). Every request counts, whether or not the
    address has an account: a refusal must not tell either."""

    scope = "account_email"

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            email = request.user.email
        else:
            email = request.data.get("email") if hasattr(request.data, "get") else None
        if not isinstance(email, str) or not email.strip():
            return None  # The serializer refuses it (400) and nothing is sent.
        return self.cache_format % {"scope": self.scope, "ident": _email_ident(email)}


class AccountEmailIPThrottle(RedisWindowMixin, throttling.SimpleRateThrottle):
    """``THROTTLE_ACCOUNT_EMAIL_IP``: those emails per client IP, whatever the address."""

    scope = "account_email_ip"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class SignUpEmailThrottle(AccountEmailThrottle):
    """The sign-ups (POST) of one address share ``THROTTLE_ACCOUNT_EMAIL`` with its reset and
    verification emails: a sign-up with an unclaimed address emails a claim link."""

    def allow_request(self, request, view) -> bool:
        if request.method != "POST":
            return True
        return super().allow_request(request, view)
