import pytest
from django.contrib.auth.models import Group
from django.test import Client

from apps.ratings.models import ModerationDecision, Rating
from apps.ratings.services import rating_create, report_create, report_resolve
from apps.ratings.tests.conftest import summary_of
from tests.factories import CustomerFactory, UserFactory, moderator_create

pytestmark = pytest.mark.django_db

QUEUE = "/admin/ratings/rating/"


@pytest.fixture
def moderator_client():
    client = Client()
    client.force_login(moderator_create())
    return client


@pytest.fixture
def reported(customer, provider):
    rating = rating_create(customer=customer, provider=provider, score=1, comment="Terrible people")
    report_create(rating=rating, reporter=UserFactory(), reason="offensive")
    return rating


def test_moderators_group_has_only_moderation_permissions():
    codenames = set(Group.objects.get(name="moderators").permissions.values_list("codename", flat=True))

    assert codenames == {
        "view_rating",
        "change_rating",
        "view_ratingreport",
        "change_ratingreport",
        "view_moderationdecision",
        "view_ratingreply",
        "change_ratingreply",
        "view_ratingrevision",
        "view_ratinginvitation",
        "view_ratingsummary",
        "view_notification",
        "view_delivery",
        "change_delivery",
        # The per-attempt log of a delivery (names the provider used), read-only.
        "view_deliveryattempt",
        "view_outboxevent",
    }


def test_queue_filters_search_and_ordering(moderator_client, reported, provider):
    rating_create(customer=CustomerFactory(), provider=provider, score=5, comment="Lovely")

    reported_only = moderator_client.get(QUEUE, {"reported": "yes"})
    searched = moderator_client.get(QUEUE, {"q": "Lovely"})
    ordered = moderator_client.get(QUEUE, {"o": "-3"})

    assert reported_only.status_code == 200
    assert [r.pk for r in reported_only.context["cl"].result_list] == [reported.pk]
    assert [r.comment for r in searched.context["cl"].result_list] == ["Lovely"]
    assert [r.open_report_count for r in ordered.context["cl"].result_list] == [1, 0]
    for params in ({"status__exact": "hidden"}, {"verified__exact": "1"}, {"score": "1"}):
        assert moderator_client.get(QUEUE, params).status_code == 200


def test_hide_action_asks_for_a_reason_then_goes_through_the_service(moderator_client, reported, provider):
    data = {"action": "hide_selected", "_selected_action": [str(reported.pk)]}

    page = moderator_client.post(QUEUE, data)

    assert page.status_code == 200
    assert b'name="reason"' in page.content
    assert Rating.objects.get().status == "published"

    done = moderator_client.post(QUEUE, {**data, "apply": "1", "reason": "Insults the provider"})

    assert done.status_code == 302
    reported.refresh_from_db()
    assert (reported.status, reported.moderation_reason) == ("hidden", "Insults the provider")
    assert reported.reports.get().status == "upheld"
    assert summary_of(provider)["count"] == 0
    decision = ModerationDecision.objects.get()
    assert (decision.from_status, decision.to_status, decision.reason) == (
        "published",
        "hidden",
        "Insults the provider",
    )

    moderator_client.post(
        QUEUE, {"action": "publish_selected", "_selected_action": [str(reported.pk)], "apply": "1", "reason": "Ok"}
    )
    reported.refresh_from_db()
    assert reported.status == "published"
    assert summary_of(provider)["count"] == 1


def test_dismiss_reports_keeps_the_rating(moderator_client, reported):
    moderator_client.post(QUEUE, {"action": "dismiss_open_reports", "_selected_action": [str(reported.pk)]})

    reported.refresh_from_db()
    assert reported.status == "published"
    assert reported.reports.get().status == "dismissed"


def test_change_form_cannot_write_status_score_or_comment(moderator_client, reported):
    page = moderator_client.get(f"{QUEUE}{reported.pk}/change/")
    assert page.status_code == 200
    assert page.context["adminform"].form.fields == {}

    moderator_client.post(
        f"{QUEUE}{reported.pk}/change/",
        {"status": "hidden", "score": "5", "comment": "edited", "reports-TOTAL_FORMS": "0"},
    )

    reported.refresh_from_db()
    assert (reported.status, reported.score, reported.comment) == ("published", 1, "Terrible people")


def test_history_and_reports_pages_are_read_only_for_moderators(moderator_client, reported):
    assert moderator_client.get("/admin/ratings/moderationdecision/").status_code == 200
    assert moderator_client.get("/admin/ratings/ratingreport/?reporter_record=mostly_dismissed").status_code == 200
    assert moderator_client.get("/admin/ratings/moderationdecision/add/").status_code == 403


def test_reporter_track_record_is_visible(moderator_client, provider):
    moderator = UserFactory(is_staff=True)
    serial = UserFactory(email="serial@example.com")

    for _ in range(2):
        rating = rating_create(customer=CustomerFactory(), provider=provider, score=4)
        report_resolve(
            report=report_create(rating=rating, reporter=serial, reason="fake"), upheld=False, moderator=moderator
        )
    fresh = rating_create(customer=CustomerFactory(), provider=provider, score=4)
    report_create(rating=fresh, reporter=serial, reason="fake")
    report_create(rating=fresh, reporter=UserFactory(), reason="spam")

    page = moderator_client.get("/admin/ratings/ratingreport/", {"reporter_record": "mostly_dismissed"})

    rows = page.context["cl"].result_list
    assert {r.reporter.email for r in rows} == {"serial@example.com"}
    assert {(r.reporter_upheld_count, r.reporter_dismissed_count) for r in rows} == {(0, 2)}


def test_moderator_cannot_edit_users(moderator_client, customer):
    assert moderator_client.get(f"/admin/accounts/user/{customer.user.pk}/change/").status_code == 403
    assert (
        moderator_client.post(f"/admin/accounts/user/{customer.user.pk}/change/", {"email": "x@y.z"}).status_code == 403
    )
    assert moderator_client.get("/admin/partners/partnerkey/").status_code == 403
    assert moderator_client.get("/admin/partners/partner/").status_code == 403


def test_customer_cannot_reach_the_admin(customer):
    client = Client()
    client.force_login(customer.user)

    response = client.get(QUEUE)

    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")
