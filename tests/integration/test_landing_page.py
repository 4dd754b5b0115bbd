"""The landing page at / : where a newcomer goes next, and the demo sign-ins of a demo server."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from tests.docs.test_shell_examples import shell_problems

pytestmark = pytest.mark.django_db

LINKS = [
    "/api/docs/",
    "/api/redoc/",
    "/api/schema/",
    "http://testserver/api/v1/providers/",
    "/inbox/",
    "/admin/",
    "/admin/ratings/rating/?queue=waiting",
    "/healthz",
    "/readyz",
]


def _links(html: str) -> list[str]:
    return re.findall(r'\bhref="([^"]+)"', html)


def test_the_landing_page_links_the_docs_schema_admin_and_inbox_and_loads_nothing_else():
    response = Client().get("/")

    html = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert _links(html) == LINKS
    # No script, image, stylesheet or font: nothing to load, from here or elsewhere.
    assert re.findall(r"<(script|img|link|iframe)\b", html) == []
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert 'id="demo"' not in html
    assert '"email": "you@example.com", "password": "your-password"' in html
    (example,) = re.findall(r"<pre>(.*?)</pre>", html, re.S)
    assert shell_problems(example.replace("&quot;", '"').replace("&#x27;", "'")) == []


def test_a_production_server_never_shows_the_demo_accounts_even_when_seeded():
    call_command("seed_demo", stdout=StringIO())

    html = Client().get("/").content.decode()

    assert 'id="demo"' not in html
    assert "demo-pass-2026" not in html


def test_a_demo_server_shows_who_to_sign_in_as(settings):
    settings.DEBUG = True
    assert 'id="demo"' not in Client().get("/").content.decode()  # DEBUG, but no demo data
    call_command("seed_demo", stdout=StringIO())

    html = Client().get("/").content.decode()

    rows = re.findall(r"<tr><td>([^<]+)</td><td><code>([^<]+)</code></td><td>([^<]+)</td></tr>", html)
    assert [(role, email) for role, email, _ in rows] == [
        ("staff (superuser)", "staff@example.com"),
        ("moderator", "moderator@example.com"),
        ("customer", "alice@example.com"),
        ("customer", "bob@example.com"),
        ("customer", "carol@example.com"),
        ("provider", "pipes@example.com"),
    ]
    assert "Every password is <code>demo-pass-2026</code>." in html
    assert '"email": "alice@example.com", "password": "demo-pass-2026"' in html


def test_the_landing_page_only_answers_reads():
    assert Client().head("/").status_code == 200
    assert Client().post("/").status_code == 405
