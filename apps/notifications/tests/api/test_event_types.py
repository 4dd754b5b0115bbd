"""The catalogue of webhook event types, and every payload actually sent validating against it."""

import uuid
from dataclasses import replace

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from apps.notifications.events import EVENT_TYPES
from apps.notifications.intake import catalogue
from apps.notifications.intake.handlers import HANDLERS
from apps.notifications.models import Channel, Delivery
from apps.notifications.services import event_type_catalogue, events_ingest, webhook_create
from apps.notifications.tests.conftest import envelope
from apps.notifications.tests.conftest import rating_event as published_event

pytestmark = pytest.mark.django_db
URL = "/api/v1/notifications/event-types/"
PROVIDER_USER, CUSTOMER_USER = uuid.uuid4(), uuid.uuid4()


def test_the_catalogue_lists_every_type_a_webhook_gets_with_version_description_and_schema(provider_client):
    response = provider_client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert [(e["type"], e["version"], e["description"]) for e in body] == [
        ("custom.message", 1, "Message from your marketplace"),
        ("partner.notification", 1, "Rating reported by a marketplace"),
        ("rating.created", 2, "New rating"),
        ("rating.held", 2, "Rating awaiting review"),
        ("rating.invitation_reminder", 2, "Reminder of an invitation to a verified rating"),
        ("rating.invited", 2, "Invitation to a verified rating"),
        ("rating.moderated", 2, "Moderation decision"),
        ("rating.replied", 2, "Reply to your rating"),
        ("rating.updated", 2, "Rating changed"),
        ("reply.moderated", 2, "Moderation of your reply"),
        ("webhook.disabled", 1, "Webhook endpoint disabled"),
    ]
    disabled = body[-1]["schema"]
    assert disabled == {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "endpoint_id": {"type": "string", "format": "uuid", "description": "The webhook endpoint concerned."},
            "url": {"type": "string", "format": "uri", "description": "Where to follow it up."},
            "reason": {"type": ["string", "null"], "description": "The moderator's reason (may be empty)."},
            "title": {"type": "string", "description": "The notice's title, as the inbox shows it."},
            "body": {"type": "string", "description": "The notice's text (may be empty)."},
        },
        "required": ["endpoint_id", "url", "reason", "title", "body"],
        "additionalProperties": False,
    }
    # Conditional keys are derived from the builders: `verified` only when just verified.
    updated = next(e["schema"] for e in body if e["type"] == "rating.updated")
    assert "verified" in updated["properties"] and "verified" not in updated["required"]
    assert {"score", "previous_score", "title", "body"} <= set(updated["required"])
    for entry in body:
        Draft202012Validator.check_schema(entry["schema"])


def test_the_catalogue_needs_a_signed_in_user(api_client):
    response = api_client.get(URL)
    assert response.status_code == 401


def test_email_only_types_are_not_in_the_catalogue():
    listed = {entry["type"] for entry in event_type_catalogue()}
    assert listed == {name for name, event_type in EVENT_TYPES.items() if not event_type.email_only}


def test_a_key_without_a_description_fails_the_generation(monkeypatch):
    original = EVENT_TYPES["webhook.disabled"]

    def build(data: dict) -> list:
        return [replace(notice, data={**notice.data, "secret_key": 1}) for notice in original.build(data)]

    monkeypatch.setitem(EVENT_TYPES, "webhook.disabled", replace(original, build=build))
    with pytest.raises(catalogue.UndocumentedKey, match=r"webhook\.disabled emits secret_key: describe it"):
        catalogue.data_schema("webhook.disabled")


def _rating(type_: str, **data) -> dict:
    return published_event(type_, provider_user_id=PROVIDER_USER, customer_user_id=CUSTOMER_USER, **data)


def _invitation(type_: str, version: int) -> dict:
    keys = {
        "invitation_id": str(uuid.uuid4()),
        "provider_id": str(uuid.uuid4()),
        "provider_name": "Pipe Dreams",
        "expires_at": "2026-02-01T00:00:00+00:00",
        "url": "https://app.example/rate",
    }
    if version == 1:
        return envelope(type=type_, recipient_id=CUSTOMER_USER, recipient_role="customer", **keys)
    return {
        "id": str(uuid.uuid4()),
        "type": type_,
        "version": 2,
        "occurred_at": "2026-01-02T03:04:05+00:00",
        "data": {
            **keys,
            "customer_user_id": str(CUSTOMER_USER),
            "customer_email": "alice@example.com",
            "customer_name": "Alice",
        },
    }


def _every_kind_of_event() -> list[dict]:
    """One envelope per way the intake makes a notice: each handler, version 2 and version 1,
    each branch that changes what the notice carries."""
    rating_fields = {"reason": "Spam", "previous_status": "published"}
    reply = {"reply_id": str(uuid.uuid4()), "previous_reply_status": "pending_review", "reason": ""}
    return [
        _rating("rating.created", summary={"count": 1, "sum": 5}),
        _rating("rating.created", status="pending_review"),
        _rating("rating.updated", score=2, previous_score=5),
        _rating("rating.updated", previous_score=5, previous_verified=False, verified=True),
        _rating("rating.updated", score=3, previous_score=5, previous_verified=False, verified=True),
        _rating("rating.moderated", status="hidden", **rating_fields),
        _rating("rating.moderated", status="published", previous_status="pending_review", first_publication=True),
        _rating("rating.replied", reply_excerpt="Thank you!", reply_created=True),
        _rating("reply.moderated", reply_status="hidden", **reply),
        _invitation("rating.invited", 2),
        _invitation("rating.invitation_reminder", 2),
        {
            "id": str(uuid.uuid4()),
            "type": "notification.triggered",
            "version": 1,
            "occurred_at": "2026-01-02T03:04:05+00:00",
            "data": {
                "trigger_id": str(uuid.uuid4()),
                "type": "custom.message",
                "partner_id": None,
                "recipient_user_id": str(PROVIDER_USER),
                "recipient_email": "pipes@example.com",
                "provider_id": None,
                "title": "Your payout is on its way",
                "body": "It reaches your account in two days.",
                "data": {"payout_id": "P-1"},
            },
        },
        {
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
                "provider_email": "pipes@example.com",
                "rating_ref": "job-7",
                "score": 4,
                "customer_name": "Alice",
                "comment_excerpt": "Quick and tidy.",
            },
        },
        {
            "id": str(uuid.uuid4()),
            "type": "webhook.disabled",
            "version": 1,
            "occurred_at": "2026-01-02T03:04:05+00:00",
            "data": {
                "recipient_user_id": str(PROVIDER_USER),
                "endpoint_id": str(uuid.uuid4()),
                "url": "https://hooks.example.com/gone",
                "reason": "the receiver answered 410 Gone",
            },
        },
        # Version 1: one event per recipient, as still found in outboxes after an upgrade.
        envelope(type="rating.created", recipient_id=PROVIDER_USER),
        envelope(type="rating.held", recipient_id=PROVIDER_USER, status="pending_review"),
        envelope(type="rating.updated", recipient_id=PROVIDER_USER, score=1, previous_score=5),
        envelope(
            type="rating.moderated",
            recipient_id=CUSTOMER_USER,
            recipient_role="author",
            provider_name="Pipe Dreams",
            status="hidden",
            previous_status="published",
            reason="Spam",
        ),
        envelope(type="rating.replied", recipient_id=CUSTOMER_USER, provider_name="Pipe Dreams", reply_excerpt="Hi"),
        envelope(type="reply.moderated", recipient_id=PROVIDER_USER, reply_status="published", **reply),
        _invitation("rating.invited", 1),
        _invitation("rating.invitation_reminder", 1),
    ]


def test_every_payload_sent_validates_against_its_published_schema(send_task):
    for owner in (PROVIDER_USER, CUSTOMER_USER):
        webhook_create(recipient_id=owner, url=f"https://hooks.example.com/{owner}", event_types=[])
    events = _every_kind_of_event()
    # Every handler that makes notices is driven at least once.
    assert {(e["type"], e.get("version", 1)) for e in events} == {
        key
        for key, handler in HANDLERS.items()
        if any(not EVENT_TYPES[name].email_only for name in handler.notice_types)
    }
    events_ingest(envelopes=events)

    schemas = {entry["type"]: entry["schema"] for entry in event_type_catalogue()}
    payloads = list(Delivery.objects.filter(channel=Channel.WEBHOOK).values_list("payload", flat=True))
    assert {payload["type"] for payload in payloads} == set(schemas)
    for payload in payloads:
        assert set(payload) == {"id", "type", "timestamp", "data"}
        errors = [
            f"{error.json_path}: {error.message}"
            for error in Draft202012Validator(schemas[payload["type"]], format_checker=FormatChecker()).iter_errors(
                payload["data"]
            )
        ]
        assert errors == [], (payload["type"], payload["data"])
    # The optional keys do occur: the verification notice carries `verified`.
    assert any(p["type"] == "rating.updated" and p["data"].get("verified") is True for p in payloads)
