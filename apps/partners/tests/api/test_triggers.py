"""The trigger API: staff or a partner key sends a notice of a declared custom type, once per key,
through the recipient's preferences, channels, quiet hours and webhooks."""

import uuid
from datetime import UTC, datetime, time

import pytest
import time_machine
from django.core import mail

from apps.core.models import OutboxEvent
from apps.notifications.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationPreference,
    NotificationSchedule,
)
from apps.notifications.services import deliveries_send, events_ingest, webhook_create
from apps.partners.models import NotificationTrigger, PartnerProvider
from apps.partners.tests.conftest import key_client, own_customer, own_provider
from conftest import auth_client
from tests.factories import CustomerFactory, ProviderFactory, UserFactory, partner_key_create

pytestmark = pytest.mark.django_db

URL = "/api/v1/notifications/triggers/"
TYPE = "custom.message"


def _body(recipient: dict, key: str = "k-1", **changes) -> dict:
    return {
        "type": TYPE,
        "recipient": recipient,
        "title": "Your booking is tomorrow",
        "body": "Pipes & Co. arrive at 9:00.",
        "data": {"booking_id": "B-17", "slot": {"start": "09:00"}},
        "idempotency_key": key,
        **changes,
    }


def _z(value) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _expected(trigger: NotificationTrigger) -> dict:
    return {
        "id": str(trigger.pk),
        "type": TYPE,
        "recipient": {
            "user_id": str(trigger.recipient_user_id),
            "provider_id": str(trigger.provider_id) if trigger.provider_id else None,
        },
        "title": "Your booking is tomorrow",
        "body": "Pipes & Co. arrive at 9:00.",
        "data": {"booking_id": "B-17", "slot": {"start": "09:00"}},
        "idempotency_key": trigger.idempotency_key,
        "created_at": _z(trigger.created_at),
    }


def _ingest(capture=None) -> list[OutboxEvent]:
    events = list(OutboxEvent.objects.filter(type="notification.triggered"))
    if capture is None:
        events_ingest(envelopes=[event.envelope for event in events])
    else:
        with capture(execute=True):
            events_ingest(envelopes=[event.envelope for event in events])
    return events


@pytest.fixture
def trigger_key(db):
    return partner_key_create(scopes=["notifications:trigger"])


@pytest.fixture
def partner(trigger_key):
    return key_client(trigger_key[1], trigger_key[0])


def test_staff_triggers_a_notice_to_a_user_that_reaches_the_inbox_and_the_email(staff_client, send_task):
    customer = CustomerFactory()

    response = staff_client.post(URL, _body({"user_id": str(customer.user_id)}))

    assert response.status_code == 202, response.json()
    trigger = NotificationTrigger.objects.get()
    assert response.json() == _expected(trigger)
    [event] = OutboxEvent.objects.filter(type="notification.triggered")
    assert (event.version, event.data) == (
        1,
        {
            "trigger_id": str(trigger.pk),
            "type": TYPE,
            "partner_id": None,
            "recipient_user_id": str(customer.user_id),
            "recipient_email": customer.user.email,
            "provider_id": None,
            "title": "Your booking is tomorrow",
            "body": "Pipes & Co. arrive at 9:00.",
            "data": {"booking_id": "B-17", "slot": {"start": "09:00"}},
            "occurred_at": trigger.created_at.isoformat(),
        },
    )

    _ingest()

    [item] = Notification.objects.filter(recipient_id=customer.user_id)
    assert (item.type, item.title, item.body, item.data) == (
        TYPE,
        "Your booking is tomorrow",
        "Pipes & Co. arrive at 9:00.",
        {"trigger_id": str(trigger.pk), "data": {"booking_id": "B-17", "slot": {"start": "09:00"}}},
    )
    # The type's default channels: the inbox and email, not push (no device anyway).
    [email] = Delivery.objects.filter(recipient_id=customer.user_id)
    assert (email.channel, email.address) == (Channel.EMAIL, customer.user.email)
    assert deliveries_send(delivery_ids=[email.pk]) == {str(email.pk): DeliveryStatus.SENT}
    [message] = mail.outbox
    assert message.subject == "Your booking is tomorrow"
    assert "Pipes & Co. arrive at 9:00." in message.body
    # Not critical: it can be unsubscribed from, by type.
    assert "List-Unsubscribe" in message.extra_headers


def test_the_same_key_again_returns_the_first_trigger_and_tells_nobody_twice(staff_client):
    user = UserFactory()
    first = staff_client.post(URL, _body({"user_id": str(user.pk)}))

    again = staff_client.post(URL, _body({"user_id": str(user.pk)}))

    assert first.status_code == 202
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert OutboxEvent.objects.filter(type="notification.triggered").count() == 1
    _ingest()
    assert Notification.objects.filter(recipient_id=user.pk).count() == 1


def test_the_same_key_with_another_request_is_422_and_changes_nothing(staff_client):
    user = UserFactory()
    staff_client.post(URL, _body({"user_id": str(user.pk)}))

    response = staff_client.post(URL, _body({"user_id": str(user.pk)}, title="Another title"))

    assert response.status_code == 422
    assert response.json() == {
        "type": "client_error",
        "errors": [
            {
                "code": "idempotency_key_reused",
                "detail": "This idempotency_key was already used with a different request.",
                "attr": None,
            }
        ],
    }
    assert NotificationTrigger.objects.get().title == "Your booking is tomorrow"
    assert OutboxEvent.objects.filter(type="notification.triggered").count() == 1


def test_keys_are_per_caller(staff_client, partner, trigger_key):
    customer = own_customer(trigger_key[0])

    by_staff = staff_client.post(URL, _body({"user_id": str(customer.user_id)}, key="same"))
    by_partner = partner.post(URL, _body({"user_id": str(customer.user_id)}, key="same"))

    assert by_staff.status_code == by_partner.status_code == 202
    assert by_staff.json()["id"] != by_partner.json()["id"]


def test_an_undeclared_type_is_400(staff_client):
    user = UserFactory()

    response = staff_client.post(URL, _body({"user_id": str(user.pk)}, type="rating.created"))

    assert response.status_code == 400
    assert response.json() == {
        "type": "validation_error",
        "errors": [{"code": "invalid_choice", "detail": '"rating.created" is not a valid choice.', "attr": "type"}],
    }
    assert not NotificationTrigger.objects.exists()


@pytest.mark.parametrize("recipient", [{}, {"user_id": "USER", "provider_id": "PROVIDER"}])
def test_a_recipient_must_be_exactly_one_user_or_provider(staff_client, recipient):
    provider = ProviderFactory()
    recipient = {
        key: str(provider.user_id) if value == "USER" else str(provider.pk) for key, value in recipient.items()
    }

    response = staff_client.post(URL, _body(recipient))

    assert response.status_code == 400
    assert response.json() == {
        "type": "validation_error",
        "errors": [
            {
                "code": "invalid",
                "detail": "Give exactly one of user_id and provider_id.",
                "attr": "recipient.non_field_errors",
            }
        ],
    }


def test_data_must_be_a_small_json_object(staff_client):
    user = UserFactory()

    as_list = staff_client.post(URL, _body({"user_id": str(user.pk)}, data=[1]))
    too_big = staff_client.post(URL, _body({"user_id": str(user.pk)}, data={"x": "a" * 5000}))

    assert as_list.status_code == too_big.status_code == 400
    assert as_list.json()["errors"][0]["attr"] == "data"
    assert too_big.json()["errors"] == [{"code": "max_length", "detail": "At most 4096 bytes of JSON.", "attr": "data"}]


def test_staff_reach_any_provider_by_id_and_its_account_is_told(staff_client):
    provider = ProviderFactory()

    response = staff_client.post(URL, _body({"provider_id": str(provider.pk)}))

    assert response.status_code == 202
    assert response.json()["recipient"] == {"user_id": str(provider.user_id), "provider_id": str(provider.pk)}
    _ingest()
    assert Notification.objects.get().recipient_id == provider.user_id


def test_unknown_users_and_providers_are_404(staff_client):
    for recipient in ({"user_id": str(uuid.uuid4())}, {"provider_id": str(uuid.uuid4())}):
        response = staff_client.post(URL, _body(recipient, key=str(recipient)))
        assert response.status_code == 404
    assert response.json() == {
        "type": "client_error",
        "errors": [{"code": "not_found", "detail": "Provider not found.", "attr": None}],
    }


def test_a_partner_reaches_its_own_and_granted_providers_and_its_customers(partner, trigger_key):
    own = own_provider(trigger_key[0])
    granted = ProviderFactory()
    PartnerProvider.objects.create(partner=trigger_key[0].partner, provider=granted, granted=True)
    customer = own_customer(trigger_key[0])

    answers = [
        partner.post(URL, _body({"provider_id": str(own.pk)}, key="own")),
        partner.post(URL, _body({"provider_id": str(granted.pk)}, key="granted")),
        partner.post(URL, _body({"user_id": str(customer.user_id)}, key="customer")),
        partner.post(URL, _body({"user_id": str(own.user_id)}, key="own-user")),
    ]

    assert [a.status_code for a in answers] == [202, 202, 202, 202]
    assert {event.data["partner_id"] for event in OutboxEvent.objects.filter(type="notification.triggered")} == {
        str(trigger_key[0].partner.pk)
    }


def test_a_partner_gets_404_for_anyone_else(partner):
    other_key, _ = partner_key_create(name="Other marketplace")
    theirs = ProviderFactory()
    PartnerProvider.objects.create(partner=other_key.partner, provider=theirs)
    stranger = CustomerFactory()

    answers = [
        partner.post(URL, _body({"provider_id": str(theirs.pk)}, key="p")),
        partner.post(URL, _body({"user_id": str(theirs.user_id)}, key="u1")),
        partner.post(URL, _body({"user_id": str(stranger.user_id)}, key="u2")),
    ]

    assert [a.status_code for a in answers] == [404, 404, 404]
    assert answers[0].json()["errors"] == [{"code": "not_found", "detail": "Provider not found.", "attr": None}]
    assert answers[2].json()["errors"] == [{"code": "not_found", "detail": "User not found.", "attr": None}]
    assert not OutboxEvent.objects.filter(type="notification.triggered").exists()


def test_who_may_call(api_client, customer_client, db):
    _, scopeless = partner_key_create(scopes=["read"])
    body = _body({"user_id": str(uuid.uuid4())})

    anonymous = api_client.post(URL, body)
    customer = customer_client.post(URL, body)
    key = key_client(scopeless).post(URL, body)

    assert anonymous.status_code == 401
    assert customer.status_code == 403
    assert customer.json()["errors"] == [
        {"code": "permission_denied", "detail": "Only staff or a partner key may trigger notices.", "attr": None}
    ]
    assert key.status_code == 403
    assert key.json()["errors"] == [
        {"code": "permission_denied", "detail": "This key lacks the scope 'notifications:trigger'.", "attr": None}
    ]


def test_the_type_is_a_preference_the_recipient_can_switch_off(staff_client):
    user = UserFactory()
    client = auth_client(user)
    switches = [
        p for p in client.get("/api/v1/notifications/preferences/").json()["preferences"] if p["event_type"] == TYPE
    ]
    assert switches == [
        {
            "event_type": TYPE,
            "label": "Message from your marketplace",
            "channel": "in_app",
            "enabled": True,
            "critical": False,
        },
        {
            "event_type": TYPE,
            "label": "Message from your marketplace",
            "channel": "email",
            "enabled": True,
            "critical": False,
        },
        {
            "event_type": TYPE,
            "label": "Message from your marketplace",
            "channel": "push",
            "enabled": False,
            "critical": False,
        },
    ]
    for channel in (Channel.IN_APP, Channel.EMAIL):
        NotificationPreference.objects.create(recipient_id=user.pk, event_type=TYPE, channel=channel, enabled=False)

    assert staff_client.post(URL, _body({"user_id": str(user.pk)})).status_code == 202
    _ingest()

    assert not Notification.objects.filter(recipient_id=user.pk).exists()
    assert not Delivery.objects.filter(recipient_id=user.pk).exists()


def test_quiet_hours_hold_its_email_but_not_the_inbox(staff_user, send_task, django_capture_on_commit_callbacks):
    user = UserFactory()
    NotificationSchedule.objects.create(recipient_id=user.pk, time_zone="UTC", quiet_start=time(22), quiet_end=time(7))

    with time_machine.travel(datetime(2026, 11, 30, 23, 30, tzinfo=UTC), tick=False):
        # Signed in at that time: a token issued later would not be valid yet.
        assert auth_client(staff_user).post(URL, _body({"user_id": str(user.pk)})).status_code == 202
        _ingest(django_capture_on_commit_callbacks)

    assert Notification.objects.filter(recipient_id=user.pk).count() == 1
    [email] = Delivery.objects.filter(recipient_id=user.pk)
    assert (email.channel, email.next_attempt_at) == (Channel.EMAIL, datetime(2026, 12, 1, 7, tzinfo=UTC))


def test_a_webhook_subscribed_to_the_type_gets_the_notice(staff_client):
    user = UserFactory()
    endpoint = webhook_create(recipient_id=user.pk, url="https://hooks.example.com/in", event_types=[TYPE])

    staff_client.post(URL, _body({"user_id": str(user.pk)}))
    [event] = _ingest()

    [delivery] = Delivery.objects.filter(channel=Channel.WEBHOOK, endpoint=endpoint)
    trigger = NotificationTrigger.objects.get()
    assert delivery.payload["type"] == TYPE
    assert delivery.payload["id"] == str(event.pk)
    assert delivery.payload["data"] == {
        "trigger_id": str(trigger.pk),
        "data": {"booking_id": "B-17", "slot": {"start": "09:00"}},
        "title": "Your booking is tomorrow",
        "body": "Pipes & Co. arrive at 9:00.",
    }


def test_an_event_whose_type_is_no_longer_declared_tells_nobody(staff_client):
    user = UserFactory()
    staff_client.post(URL, _body({"user_id": str(user.pk)}))
    OutboxEvent.objects.filter(type="notification.triggered").update(
        data={**OutboxEvent.objects.get(type="notification.triggered").data, "type": "custom.gone"}
    )

    _ingest()

    assert not Notification.objects.filter(recipient_id=user.pk).exists()
    assert not Delivery.objects.filter(recipient_id=user.pk).exists()


def test_deleting_the_recipient_s_account_deletes_the_triggers_sent_to_it(staff_client):
    from apps.accounts.services import user_erase
    from tests.factories import DEFAULT_PASSWORD

    customer = CustomerFactory()
    staff_client.post(URL, _body({"user_id": str(customer.user_id)}))

    user_erase(user=customer.user, password=DEFAULT_PASSWORD)

    assert not NotificationTrigger.objects.exists()
    # Inactive now: the same key again reaches nobody.
    assert staff_client.post(URL, _body({"user_id": str(customer.user_id)})).status_code == 404
