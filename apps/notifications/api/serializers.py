from rest_framework import serializers

from apps.notifications.models import Channel, Notification


class NotificationOutput(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "type", "title", "body", "data", "created_at", "read_at"]
        read_only_fields = fields


class NotificationListQuery(serializers.Serializer):
    unread = serializers.BooleanField(required=False, allow_null=True, default=None)
    type = serializers.CharField(required=False, max_length=100)


class UnreadCountOutput(serializers.Serializer):
    unread = serializers.IntegerField()


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


class PreferenceChangeInput(serializers.Serializer):
    event_type = serializers.CharField(max_length=100)
    channel = serializers.ChoiceField(choices=Channel.choices)
    enabled = serializers.BooleanField()


class PreferencesUpdateInput(serializers.Serializer):
    preferences = PreferenceChangeInput(many=True, allow_empty=False, max_length=50)
