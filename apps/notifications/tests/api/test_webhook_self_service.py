"""Webhook self-service through the API: read and change one endpoint, a delivery's attempts,
the delivery log's filters, and the recovery of an endpoint's failed deliveries."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.notifications.models import Delivery, DeliveryAttempt, DeliveryStatus, WebhookEndpoint
from apps.notifications.services import webhook_create
from tests.factories import DeliveryFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/notifications/"


def _errors(response) -> list[tuple[str, str | None]]:
    body = response.json()
    assert set(body) == {"type", "errors"}
    return [(e["code"], e["attr"]) for e in body["errors"]]


def _iso(value) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _endpoint(provider, **extra) -> WebhookEndpoint:
    return webhook_create(
        recipient_id=provider.user.pk, url="https://hooks.example.com/in", event_types=["rating.created"], **extra
    )


def test_get_shows_one_endpoint_without_its_secret(provider, provider_client):
    endpoint = _endpoint(provider, description="CRM sync", rate_per_second=5, headers={"X-Tenant": "acme"})
    response = provider_client.get(URL + f"webhooks/{endpoint.pk}/")
    assert response.status_code == 200
    assert response.json() == {
        "id": str(endpoint.pk),
        "url": "https://hooks.example.com/in",
        "description": "CRM sync",
        "event_types": ["rating.created"],
        "enabled": True,
        "rate_per_second": 5,
        "headers": {"x-tenant": "acme"},
        "disabled_reason": "",
        "failing_since": None,
        "created_at": _iso(endpoint.created_at),
    }


def test_patch_changes_only_what_is_sent(provider, provider_client):
    endpoint = _endpoint(provider, headers={"X-Old": "1"})
    response = provider_client.patch(
        URL + f"webhooks/{endpoint.pk}/",
        {
            "url": "https://other.example.com/hook",
            "description": "New home",
            "event_types": ["rating.replied", "rating.created", "rating.created"],
            "rate_per_second": 10,
            "headers": {"X-Tenant": "acme", "X-Api-Key": "k1"},
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json() == {
        "id": str(endpoint.pk),
        "url": "https://other.example.com/hook",
        "description": "New home",
        "event_types": ["rating.created", "rating.replied"],
        "enabled": True,
        "rate_per_second": 10,
        "headers": {"x-tenant": "acme", "x-api-key": "k1"},
        "disabled_reason": "",
        "failing_since": None,
        "created_at": _iso(endpoint.created_at),
    }
    stored = WebhookEndpoint.objects.get()
    # The secret is not the PATCH's: it stays.
    assert (stored.secret, stored.headers) == (endpoint.secret, {"x-tenant": "acme", "x-api-key": "k1"})

    unlimited = provider_client.patch(URL + f"webhooks/{endpoint.pk}/", {"rate_per_second": None}, format="json")
    assert (unlimited.json()["rate_per_second"], unlimited.json()["url"]) == (None, "https://other.example.com/hook")


def test_enabling_a_disabled_endpoint_clears_its_failure_run(provider, provider_client):
    endpoint = _endpoint(provider)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        enabled=False, disabled_reason="the receiver answered 410 Gone", failing_since=timezone.now()
    )
    body = provider_client.patch(URL + f"webhooks/{endpoint.pk}/", {"enabled": True}, format="json").json()
    assert (body["enabled"], body["disabled_reason"], body["failing_since"]) == (True, "", None)
    off = provider_client.patch(URL + f"webhooks/{endpoint.pk}/", {"enabled": False}, format="json").json()
    assert off["enabled"] is False


@pytest.mark.parametrize(
    ("body", "code", "attr"),
    [
        ({"url": "http://10.0.0.1/hook"}, "invalid_url", None),
        ({"url": "http://169.254.169.254/latest"}, "invalid_url", None),
        ({"url": "ftp://hooks.example.com/"}, "invalid_url", None),
        ({"event_types": ["rating.nope"]}, "unknown_event_type", None),
        ({"headers": {"Authorization": "Bearer x"}}, "invalid_headers", None),
        ({"headers": {"Host": "evil.example"}}, "invalid_headers", None),
        ({"headers": {"Transfer-Encoding": "chunked"}}, "invalid_headers", None),
        ({"headers": {"Connection": "close"}}, "invalid_headers", None),
        ({"headers": {"webhook-signature": "v1,forged"}}, "invalid_headers", None),
        ({"headers": {"Webhook-Custom": "x"}}, "invalid_headers", None),
        ({"headers": {"Bad Name": "x"}}, "invalid_headers", None),
        ({"headers": {"X-Ok": "line\r\nInjected: 1"}}, "invalid_headers", None),
        ({"headers": {"X-A": "1", "x-a": "2"}}, "invalid_headers", None),
        ({"headers": {f"X-H{i}": "v" for i in range(21)}}, "invalid_headers", None),
        ({"headers": ["X-A"]}, "not_a_dict", "headers"),
        # A bad value is named by the field, not by the client's header name (schema fuzzing
        # found the error named after the header, which the error schema cannot list).
        ({"headers": {"X-Long": "v" * 1001}}, "invalid_header_value", "headers"),
        ({"headers": {"X-Flag": True}}, "invalid_header_value", "headers"),
        ({"headers": {"X-Null": None}}, "invalid_header_value", "headers"),
        ({"rate_per_second": 0}, "min_value", "rate_per_second"),
        ({"enabled": "maybe"}, "invalid", "enabled"),
    ],
)
def test_bad_patches_are_400_and_change_nothing(provider, provider_client, body, code, attr):
    endpoint = _endpoint(provider, headers={"X-Kept": "1"})
    response = provider_client.patch(URL + f"webhooks/{endpoint.pk}/", body, format="json")
    assert response.status_code == 400
    assert _errors(response)[0] == (code, attr)
    stored = WebhookEndpoint.objects.get()
    assert (stored.url, stored.event_types, stored.headers, stored.rate_per_second, stored.enabled) == (
        "https://hooks.example.com/in",
        ["rating.created"],
        {"x-kept": "1"},
        None,
        True,
    )


def test_create_refuses_denied_headers_too(provider_client):
    response = provider_client.post(
        URL + "webhooks/",
        {"url": "https://hooks.example.com/in", "headers": {"Proxy-Authorization": "Basic x"}},
        format="json",
    )
    assert response.status_code == 400
    assert _errors(response) == [("invalid_headers", None)]
    assert not WebhookEndpoint.objects.exists()


def test_another_users_endpoint_is_404_and_untouched(provider, customer_client):
    endpoint = _endpoint(provider)
    assert customer_client.get(URL + f"webhooks/{endpoint.pk}/").status_code == 404
    response = customer_client.patch(URL + f"webhooks/{endpoint.pk}/", {"url": "https://mine.example/"}, format="json")
    assert response.status_code == 404
    assert _errors(response) == [("not_found", None)]
    assert WebhookEndpoint.objects.get().url == "https://hooks.example.com/in"


def test_attempts_lists_each_attempt_oldest_first(provider, provider_client):
    endpoint = _endpoint(provider)
    delivery = DeliveryFactory(
        recipient_id=provider.user.pk, channel="webhook", endpoint=endpoint, status=DeliveryStatus.SENT, attempts=2
    )
    first_at = timezone.now() - timedelta(minutes=5)
    second_at = timezone.now()
    DeliveryAttempt.objects.create(
        delivery=delivery,
        number=2,
        target="hooks.example.com",
        outcome="sent",
        status_code=204,
        duration_ms=12,
        created_at=second_at,
    )
    DeliveryAttempt.objects.create(
        delivery=delivery,
        number=1,
        target="hooks.example.com",
        outcome="retry",
        status_code=503,
        response_excerpt="upstream down",
        error="HTTP 503",
        duration_ms=40,
        created_at=first_at,
    )
    response = provider_client.get(URL + f"deliveries/{delivery.pk}/attempts/")
    assert response.status_code == 200
    assert response.json() == [
        {
            "number": 1,
            "created_at": _iso(first_at),
            "outcome": "retry",
            "status_code": 503,
            "response_excerpt": "upstream down",
            "duration_ms": 40,
            "error": "HTTP 503",
        },
        {
            "number": 2,
            "created_at": _iso(second_at),
            "outcome": "sent",
            "status_code": 204,
            "response_excerpt": "",
            "duration_ms": 12,
            "error": "",
        },
    ]


def test_a_first_try_success_is_answered_from_the_delivery_row(provider, provider_client):
    sent_at = timezone.now()
    delivery = DeliveryFactory(
        recipient_id=provider.user.pk,
        channel="webhook",
        status=DeliveryStatus.SENT,
        attempts=1,
        last_attempt_at=sent_at,
        sent_at=sent_at,
        response_status=200,
        last_duration_ms=31,
    )
    assert provider_client.get(URL + f"deliveries/{delivery.pk}/attempts/").json() == [
        {
            "number": 1,
            "created_at": _iso(sent_at),
            "outcome": "sent",
            "status_code": 200,
            "response_excerpt": "",
            "duration_ms": 31,
            "error": "",
        }
    ]
    pending = DeliveryFactory(recipient_id=provider.user.pk, status=DeliveryStatus.PENDING)
    assert provider_client.get(URL + f"deliveries/{pending.pk}/attempts/").json() == []


def test_another_users_delivery_attempts_are_404(provider, customer_client):
    delivery = DeliveryFactory(recipient_id=provider.user.pk)
    response = customer_client.get(URL + f"deliveries/{delivery.pk}/attempts/")
    assert response.status_code == 404
    assert _errors(response) == [("not_found", None)]


def test_delivery_log_filters_by_endpoint_status_and_event_type(provider, provider_client):
    owner = provider.user.pk
    mine, other = _endpoint(provider), _endpoint(provider)
    now = timezone.now()
    created = DeliveryFactory(
        recipient_id=owner,
        channel="webhook",
        endpoint=mine,
        status=DeliveryStatus.DEAD,
        payload={"type": "rating.created"},
        created_at=now,
    )
    replied = DeliveryFactory(
        recipient_id=owner,
        channel="webhook",
        endpoint=mine,
        status=DeliveryStatus.SENT,
        payload={"type": "rating.replied"},
        notification__type="rating.replied",
        created_at=now - timedelta(seconds=1),
    )
    DeliveryFactory(recipient_id=owner, channel="webhook", endpoint=other, payload={"type": "rating.created"})
    # A test send has no inbox item: its type is its body's.
    test_send = DeliveryFactory(
        recipient_id=owner,
        channel="webhook",
        endpoint=mine,
        notification=None,
        event_id=uuid.uuid4(),
        payload={"type": "webhook.test"},
        created_at=now - timedelta(seconds=3),
    )
    # An email's type is its inbox item's.
    email = DeliveryFactory(
        recipient_id=owner, notification__type="rating.replied", created_at=now - timedelta(seconds=2)
    )

    def ids(query: str) -> list[str]:
        response = provider_client.get(URL + "deliveries/?" + query)
        assert response.status_code == 200, response.content
        return [d["id"] for d in response.json()["results"]]

    assert ids(f"endpoint={mine.pk}") == [str(created.pk), str(replied.pk), str(test_send.pk)]
    assert ids("event_type=webhook.test") == [str(test_send.pk)]
    assert ids(f"endpoint={mine.pk}&status=dead") == [str(created.pk)]
    assert ids("event_type=rating.replied") == [str(replied.pk), str(email.pk)]
    assert ids(f"endpoint={mine.pk}&event_type=rating.created") == [str(created.pk)]
    assert ids(f"endpoint={uuid.uuid4()}") == []
    body = provider_client.get(URL + f"deliveries/?endpoint={mine.pk}&status=dead").json()["results"][0]
    assert (body["endpoint_id"], body["status"], body["channel"]) == (str(mine.pk), "dead", "webhook")


@pytest.mark.parametrize(
    ("query", "code", "attr"),
    [
        ("endpoint=nope", "invalid", "endpoint"),
        ("event_type=rating.nope", "invalid_choice", "event_type"),
        ("status=lost", "invalid_choice", "status"),
    ],
)
def test_bad_delivery_log_filters_are_400(provider_client, query, code, attr):
    response = provider_client.get(URL + "deliveries/?" + query)
    assert response.status_code == 400
    assert _errors(response) == [(code, attr)]


def test_recover_replays_failed_deliveries_since_in_order_once(
    provider, provider_client, send_task, django_capture_on_commit_callbacks
):
    endpoint = _endpoint(provider)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False, disabled_reason="gone")
    now = timezone.now()

    def make(status, minutes_ago, **extra):
        return DeliveryFactory(
            recipient_id=provider.user.pk,
            channel="webhook",
            endpoint=endpoint,
            status=status,
            attempts=7,
            created_at=now - timedelta(minutes=minutes_ago),
            **extra,
        )

    newest_dead = make(DeliveryStatus.DEAD, 1)
    retrying = make(DeliveryStatus.RETRY, 2, next_attempt_at=now + timedelta(hours=3))
    oldest_dead = make(DeliveryStatus.DEAD, 3)
    before = make(DeliveryStatus.DEAD, 90)
    sent = make(DeliveryStatus.SENT, 2)
    elsewhere = DeliveryFactory(
        recipient_id=provider.user.pk,
        channel="webhook",
        endpoint=_endpoint(provider),
        status=DeliveryStatus.DEAD,
        attempts=7,
    )

    since = _iso(now - timedelta(minutes=30))
    with django_capture_on_commit_callbacks(execute=True):
        response = provider_client.post(URL + f"webhooks/{endpoint.pk}/recover/", {"since": since}, format="json")
    assert response.status_code == 200
    assert response.json() == {"replayed": 3}
    # Queued oldest first, and due in that order, so the batch is claimed and sent in it.
    expected = [str(oldest_dead.pk), str(retrying.pk), str(newest_dead.pk)]
    send_task.assert_called_once_with("notifications.deliver_batch", args=[expected])
    rows = list(Delivery.objects.filter(pk__in=expected).order_by("next_attempt_at"))
    assert [str(row.pk) for row in rows] == expected
    assert {(row.status, row.attempts) for row in rows} == {(DeliveryStatus.PENDING, 0)}
    assert rows[-1].next_attempt_at <= timezone.now()
    for untouched, status in ((before, "dead"), (sent, "sent"), (elsewhere, "dead")):
        untouched.refresh_from_db()
        assert (untouched.status, untouched.attempts) == (status, 7)
    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.disabled_reason) == (True, "")

    # A second call finds nothing failed: nothing is queued twice.
    send_task.reset_mock()
    with django_capture_on_commit_callbacks(execute=True):
        again = provider_client.post(URL + f"webhooks/{endpoint.pk}/recover/", {"since": since}, format="json")
    assert again.json() == {"replayed": 0}
    send_task.assert_not_called()
