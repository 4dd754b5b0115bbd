"""Headless Chromium (Debian's, at /usr/bin/chromium) driven by Playwright against ``live_server``.

Playwright's own browser downloads are not used: ``.ci/run`` installs the distribution package.
"""

import ipaddress
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

# The sync Playwright API runs an event loop in this thread; Django's ORM calls made by the
# test itself (fixtures, assertions) are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
# Screenshots go to $ARTIFACTS_DIR/browser/ (.ci/run sets it to the directory CI keeps);
# by default artifacts/browser/ in the checkout (git-ignored).
ARTIFACTS = Path(os.environ.get("ARTIFACTS_DIR") or Path(__file__).resolve().parents[2] / "artifacts") / "browser"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; .ci/run installs it")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def screenshot(page):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(name: str, *, full_page: bool = True) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take


@pytest.fixture
def csp_violations(page):
    """Chromium reports every resource or script the Content-Security-Policy blocked on the console."""
    violations = []
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    return violations


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Offline:
    """Every request of the page to a host other than loopback, each refused before it leaves."""

    def __init__(self):
        self.attempted: list[str] = []

    def route(self, route) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:")) or _is_loopback(url):
            route.continue_()
        else:
            self.attempted.append(url)
            route.abort("blockedbyclient")


@pytest.fixture
def offline(page):
    """The page reaches only loopback; ``offline.attempted`` lists what it tried to fetch elsewhere.

    A request that the Content-Security-Policy blocks never reaches the network (nor this
    router): tests assert ``csp_violations`` too.
    """
    blocker = Offline()
    page.route("**/*", blocker.route)
    return blocker
