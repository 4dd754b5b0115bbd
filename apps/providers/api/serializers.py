from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.accounts.api.fields import EmailAddressField, locale_field
from apps.core.serializers import CurrentTimeZone, JSONInput, iso_datetime
from apps.core.statistics import bayesian_mean_2dp, mean_2dp
from apps.core.validators import single_line_text
from apps.providers.selectors import STAR_FIELDS


class ServiceCategoryOutput(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()


def rating_summary_data(*, provider_id, count: int, total: int, stars: list[int], verified_count: int) -> dict:
    """The rating summary of one provider in its public shape."""
    return {
        "provider_id": str(provider_id),
        "count": count,
        "average": mean_2dp(total=total, count=count),
        "bayesian_average": bayesian_mean_2dp(
            total=total,
            count=count,
            prior_mean=settings.RATING_BAYES_PRIOR_MEAN,
            prior_weight=settings.RATING_BAYES_PRIOR_WEIGHT,
        ),
        "distribution": {str(n): stars[n - 1] for n in range(1, 6)},
        "verified_count": verified_count,
    }


class RatingSummaryOutput(serializers.Serializer):
    provider_id = serializers.UUIDField()
    count = serializers.IntegerField()
    average = serializers.FloatField(allow_null=True, help_text="Mean score to 2 places; null when count is 0.")
    bayesian_average = serializers.FloatField(
        help_text="(W·m + sum) / (W + count) with prior mean m and weight W from settings; 2 places."
    )
    distribution = serializers.SerializerMethodField()
    verified_count = serializers.IntegerField(help_text="Ratings made through a partner invitation.")

    @extend_schema_field(
        {
            "type": "object",
            "properties": {str(n): {"type": "integer"} for n in range(1, 6)},
            "required": [str(n) for n in range(1, 6)],
        }
    )
    def get_distribution(self, obj) -> dict:
        return obj["distribution"]


class ProviderOutput(CurrentTimeZone, serializers.Serializer):
    # A row of provider_list(). The fields below are the contract (and the OpenAPI document);
    # to_representation writes the same dict directly: a page of twenty through DRF's per-field
    # machinery (attribute lookups, nested serializers, a time zone conversion per datetime)
    # was most of the request's CPU. A test holds both to the same answer.

    id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField()
    services = ServiceCategoryOutput(many=True, source="services_data")
    rating = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def to_representation(self, provider) -> dict:
        tz = self.time_zone
        return {
            "id": str(provider.pk),
            "name": provider.name,
            "description": provider.description,
            "services": [{"slug": s["slug"], "name": s["name"]} for s in provider.services_data],
            "rating": self.get_rating(provider),
            "created_at": iso_datetime(provider.created_at, tz),
            "updated_at": iso_datetime(provider.updated_at, tz),
        }

    @extend_schema_field(RatingSummaryOutput)
    def get_rating(self, provider) -> dict:
        return rating_summary_data(
            provider_id=provider.pk,
            count=provider.rating_count,
            total=provider.rating_sum,
            stars=[getattr(provider, f"rating_{f}") for f in STAR_FIELDS],
            verified_count=provider.rating_verified_count,
        )


class ProviderMeOutput(ProviderOutput):
    email = serializers.EmailField(source="user.email")
    email_verified = serializers.BooleanField(source="user.email_verified")
    email_verified_at = serializers.DateTimeField(
        source="user.email_verified_at", allow_null=True, help_text="When the address was confirmed; null until then."
    )
    locale = locale_field(source="user.locale")

    def to_representation(self, provider) -> dict:
        user = provider.user
        return super().to_representation(provider) | {
            "email": user.email,
            "email_verified": user.email_verified,
            "email_verified_at": iso_datetime(user.email_verified_at),
            "locale": user.locale,
        }


class ProviderRegisterInput(JSONInput):
    email = EmailAddressField()
    password = serializers.CharField(write_only=True, min_length=8, max_length=128, style={"input_type": "password"})
    name = serializers.CharField(max_length=150, validators=[single_line_text])
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    services = serializers.ListField(
        child=serializers.SlugField(max_length=64), required=False, default=list, max_length=50
    )


class ProviderUpdateInput(JSONInput):
    name = serializers.CharField(max_length=150, required=False, validators=[single_line_text])
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    services = serializers.ListField(child=serializers.SlugField(max_length=64), required=False, max_length=50)


class ProviderMeUpdateInput(ProviderUpdateInput):
    locale = locale_field(required=False)


class ProviderDeleteInput(JSONInput):
    password = serializers.CharField(
        write_only=True, max_length=128, style={"input_type": "password"}, help_text="The current password."
    )
