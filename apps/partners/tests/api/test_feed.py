"""The partner feed: the partner's own queue, consumed on read as Homerun's, fed by ratings of its
providers and by POST /api/internal/notifications."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.accounts.services import user_erase
from apps.core.models import OutboxEvent
from apps.notifications.models import Channel, Delivery, Notification, NotificationPreference
from apps.notifications.services import events_ingest
from apps.partners.feed import FEED_PAGE_SIZE, feed_message
from apps.partners.models import PartnerFeedItem, PartnerProvider
from apps.ratings.models import Rating, RatingStatus
from apps.ratings.services import rating_create, rating_moderate
from tests.factories import DEFAULT_PASSWORD, CustomerFactory, ProviderFactory, UserFactory

pytestmark = pytest.mark.django_db


def _z(dt) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def feed(partner, provider_id, **query):
    response = partner.get(f"/api/notifications/{provider_id}", query)
    assert response.status_code == 200, response.json()
    return response.json()


def post(partner, provider_id, rating_id=None, rating=4, name="Alice Johnson", comment="Good service"):
    body = {"serviceProviderId": str(provider_id), "ratingId": str(rating_id or uuid.uuid4()), "rating": rating}
    if name is not None:
        body["customerName"] = name
    if comment is not None:
        body["comment"] = comment
    return partner.post("/api/internal/notifications", body)


def rate(partner, customer, provider, score=5, comment="Superb"):
    body = {"customerId": str(customer.pk), "serviceProviderId": str(provider.pk), "rating": score, "comment": comment}
    response = partner.post("/v1/ratings", body)
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.mark.parametrize(
    ("score", "name", "comment", "message"),
    [
        (4, "Ada", "Fixed it fast", 'New 4-star rating received from Ada: "Fixed it fast"'),
        (5, "Ada", "", "New 5-star rating received from Ada"),
        (1, "", "Late", 'New 1-star rating received: "Late"'),
        (3, "", "", "New 3-star rating received"),
    ],
)
def test_the_message_is_worded_as_homerun_words_it(score, name, comment, message):
    assert feed_message(score=score, customer_name=name, comment=comment) == message


def test_a_rating_reaches_the_partners_feed_once_without_the_notifications_pipeline(partner, customer, provider):
    # The provider switched its in-app notices off: the partner's feed is not the provider's inbox.
    NotificationPreference.objects.create(
        recipient_id=provider.user_id, event_type="rating.created", channel=Channel.IN_APP, enabled=False
    )
    customer.user.name = "Grace Hopper"
    customer.user.save()
    rated = rate(partner, customer, provider, comment="Superb")
    item = PartnerFeedItem.objects.get()

    first = feed(partner, provider.pk)

    assert first == {
        "notifications": [
            {
                "id": str(item.pk),
                "serviceProviderId": str(provider.pk),
                "message": 'New 5-star rating received from Grace Hopper: "Superb"',
                "ratingId": rated["id"],
                "createdAt": _z(item.created_at),
            }
        ],
        "hasMore": False,
    }
    assert feed(partner, provider.pk) == {"notifications": [], "hasMore": False}
    item.refresh_from_db()
    assert item.consumed_at is not None


def test_a_rating_without_a_comment_has_no_comment_part(partner, customer, provider):
    rate(partner, customer, provider, score=3, comment="")

    (item,) = feed(partner, provider.pk)["notifications"]

    assert item["message"] == f"New 3-star rating received from {customer.user.name}"


def test_every_partner_with_the_provider_gets_it_and_consumes_its_own(partner, other_partner, customer, provider):
    PartnerProvider.objects.create(partner=other_partner.key.partner, provider=provider, granted=True)
    # A rating made elsewhere (the public API, here its service) of their provider is announced too.
    rating_create(customer=CustomerFactory(), provider=provider, score=2, comment="")

    assert len(feed(partner, provider.pk)["notifications"]) == 1
    assert len(feed(other_partner, provider.pk)["notifications"]) == 1
    assert feed(partner, provider.pk)["notifications"] == []


def test_a_held_rating_is_announced_when_published(partner, customer, provider, settings):
    settings.RATING_HOLD_LINKS = True
    rate(partner, customer, provider, comment="See https://spam.example.com")
    assert feed(partner, provider.pk)["notifications"] == []
    assert not PartnerFeedItem.objects.exists()

    rating_moderate(rating=Rating.objects.get(), to_status=RatingStatus.PUBLISHED, moderator=UserFactory(is_staff=True))

    (item,) = feed(partner, provider.pk)["notifications"]
    assert item["message"].endswith(': "See https://spam.example.com"')


def test_an_erased_authors_name_and_words_are_not_kept(partner, customer, provider):
    customer.user.name = "Zelda Marker"
    customer.user.set_password("a-long-enough-secret-2026")
    customer.user.save()
    rate(partner, customer, provider, comment="Fine")

    user_erase(user=customer.user, password="a-long-enough-secret-2026")

    (item,) = feed(partner, provider.pk)["notifications"]
    assert "Zelda" not in item["message"]
    # The erasure empties the comments the account wrote, so the message has none either.
    assert item["message"] == "New 5-star rating received from Deleted user"
    assert not PartnerFeedItem.objects.filter(message__contains="Zelda").exists()


def test_internal_notification_for_any_provider_id_then_consumed_once(partner):
    provider_id = "550e8400-e29b-41d4-a716-446655440000"
    rating_id = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"

    created = post(partner, provider_id, rating_id, rating=4, name="Alice Johnson", comment="Good service")

    assert created.status_code == 201
    item = PartnerFeedItem.objects.get()
    assert created.json() == {"id": str(item.pk), "message": "Notification created successfully"}
    assert feed(partner, provider_id) == {
        "notifications": [
            {
                "id": str(item.pk),
                "serviceProviderId": provider_id,
                "message": 'New 4-star rating received from Alice Johnson: "Good service"',
                "ratingId": rating_id,
                "createdAt": _z(item.created_at),
            }
        ],
        "hasMore": False,
    }
    assert feed(partner, provider_id) == {"notifications": [], "hasMore": False}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"serviceProviderId": "x", "ratingId": str(uuid.uuid4()), "rating": 4}, "serviceProviderId"),
        ({"serviceProviderId": str(uuid.uuid4()), "ratingId": "x", "rating": 4}, "ratingId"),
        ({"serviceProviderId": str(uuid.uuid4()), "ratingId": str(uuid.uuid4()), "rating": 6}, "rating"),
        ({"serviceProviderId": str(uuid.uuid4()), "ratingId": str(uuid.uuid4()), "rating": "4"}, "rating"),
        ({"serviceProviderId": str(uuid.uuid4()), "ratingId": str(uuid.uuid4())}, "rating"),
        (
            {"serviceProviderId": str(uuid.uuid4()), "ratingId": str(uuid.uuid4()), "rating": 4, "comment": "x" * 1001},
            "comment",
        ),
    ],
)
def test_invalid_internal_notifications_are_400_and_create_nothing(partner, body, field):
    response = partner.post("/api/internal/notifications", body)

    assert response.status_code == 400
    assert [d["field"] for d in response.json()["details"]] == [field]
    assert not PartnerFeedItem.objects.exists()


def test_oldest_first_and_paged_with_has_more(partner):
    provider_id = uuid.uuid4()
    ids = [post(partner, provider_id).json()["id"] for _ in range(FEED_PAGE_SIZE + 2)]

    first = feed(partner, provider_id)
    assert [n["id"] for n in first["notifications"]] == ids[:FEED_PAGE_SIZE]
    assert first["hasMore"] is True
    second = feed(partner, provider_id)
    assert [n["id"] for n in second["notifications"]] == ids[FEED_PAGE_SIZE:]
    assert second["hasMore"] is False


def test_last_checked_filters_and_still_consumes_as_homerun(partner):
    provider_id = uuid.uuid4()
    old, new = post(partner, provider_id).json()["id"], post(partner, provider_id).json()["id"]
    start = timezone.now() - timedelta(hours=1)
    PartnerFeedItem.objects.filter(pk=old).update(created_at=start)
    PartnerFeedItem.objects.filter(pk=new).update(created_at=start + timedelta(seconds=10))

    since = feed(partner, provider_id, lastChecked=_z(start + timedelta(seconds=5)))

    assert [n["id"] for n in since["notifications"]] == [new]
    # Handed out: not again, with or without lastChecked; the older one is still waiting.
    assert feed(partner, provider_id, lastChecked=_z(start - timedelta(seconds=1)))["notifications"][0]["id"] == old
    assert feed(partner, provider_id) == {"notifications": [], "hasMore": False}


def test_a_non_uuid_provider_id_is_an_empty_list_as_in_homerun(partner):
    assert feed(partner, "not-a-uuid") == {"notifications": [], "hasMore": False}


@pytest.mark.parametrize("value", ["yesterday", "", "2026-13-01T00:00:00Z"])
def test_invalid_last_checked_is_400_and_consumes_nothing(partner, value):
    provider_id = uuid.uuid4()
    post(partner, provider_id)

    response = partner.get(f"/api/notifications/{provider_id}", {"lastChecked": value})

    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "lastChecked"
    assert not PartnerFeedItem.objects.filter(consumed_at__isnull=False).exists()


def test_a_rating_of_a_provider_no_partner_has_feeds_nobody(partner, provider):
    PartnerProvider.objects.all().delete()

    rating_create(customer=CustomerFactory(), provider=provider, score=5, comment="")

    assert not PartnerFeedItem.objects.exists()


def test_an_internal_notification_without_name_or_comment(partner):
    provider_id = uuid.uuid4()

    assert post(partner, provider_id, rating=2, name="", comment="").status_code == 201
    assert post(partner, provider_id, rating=3, name=None, comment=None).status_code == 201

    assert [n["message"] for n in feed(partner, provider_id)["notifications"]] == [
        "New 2-star rating received",
        "New 3-star rating received",
    ]


def _ingest_partner_notices():
    events = list(OutboxEvent.objects.filter(type="partner.notification"))
    events_ingest(envelopes=[event.envelope for event in events])
    return events


def test_a_notice_for_an_own_provider_also_reaches_its_channels_through_the_pipeline(partner, provider):
    posted = post(partner, provider.pk, rating=4, name="Ada", comment="Fixed it fast").json()

    [event] = _ingest_partner_notices()
    assert event.data["provider_user_id"] == str(provider.user_id)
    [item] = Notification.objects.filter(recipient_id=provider.user_id)
    assert item.type == "partner.notification"
    assert item.title == f"New 4-star rating received from Ada (via {partner.key.partner.name})"
    assert item.body == "Fixed it fast"
    assert item.data["notification_id"] == posted["id"] and item.data["score"] == 4
    [email] = Delivery.objects.filter(recipient_id=provider.user_id, channel=Channel.EMAIL)
    assert email.address == provider.user.email
    # The partner's own feed has it too, consumed as ever.
    assert [n["id"] for n in feed(partner, provider.pk)["notifications"]] == [posted["id"]]


def test_the_provider_s_preferences_decide_its_channels_not_the_partner_feed(partner, provider):
    NotificationPreference.objects.create(
        recipient_id=provider.user_id, event_type="partner.notification", channel=Channel.IN_APP, enabled=False
    )
    NotificationPreference.objects.create(
        recipient_id=provider.user_id, event_type="partner.notification", channel=Channel.EMAIL, enabled=False
    )
    posted = post(partner, provider.pk).json()
    _ingest_partner_notices()

    assert not Notification.objects.filter(recipient_id=provider.user_id).exists()
    assert not Delivery.objects.filter(recipient_id=provider.user_id).exists()
    assert [n["id"] for n in feed(partner, provider.pk)["notifications"]] == [posted["id"]]


def test_a_notice_for_another_partner_s_or_an_unknown_provider_tells_nobody(partner, other_partner):
    theirs = ProviderFactory()
    PartnerProvider.objects.create(partner=other_partner.key.partner, provider=theirs)

    mine_unknown = post(partner, uuid.uuid4())
    not_mine = post(partner, theirs.pk)

    assert mine_unknown.status_code == not_mine.status_code == 201
    assert not OutboxEvent.objects.filter(type="partner.notification").exists()


def test_a_notice_for_a_granted_provider_tells_it(partner, provider):
    granted = ProviderFactory()
    PartnerProvider.objects.create(partner=partner.key.partner, provider=granted, granted=True)

    post(partner, granted.pk)

    assert OutboxEvent.objects.get(type="partner.notification").data["provider_id"] == str(granted.pk)


def test_a_notice_for_an_erased_provider_tells_nobody(partner, provider):
    user_erase(user=provider.user, password=DEFAULT_PASSWORD)
    OutboxEvent.objects.all().delete()

    assert post(partner, provider.pk).status_code == 201
    assert not OutboxEvent.objects.filter(type="partner.notification").exists()


def test_the_provider_s_webhook_subscribed_to_the_type_gets_the_notice(partner, provider):
    from apps.notifications.services import webhook_create

    endpoint = webhook_create(
        recipient_id=provider.user_id, url="https://hooks.example.com/in", event_types=["partner.notification"]
    )
    posted = post(partner, provider.pk, rating=2, name="", comment="Late").json()
    [event] = _ingest_partner_notices()

    [delivery] = Delivery.objects.filter(channel=Channel.WEBHOOK, endpoint=endpoint)
    assert delivery.payload["type"] == "partner.notification"
    assert delivery.payload["id"] == str(event.pk)
    assert delivery.payload["data"] == {
        "notification_id": posted["id"],
        "partner_id": str(partner.key.partner.pk),
        "provider_id": str(provider.pk),
        "rating_ref": event.data["rating_ref"],
        "score": 2,
        "customer_name": "",
        "title": f"New 2-star rating received (via {partner.key.partner.name})",
        "body": "Late",
    }
