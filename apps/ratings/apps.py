from django.apps import AppConfig


class RatingsConfig(AppConfig):
    name = "apps.ratings"
    label = "ratings"
    verbose_name = "Ratings"

    def ready(self) -> None:
        # In ready(): the handlers import the services, which import the models.
        from apps.accounts.signals import user_deactivated, user_erasing
        from apps.core.exports import register_exporter
        from apps.providers import events as provider_events
        from apps.ratings import exports, handlers

        provider_events.provider_registered.connect(
            handlers.on_provider_registered, dispatch_uid="ratings.summary_for_new_provider"
        )
        user_erasing.connect(handlers.on_user_erasing, dispatch_uid="ratings.erase_user")
        user_deactivated.connect(handlers.on_user_deactivated, dispatch_uid="ratings.withdraw_votes_of_deactivated")
        # Its sections of a user's data export (POST /api/v1/accounts/me/export/).
        register_exporter("ratings", exports.ratings_export)
        register_exporter("replies", exports.replies_export)
        register_exporter("helpful_votes", exports.helpful_votes_export)
        register_exporter("reports", exports.reports_export)
