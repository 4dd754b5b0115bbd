"""Request and response bodies of the partner API, field for field those of Homerun's services."""

from rest_framework import serializers

from apps.accounts.api.fields import EmailAddressField
from apps.core.fields import StrictIntegerField
from apps.core.serializers import JSONInput
from apps.core.validators import single_line_text
from apps.ratings.models import COMMENT_MAX_LENGTH, SCORE_MAX, SCORE_MIN


class PartnerAccountCreateInput(JSONInput):
    name = serializers.CharField(max_length=150, validators=[single_line_text])
    email = EmailAddressField()


class PartnerAccountOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    email = serializers.EmailField(source="user.email")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class PartnerCustomerOutput(PartnerAccountOutput):
    name = serializers.CharField(source="user.name")


class PartnerServiceProviderOutput(PartnerAccountOutput):
    pass


class PartnerRatingCreateInput(JSONInput):
    customerId = serializers.UUIDField()
    serviceProviderId = serializers.UUIDField()
    rating = StrictIntegerField(min_value=SCORE_MIN, max_value=SCORE_MAX)
    comment = serializers.CharField(max_length=COMMENT_MAX_LENGTH, allow_blank=True, required=False, default="")


class PartnerRatingOutput(serializers.Serializer):
    id = serializers.UUIDField()
    customerId = serializers.UUIDField(source="customer_id")
    serviceProviderId = serializers.UUIDField(source="provider_id")
    rating = serializers.IntegerField(source="score", min_value=SCORE_MIN, max_value=SCORE_MAX)
    comment = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class PartnerAverageRatingOutput(serializers.Serializer):
    serviceProviderId = serializers.UUIDField()
    averageRating = serializers.FloatField(help_text="Mean of the published ratings; 0 when there is none.")
    totalRatings = serializers.IntegerField(help_text="Number of published ratings.")
    lastUpdated = serializers.DateTimeField(
        allow_null=True, help_text="When the summary last changed; null while the provider has no published rating."
    )
