"""The partners' handler of the ratings app's events: a rating that becomes public goes to the
feed of every partner that has its provider, in the rating's own transaction (so a rating and
its feed items commit, or roll back, together)."""

from apps.accounts.signals import user_erasing
from apps.partners.feed import feed_items_for_rating
from apps.partners.models import NotificationTrigger
from apps.partners.selectors import partner_provider_ids
from apps.ratings import signals as rating_signals


def _announce(event: dict) -> None:
    partner_ids = partner_provider_ids(provider_id=event["provider_id"])
    if partner_ids:
        feed_items_for_rating(
            partner_ids=partner_ids,
            provider_id=event["provider_id"],
            rating_id=event["rating_id"],
            score=event["score"],
        )


def on_rating_created(sender, event: dict, **kwargs) -> None:
    if event["status"] == "published":
        _announce(event)


def on_rating_moderated(sender, event: dict, **kwargs) -> None:
    # Released from an automatic hold: announced now, as the provider's inbox announces it.
    if event.get("first_publication") and event["status"] == "published":
        _announce(event)


def on_user_erasing(sender, user, **kwargs) -> None:
    # The triggers sent to an erased account hold words addressed to them (a title may name
    # them): they go, in the erasure's transaction. The account is inactive, so a retried key
    # cannot reach it again (404).
    NotificationTrigger.objects.filter(recipient_user=user).delete()


def connect() -> None:
    user_erasing.connect(on_user_erasing, dispatch_uid="partners.erase_user_triggers")
    rating_signals.rating_created.connect(on_rating_created, dispatch_uid="partners.rating_created")
    rating_signals.rating_moderated.connect(on_rating_moderated, dispatch_uid="partners.rating_moderated")
