"""The catalogue of webhook event types: each one's version, description and the JSON Schema of
its payload's ``data``, generated from the notice types rather than written per type.

What a type's ``data`` holds is whatever its builder (``apps.notifications.events``) puts in the
notice, plus the ``title`` and ``body`` the webhook payload builder adds. So the schema is found
by asking them: each builder is run on one input that carries every key of ``KEYS`` (a sample
value each), and the keys of the payload it makes are the type's properties, each described by
its entry in ``KEYS`` (written once, whatever type it appears in). A key is required unless the
builder still makes a notice without it once one input key is taken away (``verified`` of
``rating.updated``, say, is there only when the rating just became verified). A key a builder
emits without an entry in ``KEYS`` fails the generation: a new key cannot go out undocumented.

The version is the newest version of a published event the intake turns into the type
(``intake.handlers.HANDLERS``). The schemas are built once per process (the builders are pure).
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass

from apps.notifications.delivery.channels.webhook.payload import webhook_payload
from apps.notifications.events import EVENT_TYPES, HIDDEN, PENDING_REVIEW, PUBLISHED
from apps.notifications.intake.handlers import HANDLERS

_UUID = {"type": "string", "format": "uuid"}
_STATUS = {"type": "string", "enum": [PUBLISHED, PENDING_REVIEW, HIDDEN]}
_SCORE = {"type": "integer", "minimum": 1, "maximum": 5}
_SAMPLE_ID = str(uuid.UUID(int=1))


@dataclass(frozen=True)
class Key:
    schema: dict
    sample: object
    description: str


# Every key a webhook payload's data can carry: its schema, a sample value the builders accept,
# and what it means.
KEYS: dict[str, Key] = {
    "title": Key({"type": "string"}, "", "The notice's title, as the inbox shows it."),
    "body": Key({"type": "string"}, "", "The notice's text (may be empty)."),
    "rating_id": Key(_UUID, _SAMPLE_ID, "The rating concerned."),
    "provider_id": Key(_UUID, _SAMPLE_ID, "The rated provider."),
    "score": Key(_SCORE, 5, "The rating's stars, 1 to 5."),
    "previous_score": Key({"type": ["integer", "null"], "minimum": 1, "maximum": 5}, 4, "The stars before the change."),
    "verified": Key({"const": True}, True, "Present when the rating has just become verified."),
    "customer_name": Key({"type": "string"}, "Alice", "The customer's display name."),
    "provider_name": Key({"type": "string"}, "Pipe Dreams", "The provider's display name."),
    "status": Key(_STATUS, PUBLISHED, "The rating's moderation status after the decision."),
    "previous_status": Key(
        {"anyOf": [_STATUS, {"const": ""}, {"type": "null"}]},
        PENDING_REVIEW,
        "The status before the decision (empty or null when not known).",
    ),
    "reason": Key({"type": ["string", "null"]}, "", "The moderator's reason (may be empty)."),
    "reply_id": Key(_UUID, _SAMPLE_ID, "The provider's reply concerned."),
    "reply_status": Key(_STATUS, PUBLISHED, "The reply's moderation status after the decision."),
    "previous_reply_status": Key(
        {"anyOf": [_STATUS, {"const": ""}, {"type": "null"}]},
        PENDING_REVIEW,
        "The reply's status before the decision (empty or null when not known).",
    ),
    "invitation_id": Key(_UUID, _SAMPLE_ID, "The invitation to a verified rating."),
    "expires_at": Key(
        {"type": "string", "format": "date-time"}, "2026-02-01T00:00:00+00:00", "When the invitation stops working."
    ),
    "url": Key({"type": "string", "format": "uri"}, "https://example.com/r", "Where to follow it up."),
    "notification_id": Key(_UUID, _SAMPLE_ID, "The marketplace's report of the rating."),
    "partner_id": Key(_UUID, _SAMPLE_ID, "The marketplace (partner) that reported it."),
    "rating_ref": Key({"type": "string"}, "job-1", "The marketplace's own reference of the rating."),
    "endpoint_id": Key(_UUID, _SAMPLE_ID, "The webhook endpoint concerned."),
    "trigger_id": Key(_UUID, _SAMPLE_ID, "The trigger API call that sent this custom notice."),
    "data": Key({"type": "object"}, {}, "The caller's own data, as given to the trigger API."),
}

# What the builders read that never reaches a payload (addressing, wording, conditions): set so
# each builder makes its notice; the conditions chosen are those under which it says the most.
_CONTEXT = {
    "recipient_user_id": _SAMPLE_ID,
    "provider_user_id": _SAMPLE_ID,
    "recipient_email": "",
    "provider_email": "",
    "recipient_role": "provider",
    "partner_name": "A marketplace",
    "comment_excerpt": "",
    "reply_excerpt": "",
    "previous_verified": False,
}


def _full_input() -> dict:
    # Title and body too: a custom type's builder takes them as given (the trigger API's words).
    return {**_CONTEXT, **{name: key.sample for name, key in KEYS.items()}}


def _data_of(event_type: str, data: dict) -> dict | None:
    """The payload ``data`` of the first notice the type's builder makes of ``data``; None when it
    makes none or cannot (a key it needs is missing)."""
    try:
        notices = EVENT_TYPES[event_type].build(data)
    except (KeyError, TypeError, ValueError):
        return None
    if not notices:
        return None
    payload = webhook_payload(event_id=uuid.UUID(int=0), event_type=event_type, timestamp="", notice=notices[0])
    return payload["data"]


class UndocumentedKey(LookupError):
    """A builder emits a data key that ``KEYS`` does not describe."""


def data_schema(event_type: str) -> dict:
    """The JSON Schema of ``event_type``'s webhook payload ``data`` (see the module's docstring)."""
    full = _full_input()
    emitted = _data_of(event_type, full)
    if emitted is None:
        raise ValueError(f"{event_type}: its builder makes no notice of an input with every key")
    undocumented = sorted(set(emitted) - set(KEYS))
    if undocumented:
        raise UndocumentedKey(f"{event_type} emits {', '.join(undocumented)}: describe it in KEYS")
    optional: set[str] = set()
    for dropped in full:
        made = _data_of(event_type, {k: v for k, v in full.items() if k != dropped})
        if made is not None:
            optional |= set(emitted) - set(made)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {name: {**KEYS[name].schema, "description": KEYS[name].description} for name in emitted},
        "required": [name for name in emitted if name not in optional],
        "additionalProperties": False,
    }


def _version(event_type: str) -> int:
    versions = [version for (_, version), handler in HANDLERS.items() if event_type in handler.notice_types]
    return max(versions, default=1)


@functools.cache
def _schemas() -> dict[str, tuple[int, dict]]:
    return {
        name: (_version(name), data_schema(name)) for name in sorted(EVENT_TYPES) if not EVENT_TYPES[name].email_only
    }


def event_type_catalogue() -> list[dict]:
    """Every event type a webhook can subscribe to, by name: ``{type, version, description,
    schema}``. Email-only types (account emails) never reach a webhook and are left out. The
    description is read per call: it is the label, which may be worded in the reader's language."""
    return [
        {"type": name, "version": version, "description": str(EVENT_TYPES[name].label), "schema": schema}
        for name, (version, schema) in _schemas().items()
    ]
