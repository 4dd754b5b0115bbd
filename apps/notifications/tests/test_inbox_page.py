"""The /inbox/ page: session sign-in, the newest items and the unread count, no inline script."""

from datetime import UTC, datetime

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


def _german_inbox(client, *, locale: str, accept_language: str):
    provider = ProviderFactory()
    provider.user.locale = locale
    provider.user.save(update_fields=["locale"])
    NotificationFactory(
        recipient_id=provider.user.pk,
        title="Neue 5-Sterne-Bewertung von Ada",
        created_at=datetime(2026, 12, 30, 23, 5, tzinfo=UTC),
    )
    client.force_login(provider.user)
    return provider, client.get("/inbox/", headers={"accept-language": accept_language})


def test_a_german_users_inbox_page_is_german_whatever_the_browser_asks(client):
    provider, response = _german_inbox(client, locale="de", accept_language="en-US,en;q=0.9")

    assert response.status_code == 200
    assert response["Content-Language"] == "de"
    html = response.content.decode()
    assert '<html lang="de">' in html
    assert "<title>Posteingang · Marketplace Ratings</title>" in html
    assert f'<span class="muted">Angemeldet als {provider.user.email}</span>' in html
    assert '<button type="submit" class="secondary">Abmelden</button>' in html
    assert '<h1>Posteingang <small>(<span id="unread">1</span> ungelesen)</small></h1>' in html
    assert ">Verbindung wird hergestellt…</span>" in html
    assert ">Alle als gelesen markieren</button>" in html
    assert '<button type="button" class="mark-read secondary">Als gelesen markieren</button>' in html
    # The script's words, for the items and states it adds later.
    assert 'data-live="live"' in html
    assert 'data-reconnecting="Verbindung wird wiederhergestellt…"' in html
    assert 'data-read-failed="konnte nicht als gelesen markiert werden; bitte noch einmal versuchen"' in html
    assert 'data-read-all-failed="konnten nicht alle als gelesen markiert werden; bitte noch einmal versuchen"' in html
    assert 'data-mark-read="Als gelesen markieren"' in html
    # The time as rendered before the script rewrites it: German short format.
    assert '<time datetime="2026-12-30T23:05:00+00:00">30.12.2026 23:05 UTC</time>' in html


def test_an_english_users_inbox_page_stays_english_for_a_german_browser(client):
    provider, response = _german_inbox(client, locale="en", accept_language="de-DE,de;q=0.9")

    assert response["Content-Language"] == "en"
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "<title>Inbox · Marketplace Ratings</title>" in html
    assert f'<span class="muted">Signed in as {provider.user.email}</span>' in html
    assert '<h1>Inbox <small>(<span id="unread">1</span> unread)</small></h1>' in html
    assert 'data-read-all-failed="could not mark all read; try again"' in html
    assert 'data-mark-read="Mark read"' in html
    assert "Posteingang" not in html
    assert '<time datetime="2026-12-30T23:05:00+00:00">12/30/2026 11:05 p.m. UTC</time>' in html


def test_the_sign_in_page_follows_the_browsers_language(client):
    german = client.get("/inbox/login/", headers={"accept-language": "de-AT,de;q=0.9,en;q=0.5"})
    assert german["Content-Language"] == "de"
    assert "Accept-Language" in german["Vary"]
    html = german.content.decode()
    assert '<html lang="de">' in html
    assert "<title>Anmelden · Marketplace Ratings</title>" in html
    assert "<h1>Melden Sie sich bei Ihrem Posteingang an</h1>" in html
    assert '<label for="id_username">E-Mail-Adresse</label>' in html
    assert '<label for="id_password">Passwort</label>' in html
    assert '<button type="submit">Anmelden</button>' in html

    refused = client.post(
        "/inbox/login/", {"username": "nobody@example.com", "password": "x"}, headers={"accept-language": "de"}
    )
    assert "Diese E-Mail-Adresse und dieses Passwort passen zu keinem Konto." in refused.content.decode()

    for accept_language in ("", "fr-FR,fr;q=0.9", "en-GB"):
        english = client.get("/inbox/login/", headers={"accept-language": accept_language})
        assert english["Content-Language"] == "en"
        html = english.content.decode()
        assert '<html lang="en">' in html
        assert "<h1>Sign in to your inbox</h1>" in html
        assert '<button type="submit">Sign in</button>' in html
