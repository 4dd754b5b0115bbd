"""The events the accounts app publishes: typed and versioned, built once here, by the publisher.

The services publish each one to the outbox (``apps.core.outbox``) inside the transaction of
the change; the notifications app consumes them (the account emails; an erased account's
inbox, devices, webhooks and deliveries dropped); a request for a data export's remote part
goes to the task that part registered. A change to a payload that a consumer could
notice (a key removed, renamed or changing meaning) is a new ``VERSION``; adding a key is not.
docs/architecture.md is the catalogue.
"""

from dataclasses import asdict, dataclass
from typing import ClassVar, TypedDict

from apps.accounts.models import User
from apps.core import outbox


class Link(TypedDict):
    """A signed link of an account email: the client's page and the two values it posts back."""

    url: str
    uid: str
    token: str


@dataclass(frozen=True, kw_only=True)
class Event:
    TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1

    recipient_user_id: str

    def payload(self) -> dict:
        return asdict(self)


def publish(
    event: Event, *, task_name: str = outbox.NOTIFICATIONS_INGEST_TASK, queue: str = outbox.NOTIFICATIONS_QUEUE
) -> None:
    """Record ``event`` in the outbox, in the caller's transaction, for ``task_name`` on ``queue``
    (the notifications intake unless told)."""
    outbox.publish(event.TYPE, event.payload(), version=event.VERSION, task_name=task_name, queue=queue)


@dataclass(frozen=True, kw_only=True)
class AccountEmail(Event):
    """An email with a signed link to the account's owner."""

    recipient_email: str
    recipient_name: str
    link: Link

    @classmethod
    def of(cls, user: User, *, url: str, uid: str, token: str, **fields):
        return cls(
            recipient_user_id=str(user.pk),
            recipient_email=user.email,
            recipient_name=user.name,
            link={"url": url, "uid": uid, "token": token},
            **fields,
        )


@dataclass(frozen=True, kw_only=True)
class PasswordResetRequested(AccountEmail):
    """The password reset link (ACCOUNT_PASSWORD_RESET_URL).

    ``purpose`` is "claim" for an account made for the address (a partner's, without a password)
    that its owner takes over by setting a password, "reset" otherwise (added in version 1: a
    consumer that does not know it words the email as a reset).
    """

    TYPE = "account.password_reset"

    purpose: str = "reset"


@dataclass(frozen=True, kw_only=True)
class EmailVerificationRequested(AccountEmail):
    """The link that verifies the account's current address (ACCOUNT_EMAIL_VERIFY_URL)."""

    TYPE = "account.email_verify"


@dataclass(frozen=True, kw_only=True)
class DataExportReady(AccountEmail):
    """The user's data export is built: the link downloads it until ``expires_at``
    (``ACCOUNT_EXPORT_LINK_TTL``). ``uid`` is the export's id, ``token`` its signed token."""

    TYPE = "account.export_ready"

    expires_at: str


@dataclass(frozen=True, kw_only=True)
class DataExportRequested(Event):
    """A user asked for their data export: the build's own request, sent to the accounts
    build task on the default queue, not to the intake. Through the outbox, so a broker that is
    down when the user asks delays the build instead of losing it; the build confirms it."""

    TYPE = "account.export_requested"

    export_id: str


@dataclass(frozen=True, kw_only=True)
class DataExportPartRequested(Event):
    """A request for one remote part of a user's data export (``apps.core.exports``), sent to
    the task the part registered, on its queue, not to the intake.

    The answering task sends the part's sections, by name, to ``reply_task`` on ``reply_queue``
    with ``export_id``, ``part``, ``sections`` and ``request_id`` (this event's id): the reply
    confirms the event, so a request whose answer never arrived is sent again.
    """

    TYPE = "account.export_part_requested"

    export_id: str
    part: str
    reply_task: str
    reply_queue: str


@dataclass(frozen=True, kw_only=True)
class AccountErased(Event):
    """The account was deleted and its personal data erased: drop everything kept for it.

    ``rating_ids`` (the ratings it wrote) and ``provider_id`` (its provider profile, if any) are
    the ids under which consumers find the copies they made of its name and words.
    """

    TYPE = "account.deleted"

    rating_ids: list[str]
    provider_id: str | None


@dataclass(frozen=True, kw_only=True)
class LocaleSet(Event):
    """The language the account's notices are worded in (``User.locale``), at sign-up and on
    every change: the notifications deployment has no users table and keeps its own copy."""

    TYPE = "account.locale_set"

    locale: str

    @classmethod
    def of(cls, user: User):
        return cls(recipient_user_id=str(user.pk), locale=user.locale)


EVENT_TYPES: tuple[type[Event], ...] = (
    PasswordResetRequested,
    EmailVerificationRequested,
    DataExportReady,
    LocaleSet,
    AccountErased,
)
# Published to a task other than the notifications intake (each names its consumer).
REQUEST_TYPES: tuple[type[Event], ...] = (DataExportRequested, DataExportPartRequested)
