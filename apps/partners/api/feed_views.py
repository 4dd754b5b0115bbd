"""The partner API's base view, the health check and Homerun's notification-service paths."""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from apps.core.api.base import APIView
from apps.core.fields import StrictIntegerField
from apps.core.renderers import ORJSONRenderer
from apps.core.serializers import JSONInput, QueryInput
from apps.partners.api.authentication import PartnerKeyAccess
from apps.partners.api.errors import partner_exception_handler
from apps.partners.api.schema import PartnerAutoSchema, error, partner_operation
from apps.partners.feed import CREATED_MESSAGE, FEED_PAGE_SIZE, feed_consume, feed_item_create
from apps.partners.ids import parse_id
from apps.partners.models import Scope


class PartnerAPIView(PartnerKeyAccess, APIView):
    """A partner API view (``PartnerKeyAccess``) with errors in the partner shape."""

    # JSON only: a machine client, and no browsable page that would answer HTML to a browser's Accept.
    renderer_classes = [ORJSONRenderer]
    schema = PartnerAutoSchema()

    def get_exception_handler(self):
        return partner_exception_handler


def id_parameter(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.UUID, OpenApiParameter.PATH, description=description)


class HealthcheckView(APIView):
    """Public, as Homerun's: load balancers and uptime checks call it without a key."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    renderer_classes = [ORJSONRenderer]

    @extend_schema(
        operation_id="partner_healthcheck",
        summary="Partner API health check",
        description=(
            '`"OK <version>"` (a JSON string) when the service answers; public (no key), `GET` and `HEAD`, '
            "as Homerun's. Orchestrators probe `/healthz` and `/readyz`."
        ),
        tags=["partner"],
        responses={200: OpenApiResponse(OpenApiTypes.STR, description="`OK <API version>`")},
    )
    def get(self, request):
        return Response(f"OK {settings.SPECTACULAR_SETTINGS['VERSION']}")


class PartnerFeedQuery(QueryInput):
    lastChecked = serializers.DateTimeField(
        required=False,
        help_text="RFC 3339 timestamp: only items created after it (still consumed, as in Homerun).",
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
    required_scopes = {"GET": Scope.FEED_READ}

    @partner_operation(
        operation_id="partner_notifications_feed",
        summary="The partner's notifications for a provider",
        description=(
            "The partner's own feed for the provider, oldest first, at most "
            f"{FEED_PAGE_SIZE} per response: notices of new published ratings of its providers (created or "
            "granted) and what it posted to `/api/internal/notifications`. A read consumes, as Homerun's: each "
            "notification is returned once (to one reader, even under concurrent reads); with `lastChecked` "
            "only those created after that instant are returned (and consumed). `hasMore` says more wait. "
            '`message` reads `New N-star rating received from <customer name>: "<comment>"` (without the '
            "comment part when there is none). The provider's in-app notification settings do not apply: the "
            "feed is the partner's. An id that is no UUID, or a provider with nothing for this partner, is an "
            "empty list (Homerun's answer). Needs the `feed:read` scope."
        ),
        parameters=[
            OpenApiParameter(
                "serviceProviderId", OpenApiTypes.STR, OpenApiParameter.PATH, description="The provider's id."
            ),
            PartnerFeedQuery,
        ],
        responses={200: PartnerFeedOutput, 400: error(400)},
    )
    def get(self, request, **kwargs):
        query = PartnerFeedQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        provider_id = parse_id(kwargs["serviceProviderId"])
        if provider_id is None:
            items, has_more = [], False
        else:
            items, has_more = feed_consume(
                partner=request.auth.partner,
                provider_id=provider_id,
                last_checked=query.validated_data.get("lastChecked"),
            )
        return Response(PartnerFeedOutput({"notifications": items, "hasMore": has_more}).data)


class InternalNotificationInput(JSONInput):
    serviceProviderId = serializers.UUIDField()
    ratingId = serializers.UUIDField()
    rating = StrictIntegerField(min_value=1, max_value=5)
    customerName = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    comment = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class InternalNotificationOutput(serializers.Serializer):
    id = serializers.UUIDField()
    message = serializers.CharField()


class InternalNotificationView(PartnerAPIView):
    required_scopes = {"POST": Scope.NOTIFICATIONS_WRITE}

    @partner_operation(
        operation_id="partner_internal_notifications_create",
        summary="Post a notification to the partner's feed",
        description=(
            "Homerun's notification-service intake: a notice for any provider id (known here or not), put in "
            "this partner's feed, worded as a rating notice (`message` above). When the id is one of this "
            "partner's providers (created or granted), the provider is told too, through its own channels "
            "and preferences (event type `partner.notification`). Answers "
            f'`201 {{"id", "message": "{CREATED_MESSAGE}"}}`. Needs the `notifications:write` scope.'
        ),
        request=InternalNotificationInput,
        responses={201: InternalNotificationOutput},
    )
    def post(self, request):
        data = InternalNotificationInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        item = feed_item_create(
            partner=request.auth.partner,
            provider_id=values["serviceProviderId"],
            rating_id=values["ratingId"],
            score=values["rating"],
            customer_name=values["customerName"],
            comment=values["comment"],
        )
        body = InternalNotificationOutput({"id": item.pk, "message": CREATED_MESSAGE}).data
        return Response(body, status=status.HTTP_201_CREATED)
