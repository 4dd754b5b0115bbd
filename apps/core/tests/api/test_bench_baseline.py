import importlib

import pytest
from django.db import connection
from django.test import override_settings
from django.urls import clear_url_caches, resolve
from django.urls.exceptions import Resolver404

import config.urls
from config.bench_baseline import BASELINE_TABLE

PATH = "/bench/baseline-insert"


def _reload_urls():
    clear_url_caches()
    importlib.reload(config.urls)


@pytest.fixture
def baseline_routed():
    with override_settings(BENCH_BASELINE_VIEW=True):
        _reload_urls()
        yield
    _reload_urls()


def test_the_baseline_view_is_not_routed_by_default(settings):
    assert settings.BENCH_BASELINE_VIEW is False
    with pytest.raises(Resolver404):
        resolve(PATH)


@pytest.mark.django_db
def test_the_baseline_view_is_a_404_in_a_normal_deployment(api_client):
    response = api_client.post(PATH)
    assert response.status_code == 404


@pytest.mark.django_db
def test_the_baseline_view_inserts_one_row_when_enabled(baseline_routed, client):
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {BASELINE_TABLE} (id varchar(36) PRIMARY KEY, created_at timestamp NOT NULL)")
    response = client.post(PATH)
    assert response.status_code == 201
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {BASELINE_TABLE}")
        assert cursor.fetchone()[0] == 1
    assert client.get(PATH).status_code == 405
