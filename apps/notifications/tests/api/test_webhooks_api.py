"""Webhook endpoints, the delivery log and push devices through the API."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.settings import api_settings

from apps.notifications.api.throttling import WebhookTestThrottle
from apps.notifications.models import Delivery, DeliveryStatus, Device, WebhookEndpoint
from apps.notifications.services import webhook_create
from tests.factories import DeliveryFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/notifications/"


def _errors(response) -> list[tuple[str, str | None]]:
    body = response.json()
    assert set(body) == {"type", "errors"}
    return [(e["code"], e["attr"]) for e in body["errors"]]


def test_create_shows_the_secret_once_and_the_list_never(provider, provider_client):
    response = provider_client.post(
        URL + "webhooks/", {"url": "https://hooks.example.com/in", "event_types": ["rating.created"]}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["secret"].startswith("whsec_")
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.recipient_id, endpoint.url, endpoint.event_types, endpoint.secret) == (
        provider.user.pk,
        "https://hooks.example.com/in",
        ["rating.created"],
        body["secret"],
    )
    listed = provider_client.get(URL + "webhooks/").json()["results"]
    assert [item["id"] for item in listed] == [str(endpoint.pk)]
    assert "secret" not in listed[0]


@pytest.mark.parametrize(
    ("body", "code", "attr"),
    [
        ({"url": "ftp://hooks.example.com/"}, "invalid_url", None),
        ({"url": "http://10.0.0.1/hook"}, "invalid_url", None),
        ({"url": "http://169.254.169.254/latest"}, "invalid_url", None),
        ({"url": "not a url"}, "invalid_url", None),
        ({"url": "https://hooks.example.com/", "event_types": ["rating.nope"]}, "unknown_event_type", None),
        ({"event_types": []}, "required", "url"),
        ({"url": "https://hooks.example.com/", "event_types": "rating.created"}, "not_a_list", "event_types"),
    ],
)
def test_bad_input_is_400_and_writes_nothing(provider_client, body, code, attr):
    response = provider_client.post(URL + "webhooks/", body, format="json")
    assert response.status_code == 400
    assert _errors(response)[0] == (code, attr)
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks_1.example.com/",
        "http://127.1/",
        "http://2130706433/",
        "http://vm/",
        "https://-a.example/",
    ],
)
def test_urls_that_pass_the_address_rules_but_no_url_validator_are_400(settings, provider_client, url):
    settings.OUTBOUND_ALLOW_LOOPBACK = False
    response = provider_client.post(URL + "webhooks/", {"url": url}, format="json")
    assert response.status_code == 400, response.content
    assert _errors(response)[0][0] in {"invalid_url", "invalid"}
    assert not WebhookEndpoint.objects.exists()


def test_a_non_ascii_url_is_stored_as_the_uri_that_will_be_requested(provider_client):
    response = provider_client.post(URL + "webhooks/", {"url": "https://bücher.example/hooks/ünï"}, format="json")
    assert response.status_code == 201, response.content
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.url == "https://xn--bcher-kva.example/hooks/%C3%BCn%C3%AF"
    assert response.json()["url"] == endpoint.url


def test_loopback_is_refused_unless_allowed(settings, provider_client):
    settings.OUTBOUND_ALLOW_LOOPBACK = False
    for url in ["http://127.0.0.1:8000/hook", "http://localhost/hook", "http://[::1]/hook"]:
        response = provider_client.post(URL + "webhooks/", {"url": url}, format="json")
        assert response.status_code == 400, url
        assert _errors(response) == [("invalid_url", None)]
    settings.OUTBOUND_ALLOW_LOOPBACK = True
    assert (
        provider_client.post(URL + "webhooks/", {"url": "http://127.0.0.1:8000/hook"}, format="json").status_code == 201
    )


def test_rotate_shows_a_new_secret_and_keeps_the_old_one_for_the_grace(settings, provider, provider_client):
    settings.WEBHOOK_SECRET_GRACE = 3600
    endpoint = webhook_create(recipient_id=provider.user.pk, url="https://hooks.example.com/", event_types=[])
    response = provider_client.post(URL + f"webhooks/{endpoint.pk}/rotate-secret/")
    assert response.status_code == 200
    new_secret = response.json()["secret"]
    rotated = WebhookEndpoint.objects.get()
    assert (rotated.secret, rotated.previous_secret) == (new_secret, endpoint.secret)
    assert abs((rotated.previous_secret_expires_at - timezone.now()) - timedelta(hours=1)) < timedelta(seconds=5)


def test_test_send_queues_a_webhook_test_delivery(
    provider, provider_client, send_task, django_capture_on_commit_callbacks
):
    endpoint = webhook_create(recipient_id=provider.user.pk, url="https://hooks.example.com/", event_types=[])
    with django_capture_on_commit_callbacks(execute=True):
        response = provider_client.post(URL + f"webhooks/{endpoint.pk}/test/", HTTP_X_REQUEST_ID="req-hook-test")
    assert response.status_code == 202
    delivery = Delivery.objects.get(pk=response.json()["delivery_id"])
    # The delivery worker logs this send under the request that asked for it.
    assert delivery.request_id == "req-hook-test"
    assert (delivery.channel, delivery.endpoint_id, delivery.payload["type"]) == (
        "webhook",
        endpoint.pk,
        "webhook.test",
    )
    send_task.assert_called_once_with("notifications.deliver_batch", args=[[str(delivery.pk)]])


def test_the_sixth_test_send_in_a_minute_is_429_and_sends_nothing(provider, provider_client, send_task, monkeypatch):
    # DRF reads the rates into a class attribute at import; this test wants the default rate.
    monkeypatch.setattr(
        WebhookTestThrottle, "THROTTLE_RATES", {**api_settings.DEFAULT_THROTTLE_RATES, "webhook_test": "5/min"}
    )
    endpoint = webhook_create(recipient_id=provider.user.pk, url="https://hooks.example.com/", event_types=[])
    for _ in range(5):
        assert provider_client.post(URL + f"webhooks/{endpoint.pk}/test/").status_code == 202
    refused = provider_client.post(URL + f"webhooks/{endpoint.pk}/test/")
    assert refused.status_code == 429
    assert _errors(refused) == [("throttled", None)]
    assert 0 < int(refused["Retry-After"]) <= 60
    assert Delivery.objects.filter(endpoint=endpoint).count() == 5
    # Only test sends are counted: the endpoint's other operations still work.
    assert provider_client.post(URL + f"webhooks/{endpoint.pk}/rotate-secret/").status_code == 200


def test_recover_reenables_and_replays_dead_deliveries_since(provider, provider_client, send_task):
    endpoint = webhook_create(recipient_id=provider.user.pk, url="https://hooks.example.com/", event_types=[])
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False, disabled_reason="410")
    now = timezone.now()
    recent = DeliveryFactory(
        recipient_id=provider.user.pk, channel="webhook", endpoint=endpoint, status=DeliveryStatus.DEAD
    )
    DeliveryFactory(
        recipient_id=provider.user.pk,
        channel="webhook",
        endpoint=endpoint,
        status=DeliveryStatus.DEAD,
        created_at=now - timedelta(days=2),
    )
    DeliveryFactory(recipient_id=provider.user.pk, channel="webhook", endpoint=endpoint, status=DeliveryStatus.SENT)

    since = (now - timedelta(days=1)).isoformat()
    response = provider_client.post(URL + f"webhooks/{endpoint.pk}/recover/", {"since": since}, format="json")
    assert response.status_code == 200
    assert response.json() == {"replayed": 1}
    recent.refresh_from_db()
    assert (recent.status, recent.attempts) == (DeliveryStatus.PENDING, 0)
    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.disabled_reason) == (True, "")

    bad = provider_client.post(URL + f"webhooks/{endpoint.pk}/recover/", {"since": "yesterday"}, format="json")
    assert bad.status_code == 400
    assert _errors(bad) == [("invalid", "since")]


def test_delete_removes_the_endpoint_but_keeps_its_log(provider, provider_client):
    endpoint = webhook_create(recipient_id=provider.user.pk, url="https://hooks.example.com/", event_types=[])
    delivery = DeliveryFactory(recipient_id=provider.user.pk, channel="webhook", endpoint=endpoint)
    assert provider_client.delete(URL + f"webhooks/{endpoint.pk}/").status_code == 204
    assert not WebhookEndpoint.objects.exists()
    delivery.refresh_from_db()
    assert delivery.endpoint_id is None


def test_other_users_objects_are_404_and_untouched(provider, customer_client, send_task):
    endpoint = webhook_create(recipient_id=provider.user.pk, url="https://hooks.example.com/", event_types=[])
    device = Device.objects.create(recipient_id=provider.user.pk, token="t", platform="ios")
    dead = DeliveryFactory(recipient_id=provider.user.pk, status=DeliveryStatus.DEAD)
    calls = [
        ("delete", f"webhooks/{endpoint.pk}/", None),
        ("post", f"webhooks/{endpoint.pk}/rotate-secret/", None),
        ("post", f"webhooks/{endpoint.pk}/test/", None),
        ("post", f"webhooks/{endpoint.pk}/recover/", {"since": "2020-01-01T00:00:00Z"}),
        ("post", f"deliveries/{dead.pk}/replay/", None),
        ("delete", f"devices/{device.pk}/", None),
    ]
    for method, path, body in calls:
        response = getattr(customer_client, method)(URL + path, body, format="json")
        assert response.status_code == 404, path
        assert _errors(response) == [("not_found", None)]
    assert WebhookEndpoint.objects.get().secret == endpoint.secret
    assert Device.objects.count() == 1
    assert Delivery.objects.get(pk=dead.pk).status == DeliveryStatus.DEAD
    send_task.assert_not_called()
    assert customer_client.get(URL + "deliveries/").json()["results"] == []


def test_delivery_log_filters_and_pages(provider, provider_client, django_assert_max_num_queries):
    now = timezone.now()
    for i in range(5):
        DeliveryFactory(
            recipient_id=provider.user.pk, status=DeliveryStatus.SENT, created_at=now - timedelta(minutes=i)
        )
    dead = DeliveryFactory(recipient_id=provider.user.pk, status=DeliveryStatus.DEAD, last_error="HTTP 500")
    DeliveryFactory(status=DeliveryStatus.DEAD)  # someone else's

    with django_assert_max_num_queries(3):
        response = provider_client.get(URL + "deliveries/?status=dead")
    assert [(d["id"], d["last_error"], d["channel"]) for d in response.json()["results"]] == [
        (str(dead.pk), "HTTP 500", "email")
    ]
    page = provider_client.get(URL + "deliveries/?page_size=4&channel=email").json()
    assert len(page["results"]) == 4
    rest = provider_client.get(page["next"]).json()
    assert len(rest["results"]) == 2
    bad = provider_client.get(URL + "deliveries/?status=lost")
    assert bad.status_code == 400
    assert _errors(bad) == [("invalid_choice", "status")]


def test_replay_of_own_dead_delivery_and_409_when_not_dead(provider, provider_client, send_task):
    dead = DeliveryFactory(recipient_id=provider.user.pk, status=DeliveryStatus.DEAD, attempts=20)
    response = provider_client.post(URL + f"deliveries/{dead.pk}/replay/")
    assert response.status_code == 202
    assert (response.json()["status"], response.json()["attempts"]) == ("pending", 0)
    again = provider_client.post(URL + f"deliveries/{dead.pk}/replay/")
    assert again.status_code == 409
    assert _errors(again) == [("delivery_not_dead", None)]


def test_device_registration_is_idempotent_and_moves_a_token_to_its_new_owner(
    provider, provider_client, customer_client
):
    first = provider_client.post(URL + "devices/", {"token": "tok", "platform": "ios"}, format="json")
    assert first.status_code == 201
    again = provider_client.post(URL + "devices/", {"token": "tok", "platform": "ios"}, format="json")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Device.objects.count() == 1
    assert [d["token"] for d in provider_client.get(URL + "devices/").json()["results"]] == ["tok"]

    assert customer_client.post(URL + "devices/", {"token": "tok", "platform": "ios"}, format="json").status_code == 201
    assert list(Device.objects.values_list("recipient_id", flat=True)) != [provider.user.pk]
    assert provider_client.get(URL + "devices/").json()["results"] == []


@pytest.mark.parametrize(
    ("body", "code", "attr"),
    [({"token": "t", "platform": "symbian"}, "invalid_choice", "platform"), ({"platform": "ios"}, "required", "token")],
)
def test_device_bad_input_is_400_and_writes_nothing(provider_client, body, code, attr):
    response = provider_client.post(URL + "devices/", body, format="json")
    assert response.status_code == 400
    assert _errors(response) == [(code, attr)]
    assert not Device.objects.exists()


def test_device_delete(provider, provider_client):
    device = Device.objects.create(recipient_id=provider.user.pk, token="t", platform="web")
    assert provider_client.delete(URL + f"devices/{device.pk}/").status_code == 204
    assert not Device.objects.exists()


def test_the_device_over_the_limit_is_409_and_writes_nothing(settings, provider, provider_client, customer):
    settings.NOTIFICATIONS_MAX_DEVICES = 10
    for i in range(10):
        response = provider_client.post(URL + "devices/", {"token": f"t{i}", "platform": "ios"}, format="json")
        assert response.status_code == 201
    # The 11th token is another user's: refusing it must not take it from them either.
    Device.objects.create(recipient_id=customer.user.pk, token="t10", platform="android")
    response = provider_client.post(URL + "devices/", {"token": "t10", "platform": "ios"}, format="json")
    assert response.status_code == 409
    assert _errors(response) == [("too_many_devices", None)]
    assert response.json()["errors"][0]["detail"] == "An account can have at most 10 push devices; delete one first."
    assert Device.objects.filter(recipient_id=provider.user.pk).count() == 10
    assert list(Device.objects.filter(token="t10").values_list("recipient_id", "platform")) == [
        (customer.user.pk, "android")
    ]


def test_re_registering_a_device_at_the_limit_refreshes_it(settings, provider, provider_client):
    settings.NOTIFICATIONS_MAX_DEVICES = 10
    for i in range(10):
        Device.objects.create(recipient_id=provider.user.pk, token=f"t{i}", platform="ios")
    response = provider_client.post(URL + "devices/", {"token": "t3", "platform": "android"}, format="json")
    assert response.status_code == 200
    assert Device.objects.filter(recipient_id=provider.user.pk).count() == 10
    assert Device.objects.get(token="t3").platform == "android"
    deleted = Device.objects.get(token="t0")
    assert provider_client.delete(URL + f"devices/{deleted.pk}/").status_code == 204
    assert provider_client.post(URL + "devices/", {"token": "t10", "platform": "ios"}, format="json").status_code == 201
