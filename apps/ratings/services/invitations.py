"""Partner invitations: claimed by a rating, created (one or many) and revoked by the partner,
and reminded once."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.customers.models import Customer
from apps.providers.models import Provider
from apps.ratings import events
from apps.ratings.models import RatingInvitation
from apps.ratings.services.errors import (
    AlreadyInvited,
    InvalidInvitation,
    InvitationExpired,
    InvitationRevoked,
    InvitationUsed,
)


def _invitation_claim(*, invitation: RatingInvitation, customer_id, provider_id) -> RatingInvitation:
    """Lock the invitation, check it may verify a rating of this customer for this provider
    now, and mark it used (in the caller's transaction, so a failed rating leaves it unused).

    Invitations are locked before ratings everywhere, so two writers never deadlock.
    """
    locked = RatingInvitation.objects.select_for_update().get(pk=invitation.pk)
    if locked.customer_id != customer_id or locked.provider_id != provider_id:
        raise InvalidInvitation()
    if locked.used_at is not None:
        raise InvitationUsed()
    if locked.revoked_at is not None:
        raise InvitationRevoked()
    now = timezone.now()
    if locked.expires_at <= now:
        raise InvitationExpired()
    locked.used_at = now
    locked.save(update_fields=["used_at"])
    return locked


@transaction.atomic
def invitation_create(*, customer: Customer, provider: Provider, external_reference: str) -> RatingInvitation:
    """A partner's invitation for ``customer`` to rate ``provider`` for one job (409 ``already_invited``).

    Which partner made it is the partners app's record (it calls this in its own transaction).

    It can be used for ``RATING_INVITATION_TTL`` seconds from its creation; the customer is told
    through ``rating_invited`` (an inbox item and an email with a link to the rating form).
    """
    invitation = RatingInvitation(
        customer=customer,
        provider=provider,
        external_reference=external_reference,
    )
    invitation.full_clean(exclude=["customer", "provider"], validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            invitation.save(force_insert=True)
    except IntegrityError as exc:
        raise AlreadyInvited() from exc
    events.publish(events.RatingInvited.of(invitation))
    return invitation


@transaction.atomic
def invitation_revoke(*, invitation: RatingInvitation) -> RatingInvitation:
    """The partner withdraws an invitation: it can no longer verify a rating.

    Revoking again changes nothing (the first revocation's time stays); an invitation that
    already verified a rating cannot be revoked (409 ``invitation_used``): the rating stays
    verified.
    """
    locked = RatingInvitation.objects.select_for_update().get(pk=invitation.pk)
    if locked.used_at is not None:
        raise InvitationUsed("This invitation has already verified a rating; it cannot be revoked.")
    if locked.revoked_at is None:
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
    return locked


@transaction.atomic
def invitations_create_many(*, items: list[tuple[Customer, Provider, str]]) -> list[RatingInvitation]:
    """Many invitations ``(customer, provider, external_reference)`` in one transaction.

    As ``invitation_create`` for each (the customer is told of each through ``rating_invited``),
    with one multi-row INSERT. The caller has checked the references: a duplicate one (a
    concurrent writer's) fails the whole batch with 409 ``already_invited`` and nothing is kept.
    """
    invitations = [
        RatingInvitation(customer=customer, provider=provider, external_reference=reference)
        for customer, provider, reference in items
    ]
    for invitation in invitations:
        invitation.full_clean(exclude=["customer", "provider"], validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            RatingInvitation.objects.bulk_create(invitations)
    except IntegrityError as exc:
        raise AlreadyInvited() from exc
    for invitation in invitations:
        events.publish(events.RatingInvited.of(invitation))
    return invitations


# The event of a reminder (``events.RatingInvitationReminded``; the notifications intake tells
# the customer).
INVITATION_REMINDER_EVENT = events.RatingInvitationReminded.TYPE


def invitation_reminders_due(*, now: datetime):
    """Open invitations whose reminder is due: made ``RATING_INVITATION_REMINDER_DELAY`` ago or
    more, not used, revoked, reminded or expired, for an active customer and provider; oldest
    first (the partial index ``ratings_invitation_remind_idx``)."""
    return RatingInvitation.objects.filter(
        used_at__isnull=True,
        revoked_at__isnull=True,
        reminded_at__isnull=True,
        created_at__lte=now - timedelta(seconds=settings.RATING_INVITATION_REMINDER_DELAY),
        created_at__gt=now - timedelta(seconds=settings.RATING_INVITATION_TTL),
        provider__deleted_at__isnull=True,
        customer__user__is_active=True,
    ).order_by("created_at", "id")


def invitation_reminders_send(*, now: datetime | None = None, batch_size: int = 200, max_batches: int = 50) -> int:
    """Send the one reminder of every invitation that is due; returns how many went out.

    Each batch is one transaction: the due rows are locked (``SKIP LOCKED``: a second sweep
    running at the same time takes other rows or none), each is marked ``reminded_at`` only if
    it still is not (the conditional UPDATE is the guard on a database without row locks), and
    its ``rating.invitation_reminder`` event is written to the outbox in the same transaction,
    so a reminder is published exactly when its mark commits: once, even if two beats run or
    a worker dies half-way. ``max_batches`` bounds one run; the next run takes the rest.
    """
    if settings.RATING_INVITATION_REMINDER_DELAY <= 0:
        return 0
    now = now or timezone.now()
    sent = 0
    for _ in range(max_batches):
        with transaction.atomic():
            due = list(
                invitation_reminders_due(now=now)
                .select_for_update(skip_locked=True, of=("self",))
                .select_related("customer__user", "provider__user")[:batch_size]
            )
            for invitation in due:
                marked = RatingInvitation.objects.filter(pk=invitation.pk, reminded_at__isnull=True).update(
                    reminded_at=now
                )
                if marked:
                    _reminder_publish(invitation)
                    sent += 1
        if len(due) < batch_size:
            break
    return sent


def _reminder_publish(invitation: RatingInvitation) -> None:
    # The invitation as published when it was made (the same link and expiry); who is told, and
    # with which words, is the notifications intake's to say.
    events.publish(events.RatingInvitationReminded.of(invitation))
