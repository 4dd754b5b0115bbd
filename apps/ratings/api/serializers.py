from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.fields import StrictIntegerField
from apps.ratings.models import COMMENT_MAX_LENGTH, SCORE_MAX, SCORE_MIN, RatingStatus


class RatingCreateInput(serializers.Serializer):
    provider_id = serializers.UUIDField()
    score = StrictIntegerField(min_value=SCORE_MIN, max_value=SCORE_MAX)
    comment = serializers.CharField(max_length=COMMENT_MAX_LENGTH, required=False, allow_blank=True, default="")


class RatingUpdateInput(serializers.Serializer):
    score = StrictIntegerField(min_value=SCORE_MIN, max_value=SCORE_MAX, required=False)
    comment = serializers.CharField(max_length=COMMENT_MAX_LENGTH, required=False, allow_blank=True)


class RatingListQuery(serializers.Serializer):
    provider = serializers.UUIDField(required=False)
    mine = serializers.BooleanField(required=False, default=False)


class RatingCustomerOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class RatingReplyOutput(serializers.Serializer):
    body = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class RatingOutput(serializers.Serializer):
    id = serializers.UUIDField()
    provider_id = serializers.UUIDField()
    customer = RatingCustomerOutput()
    score = serializers.IntegerField()
    comment = serializers.CharField()
    status = serializers.ChoiceField(choices=RatingStatus.choices)
    verified = serializers.BooleanField()
    reply = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(RatingReplyOutput(allow_null=True))
    def get_reply(self, rating) -> dict | None:
        # Provider replies arrive with moderation (issue #5); until then no rating has one.
        return None
