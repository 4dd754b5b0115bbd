from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.serializers import CurrentTimeZone, JSONInput, QueryInput, iso_datetime
from apps.notifications.events import EVENT_TYPE_NAMES, WEBHOOK_TEST
from apps.notifications.models import Channel, DeliveryStatus, Device, Notification, RatingEmails


@extend_schema_field({"type": "string", "enum": EVENT_TYPE_NAMES, "maxLength": 100})
class EventTypeField(serializers.CharField):
    """An event type a user can subscribe to or switch. Documented as an enum; an unknown one is
    the service's 400 (``unknown_event_type``, ``unknown_preference``), which names it."""


class NotificationOutput(CurrentTimeZone, serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "type", "title", "body", "data", "created_at", "read_at", "seen_at", "archived_at"]
        read_only_fields = fields

    # The fields above are the contract (and the OpenAPI document); this writes the same dict
    # directly: a ModelSerializer page of twenty built its fields per request and ran each value
    # through them, a large part of an inbox read. A test holds both to the same answer.
    def to_representation(self, notification) -> dict:
        tz = self.time_zone
        return {
            "id": str(notification.pk),
            "type": notification.type,
            "title": notification.title,
            "body": notification.body,
            "data": notification.data,
            "created_at": iso_datetime(notification.created_at, tz),
            "read_at": iso_datetime(notification.read_at, tz),
            "seen_at": iso_datetime(notification.seen_at, tz),
            "archived_at": iso_datetime(notification.archived_at, tz),
        }


class NotificationListQuery(QueryInput):
    unread = serializers.BooleanField(required=False, allow_null=True, default=None)
    type = serializers.CharField(required=False, max_length=100)
    archived = serializers.BooleanField(required=False, default=False)


class UnreadCountOutput(serializers.Serializer):
    unread = serializers.IntegerField()


class CountsOutput(serializers.Serializer):
    unread = serializers.IntegerField(help_text="Unread items of the inbox (archived ones left out).")
    unseen = serializers.IntegerField(help_text="Items of the inbox not shown on the user's screen yet.")
    archived = serializers.IntegerField()
    total = serializers.IntegerField(help_text="Every item, archived or not.")


class SeenInput(JSONInput):
    ids = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=100)


class SeenOutput(serializers.Serializer):
    updated = serializers.IntegerField()


class ReadAllOutput(serializers.Serializer):
    updated = serializers.IntegerField()


class PreferenceOutput(serializers.Serializer):
    event_type = serializers.CharField()
    label = serializers.CharField()
    channel = serializers.ChoiceField(choices=Channel.choices)
    enabled = serializers.BooleanField()
    critical = serializers.BooleanField()


class PreferenceListOutput(serializers.Serializer):
    preferences = PreferenceOutput(many=True)


class PreferenceChangeInput(JSONInput):
    event_type = EventTypeField(max_length=100)
    channel = serializers.ChoiceField(choices=Channel.choices)
    enabled = serializers.BooleanField()


class PreferencesUpdateInput(JSONInput):
    # PATCH semantics: the switches sent are changed, nothing sent changes nothing.
    preferences = PreferenceChangeInput(many=True, required=False, default=list, max_length=50)


_CLOCK = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
_CLOCK_INVALID = "Enter a local time of day as HH:MM, from 00:00 to 23:59."


class QuietHoursInput(JSONInput):
    start = serializers.RegexField(_CLOCK, error_messages={"invalid": _CLOCK_INVALID})
    end = serializers.RegexField(_CLOCK, error_messages={"invalid": _CLOCK_INVALID})


class ScheduleUpdateInput(JSONInput):
    # PATCH semantics: the parts sent are changed; `quiet_hours: null` removes them.
    time_zone = serializers.CharField(max_length=64, required=False)
    rating_emails = serializers.ChoiceField(choices=RatingEmails.choices, required=False)
    quiet_hours = QuietHoursInput(required=False, allow_null=True)


class QuietHoursOutput(serializers.Serializer):
    start = serializers.CharField()
    end = serializers.CharField()


class ScheduleOutput(serializers.Serializer):
    time_zone = serializers.CharField()
    rating_emails = serializers.ChoiceField(choices=RatingEmails.choices)
    quiet_hours = QuietHoursOutput(allow_null=True)


_HEADERS_HELP = (
    "Extra request headers sent with each delivery, `{name: value}`; hop-by-hop, authorization, "
    "cookie, Host, content and signature (`webhook-*`) headers are refused (400 `invalid_headers`)."
)


class HeadersField(serializers.DictField):
    """``{name: value}``; a bad value is reported on the field itself (``headers``), since the
    error schema documents the field, not each name a client may choose."""

    default_error_messages = {"invalid_header_value": "Each header value must be a string of at most 1000 characters."}

    def __init__(self, **kwargs):
        kwargs.setdefault("child", serializers.CharField(max_length=1000, allow_blank=True))
        super().__init__(**kwargs)

    def run_child_validation(self, data):
        try:
            return super().run_child_validation(data)
        except serializers.ValidationError:
            self.fail("invalid_header_value")


class WebhookCreateInput(JSONInput):
    url = serializers.CharField(max_length=2000)
    event_types = serializers.ListField(child=EventTypeField(max_length=100), max_length=50, default=list)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    rate_per_second = serializers.IntegerField(
        min_value=1, max_value=10000, required=False, allow_null=True, default=None
    )
    headers = HeadersField(required=False, default=dict, help_text=_HEADERS_HELP)


class WebhookUpdateInput(JSONInput):
    # PATCH semantics: the fields sent are changed; `headers` replaces the whole set.
    url = serializers.CharField(max_length=2000, required=False)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    event_types = serializers.ListField(child=EventTypeField(max_length=100), max_length=50, required=False)
    enabled = serializers.BooleanField(required=False)
    rate_per_second = serializers.IntegerField(
        min_value=1,
        max_value=10000,
        required=False,
        allow_null=True,
        help_text="Most sends per second to this endpoint, across all workers; null: unlimited.",
    )
    headers = HeadersField(required=False, help_text=_HEADERS_HELP)


class WebhookOutput(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.CharField()
    description = serializers.CharField()
    event_types = serializers.ListField(child=serializers.CharField())
    enabled = serializers.BooleanField()
    rate_per_second = serializers.IntegerField(allow_null=True)
    headers = serializers.DictField(child=serializers.CharField())
    disabled_reason = serializers.CharField()
    failing_since = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class WebhookSecretOutput(WebhookOutput):
    """Shown once, on create and on rotation."""

    secret = serializers.CharField()


class WebhookTestOutput(serializers.Serializer):
    delivery_id = serializers.UUIDField()


class WebhookRecoverInput(JSONInput):
    since = serializers.DateTimeField()


class ReplayedOutput(serializers.Serializer):
    replayed = serializers.IntegerField()


class DeliveryListQuery(QueryInput):
    status = serializers.ChoiceField(choices=DeliveryStatus.choices, required=False)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    endpoint = serializers.UUIDField(required=False, help_text="Only the deliveries to this webhook endpoint.")
    event_type = serializers.ChoiceField(
        choices=[*EVENT_TYPE_NAMES, WEBHOOK_TEST], required=False, help_text="Only the deliveries of this event type."
    )


class DeliveryOutput(serializers.Serializer):
    id = serializers.UUIDField()
    event_id = serializers.UUIDField()
    channel = serializers.CharField()
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    last_error = serializers.CharField()
    response_status = serializers.IntegerField(allow_null=True)
    endpoint_id = serializers.UUIDField(allow_null=True)
    device_id = serializers.UUIDField(allow_null=True)
    provider = serializers.CharField(source="provider.name", allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    next_attempt_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)


class DeliveryAttemptOutput(serializers.Serializer):
    number = serializers.IntegerField(help_text="Which attempt of the delivery (1 for the first send).")
    created_at = serializers.DateTimeField(help_text="When the attempt ended.")
    outcome = serializers.CharField(help_text="`sent`, `retry`, `gone`, `dead` or `skipped_open`.")
    status_code = serializers.IntegerField(allow_null=True, help_text="The receiver's HTTP status; null if none.")
    response_excerpt = serializers.CharField(help_text="The start of the receiver's answer (500 characters).")
    duration_ms = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()


class EventTypeOutput(serializers.Serializer):
    type = serializers.CharField()
    version = serializers.IntegerField(help_text="The newest version of the published event this type is made from.")
    description = serializers.CharField()
    schema = serializers.JSONField(help_text="The JSON Schema (2020-12) of the webhook payload's `data`.")


class DeviceRegisterInput(JSONInput):
    token = serializers.CharField(max_length=4096)
    platform = serializers.ChoiceField(choices=Device.Platform.choices)


class DeviceOutput(serializers.Serializer):
    id = serializers.UUIDField()
    token = serializers.CharField()
    platform = serializers.CharField()
    created_at = serializers.DateTimeField()
