from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.postgres.search import SearchConfig, SearchQuery, SearchVector
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Cast, Coalesce, Length, NullIf
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone

from apps.accounts.models import DEFAULT_LOCALE
from apps.core.models import TimeStampedModel, UUIDModel
from apps.customers.models import Customer
from apps.providers.models import Provider

SCORE_MIN, SCORE_MAX = 1, 5
COMMENT_MAX_LENGTH = 2000


# Each review is searched in its own language: ``Rating.language`` (its author's language when
# it was written) picks PostgreSQL's text search configuration, so "plumbers" finds "plumber" in
# an English review and "Handwerker" finds "Handwerkern" in a German one. A query is parsed in
# every configuration and matches a review in any of them: the reader need not know which
# language a review is in. The GIN index of migration 0011 is built on exactly
# rating_search_vector(); a query must use the same expression for PostgreSQL to use it, and
# changing the mapping needs a new index (a language without an entry is searched as English).
SEARCH_CONFIGS = {"en": "english", "de": "german"}
SEARCH_CONFIG_DEFAULT = "english"
SEARCH_INDEX_NAME = "ratings_comment_language_search_idx"


def rating_search_config() -> Case:
    """The text search configuration of a rating's own language, as a column expression."""
    return Case(
        *(
            When(language=language, then=SearchConfig(config))
            for language, config in SEARCH_CONFIGS.items()
            if config != SEARCH_CONFIG_DEFAULT
        ),
        default=SearchConfig(SEARCH_CONFIG_DEFAULT),
    )


class _SearchVector(SearchVector):
    """Django's ``SearchVector``, whose configuration also follows its table into a subquery.

    Django keeps the configuration beside the source expressions, so ``relabeled_clone`` (what
    a subquery does to rename its tables) leaves a column in it naming the outer query's table:
    ``Case(When(language=...))`` would read the outer row's language, a correlated subquery
    that PostgreSQL runs once per row of the outer table. The SQL is otherwise the same as the
    parent's, so the GIN index still serves it.
    """

    def relabeled_clone(self, change_map):
        clone = super().relabeled_clone(change_map)
        if clone.config is not None:
            clone.config = clone.config.relabeled_clone(change_map)
        return clone


def rating_search_vector() -> SearchVector:
    return _SearchVector("comment", config=rating_search_config())


def rating_search_query(text: str) -> SearchQuery:
    # websearch syntax: words are ANDed, "quoted phrases", "or", and -excluded words; never a
    # syntax error whatever the user typed. One query per configuration, ORed: each stems the
    # words its own way, and a review matches the one of its language.
    configs = sorted(set(SEARCH_CONFIGS.values()) | {SEARCH_CONFIG_DEFAULT})
    query = SearchQuery(text, config=configs[0], search_type="websearch")
    for config in configs[1:]:
        query |= SearchQuery(text, config=config, search_type="websearch")
    return query


class RatingStatus(models.TextChoices):
    PUBLISHED = "published", "Published"
    PENDING_REVIEW = "pending_review", "Pending review"
    HIDDEN = "hidden", "Hidden"


class InvitationState(models.TextChoices):
    OPEN = "open", "Open"
    USED = "used", "Used"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"


class RatingInvitation(UUIDModel):
    """A partner's proof that ``customer`` had a job done by ``provider``; a rating made with it is verified."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="rating_invitations")
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="rating_invitations")
    external_reference = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Kept once set: the rating it verified may later be verified by a newer invitation, and
    # this one must not become usable (or revocable) again.
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # When the one reminder went out (RATING_INVITATION_REMINDER_DELAY after creation, if the
    # invitation was still open); set in the transaction that publishes it, so it goes once.
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "external_reference"], name="ratings_invitation_provider_reference_uniq"
            ),
            models.CheckConstraint(
                condition=Q(used_at__isnull=True) | Q(revoked_at__isnull=True),
                name="ratings_invitation_not_used_and_revoked",
            ),
        ]
        indexes = [
            # A customer's open invitations: the unused, unrevoked ones, filtered by age.
            models.Index(
                fields=["customer", "-created_at", "-id"],
                condition=Q(used_at__isnull=True, revoked_at__isnull=True),
                name="ratings_invitation_open_idx",
            ),
            # The reminder sweep: open invitations not reminded yet, oldest first.
            models.Index(
                fields=["created_at"],
                condition=Q(used_at__isnull=True, revoked_at__isnull=True, reminded_at__isnull=True),
                name="ratings_invitation_remind_idx",
            ),
        ]

    def __str__(self) -> str:
        # Reads the provider: list and change pages select it with the invitation.
        return f"Invitation {self.external_reference} for {self.provider.name}"

    @property
    def expires_at(self) -> datetime:
        # Derived, not stored: a release that predates expiry keeps inserting rows while the
        # migration runs (migrations only add nullable or defaulted columns).
        return self.created_at + timedelta(seconds=settings.RATING_INVITATION_TTL)

    @property
    def state(self) -> str:
        if self.used_at is not None:
            return InvitationState.USED
        if self.revoked_at is not None:
            return InvitationState.REVOKED
        if self.expires_at <= timezone.now():
            return InvitationState.EXPIRED
        return InvitationState.OPEN


class Rating(TimeStampedModel):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="ratings")
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="ratings")
    score = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True, default="", max_length=COMMENT_MAX_LENGTH)
    status = models.CharField(max_length=20, choices=RatingStatus.choices, default=RatingStatus.PUBLISHED)
    verified = models.BooleanField(default=False)
    # Why the rating is held or hidden (the latest decision's reason); empty once published.
    moderation_reason = models.CharField(max_length=500, blank=True, default="")
    # Set the first time the rating becomes public, so a release from hold is told apart from a re-publication.
    first_published_at = models.DateTimeField(null=True, blank=True)
    # RESTRICT: an invitation outlives nothing it verified, but both go when the customer is deleted.
    invitation = models.OneToOneField(
        RatingInvitation, on_delete=models.RESTRICT, null=True, blank=True, related_name="rating"
    )
    # "Was this helpful" votes, kept exact by the vote services with F() in the vote's transaction.
    # The new columns have database defaults: a release without them still inserts rows.
    helpful_count = models.PositiveIntegerField(default=0, db_default=0)
    # The author's last change of score or comment (moderation does not count); null if never edited.
    edited_at = models.DateTimeField(null=True, blank=True)
    # How long after the rating was first public the rated provider's reply first became public
    # (set once, by the reply services in the reply's transaction): the provider's reply rate and
    # median time to reply are read from it through ratings_reply_delay_idx.
    first_reply_delay = models.DurationField(null=True, blank=True)
    # The language the review is written in (its author's at the time, ``User.locale``): what
    # its comment is searched in (``rating_search_vector``). A database default too, so a row
    # written without it (an older release, a bulk load) is English.
    language = models.CharField(
        max_length=8, choices=settings.LANGUAGES, default=DEFAULT_LOCALE, db_default=DEFAULT_LOCALE
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(verified=False) | Q(invitation__isnull=False), name="ratings_verified_needs_invitation"
            ),
            models.CheckConstraint(condition=Q(helpful_count__gte=0), name="ratings_helpful_count_not_negative"),
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
            # A provider's published ratings, most helpful first (?ordering=-helpful_count).
            models.Index(
                fields=["provider", "status", "-helpful_count", "-created_at", "-id"],
                name="ratings_provider_helpful_idx",
            ),
            # A provider's answered published ratings by reply delay: their count (the reply
            # rate) and their median are index-only scans of this index alone.
            models.Index(
                fields=["provider", "first_reply_delay"],
                condition=Q(status=RatingStatus.PUBLISHED, first_reply_delay__isnull=False),
                name="ratings_reply_delay_idx",
            ),
        ]

    def __str__(self) -> str:
        # What a moderator recognises ("★★ by Carol for Pipe Dreams Plumbing"), not ids; it reads
        # the customer's user and the provider, so every admin page that shows ratings selects
        # them in the same query (RATING_TITLE_RELATED).
        return f"{'★' * self.score} by {self.customer.user.name} for {self.provider.name}"


# The relations ``Rating.__str__`` reads, for select_related() from a rating or from a row that
# points at one (prefix them with "rating__").
RATING_TITLE_RELATED = ("customer__user", "provider")


def rating_title_related(prefix: str = "") -> tuple[str, ...]:
    return tuple(prefix + path for path in RATING_TITLE_RELATED)


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
    # Published ratings the provider answered publicly (``Rating.first_reply_delay`` set): the
    # reply rate's numerator, moved with the rest of the row.
    replied_count = models.PositiveIntegerField(default=0, db_default=0)
    # Exact mean kept by the database for filtering and ordering; the API rounds it.
    average = models.GeneratedField(
        expression=Cast(F("sum"), models.FloatField()) / NullIf(F("count"), 0),
        output_field=models.FloatField(),
        db_persist=True,
    )
    # The average as the provider directory sorts it, unrated providers (-1) below every rated
    # one: a column, so an index serves ?ordering=average under the keyset cursor.
    rank_average = models.GeneratedField(
        expression=Coalesce(Cast(F("sum"), models.FloatField()) / NullIf(F("count"), 0), Value(-1.0)),
        output_field=models.FloatField(),
        db_persist=True,
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "rating summaries"
        indexes = [
            # The provider directory's orderings by average and by count, in either direction
            # (the provider id is the list's tie-breaker; every provider has a summary row).
            models.Index(fields=["rank_average", "provider"], name="ratings_summary_rank_avg_idx"),
            models.Index(fields=["count", "provider"], name="ratings_summary_count_idx"),
        ]
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
        return f"Summary of {self.provider.name}: {self.count} ratings"

    @property
    def stars(self) -> list[int]:
        return [self.stars_1, self.stars_2, self.stars_3, self.stars_4, self.stars_5]


class RatingMonth(models.Model):
    """One provider's published ratings given in one calendar month (UTC): count and sum of scores.

    The rollup behind the monthly trend, moved with the summary by the same services in the
    same transaction (an upsert per change), so a series of N months is N rows read by the
    unique index whatever the number of ratings. A rating belongs to the month it was created.
    """

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="rating_months")
    # The first day of the month.
    month = models.DateField()
    count = models.PositiveIntegerField(default=0)
    sum = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["provider", "month"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "month"], name="ratings_month_provider_month_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.provider_id} {self.month:%Y-%m}: {self.count} ratings"


class ModerationDecision(UUIDModel):
    """One status change of a rating: who (null for an automatic rule), when, from → to, why. Never edited."""

    rating = models.ForeignKey(Rating, on_delete=models.CASCADE, related_name="moderation_decisions")
    moderator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Empty when the rating was held as it was created.
    from_status = models.CharField(max_length=20, choices=RatingStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=RatingStatus.choices)
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.rating}: {self.from_status or 'new'} → {self.to_status}"


class ReportReason(models.TextChoices):
    SPAM = "spam", "Spam"
    OFFENSIVE = "offensive", "Offensive"
    CONFLICT_OF_INTEREST = "conflict_of_interest", "Conflict of interest"
    FAKE = "fake", "Fake"
    OTHER = "other", "Other"


class ReportStatus(models.TextChoices):
    OPEN = "open", "Open"
    UPHELD = "upheld", "Upheld"
    DISMISSED = "dismissed", "Dismissed"


REPORT_DETAILS_MAX_LENGTH = 2000


class RatingReport(UUIDModel):
    rating = models.ForeignKey(Rating, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rating_reports")
    reason = models.CharField(max_length=32, choices=ReportReason.choices)
    details = models.TextField(blank=True, default="", max_length=REPORT_DETAILS_MAX_LENGTH)
    status = models.CharField(max_length=20, choices=ReportStatus.choices, default=ReportStatus.OPEN)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["rating", "reporter"], name="ratings_report_one_per_user"),
            models.CheckConstraint(condition=Q(reason__in=ReportReason.values), name="ratings_report_reason_valid"),
            models.CheckConstraint(condition=Q(status__in=ReportStatus.values), name="ratings_report_status_valid"),
        ]
        indexes = [models.Index(fields=["rating", "status"], name="ratings_report_status_idx")]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} report on {self.rating}"


REPLY_MAX_LENGTH = 2000


class RatingReply(TimeStampedModel):
    """The rated provider's one answer to a rating, public once published (the rating's states and rules)."""

    rating = models.OneToOneField(Rating, on_delete=models.CASCADE, related_name="reply")
    body = models.TextField(max_length=REPLY_MAX_LENGTH)
    status = models.CharField(
        max_length=20, choices=RatingStatus.choices, default=RatingStatus.PUBLISHED, db_default=RatingStatus.PUBLISHED
    )
    # Why the reply is held or hidden (the latest decision's reason); empty once published.
    moderation_reason = models.CharField(max_length=500, blank=True, default="", db_default="")
    # Set the first time the reply becomes public: the rating's author is told of a new reply then.
    first_published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "rating replies"
        constraints = [
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("body"), REPLY_MAX_LENGTH), name="ratings_reply_body_max_length"
            ),
            models.CheckConstraint(condition=Q(status__in=RatingStatus.values), name="ratings_reply_status_valid"),
        ]

    def __str__(self) -> str:
        return f"Reply to {self.rating}"


class RevisionKind(models.TextChoices):
    EDIT = "edit", "Edited by the author"
    MODERATION = "moderation", "Moderation"


class RatingRevision(UUIDModel):
    """A rating as it was before one change: its score, comment and status, who changed it and when.

    Written in the change's transaction; never edited. ``changed_by`` is null for an automatic rule.
    """

    rating = models.ForeignKey(Rating, on_delete=models.CASCADE, related_name="revisions")
    kind = models.CharField(max_length=20, choices=RevisionKind.choices)
    score = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True, default="")
    status = models.CharField(max_length=20, choices=RatingStatus.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=RevisionKind.values), name="ratings_revision_kind_valid"),
        ]
        indexes = [models.Index(fields=["rating", "-created_at", "-id"], name="ratings_revision_history_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.rating_id}"


class RatingHelpfulVote(UUIDModel):
    """One user's "this was helpful" on one rating."""

    rating = models.ForeignKey(Rating, on_delete=models.CASCADE, related_name="helpful_votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="helpful_votes")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rating", "user"], name="ratings_helpful_vote_one_per_user"),
        ]

    def __str__(self) -> str:
        return f"Helpful vote on {self.rating_id} by {self.user_id}"
