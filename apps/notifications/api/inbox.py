"""The inbox: its list, counts and the state of its items (read, unread, archived, seen)."""

from uuid import UUID

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.response import Response

from apps.core.api.base import APIView, GenericAPIView
from apps.notifications import selectors, services
from apps.notifications.api.recipient import STATELESS_READ_AUTHENTICATION, recipient_id_of
from apps.notifications.api.serializers import (
    CountsOutput,
    NotificationListQuery,
    NotificationOutput,
    ReadAllOutput,
    SeenInput,
    SeenOutput,
    UnreadCountOutput,
)
from apps.notifications.models import Notification


class NotificationListView(GenericAPIView):
    """The user's inbox, newest first."""

    queryset = Notification.objects.none()
    serializer_class = NotificationOutput
    authentication_classes = STATELESS_READ_AUTHENTICATION

    @extend_schema(
        operation_id="notifications_list",
        summary="List the inbox",
        description=(
            "The signed-in user's inbox, newest first, cursor-paginated; `unread=true` lists unread items "
            "only, `type` one event type. Archived items are left out; `archived=true` lists them instead."
        ),
        tags=["notifications"],
        parameters=[NotificationListQuery],
        responses={200: NotificationOutput(many=True)},
    )
    def get(self, request):
        query = NotificationListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        queryset = selectors.notification_list(recipient_id=recipient_id_of(request), **query.validated_data)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(NotificationOutput(page, many=True).data)


class NotificationUnreadCountView(APIView):
    authentication_classes = STATELESS_READ_AUTHENTICATION

    @extend_schema(
        operation_id="notifications_unread_count",
        summary="Count unread items",
        description=("The number of unread items in the signed-in user's inbox (for a badge)."),
        tags=["notifications"],
        responses={200: UnreadCountOutput},
    )
    def get(self, request):
        count = selectors.notification_unread_count(recipient_id=recipient_id_of(request))
        return Response(UnreadCountOutput({"unread": count}).data)


class NotificationCountsView(APIView):
    authentication_classes = STATELESS_READ_AUTHENTICATION

    @extend_schema(
        operation_id="notifications_counts",
        summary="Count items by state",
        description=(
            "Several badges in one call: unread and unseen items of the inbox (archived items left out), "
            "archived items, and every item."
        ),
        tags=["notifications"],
        responses={200: CountsOutput},
    )
    def get(self, request):
        counts = selectors.notification_counts(recipient_id=recipient_id_of(request))
        return Response(CountsOutput(counts).data)


class NotificationSeenView(APIView):
    @extend_schema(
        operation_id="notifications_seen",
        summary="Mark items seen",
        description=(
            "Marks the given items of the caller's (up to 100 ids) seen: shown on their screen, so no longer "
            "counted as new. Returns how many changed; ids of items seen already or not the caller's are "
            "left alone."
        ),
        tags=["notifications"],
        request=SeenInput,
        responses={200: SeenOutput},
    )
    def post(self, request):
        data = SeenInput(data=request.data)
        data.is_valid(raise_exception=True)
        updated = services.notifications_mark_seen(
            recipient_id=recipient_id_of(request), notification_ids=data.validated_data["ids"]
        )
        return Response(SeenOutput({"updated": updated}).data)


def _state_schema(**operation):
    return extend_schema_view(
        post=extend_schema(**operation, tags=["notifications"], request=None, responses={200: NotificationOutput})
    )


class NotificationStateView(APIView):
    """One state change of one item of the caller's inbox, returning the item: the read, unread,
    archive and unarchive paths differ only in ``change``. Another user's item is 404."""

    # A service ``(*, recipient_id, notification_id) -> Notification``.
    change: staticmethod

    def post(self, request, notification_id: UUID):
        notification = self.change(recipient_id=recipient_id_of(request), notification_id=notification_id)
        return Response(NotificationOutput(notification).data)


@_state_schema(
    operation_id="notifications_read",
    summary="Mark an item read",
    description=(
        "Marks one item of the caller's inbox read and returns it; marking it again changes nothing. "
        "Another user's item is 404."
    ),
)
class NotificationReadView(NotificationStateView):
    change = staticmethod(services.notification_mark_read)


@_state_schema(
    operation_id="notifications_unread",
    summary="Mark an item unread",
    description=(
        "Makes one item of the caller's inbox unread again and returns it; marking it again changes "
        "nothing. Another user's item is 404."
    ),
)
class NotificationUnreadView(NotificationStateView):
    change = staticmethod(services.notification_mark_unread)


@_state_schema(
    operation_id="notifications_archive",
    summary="Archive an item",
    description=(
        "Moves one item of the caller's out of the inbox list and its unread and unseen counts, and "
        "returns it; archiving it again changes nothing. Another user's item is 404."
    ),
)
class NotificationArchiveView(NotificationStateView):
    change = staticmethod(services.notification_archive)


@_state_schema(
    operation_id="notifications_unarchive",
    summary="Unarchive an item",
    description=(
        "Brings an archived item of the caller's back into the inbox, with its read and seen state, and "
        "returns it; an item not archived is unchanged. Another user's item is 404."
    ),
)
class NotificationUnarchiveView(NotificationStateView):
    change = staticmethod(services.notification_unarchive)


class NotificationReadAllView(APIView):
    @extend_schema(
        operation_id="notifications_read_all",
        summary="Mark the inbox read",
        description=(
            "Marks every unread item of the caller's inbox read (archived items are left alone) and returns "
            "how many changed."
        ),
        tags=["notifications"],
        request=None,
        responses={200: ReadAllOutput},
    )
    def post(self, request):
        updated = services.notifications_mark_all_read(recipient_id=recipient_id_of(request))
        return Response(ReadAllOutput({"updated": updated}).data)
