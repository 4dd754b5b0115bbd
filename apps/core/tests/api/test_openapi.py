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


def _schema(api_client) -> dict:
    return api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


def _operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield f"{method.upper()} {path}", operation


@pytest.mark.django_db
def test_every_operation_has_a_summary_and_a_description(api_client):
    missing = [
        name
        for name, operation in _operations(_schema(api_client))
        if not operation.get("summary", "").strip() or len(operation.get("description", "").strip()) < 20
    ]
    assert missing == []


@pytest.mark.django_db
def test_every_tag_in_use_is_described(api_client):
    schema = _schema(api_client)
    described = {tag["name"] for tag in schema.get("tags", []) if tag.get("description", "").strip()}
    used = {tag for _, operation in _operations(schema) for tag in operation.get("tags", [])}
    assert used and used <= described, used - described


@pytest.mark.django_db
def test_one_described_bearer_scheme_for_the_one_kind_of_token(api_client):
    """Swagger UI sends a token only under the scheme it was entered in: two Bearer schemes for
    the same JWT made the inbox 401 for a user who had authorized the other one."""
    schema = _schema(api_client)
    schemes = schema["components"]["securitySchemes"]
    bearer = [name for name, scheme in schemes.items() if scheme.get("scheme") == "bearer"]
    assert bearer == ["jwtAuth"]
    assert all(scheme.get("description") for scheme in schemes.values()), schemes
    inbox = schema["paths"]["/api/v1/notifications/"]["get"]["security"]
    assert {"jwtAuth": []} in inbox


@pytest.mark.django_db
def test_list_item_errors_are_documented_with_their_index(api_client):
    """The API says ``services.3``; the document must accept that, not the literal ``services.INDEX``."""
    components = _schema(api_client)["components"]["schemas"]
    attr = components["ProvidersRegisterServicesINDEXErrorComponent"]["properties"]["attr"]
    assert "enum" not in attr
    assert re.fullmatch(attr["pattern"], "services.3")
    assert not re.fullmatch(attr["pattern"], "services.INDEX")


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

    # Every asset is served here: a static file, or a view (Redoc's bundle, apps/core/api/docs.py).
    for local_path in {urlparse(r).path for r in refs}:
        if local_path.startswith("/static/"):
            assert finders.find(local_path.removeprefix("/static/")), f"{local_path} does not resolve"
        else:
            assert client.get(local_path).status_code == 200, f"{local_path} is not served"
