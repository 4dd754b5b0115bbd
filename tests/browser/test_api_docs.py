from urllib.parse import urlsplit

import pytest

from tests.factories import ProviderFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_swagger_ui_loads_local_assets_only_and_try_it_out_works(live_server, page, screenshot, csp_violations):
    ProviderFactory(name="Sparkle Cleaners")
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    local_host = urlsplit(live_server.url).hostname

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
    hosts = {urlsplit(url).hostname for url in requested if not url.startswith(("data:", "blob:"))}
    assert hosts == {local_host}, f"non-local requests: {sorted(u for u in requested if local_host not in u)}"
    assert csp_violations == []


def test_redoc_renders_under_the_content_security_policy(live_server, page, screenshot, csp_violations):
    ProviderFactory(name="Sparkle Cleaners")

    page.goto(f"{live_server.url}/api/redoc/")
    # Redoc draws the operations only after its worker parsed the schema.
    page.get_by_text("Marketplace Ratings API").first.wait_for()
    page.locator("[data-section-id='tag/providers']").first.wait_for()
    screenshot("redoc")

    # Redoc's "API docs by Redocly" badge points at an image on cdn.redoc.ly; the policy blocking
    # it is the policy at work (the docs load nothing from another host), the page needs none of it.
    assert [text for text in csp_violations if "https://cdn.redoc.ly/" not in text] == []
