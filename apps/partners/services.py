"""What a partner creates through the partner API, recorded as its own (writes, transactional)."""

from django.db import IntegrityError, transaction

from apps.accounts.models import User
from apps.core.exceptions import AlreadyExists, NotFound
from apps.customers.models import Customer
from apps.customers.services import customer_register
from apps.partners.models import Partner, PartnerCustomer, PartnerInvitation, PartnerProvider, PartnerRating
from apps.partners.selectors import partner_customer_get, partner_provider_get
from apps.providers.models import Provider
from apps.providers.selectors import providers_active
from apps.providers.services import provider_register
from apps.ratings.models import Rating, RatingInvitation
from apps.ratings.services import invitation_create, invitation_revoke, rating_create

EMAIL_TAKEN = "An account with this email already exists."


def _normalized(email: str) -> str:
    return User.objects.normalize_email(email).lower()


def _shareable(user: User, links) -> bool:
    """An account another partner made and nobody has claimed (no password) can be this partner's
    too; an account its owner signed in to never is: a partner would then rate in their name."""
    return not user.has_usable_password() and links.exists()


@transaction.atomic
def partner_customer_create(*, partner: Partner, name: str, email: str) -> tuple[Customer, bool]:
    """The partner's customer with ``email``: the one it made before (``False``), else a new one
    (``True``). 409 when the address is an account that is not the partner's to act for."""
    email = _normalized(email)
    existing = (
        Customer.objects.select_related("user")
        .filter(user__email__iexact=email, partner_links__partner=partner)
        .first()
    )
    if existing is not None:
        return existing, False
    account = Customer.objects.select_related("user").filter(user__email__iexact=email).first()
    if account is None:
        if User.objects.filter(email__iexact=email).exists():
            raise AlreadyExists(EMAIL_TAKEN)
        account = customer_register(email=email, password=None, name=name)
    elif not _shareable(account.user, PartnerCustomer.objects.filter(customer=account)):
        raise AlreadyExists(EMAIL_TAKEN)
    try:
        with transaction.atomic():
            PartnerCustomer.objects.create(partner=partner, customer=account)
    except IntegrityError:
        # The same partner created it a moment ago, in a request that raced this one.
        return account, False
    return account, True


@transaction.atomic
def partner_provider_create(*, partner: Partner, name: str, email: str) -> tuple[Provider, bool]:
    """As ``partner_customer_create``, for a service provider (it appears in the public directory)."""
    email = _normalized(email)
    existing = (
        providers_active()
        .select_related("user")
        .filter(user__email__iexact=email, partner_links__partner=partner)
        .first()
    )
    if existing is not None:
        return existing, False
    account = providers_active().select_related("user").filter(user__email__iexact=email).first()
    if account is None:
        if User.objects.filter(email__iexact=email).exists():
            raise AlreadyExists(EMAIL_TAKEN)
        account = provider_register(email=email, password=None, name=name)
    elif not _shareable(account.user, PartnerProvider.objects.filter(provider=account, granted=False)):
        raise AlreadyExists(EMAIL_TAKEN)
    try:
        with transaction.atomic():
            PartnerProvider.objects.create(partner=partner, provider=account)
    except IntegrityError:
        return account, False
    return account, True


def partner_provider_grant(*, partner: Partner, provider: Provider) -> PartnerProvider:
    """Staff let ``partner`` act for an existing provider (idempotent)."""
    link, _ = PartnerProvider.objects.get_or_create(partner=partner, provider=provider, defaults={"granted": True})
    return link


@transaction.atomic
def partner_rating_create(*, partner: Partner, customer_id, provider_id, score: int, comment: str) -> Rating:
    """A rating by one of the partner's customers of one of its providers (404 for anything else).

    One rating per customer and provider (409 ``already_rated``), except that the partner's own
    request again, with the same score and comment, returns the rating it made (a retry or a
    re-run of the same script, as for creation).
    """
    customer = partner_customer_get(partner=partner, customer_id=customer_id)
    provider = partner_provider_get(partner=partner, provider_id=provider_id)
    same = Rating.objects.filter(
        customer=customer, provider=provider, score=score, comment=comment, partner_link__partner=partner
    ).first()
    if same is not None:
        return same
    rating = rating_create(customer=customer, provider=provider, score=score, comment=comment)
    PartnerRating.objects.create(partner=partner, rating=rating)
    return rating


@transaction.atomic
def partner_invitation_create(
    *, partner: Partner, customer: Customer, provider: Provider, external_reference: str
) -> RatingInvitation:
    invitation = invitation_create(customer=customer, provider=provider, external_reference=external_reference)
    PartnerInvitation.objects.create(partner=partner, invitation=invitation)
    return invitation


def partner_invitation_revoke(*, partner: Partner, invitation_id) -> RatingInvitation:
    invitation = RatingInvitation.objects.filter(pk=invitation_id, partner_link__partner=partner).first()
    if invitation is None:
        raise NotFound("Invitation not found.")
    return invitation_revoke(invitation=invitation)
