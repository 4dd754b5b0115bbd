"""The event's time (delivery latency) and the trace context its sends continue.

On PostgreSQL 11+ adding a column with a constant default rewrites no rows.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('notifications', '0004_delivery_request_id'),
    ]

    operations = [
        migrations.AddField(
            model_name='delivery',
            name='event_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='delivery',
            name='trace',
            field=models.JSONField(blank=True, db_default=models.Value({}, output_field=models.JSONField()), default=dict),
        ),
    ]
