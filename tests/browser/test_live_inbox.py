"""The /inbox/ page, served by uvicorn (ASGI) as in production: sign in, then a new item
appears without a reload, from the Server-Sent Events stream, with the unread count."""

import os
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
    if connection.vendor != "postgresql":
        pytest.skip("the server process needs the test database on PostgreSQL")
    settings.NOTIFICATIONS_STREAM_CHANNEL_PREFIX = f"browser-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
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


def test_the_inbox_page_shows_a_new_item_live(asgi_server, page, screenshot, csp_violations):
    provider = ProviderFactory()
    provider.user.set_password(PASSWORD)
    provider.user.save(update_fields=["password"])
    NotificationFactory(recipient_id=provider.user.pk, title="An older rating", body="Kept")

    page.goto(f"{asgi_server}/inbox/")
    page.get_by_label("Email").fill(provider.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{asgi_server}/inbox/")
    page.locator("#status", has_text="live").wait_for()
    assert page.locator("#items li").count() == 1
    assert page.locator("#unread").inner_text() == "1"

    # The worker's ingest, committed in this process: Redis pub/sub rings the page's stream.
    events_ingest(envelopes=[envelope(recipient_id=provider.user.pk, customer_name="Grace", score=4)])
    newest = page.locator("#items li").first
    newest.locator("strong", has_text="New 4-star rating").wait_for(timeout=5_000)
    page.locator("#unread", has_text="2").wait_for(timeout=5_000)
    screenshot("live-inbox")
    assert page.locator("#items li").count() == 2
    assert csp_violations == []
