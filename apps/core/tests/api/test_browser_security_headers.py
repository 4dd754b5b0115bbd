"""Content-Security-Policy on the HTML pages and CORS on the API (django-csp, django-cors-headers)."""

import re

import pytest
from django.test import Client, override_settings

PROVIDERS_URL = "/api/v1/providers/"
ALLOWED = "https://app.example.com"


def directives(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] for part in header.split("; ")}


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/", "/admin/login/"])
@pytest.mark.django_db
def test_html_pages_carry_a_strict_content_security_policy(url):
    response = Client().get(url)

    assert response.status_code == 200
    policy = directives(response)
    assert policy["default-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["base-uri"] == "'self'"
    assert policy["form-action"] == "'self'"
    assert re.fullmatch(r"'self'( 'nonce-[A-Za-z0-9+/=]+')?", policy["script-src"])
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]


@pytest.mark.django_db
def test_swagger_ui_inline_script_carries_the_nonce_of_its_policy():
    response = Client().get("/api/docs/")

    nonce = re.fullmatch(r"'self' 'nonce-(.+)'", directives(response)["script-src"]).group(1)
    inline_scripts = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", response.content.decode())
    assert inline_scripts == [f' nonce="{nonce}"']


def preflight(origin: str, path: str = PROVIDERS_URL):
    return Client().options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type, idempotency-key",
    )


@override_settings(CORS_ALLOWED_ORIGINS=[ALLOWED])
def test_preflight_from_an_allowed_origin_gets_the_allow_headers():
    response = preflight(ALLOWED)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ALLOWED
    assert response["Access-Control-Allow-Headers"] == "accept, authorization, content-type, idempotency-key"
    assert "POST" in response["Access-Control-Allow-Methods"].split(", ")
    assert response["Access-Control-Max-Age"] == "3600"
    assert "Access-Control-Allow-Credentials" not in response


@override_settings(CORS_ALLOWED_ORIGINS=[ALLOWED])
@pytest.mark.django_db
def test_actual_request_from_an_allowed_origin_exposes_retry_after():
    response = Client().get(PROVIDERS_URL, HTTP_ORIGIN=ALLOWED)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ALLOWED
    assert response["Access-Control-Expose-Headers"] == "retry-after"
    assert "Access-Control-Allow-Credentials" not in response


@override_settings(CORS_ALLOWED_ORIGINS=[ALLOWED])
def test_preflight_from_another_origin_gets_no_cors_headers():
    response = preflight("https://evil.example.net")

    assert not [name for name in response.headers if name.lower().startswith("access-control-")]


@override_settings(CORS_ALLOWED_ORIGINS=[ALLOWED])
@pytest.mark.django_db
def test_cors_applies_only_to_api_paths():
    response = Client().get("/admin/login/", HTTP_ORIGIN=ALLOWED)

    assert not [name for name in response.headers if name.lower().startswith("access-control-")]


def test_default_settings_allow_no_origin():
    from django.conf import settings

    assert settings.CORS_ALLOWED_ORIGINS == []
    response = preflight(ALLOWED)

    assert not [name for name in response.headers if name.lower().startswith("access-control-")]
