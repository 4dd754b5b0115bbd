"""A provider's rating figures, public and the same for every caller: the summary and the metrics."""

from uuid import UUID

from drf_spectacular.utils import extend_schema
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from apps.core.api.base import APIView
from apps.core.api.caching import IF_NONE_MATCH_PARAMETER, NOT_MODIFIED_RESPONSE, PublicReadCacheMixin
from apps.core.api.lean import LeanGetMixin
from apps.core.exceptions import NotFound
from apps.core.statistics import mean_2dp
from apps.providers.api.serializers import RatingSummaryOutput, rating_summary_data
from apps.ratings.api.serializers import RatingMetricsOutput, RatingMetricsQuery
from apps.ratings.selectors import rating_metrics_get, rating_summary_get


class ProviderRatingSummaryView(LeanGetMixin, PublicReadCacheMixin, APIView):
    # Public and the same for everyone: no token to verify, no user to load.
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="providers_rating_summary",
        summary="A provider's rating summary",
        description=(
            "The exact rating summary of a provider: count, average, Bayesian average, the distribution of "
            "stars and the number of verified ratings. Kept up to date in the same transaction as every "
            "rating change, so it is never stale after a 201. Public, no authentication."
        ),
        tags=["providers"],
        parameters=[IF_NONE_MATCH_PARAMETER],
        responses={200: RatingSummaryOutput, 304: NOT_MODIFIED_RESPONSE},
        auth=[{}],
    )
    def get(self, request, provider_id: UUID):
        return Response(_summary_data(rating_summary_get(provider_id=provider_id)))

    @classmethod
    def lean_get(cls, request, provider_id: UUID) -> dict | None:
        try:
            summary = rating_summary_get(provider_id=provider_id)
        except NotFound:
            return None
        return _summary_data(summary)


def _summary_data(summary) -> dict:
    return rating_summary_data(
        provider_id=summary.provider_id,
        count=summary.count,
        total=summary.sum,
        stars=summary.stars,
        verified_count=summary.verified_count,
    )


@extend_validation_errors(["invalid", "min_value", "max_value"], field_name="months", methods=["get"])
class ProviderRatingMetricsView(PublicReadCacheMixin, APIView):
    # Public like the summary: the same for everyone.
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="providers_rating_metrics",
        summary="A provider's response metrics and monthly trend",
        description=(
            "How the provider answers its ratings and how its ratings move: `reply_rate` (the share of its "
            "published ratings it answered publicly), `median_reply_seconds` (from a rating's publication to "
            "the provider's first public reply) and, for each of the last `months` calendar months (UTC, "
            "default 12, the current one last), the number of published ratings given that month and their "
            "average. Read from rollups kept in the transaction of every rating and reply change and from "
            "an index of the answered ratings, so it costs the same at a million ratings. Public, no "
            "authentication; 404 for an unknown provider."
        ),
        tags=["providers"],
        parameters=[RatingMetricsQuery, IF_NONE_MATCH_PARAMETER],
        responses={200: RatingMetricsOutput, 304: NOT_MODIFIED_RESPONSE},
        auth=[{}],
    )
    def get(self, request, provider_id: UUID):
        query = RatingMetricsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        metrics = rating_metrics_get(provider_id=provider_id, months=query.validated_data["months"])
        count, replied, median = metrics["count"], metrics["replied_count"], metrics["median_reply_delay"]
        return Response(
            {
                "provider_id": str(metrics["provider_id"]),
                "count": count,
                "replied_count": replied,
                "reply_rate": round(replied / count, 4) if count else None,
                "median_reply_seconds": round(median.total_seconds()) if median is not None else None,
                "months": [
                    {"month": f"{month:%Y-%m}", "count": n, "average": mean_2dp(total=total, count=n)}
                    for month, n, total in metrics["months"]
                ],
            }
        )
