from django.apps import AppConfig, apps


class NotificationsConfig(AppConfig):
    name = "apps.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self):
        from apps.core.metrics import register_db_collector
        from apps.notifications.metrics import notifications_metrics

        register_db_collector(notifications_metrics)
        # The ratings signals are the one seam to the ratings app; the separate notifications
        # deployment does not install it and only consumes events from the broker.
        if apps.is_installed("apps.ratings"):
            from apps.notifications import receivers

            receivers.connect()
