"""What the outbox tests share: the patched send, row factories, the metrics and a LISTENer."""

from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from django.utils import timezone
from prometheus_client import REGISTRY

from apps.core import outbox
from apps.core.models import OutboxEvent

SEND = "apps.core.outbox.current_app.send_task"
ROOT = Path(__file__).resolve().parents[3]


def postgres_only(test):
    """LISTEN/NOTIFY and row locks: PostgreSQL only (the other tests also run on SQLite)."""
    skip = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")
    return pytest.mark.postgres(skip(test))


def _publish(**data) -> OutboxEvent:
    return outbox.publish("rating.created", {"rating_id": "r1", **data}, occurred_at="2026-01-02T03:04:05+00:00")


def _row(**fields) -> OutboxEvent:
    defaults = {
        "type": "rating.created",
        "occurred_at": timezone.now(),
        "data": {},
        "task_name": "notifications.ingest_events",
        "queue": "notifications",
    }
    return OutboxEvent.objects.create(**{**defaults, **fields})


def _rows(count: int, **fields) -> list[OutboxEvent]:
    """``count`` rows with strictly increasing created_at (the dispatch order)."""
    start = timezone.now() - timedelta(hours=1)
    rows = [_row(data={"n": n}, **fields) for n in range(count)]
    for n, row in enumerate(rows):
        OutboxEvent.objects.filter(pk=row.pk).update(created_at=start + timedelta(milliseconds=n))
    return [OutboxEvent.objects.get(pk=row.pk) for row in rows]


def _sample(name: str, labels: dict | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


def _listener() -> psycopg.Connection:
    """A second, real connection to the test database, LISTENing like the dispatcher does."""
    params = connection.get_connection_params()
    listener = psycopg.connect(**params, autocommit=True)
    listener.execute(f"LISTEN {outbox.NOTIFY_CHANNEL}")
    return listener
