from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "apps.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self):
        from apps.core.metrics import register_db_collector
        from apps.core.retention import register_purge
        from apps.notifications.metrics import notifications_metrics
        from apps.notifications.services.retention import PURGES

        register_db_collector(notifications_metrics)
        for purge in PURGES:
            register_purge(purge)
