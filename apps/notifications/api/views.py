"""The inbox API. The recipient is the authenticated user's id: with the stateless JWT
authentication of the separate deployment that is the token's ``user_id`` claim, read
without touching the users table."""

from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from apps.accounts.authentication import JWTStatelessAuthentication
from apps.core.openapi import conflict_response
from apps.notifications import selectors, services
from apps.notifications.api.serializers import (
    DeliveryListQuery,
    DeliveryOutput,
    DeviceOutput,
    DeviceRegisterInput,
    NotificationListQuery,
    NotificationOutput,
    PreferenceListOutput,
    PreferencesUpdateInput,
    ReadAllOutput,
    ReplayedOutput,
    UnreadCountOutput,
    WebhookCreateInput,
    WebhookOutput,
    WebhookRecoverInput,
    WebhookSecretOutput,
    WebhookTestOutput,
)
from apps.notifications.api.throttling import WebhookTestThrottle
from apps.notifications.models import Delivery, Device, Notification, WebhookEndpoint


def _recipient_id(request) -> UUID:
    return UUID(str(request.user.id))


# The two hot reads (the inbox and its unread badge) need only the user id: take it from the
# verified token, as the notifications deployment does, instead of loading the user row (and
# its profiles) on every poll. The token is still checked (signature, expiry); a deactivated
# user keeps reading their own inbox until the access token expires (JWT_ACCESS_MINUTES).
# Writes keep the default authentication, which checks the user row.
STATELESS_READ_AUTHENTICATION = [JWTStatelessAuthentication, SessionAuthentication]


class NotificationListView(GenericAPIView):
    """The user's inbox, newest first."""

    queryset = Notification.objects.none()
    serializer_class = NotificationOutput
    authentication_classes = STATELESS_READ_AUTHENTICATION

    @extend_schema(
        operation_id="notifications_list",
        tags=["notifications"],
        parameters=[NotificationListQuery],
        responses={200: NotificationOutput(many=True)},
    )
    def get(self, request):
        query = NotificationListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        queryset = selectors.notification_list(recipient_id=_recipient_id(request), **query.validated_data)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(NotificationOutput(page, many=True).data)


class NotificationUnreadCountView(APIView):
    authentication_classes = STATELESS_READ_AUTHENTICATION

    @extend_schema(
        operation_id="notifications_unread_count", tags=["notifications"], responses={200: UnreadCountOutput}
    )
    def get(self, request):
        count = selectors.notification_unread_count(recipient_id=_recipient_id(request))
        return Response(UnreadCountOutput({"unread": count}).data)


class NotificationReadView(APIView):
    @extend_schema(
        operation_id="notifications_read",
        tags=["notifications"],
        request=None,
        responses={200: NotificationOutput},
    )
    def post(self, request, notification_id: UUID):
        notification = services.notification_mark_read(
            recipient_id=_recipient_id(request), notification_id=notification_id
        )
        return Response(NotificationOutput(notification).data)


class NotificationReadAllView(APIView):
    @extend_schema(
        operation_id="notifications_read_all", tags=["notifications"], request=None, responses={200: ReadAllOutput}
    )
    def post(self, request):
        updated = services.notifications_mark_all_read(recipient_id=_recipient_id(request))
        return Response(ReadAllOutput({"updated": updated}).data)


class NotificationPreferencesView(APIView):
    """Channel switches per event type; the effective value is shown whether chosen or default."""

    @extend_schema(
        operation_id="notifications_preferences_get", tags=["notifications"], responses={200: PreferenceListOutput}
    )
    def get(self, request):
        preferences = selectors.preference_list(recipient_id=_recipient_id(request))
        return Response(PreferenceListOutput({"preferences": preferences}).data)

    @extend_schema(
        operation_id="notifications_preferences_update",
        tags=["notifications"],
        request=PreferencesUpdateInput,
        responses={200: PreferenceListOutput},
    )
    def patch(self, request):
        data = PreferencesUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        recipient_id = _recipient_id(request)
        services.preferences_update(recipient_id=recipient_id, changes=data.validated_data["preferences"])
        preferences = selectors.preference_list(recipient_id=recipient_id)
        return Response(PreferenceListOutput({"preferences": preferences}).data)


class WebhookListView(GenericAPIView):
    """The user's webhook endpoints; the secret is shown only when created or rotated."""

    queryset = WebhookEndpoint.objects.none()
    serializer_class = WebhookOutput

    @extend_schema(
        operation_id="notifications_webhooks_list", tags=["webhooks"], responses={200: WebhookOutput(many=True)}
    )
    def get(self, request):
        page = self.paginate_queryset(selectors.webhook_list(recipient_id=_recipient_id(request)))
        return self.get_paginated_response(WebhookOutput(page, many=True).data)

    @extend_schema(
        operation_id="notifications_webhooks_create",
        tags=["webhooks"],
        request=WebhookCreateInput,
        responses={201: WebhookSecretOutput},
    )
    def post(self, request):
        data = WebhookCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.webhook_create(recipient_id=_recipient_id(request), **data.validated_data)
        return Response(WebhookSecretOutput(endpoint).data, status=status.HTTP_201_CREATED)


class WebhookDetailView(APIView):
    @extend_schema(operation_id="notifications_webhooks_delete", tags=["webhooks"], responses={204: None})
    def delete(self, request, endpoint_id: UUID):
        services.webhook_delete(recipient_id=_recipient_id(request), endpoint_id=endpoint_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookRotateSecretView(APIView):
    @extend_schema(
        operation_id="notifications_webhooks_rotate_secret",
        tags=["webhooks"],
        request=None,
        responses={200: WebhookSecretOutput},
    )
    def post(self, request, endpoint_id: UUID):
        endpoint = services.webhook_rotate_secret(recipient_id=_recipient_id(request), endpoint_id=endpoint_id)
        return Response(WebhookSecretOutput(endpoint).data)


class WebhookTestView(APIView):
    """Test sends are rate-limited per user (THROTTLE_WEBHOOK_TEST, default 5/min): 429 with Retry-After."""

    throttle_classes = [*api_settings.DEFAULT_THROTTLE_CLASSES, WebhookTestThrottle]

    @extend_schema(
        operation_id="notifications_webhooks_test", tags=["webhooks"], request=None, responses={202: WebhookTestOutput}
    )
    def post(self, request, endpoint_id: UUID):
        delivery = services.webhook_test(recipient_id=_recipient_id(request), endpoint_id=endpoint_id)
        return Response(WebhookTestOutput({"delivery_id": delivery.pk}).data, status=status.HTTP_202_ACCEPTED)


class WebhookRecoverView(APIView):
    """Re-enable the endpoint and re-send its dead deliveries since ``since``."""

    @extend_schema(
        operation_id="notifications_webhooks_recover",
        tags=["webhooks"],
        request=WebhookRecoverInput,
        responses={200: ReplayedOutput},
    )
    def post(self, request, endpoint_id: UUID):
        data = WebhookRecoverInput(data=request.data)
        data.is_valid(raise_exception=True)
        replayed = services.webhook_recover(
            recipient_id=_recipient_id(request), endpoint_id=endpoint_id, since=data.validated_data["since"]
        )
        return Response(ReplayedOutput({"replayed": replayed}).data)


class DeliveryListView(GenericAPIView):
    """The user's own delivery log (email, push, webhook), newest first."""

    queryset = Delivery.objects.none()
    serializer_class = DeliveryOutput

    @extend_schema(
        operation_id="notifications_deliveries_list",
        tags=["webhooks"],
        parameters=[DeliveryListQuery],
        responses={200: DeliveryOutput(many=True)},
    )
    def get(self, request):
        query = DeliveryListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        queryset = selectors.delivery_list(recipient_id=_recipient_id(request), **query.validated_data)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(DeliveryOutput(page, many=True).data)


class DeliveryReplayView(APIView):
    @extend_schema(
        operation_id="notifications_deliveries_replay", tags=["webhooks"], request=None, responses={202: DeliveryOutput}
    )
    def post(self, request, delivery_id: UUID):
        delivery = services.delivery_replay(recipient_id=_recipient_id(request), delivery_id=delivery_id)
        return Response(DeliveryOutput(delivery).data, status=status.HTTP_202_ACCEPTED)


class DeviceListView(GenericAPIView):
    """Push devices; registering a known token again refreshes it (200) instead of adding one."""

    queryset = Device.objects.none()
    serializer_class = DeviceOutput

    @extend_schema(operation_id="notifications_devices_list", tags=["push"], responses={200: DeviceOutput(many=True)})
    def get(self, request):
        page = self.paginate_queryset(selectors.device_list(recipient_id=_recipient_id(request)))
        return self.get_paginated_response(DeviceOutput(page, many=True).data)

    @extend_schema(
        operation_id="notifications_devices_register",
        tags=["push"],
        description=(
            "Registers a device; registering a known token again refreshes it (200) instead of adding one. "
            "A user has at most NOTIFICATIONS_MAX_DEVICES devices (default 10): one more is 409 `too_many_devices`."
        ),
        request=DeviceRegisterInput,
        responses={200: DeviceOutput, 201: DeviceOutput, 409: conflict_response("too_many_devices")},
    )
    def post(self, request):
        data = DeviceRegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        device, created = services.device_register(recipient_id=_recipient_id(request), **data.validated_data)
        return Response(DeviceOutput(device).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class DeviceDetailView(APIView):
    @extend_schema(operation_id="notifications_devices_delete", tags=["push"], responses={204: None})
    def delete(self, request, device_id: UUID):
        services.device_delete(recipient_id=_recipient_id(request), device_id=device_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
