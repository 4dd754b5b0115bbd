"""The user's own delivery log, and the replay of a dead delivery."""

from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from apps.core.api.base import APIView, GenericAPIView
from apps.core.openapi import raises
from apps.notifications import selectors, services
from apps.notifications.api.recipient import recipient_id_of
from apps.notifications.api.serializers import (
    DeliveryAttemptOutput,
    DeliveryListQuery,
    DeliveryOutput,
)
from apps.notifications.models import Delivery


class DeliveryListView(GenericAPIView):
    """The user's own delivery log (email, push, webhook), newest first."""

    queryset = Delivery.objects.none()
    serializer_class = DeliveryOutput

    @extend_schema(
        operation_id="notifications_deliveries_list",
        summary="List deliveries",
        description=(
            "The signed-in user's own delivery log (email, push and webhook sends), newest first, "
            "cursor-paginated; `status`, `channel`, `endpoint` (a webhook endpoint's id) and `event_type` "
            "narrow it (an unknown value is 400). Each entry shows its attempts, last error and receiver status."
        ),
        tags=["webhooks"],
        parameters=[DeliveryListQuery],
        responses={200: DeliveryOutput(many=True)},
    )
    def get(self, request):
        query = DeliveryListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        queryset = selectors.delivery_list(recipient_id=recipient_id_of(request), **query.validated_data)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(DeliveryOutput(page, many=True).data)


class DeliveryReplayView(APIView):
    @extend_schema(
        operation_id="notifications_deliveries_replay",
        summary="Replay a delivery",
        description=(
            "Queues a dead delivery of the caller's once more, with a fresh attempt budget; a delivery that "
            "is not dead is 409 `delivery_not_dead`."
        ),
        tags=["webhooks"],
        request=None,
        responses={202: DeliveryOutput},
    )
    @raises(services.DeliveryNotDead)
    def post(self, request, delivery_id: UUID):
        delivery = services.delivery_replay(recipient_id=recipient_id_of(request), delivery_id=delivery_id)
        return Response(DeliveryOutput(delivery).data, status=status.HTTP_202_ACCEPTED)


class DeliveryAttemptsView(APIView):
    @extend_schema(
        operation_id="notifications_deliveries_attempts",
        summary="List a delivery's attempts",
        description=(
            "Each attempt of one of the caller's deliveries, oldest first: when it ended, its outcome, the "
            "receiver's status code, the start of its answer (webhooks), duration and error. A first send "
            "that succeeded is kept on the delivery itself, not as an attempt row: it is shown from there, "
            "without a response excerpt. Another user's delivery is 404."
        ),
        tags=["webhooks"],
        responses={200: DeliveryAttemptOutput(many=True)},
    )
    def get(self, request, delivery_id: UUID):
        attempts = selectors.delivery_attempts(recipient_id=recipient_id_of(request), delivery_id=delivery_id)
        return Response(DeliveryAttemptOutput(attempts, many=True).data)
