"""What a partner creates through the partner API, recorded as its own (writes, transactional)."""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

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
from apps.ratings.services import invitation_create, invitation_revoke, invitations_create_many, rating_create

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


# The most invitations one bulk call takes.
BULK_INVITATIONS_MAX = 1000


@transaction.atomic
def partner_invitations_create_bulk(*, partner: Partner, items: list[dict]) -> list[dict]:
    """Many invitations of the partner in one transaction, with one result per item, in order.

    Each item is ``{customer_id, provider_id, external_reference}`` and gets ``{"status",
    "invitation", "error"}``:

    - ``created``: a new invitation (the customer is told, as for one);
    - ``existing``: nothing new, because the partner already has an open invitation for this
      customer and provider (made earlier or by an item before it in this call), or already made
      this ``external_reference`` for this customer and provider (in any state): that invitation
      is returned, so a retried or re-run batch creates nothing twice and tells nobody twice;
    - ``failed``: ``error`` ``{code, detail, attr}``: an unknown (or inactive) customer or a
      provider that is not the partner's (``does_not_exist``), or the provider's reference
      already used for another customer or by another partner (``already_invited``).

    A failed item does not stop the others. The partner's row is locked for the call, so two
    calls of one partner never both create an invitation for the same customer and provider.
    A few queries per call, whatever its size: customers, providers, references and open
    invitations are each read at once, and the new invitations are one INSERT.
    """
    Partner.objects.select_for_update().filter(pk=partner.pk).first()
    customer_ids = {item["customer_id"] for item in items}
    provider_ids = {item["provider_id"] for item in items}
    customers = {
        c.pk: c for c in Customer.objects.select_related("user").filter(pk__in=customer_ids, user__is_active=True)
    }
    providers = {
        p.pk: p
        for p in providers_active().select_related("user").filter(pk__in=provider_ids, partner_links__partner=partner)
    }
    by_reference = {
        (i.provider_id, i.external_reference): i
        for i in RatingInvitation.objects.select_related("partner_link").filter(
            provider_id__in=providers, external_reference__in={item["external_reference"] for item in items}
        )
    }
    open_by_pair = {}
    still_open = RatingInvitation.objects.filter(
        partner_link__partner=partner,
        customer_id__in=customers,
        provider_id__in=providers,
        used_at__isnull=True,
        revoked_at__isnull=True,
        created_at__gt=timezone.now() - timedelta(seconds=settings.RATING_INVITATION_TTL),
    ).order_by("created_at")
    for invitation in still_open:
        open_by_pair[(invitation.customer_id, invitation.provider_id)] = invitation  # the newest wins
    results: list[dict] = []
    pending: list[_Pending] = []
    for item in items:
        customer, provider = customers.get(item["customer_id"]), providers.get(item["provider_id"])
        reference = item["external_reference"]
        if customer is None:
            results.append(_failed("does_not_exist", "Customer not found.", "customer_id"))
            continue
        if provider is None:
            results.append(_failed("does_not_exist", "Provider not found.", "provider_id"))
            continue
        same = by_reference.get((provider.pk, reference))
        if same is not None:
            if same.customer_id != customer.pk or _partner_of(same) != partner.pk:
                detail = "This provider already has an invitation with this reference."
                results.append(_failed("already_invited", detail, "external_reference"))
            else:
                results.append({"status": "existing", "invitation": same, "error": None})
            continue
        pair = (customer.pk, provider.pk)
        if pair in open_by_pair:
            results.append({"status": "existing", "invitation": open_by_pair[pair], "error": None})
            continue
        new = _Pending(customer=customer, provider=provider, external_reference=reference, partner_id=partner.pk)
        pending.append(new)
        open_by_pair[pair] = by_reference[(provider.pk, reference)] = new
        results.append({"status": "created", "invitation": new, "error": None})
    created = invitations_create_many(items=[(p.customer, p.provider, p.external_reference) for p in pending])
    PartnerInvitation.objects.bulk_create(PartnerInvitation(partner=partner, invitation=i) for i in created)
    for new, invitation in zip(pending, created, strict=True):
        new.invitation = invitation
    for result in results:
        if isinstance(result["invitation"], _Pending):
            result["invitation"] = result["invitation"].invitation
    return results


class _Pending:
    """An invitation this call creates, filled in after the one INSERT; later items of the same
    customer and provider, or the same reference, point at it."""

    def __init__(self, *, customer: Customer, provider: Provider, external_reference: str, partner_id) -> None:
        self.customer, self.provider, self.external_reference = customer, provider, external_reference
        self.customer_id, self.partner_id = customer.pk, partner_id
        self.invitation: RatingInvitation | None = None


def _partner_of(invitation) -> object:
    if isinstance(invitation, _Pending):
        return invitation.partner_id
    link = getattr(invitation, "partner_link", None)
    return link.partner_id if link is not None else None


def _failed(code: str, detail: str, attr: str | None) -> dict:
    return {"status": "failed", "invitation": None, "error": {"code": code, "detail": detail, "attr": attr}}


def partner_invitation_revoke(*, partner: Partner, invitation_id) -> RatingInvitation:
    invitation = RatingInvitation.objects.filter(pk=invitation_id, partner_link__partner=partner).first()
    if invitation is None:
        raise NotFound("Invitation not found.")
    return invitation_revoke(invitation=invitation)
