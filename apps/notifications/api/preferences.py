"""What the user is told and when: channel switches per event type, digests and quiet hours."""

from datetime import time

from drf_spectacular.utils import extend_schema
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework.response import Response

from apps.core.api.base import APIView
from apps.core.openapi import raises
from apps.notifications import selectors, services
from apps.notifications.api.recipient import recipient_id_of
from apps.notifications.api.serializers import (
    PreferenceListOutput,
    PreferencesUpdateInput,
    ScheduleOutput,
    ScheduleUpdateInput,
)


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
        preferences = selectors.preference_list(recipient_id=recipient_id_of(request))
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
        recipient_id = recipient_id_of(request)
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
        schedule = selectors.schedule_get(recipient_id=recipient_id_of(request))
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
        schedule = services.schedule_update(recipient_id=recipient_id_of(request), **changes)
        return Response(_schedule_output(schedule))
