import uuid
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from apps.core.outbox import outbox_dispatch
from apps.notifications.models import Notification
from apps.notifications.services.ingest import events_ingest
from apps.notifications.tasks import ingest_events_task
from apps.notifications.tests.conftest import envelope
from apps.partners.feed import FEED_PAGE_SIZE
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _z(dt) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def feed(partner, provider_id, **query):
    response = partner.get(f"/api/notifications/{provider_id}", query)
    assert response.status_code == 200, response.json()
    return response.json()


def notify(provider_id, n=1, **data) -> list[Notification]:
    """``n`` rating.created inbox items for ``provider_id``, one second apart, oldest first."""
    start = timezone.now() - timedelta(hours=1)
    items = []
    for i in range(n):
        (item,) = events_ingest(envelopes=[envelope(provider_id=str(provider_id), **data)])
        Notification.objects.filter(pk=item.pk).update(created_at=start + timedelta(seconds=i))
        item.refresh_from_db()
        items.append(item)
    return items


def test_a_partner_rating_reaches_the_feed_once(partner, provider, django_capture_on_commit_callbacks, send_task):
    customer = CustomerFactory(user__name="Grace Hopper")
    with (
        mock.patch("apps.core.outbox.current_app.send_task") as publish,
        django_capture_on_commit_callbacks(execute=True),
    ):
        rated = partner.post(
            "/v1/ratings",
            {"customerId": str(customer.pk), "serviceProviderId": str(provider.pk), "rating": 5, "comment": "Superb"},
        )
        assert rated.status_code == 201
        assert outbox_dispatch() == 1
    with django_capture_on_commit_callbacks(execute=True):
        ingest_events_task(publish.call_args.kwargs["args"][0])
    item = Notification.objects.get()

    first = feed(partner, provider.pk)

    assert first == {
        "notifications": [
            {
                "id": str(item.pk),
                "serviceProviderId": str(provider.pk),
                "message": 'New 5-star rating received from Grace Hopper: "Superb"',
                "ratingId": rated.json()["id"],
                "createdAt": _z(item.created_at),
            }
        ],
        "hasMore": False,
    }
    # Consumed: a second read is empty; the provider's own inbox still shows it unread.
    assert feed(partner, provider.pk) == {"notifications": [], "hasMore": False}
    item.refresh_from_db()
    assert item.partner_consumed_at is not None
    assert item.read_at is None


def test_oldest_first_and_paged_with_has_more(partner):
    provider_id = uuid.uuid4()
    items = notify(provider_id, FEED_PAGE_SIZE + 2)

    first = feed(partner, provider_id)
    assert [n["id"] for n in first["notifications"]] == [str(i.pk) for i in items[:FEED_PAGE_SIZE]]
    assert first["hasMore"] is True

    second = feed(partner, provider_id)
    assert [n["id"] for n in second["notifications"]] == [str(i.pk) for i in items[FEED_PAGE_SIZE:]]
    assert second["hasMore"] is False
    assert feed(partner, provider_id) == {"notifications": [], "hasMore": False}


def test_last_checked_filters_without_consuming(partner):
    provider_id = uuid.uuid4()
    old, new, newer = notify(provider_id, 3)

    since = feed(partner, provider_id, lastChecked=_z(old.created_at))

    assert [n["id"] for n in since["notifications"]] == [str(new.pk), str(newer.pk)]
    assert since["hasMore"] is False
    assert Notification.objects.filter(partner_consumed_at__isnull=False).count() == 0
    # A consuming read still gets all three; afterwards lastChecked still lists consumed ones.
    assert len(feed(partner, provider_id)["notifications"]) == 3
    assert len(feed(partner, provider_id, lastChecked=_z(old.created_at))["notifications"]) == 2
    offset = old.created_at.astimezone(timezone.get_fixed_timezone(120)).isoformat()
    assert len(feed(partner, provider_id, lastChecked=offset)["notifications"]) == 2


def test_only_this_providers_new_rating_items(partner):
    provider_id = uuid.uuid4()
    (mine,) = notify(provider_id)
    notify(uuid.uuid4())
    events_ingest(envelopes=[envelope(type="rating.held", provider_id=str(provider_id))])
    # A held rating's creation event announces nothing (it is not published yet).
    events_ingest(envelopes=[envelope(provider_id=str(provider_id), status="pending_review")])

    assert [n["id"] for n in feed(partner, provider_id)["notifications"]] == [str(mine.pk)]
    assert Notification.objects.filter(partner_consumed_at__isnull=False).count() == 1


def test_message_of_an_item_written_before_the_name_was_kept(partner):
    provider_id = uuid.uuid4()
    (item,) = notify(provider_id, score=3, customer_name="Alan Turing", comment_excerpt="Fine")
    Notification.objects.filter(pk=item.pk).update(data={k: v for k, v in item.data.items() if k != "customer_name"})

    (shown,) = feed(partner, provider_id)["notifications"]

    assert shown["message"] == 'New 3-star rating received from Alan Turing: "Fine"'


def test_unknown_provider_has_an_empty_feed_and_a_malformed_id_is_404(partner):
    assert feed(partner, "3f1c8a2e-0000-4000-8000-00000000abcd") == {"notifications": [], "hasMore": False}
    response = partner.get("/api/notifications/not-a-uuid")
    assert response.status_code == 404
    assert response.json() == {"status": 404, "message": "Service provider not found."}


@pytest.mark.parametrize("value", ["yesterday", "", "2026-13-01T00:00:00Z"])
def test_invalid_last_checked_is_400_and_consumes_nothing(partner, value):
    provider_id = uuid.uuid4()
    notify(provider_id)

    response = partner.get(f"/api/notifications/{provider_id}", {"lastChecked": value})

    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "lastChecked"
    assert Notification.objects.filter(partner_consumed_at__isnull=False).count() == 0
