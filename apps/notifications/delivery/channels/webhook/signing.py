"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

Signed content is ``{webhook-id}.{webhook-timestamp}.{body}``, HMAC-SHA256 with the secret's
key bytes (base64 after ``whsec_``), sent as ``v1,<base64>``. The ``standardwebhooks`` package
verifies; its ``Webhook.sign`` takes a single secret and a datetime, while rotation needs one
signature per active secret over the exact bytes sent, so signing is these few lines here and
the package is kept as the independent verifier in the tests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as _secrets
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"
_SECRET_BYTES = 32


def generate_secret() -> str:
    """Return a new signing secret, ``whsec_`` + base64 of 32 random bytes; shown to its owner once."""
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(_SECRET_BYTES)).decode("ascii")


def _secret_key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except ValueError as exc:
        raise ValueError("webhook secret is not valid base64 after 'whsec_'") from exc
    if not key:
        raise ValueError("webhook secret is empty")
    return key


def sign(*, msg_id: str, timestamp: int, body: bytes, secrets: Sequence[str]) -> str:
    """Return the ``webhook-signature`` value: ``v1,<b64>`` per secret, space-separated.

    Pass the current secret first and, during a rotation grace period, the previous one too:
    a receiver still configured with either accepts the request.
    """
    if not secrets:
        raise ValueError("at least one secret is required")
    signed = f"{msg_id}.{int(timestamp)}.".encode() + body
    signatures = []
    for secret in secrets:
        digest = hmac.new(_secret_key(secret), signed, hashlib.sha256).digest()
        signatures.append("v1," + base64.b64encode(digest).decode("ascii"))
    return " ".join(signatures)


def webhook_headers(*, msg_id: str, timestamp: int, body: bytes, secrets: Sequence[str]) -> dict[str, str]:
    """Headers of one signed webhook request.

    ``msg_id`` must be stable across retries of the same event (DESIGN.md §3: the event id) so
    receivers can deduplicate; ``timestamp`` is the Unix time of this attempt, since receivers
    reject timestamps more than a few minutes off.
    """
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": sign(msg_id=msg_id, timestamp=timestamp, body=body, secrets=secrets),
        "content-type": "application/json",
    }
