"""Point undispatched outbox rows at the batch ingest task.

Rows published before this release name ``notifications.ingest_event`` (one envelope per
message). Those not sent yet go to ``notifications.ingest_events`` with the rest of their
batch; rows already dispatched keep the old name (the dispatcher sends those one per message,
and the old task stays registered for them and for messages still in the broker).
"""

from django.db import migrations

OLD_TASK = "notifications.ingest_event"
NEW_TASK = "notifications.ingest_events"


def forwards(apps, schema_editor):
    OutboxEvent = apps.get_model("core", "OutboxEvent")
    OutboxEvent.objects.using(schema_editor.connection.alias).filter(
        task_name=OLD_TASK, dispatched_at__isnull=True, confirmed_at__isnull=True
    ).update(task_name=NEW_TASK)


def backwards(apps, schema_editor):
    # The previous code sends every row with one envelope: unconfirmed batch rows go back to
    # the single-envelope task, dispatched or not.
    OutboxEvent = apps.get_model("core", "OutboxEvent")
    OutboxEvent.objects.using(schema_editor.connection.alias).filter(
        task_name=NEW_TASK, confirmed_at__isnull=True
    ).update(task_name=OLD_TASK)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_outboxevent_dead_at"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
