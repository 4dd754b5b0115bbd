"""A moderator's morning: sign in, work the queue, hide a rating with a reason; its author is told.

The author has the live inbox page (/inbox/) open in a browser of their own while the moderator
works: the decision appears there without a reload once the notifications worker has made it.
"""

import pytest
from playwright.sync_api import expect

from apps.core.models import OutboxEvent
from apps.notifications.tasks import ingest_events_task
from apps.ratings.models import ModerationDecision, RatingStatus
from apps.ratings.services import rating_create, report_create
from tests.factories import DEFAULT_PASSWORD, CustomerFactory, ProviderFactory, UserFactory, moderator_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "★★ by Carol for Pipe Dreams Plumbing"
REASON = "Names the plumber's family; insults are not a review"


def run_the_notifications_worker() -> int:
    """What the dispatcher and the notifications worker do with the events waiting in the outbox."""
    events = list(OutboxEvent.objects.filter(confirmed_at__isnull=True).order_by("created_at", "id"))
    return ingest_events_task([event.envelope for event in events])


def open_the_live_inbox(browser, live_server, *, email: str):
    """The author's own browser on /inbox/, signed in, its stream connected."""
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    inbox = context.new_page()
    inbox.set_default_timeout(15_000)
    inbox.goto(f"{live_server.url}/inbox/")
    inbox.get_by_label("Email").fill(email)
    inbox.get_by_label("Password").fill(DEFAULT_PASSWORD)
    inbox.get_by_role("button", name="Sign in").click()
    inbox.wait_for_url(f"{live_server.url}/inbox/")
    return inbox


def author_sees_the_decision(page, live_server, *, email: str) -> dict:
    """The author's newest inbox item, as their own client reads it (the inbox API)."""
    token = page.request.post(
        f"{live_server.url}/api/v1/auth/token/", data={"email": email, "password": DEFAULT_PASSWORD}
    ).json()["access"]
    inbox = page.request.get(f"{live_server.url}/api/v1/notifications/", headers={"Authorization": f"Bearer {token}"})
    assert inbox.status == 200
    return inbox.json()["results"][0]


def test_a_moderators_morning(live_server, browser, page, offline, screenshot, csp_violations):
    pipes = ProviderFactory(name="Pipe Dreams Plumbing")
    carol = CustomerFactory(user__name="Carol", user__email="carol@example.com")
    rating_create(customer=CustomerFactory(user__name="Alice"), provider=pipes, score=5, comment="Fixed it fast")
    held = rating_create(
        customer=CustomerFactory(user__name="Bob"), provider=pipes, score=1, comment="Cheaper at https://example.com"
    )
    insult = rating_create(customer=carol, provider=pipes, score=2, comment="The whole family are crooks")
    for reason in ("offensive", "fake"):
        report_create(rating=insult, reporter=UserFactory(), reason=reason)
    moderator_create(email="mod@example.com")
    OutboxEvent.objects.all().delete()  # the arrange step's own events are not this test's subject

    # Carol, the author, watches her live inbox while the moderator works.
    carols_inbox = open_the_live_inbox(browser, live_server, email="carol@example.com")
    items_before = carols_inbox.locator("#items li").count()

    # Sign in.
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "mod@example.com")
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("input[type=submit]")
    page.click("tr.model-rating a[href='/admin/ratings/rating/']")

    # The queue: what waits for a decision, the most reported first, with why it is held.
    page.get_by_role("link", name="Waiting for a decision").click()
    page.wait_for_url("**queue=waiting**")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("th a")).to_have_text(TITLE)
    expect(rows.nth(0).locator("td.field-open_reports")).to_have_text("2")
    expect(rows.nth(1).locator("td.field-hold_reason")).to_have_text(held.moderation_reason)
    screenshot("morning-1-queue")

    # One rating: its reports inline, the decision buttons above.
    rows.nth(0).locator("th a").click()
    expect(page.locator("h2", has_text="Moderation — Published")).to_be_visible()
    expect(page.locator(".breadcrumbs")).to_contain_text(TITLE)
    expect(page.locator("input[name=_save]")).to_have_count(0)
    expect(page.get_by_role("button", name="Publish")).to_have_count(0)
    screenshot("morning-2-rating")

    # Hiding needs a reason: without one nothing happens but a message.
    page.get_by_role("button", name="Hide").click()
    expect(page.locator(".messagelist .error")).to_have_text(
        "Say why the rating is hidden: the author and the provider are told."
    )
    assert ModerationDecision.objects.filter(moderator__email="mod@example.com").count() == 0

    page.fill("#id_moderation_reason", REASON)
    page.get_by_role("button", name="Hide").click()
    page.wait_for_url("**/admin/ratings/rating/?queue=waiting")
    expect(page.locator(".messagelist .success")).to_have_text(
        f"{TITLE} was hidden; its author and the provider are told."
    )
    expect(rows).to_have_count(1)
    screenshot("morning-3-queue-after")

    insult.refresh_from_db()
    assert (insult.status, insult.moderation_reason) == (RatingStatus.HIDDEN, REASON)
    assert set(insult.reports.values_list("status", flat=True)) == {"upheld"}

    # The worker turns the decision into inbox items; the author reads it.
    assert run_the_notifications_worker() >= 2  # the author's and the provider's
    item = author_sees_the_decision(page, live_server, email="carol@example.com")
    assert (item["type"], item["title"], item["body"], item["read_at"]) == (
        "rating.moderated",
        "Your rating of Pipe Dreams Plumbing was hidden",
        f"Reason: {REASON}",
        None,
    )
    assert item["data"]["rating_id"] == str(insult.pk)
    # The same item in Carol's open page, without a reload (the stream; behind this WSGI test
    # server it is EventSource's reconnect every second that brings it).
    newest = carols_inbox.locator("#items li").first
    newest.locator("strong", has_text="Your rating of Pipe Dreams Plumbing was hidden").wait_for(timeout=15_000)
    expect(newest).to_contain_text(f"Reason: {REASON}")
    assert carols_inbox.locator("#items li").count() == items_before + 1
    artifacts = screenshot("morning-4-moderator-done").parent
    carols_inbox.screenshot(path=str(artifacts / "morning-5-author-live-inbox.png"), full_page=True)
    carols_inbox.context.close()
    assert offline.attempted == []
    assert csp_violations == []
