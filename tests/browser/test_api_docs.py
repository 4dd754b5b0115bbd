import pytest

from tests.factories import ProviderFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_swagger_ui_loads_local_assets_only_and_try_it_out_works(
    live_server, page, offline, screenshot, csp_violations
):
    ProviderFactory(name="Sparkle Cleaners")

    page.goto(f"{live_server.url}/api/docs/")
    operation = page.locator("#operations-providers-providers_list")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    status = operation.locator(".live-responses-table .response .response-col_status")
    status.first.wait_for()
    screenshot("swagger-try-it-out")

    assert status.first.inner_text().strip() == "200"
    assert "Sparkle Cleaners" in operation.locator(".live-responses-table").inner_text()
    assert offline.attempted == []
    assert csp_violations == []


def test_swagger_ui_leads_with_the_bearer_token_and_folds_error_responses(live_server, page, offline, screenshot):
    page.goto(f"{live_server.url}/api/docs/")
    operation = page.locator("#operations-ratings-ratings_create")
    operation.locator(".opblock-summary").click()
    conflict = operation.locator("tr.response[data-code='409']")
    conflict.wait_for()
    body = conflict.locator(".model-example")
    # Folded: the status and its description only, so the operation fits a screen or so.
    assert not body.is_visible()
    assert operation.evaluate("e => e.getBoundingClientRect().height") < 1600
    conflict.hover()
    body.wait_for(state="visible")
    screenshot("swagger-post-rating", full_page=False)

    page.get_by_role("button", name="Authorize").first.click()
    schemes = page.locator(".auth-container h4")
    schemes.first.wait_for()
    assert schemes.first.inner_text().startswith("jwtAuth")
    assert "Bearer" in schemes.first.inner_text()
    assert offline.attempted == []


def test_redoc_renders_and_asks_nothing_of_another_host(live_server, page, offline, screenshot, csp_violations):
    ProviderFactory(name="Sparkle Cleaners")

    page.goto(f"{live_server.url}/api/redoc/")
    # Redoc draws the operations only after its worker parsed the schema (about 17,000 lines of
    # YAML): on a loaded 2-core machine that took longer than the page's default wait.
    page.set_default_timeout(90_000)
    page.get_by_text("Marketplace Ratings API").first.wait_for()
    page.locator("[data-section-id='tag/providers']").first.wait_for()
    # The "API docs by Redocly" badge's logo, served from here (apps/core/api/docs.py).
    logo = page.get_by_role("img", name="redocly logo")
    logo.wait_for()
    page.wait_for_load_state("networkidle")
    # The viewport only: the whole reference is a page too tall to capture in time on a busy machine.
    screenshot("redoc", full_page=False)

    assert logo.get_attribute("src") == "/static/docs/redoc-logo-mini.svg"
    assert logo.evaluate("img => img.complete && img.naturalWidth > 0")
    assert offline.attempted == []
    assert csp_violations == []


def test_the_landing_page_leads_to_the_docs_and_the_admin_from_here_only(
    live_server, page, offline, screenshot, csp_violations
):
    page.goto(f"{live_server.url}/")
    screenshot("landing")
    page.get_by_role("link", name="API docs (Swagger UI)").click()
    page.wait_for_url("**/api/docs/")
    # Drawn once Swagger UI has fetched and parsed the whole schema (1.4 MB of JSON): on a
    # loaded 2-core machine the live server alone took 33 s to answer it once.
    page.locator("#swagger-ui .information-container").wait_for(timeout=90_000)
    page.go_back()
    page.get_by_role("link", name="Admin").click()
    page.wait_for_url("**/admin/login/**")

    assert offline.attempted == []
    assert csp_violations == []
