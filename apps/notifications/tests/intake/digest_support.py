"""What the digest and quiet-hours tests share: a frozen clock's instants, rating events, runs."""

from datetime import UTC, datetime

from apps.notifications.services import digests_close, events_ingest
from apps.notifications.tests.conftest import envelope


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def rating_at(recipient, at: datetime, *, name: str, score: int, summary: dict | None, comment: str = "") -> dict:
    event = envelope(recipient_id=recipient, customer_name=name, score=score, comment_excerpt=comment)
    event["occurred_at"] = at.isoformat()
    if summary is not None:
        event["data"]["summary"] = summary
    return event


def ingest(events, capture):
    with capture(execute=True):
        return events_ingest(envelopes=events)


def close(capture, **kwargs) -> int:
    with capture(execute=True):
        return digests_close(**kwargs)


def sent_ids(send_task) -> list[str]:
    return [delivery_id for call in send_task.call_args_list for delivery_id in call.kwargs["args"][0]]
