"""A notice (one recipient's worded message) and a notice type (its wording, channels and
defaults): the shapes ``apps.notifications.events`` and its neighbours build."""

from collections.abc import Callable
from dataclasses import dataclass, field
from uuid import UUID


@dataclass(frozen=True)
class Notice:
    recipient_id: UUID
    title: str
    body: str
    data: dict
    email: str = ""
    # What only the email may carry (a sign-in link): kept on the email delivery, never in
    # the inbox item, a webhook body or a push.
    secret: dict = field(default_factory=dict)
    # The provider's rating summary after the change (``{count, sum}``), when the event carries
    # it: a digest shows how the period moved it.
    summary: dict | None = None
    # Its notice type (a key of ``EVENT_TYPES``), set by the handler that made it.
    type: str = ""
    # The language it was worded in (``settings.LANGUAGES``), set by the handler that made it:
    # its email is rendered in it too.
    locale: str = ""


@dataclass(frozen=True)
class EventType:
    # Marked for translation (a redacted item's title shows it in its reader's language); the
    # API lists it in English.
    label: str
    build: Callable[[dict], list[Notice]]
    # Channel → enabled when the recipient made no choice.
    defaults: dict[str, bool] = field(default_factory=dict)
    # A critical type cannot be switched off on any channel, and quiet hours do not hold it.
    critical: bool = False
    # Sent by email only: no webhook, no push (an account email is for its owner's mailbox).
    email_only: bool = False
    # Its emails can be collected into the recipient's hourly or daily digest.
    digestible: bool = False
