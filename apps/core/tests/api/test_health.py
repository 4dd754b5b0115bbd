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
def test_readyz_is_503_with_detail_when_the_cache_fails(api_client):
    with mock.patch("apps.core.api.views.cache.set", side_effect=ConnectionError("refused")):
        response = api_client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["cache"] == "error: ConnectionError: refused"


@pytest.mark.django_db
def test_readyz_is_503_with_detail_when_the_broker_is_unreachable(api_client, settings):
    with mock.patch("apps.core.api.views.current_app.connection_for_write", side_effect=OSError("refused")):
        response = api_client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["broker"] == "error: OSError: refused"
    assert body["checks"]["database"] == "ok"
