"""Readers of the same partner feed at the same moment, on PostgreSQL (row locks)."""

import threading
import uuid

import pytest
from django.db import connection, connections

from apps.partners.feed import feed_consume, feed_item_create
from apps.partners.models import PartnerFeedItem
from tests.factories import partner_key_create

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

READERS = 4
ITEMS = 120  # more than two pages, so readers also race over hasMore pages


@pytest.fixture(autouse=True)
def _skip_unless_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")


def test_concurrent_readers_never_get_the_same_item():
    partner = partner_key_create()[0].partner
    provider_id = uuid.uuid4()
    for _ in range(ITEMS):
        feed_item_create(
            partner=partner, provider_id=provider_id, rating_id=uuid.uuid4(), score=5, customer_name="A", comment=""
        )
    barrier = threading.Barrier(READERS, timeout=30)
    got: list[list] = [[] for _ in range(READERS)]
    errors: list[BaseException] = []

    def reader(i):
        try:
            barrier.wait()
            for _ in range(ITEMS):  # bounded: each round hands out at least one item or stops
                items, has_more = feed_consume(partner=partner, provider_id=provider_id)
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
    assert PartnerFeedItem.objects.filter(consumed_at__isnull=True).count() == 0
