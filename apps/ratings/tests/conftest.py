from datetime import datetime

import pytest

from apps.ratings import signals
from apps.ratings.models import RatingSummary

SIGNALS = (
    "rating_created",
    "rating_updated",
    "rating_deleted",
    "rating_moderated",
    "rating_replied",
    "reply_moderated",
)


@pytest.fixture
def events():
    """Every ratings event sent during the test, as ``(signal name, event)`` pairs."""
    sent = []
    receivers = {}
    for name in SIGNALS:

        def receiver(sender, event, _name=name, **kwargs):
            sent.append((_name, event))

        receivers[name] = receiver
        getattr(signals, name).connect(receiver, dispatch_uid=f"test-{name}")
    yield sent
    for name in SIGNALS:
        getattr(signals, name).disconnect(dispatch_uid=f"test-{name}")


def summary_of(provider) -> dict:
    summary = RatingSummary.objects.filter(provider=provider).first() or RatingSummary(provider=provider)
    return {
        "count": summary.count,
        "sum": summary.sum,
        "stars": summary.stars,
        "verified_count": summary.verified_count,
    }


def base_event(rating, **extra) -> dict:
    """The keys every event carries, for ``rating`` as it is now (``occurred_at`` is checked apart)."""
    return {
        "rating_id": str(rating.pk),
        "provider_id": str(rating.provider.pk),
        "provider_user_id": str(rating.provider.user_id),
        "provider_name": rating.provider.name,
        "provider_email": rating.provider.user.email,
        "provider_user_active": rating.provider.user.is_active,
        "customer_id": str(rating.customer.pk),
        "customer_user_id": str(rating.customer.user_id),
        "customer_name": rating.customer.user.name,
        "customer_email": rating.customer.user.email,
        "customer_user_active": rating.customer.user.is_active,
        "score": rating.score,
        "comment_excerpt": rating.comment[:140],
        "status": rating.status,
        "verified": rating.verified,
        **extra,
    }


def without_time(event: dict) -> dict:
    assert datetime.fromisoformat(event["occurred_at"]).tzinfo is not None
    return {k: v for k, v in event.items() if k != "occurred_at"}
