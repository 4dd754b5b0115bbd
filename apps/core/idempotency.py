"""``Idempotency-Key`` support for POST endpoints.

The first successful (2xx) response is stored per (user, key) in the same transaction as the
write, and replayed verbatim for 24 hours. A key reused with a different request body is a
422 ``idempotency_key_reused``; it never silently returns another request's result.
"""

import hashlib
import json
from collections.abc import Callable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.exceptions import ApplicationError
from apps.core.models import IdempotencyKey
from apps.core.retention import Purge, purge_run

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255


class IdempotencyKeyReused(ApplicationError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was already used with a different request."


class InvalidIdempotencyKey(ApplicationError):
    default_code = "invalid_idempotency_key"
    default_detail = f"The Idempotency-Key header must be 1 to {MAX_KEY_LENGTH} printable characters."


def _fingerprint(request: Request) -> str:
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _find(*, user, key: str) -> IdempotencyKey | None:
    cutoff = timezone.now() - settings.IDEMPOTENCY_KEY_TTL
    return IdempotencyKey.objects.filter(user=user, key=key, created_at__gte=cutoff).first()


def _replay(record: IdempotencyKey, fingerprint: str) -> Response:
    if record.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    return Response(record.response_body, status=record.response_status, headers={REPLAY_HEADER: "true"})


def idempotent(request: Request, perform: Callable[[], Response]) -> Response:
    """Run ``perform`` at most once per ``Idempotency-Key`` for the requesting user."""
    key = request.headers.get(HEADER)
    if key is None:
        return perform()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidIdempotencyKey()

    fingerprint = _fingerprint(request)
    record = _find(user=request.user, key=key)
    if record is not None:
        return _replay(record, fingerprint)

    try:
        with transaction.atomic():
            # An expired record for this key would block the unique constraint.
            IdempotencyKey.objects.filter(user=request.user, key=key).delete()
            response = perform()
            if status.is_success(response.status_code):
                IdempotencyKey.objects.create(
                    user=request.user,
                    key=key,
                    method=request.method,
                    path=request.path[:255],
                    request_fingerprint=fingerprint,
                    response_status=response.status_code,
                    response_body=json.loads(JSONRenderer().render(response.data)),
                )
            return response
    except (IntegrityError, ApplicationError):
        # A concurrent request with the same key won the race: replay its response.
        record = _find(user=request.user, key=key)
        if record is None:
            raise
        return _replay(record, fingerprint)


# Past IDEMPOTENCY_KEY_TTL a record is never replayed (``_find``): nothing needs it.
IDEMPOTENCY_KEYS_PURGE = Purge(
    name="idempotency_keys",
    app_label="core",
    model=IdempotencyKey,
    order_column="created_at",
    condition="t.created_at < %s",
    retention=lambda: settings.IDEMPOTENCY_KEY_TTL,
)


def idempotency_keys_purge() -> int:
    """Delete records past their replay window, in batches; returns how many were removed."""
    return purge_run(IDEMPOTENCY_KEYS_PURGE).deleted
