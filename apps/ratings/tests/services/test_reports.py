import pytest

from apps.ratings.models import ModerationDecision, ReportStatus
from apps.ratings.services import (
    AlreadyReported,
    CannotReportOwnRating,
    ReportAlreadyResolved,
    rating_create,
    rating_moderate,
    report_create,
    report_resolve,
)
from apps.ratings.tests.conftest import base_event, summary_of, without_time
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rating(customer, provider):
    return rating_create(customer=customer, provider=provider, score=5, comment="Best ever")


def test_report_leaves_the_rating_visible(rating, provider):
    report = report_create(rating=rating, reporter=UserFactory(), reason="fake", details="Never hired them")

    rating.refresh_from_db()
    assert (report.status, rating.status) == ("open", "published")
    assert summary_of(provider)["count"] == 1


def test_author_cannot_report_and_nobody_reports_twice(rating, customer):
    reporter = UserFactory()
    report_create(rating=rating, reporter=reporter, reason="spam")

    with pytest.raises(AlreadyReported):
        report_create(rating=rating, reporter=reporter, reason="other")
    with pytest.raises(CannotReportOwnRating):
        report_create(rating=rating, reporter=customer.user, reason="other")
    assert rating.reports.count() == 1


def test_uphold_hides_the_rating_and_upholds_every_open_report(rating, provider, events):
    moderator = UserFactory(is_staff=True)
    first = report_create(rating=rating, reporter=UserFactory(), reason="offensive")
    second = report_create(rating=rating, reporter=UserFactory(), reason="spam")
    events.clear()

    report = report_resolve(report=first, upheld=True, moderator=moderator)

    rating.refresh_from_db()
    second.refresh_from_db()
    assert (report.status, report.resolved_by, second.status) == ("upheld", moderator, "upheld")
    assert (rating.status, rating.moderation_reason) == ("hidden", "Report upheld: Offensive")
    assert summary_of(provider) == {"count": 0, "sum": 0, "stars": [0, 0, 0, 0, 0], "verified_count": 0}
    assert [(n, without_time(e)) for n, e in events] == [
        (
            "rating_moderated",
            base_event(
                rating,
                previous_status="published",
                reason="Report upheld: Offensive",
                moderator_id=str(moderator.pk),
                first_publication=False,
                summary={"count": 0, "sum": 0},
            ),
        )
    ]
    with pytest.raises(ReportAlreadyResolved):
        report_resolve(report=second, upheld=False, moderator=moderator)


def test_dismiss_keeps_the_rating(rating, provider, events):
    moderator = UserFactory(is_staff=True)
    report = report_create(rating=rating, reporter=UserFactory(), reason="fake")
    events.clear()

    report = report_resolve(report=report, upheld=False, moderator=moderator)

    rating.refresh_from_db()
    assert (report.status, rating.status) == (ReportStatus.DISMISSED, "published")
    assert summary_of(provider) == {"count": 1, "sum": 5, "stars": [0, 0, 0, 0, 1], "verified_count": 0}
    assert events == []
    assert not ModerationDecision.objects.exists()


def test_upholding_a_report_on_an_already_hidden_rating_only_closes_it(rating):
    moderator = UserFactory(is_staff=True)
    rating_moderate(rating=rating, to_status="hidden", reason="Rude", moderator=moderator)
    report = report_create(rating=rating, reporter=UserFactory(), reason="spam")

    report = report_resolve(report=report, upheld=True, moderator=moderator)

    assert report.status == "upheld"
    assert ModerationDecision.objects.count() == 1
