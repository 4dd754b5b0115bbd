import pytest
from playwright.sync_api import expect

from apps.ratings.services import rating_create, report_create
from tests.browser.conftest import ARTIFACTS
from tests.factories import DEFAULT_PASSWORD, CustomerFactory, ProviderFactory, UserFactory, moderator_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_moderator_hides_a_reported_rating_and_the_public_summary_changes(
    live_server, page, screenshot, csp_violations
):
    provider = ProviderFactory(name="Pipe Dreams")
    rating_create(customer=CustomerFactory(), provider=provider, score=5, comment="Fixed the boiler fast")
    reported = rating_create(customer=CustomerFactory(), provider=provider, score=1, comment="Crooks and liars")
    report_create(rating=reported, reporter=UserFactory(), reason="offensive", details="Name-calling")
    moderator = moderator_create(email="mod@example.com")
    assert not moderator.is_superuser
    summary_url = f"{live_server.url}/api/v1/providers/{provider.pk}/rating-summary/"
    before = page.request.get(summary_url).json()
    assert (before["count"], before["average"]) == (2, 3.0)

    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "mod@example.com")
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("input[type=submit]")
    # The queue: the Ratings model on the admin index.
    page.click("tr.model-rating a[href='/admin/ratings/rating/']")
    page.get_by_role("link", name="Has open reports").click()
    page.wait_for_url("**reported=yes**")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    page.check(f"input[name=_selected_action][value='{reported.pk}']")
    page.select_option("select[name=action]", "hide_selected")
    page.click("button[name=index]")
    page.fill("textarea[name=reason]", "Insults the provider")
    screenshot("admin-hide-reason")
    page.click("input[name=apply]")

    expect(page.locator(".messagelist")).to_contain_text("1 rating(s) hidden.")
    page.get_by_role("link", name="All").first.click()
    screenshot("admin-queue-after-hide")
    after = page.request.get(summary_url).json()
    assert (after["count"], after["average"], after["distribution"]["1"]) == (1, 5.0, 0)
    reported.refresh_from_db()
    assert (reported.status, reported.moderation_reason) == ("hidden", "Insults the provider")
    assert csp_violations == []


def test_the_moderation_queue_fits_1280_pixels_and_its_buttons_look_like_the_admins(live_server, browser):
    from io import StringIO

    from django.core.management import call_command

    from apps.ratings.demo import DEMO_PASSWORD, MODERATOR_EMAIL
    from apps.ratings.models import Rating

    call_command("seed_demo", stdout=StringIO())
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(f"{live_server.url}/admin/login/?next=/admin/ratings/rating/%3Fqueue%3Dwaiting")
        page.fill("#id_username", MODERATOR_EMAIL)
        page.fill("#id_password", DEMO_PASSWORD)
        page.click("input[type=submit]")
        page.locator("#result_list").wait_for()
        # Every column of the queue is on the screen: nothing cut off on the right.
        page.screenshot(path=str(ARTIFACTS / "admin-queue-1280.png"))
        overflow = page.evaluate(
            "() => { const results = document.querySelector('#changelist .results');"
            " const table = document.querySelector('#result_list').getBoundingClientRect();"
            " return {table_right: table.right, page_width: document.documentElement.clientWidth,"
            " page_scroll_width: document.documentElement.scrollWidth,"
            " results_width: results.clientWidth, results_scroll_width: results.scrollWidth}; }"
        )
        assert overflow["table_right"] <= overflow["page_width"], overflow
        assert overflow["page_scroll_width"] <= overflow["page_width"], overflow
        assert overflow["results_scroll_width"] <= overflow["results_width"], overflow

        held = Rating.objects.filter(status="pending_review").first()
        page.goto(f"{live_server.url}/admin/ratings/rating/{held.pk}/change/")
        publish = page.get_by_role("button", name="Publish")
        save_style = page.locator("#moderation-form .submit-row button").first
        # The admin's own button look (its CSS variables), not the browser's default button.
        background = publish.evaluate("b => getComputedStyle(b).backgroundColor")
        assert background not in ("rgb(239, 239, 239)", "rgba(0, 0, 0, 0)"), background
        assert save_style.evaluate("b => getComputedStyle(b).cursor") == "pointer"
    finally:
        context.close()
