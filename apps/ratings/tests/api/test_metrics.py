"""GET providers/{id}/rating-metrics/: reply rate, median time to reply, the monthly trend."""

import datetime
import uuid
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection

from apps.ratings.models import Rating, RatingMonth, RatingReply, RatingStatus, RatingSummary
from apps.ratings.services import (
    rating_create,
    rating_delete,
    rating_moderate,
    rating_update,
    reply_delete,
    reply_moderate,
    reply_set,
)
from tests.factories import CustomerFactory, moderator_create

pytestmark = pytest.mark.django_db


def utc(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=datetime.UTC)


def url(provider, **params) -> str:
    query = "".join(f"&{k}={v}" for k, v in params.items()).replace("&", "?", 1)
    return f"/api/v1/providers/{provider.pk}/rating-metrics/{query}"


def _rate_at(when, provider, score, comment=""):
    with time_machine.travel(when, tick=False):
        return rating_create(customer=CustomerFactory(), provider=provider, score=score, comment=comment)


def _reply_at(when, rating, body="Thank you"):
    with time_machine.travel(when, tick=False):
        return reply_set(rating=rating, body=body)


def _month(month, count, average):
    return {"month": month, "count": count, "average": average}


@pytest.fixture
def history(provider):
    """Ratings over three months; three of the four published ones answered after 1 h, 3 h, 2 days."""
    october = _rate_at(utc(2026, 10, 3, 12), provider, 5)
    november = [_rate_at(utc(2026, 11, day, 9), provider, score) for day, score in ((1, 2), (30, 4))]
    december = _rate_at(utc(2026, 12, 1, 8), provider, 3)
    _reply_at(utc(2026, 10, 3, 13), october)
    _reply_at(utc(2026, 11, 1, 12), november[0])
    _reply_at(utc(2026, 12, 3, 8), december)
    return october, november, december


def test_the_metrics_of_a_provider_are_exact(api_client, provider, history):
    with time_machine.travel(utc(2026, 12, 7, 12), tick=False):
        response = api_client.get(url(provider, months=4))

    assert response.status_code == 200
    assert response.json() == {
        "provider_id": str(provider.pk),
        "count": 4,
        "replied_count": 3,
        "reply_rate": 0.75,
        # 1 h, 3 h and 48 h: the middle one.
        "median_reply_seconds": 3 * 3600,
        "months": [
            _month("2026-09", 0, None),
            _month("2026-10", 1, 5.0),
            _month("2026-11", 2, 3.0),
            _month("2026-12", 1, 3.0),
        ],
    }


def test_an_even_number_of_replies_has_the_mean_of_the_middle_two(api_client, provider, history):
    _reply_at(utc(2026, 11, 30, 9, 30), history[1][1])

    body = api_client.get(url(provider)).json()

    assert (body["replied_count"], body["reply_rate"]) == (4, 1.0)
    # 30 min, 1 h, 3 h, 48 h.
    assert body["median_reply_seconds"] == 2 * 3600
    assert len(body["months"]) == 12


def test_a_provider_without_ratings_has_empty_metrics(api_client, provider):
    with time_machine.travel(utc(2026, 3, 15), tick=False):
        response = api_client.get(url(provider, months=2))

    assert response.json() == {
        "provider_id": str(provider.pk),
        "count": 0,
        "replied_count": 0,
        "reply_rate": None,
        "median_reply_seconds": None,
        "months": [_month("2026-02", 0, None), _month("2026-03", 0, None)],
    }


def test_the_months_follow_every_change_of_a_rating(api_client, provider, history):
    october, november, december = history
    moderator = moderator_create()

    rating_update(rating=november[1], score=1, enforce_edit_window=False)
    rating_moderate(rating=october, to_status=RatingStatus.HIDDEN, reason="Spam", moderator=moderator)
    rating_delete(rating=december)

    with time_machine.travel(utc(2026, 12, 7), tick=False):
        body = api_client.get(url(provider, months=3)).json()
    assert body["months"] == [_month("2026-10", 0, None), _month("2026-11", 2, 1.5), _month("2026-12", 0, None)]
    # The hidden and the deleted ratings no longer count as answered either.
    assert (body["count"], body["replied_count"], body["median_reply_seconds"]) == (2, 1, 3 * 3600)

    rating_moderate(rating=october, to_status=RatingStatus.PUBLISHED, moderator=moderator)
    with time_machine.travel(utc(2026, 12, 7), tick=False):
        body = api_client.get(url(provider, months=3)).json()
    assert body["months"][0] == _month("2026-10", 1, 5.0)
    assert (body["replied_count"], body["median_reply_seconds"]) == (2, 2 * 3600)


def test_the_first_public_reply_counts_and_is_kept(provider):
    held = _rate_at(utc(2026, 11, 2, 10), provider, 4)
    # A held reply counts from when staff publish it, not from when it was written.
    _reply_at(utc(2026, 11, 2, 11), held, body="Call me on 0123 456 789")
    assert Rating.objects.get(pk=held.pk).first_reply_delay is None
    with time_machine.travel(utc(2026, 11, 2, 15), tick=False):
        reply_moderate(
            reply=RatingReply.objects.get(rating=held), to_status=RatingStatus.PUBLISHED, moderator=moderator_create()
        )
    assert Rating.objects.get(pk=held.pk).first_reply_delay == datetime.timedelta(hours=5)

    # Replaced or deleted later, the first answer's delay stays.
    _reply_at(utc(2026, 11, 9), Rating.objects.get(pk=held.pk), body="Thanks again")
    reply_delete(rating=held)
    assert Rating.objects.get(pk=held.pk).first_reply_delay == datetime.timedelta(hours=5)


@pytest.mark.parametrize(
    ("months", "code", "detail"),
    [
        ("0", "min_value", "Ensure this value is greater than or equal to 1."),
        ("61", "max_value", "Ensure this value is less than or equal to 60."),
        ("x", "invalid", "A valid integer is required."),
    ],
)
def test_a_bad_number_of_months_is_400(api_client, provider, months, code, detail):
    response = api_client.get(url(provider, months=months))

    assert response.status_code == 400
    assert response.json() == {
        "type": "validation_error",
        "errors": [{"code": code, "detail": detail, "attr": "months"}],
    }


def test_an_unknown_provider_is_404(api_client):
    response = api_client.get(f"/api/v1/providers/{uuid.uuid4()}/rating-metrics/")

    assert response.status_code == 404
    assert response.json() == {
        "type": "client_error",
        "errors": [{"code": "not_found", "detail": "Provider not found.", "attr": None}],
    }


def test_the_replied_count_is_kept_with_the_summary(provider, history):
    october, _, december = history
    assert RatingSummary.objects.get(provider=provider).replied_count == 3

    rating_moderate(rating=october, to_status=RatingStatus.HIDDEN, reason="Spam", moderator=moderator_create())
    rating_delete(rating=december)
    assert RatingSummary.objects.get(provider=provider).replied_count == 1
    # A held rating's reply is not public, and its rating not counted.
    held = _rate_at(utc(2026, 11, 5), provider, 2)
    rating_moderate(rating=held, to_status=RatingStatus.PENDING_REVIEW, moderator=None)
    _reply_at(utc(2026, 11, 6), Rating.objects.get(pk=held.pk))
    assert RatingSummary.objects.get(provider=provider).replied_count == 1

    out = StringIO()
    call_command("recompute_rating_summaries", "--check", stdout=out)
    assert out.getvalue().splitlines() == ["0 drifted summaries found."]


def test_the_repair_command_rebuilds_the_months(provider, history):
    RatingMonth.objects.filter(provider=provider, month=datetime.date(2026, 11, 1)).update(count=5, sum=9)
    RatingMonth.objects.filter(provider=provider, month=datetime.date(2026, 12, 1)).delete()

    out = StringIO()
    call_command("recompute_rating_summaries", stdout=out)

    assert out.getvalue().splitlines() == [
        f"drift provider={provider.pk} months[2026-11]: (5, 9)→(2, 6) months[2026-12]: (0, 0)→(1, 3)",
        "1 drifted summaries fixed.",
    ]
    rows = RatingMonth.objects.filter(provider=provider).values_list("month", "count", "sum")
    assert sorted(rows) == [
        (datetime.date(2026, 10, 1), 1, 5),
        (datetime.date(2026, 11, 1), 2, 6),
        (datetime.date(2026, 12, 1), 1, 3),
    ]


@pytest.mark.postgres
def test_the_median_is_an_index_only_scan_and_the_months_an_index_read(provider, history):
    answered = Rating.objects.filter(provider=provider, status=RatingStatus.PUBLISHED, first_reply_delay__isnull=False)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        median_plan = answered.order_by("first_reply_delay").values("first_reply_delay")[1:3].explain()
        months_plan = RatingMonth.objects.filter(provider=provider, month__gte=datetime.date(2026, 1, 1)).explain()

    assert "Index Only Scan using ratings_reply_delay_idx" in median_plan
    assert "Sort" not in median_plan
    assert "ratings_month_provider_month_uniq" in months_plan
