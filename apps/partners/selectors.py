"""Reads of a partner's own objects. Anything else, another partner's included, is not found:
the same 404 as for an id that names nothing, so a partner cannot tell them apart."""

from django.db.models import QuerySet

from apps.core.db.page_queries import values_by
from apps.core.exceptions import NotFound
from apps.customers.models import Customer
from apps.partners.ids import parse_id
from apps.partners.models import Partner, PartnerProvider
from apps.providers.models import Provider
from apps.providers.selectors import providers_active
from apps.ratings.models import Rating, RatingInvitation

# Homerun's text for every 404 (its errors.NotFound("")).
NOT_FOUND = "The requested resource was not found."


def _one(queryset: QuerySet, value):
    pk = parse_id(str(value))
    found = queryset.filter(pk=pk).first() if pk is not None else None
    if found is None:
        raise NotFound(NOT_FOUND)
    return found


def partner_customer_get(*, partner: Partner, customer_id) -> Customer:
    return _one(Customer.objects.select_related("user").filter(partner_links__partner=partner), customer_id)


def partner_provider_get(*, partner: Partner, provider_id) -> Provider:
    return _one(providers_active().select_related("user").filter(partner_links__partner=partner), provider_id)


def partner_rating_get(*, partner: Partner, rating_id) -> Rating:
    return _one(Rating.objects.filter(partner_link__partner=partner), rating_id)


def partner_provider_ids(*, provider_id) -> list:
    """The partners that have this provider (created or granted): its ratings go to their feeds."""
    # On the path of every rating: its statement is compiled once, not per rating.
    return values_by(PartnerProvider, "partner_id", key="provider_id", value=provider_id)


def partner_invitation_list(*, partner: Partner) -> QuerySet[RatingInvitation]:
    """The partner's invitations, in every state, newest first."""
    return RatingInvitation.objects.filter(partner_link__partner=partner)
