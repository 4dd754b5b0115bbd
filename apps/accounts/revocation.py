"""Access tokens of a deleted or deactivated account stop at once, without a query per request.

The database is the source of truth: ``User.tokens_revoked_at`` (every token issued up to then
is refused) and ``is_active``. The token check reads a copy in the shared cache (Redis): a mark
per revoked user, ``auth:revoked:<user id>`` = the cut-off (epoch seconds), kept as long as a
token issued before it can live (``ACCESS_TOKEN_LIFETIME``), and ``auth:revoked:loaded``, which
says the marks are all there. Each check is one ``MGET`` of those two keys:

- the marks are loaded (``loaded`` present): the user's mark decides;
- ``loaded`` is missing (Redis restarted or flushed, or ``ACCOUNT_REVOCATION_RELOAD_SECONDS``
  passed): the marks of every user revoked within a token's lifetime are written again from
  the database, one query for the whole deployment, then the mark decides. The reload also
  repairs a mark whose write was lost (Redis down at the revocation's commit). The
  notifications deployment cannot reload (no users table): the marks decide as they are, and
  the main deployment, sharing the Redis, reloads them on its next request;
- Redis does not answer: the check reads the user's row (one query per request while Redis is
  down; after a failure Redis is not asked again for THROTTLE_FAIL_OPEN_SECONDS, as the
  throttles do, so a hung Redis costs one timeout): a revoked token is never accepted. Without
  the users table (the notifications deployment has none) the request is
  ``503 revocation_unavailable``: fail closed.

Without Redis (``make run``: a per-process LocMemCache) the same marks live in each process's
memory: the process that revokes (the web process serving the deletion, or the admin's) refuses
the tokens at once, any other web process from its next reload (within
``ACCOUNT_REVOCATION_RELOAD_SECONDS``). Every shipped topology with more than one web process
has Redis.
"""

import logging
import time
from datetime import datetime, timedelta
from uuid import UUID

import redis
from django.conf import settings
from django.core.cache import caches
from django.db import DatabaseError, transaction
from django.utils import timezone
from rest_framework.exceptions import APIException

from apps.accounts.models import User
from apps.core.throttling import redis_pause, redis_paused

logger = logging.getLogger(__name__)

LOADED_KEY = "auth:revoked:loaded"
# Refused whatever its issue time: the account is inactive (or gone).
EVERY_TOKEN = 2**62


class RevocationUnavailable(APIException):
    status_code = 503
    default_code = "revocation_unavailable"
    default_detail = "Whether this token is still valid cannot be checked now; try again shortly."


def _key(user_id) -> str:
    return f"auth:revoked:{user_id}"


def _window() -> timedelta:
    # A token issued before the cut-off lives at most this long; a minute for clock skew.
    return settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"] + timedelta(minutes=1)


def _cache():
    return caches["default"]


def _cutoff(moment: datetime) -> int:
    return int(moment.timestamp())


def _from_db(user_id) -> int | None:
    if not settings.ACCOUNT_REVOCATION_FROM_DATABASE:
        raise RevocationUnavailable()
    try:
        row = User.objects.filter(pk=user_id).values_list("is_active", "tokens_revoked_at").first()
    except DatabaseError as exc:
        raise RevocationUnavailable() from exc
    if row is None or not row[0]:
        return EVERY_TOKEN
    return _cutoff(row[1]) if row[1] is not None else None


def _load() -> dict[str, int]:
    """Write every mark still needed from the database, then ``loaded``; returns the marks."""
    since = timezone.now() - _window()
    rows = User.objects.filter(tokens_revoked_at__gte=since).values_list("pk", "tokens_revoked_at")
    marks = {_key(pk): _cutoff(at) for pk, at in rows}
    timeout = int(_window().total_seconds())
    if marks:
        _cache().set_many(marks, timeout=timeout)
    _cache().set(LOADED_KEY, int(time.time()), timeout=settings.ACCOUNT_REVOCATION_RELOAD_SECONDS)
    return marks


def token_revoked(*, user_id, issued_at: int) -> bool:
    """Whether a token of ``user_id`` issued at ``issued_at`` (its ``iat``) is revoked."""
    try:
        user_id = UUID(str(user_id))
    except ValueError:
        return True
    key = _key(user_id)
    if redis_paused():
        cutoff = _from_db(user_id)
    else:
        try:
            values = _cache().get_many([LOADED_KEY, key])
            # The notifications deployment does not read the users table: there the marks
            # decide as they are, and the main deployment, sharing the Redis, reloads them.
            if LOADED_KEY not in values and settings.ACCOUNT_REVOCATION_FROM_DATABASE:
                values = _load()
            cutoff = values.get(key)
        except (redis.RedisError, OSError) as exc:
            # Logged once per outage (rate-limited with the throttles' warning).
            redis_pause("token_revocation", exc)
            cutoff = _from_db(user_id)
    return cutoff is not None and issued_at <= cutoff


def _mark(user_id, cutoff: int) -> None:
    try:
        _cache().set(_key(user_id), cutoff, timeout=int(_window().total_seconds()))
    except (redis.RedisError, OSError) as exc:
        # The database has it; the next reload (ACCOUNT_REVOCATION_RELOAD_SECONDS at most)
        # writes the mark, and until Redis answers again every check reads the database.
        logger.warning("accounts: revocation mark of %s not written (%r)", user_id, exc)


def user_tokens_revoke(*, user: User) -> None:
    """Refuse every token of ``user`` issued until now, from the commit of the caller's
    transaction on (the mark is written after commit; the row is written in it)."""
    now = timezone.now()
    User.objects.filter(pk=user.pk).update(tokens_revoked_at=now)
    user.tokens_revoked_at = now
    transaction.on_commit(lambda: _mark(user.pk, _cutoff(now)))
