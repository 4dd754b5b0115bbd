"""The user's webhook endpoints: create, read, change, delete, rotate the secret, test, recover."""

from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.settings import api_settings

from apps.core.api.base import APIView, GenericAPIView
from apps.core.openapi import raises
from apps.notifications import selectors, services
from apps.notifications.api.recipient import recipient_id_of
from apps.notifications.api.serializers import (
    ReplayedOutput,
    WebhookCreateInput,
    WebhookOutput,
    WebhookRecoverInput,
    WebhookSecretOutput,
    WebhookTestOutput,
    WebhookUpdateInput,
)
from apps.notifications.api.throttling import WebhookTestThrottle
from apps.notifications.models import WebhookEndpoint


class WebhookListView(GenericAPIView):
    """The user's webhook endpoints; the secret is shown only when created or rotated."""

    queryset = WebhookEndpoint.objects.none()
    serializer_class = WebhookOutput

    @extend_schema(
        operation_id="notifications_webhooks_list",
        summary="List webhook endpoints",
        description=(
            "The signed-in user's webhook endpoints. The signing secret is never shown here, only when an "
            "endpoint is created or its secret rotated."
        ),
        tags=["webhooks"],
        responses={200: WebhookOutput(many=True)},
    )
    def get(self, request):
        page = self.paginate_queryset(selectors.webhook_list(recipient_id=recipient_id_of(request)))
        return self.get_paginated_response(WebhookOutput(page, many=True).data)

    @extend_schema(
        operation_id="notifications_webhooks_create",
        summary="Add a webhook endpoint",
        description=(
            "Registers a URL that receives the chosen event types (all when none are given) as signed POSTs "
            "(Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature`). The answer shows "
            "the signing secret, once. The URL must be http(s) to a public address (400 `invalid_url`); a "
            "user has a bounded number of endpoints (400 `too_many_endpoints`). `description`, "
            "`rate_per_second` and `headers` may be set here too, as by PATCH (400 `invalid_headers`)."
        ),
        tags=["webhooks"],
        request=WebhookCreateInput,
        responses={201: WebhookSecretOutput},
    )
    @raises(services.InvalidWebhookURL, services.UnknownEventType, services.TooManyEndpoints, services.InvalidHeaders)
    def post(self, request):
        data = WebhookCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.webhook_create(recipient_id=recipient_id_of(request), **data.validated_data)
        return Response(WebhookSecretOutput(endpoint).data, status=status.HTTP_201_CREATED)


class WebhookDetailView(APIView):
    @extend_schema(
        operation_id="notifications_webhooks_retrieve",
        summary="Show a webhook endpoint",
        description="One of the caller's endpoints, without its secret. Another user's endpoint is 404.",
        tags=["webhooks"],
        responses={200: WebhookOutput},
    )
    def get(self, request, endpoint_id: UUID):
        endpoint = selectors.webhook_get(recipient_id=recipient_id_of(request), endpoint_id=endpoint_id)
        return Response(WebhookOutput(endpoint).data)

    @extend_schema(
        operation_id="notifications_webhooks_update",
        summary="Change a webhook endpoint",
        description=(
            "Changes the fields sent (url, description, event types, enabled, rate per second, custom "
            "headers); `headers` replaces the whole set. A new URL passes the same checks as at creation "
            "(400 `invalid_url`); a refused header is 400 `invalid_headers`. Enabling a disabled endpoint "
            "clears its failure run; its dead deliveries are re-sent only by a recovery. Another user's "
            "endpoint is 404."
        ),
        tags=["webhooks"],
        request=WebhookUpdateInput,
        responses={200: WebhookOutput},
    )
    @raises(services.InvalidWebhookURL, services.UnknownEventType, services.InvalidHeaders)
    def patch(self, request, endpoint_id: UUID):
        data = WebhookUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.webhook_update(
            recipient_id=recipient_id_of(request), endpoint_id=endpoint_id, **data.validated_data
        )
        return Response(WebhookOutput(endpoint).data)

    @extend_schema(
        operation_id="notifications_webhooks_delete",
        summary="Remove a webhook endpoint",
        description=(
            "Removes one of the caller's endpoints; its deliveries stay in the log and are not sent "
            "any more. Another user's endpoint is 404."
        ),
        tags=["webhooks"],
        responses={204: None},
    )
    def delete(self, request, endpoint_id: UUID):
        services.webhook_delete(recipient_id=recipient_id_of(request), endpoint_id=endpoint_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookRotateSecretView(APIView):
    @extend_schema(
        operation_id="notifications_webhooks_rotate_secret",
        summary="Rotate a webhook secret",
        description=(
            "Replaces the endpoint's signing secret and shows the new one, once. For WEBHOOK_SECRET_GRACE "
            "seconds deliveries carry a signature with the old secret too, so the receiver can switch "
            "without rejecting events."
        ),
        tags=["webhooks"],
        request=None,
        responses={200: WebhookSecretOutput},
    )
    def post(self, request, endpoint_id: UUID):
        endpoint = services.webhook_rotate_secret(recipient_id=recipient_id_of(request), endpoint_id=endpoint_id)
        return Response(WebhookSecretOutput(endpoint).data)


class WebhookTestView(APIView):
    """Test sends are rate-limited per user (THROTTLE_WEBHOOK_TEST, default 5/min): 429 with Retry-After."""

    throttle_classes = [*api_settings.DEFAULT_THROTTLE_CLASSES, WebhookTestThrottle]

    @extend_schema(
        operation_id="notifications_webhooks_test",
        summary="Send a test event",
        description=(
            "Queues a `webhook.test` delivery to the endpoint and returns its id; follow it in the delivery "
            "log. Test sends are rate-limited per user (429 with `Retry-After`)."
        ),
        tags=["webhooks"],
        request=None,
        responses={202: WebhookTestOutput},
    )
    def post(self, request, endpoint_id: UUID):
        delivery = services.webhook_test(recipient_id=recipient_id_of(request), endpoint_id=endpoint_id)
        return Response(WebhookTestOutput({"delivery_id": delivery.pk}).data, status=status.HTTP_202_ACCEPTED)


class WebhookRecoverView(APIView):
    """Re-enable the endpoint and re-send its failed deliveries since ``since``, in order."""

    @extend_schema(
        operation_id="notifications_webhooks_recover",
        summary="Recover a webhook endpoint",
        description=(
            "Re-enables the endpoint and re-sends, oldest first, its failed deliveries (dead, or waiting for "
            "a retry) created since `since`, each with a fresh attempt budget; returns how many were queued. "
            "Calling it again queues nothing twice: the deliveries it queued are no longer failed."
        ),
        tags=["webhooks"],
        request=WebhookRecoverInput,
        responses={200: ReplayedOutput},
    )
    def post(self, request, endpoint_id: UUID):
        data = WebhookRecoverInput(data=request.data)
        data.is_valid(raise_exception=True)
        replayed = services.webhook_recover(
            recipient_id=recipient_id_of(request), endpoint_id=endpoint_id, since=data.validated_data["since"]
        )
        return Response(ReplayedOutput({"replayed": replayed}).data)
