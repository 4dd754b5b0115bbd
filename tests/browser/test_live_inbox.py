"""The /inbox/ page, served by uvicorn (ASGI) as in production: sign in, then a new item
appears without a reload, from the Server-Sent Events stream, with the unread count."""

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import connection

from apps.notifications.services import events_ingest
from apps.notifications.tests.conftest import envelope
from tests.factories import NotificationFactory, ProviderFactory
from tests.system.harness import free_port, http, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "browser-pass-2026"


@pytest.fixture
def asgi_server(settings, tmp_path):
    """uvicorn on loopback over this test's database (its rows are committed: transaction=True)."""
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        database_url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    elif connection.vendor == "sqlite" and not connection.is_in_memory_db():
        # The test database is a file (config/settings/test.py) the server process opens too.
        database_url = f"sqlite:///{db['NAME']}"
    else:
        pytest.skip("the server process needs the test database in a file or on PostgreSQL")
    settings.NOTIFICATIONS_STREAM_CHANNEL_PREFIX = f"browser-{uuid.uuid4().hex[:8]}"
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url,
        "NOTIFICATIONS_STREAM_CHANNEL_PREFIX": settings.NOTIFICATIONS_STREAM_CHANNEL_PREFIX,
        "NOTIFICATIONS_STREAM_HEARTBEAT_SECONDS": "5",
    }
    env.pop("PYTEST_CURRENT_TEST", None)
    with open(tmp_path / "uvicorn.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until(lambda: http("GET", base + "/healthz")[0] == 200, timeout=30, what="uvicorn /healthz")
            yield base
        finally:
            process.terminate()
            process.wait(timeout=15)


def _provider():
    provider = ProviderFactory()
    provider.user.set_password(PASSWORD)
    provider.user.save(update_fields=["password"])
    return provider


def _sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/inbox/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/inbox/")


def test_the_inbox_page_shows_a_new_item_live(asgi_server, page, screenshot, csp_violations):
    provider = _provider()
    NotificationFactory(recipient_id=provider.user.pk, title="An older rating", body="Kept")

    _sign_in(page, asgi_server, provider.user.email)
    page.locator("#status", has_text="live").wait_for()
    assert page.locator("#items li").count() == 1
    assert page.locator("#unread").inner_text() == "1"
    # "live" is the stream's open; it hears new items once it has sent its first count (an item
    # committed in between would only be in the count, not added to the list).
    page.locator("#unread[data-live]").wait_for()

    # The worker's ingest, committed in this process: Redis pub/sub rings the page's stream.
    events_ingest(envelopes=[envelope(recipient_id=provider.user.pk, customer_name="Grace", score=4)])
    newest = page.locator("#items li").first
    newest.locator("strong", has_text="New 4-star rating").wait_for(timeout=10_000)
    page.locator("#unread", has_text="2").wait_for(timeout=10_000)
    screenshot("live-inbox")
    assert page.locator("#items li").count() == 2
    assert csp_violations == []


def test_the_inbox_page_marks_read_one_item_then_all_and_signs_out(asgi_server, page, screenshot, csp_violations):
    from apps.notifications.models import Notification

    provider = _provider()
    for title in ("First rating", "Second rating", "Third rating"):
        NotificationFactory(recipient_id=provider.user.pk, title=title, body="Nice")
    _sign_in(page, asgi_server, provider.user.email)
    # Read on its own: the page is the page, not a stream (on SQLite without Redis it polls).
    assert page.locator("#unread").inner_text() == "3"
    assert page.locator("#items li.unread").count() == 3

    # Every time on the page in one format, the browser's (no server-side "UTC" left).
    times = page.locator("#items time")
    assert times.count() == 3
    assert all("UTC" not in text for text in times.all_inner_texts())

    # The stream's first count (taken before any change below) arrives before anything is marked
    # read, so it cannot overwrite the count the page then lowers.
    page.locator("#unread[data-live]").wait_for()
    first = page.locator("#items li").first
    title = first.locator("strong").inner_text()
    first.get_by_role("button", name="Mark read").click()
    # The page takes the item out of the unread ones once the API has answered.
    page.locator("#items li.unread").nth(2).wait_for(state="detached")
    assert page.locator("#items li.unread").count() == 2
    assert list(Notification.objects.filter(read_at__isnull=False).values_list("title", flat=True)) == [title]
    # The count the server renders agrees (the live count can be a stream event behind).
    page.reload()
    assert page.locator("#unread").inner_text() == "2"

    page.locator("#unread[data-live]").wait_for()
    page.get_by_role("button", name="Mark all read").click()
    page.locator("#items li.unread").first.wait_for(state="detached")
    assert not Notification.objects.filter(recipient_id=provider.user.pk, read_at__isnull=True).exists()
    page.reload()
    assert page.locator("#unread").inner_text() == "0"
    assert page.locator("#items li.unread").count() == 0
    screenshot("inbox-all-read")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{asgi_server}/inbox/login/")
    page.goto(f"{asgi_server}/inbox/")
    page.wait_for_url(f"{asgi_server}/inbox/login/?next=/inbox/")
    # The sign-in form is the site's styled one (pages.css), with a way back.
    assert page.get_by_role("button", name="Sign in").evaluate("b => getComputedStyle(b).backgroundColor") == (
        "rgb(38, 75, 93)"
    )
    assert page.get_by_role("link", name="← Marketplace Ratings").get_attribute("href") == "/"
    assert csp_violations == []


def test_a_german_readers_inbox_is_german_in_an_english_browser(asgi_server, page, screenshot, csp_violations):
    provider = _provider()
    provider.user.locale = "de"
    provider.user.save(update_fields=["locale"])
    NotificationFactory(recipient_id=provider.user.pk, title="Eine ältere Bewertung", body="Gut")

    # The sign-in page is the browser's language (Chromium asks for en-US here).
    _sign_in(page, asgi_server, provider.user.email)
    assert page.locator("html").get_attribute("lang") == "de"
    # The script's words come from the page: the connection state ...
    page.locator("#status", has_text="live").wait_for()
    # ... and the label of an item it adds (once the stream has sent its first count, it hears
    # new items).
    page.locator("#unread[data-live]").wait_for()
    events_ingest(envelopes=[envelope(recipient_id=provider.user.pk, customer_name="Grace", score=4)])
    newest = page.locator("#items li").first
    newest.locator("strong", has_text="New 4-star rating").wait_for(timeout=10_000)
    assert newest.get_by_role("button").inner_text() == "Als gelesen markieren"
    # Every time in the page's language (German digits and order), not the browser's.
    times = page.locator("#items time").all_inner_texts()
    assert len(times) == 2
    assert all(re.fullmatch(r"\d{2}\.\d{2}\.\d{4}, \d{2}:\d{2}", text) for text in times), times
    screenshot("live-inbox-de")
    assert csp_violations == []
