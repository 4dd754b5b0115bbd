from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "Core"

    def ready(self):
        from apps.core.metrics import connect_task_signals

        # Task durations, wherever tasks run (worker processes; eager runs in tests).
        connect_task_signals()
