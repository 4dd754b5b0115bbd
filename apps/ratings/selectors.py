import datetime
from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.search import SearchRank
from django.db import connection
from django.db.models import Count, F, FloatField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Cast
from django.utils import timezone

from apps.accounts.models import User
from apps.core.db.page_queries import row_by_pk
from apps.core.exceptions import NotFound, PermissionDenied
from apps.customers.models import Customer
from apps.providers.models import Provider
from apps.ratings.models import (
    Rating,
    RatingHelpfulVote,
    RatingInvitation,
    RatingMonth,
    RatingStatus,
    RatingSummary,
    rating_search_query,
    rating_search_vector,
)

# The annotation a searched list is ranked by (the rating list orders by it when ``q`` is given).
SEARCH_RANK = "search_rank"


def _ratings() -> QuerySet[Rating]:
    return Rating.objects.select_related("customer__user", "reply")


def rating_list(
    *,
    provider_id=None,
    customer_id=None,
    q: str | None = None,
    stars: list[int] | None = None,
    verified: bool | None = None,
    has_comment: bool | None = None,
    ranked: bool = True,
) -> QuerySet[Rating]:
    """Ratings: a customer's own (any status), else only published ones, narrowed by the filters.

    ``q`` searches the comments: on PostgreSQL a full-text match (``websearch`` syntax, the
    comment's words stemmed in its language, served by the GIN index ``SEARCH_INDEX_NAME``); with
    ``ranked`` only the newest ``RATING_SEARCH_RANKED_MATCHES`` matches, each with its relevance
    annotated as ``search_rank`` for the caller to order by. On SQLite a case-insensitive
    substring match and no rank. ``stars`` keeps the listed scores.
    """
    if customer_id is not None:
        queryset = _ratings().filter(customer_id=customer_id)
    else:
        queryset = _ratings().filter(status=RatingStatus.PUBLISHED)
    if provider_id is not None:
        queryset = queryset.filter(provider_id=provider_id)
    if stars:
        queryset = queryset.filter(score__in=sorted(set(stars)))
    if verified is not None:
        queryset = queryset.filter(verified=verified)
    if has_comment is not None:
        queryset = queryset.exclude(comment="") if has_comment else queryset.filter(comment="")
    if q:
        queryset = _searched(queryset, q, ranked=ranked)
    return queryset


def _searched(queryset: QuerySet[Rating], q: str, *, ranked: bool) -> QuerySet[Rating]:
    if connection.vendor != "postgresql":
        return queryset.filter(comment__icontains=q)
    query = rating_search_query(q)
    # The same expression as the index, or PostgreSQL would not use it. alias(), not annotate():
    # the vector serves the filter and the rank, not the response.
    matches = queryset.alias(search_vector=rating_search_vector()).filter(search_vector=query)
    if not ranked:
        return matches
    # ts_rank re-parses every comment it ranks (the index holds no positions to rank from), so
    # ranking all the matches of a common word costs time linear in them: half a second for
    # 125,000. Only the newest matches are ranked: the feed index walked newest first meets them
    # after a few thousand rows, and a rare word's few matches come from the GIN index; either
    # way the cost is bounded by the window, not by the provider's size.
    window = matches.order_by("-created_at", "-id").values("pk")[: settings.RATING_SEARCH_RANKED_MATCHES]
    # The rank is cast to double precision: ts_rank's real would reach Python rounded to its
    # shortest text, and the cursor, which compares the rank it kept with the database's, would
    # then skip a rating.
    # The authors and replies come in queries of their own for the page: joined here, they would
    # be joined to every ranked match before the sort that keeps a page of them.
    return (
        queryset.filter(pk__in=window)
        .select_related(None)
        .prefetch_related(Prefetch("customer", Customer.objects.select_related("user")), "reply")
        .annotate(**{SEARCH_RANK: Cast(SearchRank(rating_search_vector(), query), FloatField())})
    )


def rating_get_visible(*, rating_id, viewer: User | None) -> Rating:
    """A rating anyone may see (published) or its author may see (any status); else 404."""
    visible = Q(status=RatingStatus.PUBLISHED)
    if viewer is not None and viewer.is_authenticated and viewer.is_customer:
        visible |= Q(customer_id=viewer.customer.pk)
    rating = _ratings().filter(visible, pk=rating_id).first()
    if rating is None:
        raise NotFound("Rating not found.")
    return rating


def rating_get_published(*, rating_id) -> Rating:
    """A published rating with its author's and provider's user ids at hand; else 404."""
    rating = (
        Rating.objects.select_related("customer", "provider")
        .filter(pk=rating_id, status=RatingStatus.PUBLISHED)
        .first()
    )
    if rating is None:
        raise NotFound("Rating not found.")
    return rating


def rating_get_for_author(*, rating_id, user: User) -> Rating:
    """The rating only its author may change: 404 if invisible to ``user``, 403 if not theirs."""
    rating = rating_get_visible(rating_id=rating_id, viewer=user)
    if not (user.is_customer and rating.customer_id == user.customer.pk):
        raise PermissionDenied("Only the author can change this rating.")
    return rating


def rating_get_for_provider(*, rating_id, user: User) -> Rating:
    """A visible rating that only the rated provider may answer: 404 if invisible, 403 if not theirs."""
    rating = rating_get_visible(rating_id=rating_id, viewer=user)
    if not (user.is_provider and rating.provider_id == user.provider.pk):
        raise PermissionDenied("Only the rated provider can reply to this rating.")
    return rating


def rating_invitation_get(*, invitation_id, customer: Customer, provider: Provider) -> RatingInvitation | None:
    """The invitation only if it was issued for this customer and this provider, and the provider
    still exists (no enumeration)."""
    return RatingInvitation.objects.filter(
        pk=invitation_id, customer=customer, provider=provider, provider__deleted_at__isnull=True
    ).first()


def invitation_list_open(*, customer: Customer) -> QuerySet[RatingInvitation]:
    """The customer's invitations that can still verify a rating (not used, revoked or expired,
    and the provider not deleted), newest first, each with ``rating_id``: the customer's rating
    of that provider, if any (then the invitation verifies it through an update rather than a
    new rating)."""
    own_rating = Rating.objects.filter(customer_id=OuterRef("customer_id"), provider_id=OuterRef("provider_id"))
    return (
        RatingInvitation.objects.filter(
            customer=customer,
            used_at__isnull=True,
            revoked_at__isnull=True,
            created_at__gt=timezone.now() - timedelta(seconds=settings.RATING_INVITATION_TTL),
            provider__deleted_at__isnull=True,
        )
        .select_related("provider")
        .annotate(rating_id=Subquery(own_rating.values("pk")[:1]))
    )


def rating_summary_get(*, provider_id) -> RatingSummary:
    """One provider's summary in one query; an unrated provider gets an empty summary."""
    # The public summary is the busiest read: its statement is compiled once, not per request.
    summary = row_by_pk(RatingSummary, provider_id)
    if summary is not None:
        return summary
    if not Provider.objects.filter(pk=provider_id).exists():
        raise NotFound("Provider not found.")
    return RatingSummary(provider_id=provider_id)


# The longest trend the metrics serve (the API's ?months= bound).
MONTHS_MAX = 60


def _month_start(day: datetime.date, back: int) -> datetime.date:
    """The first day of the month ``back`` months before ``day``'s."""
    index = day.year * 12 + day.month - 1 - back
    return datetime.date(index // 12, index % 12 + 1, 1)


def rating_metrics_get(*, provider_id, months: int = 12, today: datetime.date | None = None) -> dict:
    """One provider's response metrics and monthly trend, each read by a key or an index.

    - ``count``: the provider's published ratings, from its summary row (one key lookup);
    - ``replied_count``: those the provider answered publicly, from the same row (kept by the
      rating and reply services with the rest of the summary);
    - ``median_reply_delay``: the middle of those delays, read at an offset of the partial
      index ``ratings_reply_delay_idx`` (an index-only scan of half the provider's answered
      ratings; null when none was answered; the mean of the two middle ones for an even count);
    - ``months``: the last ``months`` calendar months (UTC) up to the current one, oldest
      first, each ``(month, count, sum)``; a month without ratings is ``(month, 0, 0)``. Read
      from the ``RatingMonth`` rollup by its unique index: at most ``months`` rows.

    404 for an unknown provider.
    """
    summary = rating_summary_get(provider_id=provider_id)
    answered = Rating.objects.filter(
        provider_id=provider_id, status=RatingStatus.PUBLISHED, first_reply_delay__isnull=False
    )
    replied_count = summary.replied_count
    median = None
    if replied_count:
        middle = list(
            answered.order_by("first_reply_delay").values_list("first_reply_delay", flat=True)[
                (replied_count - 1) // 2 : replied_count // 2 + 1
            ]
        )
        # Empty only if the count drifted from the rows (recompute_rating_summaries repairs it).
        median = sum(middle, timedelta(0)) / len(middle) if middle else None
    today = today or timezone.now().astimezone(datetime.UTC).date()
    first = _month_start(today, months - 1)
    rows = {
        row.month: row
        for row in RatingMonth.objects.filter(provider_id=provider_id, month__gte=first).only("month", "count", "sum")
    }
    series = []
    for back in range(months - 1, -1, -1):
        month = _month_start(today, back)
        row = rows.get(month)
        series.append((month, row.count if row else 0, row.sum if row else 0))
    return {
        "provider_id": provider_id,
        "count": summary.count,
        "replied_count": replied_count,
        "median_reply_delay": median,
        "months": series,
    }


# Unusual voting, as the admin shows it: many helpful votes in a short time from accounts
# created shortly before they voted.
UNUSUAL_VOTES_WINDOW = timedelta(hours=24)
UNUSUAL_VOTES_NEW_ACCOUNT = timedelta(days=7)
UNUSUAL_VOTES_MIN = 5


def helpful_votes_unusual(*, now=None) -> QuerySet[RatingHelpfulVote]:
    """Helpful votes cast within ``UNUSUAL_VOTES_WINDOW`` by accounts at most
    ``UNUSUAL_VOTES_NEW_ACCOUNT`` old when they voted."""
    now = now or timezone.now()
    return RatingHelpfulVote.objects.filter(
        created_at__gte=now - UNUSUAL_VOTES_WINDOW,
        user__date_joined__gte=F("created_at") - UNUSUAL_VOTES_NEW_ACCOUNT,
    )


def ratings_with_unusual_voting(queryset: QuerySet[Rating], *, now=None) -> QuerySet[Rating]:
    """The ratings of ``queryset`` that got at least ``UNUSUAL_VOTES_MIN`` such votes."""
    suspicious = (
        helpful_votes_unusual(now=now)
        .values("rating_id")
        .annotate(n=Count("pk"))
        .filter(n__gte=UNUSUAL_VOTES_MIN)
        .values("rating_id")
    )
    return queryset.filter(pk__in=suspicious)
