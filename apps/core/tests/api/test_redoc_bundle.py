"""Redoc's bundle is served with its CDN logo replaced by a local copy (apps/core/api/docs.py)."""

from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from apps.core.api.docs import LOCAL_LOGO, REMOTE_LOGO, SIDECAR_BUNDLE

BUNDLE_URL = "/api/redoc/redoc.standalone.js"
LOGO_URL = "/static/docs/redoc-logo-mini.svg"


def test_the_sidecar_bundle_still_fetches_its_logo_from_the_cdn():
    # What the served copy replaces; when a sidecar release changes it, the browser test
    # (tests/browser/test_api_docs.py) says what the bundle fetches now.
    assert REMOTE_LOGO.encode() in Path(finders.find(SIDECAR_BUNDLE)).read_bytes()


@pytest.mark.parametrize("urlconf", ["config.urls", "config.urls_notifications"])
@pytest.mark.django_db
def test_the_redoc_page_of_each_deployment_loads_the_served_bundle(settings, urlconf):
    settings.ROOT_URLCONF = urlconf

    html = Client().get("/api/redoc/").content.decode()

    assert f'<script src="{BUNDLE_URL}"></script>' in html
    assert "drf_spectacular_sidecar/redoc" not in html
    assert Client().get(BUNDLE_URL).status_code == 200


@pytest.mark.django_db
def test_the_served_bundle_points_at_the_local_logo_and_is_cached():
    response = Client().get(BUNDLE_URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Cache-Control"] == "public, max-age=86400"
    assert REMOTE_LOGO.encode() not in response.content
    assert b"cdn.redoc.ly" not in response.content
    assert f'src:"{LOGO_URL}"'.encode() in response.content
    assert Client().get(BUNDLE_URL, HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304
    assert Client().post(BUNDLE_URL).status_code == 405


@pytest.mark.django_db
def test_the_local_logo_is_served():
    response = Client().get(LOGO_URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert finders.find(LOCAL_LOGO) is not None
