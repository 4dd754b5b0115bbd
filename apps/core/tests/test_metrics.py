from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.models import OutboxEvent
from apps.notifications.models import Delivery, DeliveryStatus
from apps.notifications.outbound.tests.conftest import breaker_redis  # noqa: F401 - fixture
from tests.factories import DeliveryFactory


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


def _gauge(text: str, name: str) -> dict[str, float]:
    """The samples of a one-label gauge, by label value."""
    return {
        line.split('"')[1]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{")
    }


def _ago(**delta):
    return timezone.now() - timedelta(**delta)


@pytest.mark.django_db
def test_metrics_show_how_old_the_oldest_waiting_and_dead_events_are(api_client):
    row = {"type": "rating.created", "occurred_at": timezone.now(), "data": {}, "task_name": "t", "queue": "q"}
    waiting = OutboxEvent.objects.create(**row)
    OutboxEvent.objects.filter(pk=waiting.pk).update(created_at=_ago(days=1))
    OutboxEvent.objects.create(**row, dispatched_at=_ago(days=3), attempts=10, dead_at=_ago(days=2))
    ages = _gauge(api_client.get("/metrics").content.decode(), "outbox_oldest_age_seconds")
    assert ages["unconfirmed"] == 0.0
    assert 86_400 - 60 < ages["undispatched"] < 86_400 + 60
    # A dead event's age counts from when it died.
    assert 2 * 86_400 - 60 < ages["dead"] < 2 * 86_400 + 60


@pytest.mark.django_db
def test_metrics_show_how_long_the_oldest_delivery_has_waited_or_been_dead(api_client):
    waiting = DeliveryFactory(status=DeliveryStatus.RETRY, last_attempt_at=_ago(days=1))
    Delivery.objects.filter(pk=waiting.pk).update(created_at=_ago(days=2))
    DeliveryFactory(status=DeliveryStatus.DEAD, last_attempt_at=_ago(days=3))
    ages = _gauge(api_client.get("/metrics").content.decode(), "notifications_deliveries_oldest_age_seconds")
    assert ages["pending"] == 0.0
    assert 2 * 86_400 - 60 < ages["retry"] < 2 * 86_400 + 60
    assert 3 * 86_400 - 60 < ages["dead"] < 3 * 86_400 + 60


def _transitions(text: str) -> float:
    prefix = 'outbound_breaker_transitions_total{from="closed",kind="host",to="open"} '
    return next((float(line[len(prefix) :]) for line in text.splitlines() if line.startswith(prefix)), 0.0)


@pytest.mark.django_db
def test_metrics_count_breakers_by_kind_and_state_never_naming_a_host(api_client, settings, breaker_redis):  # noqa: F811
    from apps.notifications.outbound import breakers

    settings.BREAKER_FAIL_MAX = 1
    transitions_before = _transitions(api_client.get("/metrics").content.decode())

    assert breakers.allow("host:metrics.example")
    breakers.record_failure("host:metrics.example")
    breakers.breaker_for("host:fine.example")
    breakers.breaker_for(breakers.provider_key(7))
    text = api_client.get("/metrics").content.decode()
    assert [line for line in text.splitlines() if line.startswith("outbound_breakers{")] == [
        'outbound_breakers{kind="host",state="closed"} 1.0',
        'outbound_breakers{kind="host",state="half-open"} 0.0',
        'outbound_breakers{kind="host",state="open"} 1.0',
        'outbound_breakers{kind="provider",state="closed"} 1.0',
        'outbound_breakers{kind="provider",state="half-open"} 0.0',
        'outbound_breakers{kind="provider",state="open"} 0.0',
    ]
    assert _transitions(text) == transitions_before + 1
    assert "metrics.example" not in text
    assert "fine.example" not in text


@pytest.mark.django_db
def test_thirty_open_webhook_hosts_add_no_series(api_client, settings, breaker_redis):  # noqa: F811
    from apps.notifications.outbound import breakers

    settings.BREAKER_FAIL_MAX = 1

    def breaker_series(text):
        return sorted(line.rpartition(" ")[0] for line in text.splitlines() if line.startswith("outbound_breaker"))

    breakers.record_failure("host:warm-up.example")  # every transition series exists from here on
    series_before = breaker_series(api_client.get("/metrics").content.decode())
    for n in range(30):
        key = breakers.host_key(f"https://customer-{n}.example/hook")
        assert breakers.allow(key)
        breakers.record_failure(key)
    text = api_client.get("/metrics").content.decode()

    assert breaker_series(text) == series_before
    assert 'outbound_breakers{kind="host",state="open"} 31.0' in text
    assert "customer-" not in text


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = "scrape-secret-0123456789"
    return settings.METRICS_TOKEN


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", "Bearer scrape-secret-012345678", "Basic scrape-secret-0123456789", "Bearer"],
)
def test_with_a_token_set_metrics_refuses_requests_without_it(client, metrics_token, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert response.json() == {
        "type": "client_error",
        "errors": [
            {
                "code": "not_authenticated",
                "detail": "Authentication credentials were not provided or are invalid.",
                "attr": None,
            }
        ],
    }
    assert b"outbox_backlog" not in response.content


@pytest.mark.django_db
def test_with_the_right_token_metrics_answers(client, metrics_token):
    response = client.get("/metrics", headers={"Authorization": f"Bearer {metrics_token}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert 'outbox_backlog{state="undispatched"} 0.0' in response.content.decode()
