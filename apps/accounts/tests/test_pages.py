"""The pages account emails link to: the link in the email lands on a form this site serves."""

import re
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client

from apps.accounts.models import User
from apps.accounts.tests.api.test_self_service import deliver_account_emails
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-long-secret"


def _emailed_link(message) -> str:
    (url,) = re.findall(r"https?://\S+", message.body.split("uid:")[0])
    return url


def _reset_link(email: str) -> str:
    Client().post("/api/v1/auth/password/reset/", {"email": email}, content_type="application/json")
    (message,) = deliver_account_emails()
    return _emailed_link(message)


def _local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_the_reset_email_links_to_this_sites_form_which_sets_the_password():
    user = UserFactory(email="ann@example.com")
    url = _reset_link("ann@example.com")
    assert url.startswith(settings.PUBLIC_BASE_URL + "/account/reset-password/?uid=")
    client = Client()

    form = client.get(_local(url))
    assert form.status_code == 200
    assert b'name="new_password"' in form.content
    # The site's own Content-Security-Policy, as on every page.
    assert "script-src" in form.headers["Content-Security-Policy"]
    user.refresh_from_db()
    assert not user.check_password(NEW_PASSWORD)  # opening the link changes nothing

    query = dict(part.split("=", 1) for part in urlsplit(url).query.split("&"))
    done = client.post(
        "/account/reset-password/",
        {**query, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD},
    )
    assert done.status_code == 200
    assert b"Your password is set" in done.content
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert user.email_verified_at is not None

    # Single use: the new password retired the token.
    again = client.post(
        "/account/reset-password/",
        {**query, "new_password": "yet-another-pass-99", "new_password_again": "yet-another-pass-99"},
    )
    assert again.status_code == 400
    assert b"already used" in again.content
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


@pytest.mark.parametrize(
    ("new_password", "again", "message"),
    [
        (NEW_PASSWORD, NEW_PASSWORD + "x", b"The two passwords differ."),
        ("password", "password", b"This password is too common."),
    ],
)
def test_a_refused_password_changes_nothing_and_says_why(new_password, again, message):
    user = UserFactory(email="ann@example.com")
    query = dict(part.split("=", 1) for part in urlsplit(_reset_link("ann@example.com")).query.split("&"))

    response = Client().post(
        "/account/reset-password/", {**query, "new_password": new_password, "new_password_again": again}
    )

    assert response.status_code == 400
    assert message in response.content
    assert b'name="new_password"' in response.content  # the form again, to try once more
    assert User.objects.get(pk=user.pk).password == user.password


@pytest.mark.parametrize("path", ["/account/reset-password/", "/account/verify-email/"])
@pytest.mark.parametrize("query", ["", "?uid=abc", "?token=abc"])
def test_an_incomplete_link_is_a_400_page(path, query):
    response = Client().get(path + query)

    assert response.status_code == 400
    assert b"This link is incomplete" in response.content


def test_a_forged_reset_link_is_refused():
    user = UserFactory(email="ann@example.com")

    response = Client().post(
        "/account/reset-password/",
        {"uid": "MTIz", "token": "forged", "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD},
    )

    assert response.status_code == 400
    assert User.objects.get(pk=user.pk).password == user.password


def test_the_verification_email_links_to_this_sites_page_which_confirms_on_post():
    client = Client()
    response = client.post(
        "/api/v1/customers/",
        {"email": "new@example.com", "password": NEW_PASSWORD, "name": "New"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    (message,) = deliver_account_emails()
    url = _emailed_link(message)
    assert url.startswith(settings.PUBLIC_BASE_URL + "/account/verify-email/?uid=")

    page = client.get(_local(url))
    assert page.status_code == 200
    assert b"Confirm the address" in page.content
    assert User.objects.get(email="new@example.com").email_verified_at is None  # GET confirms nothing

    query = dict(part.split("=", 1) for part in urlsplit(url).query.split("&"))
    done = client.post("/account/verify-email/", query)
    assert done.status_code == 200
    assert b"new@example.com</strong> is confirmed" in done.content
    assert User.objects.get(email="new@example.com").email_verified_at is not None

    forged = client.post("/account/verify-email/", {**query, "token": "forged"})
    assert forged.status_code == 400


def test_the_email_links_follow_the_configured_base_url():
    # One setting gives every link its host and port (make run sets it from PORT).
    assert settings.ACCOUNT_PASSWORD_RESET_URL.startswith(settings.PUBLIC_BASE_URL + "/")
    assert settings.ACCOUNT_EMAIL_VERIFY_URL.startswith(settings.PUBLIC_BASE_URL + "/")
    assert settings.NOTIFICATIONS_PUBLIC_BASE_URL == settings.PUBLIC_BASE_URL


def test_the_favicon_is_served():
    response = Client().get("/favicon.ico")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert b"<svg" in response.content


def _query(url: str) -> dict:
    return dict(part.split("=", 1) for part in urlsplit(url).query.split("&"))


def test_a_german_users_reset_page_is_german_whatever_the_browser_asks():
    user = UserFactory(email="anna@example.com", locale="de")
    url = _reset_link("anna@example.com")
    client = Client(headers={"accept-language": "en-US,en;q=0.9"})

    form = client.get(_local(url))
    assert form.status_code == 200
    assert form["Content-Language"] == "de"
    html = form.content.decode()
    assert '<html lang="de">' in html
    assert "<title>Neues Passwort festlegen · Marketplace Ratings</title>" in html
    assert '<label for="new_password">Neues Passwort</label>' in html
    assert '<label for="new_password_again">Neues Passwort wiederholen</label>' in html
    assert '<button type="submit">Passwort festlegen</button>' in html

    query = _query(url)
    differ = client.post(
        "/account/reset-password/", {**query, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD + "x"}
    )
    assert '<p class="error" role="alert">Die beiden Passwörter stimmen nicht überein.</p>' in differ.content.decode()
    common = client.post(
        "/account/reset-password/", {**query, "new_password": "password", "new_password_again": "password"}
    )
    # Django's own password validators, in Django's German.
    assert '<p class="error" role="alert">Dieses Passwort ist zu üblich.</p>' in common.content.decode()

    done = client.post(
        "/account/reset-password/", {**query, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD}
    )
    assert done["Content-Language"] == "de"
    assert (
        '<p class="ok" role="status">Ihr Passwort ist festgelegt und Sie sind überall sonst abgemeldet. '
        "Melden Sie sich mit dem neuen Passwort an.</p>"
    ) in done.content.decode()
    again = client.post(
        "/account/reset-password/", {**query, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD}
    )
    assert again.status_code == 400
    assert (
        '<p class="error" role="alert">Dieser Link ist ungültig: '
        "Er wurde bereits verwendet oder stammt nicht von uns.</p>"
    ) in again.content.decode()
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_an_english_users_reset_page_stays_english_for_a_german_browser():
    UserFactory(email="ann@example.com", locale="en")
    url = _reset_link("ann@example.com")

    form = Client(headers={"accept-language": "de"}).get(_local(url))

    assert form["Content-Language"] == "en"
    html = form.content.decode()
    assert '<html lang="en">' in html
    assert "<h1>Set a new password</h1>" in html
    assert '<label for="new_password_again">The same again</label>' in html


@pytest.mark.parametrize("path", ["/account/reset-password/", "/account/verify-email/"])
def test_a_link_that_names_no_user_is_answered_in_the_browsers_language(path):
    german = Client(headers={"accept-language": "de-CH,de;q=0.8"}).get(path + "?uid=abc")
    assert german.status_code == 400
    assert german["Content-Language"] == "de"
    assert "Accept-Language" in german["Vary"]
    assert (
        '<p class="error" role="alert">Dieser Link ist unvollständig: Öffnen Sie den ganzen Link aus der E-Mail.</p>'
    ) in german.content.decode()

    english = Client().get(path + "?uid=abc")
    assert english["Content-Language"] == "en"
    assert (
        '<p class="error" role="alert">This link is incomplete: open the whole link from the email.</p>'
    ) in english.content.decode()


def test_a_german_users_verification_page_is_german():
    client = Client(headers={"accept-language": "de-DE,de;q=0.9"})
    # Signed up from a German browser: the account's language is German.
    response = client.post(
        "/api/v1/customers/",
        {"email": "neu@example.com", "password": NEW_PASSWORD, "name": "Neu"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert User.objects.get(email="neu@example.com").locale == "de"
    (message,) = deliver_account_emails()
    url = _emailed_link(message)
    english_browser = Client(headers={"accept-language": "en"})

    page = english_browser.get(_local(url))
    assert page["Content-Language"] == "de"
    html = page.content.decode()
    assert "<h1>Bestätigen Sie Ihre E-Mail-Adresse</h1>" in html
    assert '<button type="submit">Adresse bestätigen</button>' in html

    done = english_browser.post("/account/verify-email/", _query(url))
    assert '<p class="ok" role="status"><strong>neu@example.com</strong> ist bestätigt.</p>' in done.content.decode()
    forged = english_browser.post("/account/verify-email/", {**_query(url), "token": "forged"})
    assert forged.status_code == 400
    assert "Dieser Link ist ungültig" in forged.content.decode()
