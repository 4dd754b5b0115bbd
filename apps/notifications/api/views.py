"""The inbox API. The recipient is the authenticated user's id: with the stateless JWT
authentication of the separate deployment that is the token's ``user_id`` claim, read
without touching the users table."""

from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.notifications import selectors, services
from apps.notifications.api.serializers import (
    NotificationListQuery,
    NotificationOutput,
    PreferenceListOutput,
    PreferencesUpdateInput,
    ReadAllOutput,
    UnreadCountOutput,
)
from apps.notifications.models import Notification


def _recipient_id(request) -> UUID:
    return UUID(str(request.user.id))


class NotificationListView(GenericAPIView):
    """The user's inbox, newest first."""

    queryset = Notification.objects.none()
    serializer_class = NotificationOutput

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
