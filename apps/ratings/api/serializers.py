from django.http import QueryDict
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.fields import StrictIntegerField
from apps.core.serializers import JSONInput, QueryInput
from apps.ratings.models import (
    COMMENT_MAX_LENGTH,
    REPLY_MAX_LENGTH,
    REPORT_DETAILS_MAX_LENGTH,
    SCORE_MAX,
    SCORE_MIN,
    InvitationState,
    RatingStatus,
    ReportReason,
    ReportStatus,
)
from apps.ratings.selectors import MONTHS_MAX


class RatingCreateInput(JSONInput):
    provider_id = serializers.UUIDField()
    score = StrictIntegerField(min_value=SCORE_MIN, max_value=SCORE_MAX)
    comment = serializers.CharField(max_length=COMMENT_MAX_LENGTH, required=False, allow_blank=True, default="")
    invitation_id = serializers.UUIDField(
        required=False, allow_null=True, default=None, help_text="A partner invitation: the rating is then verified."
    )


class RatingUpdateInput(JSONInput):
    score = StrictIntegerField(min_value=SCORE_MIN, max_value=SCORE_MAX, required=False)
    comment = serializers.CharField(max_length=COMMENT_MAX_LENGTH, required=False, allow_blank=True)
    invitation_id = serializers.UUIDField(
        required=False,
        help_text="An open partner invitation of the author for this provider: the rating becomes verified.",
    )


SEARCH_MAX_LENGTH = 200


class RatingListQuery(QueryInput):
    provider = serializers.UUIDField(required=False)
    mine = serializers.BooleanField(required=False, default=False)
    q = serializers.CharField(
        required=False,
        max_length=SEARCH_MAX_LENGTH,
        help_text=(
            "Words to find in the comments (full-text: stemmed in each review's language, all of them; "
            '"a phrase", `or`, `-word`). The list is then the newest 1,000 matches by default, most relevant first; '
            "with `ordering`, every match in that order."
        ),
    )
    stars = serializers.RegexField(
        r"^[1-5](,[1-5])*$",
        required=False,
        help_text="Only these scores: one, or several comma-separated (`4,5`), or the parameter repeated.",
        error_messages={"invalid": "Give scores from 1 to 5, comma-separated (e.g. 4,5)."},
    )
    verified = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Only verified (`true`) or unverified (`false`) ratings.",
    )
    has_comment = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Only ratings with (`true`) or without (`false`) a comment.",
    )

    def to_internal_value(self, data):
        # A repeated ?stars= is one list, not "the last one wins" as for the other parameters.
        if isinstance(data, QueryDict) and len(data.getlist("stars")) > 1:
            data = data.copy()
            data.setlist("stars", [",".join(data.getlist("stars"))])
        return super().to_internal_value(data)

    def validate_stars(self, value: str) -> list[int]:
        return sorted({int(n) for n in value.split(",")})


class RatingCustomerOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class RatingReplyOutput(serializers.Serializer):
    body = serializers.CharField()
    status = serializers.ChoiceField(
        choices=RatingStatus.choices,
        help_text="Only a published reply is public; a held or hidden one is shown to nobody but its provider.",
    )
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
    reply = serializers.SerializerMethodField(help_text="The provider's published reply; null if none is public.")
    helpful_count = serializers.IntegerField(help_text='How many users found the rating helpful ("helpful" votes).')
    edited = serializers.SerializerMethodField(help_text="Whether the author changed the score or comment.")
    edited_at = serializers.DateTimeField(
        allow_null=True, help_text="When the author last changed the score or comment; null if never."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(RatingReplyOutput(allow_null=True))
    def get_reply(self, rating) -> dict | None:
        # The reverse one-to-one is select_related by the selectors, so this costs no query.
        reply = getattr(rating, "reply", None)
        if reply is None or reply.status != RatingStatus.PUBLISHED:
            return None
        return RatingReplyOutput(reply).data

    def get_edited(self, rating) -> bool:
        return rating.edited_at is not None


class RatingHelpfulVoteOutput(serializers.Serializer):
    rating_id = serializers.UUIDField()
    helpful_count = serializers.IntegerField()
    voted = serializers.BooleanField(help_text="Always true: the caller's vote is counted.")


class RatingReportCreateInput(JSONInput):
    reason = serializers.ChoiceField(choices=ReportReason.choices)
    details = serializers.CharField(max_length=REPORT_DETAILS_MAX_LENGTH, required=False, allow_blank=True, default="")


class RatingReportOutput(serializers.Serializer):
    id = serializers.UUIDField()
    rating_id = serializers.UUIDField()
    reason = serializers.ChoiceField(choices=ReportReason.choices)
    details = serializers.CharField()
    status = serializers.ChoiceField(choices=ReportStatus.choices)
    created_at = serializers.DateTimeField()


class RatingReplyInput(JSONInput):
    body = serializers.CharField(max_length=REPLY_MAX_LENGTH, trim_whitespace=True)


class RatingInvitationCreateInput(JSONInput):
    customer_id = serializers.UUIDField()
    provider_id = serializers.UUIDField()
    external_reference = serializers.CharField(max_length=255, help_text="The partner's own job reference.")


class RatingInvitationOutput(serializers.Serializer):
    id = serializers.UUIDField()
    customer_id = serializers.UUIDField()
    provider_id = serializers.UUIDField()
    external_reference = serializers.CharField()
    status = serializers.ChoiceField(choices=InvitationState.choices, source="state")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class InvitationProviderOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class CustomerInvitationOutput(serializers.Serializer):
    id = serializers.UUIDField()
    provider = InvitationProviderOutput()
    external_reference = serializers.CharField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    rating_id = serializers.UUIDField(
        allow_null=True,
        help_text=(
            "The customer's rating of this provider, if any: verify it with `PATCH /api/v1/ratings/{id}/` "
            "and `invitation_id`; otherwise rate with `POST /api/v1/ratings/` and `invitation_id`."
        ),
    )


class RatingMetricsQuery(QueryInput):
    months = serializers.IntegerField(
        required=False,
        default=12,
        min_value=1,
        max_value=MONTHS_MAX,
        help_text=f"How many months the trend covers (1 to {MONTHS_MAX}).",
    )


class RatingMonthOutput(serializers.Serializer):
    month = serializers.CharField(help_text="The calendar month, UTC (YYYY-MM).")
    count = serializers.IntegerField(help_text="Published ratings given that month.")
    average = serializers.FloatField(allow_null=True, help_text="Their mean score to 2 places; null when none.")


class RatingMetricsOutput(serializers.Serializer):
    provider_id = serializers.UUIDField()
    count = serializers.IntegerField(help_text="Published ratings (the summary's count).")
    replied_count = serializers.IntegerField(help_text="Published ratings the provider answered publicly.")
    reply_rate = serializers.FloatField(
        allow_null=True, help_text="replied_count / count to 4 places; null when count is 0."
    )
    median_reply_seconds = serializers.IntegerField(
        allow_null=True,
        help_text=(
            "Median time from a rating's publication to the provider's first public reply, in whole "
            "seconds; null when no rating was answered."
        ),
    )
    months = RatingMonthOutput(many=True, help_text="Oldest first, ending with the current month.")
