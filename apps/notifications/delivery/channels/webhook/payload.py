"""The JSON body a webhook receives, made at intake and stored on its delivery."""

from uuid import UUID

from apps.notifications.events import Notice


def webhook_payload(*, event_id: UUID, event_type: str, timestamp: str, notice: Notice) -> dict:
    """Standard Webhooks' ``{type, timestamp, data}`` (``id`` is also the ``webhook-id`` header).

    Only what the recipient's own inbox item shows (ids, score, title, body): never the
    envelope's contact details of other people.
    """
    return {
        "id": str(event_id),
        "type": event_type,
        "timestamp": timestamp,
        "data": {**notice.data, "title": notice.title, "body": notice.body},
    }
