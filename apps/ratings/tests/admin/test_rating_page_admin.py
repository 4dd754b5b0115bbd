"""One rating's admin page (Publish / Hide buttons), readable titles and the moderation queue."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.core.models import OutboxEvent
from apps.ratings.admin import REASON_REQUIRED
from apps.ratings.models import ModerationDecision, Rating, RatingStatus
from apps.ratings.services import rating_create, rating_moderate, reply_set, report_create
from apps.ratings.tests.conftest import summary_of
from tests.factories import CustomerFactory, ProviderFactory, UserFactory, moderator_create

pytestmark = pytest.mark.django_db

QUEUE = "/admin/ratings/rating/"


@pytest.fixture
def carol():
    return CustomerFactory(user__name="Carol", user__email="carol@example.com")


@pytest.fixture
def pipes():
    return ProviderFactory(name="Pipe Dreams Plumbing")


@pytest.fixture
def rating(carol, pipes):
    return rating_create(customer=carol, provider=pipes, score=2, comment="Left a puddle")


@pytest.fixture
def moderator():
    return moderator_create(email="mod@example.com")


@pytest.fixture
def moderator_client(moderator):
    client = Client()
    client.force_login(moderator)
    return client


def _moderate_url(rating) -> str:
    return f"{QUEUE}{rating.pk}/moderate/"


def _state(rating) -> tuple:
    rating = Rating.objects.get(pk=rating.pk)
    return rating.status, rating.moderation_reason, ModerationDecision.objects.count(), OutboxEvent.objects.count()


def _messages(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


def test_the_title_names_stars_customer_and_provider(rating):
    assert str(rating) == "★★ by Carol for Pipe Dreams Plumbing"
    report = report_create(rating=rating, reporter=UserFactory(), reason="offensive")
    assert str(report) == "Offensive report on ★★ by Carol for Pipe Dreams Plumbing"
    assert str(reply_set(rating=rating, body="Sorry")) == ("Reply to ★★ by Carol for Pipe Dreams Plumbing")


def test_the_rating_page_shows_its_title_and_decision_buttons_but_no_save_button(moderator_client, rating):
    page = moderator_client.get(f"{QUEUE}{rating.pk}/change/")

    html = page.content.decode()
    assert page.status_code == 200
    assert '<div class="breadcrumbs">' in html
    assert html.count("★★ by Carol for Pipe Dreams Plumbing") >= 2  # breadcrumbs and heading
    assert f'action="{_moderate_url(rating)}"' in html
    assert 'name="to_status" value="hidden"' in html
    # Already published: there is nothing to publish.
    assert 'name="to_status" value="published"' not in html
    assert 'name="_save"' not in html and 'name="_continue"' not in html
    assert "closelink" in html


def test_hide_with_a_reason_goes_through_the_service_and_tells_the_author(moderator_client, moderator, rating, carol):
    report_create(rating=rating, reporter=UserFactory(), reason="offensive")
    OutboxEvent.objects.all().delete()

    response = moderator_client.post(
        _moderate_url(rating) + "?_changelist_filters=queue%3Dwaiting",
        {"to_status": "hidden", "reason": "Insults the provider"},
    )

    assert response.status_code == 302
    assert response["Location"] == f"{QUEUE}?queue=waiting"
    assert _messages(response) == [
        "★★ by Carol for Pipe Dreams Plumbing was hidden; its author and the provider are told."
    ]
    rating.refresh_from_db()
    assert (rating.status, rating.moderation_reason) == ("hidden", "Insults the provider")
    assert rating.reports.get().status == "upheld"
    assert summary_of(rating.provider)["count"] == 0
    decision = ModerationDecision.objects.get()
    assert (decision.moderator, decision.from_status, decision.to_status, decision.reason) == (
        moderator,
        "published",
        "hidden",
        "Insults the provider",
    )
    # The one event of the decision names the author and the reason (the notifications intake
    # tells both parties).
    (event,) = OutboxEvent.objects.filter(type="rating.moderated")
    assert (event.data["customer_user_id"], event.data["status"], event.data["reason"]) == (
        str(carol.user_id),
        "hidden",
        "Insults the provider",
    )


def test_publish_a_held_rating_from_its_page(moderator_client, carol, pipes):
    held = rating_create(customer=carol, provider=pipes, score=4, comment="Call me on 0123 456 789")
    assert held.status == RatingStatus.PENDING_REVIEW

    page = moderator_client.get(f"{QUEUE}{held.pk}/change/").content.decode()
    assert 'name="to_status" value="published"' in page and 'name="to_status" value="hidden"' in page
    response = moderator_client.post(_moderate_url(held), {"to_status": "published", "reason": ""})

    assert response.status_code == 302
    held.refresh_from_db()
    assert (held.status, held.moderation_reason) == ("published", "")
    assert summary_of(pipes)["count"] == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"to_status": "hidden", "reason": "   "}, REASON_REQUIRED),
        ({"to_status": "hidden"}, REASON_REQUIRED),
        (
            {"to_status": "pending_review", "reason": "x"},
            "Select a valid choice. pending_review is not one of the available choices.",
        ),
        ({"to_status": "hidden", "reason": "x" * 501}, "Ensure this value has at most 500 characters (it has 501)."),
        ({}, "This field is required."),
    ],
)
def test_bad_decisions_change_nothing(moderator_client, rating, data, message):
    before = _state(rating)

    response = moderator_client.post(_moderate_url(rating), data)

    assert response.status_code == 302
    assert response["Location"] == f"{QUEUE}{rating.pk}/change/"
    assert _messages(response) == [message]
    assert _state(rating) == before


def test_a_decision_already_taken_is_a_warning_not_a_second_decision(moderator_client, rating):
    before = _state(rating)

    response = moderator_client.post(_moderate_url(rating), {"to_status": "published"})

    assert response.status_code == 302
    assert _messages(response) == ["★★ by Carol for Pipe Dreams Plumbing: The rating already has this status."]
    assert _state(rating) == before


def test_moderate_is_post_only_csrf_checked_and_needs_the_change_permission(moderator, rating):
    before = _state(rating)
    client = Client(enforce_csrf_checks=True)
    client.force_login(moderator)
    assert client.get(_moderate_url(rating)).status_code == 405
    assert client.post(_moderate_url(rating), {"to_status": "hidden", "reason": "x"}).status_code == 403

    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_rating"))
    viewer_client = Client()
    viewer_client.force_login(viewer)
    page = viewer_client.get(f"{QUEUE}{rating.pk}/change/").content.decode()
    assert "moderation-form" not in page and 'name="_save"' not in page
    assert viewer_client.post(_moderate_url(rating), {"to_status": "hidden", "reason": "x"}).status_code == 403

    anonymous = Client().post(_moderate_url(rating), {"to_status": "hidden", "reason": "x"})
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/admin/login/")
    assert _state(rating) == before


def test_an_unknown_rating_is_a_message_not_an_error(moderator_client):
    response = moderator_client.post(
        f"{QUEUE}00000000-0000-0000-0000-000000000000/moderate/", {"to_status": "hidden", "reason": "x"}
    )

    assert response.status_code == 302
    assert ModerationDecision.objects.count() == 0


def test_a_save_post_to_a_read_only_page_is_refused(moderator_client, rating):
    updated_at = rating.updated_at
    report = report_create(rating=rating, reporter=UserFactory(), reason="spam")

    assert moderator_client.post(f"{QUEUE}{rating.pk}/change/", {"_save": "Save"}).status_code == 403
    report_page = moderator_client.get(f"/admin/ratings/ratingreport/{report.pk}/change/")
    assert report_page.status_code == 200
    assert 'name="_save"' not in report_page.content.decode()
    assert moderator_client.post(f"/admin/ratings/ratingreport/{report.pk}/change/", {}).status_code == 403
    rating.refresh_from_db()
    assert rating.updated_at == updated_at


def test_the_queue_holds_held_and_reported_ratings_most_reported_then_oldest(moderator_client, pipes):
    now = timezone.now()
    clean = rating_create(customer=CustomerFactory(), provider=pipes, score=5, comment="Great")
    held = rating_create(customer=CustomerFactory(), provider=pipes, score=3, comment="See https://example.com")
    once = rating_create(customer=CustomerFactory(), provider=pipes, score=1, comment="Bad")
    twice = rating_create(customer=CustomerFactory(), provider=pipes, score=1, comment="Worse")
    report_create(rating=once, reporter=UserFactory(), reason="spam")
    for _ in range(2):
        report_create(rating=twice, reporter=UserFactory(), reason="offensive")
    ages = {clean: 1, held: 4, once: 2, twice: 3}  # days old
    for r, days in ages.items():
        Rating.objects.filter(pk=r.pk).update(created_at=now - timedelta(days=days))

    page = moderator_client.get(QUEUE, {"queue": "waiting"})

    rows = page.context["cl"].result_list
    assert [r.pk for r in rows] == [twice.pk, once.pk, held.pk]
    assert held.moderation_reason.startswith("Automatic hold: ")
    assert f'<td class="field-hold_reason">{held.moderation_reason}</td>' in page.content.decode()
    # Off the queue, the list keeps its newest-first order.
    everything = moderator_client.get(QUEUE).context["cl"].result_list
    assert [r.pk for r in everything] == [clean.pk, once.pk, twice.pk, held.pk]


def _rating_by_a_new_customer(provider, n: int, comment: str = ""):
    return rating_create(
        customer=CustomerFactory(user__name=f"Customer {n}"), provider=provider, score=1 + n % 5, comment=comment
    )


@pytest.mark.parametrize(
    "url",
    [
        QUEUE,
        f"{QUEUE}?queue=waiting",
        "/admin/ratings/ratingreport/",
        "/admin/ratings/moderationdecision/",
        "/admin/ratings/ratingreply/",
    ],
)
def test_lists_show_titles_with_the_same_queries_for_one_row_or_many(
    moderator_client, pipes, url, django_assert_num_queries
):
    def add_rows(start: int, count: int) -> None:
        # Held by the link rule (an automatic decision), reported and replied to: a row in every list.
        for n in range(start, start + count):
            rating = _rating_by_a_new_customer(pipes, n, comment=f"see https://example.com/{n}")
            report_create(rating=rating, reporter=UserFactory(), reason="spam")
            reply_set(rating=rating, body=f"Reply {n}")

    add_rows(0, 1)
    moderator_client.get(url)  # warm the session and content-type caches
    with CaptureQueriesContext(connection) as one:
        first = moderator_client.get(url)
    add_rows(1, 4)
    with django_assert_num_queries(len(one.captured_queries)):
        many = moderator_client.get(url)

    assert "Customer 0 for Pipe Dreams Plumbing" in first.content.decode()
    assert all(f"Customer {n} for Pipe Dreams Plumbing" in many.content.decode() for n in range(5))


def test_the_rating_page_costs_the_same_queries_with_many_reports(moderator_client, pipes, django_assert_num_queries):
    rating = _rating_by_a_new_customer(pipes, 0)
    reply_set(rating=rating, body="We came back and fixed it")
    report_create(rating=rating, reporter=UserFactory(), reason="spam")
    url = f"{QUEUE}{rating.pk}/change/"
    moderator_client.get(url)
    with CaptureQueriesContext(connection) as one:
        moderator_client.get(url)
    for _ in range(4):
        report_create(rating=rating, reporter=UserFactory(), reason="offensive")
    with django_assert_num_queries(len(one.captured_queries)):
        page = moderator_client.get(url)

    html = page.content.decode()
    assert "We came back and fixed it" in html
    assert html.count("Offensive report on ") == 4


@pytest.mark.parametrize(
    "url", ["/admin/ratings/ratingreport/", "/admin/ratings/moderationdecision/", "/admin/ratings/ratingreply/"]
)
def test_reports_decisions_and_replies_link_their_rating_by_title(moderator_client, rating, moderator, url):
    report_create(rating=rating, reporter=UserFactory(), reason="spam")
    reply_set(rating=rating, body="Sorry about the puddle")
    rating_moderate(rating=rating, to_status="hidden", reason="Rude", moderator=moderator)

    html = moderator_client.get(url).content.decode()

    assert f'<a href="{QUEUE}{rating.pk}/change/">★★ by Carol for Pipe Dreams Plumbing</a>' in html
