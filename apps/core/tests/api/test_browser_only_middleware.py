"""Browser-only middleware (apps/core/browser.py): skipped for JSON API requests, kept for pages
and for a browser using the API with its session."""

import pytest
from django.test import Client

RATINGS = "/api/v1/ratings/"


def _browser_headers(response) -> set[str]:
    return {name for name in ("Content-Security-Policy", "X-Frame-Options") if name in response}


@pytest.mark.django_db
def test_a_json_api_request_skips_the_browser_middleware(customer_client):
    response = customer_client.get(RATINGS)

    assert response.status_code == 200
    assert _browser_headers(response) == set()
    assert not response.cookies
    # The probes and /metrics too.
    assert _browser_headers(Client().get("/healthz")) == set()


@pytest.mark.django_db
def test_html_pages_and_the_browsable_api_keep_it():
    for page in ("/api/docs/", "/admin/login/"):
        assert _browser_headers(Client().get(page)) == {"Content-Security-Policy", "X-Frame-Options"}
    browsable = Client().get("/api/v1/providers/", HTTP_ACCEPT="text/html")
    assert browsable["Content-Type"].startswith("text/html")
    assert _browser_headers(browsable) == {"Content-Security-Policy", "X-Frame-Options"}


@pytest.mark.django_db
def test_a_session_on_the_api_is_still_authenticated_and_csrf_checked(customer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(customer.user)

    listed = client.get(RATINGS, HTTP_ACCEPT="application/json")
    assert listed.status_code == 200
    assert _browser_headers(listed) == {"Content-Security-Policy", "X-Frame-Options"}
    # DRF's SessionAuthentication enforces CSRF on a session's unsafe request.
    refused = client.post(RATINGS, {"score": 5}, content_type="application/json", HTTP_ACCEPT="application/json")
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "permission_denied"


@pytest.mark.django_db
def test_the_admin_sign_in_form_is_still_csrf_protected(customer):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/admin/login/", {"username": customer.user.email, "password": "x"})
    assert response.status_code == 403
