import datetime as dt
import io
import uuid
from decimal import Decimal

import pytest
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer

from apps.core.renderers import ORJSONParser, ORJSONRenderer

PAYLOAD = {
    "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "created_at": dt.datetime(2026, 11, 21, 9, 30, 1, 123456, tzinfo=dt.UTC),
    "day": dt.date(2026, 11, 21),
    "average": 4.25,
    "price": Decimal("12.50"),
    "count": 3,
    "missing": None,
    "flags": [True, False],
    "nested": {"name": "Zoë 🚀", "lines": "a\u2028b\u2029c", "distribution": {"1": 0, "5": 2}},
    "big": 2**70,
}


def test_renders_exactly_what_drf_renders():
    assert ORJSONRenderer().render(PAYLOAD) == JSONRenderer().render(PAYLOAD)


def test_none_renders_as_an_empty_body():
    assert ORJSONRenderer().render(None) == b""


def test_an_indent_request_is_rendered_indented_like_drf():
    media_type = "application/json; indent=2"
    assert ORJSONRenderer().render(PAYLOAD, media_type, {}) == JSONRenderer().render(PAYLOAD, media_type, {})


def test_parses_exactly_what_drf_parses():
    body = (
        b'{"provider_id": "12345678-1234-5678-1234-567812345678", "score": 5, "comment": "Zo\\u00eb \xf0\x9f\x9a\x80"}'
    )
    assert ORJSONParser().parse(io.BytesIO(body)) == JSONParser().parse(io.BytesIO(body))


@pytest.mark.parametrize("body", [b"", b"{", b'{"score": NaN}', b"\xff"])
def test_malformed_json_is_a_parse_error(body):
    with pytest.raises(ParseError):
        ORJSONParser().parse(io.BytesIO(body))


@pytest.mark.django_db
def test_malformed_json_is_a_400_in_the_error_shape(customer_client):
    response = customer_client.post("/api/v1/ratings/", data=b"{", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["type"] == "client_error"
    assert response.json()["errors"][0]["code"] == "parse_error"
