import logging
from unittest import mock

import pytest


@pytest.mark.django_db
def test_healthz_answers_without_touching_the_database(api_client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = api_client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_every_check(api_client):
    response = api_client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok", "broker": "ok"}}


@pytest.mark.django_db
def test_readyz_is_503_per_check_without_the_exception_text_when_the_cache_is_down(
    api_client, redis_down, closed_port, caplog
):
    with caplog.at_level(logging.WARNING, logger="apps.core.api.views"):
        response = api_client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"database": "ok", "cache": "error", "broker": "ok"}}
    body = response.content.decode()
    for leak in (str(closed_port), "127.0.0.1", "Error", "refused"):
        assert leak not in body
    # The reason is in the server's log instead.
    [record] = [r for r in caplog.records if r.name == "apps.core.api.views"]
    assert record.getMessage() == "Readiness check cache failed"
    assert record.exc_info[0].__name__ == "ConnectionError"


@pytest.mark.django_db
def test_readyz_is_503_per_check_when_the_broker_is_unreachable(api_client, caplog):
    with mock.patch("apps.core.api.views.current_app.connection_for_write", side_effect=OSError("amqp://u:pw@h")):
        response = api_client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"database": "ok", "cache": "ok", "broker": "error"}}
    assert "amqp://u:pw@h" not in response.content.decode()
    assert "amqp://u:pw@h" in caplog.text
