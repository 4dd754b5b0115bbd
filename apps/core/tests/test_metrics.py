import pytest
from django.utils import timezone

from apps.core.models import OutboxEvent


@pytest.mark.django_db
def test_metrics_expose_the_outbox_backlog_from_the_database(api_client):
    OutboxEvent.objects.create(type="rating.created", occurred_at=timezone.now(), data={}, task_name="t", queue="q")
    response = api_client.get("/metrics")
    assert response.status_code == 200
    text = response.content.decode()
    assert 'outbox_backlog{state="undispatched"} 1.0' in text
    assert 'outbox_backlog{state="unconfirmed"} 0.0' in text
    assert "notifications_unread 0.0" in text
