from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "apps.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self):
        from apps.core.exports import register_export_part
        from apps.core.metrics import register_db_collector
        from apps.core.outbox import NOTIFICATIONS_QUEUE
        from apps.core.retention import register_purge
        from apps.notifications import exports
        from apps.notifications.delivery import outcomes
        from apps.notifications.intake.outcomes import delivery_outcomes_ingest
        from apps.notifications.metrics import notifications_metrics
        from apps.notifications.services.retention import PURGES

        register_db_collector(notifications_metrics)
        for purge in PURGES:
            register_purge(purge)
        # Delivery reports its outcomes; the intake acts on them (one arrow, wired here).
        outcomes.listen(delivery_outcomes_ingest)
        # Its part of a user's data export (POST /api/v1/accounts/me/export/): answered by its
        # own worker, which reads its database in either topology.
        register_export_part(
            exports.PART, task=exports.SECTIONS_TASK, queue=NOTIFICATIONS_QUEUE, sections=list(exports.EXPORTERS)
        )
