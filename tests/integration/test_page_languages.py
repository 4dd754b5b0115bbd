"""The pages in their reader's language: the German catalogue covers every text of the pages, the
landing page follows the browser, and the JSON API stays English whatever the browser asks."""

import pytest
from django.conf import settings
from django.test import Client

from tests.errors import assert_error
from tests.translations import ROOT, messages_of, untranslated

# Every file whose words reach a page's reader (templates/accounts/_page.html has none of its own).
SOURCES = [
    ROOT / "templates/notifications/inbox.html",
    ROOT / "templates/notifications/login.html",
    ROOT / "templates/notifications/unsubscribe.html",
    ROOT / "templates/accounts/email_verify.html",
    ROOT / "templates/accounts/password_reset.html",
    ROOT / "templates/landing.html",
    ROOT / "apps/notifications/views.py",
    ROOT / "apps/accounts/pages.py",
    ROOT / "apps/accounts/services.py",
]


def test_the_pages_have_texts_to_translate():
    # The extraction itself works: a file without messages would pass vacuously.
    for path in SOURCES:
        assert messages_of(path), path
    assert ("inbox connection", "live") in messages_of(SOURCES[0])
    assert (None, '<span id="unread">%(unread)s</span> unread') in messages_of(SOURCES[0])
    assert (None, "This link has expired; ask for a new one.") in messages_of(SOURCES[-1])


@pytest.mark.parametrize("language", [code for code, _name in settings.LANGUAGES if code != "en"])
def test_every_text_of_the_pages_is_translated(language):
    assert untranslated(language, [*SOURCES, ROOT / "templates/accounts/_page.html"]) == []


@pytest.mark.django_db
def test_the_landing_page_follows_the_browsers_language():
    german = Client(headers={"accept-language": "de-DE,de;q=0.9,en;q=0.8"}).get("/")
    assert german.status_code == 200
    assert german["Content-Language"] == "de"
    assert "Accept-Language" in german["Vary"]
    html = german.content.decode()
    assert '<html lang="de">' in html
    assert "<h2>Die API</h2>" in html
    assert '<li><a href="/api/docs/">API-Dokumentation (Swagger UI)</a>: jede Operation, mit „Try it out“</li>' in html
    assert (
        '<li><a href="/admin/ratings/rating/?queue=waiting">Moderationswarteschlange</a>: zurückgehaltene und '
        "gemeldete Bewertungen, die am häufigsten gemeldeten zuerst</li>"
    ) in html
    assert '<li><a href="/inbox/">Ihr Posteingang</a>: die Benachrichtigungen der angemeldeten Person' in html

    english = Client().get("/")
    assert english["Content-Language"] == "en"
    html = english.content.decode()
    assert '<html lang="en">' in html
    assert "<h2>The API</h2>" in html
    assert '<li><a href="/api/docs/">API docs (Swagger UI)</a>: every operation, with “Try it out”</li>' in html


@pytest.mark.django_db
def test_the_json_api_stays_english_for_a_german_browser():
    # The link errors are translatable for the pages; the API activates no language.
    response = Client().post(
        "/api/v1/auth/password/reset/confirm/",
        {"uid": "MTIz", "token": "forged", "new_password": "a-brand-new-long-secret"},
        content_type="application/json",
        headers={"accept-language": "de"},
    )

    error = assert_error(response, 400, "link_invalid")
    assert error["detail"] == "This link is not valid: it was already used, or it is not one we sent."
    assert "Content-Language" not in response
    assert "Accept-Language" not in response.get("Vary", "")
