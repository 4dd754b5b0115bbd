import pytest

from apps.ratings.models import ModerationDecision, RatingStatus
from apps.ratings.services import (
    ReasonRequired,
    StatusUnchanged,
    rating_create,
    rating_delete,
    rating_moderate,
    rating_update,
)
from apps.ratings.tests.conftest import base_event, summary_of, without_time
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

EMPTY = {"count": 0, "sum": 0, "stars": [0, 0, 0, 0, 0], "verified_count": 0}


def test_clean_rating_is_published_and_counted(customer, provider, events):
    rating = rating_create(customer=customer, provider=provider, score=4, comment="Great work.")

    assert rating.status == RatingStatus.PUBLISHED
    assert rating.first_published_at is not None
    assert summary_of(provider) == {"count": 1, "sum": 4, "stars": [0, 0, 0, 1, 0], "verified_count": 0}
    assert [(name, without_time(e)) for name, e in events] == [
        ("rating_created", base_event(rating, summary={"count": 1, "sum": 4}))
    ]
    assert not ModerationDecision.objects.exists()


@pytest.mark.parametrize(
    ("comment", "reason"),
    [
        ("See https://cheap.example.com now", "Automatic hold: contains a link"),
        ("Visit www.spam.example", "Automatic hold: contains a link"),
        ("Book at bestplumber.com", "Automatic hold: contains a link"),
        ("Write to me at bob@example.org", "Automatic hold: contains an e-mail address"),
        ("Call +44 20 7946 0958 instead", "Automatic hold: contains a phone number"),
        ("Call 555-123-4567", "Automatic hold: contains a phone number"),
    ],
)
def test_comment_tripping_a_rule_is_held_for_review(customer, provider, events, comment, reason):
    rating = rating_create(customer=customer, provider=provider, score=2, comment=comment)

    assert rating.status == RatingStatus.PENDING_REVIEW
    assert rating.moderation_reason == reason
    assert rating.first_published_at is None
    assert summary_of(provider) == EMPTY
    assert [(name, without_time(e)) for name, e in events] == [
        ("rating_created", base_event(rating, summary={"count": 0, "sum": 0}))
    ]
    assert events[0][1]["status"] == "pending_review"
    decision = ModerationDecision.objects.get()
    assert (decision.moderator, decision.from_status, decision.to_status, decision.reason) == (
        None,
        "",
        "pending_review",
        reason,
    )


def test_numbers_that_are_not_phone_numbers_are_not_held(customer, provider):
    rating = rating_create(customer=customer, provider=provider, score=5, comment="10/10, 5 stars, paid 120 in 2026")

    assert rating.status == RatingStatus.PUBLISHED


def test_word_list_holds_whole_words_case_insensitively(settings, customer, provider):
    settings.RATING_HOLD_WORDS = ["scam", "idiot"]

    held = rating_create(customer=customer, provider=provider, score=1, comment="A total SCAM.")
    clean = rating_create(customer=CustomerFactory(), provider=provider, score=3, comment="Scampi was fine.")

    assert (held.status, held.moderation_reason) == ("pending_review", "Automatic hold: contains a held word")
    assert clean.status == "published"


def test_rules_can_be_switched_off(settings, customer, provider):
    settings.RATING_HOLD_LINKS = settings.RATING_HOLD_EMAILS = settings.RATING_HOLD_PHONES = False

    rating = rating_create(customer=customer, provider=provider, score=5, comment="https://x.example a@b.example")

    assert rating.status == RatingStatus.PUBLISHED


def test_published_to_hidden_and_back(customer, provider, events):
    moderator = UserFactory(is_staff=True)
    rating = rating_create(customer=customer, provider=provider, score=5, comment="Nice")
    events.clear()

    rating_moderate(rating=rating, to_status="hidden", reason="Abusive", moderator=moderator)

    rating.refresh_from_db()
    assert (rating.status, rating.moderation_reason) == ("hidden", "Abusive")
    assert summary_of(provider) == EMPTY
    assert [(name, without_time(e)) for name, e in events] == [
        (
            "rating_moderated",
            base_event(
                rating,
                previous_status="published",
                reason="Abusive",
                moderator_id=str(moderator.pk),
                first_publication=False,
                summary={"count": 0, "sum": 0},
            ),
        )
    ]
    events.clear()

    rating_moderate(rating=rating, to_status="published", reason="Appeal accepted", moderator=moderator)

    rating.refresh_from_db()
    assert (rating.status, rating.moderation_reason) == ("published", "")
    assert summary_of(provider) == {"count": 1, "sum": 5, "stars": [0, 0, 0, 0, 1], "verified_count": 0}
    assert [(name, without_time(e)) for name, e in events] == [
        (
            "rating_moderated",
            base_event(
                rating,
                previous_status="hidden",
                reason="Appeal accepted",
                moderator_id=str(moderator.pk),
                first_publication=False,
                summary={"count": 1, "sum": 5},
            ),
        )
    ]
    history = list(
        ModerationDecision.objects.order_by("created_at").values_list("moderator", "from_status", "to_status", "reason")
    )
    assert history == [
        (moderator.pk, "published", "hidden", "Abusive"),
        (moderator.pk, "hidden", "published", "Appeal accepted"),
    ]


def test_release_from_hold_is_a_first_publication(customer, provider, events):
    moderator = UserFactory(is_staff=True)
    rating = rating_create(customer=customer, provider=provider, score=3, comment="mail me: a@b.example")
    events.clear()

    rating_moderate(rating=rating, to_status="published", reason="", moderator=moderator)

    rating.refresh_from_db()
    assert rating.first_published_at is not None
    assert summary_of(provider) == {"count": 1, "sum": 3, "stars": [0, 0, 1, 0, 0], "verified_count": 0}
    assert [(name, without_time(e)) for name, e in events] == [
        (
            "rating_moderated",
            base_event(
                rating,
                previous_status="pending_review",
                reason="",
                moderator_id=str(moderator.pk),
                first_publication=True,
                summary={"count": 1, "sum": 3},
            ),
        )
    ]


def test_pending_to_hidden_leaves_summary_alone(customer, provider, events):
    moderator = UserFactory(is_staff=True)
    rating = rating_create(customer=customer, provider=provider, score=1, comment="www.spam.example")
    events.clear()

    rating_moderate(rating=rating, to_status="hidden", reason="Spam", moderator=moderator)

    rating.refresh_from_db()
    assert rating.status == "hidden"
    assert summary_of(provider) == EMPTY
    assert events[0][1]["previous_status"] == "pending_review"
    assert events[0][1]["first_publication"] is False
    # Published later: still the first time it is public.
    events.clear()
    rating_moderate(rating=rating, to_status="published", moderator=moderator)
    assert events[0][1]["first_publication"] is True
    assert summary_of(provider)["count"] == 1


def test_no_op_transition_and_hiding_without_reason_are_refused(customer, provider, events):
    moderator = UserFactory(is_staff=True)
    rating = rating_create(customer=customer, provider=provider, score=4)
    events.clear()

    with pytest.raises(StatusUnchanged):
        rating_moderate(rating=rating, to_status="published", moderator=moderator)
    with pytest.raises(ReasonRequired):
        rating_moderate(rating=rating, to_status="hidden", reason="  ", moderator=moderator)

    rating.refresh_from_db()
    assert rating.status == "published"
    assert events == []
    assert not ModerationDecision.objects.exists()
    assert summary_of(provider)["count"] == 1


def test_editing_a_hidden_rating_does_not_touch_the_summary(customer, provider):
    moderator = UserFactory(is_staff=True)
    rating = rating_create(customer=customer, provider=provider, score=2)
    rating_moderate(rating=rating, to_status="hidden", reason="Rude", moderator=moderator)

    rating_update(rating=rating, score=5, comment="Sorry, it was fine")

    rating.refresh_from_db()
    assert (rating.status, rating.score) == ("hidden", 5)
    assert summary_of(provider) == EMPTY
    # Publishing counts the current score.
    rating_moderate(rating=rating, to_status="published", moderator=moderator)
    assert summary_of(provider) == {"count": 1, "sum": 5, "stars": [0, 0, 0, 0, 1], "verified_count": 0}


def test_editing_a_published_comment_into_a_link_holds_it_again(customer, provider, events):
    rating = rating_create(customer=customer, provider=provider, score=4, comment="Good")
    events.clear()

    rating = rating_update(rating=rating, score=2, comment="Better deals at http://other.example")

    assert rating.status == "pending_review"
    assert summary_of(provider) == EMPTY
    assert [name for name, _ in events] == ["rating_updated", "rating_moderated"]
    assert without_time(events[1][1]) == base_event(
        rating,
        previous_status="published",
        reason="Automatic hold: contains a link",
        moderator_id=None,
        first_publication=False,
        summary={"count": 0, "sum": 0},
    )


def test_deleting_a_held_rating_does_not_touch_the_summary(customer, provider):
    rating = rating_create(customer=customer, provider=provider, score=4, comment="call 0123 456 789")

    rating_delete(rating=rating)

    assert summary_of(provider) == EMPTY
