"""Turns the ratings app's published events into outbox events for the notifications consumer.

Runs inside the rating's transaction, so the outbox row commits (or rolls back) with it.
``apps.ratings.signals`` is the only module of another domain app imported here: the signals
are that app's public contract, and the payloads are plain dicts.

One outbox event per recipient: the provider hears about ratings of it (new, held for review,
changed or verified, moderated) and about decisions on its replies, the author about decisions
on their rating and the provider's (public) reply, a customer about a partner's invitation to a
verified rating. A deleted rating is one ``rating.deleted`` event that tells nobody anything: it
cancels the deliveries about the rating that have not gone out.
"""

from apps.core import outbox
from apps.ratings import signals as rating_signals

RATING_FIELDS = ("rating_id", "provider_id", "customer_name", "score", "comment_excerpt", "status", "verified")
# Only in what the provider is told: the summary is theirs (a digest shows how it moved).
PROVIDER_FIELDS = ("summary",)
PUBLISHED, PENDING_REVIEW = "published", "pending_review"


def _for_provider(event: dict, **extra) -> dict:
    return {
        **{key: event[key] for key in (*RATING_FIELDS, *PROVIDER_FIELDS) if key in event},
        "recipient_role": "provider",
        "recipient_user_id": event["provider_user_id"],
        "recipient_email": event["provider_email"],
        "recipient_name": event["provider_name"],
        **extra,
    }


def _for_author(event: dict, **extra) -> dict:
    return {
        **{key: event[key] for key in RATING_FIELDS if key in event},
        "provider_name": event["provider_name"],
        "recipient_role": "author",
        "recipient_user_id": event["customer_user_id"],
        "recipient_email": event.get("customer_email", ""),
        "recipient_name": event["customer_name"],
        **extra,
    }


def _told(event: dict, role: str) -> bool:
    # A deleted (erased) account is told nothing any more: no inbox item is made again for it
    # and no email goes to its placeholder address. Events without the flag predate it.
    return event.get(f"{role}_user_active", True) is not False


def on_rating_created(sender, event: dict, **kwargs) -> None:
    if not _told(event, "provider"):
        return
    if event["status"] == PUBLISHED:
        outbox.publish("rating.created", _for_provider(event), occurred_at=event["occurred_at"])
    elif event["status"] == PENDING_REVIEW:
        outbox.publish("rating.held", _for_provider(event), occurred_at=event["occurred_at"])


def on_rating_updated(sender, event: dict, **kwargs) -> None:
    newly_verified = event.get("previous_verified") is False and event.get("verified") is True
    rescored = event.get("previous_score") != event.get("score")
    if not (rescored or newly_verified) or not _told(event, "provider"):
        return
    extra = {"previous_score": event.get("previous_score")}
    if "previous_verified" in event:
        extra["previous_verified"] = event["previous_verified"]
    outbox.publish("rating.updated", _for_provider(event, **extra), occurred_at=event["occurred_at"])


def on_rating_moderated(sender, event: dict, **kwargs) -> None:
    decision = {"previous_status": event["previous_status"], "reason": event.get("reason", "")}
    if _told(event, "provider"):
        if event.get("first_publication"):
            # Released from an automatic hold: the provider gets the normal "new rating" notice now.
            outbox.publish("rating.created", _for_provider(event), occurred_at=event["occurred_at"])
        else:
            outbox.publish("rating.moderated", _for_provider(event, **decision), occurred_at=event["occurred_at"])
    if _told(event, "customer"):
        outbox.publish("rating.moderated", _for_author(event, **decision), occurred_at=event["occurred_at"])


def on_rating_replied(sender, event: dict, **kwargs) -> None:
    if not _told(event, "customer"):
        return
    outbox.publish(
        "rating.replied",
        _for_author(event, reply_excerpt=event.get("reply_excerpt", ""), reply_created=event.get("reply_created")),
        occurred_at=event["occurred_at"],
    )


def on_rating_deleted(sender, event: dict, **kwargs) -> None:
    outbox.publish(
        "rating.deleted",
        {"rating_id": event["rating_id"], "provider_id": event["provider_id"]},
        occurred_at=event["occurred_at"],
    )


def on_reply_moderated(sender, event: dict, **kwargs) -> None:
    if not _told(event, "provider"):
        return
    outbox.publish(
        "reply.moderated",
        _for_provider(
            event,
            reply_id=event["reply_id"],
            reply_status=event["reply_status"],
            previous_reply_status=event.get("previous_reply_status", ""),
            reason=event.get("reason", ""),
        ),
        occurred_at=event["occurred_at"],
    )


def on_rating_invited(sender, event: dict, **kwargs) -> None:
    outbox.publish(
        "rating.invited",
        {
            **{key: event[key] for key in ("invitation_id", "provider_id", "provider_name", "expires_at", "url")},
            "recipient_role": "customer",
            "recipient_user_id": event["customer_user_id"],
            "recipient_email": event["customer_email"],
            "recipient_name": event["customer_name"],
        },
        occurred_at=event["occurred_at"],
    )


def connect() -> None:
    rating_signals.rating_created.connect(on_rating_created, dispatch_uid="notifications.rating_created")
    rating_signals.rating_updated.connect(on_rating_updated, dispatch_uid="notifications.rating_updated")
    rating_signals.rating_moderated.connect(on_rating_moderated, dispatch_uid="notifications.rating_moderated")
    rating_signals.rating_replied.connect(on_rating_replied, dispatch_uid="notifications.rating_replied")
    rating_signals.rating_deleted.connect(on_rating_deleted, dispatch_uid="notifications.rating_deleted")
    rating_signals.reply_moderated.connect(on_reply_moderated, dispatch_uid="notifications.reply_moderated")
    rating_signals.rating_invited.connect(on_rating_invited, dispatch_uid="notifications.rating_invited")
