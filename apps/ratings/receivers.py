"""What the ratings app does when other apps' models change."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.providers.models import Provider
from apps.ratings.models import RatingSummary


@receiver(post_save, sender=Provider, dispatch_uid="ratings.summary_for_new_provider")
def create_summary_for_new_provider(sender, instance: Provider, created: bool, using: str, **kwargs) -> None:
    # Every provider has its (empty) summary row from the start, in the transaction that creates
    # the provider: the directory joins the two with an inner join, which lets the summary's
    # indexes serve its orderings by average and count.
    if created:
        RatingSummary.objects.using(using).bulk_create([RatingSummary(provider_id=instance.pk)], ignore_conflicts=True)
