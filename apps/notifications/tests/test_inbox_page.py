"""The /inbox/ page: session sign-in, the newest items and the unread count, no inline script."""

import pytest

from tests.factories import NotificationFactory, ProviderFactory

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_are_sent_to_the_sign_in_page(client):
    response = client.get("/inbox/")
    assert response.status_code == 302
    assert response["Location"] == "/inbox/login/?next=/inbox/"
    assert client.get("/inbox/login/").status_code == 200


def test_signing_in_leads_to_the_inbox(client):
    provider = ProviderFactory()
    provider.user.set_password("page-pass-2026")
    provider.user.save(update_fields=["password"])
    response = client.post(
        "/inbox/login/", {"username": provider.user.email, "password": "page-pass-2026", "next": "/inbox/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/inbox/"


def test_the_page_lists_own_items_and_the_unread_count_under_the_csp(client):
    provider = ProviderFactory()
    mine = NotificationFactory(recipient_id=provider.user.pk, title="Five stars from Ada")
    NotificationFactory(recipient_id=provider.user.pk, title="Archived one", archived_at=mine.created_at)
    NotificationFactory(title="Someone else's")
    client.force_login(provider.user)
    response = client.get("/inbox/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Five stars from Ada" in html
    assert "Archived one" not in html and "Someone else" not in html
    assert '<span id="unread">1</span>' in html
    assert 'data-stream-url="/api/v1/notifications/stream/"' in html
    assert '<script src="/static/notifications/inbox.js" defer></script>' in html
    assert "<script>" not in html
    assert "script-src 'self'" in response["Content-Security-Policy"]
