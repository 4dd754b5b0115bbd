import uuid


def envelope(*, event_id=None, type="rating.created", recipient_id=None, **data) -> dict:
    return {
        "id": str(event_id or uuid.uuid4()),
        "type": type,
        "version": 1,
        "occurred_at": "2026-01-02T03:04:05+00:00",
        "data": {
            "rating_id": str(uuid.uuid4()),
            "provider_id": str(uuid.uuid4()),
            "recipient_user_id": str(recipient_id or uuid.uuid4()),
            "recipient_email": "pipes@example.com",
            "recipient_name": "Pipe Dreams",
            "customer_name": "Alice",
            "score": 5,
            "comment_excerpt": "Fixed our boiler in an hour.",
            "status": "published",
            "verified": False,
            **data,
        },
    }


def rating_event(type_: str, *, status="published", provider_user_id=None, customer_user_id=None, **data) -> dict:
    """A version 2 rating event as ``apps.ratings.events`` publishes it (the change, both parties)."""
    return {
        "id": str(uuid.uuid4()),
        "type": type_,
        "version": 2,
        "occurred_at": "2026-01-02T03:04:05+00:00",
        "data": {
            "rating_id": str(uuid.uuid4()),
            "provider_id": str(uuid.uuid4()),
            "provider_user_id": str(provider_user_id or uuid.uuid4()),
            "provider_name": "Pipe Dreams",
            "provider_email": "pipes@example.com",
            "provider_user_active": True,
            "customer_id": str(uuid.uuid4()),
            "customer_user_id": str(customer_user_id or uuid.uuid4()),
            "customer_name": "Alice",
            "customer_email": "alice@example.com",
            "customer_user_active": True,
            "score": 5,
            "comment_excerpt": "Fixed our boiler in an hour.",
            "status": status,
            "verified": False,
            "occurred_at": "2026-01-02T03:04:05+00:00",
            **data,
        },
    }


# Real loopback HTTP receivers and a per-test breaker namespace in Redis, shared with the
# outbound building blocks' tests.
from apps.notifications.outbound.tests.conftest import breaker_redis, receiver_factory  # noqa: E402, F401
