"""What each event type means to its recipients: inbox text, channels and their defaults.

Handlers read only the event envelope; they never look anything up in another app.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from uuid import UUID

from apps.notifications.models import Channel

RATING_CREATED = "rating.created"
RATING_UPDATED = "rating.updated"
PUBLISHED = "published"


@dataclass(frozen=True)
class Notice:
    recipient_id: UUID
    title: str
    body: str
    data: dict
    email: str = ""


@dataclass(frozen=True)
class EventType:
    label: str
    build: Callable[[dict], list[Notice]]
    # Channel → enabled when the recipient made no choice.
    defaults: dict[str, bool] = field(default_factory=dict)
    # A critical type cannot be switched off on any channel.
    critical: bool = False


def _stars(score: int) -> str:
    return f"{score}-star"


def _rating_data(data: dict) -> dict:
    return {key: data[key] for key in ("rating_id", "provider_id", "score") if key in data}


def _rating_created(data: dict) -> list[Notice]:
    # Held or hidden ratings (moderation) must not announce themselves.
    if data.get("status") != PUBLISHED:
        return []
    return [
        Notice(
            recipient_id=UUID(data["recipient_user_id"]),
            title=f"New {_stars(data['score'])} rating from {data['customer_name']}",
            body=data.get("comment_excerpt", ""),
            data=_rating_data(data),
            email=data.get("recipient_email", ""),
        )
    ]


def _rating_updated(data: dict) -> list[Notice]:
    if data.get("status") != PUBLISHED or data.get("previous_score") == data.get("score"):
        return []
    return [
        Notice(
            recipient_id=UUID(data["recipient_user_id"]),
            title=(
                f"{data['customer_name']} changed their rating from "
                f"{_stars(data['previous_score'])} to {_stars(data['score'])}"
            ),
            body=data.get("comment_excerpt", ""),
            data={**_rating_data(data), "previous_score": data.get("previous_score")},
            email=data.get("recipient_email", ""),
        )
    ]


EVENT_TYPES: dict[str, EventType] = {
    RATING_CREATED: EventType(
        label="New rating",
        build=_rating_created,
        defaults={Channel.IN_APP: True, Channel.EMAIL: True},
    ),
    RATING_UPDATED: EventType(
        label="Rating changed",
        build=_rating_updated,
        defaults={Channel.IN_APP: True, Channel.EMAIL: False},
    ),
}

EXTERNAL_CHANNELS = (Channel.EMAIL,)
