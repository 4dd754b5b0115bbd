"""A trace context column (W3C traceparent/tracestate, README "Observability").

On PostgreSQL 11+ adding a column with a constant default rewrites no rows.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0006_outboxevent_request_id'),
    ]

    operations = [
        migrations.AddField(
            model_name='outboxevent',
            name='trace',
            field=models.JSONField(blank=True, db_default=models.Value({}, output_field=models.JSONField()), default=dict),
        ),
    ]
