"""Two partner readers of the same feed at the same moment, on PostgreSQL (row locks)."""

import threading
import uuid

import pytest
from django.db import connection, connections

from apps.notifications.models import Notification
from apps.notifications.services.ingest import events_ingest
from apps.notifications.tests.conftest import envelope
from apps.partners.feed import _provider_items, feed_consume

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

READERS = 4
ITEMS = 120  # more than two pages, so readers also race over hasMore pages


@pytest.fixture(autouse=True)
def _skip_unless_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")


def test_concurrent_readers_never_get_the_same_item():
    provider_id = uuid.uuid4()
    events_ingest(envelopes=[envelope(provider_id=str(provider_id)) for _ in range(ITEMS)])
    barrier = threading.Barrier(READERS, timeout=30)
    got: list[list[str]] = [[] for _ in range(READERS)]
    errors: list[BaseException] = []

    def reader(i):
        try:
            barrier.wait()
            while True:
                items, has_more = feed_consume(provider_id=provider_id)
                got[i].extend(item.id for item in items)
                if not items and not has_more:
                    return
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(READERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert not errors, errors
    handed_out = [item for items in got for item in items]
    assert len(handed_out) == ITEMS
    assert len(set(handed_out)) == ITEMS
    assert Notification.objects.filter(partner_consumed_at__isnull=True).count() == 0


def test_the_feed_reads_through_its_partial_index():
    provider_id = uuid.uuid4()
    events_ingest(envelopes=[envelope(provider_id=str(uuid.uuid4())) for _ in range(200)])
    events_ingest(envelopes=[envelope(provider_id=str(provider_id))])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE notifications_notification")
        cursor.execute("SET enable_seqscan = off")
        queryset = _provider_items(db="default", provider_id=provider_id).filter(partner_consumed_at__isnull=True)
        sql, params = queryset[:51].query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = on")

    assert "notifications_partner_feed_idx" in plan, plan
