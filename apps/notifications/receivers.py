"""Turns the ratings app's published events into outbox events for the notifications consumer.

Runs inside the rating's transaction, so the outbox row commits (or rolls back) with it.
``apps.ratings.signals`` is the only module of another domain app imported here: the signals
are that app's public contract, and the payloads are plain dicts.
"""

from apps.core import outbox
from apps.ratings import signals as rating_signals

RECIPIENT_FIELDS = ("rating_id", "provider_id", "customer_name", "score", "comment_excerpt", "status", "verified")


def _data(event: dict, **extra) -> dict:
    return {
        **{key: event[key] for key in RECIPIENT_FIELDS if key in event},
        "recipient_user_id": event["provider_user_id"],
        "recipient_email": event["provider_email"],
        "recipient_name": event["provider_name"],
        **extra,
    }


def on_rating_created(sender, event: dict, **kwargs) -> None:
    outbox.publish("rating.created", _data(event), occurred_at=event["occurred_at"])


def on_rating_updated(sender, event: dict, **kwargs) -> None:
    if event.get("previous_score") == event.get("score"):
        return
    outbox.publish(
        "rating.updated", _data(event, previous_score=event.get("previous_score")), occurred_at=event["occurred_at"]
    )


def connect() -> None:
    rating_signals.rating_created.connect(on_rating_created, dispatch_uid="notifications.rating_created")
    rating_signals.rating_updated.connect(on_rating_updated, dispatch_uid="notifications.rating_updated")
