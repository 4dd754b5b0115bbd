"""The inbox API. The recipient is the authenticated user's id: with the stateless JWT
authentication of the separate deployment that is the token's ``user_id`` claim, read
without touching the users table."""

from datetime import time
from uuid import UUID

from drf_spectacular.utils import extend_schema
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.response import Response
from rest_framework.settings import api_settings

from apps.accounts.authentication import JWTStatelessAuthentication
from apps.core.api.base import APIView, GenericAPIView
from apps.core.openapi import conflict_response, raises
from apps.notifications import selectors, services
from apps.notifications.api.serializers import (
    CountsOutput,
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
    ScheduleOutput,
    ScheduleUpdateInput,
    SeenInput,
    SeenOutput,
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
        queryset = selectors.notification_list(recipient_id=_recipient_id(request), **query.validated_data)
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
        count = selectors.notification_unread_count(recipient_id=_recipient_id(request))
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
        counts = selectors.notification_counts(recipient_id=_recipient_id(request))
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
            recipient_id=_recipient_id(request), notification_ids=data.validated_data["ids"]
        )
        return Response(SeenOutput({"updated": updated}).data)


class NotificationReadView(APIView):
    @extend_schema(
        operation_id="notifications_read",
        summary="Mark an item read",
        description=(
            "Marks one item of the caller's inbox read and returns it; marking it again changes nothing. "
            "Another user's item is 404."
        ),
        tags=["notifications"],
        request=None,
        responses={200: NotificationOutput},
    )
    def post(self, request, notification_id: UUID):
        notification = services.notification_mark_read(
            recipient_id=_recipient_id(request), notification_id=notification_id
        )
        return Response(NotificationOutput(notification).data)


class NotificationUnreadView(APIView):
    @extend_schema(
        operation_id="notifications_unread",
        summary="Mark an item unread",
        description=(
            "Makes one item of the caller's inbox unread again and returns it; marking it again changes "
            "nothing. Another user's item is 404."
        ),
        tags=["notifications"],
        request=None,
        responses={200: NotificationOutput},
    )
    def post(self, request, notification_id: UUID):
        notification = services.notification_mark_unread(
            recipient_id=_recipient_id(request), notification_id=notification_id
        )
        return Response(NotificationOutput(notification).data)


class NotificationArchiveView(APIView):
    @extend_schema(
        operation_id="notifications_archive",
        summary="Archive an item",
        description=(
            "Moves one item of the caller's out of the inbox list and its unread and unseen counts, and "
            "returns it; archiving it again changes nothing. Another user's item is 404."
        ),
        tags=["notifications"],
        request=None,
        responses={200: NotificationOutput},
    )
    def post(self, request, notification_id: UUID):
        notification = services.notification_archive(
            recipient_id=_recipient_id(request), notification_id=notification_id
        )
        return Response(NotificationOutput(notification).data)


class NotificationUnarchiveView(APIView):
    @extend_schema(
        operation_id="notifications_unarchive",
        summary="Unarchive an item",
        description=(
            "Brings an archived item of the caller's back into the inbox, with its read and seen state, and "
            "returns it; an item not archived is unchanged. Another user's item is 404."
        ),
        tags=["notifications"],
        request=None,
        responses={200: NotificationOutput},
    )
    def post(self, request, notification_id: UUID):
        notification = services.notification_unarchive(
            recipient_id=_recipient_id(request), notification_id=notification_id
        )
        return Response(NotificationOutput(notification).data)


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
        updated = services.notifications_mark_all_read(recipient_id=_recipient_id(request))
        return Response(ReadAllOutput({"updated": updated}).data)


# A null or non-object item of the list is an error on the item itself ("preferences.0").
@extend_validation_errors(["null"], field_name="preferences", methods=["patch"])
@extend_validation_errors(["null"], field_name="preferences.INDEX", methods=["patch"])
class NotificationPreferencesView(APIView):
    """Channel switches per event type; the effective value is shown whether chosen or default."""

    @extend_schema(
        operation_id="notifications_preferences_get",
        summary="Notification preferences",
        description=(
            "Every channel switch per event type, with its effective value whether chosen or default; "
            "critical ones cannot be turned off."
        ),
        tags=["notifications"],
        responses={200: PreferenceListOutput},
    )
    def get(self, request):
        preferences = selectors.preference_list(recipient_id=_recipient_id(request))
        return Response(PreferenceListOutput({"preferences": preferences}).data)

    @extend_schema(
        operation_id="notifications_preferences_update",
        summary="Change notification preferences",
        description=(
            "Sets the channel switches sent and returns every switch; switches not sent keep their value, and "
            "an empty body changes nothing. An unknown switch is 400 `unknown_preference`, turning off a "
            "critical one 400 `critical_preference`."
        ),
        tags=["notifications"],
        request=PreferencesUpdateInput,
        responses={200: PreferenceListOutput},
    )
    @raises(services.UnknownPreference, services.CriticalPreference)
    def patch(self, request):
        data = PreferencesUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        recipient_id = _recipient_id(request)
        services.preferences_update(recipient_id=recipient_id, changes=data.validated_data["preferences"])
        preferences = selectors.preference_list(recipient_id=recipient_id)
        return Response(PreferenceListOutput({"preferences": preferences}).data)


def _schedule_output(schedule) -> dict:
    quiet = None
    if schedule.quiet_start is not None and schedule.quiet_end is not None:
        quiet = {"start": f"{schedule.quiet_start:%H:%M}", "end": f"{schedule.quiet_end:%H:%M}"}
    return ScheduleOutput(
        {"time_zone": schedule.time_zone, "rating_emails": schedule.rating_emails, "quiet_hours": quiet}
    ).data


@extend_validation_errors(["null"], field_name="quiet_hours.start", methods=["patch"])
@extend_validation_errors(["null"], field_name="quiet_hours.end", methods=["patch"])
class NotificationScheduleView(APIView):
    """When emails and pushes go out: new-rating digests and quiet hours, in the user's time zone."""

    @extend_schema(
        operation_id="notifications_schedule_get",
        summary="Notification schedule",
        description=(
            "The signed-in user's time zone (IANA name), how new-rating emails arrive (`immediate`, or one "
            "`hourly` or `daily` digest per local hour or day) and quiet hours (local `HH:MM` times; a start "
            "after the end spans midnight), or the defaults: `UTC`, `immediate`, no quiet hours."
        ),
        tags=["notifications"],
        responses={200: ScheduleOutput},
    )
    def get(self, request):
        schedule = selectors.schedule_get(recipient_id=_recipient_id(request))
        return Response(_schedule_output(schedule))

    @extend_schema(
        operation_id="notifications_schedule_update",
        summary="Change the notification schedule",
        description=(
            "Sets the parts sent and returns the whole schedule; `quiet_hours: null` removes quiet hours. "
            "During quiet hours, emails and pushes wait until they end, except critical ones (account "
            "emails, a disabled webhook); the inbox and webhooks are never held. Digests collect new-rating "
            "emails only. An unknown time zone is 400 `unknown_time_zone`, quiet hours that start and end "
            "at the same time 400 `invalid_quiet_hours`; nothing is changed then."
        ),
        tags=["notifications"],
        request=ScheduleUpdateInput,
        responses={200: ScheduleOutput},
    )
    @raises(services.UnknownTimeZone, services.EmptyQuietHours)
    def patch(self, request):
        data = ScheduleUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        if "quiet_hours" in changes and changes["quiet_hours"] is not None:
            quiet = changes["quiet_hours"]
            changes["quiet_hours"] = (time.fromisoformat(quiet["start"]), time.fromisoformat(quiet["end"]))
        schedule = services.schedule_update(recipient_id=_recipient_id(request), **changes)
        return Response(_schedule_output(schedule))


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
        page = self.paginate_queryset(selectors.webhook_list(recipient_id=_recipient_id(request)))
        return self.get_paginated_response(WebhookOutput(page, many=True).data)

    @extend_schema(
        operation_id="notifications_webhooks_create",
        summary="Add a webhook endpoint",
        description=(
            "Registers a URL that receives the chosen event types (all when none are given) as signed POSTs "
            "(Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature`). The answer shows "
            "the signing secret, once. The URL must be http(s) to a public address (400 `invalid_url`); a "
            "user has a bounded number of endpoints (400 `too_many_endpoints`)."
        ),
        tags=["webhooks"],
        request=WebhookCreateInput,
        responses={201: WebhookSecretOutput},
    )
    @raises(services.InvalidWebhookURL, services.UnknownEventType, services.TooManyEndpoints)
    def post(self, request):
        data = WebhookCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.webhook_create(recipient_id=_recipient_id(request), **data.validated_data)
        return Response(WebhookSecretOutput(endpoint).data, status=status.HTTP_201_CREATED)


class WebhookDetailView(APIView):
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
        services.webhook_delete(recipient_id=_recipient_id(request), endpoint_id=endpoint_id)
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
        endpoint = services.webhook_rotate_secret(recipient_id=_recipient_id(request), endpoint_id=endpoint_id)
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
        delivery = services.webhook_test(recipient_id=_recipient_id(request), endpoint_id=endpoint_id)
        return Response(WebhookTestOutput({"delivery_id": delivery.pk}).data, status=status.HTTP_202_ACCEPTED)


class WebhookRecoverView(APIView):
    """Re-enable the endpoint and re-send its dead deliveries since ``since``."""

    @extend_schema(
        operation_id="notifications_webhooks_recover",
        summary="Recover a webhook endpoint",
        description=(
            "Re-enables an endpoint that was disabled after repeated failures and re-sends its dead "
            "deliveries created since `since`; returns how many were queued again."
        ),
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
        summary="List deliveries",
        description=(
            "The signed-in user's own delivery log (email, push and webhook sends), newest first, "
            "cursor-paginated; `status` and `channel` narrow it. Each entry shows its attempts, last error "
            "and receiver status."
        ),
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
        delivery = services.delivery_replay(recipient_id=_recipient_id(request), delivery_id=delivery_id)
        return Response(DeliveryOutput(delivery).data, status=status.HTTP_202_ACCEPTED)


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
        page = self.paginate_queryset(selectors.device_list(recipient_id=_recipient_id(request)))
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
        device, created = services.device_register(recipient_id=_recipient_id(request), **data.validated_data)
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
        services.device_delete(recipient_id=_recipient_id(request), device_id=device_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
