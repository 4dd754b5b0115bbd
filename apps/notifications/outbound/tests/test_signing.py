import base64
import json
import time

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from apps.notifications.delivery.channels.webhook import signing
from apps.notifications.outbound import http

BODY = json.dumps({"id": "evt_1", "type": "rating.created", "data": {"score": 5}}).encode()


def test_generate_secret_is_whsec_and_32_random_bytes():
    secret = signing.generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert secret != signing.generate_secret()


def _deliver(receiver, *, secrets, timestamp=None, msg_id="0b5e6f0e-1c1e-4b39-9a8f-6c1f0c6c2d11"):
    headers = signing.webhook_headers(
        msg_id=msg_id, timestamp=int(timestamp or time.time()), body=BODY, secrets=secrets
    )
    assert http.post(receiver.url(), body=BODY, headers=headers).status == 200
    return receiver.requests[-1]


def test_standardwebhooks_library_verifies_what_the_receiver_got(receiver):
    secret = signing.generate_secret()

    request = _deliver(receiver, secrets=[secret])

    assert Webhook(secret).verify(request.body, request.headers) == json.loads(BODY)
    assert request.headers["webhook-id"] == "0b5e6f0e-1c1e-4b39-9a8f-6c1f0c6c2d11"
    assert request.headers["content-type"] == "application/json"


def test_rotation_grace_sends_both_signatures_and_each_secret_verifies(receiver):
    new, old = signing.generate_secret(), signing.generate_secret()

    request = _deliver(receiver, secrets=[new, old])

    assert len(request.headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(request.body, request.headers)
    Webhook(old).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.generate_secret()).verify(request.body, request.headers)


def test_tampered_body_and_old_timestamp_are_rejected(receiver):
    secret = signing.generate_secret()
    request = _deliver(receiver, secrets=[secret])
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(request.body.replace(b"5", b"1"), request.headers)

    stale = _deliver(receiver, secrets=[secret], timestamp=time.time() - 600)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(stale.body, stale.headers)


def test_sign_matches_the_specs_construction():
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    expected = Webhook(secret).sign("msg_p5jXN8AQM9LWM0D4loKWxJek", _utc(1614265330), '{"test": 2432232314}')

    assert (
        signing.sign(
            msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp=1614265330, body=b'{"test": 2432232314}', secrets=[secret]
        )
        == expected
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_sign_needs_a_valid_secret():
    with pytest.raises(ValueError, match="at least one"):
        signing.sign(msg_id="m", timestamp=1, body=b"", secrets=[])
    with pytest.raises(ValueError, match="base64"):
        signing.sign(msg_id="m", timestamp=1, body=b"", secrets=["whsec_not base64!"])


def _utc(ts):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, tz=UTC)
