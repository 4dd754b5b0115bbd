"""One-click unsubscribe in its reader's language: the recipient's the token names, as the
accounts app published it, else the browser's; the JSON-free error answers too."""

import uuid

import pytest
from django.conf import settings
from django.utils import timezone

from apps.notifications.delivery.channels.email.message import unsubscribe_token, unsubscribe_url
from apps.notifications.models import NotificationPreference, RecipientLocale

pytestmark = pytest.mark.django_db


def _path(recipient_id, event_type: str = "rating.created") -> str:
    url = unsubscribe_url(recipient_id=recipient_id, event_type=event_type)
    return url.removeprefix(settings.NOTIFICATIONS_PUBLIC_BASE_URL)


def _german(recipient_id) -> None:
    RecipientLocale.objects.create(recipient_id=recipient_id, locale="de", set_at=timezone.now())


def test_a_german_recipient_is_asked_and_answered_in_german_whatever_the_browser_asks(client):
    recipient = uuid.uuid4()
    _german(recipient)
    path = _path(recipient)

    page = client.get(path, headers={"accept-language": "en"})
    assert page.status_code == 200
    assert page["Content-Language"] == "de"
    html = page.content.decode()
    assert '<html lang="de">' in html
    assert "<title>Abbestellen</title>" in html
    assert "<h1>E-Mails zu „Neue Bewertung“ abbestellen?</h1>" in html
    assert '<button type="submit">Abbestellen</button>' in html

    done = client.post(path, {"List-Unsubscribe": "One-Click"}, headers={"accept-language": "en"})
    assert done.status_code == 200
    html = done.content.decode()
    assert "<h1>Sie haben die E-Mails abbestellt</h1>" in html
    assert (
        "<p>Sie erhalten keine E-Mails zu „Neue Bewertung“ mehr. In Ihren Benachrichtigungseinstellungen "
        "können Sie sie wieder einschalten.</p>"
    ) in html
    assert NotificationPreference.objects.get().enabled is False


def test_a_recipient_without_a_published_language_gets_the_browsers(client):
    path = _path(uuid.uuid4())

    german = client.get(path, headers={"accept-language": "de-DE,de;q=0.9"})
    assert german["Content-Language"] == "de"
    assert "Accept-Language" in german["Vary"]
    assert "<h1>E-Mails zu „Neue Bewertung“ abbestellen?</h1>" in german.content.decode()

    english = client.get(path)
    assert english["Content-Language"] == "en"
    html = english.content.decode()
    assert '<html lang="en">' in html
    assert "<h1>Unsubscribe from “New rating” emails?</h1>" in html
    assert '<button type="submit">Unsubscribe</button>' in html


def test_an_english_recipient_stays_english_for_a_german_browser(client):
    recipient = uuid.uuid4()
    RecipientLocale.objects.create(recipient_id=recipient, locale="en", set_at=timezone.now())

    page = client.get(_path(recipient), headers={"accept-language": "de"})

    assert page["Content-Language"] == "en"
    assert "<h1>Unsubscribe from “New rating” emails?</h1>" in page.content.decode()


def test_the_plain_text_refusals_are_in_the_readers_language(client):
    recipient = uuid.uuid4()
    _german(recipient)

    tampered = client.post(
        _path(recipient).replace("/unsubscribe/", "/unsubscribe/x"), headers={"accept-language": "de"}
    )
    assert tampered.status_code == 400
    assert tampered["Content-Type"] == "text/plain; charset=utf-8"
    assert tampered.content.decode() == "Dieser Abbestell-Link ist ungültig."
    assert client.post(_path(recipient).replace("/unsubscribe/", "/unsubscribe/x")).content == (
        b"This unsubscribe link is invalid."
    )

    # A type that no longer exists: the token names the German recipient.
    gone = "/notifications/unsubscribe/" + unsubscribe_token(recipient_id=recipient, event_type="rating.retired") + "/"
    answer = client.post(gone, headers={"accept-language": "en"})
    assert answer.status_code == 400
    assert answer["Content-Language"] == "de"
    assert answer.content.decode() == "Dieser Abbestell-Link ist nicht mehr gültig."
    assert NotificationPreference.objects.count() == 0


def test_a_critical_type_cannot_be_unsubscribed_and_says_so_in_the_readers_language(client):
    recipient = uuid.uuid4()
    _german(recipient)

    answer = client.post(_path(recipient, "account.password_reset"), {"List-Unsubscribe": "One-Click"})

    assert answer.status_code == 400
    assert answer.content.decode() == "Diese E-Mails lassen sich nicht abbestellen."
    assert NotificationPreference.objects.count() == 0


def test_the_notifications_deployment_serves_the_page_in_the_same_language(client, settings):
    # It has no users table: the recipient's language is its own copy, as in the monolith.
    settings.ROOT_URLCONF = "config.urls_notifications"
    recipient = uuid.uuid4()
    _german(recipient)

    page = client.get(_path(recipient))

    assert page.status_code == 200
    assert page["Content-Language"] == "de"
    assert "<h1>E-Mails zu „Neue Bewertung“ abbestellen?</h1>" in page.content.decode()
