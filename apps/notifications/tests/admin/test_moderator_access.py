"""A moderator sees the delivery log and outbox and can replay dead deliveries — nothing more."""

import pytest
from django.test import Client

from apps.notifications.models import Delivery, DeliveryStatus
from tests.factories import DeliveryFactory, UserFactory, moderator_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def moderator_client():
    client = Client()
    client.force_login(moderator_create())
    return client


def test_a_moderator_sees_notifications_deliveries_and_outbox_events(moderator_client):
    delivery = DeliveryFactory(status=DeliveryStatus.DEAD, last_error="SMTP 550")
    for url in [
        "/admin/notifications/notification/",
        "/admin/notifications/delivery/",
        f"/admin/notifications/delivery/{delivery.pk}/change/",
        "/admin/core/outboxevent/",
    ]:
        assert moderator_client.get(url).status_code == 200, url


def test_a_moderator_replays_a_dead_delivery(moderator_client, send_task):
    dead = DeliveryFactory(status=DeliveryStatus.DEAD, attempts=8, last_error="SMTP 550")

    response = moderator_client.post(
        "/admin/notifications/delivery/", {"action": "replay", "_selected_action": [str(dead.pk)]}, follow=True
    )

    assert response.status_code == 200
    dead.refresh_from_db()
    assert dead.status != DeliveryStatus.DEAD
    assert "1 dead deliveries queued again." in response.content.decode()


def test_a_moderator_cannot_edit_users_or_preferences(moderator_client):
    user = UserFactory()
    assert moderator_client.get(f"/admin/accounts/user/{user.pk}/change/").status_code == 403
    assert moderator_client.get("/admin/accounts/user/").status_code == 403
    assert moderator_client.get("/admin/notifications/notificationpreference/").status_code == 403


def test_view_only_staff_cannot_replay(send_task):
    from django.contrib.auth.models import Permission

    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_delivery"))
    client = Client()
    client.force_login(viewer)
    dead = DeliveryFactory(status=DeliveryStatus.DEAD)

    response = client.post("/admin/notifications/delivery/", {"action": "replay", "_selected_action": [str(dead.pk)]})

    assert response.status_code == 200  # the changelist again: the action is not offered
    assert Delivery.objects.get(pk=dead.pk).status == DeliveryStatus.DEAD


def test_a_moderator_cannot_see_or_edit_delivery_providers_but_sees_the_attempt_log(moderator_client):
    from apps.notifications.models import DeliveryAttempt, DeliveryProvider

    provider = DeliveryProvider.objects.create(
        channel="push", name="gw", kind="http_push", endpoint="https://push.example.com", credentials={"token": "x"}
    )
    for url in [
        "/admin/notifications/deliveryprovider/",
        "/admin/notifications/deliveryprovider/add/",
        f"/admin/notifications/deliveryprovider/{provider.pk}/change/",
    ]:
        assert moderator_client.get(url).status_code == 403, url
    delivery = DeliveryFactory(status=DeliveryStatus.DEAD)
    DeliveryAttempt.objects.create(delivery=delivery, number=1, provider=provider, target="gw", outcome="failed")
    page = moderator_client.get(f"/admin/notifications/delivery/{delivery.pk}/change/")
    assert page.status_code == 200
    assert "failed" in page.content.decode()


def test_provider_credentials_are_write_only_in_admin(breaker_redis):
    from apps.notifications.models import DeliveryProvider, WebhookEndpoint

    admin_user = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin_user)
    response = client.post(
        "/admin/notifications/deliveryprovider/add/",
        {
            "channel": "push",
            "name": "gw",
            "kind": "http_push",
            "endpoint": "https://push.example.com",
            "priority": 0,
            "enabled": "on",
            "new_credentials": '{"token": "very-secret-token"}',
        },
    )
    assert response.status_code == 302
    provider = DeliveryProvider.objects.get()
    assert provider.credentials == {"token": "very-secret-token"}
    page = client.get(f"/admin/notifications/deliveryprovider/{provider.pk}/change/").content.decode()
    assert "very-secret-token" not in page
    listing = client.get("/admin/notifications/deliveryprovider/").content.decode()
    assert "closed" in listing  # breaker column
    # Saving without new credentials keeps them.
    client.post(
        f"/admin/notifications/deliveryprovider/{provider.pk}/change/",
        {"channel": "push", "name": "gw2", "kind": "http_push", "endpoint": "https://push.example.com", "priority": 1},
    )
    provider.refresh_from_db()
    assert (provider.name, provider.credentials) == ("gw2", {"token": "very-secret-token"})
    endpoint = WebhookEndpoint.objects.create(
        recipient_id=admin_user.pk,
        url="https://hooks.example.com/",
        secret="whsec_x",
        headers={"x-api-key": "receiver-credential"},
    )
    assert client.get("/admin/notifications/webhookendpoint/").status_code == 200
    # A custom header's value is often the receiver's credential: its name is shown, never the value.
    change = client.get(f"/admin/notifications/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert "x-api-key" in change
    assert "receiver-credential" not in change
    assert client.get("/admin/notifications/device/").status_code == 200


def test_staff_see_digests_and_schedules_read_only():
    from datetime import time, timedelta

    from django.utils import timezone

    from apps.notifications.models import Digest, DigestItem, NotificationSchedule

    schedule = NotificationSchedule.objects.create(
        recipient_id=UserFactory().pk, time_zone="Europe/Berlin", quiet_start=time(22), quiet_end=time(7)
    )
    end = timezone.now()
    digest = Digest.objects.create(
        recipient_id=schedule.recipient_id,
        frequency="hourly",
        time_zone="Europe/Berlin",
        period_start=end - timedelta(hours=1),
        period_end=end,
    )
    DigestItem.objects.create(
        digest=digest,
        event_id=digest.pk,
        recipient_id=digest.recipient_id,
        occurred_at=end,
        email="p@example.com",
        data={"customer_name": "Ann"},
    )
    admin_client = Client()
    admin_client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = admin_client.get(f"/admin/notifications/digest/{digest.pk}/change/")
    assert page.status_code == 200
    assert "Ann" in page.content.decode()
    assert admin_client.get("/admin/notifications/digest/").status_code == 200
    assert admin_client.get("/admin/notifications/notificationschedule/").status_code == 200
    assert admin_client.get("/admin/notifications/digest/add/").status_code == 403
    response = admin_client.post(
        f"/admin/notifications/notificationschedule/{schedule.pk}/change/", {"time_zone": "Nowhere/Else"}
    )
    assert response.status_code == 403
    schedule.refresh_from_db()
    assert schedule.time_zone == "Europe/Berlin"
