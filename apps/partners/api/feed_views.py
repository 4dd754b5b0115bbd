"""The partner views both deployments serve: the base class, the health check and the
notification feed. Nothing here imports the ratings, providers or customers apps, which the
separate notifications deployment does not install."""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers
from rest_framework.response import Response

from apps.core.api.base import APIView
from apps.core.exceptions import NotFound
from apps.core.renderers import ORJSONRenderer
from apps.core.serializers import QueryInput
from apps.partners.api.authentication import HasPartnerKey, PartnerKeyThrottle, partner_authentication
from apps.partners.api.errors import partner_exception_handler
from apps.partners.api.schema import PartnerAutoSchema, error, partner_operation
from apps.partners.feed import FEED_PAGE_SIZE, feed_consume, feed_since
from apps.partners.ids import parse_id


class PartnerAPIView(APIView):
    """A partner API view: a partner key only (a user's JWT is a 401), throttled per key,
    errors in the partner shape."""

    authentication_classes = [partner_authentication()]
    permission_classes = [HasPartnerKey]
    throttle_classes = [PartnerKeyThrottle]
    # JSON only: a machine client, and no browsable page that would answer HTML to a browser's Accept.
    renderer_classes = [ORJSONRenderer]
    schema = PartnerAutoSchema()

    def get_exception_handler(self):
        return partner_exception_handler


def id_parameter(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.UUID, OpenApiParameter.PATH, description=description)


class HealthcheckView(PartnerAPIView):
    @partner_operation(
        operation_id="partner_healthcheck",
        summary="Partner API health check",
        description=(
            '`"OK <version>"` (a JSON string) when the service answers and the partner key is valid: a '
            "partner checks its base URL and key with it. Orchestrators probe `/healthz` and `/readyz`."
        ),
        responses={200: OpenApiResponse(OpenApiTypes.STR, description="`OK <API version>`")},
    )
    def get(self, request):
        return Response(f"OK {settings.SPECTACULAR_SETTINGS['VERSION']}")


class PartnerFeedQuery(QueryInput):
    lastChecked = serializers.DateTimeField(
        required=False,
        help_text=(
            "RFC 3339 timestamp: return the items created after it, handed out before or not, and consume none."
        ),
    )


class PartnerFeedItemOutput(serializers.Serializer):
    id = serializers.UUIDField()
    serviceProviderId = serializers.UUIDField(source="service_provider_id")
    message = serializers.CharField()
    ratingId = serializers.UUIDField(source="rating_id")
    createdAt = serializers.DateTimeField(source="created_at")


class PartnerFeedOutput(serializers.Serializer):
    notifications = PartnerFeedItemOutput(many=True)
    hasMore = serializers.BooleanField(help_text="More items wait: read again.")


class NotificationFeedView(PartnerAPIView):
    @partner_operation(
        operation_id="partner_notifications_feed",
        summary="A provider's new-rating notifications",
        description=(
            "The provider's notifications of new published ratings, oldest first, at most "
            f"{FEED_PAGE_SIZE} per response. Without `lastChecked` the read consumes: each notification "
            "is returned once (to one reader, even under concurrent reads), and `hasMore` says whether "
            "more wait. With `lastChecked` it returns the notifications created after that instant, "
            "consumed or not, and consumes none. `message` reads "
            '`New N-star rating received from <customer name>: "<comment, first 140 characters>"`. '
            "An id that is no UUID is a 404; an unknown provider has no notifications (an empty list: "
            "this service does not know the providers). Ratings held for review are "
            "announced only once published, not in this feed."
        ),
        parameters=[id_parameter("serviceProviderId", "The provider's id."), PartnerFeedQuery],
        responses={200: PartnerFeedOutput, 400: error(400)},
    )
    def get(self, request, **kwargs):
        query = PartnerFeedQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        provider_id = parse_id(kwargs["serviceProviderId"])
        if provider_id is None:
            raise NotFound("Service provider not found.")
        if (last_checked := query.validated_data.get("lastChecked")) is not None:
            items, has_more = feed_since(provider_id=provider_id, last_checked=last_checked)
        else:
            items, has_more = feed_consume(provider_id=provider_id)
        return Response(PartnerFeedOutput({"notifications": items, "hasMore": has_more}).data)
