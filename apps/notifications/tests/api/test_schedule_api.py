"""GET/PATCH notifications/schedule/: time zone, new-rating digests, quiet hours."""

from datetime import time

import pytest
from rest_framework.test import APIClient

from apps.notifications.models import NotificationSchedule

pytestmark = pytest.mark.django_db
URL = "/api/v1/notifications/schedule/"
DEFAULTS = {"time_zone": "UTC", "rating_emails": "immediate", "quiet_hours": None}


def _validation(attr: str, code: str, detail: str) -> dict:
    return {"type": "validation_error", "errors": [{"code": code, "detail": detail, "attr": attr}]}


def test_without_a_choice_the_schedule_is_the_default_and_reading_it_writes_nothing(provider_client):
    response = provider_client.get(URL)
    assert (response.status_code, response.json()) == (200, DEFAULTS)
    assert not NotificationSchedule.objects.exists()


def test_patch_sets_every_part_and_get_returns_it(provider, provider_client):
    body = {"time_zone": "Europe/Berlin", "rating_emails": "daily", "quiet_hours": {"start": "22:00", "end": "07:00"}}
    response = provider_client.patch(URL, body, format="json")
    assert (response.status_code, response.json()) == (200, body)
    assert provider_client.get(URL).json() == body
    schedule = NotificationSchedule.objects.get()
    assert (schedule.recipient_id, schedule.time_zone, schedule.rating_emails) == (
        provider.user_id,
        "Europe/Berlin",
        "daily",
    )
    assert (schedule.quiet_start, schedule.quiet_end) == (time(22), time(7))


def test_patch_changes_only_what_is_sent_and_null_removes_quiet_hours(provider_client):
    provider_client.patch(
        URL,
        {"time_zone": "America/New_York", "rating_emails": "hourly", "quiet_hours": {"start": "13:00", "end": "14:30"}},
        format="json",
    )
    response = provider_client.patch(URL, {"rating_emails": "immediate"}, format="json")
    assert response.json() == {
        "time_zone": "America/New_York",
        "rating_emails": "immediate",
        "quiet_hours": {"start": "13:00", "end": "14:30"},
    }
    response = provider_client.patch(URL, {"quiet_hours": None}, format="json")
    assert response.json() == {"time_zone": "America/New_York", "rating_emails": "immediate", "quiet_hours": None}
    assert provider_client.patch(URL, {}, format="json").json() == response.json()
    assert NotificationSchedule.objects.count() == 1


def test_each_user_has_their_own_schedule(provider_client, customer_client):
    provider_client.patch(URL, {"rating_emails": "daily"}, format="json")
    assert customer_client.get(URL).json() == DEFAULTS


_TIME = "Enter a local time of day as HH:MM, from 00:00 to 23:59."


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        (
            {"time_zone": "Mars/Olympus_Mons"},
            400,
            {
                "type": "client_error",
                "errors": [
                    {
                        "code": "unknown_time_zone",
                        "detail": "'Mars/Olympus_Mons' is not an IANA time zone name (such as Europe/Berlin).",
                        "attr": None,
                    }
                ],
            },
        ),
        (
            {"time_zone": "europe/berlin", "rating_emails": "daily"},
            400,
            {
                "type": "client_error",
                "errors": [
                    {
                        "code": "unknown_time_zone",
                        "detail": "'europe/berlin' is not an IANA time zone name (such as Europe/Berlin).",
                        "attr": None,
                    }
                ],
            },
        ),
        (
            {"quiet_hours": {"start": "07:00", "end": "07:00"}},
            400,
            {
                "type": "client_error",
                "errors": [
                    {
                        "code": "invalid_quiet_hours",
                        "detail": "Quiet hours must start and end at different times.",
                        "attr": None,
                    }
                ],
            },
        ),
        ({"time_zone": 1}, 400, _validation("time_zone", "invalid", "Must be a JSON string.")),
        ({"time_zone": None}, 400, _validation("time_zone", "null", "This field may not be null.")),
        (
            {"rating_emails": "weekly"},
            400,
            _validation("rating_emails", "invalid_choice", '"weekly" is not a valid choice.'),
        ),
        ({"quiet_hours": {"start": "7:00", "end": "08:00"}}, 400, _validation("quiet_hours.start", "invalid", _TIME)),
        ({"quiet_hours": {"start": "22:00", "end": "24:00"}}, 400, _validation("quiet_hours.end", "invalid", _TIME)),
        (
            {"quiet_hours": {"start": "22:00:00", "end": "07:00"}},
            400,
            _validation("quiet_hours.start", "invalid", _TIME),
        ),
        (
            {"quiet_hours": {"start": 22, "end": "07:00"}},
            400,
            _validation("quiet_hours.start", "invalid", "Must be a JSON string."),
        ),
        (
            {"quiet_hours": {"start": "22:00"}},
            400,
            _validation("quiet_hours.end", "required", "This field is required."),
        ),
        (
            {"quiet_hours": "22:00-07:00"},
            400,
            _validation("quiet_hours.non_field_errors", "invalid", "Invalid data. Expected a dictionary, but got str."),
        ),
    ],
)
def test_bad_input_is_a_400_and_changes_nothing(provider, provider_client, body, status, expected):
    NotificationSchedule.objects.create(recipient_id=provider.user_id, time_zone="Asia/Tokyo", rating_emails="hourly")
    response = provider_client.patch(URL, body, format="json")
    assert (response.status_code, response.json()) == (status, expected)
    schedule = NotificationSchedule.objects.get()
    assert (schedule.time_zone, schedule.rating_emails, schedule.quiet_start, schedule.quiet_end) == (
        "Asia/Tokyo",
        "hourly",
        None,
        None,
    )


def test_bad_input_for_a_user_without_a_schedule_creates_none(provider_client):
    response = provider_client.patch(URL, {"time_zone": "Nowhere/Atlantis", "rating_emails": "daily"}, format="json")
    assert response.status_code == 400
    assert not NotificationSchedule.objects.exists()


def test_signing_in_is_required():
    response = APIClient().get(URL)
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "not_authenticated"
    assert APIClient().patch(URL, {"rating_emails": "daily"}, format="json").status_code == 401
    assert not NotificationSchedule.objects.exists()


def test_put_is_not_allowed(provider_client):
    response = provider_client.put(URL, DEFAULTS, format="json")
    assert response.status_code == 405
    assert response["Allow"] == "GET, PATCH, HEAD, OPTIONS"
