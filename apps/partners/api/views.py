"""The partner API's Homerun rating-service paths, scoped to the calling key's partner."""

from rest_framework import status
from rest_framework.response import Response

from apps.core.exceptions import NotFound
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
from apps.partners.models import Scope
from apps.partners.selectors import (
    NOT_FOUND,
    partner_customer_get,
    partner_provider_get,
    partner_rating_get,
)
from apps.partners.services import partner_customer_create, partner_provider_create, partner_rating_create
from apps.ratings.selectors import rating_summary_get

ACCOUNT_NOTE = (
    " Idempotent per partner: the same email again (any letter case) returns the record this partner made "
    "with it, with `201` as Homerun answers every creation. The account has no password: nobody signs in "
    "with it, the partner acts for it. An email another partner used (an account nobody signed in to) gets "
    "this partner its own link to that account; an email of an account its owner signs in to is a `409`."
)
OWN = " Only the calling partner's own (another's is a 404, as an unknown id)."


class CustomerListView(PartnerAPIView):
    required_scopes = {"POST": Scope.CUSTOMERS_WRITE}

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
        customer, _ = partner_customer_create(partner=request.auth.partner, **data.validated_data)
        return Response(PartnerCustomerOutput(customer).data, status=status.HTTP_201_CREATED)


class CustomerDetailView(PartnerAPIView):
    required_scopes = {"GET": Scope.READ}

    @partner_operation(
        operation_id="partner_customers_retrieve",
        summary="A customer",
        description="A customer by id." + OWN,
        parameters=[id_parameter("id", "The customer's id.")],
        responses={200: PartnerCustomerOutput},
    )
    def get(self, request, id):
        customer = partner_customer_get(partner=request.auth.partner, customer_id=id)
        return Response(PartnerCustomerOutput(customer).data)


class ServiceProviderListView(PartnerAPIView):
    required_scopes = {"POST": Scope.PROVIDERS_WRITE}

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
        provider, _ = partner_provider_create(partner=request.auth.partner, **data.validated_data)
        return Response(PartnerServiceProviderOutput(provider).data, status=status.HTTP_201_CREATED)


class ServiceProviderDetailView(PartnerAPIView):
    required_scopes = {"GET": Scope.READ}

    @partner_operation(
        operation_id="partner_service_providers_retrieve",
        summary="A service provider",
        description="A service provider by id (one it created, or staff granted it)." + OWN,
        parameters=[id_parameter("id", "The provider's id.")],
        responses={200: PartnerServiceProviderOutput},
    )
    def get(self, request, id):
        provider = partner_provider_get(partner=request.auth.partner, provider_id=id)
        return Response(PartnerServiceProviderOutput(provider).data)


class AverageRatingView(PartnerAPIView):
    required_scopes = {"GET": Scope.READ}

    @partner_operation(
        operation_id="partner_service_providers_average_rating",
        summary="A service provider's average rating",
        description=(
            "The mean and number of the provider's published ratings (held and hidden ones do not count), "
            "exact as of the last 201. An unrated provider has 0 and 0." + OWN
        ),
        parameters=[id_parameter("id", "The provider's id.")],
        responses={200: PartnerAverageRatingOutput},
    )
    def get(self, request, id):
        provider_id = partner_provider_get(partner=request.auth.partner, provider_id=id).pk
        try:
            summary = rating_summary_get(provider_id=provider_id)
        except NotFound:
            raise NotFound(NOT_FOUND) from None
        body = {
            "serviceProviderId": provider_id,
            # The stored average is a generated column an unrated provider's (unsaved) summary lacks.
            "averageRating": summary.sum / summary.count if summary.count else 0,
            "totalRatings": summary.count,
            "lastUpdated": summary.updated_at if summary.count else None,
        }
        return Response(PartnerAverageRatingOutput(body).data)


class RatingListView(PartnerAPIView):
    required_scopes = {"POST": Scope.RATINGS_WRITE}

    @partner_operation(
        operation_id="partner_ratings_create",
        summary="Rate a service provider",
        description=(
            "A customer rates a provider from 1 to 5 stars (a JSON integer) with an optional comment. One "
            "rating per customer and provider (409); the same request again (same score and comment) returns "
            "the rating this partner made, with `201` (a retry or a re-run). A comment that trips an automatic "
            "hold rule waits "
            "for moderation: it counts in the average, and notifies the provider, once published. "
            "The customer and the provider must be the partner's: anything else is a 404."
        ),
        request=PartnerRatingCreateInput,
        responses={
            201: PartnerRatingOutput,
            404: error(404, "Customer or service provider not found, or not this partner's."),
            409: error(409, "This customer has already rated this provider."),
        },
    )
    def post(self, request):
        data = PartnerRatingCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        rating = partner_rating_create(
            partner=request.auth.partner,
            customer_id=values["customerId"],
            provider_id=values["serviceProviderId"],
            score=values["rating"],
            comment=values["comment"],
        )
        return Response(PartnerRatingOutput(rating).data, status=status.HTTP_201_CREATED)


class RatingDetailView(PartnerAPIView):
    required_scopes = {"GET": Scope.READ}

    @partner_operation(
        operation_id="partner_ratings_retrieve",
        summary="A rating",
        description="A rating the partner made, by id, whatever its moderation status." + OWN,
        parameters=[id_parameter("id", "The rating's id.")],
        responses={200: PartnerRatingOutput},
    )
    def get(self, request, id):
        return Response(PartnerRatingOutput(partner_rating_get(partner=request.auth.partner, rating_id=id)).data)
