"""The same trigger sent by several callers' retries at the same moment, on PostgreSQL: told once."""

import threading

import pytest
from django.db import connection, connections

from apps.core.models import OutboxEvent
from apps.partners.models import NotificationTrigger
from apps.partners.triggers import notification_trigger
from tests.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SENDERS = 4


@pytest.fixture(autouse=True)
def _skip_unless_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")


def test_concurrent_sends_of_one_key_make_one_trigger_and_one_event():
    staff, recipient = UserFactory(is_staff=True), UserFactory()
    barrier = threading.Barrier(SENDERS, timeout=30)
    results: list[tuple] = []
    errors: list[BaseException] = []

    def sender():
        try:
            barrier.wait()
            trigger, created = notification_trigger(
                partner=None,
                staff_user=staff,
                type="custom.message",
                user_id=recipient.pk,
                provider_id=None,
                title="Hello",
                body="",
                data={},
                idempotency_key="race",
            )
            results.append((trigger.pk, created))
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sender) for _ in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert not errors, errors
    assert len(results) == SENDERS
    assert len({pk for pk, _ in results}) == 1
    assert sorted(created for _, created in results) == [False] * (SENDERS - 1) + [True]
    assert NotificationTrigger.objects.count() == 1
    assert OutboxEvent.objects.filter(type="notification.triggered").count() == 1
