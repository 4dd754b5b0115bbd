from rest_framework import serializers

from apps.core.serializers import JSONInput, QueryInput
from apps.notifications.models import Channel, DeliveryStatus, Device, Notification


class NotificationOutput(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "type", "title", "body", "data", "created_at", "read_at", "seen_at", "archived_at"]
        read_only_fields = fields


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
    event_type = serializers.CharField(max_length=100)
    channel = serializers.ChoiceField(choices=Channel.choices)
    enabled = serializers.BooleanField()


class PreferencesUpdateInput(JSONInput):
    # PATCH semantics: the switches sent are changed, nothing sent changes nothing.
    preferences = PreferenceChangeInput(many=True, required=False, default=list, max_length=50)


class WebhookCreateInput(JSONInput):
    url = serializers.CharField(max_length=2000)
    event_types = serializers.ListField(child=serializers.CharField(max_length=100), max_length=50, default=list)


class WebhookOutput(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.CharField()
    event_types = serializers.ListField(child=serializers.CharField())
    enabled = serializers.BooleanField()
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


class DeviceRegisterInput(JSONInput):
    token = serializers.CharField(max_length=4096)
    platform = serializers.ChoiceField(choices=Device.Platform.choices)


class DeviceOutput(serializers.Serializer):
    id = serializers.UUIDField()
    token = serializers.CharField()
    platform = serializers.CharField()
    created_at = serializers.DateTimeField()
