"""What the ratings app does on the events other apps publish (connected in ``apps.py``)."""

from apps.ratings.services import helpful_votes_withdraw_all, rating_summary_create, ratings_user_erase


def on_provider_registered(sender, event: dict, **kwargs) -> None:
    rating_summary_create(provider_id=event["provider_id"])


def on_user_erasing(sender, user, **kwargs) -> dict:
    return ratings_user_erase(user=user)


def on_user_deactivated(sender, user, **kwargs) -> None:
    # A banned account's votes must not keep ranking ratings (``ordering=-helpful_count``).
    helpful_votes_withdraw_all(user=user)
