"""Every change of a rating's score, comment or status keeps the rating as it was; the API says it was edited."""

import pytest

from apps.ratings.models import Rating, RatingRevision, RatingStatus
from apps.ratings.services import rating_create, rating_moderate
from tests.factories import moderator_create

pytestmark = pytest.mark.django_db


def _z(dt) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def url(rating) -> str:
    return f"/api/v1/ratings/{rating.pk}/"


@pytest.fixture
def rating(customer, provider):
    return rating_create(customer=customer, provider=provider, score=4, comment="Fine")


def _history(rating) -> list[tuple]:
    return list(
        RatingRevision.objects.filter(rating=rating)
        .order_by("created_at", "id")
        .values_list("kind", "score", "comment", "status", "changed_by")
    )


def test_an_edit_keeps_the_previous_version_and_marks_the_rating_edited(rating, customer, customer_client, api_client):
    response = customer_client.patch(url(rating), {"score": 2, "comment": "Worse than I thought"}, format="json")

    assert response.status_code == 200
    stored = Rating.objects.get(pk=rating.pk)
    assert stored.edited_at is not None
    assert response.json()["edited"] is True
    assert response.json()["edited_at"] == _z(stored.edited_at)
    assert _history(rating) == [("edit", 4, "Fine", "published", customer.user.pk)]
    public = api_client.get(url(rating)).json()
    assert (public["edited"], public["edited_at"], public["score"]) == (True, _z(stored.edited_at), 2)


def test_each_edit_is_one_revision(rating, customer, customer_client):
    customer_client.patch(url(rating), {"score": 3}, format="json")
    customer_client.patch(url(rating), {"comment": "Second thoughts"}, format="json")

    assert _history(rating) == [
        ("edit", 4, "Fine", "published", customer.user.pk),
        ("edit", 3, "Fine", "published", customer.user.pk),
    ]


def test_an_edit_that_changes_nothing_or_is_rejected_keeps_no_revision(rating, customer_client):
    assert customer_client.patch(url(rating), {"score": 4, "comment": "Fine"}, format="json").status_code == 200
    assert customer_client.patch(url(rating), {"score": 9}, format="json").status_code == 400

    assert _history(rating) == []
    assert Rating.objects.get(pk=rating.pk).edited_at is None


def test_moderation_keeps_the_status_it_changed_and_the_moderator(rating):
    moderator = moderator_create()

    rating_moderate(rating=rating, to_status=RatingStatus.HIDDEN, reason="Abusive", moderator=moderator)
    rating_moderate(rating=rating, to_status=RatingStatus.PUBLISHED, reason="", moderator=moderator)

    assert _history(rating) == [
        ("moderation", 4, "Fine", "published", moderator.pk),
        ("moderation", 4, "Fine", "hidden", moderator.pk),
    ]
    # Moderation is not the author's edit.
    assert Rating.objects.get(pk=rating.pk).edited_at is None


def test_an_edit_into_held_content_is_an_edit_then_an_automatic_hold(rating, customer, customer_client):
    response = customer_client.patch(url(rating), {"comment": "Call me on 0123 456 789"}, format="json")

    assert response.json()["status"] == "pending_review"
    assert _history(rating) == [
        ("edit", 4, "Fine", "published", customer.user.pk),
        ("moderation", 4, "Call me on 0123 456 789", "published", None),
    ]


def test_a_failed_write_rolls_its_revision_back(rating, customer, monkeypatch):
    from apps.ratings.services import ratings as services

    def fail(**kwargs):
        raise RuntimeError("summary down")

    monkeypatch.setattr(services, "_summary_apply", fail)
    with pytest.raises(RuntimeError):
        services.rating_update(rating=rating, score=1, editor=customer.user)

    assert _history(rating) == []
    assert Rating.objects.get(pk=rating.pk).score == 4


def test_an_invalid_change_through_the_service_keeps_no_revision(rating, customer):
    from django.db import IntegrityError

    from apps.ratings.services import rating_update

    # The database's length constraint refuses it after the revision was written: both roll back.
    with pytest.raises(IntegrityError):
        rating_update(rating=rating, comment="x" * 2001, editor=customer.user)

    assert _history(rating) == []
    assert Rating.objects.get(pk=rating.pk).comment == "Fine"
