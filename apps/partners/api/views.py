"""The partner API on the main deployment: Homerun's rating-service contract at its paths."""

from rest_framework import status
from rest_framework.response import Response

from apps.core.exceptions import NotFound
from apps.customers.models import Customer
from apps.customers.services import customer_register
from apps.partners.api.feed_views import PartnerAPIView, id_parameter
from apps.partners.api.schema import error, partner_operation
from apps.partners.api.serializers import (
    PartnerAccountCreateInput,
    PartnerAverageRatingOutput,
    PartnerCustomerOutput,
    PartnerRatingCreateInput,
    PartnerRatingOutput,
    PartnerServiceProviderOutput,
)
from apps.partners.ids import parse_id
from apps.providers.selectors import providers_active
from apps.providers.services import provider_register
from apps.ratings.models import Rating
from apps.ratings.selectors import rating_summary_get
from apps.ratings.services import rating_create

ACCOUNT_NOTE = (
    " The account has no password: nobody signs in with it, the partner acts for it. An email already "
    "used by any account is a 409."
)


def _get(queryset, value, what: str):
    pk = parse_id(value)
    found = queryset.filter(pk=pk).first() if pk is not None else None
    if found is None:
        raise NotFound(f"{what} not found.")
    return found


class CustomerListView(PartnerAPIView):
    @partner_operation(
        operation_id="partner_customers_create",
        summary="Create a customer",
        description="Create a customer account with a name and an email." + ACCOUNT_NOTE,
        request=PartnerAccountCreateInput,
        responses={201: PartnerCustomerOutput, 409: error(409, "An account with this email already exists.")},
    )
    def post(self, request):
        data = PartnerAccountCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        customer = customer_register(password=None, **data.validated_data)
        return Response(PartnerCustomerOutput(customer).data, status=status.HTTP_201_CREATED)


class CustomerDetailView(PartnerAPIView):
    @partner_operation(
        operation_id="partner_customers_retrieve",
        summary="A customer",
        description="A customer by id, whoever created it.",
        parameters=[id_parameter("id", "The customer's id.")],
        responses={200: PartnerCustomerOutput},
    )
    def get(self, request, id):
        customer = _get(Customer.objects.select_related("user"), id, "Customer")
        return Response(PartnerCustomerOutput(customer).data)


class ServiceProviderListView(PartnerAPIView):
    @partner_operation(
        operation_id="partner_service_providers_create",
        summary="Create a service provider",
        description=(
            "Create a service provider account with a name and an email; it appears in the public directory."
            + ACCOUNT_NOTE
        ),
        request=PartnerAccountCreateInput,
        responses={201: PartnerServiceProviderOutput, 409: error(409, "An account with this email already exists.")},
    )
    def post(self, request):
        data = PartnerAccountCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        provider = provider_register(password=None, **data.validated_data)
        return Response(PartnerServiceProviderOutput(provider).data, status=status.HTTP_201_CREATED)


class ServiceProviderDetailView(PartnerAPIView):
    @partner_operation(
        operation_id="partner_service_providers_retrieve",
        summary="A service provider",
        description="A service provider by id.",
        parameters=[id_parameter("id", "The provider's id.")],
        responses={200: PartnerServiceProviderOutput},
    )
    def get(self, request, id):
        provider = _get(providers_active().select_related("user"), id, "Service provider")
        return Response(PartnerServiceProviderOutput(provider).data)


class AverageRatingView(PartnerAPIView):
    @partner_operation(
        operation_id="partner_service_providers_average_rating",
        summary="A service provider's average rating",
        description=(
            "The mean and number of the provider's published ratings (held and hidden ones do not count), "
            "exact as of the last 201. An unrated provider has 0 and 0."
        ),
        parameters=[id_parameter("id", "The provider's id.")],
        responses={200: PartnerAverageRatingOutput},
    )
    def get(self, request, id):
        provider_id = parse_id(id)
        if provider_id is None:
            raise NotFound("Service provider not found.")
        try:
            summary = rating_summary_get(provider_id=provider_id)
        except NotFound:
            raise NotFound("Service provider not found.") from None
        body = {
            "serviceProviderId": provider_id,
            # The stored average is a generated column an unrated provider's (unsaved) summary lacks.
            "averageRating": summary.sum / summary.count if summary.count else 0,
            "totalRatings": summary.count,
            "lastUpdated": summary.updated_at if summary.count else None,
        }
        return Response(PartnerAverageRatingOutput(body).data)


class RatingListView(PartnerAPIView):
    @partner_operation(
        operation_id="partner_ratings_create",
        summary="Rate a service provider",
        description=(
            "A customer rates a provider from 1 to 5 stars (a JSON integer) with an optional comment. One "
            "rating per customer and provider (409). A comment that trips an automatic hold rule waits "
            "for moderation: it counts in the average, and notifies the provider, once published. "
            "An unknown customer or provider is a 404."
        ),
        request=PartnerRatingCreateInput,
        responses={
            201: PartnerRatingOutput,
            404: error(404, "Customer or service provider not found."),
            409: error(409, "This customer has already rated this provider."),
        },
    )
    def post(self, request):
        data = PartnerRatingCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        customer = _get(Customer.objects.select_related("user"), str(values["customerId"]), "Customer")
        provider = _get(providers_active().select_related("user"), str(values["serviceProviderId"]), "Service provider")
        rating = rating_create(customer=customer, provider=provider, score=values["rating"], comment=values["comment"])
        return Response(PartnerRatingOutput(rating).data, status=status.HTTP_201_CREATED)


class RatingDetailView(PartnerAPIView):
    @partner_operation(
        operation_id="partner_ratings_retrieve",
        summary="A rating",
        description="A rating by id, whatever its moderation status.",
        parameters=[id_parameter("id", "The rating's id.")],
        responses={200: PartnerRatingOutput},
    )
    def get(self, request, id):
        return Response(PartnerRatingOutput(_get(Rating.objects.all(), id, "Rating")).data)
