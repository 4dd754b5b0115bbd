from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Cast, Length, NullIf
from django.db.models.lookups import LessThanOrEqual

from apps.core.models import TimeStampedModel
from apps.customers.models import Customer
from apps.providers.models import Provider

SCORE_MIN, SCORE_MAX = 1, 5
COMMENT_MAX_LENGTH = 2000


class RatingStatus(models.TextChoices):
    PUBLISHED = "published", "Published"


class Rating(TimeStampedModel):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="ratings")
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="ratings")
    score = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True, default="", max_length=COMMENT_MAX_LENGTH)
    status = models.CharField(max_length=20, choices=RatingStatus.choices, default=RatingStatus.PUBLISHED)
    verified = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "provider"], name="ratings_one_per_customer_provider"),
            models.CheckConstraint(
                condition=Q(score__gte=SCORE_MIN) & Q(score__lte=SCORE_MAX), name="ratings_score_1_to_5"
            ),
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("comment"), COMMENT_MAX_LENGTH),
                name="ratings_comment_max_length",
            ),
            models.CheckConstraint(condition=Q(status__in=RatingStatus.values), name="ratings_status_valid"),
        ]
        indexes = [
            models.Index(fields=["provider", "status", "-created_at", "-id"], name="ratings_provider_feed_idx"),
            models.Index(fields=["customer", "-created_at", "-id"], name="ratings_customer_feed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.score}★ for {self.provider_id} by {self.customer_id}"


class RatingSummary(models.Model):
    """Running totals of one provider's published ratings, kept exact by the rating services.

    Every write is a single ``UPDATE … SET count = count + 1 …`` with ``F()`` in the same
    transaction as the rating change, so concurrent writers never lose an update and a
    read is one primary-key lookup whatever the number of ratings.
    """

    provider = models.OneToOneField(Provider, on_delete=models.CASCADE, primary_key=True, related_name="rating_summary")
    count = models.PositiveIntegerField(default=0)
    sum = models.PositiveBigIntegerField(default=0)
    stars_1 = models.PositiveIntegerField(default=0)
    stars_2 = models.PositiveIntegerField(default=0)
    stars_3 = models.PositiveIntegerField(default=0)
    stars_4 = models.PositiveIntegerField(default=0)
    stars_5 = models.PositiveIntegerField(default=0)
    verified_count = models.PositiveIntegerField(default=0)
    # Exact mean kept by the database for filtering and ordering; the API rounds it.
    average = models.GeneratedField(
        expression=Cast(F("sum"), models.FloatField()) / NullIf(F("count"), 0),
        output_field=models.FloatField(),
        db_persist=True,
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "rating summaries"
        constraints = [
            models.CheckConstraint(
                condition=Q(count=F("stars_1") + F("stars_2") + F("stars_3") + F("stars_4") + F("stars_5")),
                name="ratings_summary_count_matches_stars",
            ),
            models.CheckConstraint(
                condition=Q(
                    sum=F("stars_1") + 2 * F("stars_2") + 3 * F("stars_3") + 4 * F("stars_4") + 5 * F("stars_5")
                ),
                name="ratings_summary_sum_matches_stars",
            ),
        ]

    def __str__(self) -> str:
        return f"Summary of {self.provider_id}: {self.count} ratings"

    @property
    def stars(self) -> list[int]:
        return [self.stars_1, self.stars_2, self.stars_3, self.stars_4, self.stars_5]
