"""The per-user device and webhook-endpoint limits under concurrent registrations."""

import threading
import uuid

import pytest
from django.db import connection

from apps.notifications.models import Device
from apps.notifications.services import device_register
from apps.notifications.subscriptions.devices import TooManyDevices


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL only (SQLite serializes writes)")
@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_one_short_of_the_limit_create_exactly_one(settings):
    settings.NOTIFICATIONS_MAX_DEVICES = 10
    recipient_id = uuid.uuid4()
    for i in range(9):
        Device.objects.create(recipient_id=recipient_id, token=f"old-{i}", platform="ios")
    threads_count = 6
    start = threading.Barrier(threads_count)
    created: list[str] = []
    refused: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def register(token: str) -> None:
        try:
            start.wait()
            try:
                device_register(recipient_id=recipient_id, token=token, platform="android")
            except TooManyDevices:
                with lock:
                    refused.append(token)
            else:
                with lock:
                    created.append(token)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(f"new-{i}",)) for i in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(created) == 1
    assert len(refused) == threads_count - 1
    tokens = set(Device.objects.filter(recipient_id=recipient_id).values_list("token", flat=True))
    assert tokens == {f"old-{i}" for i in range(9)} | set(created)


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL only (SQLite serializes writes)")
@pytest.mark.django_db(transaction=True)
def test_concurrent_webhook_creates_one_short_of_the_limit_create_exactly_one():
    from apps.notifications.models import WebhookEndpoint
    from apps.notifications.services import MAX_ENDPOINTS, TooManyEndpoints, webhook_create

    recipient_id = uuid.uuid4()
    for i in range(MAX_ENDPOINTS - 1):
        WebhookEndpoint.objects.create(recipient_id=recipient_id, url=f"https://h{i}.example.com/", secret="whsec_x")
    threads_count = 6
    start = threading.Barrier(threads_count)
    outcomes: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def create(n: int) -> None:
        try:
            start.wait()
            try:
                webhook_create(recipient_id=recipient_id, url=f"https://new{n}.example.com/hook", event_types=[])
            except TooManyEndpoints:
                outcome = "refused"
            else:
                outcome = "created"
            with lock:
                outcomes.append(outcome)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(outcomes) == ["created"] + ["refused"] * (threads_count - 1)
    assert WebhookEndpoint.objects.filter(recipient_id=recipient_id).count() == MAX_ENDPOINTS
