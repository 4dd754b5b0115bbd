"""Push devices of the user."""

from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from apps.core.api.base import APIView, GenericAPIView
from apps.core.openapi import conflict_response
from apps.notifications import selectors, services
from apps.notifications.api.recipient import recipient_id_of
from apps.notifications.api.serializers import (
    DeviceOutput,
    DeviceRegisterInput,
)
from apps.notifications.models import Device


class DeviceListView(GenericAPIView):
    """Push devices; registering a known token again refreshes it (200) instead of adding one."""

    queryset = Device.objects.none()
    serializer_class = DeviceOutput

    @extend_schema(
        operation_id="notifications_devices_list",
        summary="List push devices",
        description=("The signed-in user's registered push devices."),
        tags=["push"],
        responses={200: DeviceOutput(many=True)},
    )
    def get(self, request):
        page = self.paginate_queryset(selectors.device_list(recipient_id=recipient_id_of(request)))
        return self.get_paginated_response(DeviceOutput(page, many=True).data)

    @extend_schema(
        operation_id="notifications_devices_register",
        summary="Register a push device",
        description=(
            "Registers a push token for the signed-in user (201); registering a token already known refreshes "
            "it (200) instead of adding one. A user has at most NOTIFICATIONS_MAX_DEVICES devices (default "
            "10): one more is 409 `too_many_devices`."
        ),
        tags=["push"],
        request=DeviceRegisterInput,
        responses={200: DeviceOutput, 201: DeviceOutput, 409: conflict_response("too_many_devices")},
    )
    def post(self, request):
        data = DeviceRegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        device, created = services.device_register(recipient_id=recipient_id_of(request), **data.validated_data)
        return Response(DeviceOutput(device).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class DeviceDetailView(APIView):
    @extend_schema(
        operation_id="notifications_devices_delete",
        summary="Remove a push device",
        description=("Removes one of the caller's devices; it receives no more pushes. Another user's device is 404."),
        tags=["push"],
        responses={204: None},
    )
    def delete(self, request, device_id: UUID):
        services.device_delete(recipient_id=recipient_id_of(request), device_id=device_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
