import pytest
from django.db import connection
from django.urls import resolve
from django.urls.exceptions import Resolver404

from config.bench_baseline import BASELINE_TABLE

PATH = "/bench/baseline-insert"


def test_the_baseline_view_is_not_routed_by_the_main_urlconf():
    with pytest.raises(Resolver404):
        resolve(PATH, urlconf="config.urls")
    with pytest.raises(Resolver404):
        resolve(PATH, urlconf="config.urls_notifications")


@pytest.mark.django_db
def test_the_baseline_view_is_a_404_in_a_normal_deployment(api_client):
    response = api_client.post(PATH)
    assert response.status_code == 404


@pytest.mark.django_db
def test_the_benchmark_urlconf_routes_the_baseline_view_which_inserts_one_row(settings, client):
    settings.ROOT_URLCONF = "config.urls_bench"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {BASELINE_TABLE} (id varchar(36) PRIMARY KEY, created_at timestamp NOT NULL)")
    response = client.post(PATH)
    assert response.status_code == 201
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {BASELINE_TABLE}")
        assert cursor.fetchone()[0] == 1
    assert client.get(PATH).status_code == 405
    # The rest of the API is the main URLconf's.
    assert client.get("/healthz").status_code == 200
