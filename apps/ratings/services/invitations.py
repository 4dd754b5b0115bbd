"""Partner invitations: claimed by a rating, created and revoked by the partner."""

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.customers.models import Customer
from apps.providers.models import Provider
from apps.ratings import signals
from apps.ratings.models import (
    PartnerAPIKey,
    RatingInvitation,
)
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
def invitation_create(
    *, customer: Customer, provider: Provider, external_reference: str, partner_key: PartnerAPIKey | None
) -> RatingInvitation:
    """A partner's invitation for ``customer`` to rate ``provider`` for one job (409 ``already_invited``).

    It can be used for ``RATING_INVITATION_TTL`` seconds from its creation; the customer is told
    through ``rating_invited`` (an inbox item and an email with a link to the rating form).
    """
    invitation = RatingInvitation(
        customer=customer,
        provider=provider,
        external_reference=external_reference,
        partner_key=partner_key,
    )
    invitation.full_clean(
        exclude=["customer", "provider", "partner_key"], validate_unique=False, validate_constraints=False
    )
    try:
        with transaction.atomic():
            invitation.save(force_insert=True)
    except IntegrityError as exc:
        raise AlreadyInvited() from exc
    customer_user, provider_user = customer.user, provider.user
    signals.rating_invited.send(
        sender=RatingInvitation,
        event={
            "invitation_id": str(invitation.pk),
            "provider_id": str(provider.pk),
            "provider_name": provider.name,
            "provider_user_id": str(provider_user.pk),
            "customer_id": str(customer.pk),
            "customer_user_id": str(customer_user.pk),
            "customer_name": customer_user.name,
            "customer_email": customer_user.email,
            "expires_at": invitation.expires_at.isoformat(),
            "url": settings.RATING_INVITATION_URL.format(invitation_id=invitation.pk, provider_id=provider.pk),
            "occurred_at": timezone.now().isoformat(),
        },
    )
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
