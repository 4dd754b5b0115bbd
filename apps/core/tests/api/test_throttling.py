import contextlib
import logging
import socket
import threading
import time

import pytest
from prometheus_client import REGISTRY
from rest_framework.settings import api_settings
from rest_framework.test import APIClient
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from apps.core import throttling as core_throttling
from apps.core.throttling import PublicReadThrottle
from apps.ratings.api.throttling import RatingSubmitThrottle
from apps.ratings.models import Rating
from conftest import auth_client
from tests.errors import assert_error
from tests.factories import CustomerFactory, ProviderFactory


@pytest.fixture
def rates(settings, monkeypatch):
    """Set throttle rates for one test. DRF reads them into a class attribute at import."""

    def apply(**rates):
        full = {"anon": "1000/min", "user": "1000/min", "rating_submit": "1000/min", "public_read": None, **rates}
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": full}
        api_settings.reload()
        for cls in (SimpleRateThrottle, AnonRateThrottle, UserRateThrottle, RatingSubmitThrottle, PublicReadThrottle):
            monkeypatch.setattr(cls, "THROTTLE_RATES", full)

    yield apply
    api_settings.reload()


@pytest.mark.django_db
def test_429_in_the_error_shape(api_client, rates):
    rates(anon="2/min")
    assert api_client.get("/api/v1/ratings/").status_code == 200
    assert api_client.get("/api/v1/ratings/").status_code == 200
    response = api_client.get("/api/v1/ratings/")
    assert_error(response, 429, "throttled", attr=None, type_="client_error")
    assert int(response["Retry-After"]) > 0


@pytest.mark.django_db
def test_rating_submit_rate_applies_to_post_only(customer_client, rates):
    rates(rating_submit="2/min")
    providers = ProviderFactory.create_batch(3)
    for provider in providers[:2]:
        response = customer_client.post("/api/v1/ratings/", {"provider_id": str(provider.pk), "score": 5})
        assert response.status_code == 201
    blocked = customer_client.post("/api/v1/ratings/", {"provider_id": str(providers[2].pk), "score": 5})
    assert_error(blocked, 429, "throttled", attr=None)
    assert Rating.objects.count() == 2

    for _ in range(5):
        assert customer_client.get("/api/v1/ratings/").status_code == 200


@pytest.mark.django_db
def test_rating_submit_rate_is_per_user(customer_client, rates):
    rates(rating_submit="1/min")
    provider = ProviderFactory()
    assert customer_client.post("/api/v1/ratings/", {"provider_id": str(provider.pk), "score": 5}).status_code == 201
    other = auth_client(CustomerFactory().user)
    assert other.post("/api/v1/ratings/", {"provider_id": str(provider.pk), "score": 5}).status_code == 201


@pytest.mark.django_db
def test_with_num_proxies_the_client_ip_comes_from_x_forwarded_for(api_client, settings, rates):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    rates(anon="1/min")
    assert api_settings.NUM_PROXIES == 1

    first = api_client.get("/api/v1/ratings/", HTTP_X_FORWARDED_FOR="203.0.113.1")
    second = api_client.get("/api/v1/ratings/", HTTP_X_FORWARDED_FOR="203.0.113.2")
    assert (first.status_code, second.status_code) == (200, 200)

    again = api_client.get("/api/v1/ratings/", HTTP_X_FORWARDED_FOR="203.0.113.1")
    assert_error(again, 429, "throttled")
    # The proxy appends the real peer; a client-forged leftmost entry does not buy a new bucket.
    forged = api_client.get("/api/v1/ratings/", HTTP_X_FORWARDED_FOR="198.51.100.9, 203.0.113.2")
    assert_error(forged, 429, "throttled")


@pytest.mark.django_db
def test_with_num_proxies_0_x_forwarded_for_is_ignored(api_client, settings, rates):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 0}
    rates(anon="1/min")
    assert api_client.get("/api/v1/ratings/", HTTP_X_FORWARDED_FOR="203.0.113.1").status_code == 200
    rotated = api_client.get("/api/v1/ratings/", HTTP_X_FORWARDED_FOR="203.0.113.2")
    assert_error(rotated, 429, "throttled")


def _public_reads(provider) -> list[str]:
    return [
        f"/api/v1/providers/{provider.pk}/rating-summary/",
        f"/api/v1/providers/{provider.pk}/",
        "/api/v1/providers/",
        "/api/v1/service-categories/",
    ]


@pytest.mark.django_db
def test_public_reads_are_not_counted_by_default(api_client, customer_client, rates):
    # Limited at the edge: the app spends no Redis round trip on them unless told to.
    rates(anon="1/min", user="1/min")
    provider = ProviderFactory()
    for path in _public_reads(provider):
        for client in (api_client, customer_client):
            assert [client.get(path).status_code for _ in range(3)] == [200, 200, 200], path
    # The other reads still count under the anon rate.
    assert api_client.get("/api/v1/ratings/").status_code == 200
    assert_error(api_client.get("/api/v1/ratings/"), 429, "throttled")


@pytest.mark.django_db
def test_throttle_public_read_counts_every_caller_per_ip_across_the_public_reads(
    api_client, customer_client, settings, rates
):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    rates(public_read="3/min")
    provider = ProviderFactory()
    paths = _public_reads(provider)
    for path in paths[:3]:
        assert api_client.get(path, HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 200
    # Signed in or not, the same IP's bucket: the answer is the same for everyone.
    refused = customer_client.get(paths[3], HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert_error(refused, 429, "throttled")
    assert int(refused["Retry-After"]) > 0
    assert api_client.get(paths[0], HTTP_X_FORWARDED_FOR="203.0.113.8").status_code == 200
    # Writes on the same views keep the default throttles, not the public-read bucket.
    assert customer_client.patch(
        paths[1], {"name": "x"}, format="json", HTTP_X_FORWARDED_FOR="203.0.113.7"
    ).status_code in (200, 403)


def _fail_open_count(scope: str) -> float:
    return REGISTRY.get_sample_value("throttle_fail_open_total", {"scope": scope}) or 0


@pytest.mark.django_db
def test_with_redis_down_requests_go_through_unthrottled_counted_and_logged_once(
    customer_client, redis_down, monkeypatch, caplog
):
    # A throttle that refused (or 500ed) every request during a cache outage would be the outage.
    monkeypatch.setattr(core_throttling, "_warned_at", None)
    monkeypatch.setattr(core_throttling, "_suppressed", 0)
    before = {scope: _fail_open_count(scope) for scope in ("anon", "user", "rating_submit")}
    providers = ProviderFactory.create_batch(3)

    with caplog.at_level(logging.WARNING, logger="apps.core.throttling"):
        for provider in providers:
            response = customer_client.post(
                "/api/v1/ratings/",
                {"provider_id": str(provider.pk), "score": 4},
                HTTP_IDEMPOTENCY_KEY=f"k-{provider.pk}",
            )
            assert response.status_code == 201
        assert APIClient().get("/api/v1/ratings/").status_code == 200

    assert sorted(Rating.objects.values_list("provider_id", flat=True)) == sorted(p.pk for p in providers)
    assert _fail_open_count("user") == before["user"] + 3
    assert _fail_open_count("rating_submit") == before["rating_submit"] + 3
    assert _fail_open_count("anon") == before["anon"] + 1
    warnings = [r for r in caplog.records if r.name == "apps.core.throttling"]
    assert len(warnings) == 1
    # The first reader of Redis on the request path is the token revocation check (it runs with
    # authentication, before the throttles); the pause it starts holds for the throttles too.
    assert warnings[0].getMessage().startswith("Throttle cache unavailable (token_revocation: ConnectionError)")


@pytest.fixture
def hung_redis(settings):
    """A "Redis" that accepts connections and never answers: the worst outage for a client."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    accepted = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                accepted.append(server.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    url = f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            # Long against a request's own time, so the two cannot be confused on a busy machine.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
    yield url
    stop.set()
    thread.join(timeout=5)
    for conn in accepted:
        conn.close()
    server.close()


@pytest.mark.django_db
def test_a_hung_redis_costs_one_timeout_then_the_throttles_stop_asking(customer_client, hung_redis, settings):
    settings.THROTTLE_FAIL_OPEN_SECONDS = 30
    providers = ProviderFactory.create_batch(5)
    timings = []
    for provider in providers:
        started = time.monotonic()
        response = customer_client.post(
            "/api/v1/ratings/", {"provider_id": str(provider.pk), "score": 4}, format="json"
        )
        timings.append(time.monotonic() - started)
        assert response.status_code == 201
    # The first request waits out one socket timeout (the user throttle); the rating throttle
    # and every later request skip the cache instead of each waiting 2 s again.
    assert 1.9 < timings[0] < 3.9, timings
    assert all(t < 1.0 for t in timings[1:]), timings
    assert Rating.objects.count() == 5
