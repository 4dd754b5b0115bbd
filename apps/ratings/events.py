"""The events the ratings app publishes: typed and versioned, built once here, by the publisher.

The services publish each event inside the transaction of the change (``publish``): one outbox
row per change (``apps.core.outbox``), which the notifications consumer reads and decides on
(who is told, how), and the same payload on the signal of ``apps.ratings.signals`` for the
in-process consumers that must write in the rating's own transaction (the partner feed).
Payloads are plain JSON-ready data, never model instances. A change to a payload that a
consumer could notice (a key removed, renamed or changing meaning) is a new ``VERSION`` of the
type; adding a key is not. docs/architecture.md is the catalogue.
"""

from dataclasses import asdict, dataclass
from typing import ClassVar, TypedDict

from django.conf import settings
from django.dispatch import Signal
from django.utils import timezone

from apps.core import outbox
from apps.ratings import signals
from apps.ratings.models import Rating, RatingInvitation, RatingReply

COMMENT_EXCERPT_LENGTH = 140


class Summary(TypedDict):
    """The provider's rating summary after the change (the average is ``sum / count``)."""

    count: int
    sum: int


@dataclass(frozen=True, kw_only=True)
class Event:
    """One published event: its type, its version and its payload's fields."""

    TYPE: ClassVar[str]
    # Version 1 of these types, on the outbox, was one event per recipient, made by the
    # notifications app's receivers from the signal; version 2 is the change itself, published
    # here, and the consumer decides who is told. The consumer still reads version 1.
    VERSION: ClassVar[int] = 2
    SIGNAL: ClassVar[Signal]
    SENDER: ClassVar[type] = Rating
    # Keys that only some occasions of the event carry: left out of the payload while None.
    OMITTED_WHEN_NONE: ClassVar[frozenset[str]] = frozenset()

    occurred_at: str

    def payload(self) -> dict:
        return {
            key: value for key, value in asdict(self).items() if not (value is None and key in self.OMITTED_WHEN_NONE)
        }


def publish(event: Event) -> None:
    """Record ``event`` in the outbox and send it on its signal, in the caller's transaction."""
    payload = event.payload()
    outbox.publish(event.TYPE, payload, occurred_at=event.occurred_at, version=event.VERSION)
    event.SIGNAL.send(sender=event.SENDER, event=payload, version=event.VERSION)


def _now() -> str:
    return timezone.now().isoformat()


@dataclass(frozen=True, kw_only=True)
class RatingEvent(Event):
    """What every rating event carries: the rating as it is after the change, and both parties.

    ``*_user_active`` is false once that account was erased: tell it nothing any more.
    ``status`` is ``published``, ``pending_review`` or ``hidden``.
    """

    rating_id: str
    provider_id: str
    provider_user_id: str
    provider_name: str
    provider_email: str
    provider_user_active: bool
    customer_id: str
    customer_user_id: str
    customer_name: str
    customer_email: str
    customer_user_active: bool
    score: int
    comment_excerpt: str
    status: str
    verified: bool

    @classmethod
    def of(cls, rating: Rating, **extra):
        """The event about ``rating`` (its provider and customer with their users loaded)."""
        provider, customer = rating.provider, rating.customer
        return cls(
            rating_id=str(rating.pk),
            provider_id=str(provider.pk),
            provider_user_id=str(provider.user_id),
            provider_name=provider.name,
            provider_email=provider.user.email,
            provider_user_active=provider.user.is_active,
            customer_id=str(customer.pk),
            customer_user_id=str(customer.user_id),
            customer_name=customer.user.name,
            customer_email=customer.user.email,
            customer_user_active=customer.user.is_active,
            score=rating.score,
            comment_excerpt=rating.comment[:COMMENT_EXCERPT_LENGTH],
            status=rating.status,
            verified=rating.verified,
            occurred_at=_now(),
            **extra,
        )


@dataclass(frozen=True, kw_only=True)
class RatingCreated(RatingEvent):
    """A new rating: ``published``, or ``pending_review`` when an automatic rule held it."""

    TYPE = "rating.created"
    SIGNAL = signals.rating_created

    summary: Summary


@dataclass(frozen=True, kw_only=True)
class RatingUpdated(RatingEvent):
    """Score and/or comment edited by the author, or the rating verified with an invitation.

    ``previous_verified`` only for a verification (``rating_verify``).
    """

    TYPE = "rating.updated"
    SIGNAL = signals.rating_updated
    OMITTED_WHEN_NONE = frozenset({"previous_verified"})

    previous_score: int
    previous_verified: bool | None = None


@dataclass(frozen=True, kw_only=True)
class RatingDeleted(RatingEvent):
    """Deleted by its author (the rating as it was)."""

    TYPE = "rating.deleted"
    SIGNAL = signals.rating_deleted


@dataclass(frozen=True, kw_only=True)
class RatingModerated(RatingEvent):
    """A status change, by staff (``moderator_id``) or an automatic rule (``moderator_id`` null).

    ``first_publication``: the rating became public for the first time (released from a hold).
    """

    TYPE = "rating.moderated"
    SIGNAL = signals.rating_moderated

    previous_status: str
    reason: str
    moderator_id: str | None
    first_publication: bool
    summary: Summary


@dataclass(frozen=True, kw_only=True)
class ReplyEvent(RatingEvent):
    """A rating event about the provider's reply to it."""

    reply_id: str
    reply_excerpt: str
    reply_status: str

    @classmethod
    def of_reply(cls, rating: Rating, reply: RatingReply, **extra):
        return cls.of(
            rating,
            reply_id=str(reply.pk),
            reply_excerpt=reply.body[:COMMENT_EXCERPT_LENGTH],
            reply_status=reply.status,
            **extra,
        )


@dataclass(frozen=True, kw_only=True)
class RatingReplied(ReplyEvent):
    """The provider's reply is public, new (``reply_created``) or changed: tell the author."""

    TYPE = "rating.replied"
    SIGNAL = signals.rating_replied

    reply_created: bool


@dataclass(frozen=True, kw_only=True)
class ReplyModerated(ReplyEvent):
    """A reply's status changed (staff, or an automatic hold: of a new reply, with an empty
    ``previous_reply_status``)."""

    TYPE = "reply.moderated"
    SIGNAL = signals.reply_moderated

    previous_reply_status: str
    reason: str
    moderator_id: str | None
    first_publication: bool


@dataclass(frozen=True, kw_only=True)
class RatingInvited(Event):
    """A partner invited a customer to a verified rating of a provider: tell the customer."""

    TYPE = "rating.invited"
    SIGNAL = signals.rating_invited
    SENDER = RatingInvitation

    invitation_id: str
    provider_id: str
    provider_name: str
    provider_user_id: str
    customer_id: str
    customer_user_id: str
    customer_name: str
    customer_email: str
    expires_at: str
    # The client's rating form (RATING_INVITATION_URL).
    url: str

    @classmethod
    def of(cls, invitation: RatingInvitation) -> "RatingInvited":
        provider, customer = invitation.provider, invitation.customer
        return cls(
            invitation_id=str(invitation.pk),
            provider_id=str(provider.pk),
            provider_name=provider.name,
            provider_user_id=str(provider.user.pk),
            customer_id=str(customer.pk),
            customer_user_id=str(customer.user.pk),
            customer_name=customer.user.name,
            customer_email=customer.user.email,
            expires_at=invitation.expires_at.isoformat(),
            url=settings.RATING_INVITATION_URL.format(invitation_id=invitation.pk, provider_id=provider.pk),
            occurred_at=_now(),
        )


@dataclass(frozen=True, kw_only=True)
class RatingInvitationReminded(RatingInvited):
    """The one reminder of an invitation still open after RATING_INVITATION_REMINDER_DELAY
    (beat's sweep): the invitation as it is, its link and expiry unchanged."""

    TYPE = "rating.invitation_reminder"
    SIGNAL = signals.invitation_reminded


EVENT_TYPES: tuple[type[Event], ...] = (
    RatingCreated,
    RatingUpdated,
    RatingDeleted,
    RatingModerated,
    RatingReplied,
    ReplyModerated,
    RatingInvited,
    RatingInvitationReminded,
)
