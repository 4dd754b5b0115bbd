"""Helpful votes on a published rating."""

from django.db import IntegrityError, transaction
from django.db.models import F

from apps.accounts.models import User
from apps.core.exceptions import NotFound
from apps.ratings.models import (
    Rating,
    RatingHelpfulVote,
    RatingStatus,
)
from apps.ratings.services.errors import CannotVoteOwnRating


@transaction.atomic
def helpful_vote_add(*, rating: Rating, user: User) -> tuple[int, bool]:
    """``user`` finds a published rating helpful, once: ``(helpful_count, created)``.

    A repeated vote changes nothing and reports ``created=False``. 403
    ``cannot_vote_own_rating`` for the rating's author and for the rated provider; 404 if the
    rating is not published (also when it is hidden while the vote is being written).
    """
    if user.pk in (rating.customer.user_id, rating.provider.user_id):
        raise CannotVoteOwnRating()
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


@transaction.atomic
def helpful_vote_remove(*, rating: Rating, user: User) -> int:
    """Withdraw ``user``'s helpful vote, if any; returns the rating's ``helpful_count``."""
    deleted, _ = RatingHelpfulVote.objects.filter(rating_id=rating.pk, user=user).delete()
    if deleted:
        Rating.objects.filter(pk=rating.pk).update(helpful_count=F("helpful_count") - 1)
    return Rating.objects.values_list("helpful_count", flat=True).get(pk=rating.pk)
