"""The hand-written inbox item representation is DRF's ModelSerializer's, field for field."""

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone
from rest_framework import serializers

from apps.notifications.api.serializers import NotificationOutput
from apps.notifications.models import Notification
from tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db


def _drf(notification) -> dict:
    return serializers.ModelSerializer.to_representation(NotificationOutput(), notification)


def test_unread_and_read_items_are_represented_as_drf_would(provider):
    unread = NotificationFactory(
        recipient_id=provider.user_id,
        title='New 5★ rating "x"',
        body="Ünïcode ✓\nsecond line",
        data={"rating_id": "r", "score": 5, "nested": {"list": [1, 2.5, None, True]}},
    )
    read = NotificationFactory(recipient_id=provider.user_id, body="", data={})
    Notification.objects.filter(pk=read.pk).update(
        read_at=dt.datetime(2026, 10, 24, 12, 30, 0, 123, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))
    )
    for item in Notification.objects.filter(pk__in=[unread.pk, read.pk]):
        assert NotificationOutput(item).data == _drf(item)
        with timezone.override(zoneinfo.ZoneInfo("Asia/Kolkata")):
            assert NotificationOutput(item).data == _drf(item)
    item = Notification.objects.get(pk=read.pk)
    assert NotificationOutput(item).data["read_at"] == "2026-10-24T10:30:00.000123Z"
    assert NotificationOutput(Notification.objects.get(pk=unread.pk)).data["read_at"] is None


def test_a_page_of_items_is_drf_s_in_the_current_time_zone(provider):
    for _ in range(3):
        NotificationFactory(recipient_id=provider.user_id)
    Notification.objects.filter(recipient_id=provider.user_id).update(seen_at=timezone.now())
    items = list(Notification.objects.filter(recipient_id=provider.user_id))
    with timezone.override(zoneinfo.ZoneInfo("America/New_York")):
        page = NotificationOutput(items, many=True).data
        assert page == [_drf(item) for item in items]
    assert not page[0]["seen_at"].endswith("Z")
    assert NotificationOutput(items, many=True).data[0]["seen_at"].endswith("Z")
