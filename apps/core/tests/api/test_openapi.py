import re
from urllib.parse import urlparse

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command

SRC_HREF = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
URL_IN_JS = re.compile(r"""https?://[^\s"'<>)]+""")


@pytest.mark.django_db
def test_schema_renders(api_client):
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Marketplace Ratings API"
    assert "jwtAuth" in schema["components"]["securitySchemes"]
    for path in (
        "/api/v1/auth/token/",
        "/api/v1/customers/",
        "/api/v1/providers/",
        "/api/v1/providers/{provider_id}/rating-summary/",
        "/api/v1/ratings/",
        "/api/v1/ratings/{rating_id}/",
    ):
        assert path in schema["paths"], path


def test_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert out.read_text().startswith("openapi: 3.0")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_reference_no_external_host(client, path):
    response = client.get(path, HTTP_HOST="testserver")
    assert response.status_code == 200
    html = response.content.decode()
    refs = SRC_HREF.findall(html)
    assert refs, "the page loads nothing?"
    for ref in refs:
        parsed = urlparse(ref)
        assert parsed.netloc in ("", "testserver"), f"{path} loads {ref} from another host"
    assert URL_IN_JS.findall(html) == [], f"{path} mentions absolute URLs"

    statics = [urlparse(r).path for r in refs if urlparse(r).path.startswith("/static/")]
    assert statics, "the UI assets should be served locally"
    for static_path in statics:
        assert finders.find(static_path.removeprefix("/static/")), f"{static_path} does not resolve"
