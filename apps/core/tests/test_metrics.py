import pytest
from django.utils import timezone

from apps.core.models import OutboxEvent
from apps.notifications.outbound.tests.conftest import breaker_redis  # noqa: F401 - fixture


@pytest.mark.django_db
def test_metrics_expose_the_outbox_backlog_from_the_database(api_client):
    now = timezone.now()
    row = {"type": "rating.created", "occurred_at": now, "data": {}, "task_name": "t", "queue": "q"}
    OutboxEvent.objects.create(**row)
    OutboxEvent.objects.create(**row, dispatched_at=now, attempts=10, dead_at=now)
    OutboxEvent.objects.create(**row, dispatched_at=now, attempts=1, confirmed_at=now)
    response = api_client.get("/metrics")
    assert response.status_code == 200
    text = response.content.decode()
    assert 'outbox_backlog{state="undispatched"} 1.0' in text
    assert 'outbox_backlog{state="unconfirmed"} 0.0' in text
    assert 'outbox_backlog{state="dead"} 1.0' in text
    assert "notifications_unread 0.0" in text


@pytest.mark.django_db
def test_metrics_expose_breaker_states_and_transitions(api_client, settings, breaker_redis):  # noqa: F811
    from apps.notifications.outbound import breakers

    settings.BREAKER_FAIL_MAX = 1

    assert breakers.allow("host:metrics.example")
    breakers.record_failure("host:metrics.example")
    breakers.breaker_for("host:fine.example")
    text = api_client.get("/metrics").content.decode()
    assert 'outbound_breaker_state{key="host:metrics.example"} 2.0' in text
    assert 'outbound_breaker_state{key="host:fine.example"} 0.0' in text
    assert 'outbound_breaker_transitions_total{from="closed",key="host:metrics.example",to="open"}' in text
