"""The intake's handler registry: events by type and version, the decision of who is told.

Version 2 is the publisher's event (one per change, naming both parties); version 1 is one
event per recipient as the web deployment used to publish it, still consumed.
"""

import logging
import uuid

import pytest

from apps.notifications.events import EVENT_TYPES
from apps.notifications.intake.handlers import HANDLERS, handler_for
from apps.notifications.models import Delivery, DeliveryStatus, Notification
from apps.notifications.services import events_ingest
from apps.notifications.tests.conftest import envelope
from apps.notifications.tests.conftest import rating_event as published_event

pytestmark = pytest.mark.django_db

PROVIDER_USER, CUSTOMER_USER = uuid.uuid4(), uuid.uuid4()


def rating_event(type_: str, **data) -> dict:
    return published_event(type_, provider_user_id=PROVIDER_USER, customer_user_id=CUSTOMER_USER, **data)


def _inbox() -> list[tuple]:
    return sorted(Notification.objects.values_list("recipient_id", "type", "title"), key=str)


def test_every_handler_makes_notices_of_known_types_only():
    for key, handler in HANDLERS.items():
        assert set(handler.notice_types) <= set(EVENT_TYPES), key


def test_a_new_rating_tells_its_provider_and_a_held_one_says_it_awaits_review(django_capture_on_commit_callbacks):
    published = rating_event("rating.created", summary={"count": 1, "sum": 5})
    held = rating_event("rating.created", status="pending_review", summary={"count": 0, "sum": 0})
    hidden = rating_event("rating.created", status="hidden", summary={"count": 0, "sum": 0})

    with django_capture_on_commit_callbacks(execute=True):
        events_ingest(envelopes=[published, held, hidden])

    assert _inbox() == sorted(
        [
            (PROVIDER_USER, "rating.created", "New 5-star rating from Alice"),
            (PROVIDER_USER, "rating.held", "A new 5-star rating from Alice is awaiting review"),
        ],
        key=str,
    )
    email = Delivery.objects.get(notification__type="rating.created", channel="email")
    assert (email.address, email.status, str(email.event_id)) == ("pipes@example.com", "pending", published["id"])


def test_a_release_from_a_hold_announces_the_rating_to_the_provider_and_the_decision_to_the_author(
    django_capture_on_commit_callbacks,
):
    released = rating_event(
        "rating.moderated",
        previous_status="pending_review",
        reason="Checked",
        moderator_id=None,
        first_publication=True,
        summary={"count": 1, "sum": 5},
    )
    with django_capture_on_commit_callbacks(execute=True):
        events_ingest(envelopes=[released])

    assert _inbox() == sorted(
        [
            (PROVIDER_USER, "rating.created", "New 5-star rating from Alice"),
            (CUSTOMER_USER, "rating.moderated", "Your rating of Pipe Dreams is published"),
        ],
        key=str,
    )
    # One event, two recipients: each has its item under the event's id.
    assert {str(n.event_id) for n in Notification.objects.all()} == {released["id"]}


def test_an_erased_party_is_told_nothing(django_capture_on_commit_callbacks):
    hidden = rating_event(
        "rating.moderated",
        status="hidden",
        previous_status="published",
        reason="Spam",
        moderator_id=str(uuid.uuid4()),
        first_publication=False,
        summary={"count": 0, "sum": 0},
        provider_user_active=False,
    )
    with django_capture_on_commit_callbacks(execute=True):
        events_ingest(envelopes=[hidden])

    assert _inbox() == [(CUSTOMER_USER, "rating.moderated", "Your rating of Pipe Dreams was hidden")]


def test_a_comment_edit_alone_is_no_news_and_a_new_score_is(django_capture_on_commit_callbacks):
    edited = rating_event("rating.updated", previous_score=5)
    rescored = rating_event("rating.updated", score=2, previous_score=5)
    with django_capture_on_commit_callbacks(execute=True):
        events_ingest(envelopes=[edited, rescored])

    assert _inbox() == [(PROVIDER_USER, "rating.updated", "Alice changed their rating from 5-star to 2-star")]


def test_the_old_per_recipient_events_still_in_outboxes_are_consumed_as_before(django_capture_on_commit_callbacks):
    # What the web deployment's receivers published before the registry: one event per
    # recipient, version 1, ``rating.held`` a type of its own.
    held = envelope(type="rating.held", recipient_id=PROVIDER_USER, status="pending_review")
    to_author = envelope(
        type="rating.moderated",
        recipient_id=CUSTOMER_USER,
        recipient_role="author",
        provider_name="Pipe Dreams",
        status="hidden",
        previous_status="published",
        reason="Spam",
    )
    invited = envelope(
        type="rating.invited",
        recipient_id=CUSTOMER_USER,
        recipient_role="customer",
        invitation_id=str(uuid.uuid4()),
        provider_name="Pipe Dreams",
        expires_at="2026-02-01T00:00:00+00:00",
        url="https://app.example/rate",
    )
    with django_capture_on_commit_callbacks(execute=True):
        events_ingest(envelopes=[held, to_author, invited])

    assert _inbox() == sorted(
        [
            (PROVIDER_USER, "rating.held", "A new 5-star rating from Alice is awaiting review"),
            (CUSTOMER_USER, "rating.moderated", "Your rating of Pipe Dreams was hidden"),
            (CUSTOMER_USER, "rating.invited", "Rate Pipe Dreams: your rating will be verified"),
        ],
        key=str,
    )


def test_an_old_deletion_and_a_new_one_both_cancel_what_was_not_delivered(django_capture_on_commit_callbacks):
    created = rating_event("rating.created", summary={"count": 1, "sum": 5})
    rating_id = created["data"]["rating_id"]
    with django_capture_on_commit_callbacks(execute=True):
        events_ingest(envelopes=[created])
    old = envelope(type="rating.deleted", rating_id=rating_id)
    old["occurred_at"] = "2026-01-02T04:00:00+00:00"
    with django_capture_on_commit_callbacks(execute=True):
        assert events_ingest(envelopes=[old]) == []

    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.CANCELLED}
    new = rating_event("rating.deleted", rating_id=rating_id)
    assert handler_for(new).cancels(new["data"]) is not None
    assert handler_for(new).notices(new["data"]) == []


def test_an_event_of_an_unknown_version_is_skipped_and_logged(caplog, django_capture_on_commit_callbacks):
    future = rating_event("rating.created", summary={"count": 1, "sum": 5})
    future["version"] = 3
    no_version = {key: value for key, value in envelope().items() if key != "version"}

    with (
        caplog.at_level(logging.INFO, logger="apps.notifications.intake.ingest"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        created = events_ingest(envelopes=[future, no_version, {"type": "rating.created", "version": "2"}])

    # Without a version an envelope predates versions: it is version 1.
    assert [n.type for n in created] == ["rating.created"]
    assert "ignoring event type 'rating.created' version 3" in caplog.text
    assert handler_for({"type": "rating.created", "version": "2"}) is None


def test_a_partners_notice_tells_its_provider_unless_the_account_was_erased_since(django_capture_on_commit_callbacks):
    def posted(**data) -> dict:
        return {
            "id": str(uuid.uuid4()),
            "type": "partner.notification",
            "version": 1,
            "occurred_at": "2026-01-02T03:04:05+00:00",
            "data": {
                "notification_id": str(uuid.uuid4()),
                "partner_id": str(uuid.uuid4()),
                "partner_name": "Homerun",
                "provider_id": str(uuid.uuid4()),
                "provider_user_id": str(PROVIDER_USER),
                "provider_name": "Pipe Dreams",
                "provider_email": "pipes@example.com",
                "rating_ref": str(uuid.uuid4()),
                "score": 4,
                "customer_name": "Alice",
                "comment_excerpt": "Quick and tidy.",
                "message": "Alice rated 4 stars",
                **data,
            },
        }

    with django_capture_on_commit_callbacks(execute=True):
        events_ingest(envelopes=[posted(), posted(provider_user_active=False)])

    assert _inbox() == [(PROVIDER_USER, "partner.notification", "New 4-star rating received from Alice (via Homerun)")]
