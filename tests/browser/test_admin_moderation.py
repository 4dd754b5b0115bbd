import pytest
from playwright.sync_api import expect

from apps.ratings.services import rating_create, report_create
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
