from datetime import timedelta

from django.conf import settings
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from apps.accounts.models import User
from apps.core.exceptions import NotFound, PermissionDenied
from apps.customers.models import Customer
from apps.providers.models import Provider
from apps.ratings.models import Rating, RatingHelpfulVote, RatingInvitation, RatingStatus, RatingSummary


def _ratings() -> QuerySet[Rating]:
    return Rating.objects.select_related("customer__user", "reply")


def rating_list(*, provider_id=None, customer_id=None) -> QuerySet[Rating]:
    """Ratings newest first: a customer's own (any status), else only published ones."""
    if customer_id is not None:
        queryset = _ratings().filter(customer_id=customer_id)
    else:
        queryset = _ratings().filter(status=RatingStatus.PUBLISHED)
    if provider_id is not None:
        queryset = queryset.filter(provider_id=provider_id)
    return queryset


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
    try:
        # get(), not first(): first() adds an ORDER BY whose compilation was a tenth of the
        # whole request's CPU in the bench profile.
        return RatingSummary.objects.get(provider_id=provider_id)
    except RatingSummary.DoesNotExist:
        pass
    if not Provider.objects.filter(pk=provider_id).exists():
        raise NotFound("Provider not found.")
    return RatingSummary(provider_id=provider_id)


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
