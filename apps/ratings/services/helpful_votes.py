"""Helpful votes on a published rating."""

from django.db import IntegrityError, transaction
from django.db.models import F

from apps.accounts.models import User
from apps.core.exceptions import NotFound
from apps.providers.models import Provider, ServiceCategory
from apps.ratings.models import (
    Rating,
    RatingHelpfulVote,
    RatingStatus,
)
from apps.ratings.services.errors import CannotVoteOwnRating, CompetitorCannotVote, VoteNeedsVerifiedEmail


@transaction.atomic
def helpful_vote_add(*, rating: Rating, user: User) -> tuple[int, bool]:
    """``user`` finds a published rating helpful, once: ``(helpful_count, created)``.

    A repeated vote changes nothing and reports ``created=False``. 403
    ``cannot_vote_own_rating`` for the rating's author and for the rated provider,
    ``email_not_verified`` for an account whose address is not confirmed,
    ``competitor_cannot_vote`` for a provider sharing a service category with the rated one; 404
    if the rating is not published (also when it is hidden while the vote is being written).
    """
    if user.pk in (rating.customer.user_id, rating.provider.user_id):
        raise CannotVoteOwnRating()
    # A vote is a person's: an account without a confirmed address is too cheap to make many of.
    if user.email_verified_at is None:
        raise VoteNeedsVerifiedEmail()
    if _competes(user=user, provider_id=rating.provider_id):
        raise CompetitorCannotVote()
    try:
        with transaction.atomic():
            RatingHelpfulVote.objects.create(rating_id=rating.pk, user=user)
    except IntegrityError:
        created = False
    else:
        created = True
        # The row lock this UPDATE takes orders concurrent votes; F() loses none of them.
        counted = Rating.objects.filter(pk=rating.pk, status=RatingStatus.PUBLISHED).update(
            helpful_count=F("helpful_count") + 1
        )
        if not counted:
            raise NotFound("Rating not found.")
    return Rating.objects.values_list("helpful_count", flat=True).get(pk=rating.pk), created


def _competes(*, user: User, provider_id) -> bool:
    """Whether ``user`` is a provider sharing a service category with the rated provider."""
    own = Provider.objects.filter(user=user, deleted_at__isnull=True).values_list("pk", flat=True).first()
    if own is None:
        return False
    rated = ServiceCategory.objects.filter(providers=provider_id)
    return ServiceCategory.objects.filter(providers=own, pk__in=rated).exists()


@transaction.atomic
def helpful_votes_withdraw_all(*, user: User) -> int:
    """Every helpful vote of ``user`` leaves its rating's count (an erased or deactivated
    account); returns how many. Counts are decremented rating by rating, in id order, so two
    withdrawals lock rows in the same order."""
    votes = list(RatingHelpfulVote.objects.filter(user=user).order_by("rating_id").values_list("pk", "rating_id"))
    for _pk, rating_id in votes:
        Rating.objects.filter(pk=rating_id).update(helpful_count=F("helpful_count") - 1)
    RatingHelpfulVote.objects.filter(pk__in=[pk for pk, _ in votes]).delete()
    return len(votes)


@transaction.atomic
def helpful_vote_remove(*, rating: Rating, user: User) -> int:
    """Withdraw ``user``'s helpful vote, if any; returns the rating's ``helpful_count``."""
    deleted, _ = RatingHelpfulVote.objects.filter(rating_id=rating.pk, user=user).delete()
    if deleted:
        Rating.objects.filter(pk=rating.pk).update(helpful_count=F("helpful_count") - 1)
    return Rating.objects.values_list("helpful_count", flat=True).get(pk=rating.pk)
