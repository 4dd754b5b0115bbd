from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "Core"

    def ready(self):
        from django.core.signals import request_finished

        from apps.core import checks  # noqa: F401 (registers the deploy checks)
        from apps.core.idempotency import IDEMPOTENCY_KEYS_PURGE
        from apps.core.middleware import forget_request_id
        from apps.core.outbox import OUTBOX_CONFIRMED_PURGE, OUTBOX_DEAD_PURGE
        from apps.core.retention import register_purge

        for purge in (OUTBOX_CONFIRMED_PURGE, OUTBOX_DEAD_PURGE, IDEMPOTENCY_KEYS_PURGE):
            register_purge(purge)
        request_finished.connect(forget_request_id, dispatch_uid="apps.core.forget_request_id")
        from apps.core.metrics import connect_task_signals

        # Task durations, wherever tasks run (worker processes; eager runs in tests).
        connect_task_signals()
