"""Partner keys: issue, rotate, revoke, and their use as staff see it.

Use is counted without a database write per request. On Redis (the production cache) each
authenticated request costs one pipelined round trip: ``HINCRBY`` of the key's request count
and ``HSET`` of its last use in one hash per key, and ``SADD`` of the key's id to a set of keys
used since the last flush. The ``partners.key_usage_flush`` task (beat, every
``PARTNER_KEY_USAGE_FLUSH_INTERVAL`` seconds) takes each hash atomically (``HGETALL`` + ``DEL``
in one ``MULTI``) and adds it to the key's row in one ``UPDATE``. On any other cache (locmem in
the embedded default, where no other process could see a counter) the row is updated at once.
"""

import logging
import time
from datetime import UTC, datetime, timedelta

import redis
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from apps.partners.models import ALL_SCOPES, Partner, PartnerKey

logger = logging.getLogger(__name__)

_USED_SET = "partners:keys:used"


def _hash_name(cache, key_id: str) -> str:
    return cache.make_and_validate_key(f"partners:key-use:{key_id}")


def _used_set(cache) -> str:
    return cache.make_and_validate_key(_USED_SET)


def partner_key_create(
    *, partner: Partner, name: str, scopes: list[str] | None = None, expiry_date: datetime | None = None
) -> tuple[PartnerKey, str]:
    """A new key for ``partner`` and its secret, which is never shown again (only a hash is kept)."""
    scopes = list(ALL_SCOPES) if scopes is None else scopes
    unknown = sorted(set(scopes) - set(ALL_SCOPES))
    if unknown:
        raise ValueError(f"Unknown scopes: {', '.join(unknown)}")
    return PartnerKey.objects.create_key(partner=partner, name=name, scopes=scopes, expiry_date=expiry_date)


@transaction.atomic
def partner_key_rotate(*, key: PartnerKey, grace: timedelta | None = None) -> tuple[PartnerKey, str]:
    """A successor of ``key`` (same partner, name and scopes) and its secret; the old secret keeps
    working until the grace period (``PARTNER_KEY_ROTATION_GRACE`` seconds by default) ends."""
    grace = timedelta(seconds=settings.PARTNER_KEY_ROTATION_GRACE) if grace is None else grace
    old = PartnerKey.objects.select_for_update().get(pk=key.pk)
    if old.revoked:
        raise ValueError("A revoked key cannot be rotated.")
    ends = timezone.now() + grace
    if old.expiry_date is None or old.expiry_date > ends:
        old.expiry_date = ends
        old.save(update_fields=["expiry_date"])
    new, secret = PartnerKey.objects.create_key(
        partner=old.partner, name=old.name, scopes=list(old.scopes), rotated_from=old
    )
    return new, secret


def partner_key_revoke(*, key: PartnerKey) -> None:
    """The key stops at once (its next request is a 401); this cannot be undone."""
    PartnerKey.objects.filter(pk=key.pk).update(revoked=True)


def _redis(cache):
    # One client for the set and the hashes: a flush reads them together in one transaction.
    return cache._cache.get_client(_used_set(cache), write=True)


# After a Redis failure this process stops counting for THROTTLE_FAIL_OPEN_SECONDS, as the
# throttles do: a Redis that hangs would otherwise cost every partner request a socket timeout,
# and the log a line per request. The pause only spares this process the waits, so it is kept
# in process memory.
_paused_until = 0.0


def partner_key_used(*, key: PartnerKey) -> None:
    """Count one request of ``key`` (see the module docstring). Losing a count to a Redis
    outage is accepted: the counts are for staff's eyes, never for billing or limits."""
    global _paused_until
    now = timezone.now()
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        PartnerKey.objects.filter(pk=key.pk).update(request_count=F("request_count") + 1, last_used_at=now)
        return
    if time.monotonic() < _paused_until:
        return
    try:
        pipeline = _redis(cache).pipeline(transaction=False)
        pipeline.hincrby(_hash_name(cache, key.pk), "count", 1)
        pipeline.hset(_hash_name(cache, key.pk), "last", now.timestamp())
        pipeline.sadd(_used_set(cache), key.pk)
        pipeline.execute()
    except redis.RedisError as exc:
        _paused_until = time.monotonic() + settings.THROTTLE_FAIL_OPEN_SECONDS
        logger.warning(
            "Partner key use not counted (%s: %s); not counting for %ss",
            type(exc).__name__,
            exc,
            settings.THROTTLE_FAIL_OPEN_SECONDS,
        )


def partner_key_usage_flush() -> int:
    """Add the counted use of every key to its row; returns how many keys were updated.

    Safe to run twice or concurrently: each hash is taken and deleted atomically, so a count is
    added once.
    """
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        return 0
    client = _redis(cache)
    updated = 0
    # Bounded by the keys used so far: a key used again meanwhile waits for the next flush.
    for _ in range(client.scard(_used_set(cache))):
        key_id = client.spop(_used_set(cache))
        if key_id is None:
            break
        key_id = key_id.decode() if isinstance(key_id, bytes) else key_id
        pipeline = client.pipeline(transaction=True)
        pipeline.hgetall(_hash_name(cache, key_id))
        pipeline.delete(_hash_name(cache, key_id))
        usage, _ = pipeline.execute()
        usage = {k.decode() if isinstance(k, bytes) else k: v for k, v in usage.items()}
        if not usage:
            continue
        last = datetime.fromtimestamp(float(usage["last"]), tz=UTC)
        updated += PartnerKey.objects.filter(pk=key_id).update(
            request_count=F("request_count") + int(usage["count"]),
            # GREATEST(NULL, x) is NULL on SQLite (PostgreSQL ignores NULLs), hence the Coalesce.
            last_used_at=Greatest(Coalesce(F("last_used_at"), Value(last)), Value(last)),
        )
    return updated
