"""A deleted account's words leave the ratings tables; the ratings themselves stay."""

from apps.accounts.models import User
from apps.providers.models import Provider
from apps.ratings.models import Rating, RatingReply, RatingReport, RatingRevision
from apps.ratings.services.helpful_votes import helpful_votes_withdraw_all


def ratings_user_erase(*, user: User) -> dict:
    """Empty what ``user`` wrote in the ratings tables, in the caller's (erasure) transaction.

    Their scores (and so every summary), states and ids are kept; the comments they wrote, and
    every earlier version of them, become empty, as do the details of their reports; their
    helpful votes leave the counts. A provider's replies to ratings are its words: they are
    deleted. Returns the ids under which the notifications app finds its copies
    (``apps.accounts.signals.user_erasing``).
    """
    rating_ids = list(Rating.objects.filter(customer__user=user).values_list("pk", flat=True))
    Rating.objects.filter(pk__in=rating_ids).exclude(comment="").update(comment="")
    RatingRevision.objects.filter(rating_id__in=rating_ids).exclude(comment="").update(comment="")
    RatingReport.objects.filter(reporter=user).exclude(details="").update(details="")
    helpful_votes_withdraw_all(user=user)
    provider_id = Provider.objects.filter(user=user).values_list("pk", flat=True).first()
    if provider_id is not None:
        RatingReply.objects.filter(rating__provider_id=provider_id).delete()
    return {"rating_ids": [str(pk) for pk in rating_ids], "provider_id": str(provider_id) if provider_id else None}
