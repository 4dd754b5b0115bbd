"""What the ratings app does when other apps' models change."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.accounts.signals import user_deactivated, user_erasing
from apps.providers.models import Provider
from apps.ratings.models import Rating, RatingReply, RatingReport, RatingRevision, RatingSummary
from apps.ratings.services import helpful_votes_withdraw_all


@receiver(post_save, sender=Provider, dispatch_uid="ratings.summary_for_new_provider")
def create_summary_for_new_provider(sender, instance: Provider, created: bool, using: str, **kwargs) -> None:
    # Every provider has its (empty) summary row from the start, in the transaction that creates
    # the provider: the directory joins the two with an inner join, which lets the summary's
    # indexes serve its orderings by average and count.
    if created:
        RatingSummary.objects.using(using).bulk_create([RatingSummary(provider_id=instance.pk)], ignore_conflicts=True)


@receiver(user_erasing, dispatch_uid="ratings.erase_user")
def erase_user_texts(sender, user, **kwargs) -> dict:
    """A deleted account's words leave the ratings tables; the ratings themselves stay.

    Their scores (and so every summary), states and ids are kept; the comments they wrote, and
    every earlier version of them, become empty, as do the details of their reports; their
    helpful votes leave the counts. A provider's
    replies to ratings are its words: they are deleted. Returns the ids under which the
    notifications app finds its copies (``signals.user_erasing``).
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


@receiver(user_deactivated, dispatch_uid="ratings.withdraw_votes_of_deactivated")
def withdraw_votes_of_deactivated(sender, user, **kwargs) -> None:
    # A banned account's votes must not keep ranking ratings (``ordering=-helpful_count``).
    helpful_votes_withdraw_all(user=user)
