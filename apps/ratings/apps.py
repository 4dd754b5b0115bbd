from django.apps import AppConfig


class RatingsConfig(AppConfig):
    name = "apps.ratings"
    label = "ratings"
    verbose_name = "Ratings"

    def ready(self) -> None:
        from apps.ratings import receivers  # noqa: F401 (connects the receivers)
