"""What the ratings app does on the events other apps publish (connected in ``apps.py``)."""

from apps.ratings.services import rating_summary_create


def on_provider_registered(sender, event: dict, **kwargs) -> None:
    rating_summary_create(provider_id=event["provider_id"])
