"""The published event types: each declares its type, version, signal and payload keys."""

import dataclasses
import json

import pytest

from apps.core.models import OutboxEvent
from apps.ratings import events, signals
from apps.ratings.models import Rating, RatingInvitation
from apps.ratings.services import invitation_create, rating_create, rating_update
from tests.factories import CustomerFactory, ProviderFactory

RATING_KEYS = {
    "rating_id",
    "provider_id",
    "provider_user_id",
    "provider_name",
    "provider_email",
    "provider_user_active",
    "customer_id",
    "customer_user_id",
    "customer_name",
    "customer_email",
    "customer_user_active",
    "score",
    "comment_excerpt",
    "status",
    "verified",
    "occurred_at",
}
REPLY_KEYS = RATING_KEYS | {"reply_id", "reply_excerpt", "reply_status"}


def _fields(event_type) -> set[str]:
    return {field.name for field in dataclasses.fields(event_type)}


def test_the_catalogue_names_each_type_once_with_its_version_and_signal():
    assert [(t.TYPE, t.VERSION, t.SIGNAL) for t in events.EVENT_TYPES] == [
        ("rating.created", 2, signals.rating_created),
        ("rating.updated", 2, signals.rating_updated),
        ("rating.deleted", 2, signals.rating_deleted),
        ("rating.moderated", 2, signals.rating_moderated),
        ("rating.replied", 2, signals.rating_replied),
        ("reply.moderated", 2, signals.reply_moderated),
        ("rating.invited", 2, signals.rating_invited),
        ("rating.invitation_reminder", 2, signals.invitation_reminded),
    ]
    assert [t.SENDER for t in events.EVENT_TYPES] == [Rating] * 6 + [RatingInvitation] * 2


def test_each_type_declares_its_payload_keys():
    assert _fields(events.RatingCreated) == RATING_KEYS | {"summary"}
    assert _fields(events.RatingUpdated) == RATING_KEYS | {"previous_score", "previous_verified"}
    assert _fields(events.RatingDeleted) == RATING_KEYS
    assert _fields(events.RatingModerated) == RATING_KEYS | {
        "previous_status",
        "reason",
        "moderator_id",
        "first_publication",
        "summary",
    }
    assert _fields(events.RatingReplied) == REPLY_KEYS | {"reply_created"}
    assert _fields(events.ReplyModerated) == REPLY_KEYS | {
        "previous_reply_status",
        "reason",
        "moderator_id",
        "first_publication",
    }
    assert _fields(events.RatingInvited) == {
        "invitation_id",
        "provider_id",
        "provider_name",
        "provider_user_id",
        "customer_id",
        "customer_user_id",
        "customer_name",
        "customer_email",
        "expires_at",
        "url",
        "occurred_at",
    }


def test_an_event_is_immutable():
    event = events.RatingDeleted(**dict.fromkeys(RATING_KEYS, "x"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.score = 1


@pytest.fixture
def sent():
    calls = []

    def receiver(sender, **kwargs):
        calls.append({"sender": sender, **kwargs})

    for event_type in events.EVENT_TYPES:
        event_type.SIGNAL.connect(receiver, dispatch_uid=f"test-events-{event_type.TYPE}")
    yield calls
    for event_type in events.EVENT_TYPES:
        event_type.SIGNAL.disconnect(dispatch_uid=f"test-events-{event_type.TYPE}")


@pytest.mark.django_db
def test_an_edit_leaves_previous_verified_out_and_a_verification_puts_it_in(sent):
    rating = rating_create(customer=CustomerFactory(), provider=ProviderFactory(), score=4)
    sent.clear()

    rating_update(rating=rating, score=2)

    [call] = sent
    assert (call["signal"], call["version"], call["sender"]) == (signals.rating_updated, 2, Rating)
    assert set(call["event"]) == RATING_KEYS | {"previous_score"}
    assert (call["event"]["previous_score"], call["event"]["score"]) == (4, 2)
    payload = events.RatingUpdated.of(rating, previous_score=4, previous_verified=False).payload()
    assert set(payload) == RATING_KEYS | {"previous_score", "previous_verified"}
    assert payload["previous_verified"] is False


@pytest.mark.django_db
def test_an_invitation_publishes_its_event_with_plain_values(sent, settings):
    settings.RATING_INVITATION_URL = "https://app.example/rate?i={invitation_id}&p={provider_id}"
    customer = CustomerFactory(user__name="Ann", user__email="ann@example.com")
    provider = ProviderFactory(name="Pipes Ltd")

    invitation = invitation_create(customer=customer, provider=provider, external_reference="job-1")

    [call] = sent
    assert (call["signal"], call["version"], call["sender"]) == (signals.rating_invited, 2, RatingInvitation)
    event = call["event"]
    assert json.loads(json.dumps(event)) == event
    assert event | {"occurred_at": None} == {
        "invitation_id": str(invitation.pk),
        "provider_id": str(provider.pk),
        "provider_name": "Pipes Ltd",
        "provider_user_id": str(provider.user_id),
        "customer_id": str(customer.pk),
        "customer_user_id": str(customer.user_id),
        "customer_name": "Ann",
        "customer_email": "ann@example.com",
        "expires_at": invitation.expires_at.isoformat(),
        "url": f"https://app.example/rate?i={invitation.pk}&p={provider.pk}",
        "occurred_at": None,
    }


@pytest.mark.django_db
def test_each_change_is_one_outbox_event_with_the_signal_payload(sent):
    # The notifications consumer reads the outbox row and decides who is told; the signal's
    # in-process receivers (the partner feed) get the same payload.
    rating = rating_create(customer=CustomerFactory(), provider=ProviderFactory(), score=4)

    [row] = OutboxEvent.objects.all()
    [call] = sent
    assert (row.type, row.version, row.task_name) == ("rating.created", 2, "notifications.ingest_events")
    assert row.data == call["event"]
    assert row.data["rating_id"] == str(rating.pk)
    assert row.occurred_at.isoformat() == call["event"]["occurred_at"]
