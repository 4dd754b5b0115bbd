"""The author may change a rating only within RATING_EDIT_WINDOW of its creation; deleting stays allowed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.models import OutboxEvent
from apps.ratings.models import Rating, RatingRevision
from apps.ratings.services import EditWindowClosed, rating_create, rating_edit_window_check, rating_update
from apps.ratings.tests.conftest import summary_of

pytestmark = pytest.mark.django_db


def url(rating) -> str:
    return f"/api/v1/ratings/{rating.pk}/"


@pytest.fixture
def rating(customer, provider):
    return rating_create(customer=customer, provider=provider, score=4, comment="Fine")


def _age(rating, age: timedelta) -> None:
    # Moving the creation back instead of the clock: the window is measured against created_at.
    Rating.objects.filter(pk=rating.pk).update(created_at=timezone.now() - age)
    rating.refresh_from_db()


def test_an_edit_inside_the_window_is_accepted(settings, rating, customer_client):
    settings.RATING_EDIT_WINDOW = timedelta(days=30)
    _age(rating, timedelta(days=29, hours=23))

    response = customer_client.patch(url(rating), {"score": 2}, format="json")

    assert response.status_code == 200
    assert response.json()["score"] == 2


def test_an_edit_after_the_window_is_403_and_changes_nothing(settings, rating, customer_client, provider, events):
    settings.RATING_EDIT_WINDOW = timedelta(days=30)
    _age(rating, timedelta(days=30, seconds=1))
    before = summary_of(provider)
    outbox_before = OutboxEvent.objects.count()
    events.clear()

    response = customer_client.patch(url(rating), {"score": 1, "comment": "Changed my mind"}, format="json")

    assert response.status_code == 403
    assert response.json() == {
        "type": "client_error",
        "errors": [
            {
                "code": "edit_window_closed",
                "detail": "This rating can no longer be changed: the edit window has closed.",
                "attr": None,
            }
        ],
    }
    stored = Rating.objects.get(pk=rating.pk)
    assert (stored.score, stored.comment, stored.edited_at, stored.updated_at) == (
        4,
        "Fine",
        None,
        rating.updated_at,
    )
    assert summary_of(provider) == before
    assert RatingRevision.objects.count() == 0
    assert events == []
    assert OutboxEvent.objects.count() == outbox_before


def test_the_window_follows_the_setting(settings, rating, customer_client):
    settings.RATING_EDIT_WINDOW = timedelta(hours=1)
    _age(rating, timedelta(hours=2))

    assert customer_client.patch(url(rating), {"score": 3}, format="json").status_code == 403
    settings.RATING_EDIT_WINDOW = timedelta(hours=3)
    assert customer_client.patch(url(rating), {"score": 3}, format="json").status_code == 200


def test_the_author_may_still_delete_after_the_window(settings, rating, customer_client, provider):
    settings.RATING_EDIT_WINDOW = timedelta(days=30)
    _age(rating, timedelta(days=400))

    response = customer_client.delete(url(rating))

    assert response.status_code == 204
    assert not Rating.objects.filter(pk=rating.pk).exists()
    assert summary_of(provider)["count"] == 0


def test_a_path_exempt_from_the_window_can_skip_the_check(settings, rating, customer):
    settings.RATING_EDIT_WINDOW = timedelta(days=30)
    _age(rating, timedelta(days=31))

    with pytest.raises(EditWindowClosed):
        rating_update(rating=rating, score=5)
    updated = rating_update(rating=rating, score=5, editor=customer.user, enforce_edit_window=False)

    assert Rating.objects.get(pk=rating.pk).score == updated.score == 5


def test_the_check_is_one_function_with_an_explicit_now(settings, rating):
    settings.RATING_EDIT_WINDOW = timedelta(days=30)

    rating_edit_window_check(rating=rating, now=rating.created_at + timedelta(days=30))
    with pytest.raises(EditWindowClosed):
        rating_edit_window_check(rating=rating, now=rating.created_at + timedelta(days=30, microseconds=1))
