"""The repair path: every summary recomputed from the rating rows."""

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.providers.models import Provider
from apps.ratings.models import (
    Rating,
    RatingStatus,
    RatingSummary,
)


def rating_summaries_recompute(*, fix: bool = True) -> list[dict]:
    """Recompute every summary from the rating rows; returns the drifted ones (fixed if ``fix``).

    Each provider is recomputed under a lock on its summary row, so concurrent rating writes
    are neither lost nor double counted while the repair runs.
    """
    drifted = []
    provider_ids = Provider.objects.order_by("pk").values_list("pk", flat=True)
    for provider_id in provider_ids.iterator(chunk_size=1000):
        with transaction.atomic():
            # Every provider has a row (the directory inner-joins it): a missing one is drift
            # too, reported by a check and created by a fix.
            missing = not RatingSummary.objects.filter(provider_id=provider_id).exists()
            if fix:
                RatingSummary.objects.bulk_create([RatingSummary(provider_id=provider_id)], ignore_conflicts=True)
            summary = RatingSummary.objects.select_for_update().filter(provider_id=provider_id).first()
            summary = summary or RatingSummary(provider_id=provider_id)
            expected = _expected_summary(provider_id)
            actual = {field: getattr(summary, field) for field in expected}
            if missing or actual != expected:
                drifted.append(
                    {"provider_id": str(provider_id), "expected": expected, "actual": actual, "missing": missing}
                )
                if fix:
                    RatingSummary.objects.filter(pk=provider_id).update(**expected, updated_at=timezone.now())
    return drifted


def _expected_summary(provider_id) -> dict:
    published = Rating.objects.filter(provider_id=provider_id, status=RatingStatus.PUBLISHED)
    return published.aggregate(
        count=Count("pk"),
        sum=Coalesce(Sum("score"), 0),
        verified_count=Count("pk", filter=Q(verified=True)),
        **{f"stars_{n}": Count("pk", filter=Q(score=n)) for n in range(1, 6)},
    )
