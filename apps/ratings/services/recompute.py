"""The repair path: every summary and monthly rollup recomputed from the rating rows."""

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.providers.models import Provider
from apps.ratings.models import (
    Rating,
    RatingMonth,
    RatingStatus,
    RatingSummary,
)
from apps.ratings.services.summary import rating_month


def rating_summaries_recompute(*, fix: bool = True) -> list[dict]:
    """Recompute every summary from the rating rows; returns the drifted ones (fixed if ``fix``).

    The provider's monthly rows (``RatingMonth``) are compared and repaired with it; a month
    that differs shows as ``months[YYYY-MM]`` ``(count, sum)`` in ``expected``/``actual``.
    Each provider is recomputed under a lock on its summary row, which every rating write
    takes too (its ``UPDATE``), so concurrent rating writes are neither lost nor double counted
    while the repair runs.
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
            expected_months, actual_months = _expected_months(provider_id), _actual_months(provider_id)
            for month in sorted(expected_months.keys() | actual_months.keys()):
                if expected_months.get(month, (0, 0)) != actual_months.get(month, (0, 0)):
                    key = f"months[{month:%Y-%m}]"
                    expected[key], actual[key] = expected_months.get(month, (0, 0)), actual_months.get(month, (0, 0))
            if missing or actual != expected:
                drifted.append(
                    {"provider_id": str(provider_id), "expected": expected, "actual": actual, "missing": missing}
                )
                if fix:
                    totals = {k: v for k, v in expected.items() if not k.startswith("months[")}
                    RatingSummary.objects.filter(pk=provider_id).update(**totals, updated_at=timezone.now())
                    RatingMonth.objects.filter(provider_id=provider_id).delete()
                    RatingMonth.objects.bulk_create(
                        RatingMonth(provider_id=provider_id, month=month, count=count, sum=total)
                        for month, (count, total) in sorted(expected_months.items())
                    )
    return drifted


def _expected_months(provider_id) -> dict:
    """``{month: (count, sum)}`` of the provider's published ratings, from the rating rows.

    Grouped in Python, not with ``TruncMonth``: the month is the one ``rating_month`` gives,
    in UTC, whatever the database's time zone handling.
    """
    months: dict = {}
    published = Rating.objects.filter(provider_id=provider_id, status=RatingStatus.PUBLISHED)
    for created_at, score in published.values_list("created_at", "score").iterator(chunk_size=5000):
        count, total = months.get(rating_month(created_at), (0, 0))
        months[rating_month(created_at)] = (count + 1, total + score)
    return months


def _actual_months(provider_id) -> dict:
    rows = RatingMonth.objects.filter(provider_id=provider_id).values_list("month", "count", "sum")
    return {month: (count, total) for month, count, total in rows if count or total}


def _expected_summary(provider_id) -> dict:
    published = Rating.objects.filter(provider_id=provider_id, status=RatingStatus.PUBLISHED)
    return published.aggregate(
        count=Count("pk"),
        sum=Coalesce(Sum("score"), 0),
        verified_count=Count("pk", filter=Q(verified=True)),
        replied_count=Count("pk", filter=Q(first_reply_delay__isnull=False)),
        **{f"stars_{n}": Count("pk", filter=Q(score=n)) for n in range(1, 6)},
    )
