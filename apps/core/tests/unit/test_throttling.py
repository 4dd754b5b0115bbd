import pytest
from django.core.cache import cache


@pytest.mark.django_db
def test_an_anonymous_request_is_counted_by_the_anon_throttle_only(api_client, provider, settings):
    from rest_framework.throttling import AnonRateThrottle

    from apps.core.throttling import UserRateThrottle

    response = api_client.get(f"/api/v1/ratings/?provider={provider.pk}", REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200
    assert cache.get(AnonRateThrottle.cache_format % {"scope": "anon", "ident": "10.1.2.3"}) is not None
    assert cache.get(UserRateThrottle.cache_format % {"scope": "user", "ident": "10.1.2.3"}) is None


@pytest.mark.django_db
def test_an_authenticated_request_is_counted_per_user(customer, customer_client):
    from apps.core.throttling import UserRateThrottle

    response = customer_client.get("/api/v1/customers/me/")
    assert response.status_code == 200
    assert cache.get(UserRateThrottle.cache_format % {"scope": "user", "ident": customer.user.pk}) is not None


class _TwoPerMinute:
    rate = "2/min"


@pytest.mark.django_db
def test_the_anon_throttle_refuses_past_its_rate_and_says_when_to_retry():
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from apps.core.throttling import AnonRateThrottle

    class Throttle(_TwoPerMinute, AnonRateThrottle):
        pass

    def allowed(ip: str) -> tuple[bool, Throttle]:
        request = Request(APIRequestFactory().get("/", REMOTE_ADDR=ip))
        throttle = Throttle()
        return throttle.allow_request(request, None), throttle

    assert allowed("10.0.0.1")[0]
    assert allowed("10.0.0.1")[0]
    refused, throttle = allowed("10.0.0.1")
    assert not refused
    assert 0 < throttle.wait() <= 60
    assert allowed("10.0.0.2")[0]


@pytest.mark.django_db
def test_rating_submissions_past_the_rate_are_429(provider, customer_client, monkeypatch):
    from apps.ratings.api.throttling import RatingSubmitThrottle

    monkeypatch.setattr(RatingSubmitThrottle, "rate", "1/min", raising=False)
    body = {"provider_id": str(provider.pk), "score": 4}
    assert customer_client.post("/api/v1/ratings/", body, format="json").status_code == 201
    refused = customer_client.post("/api/v1/ratings/", body, format="json")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60


@pytest.mark.django_db
def test_on_redis_a_request_is_counted_in_one_window_counter(api_client, provider):
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache
    from rest_framework.throttling import AnonRateThrottle

    if not isinstance(caches["default"], RedisCache):
        pytest.skip("the one-round-trip counter runs on Redis only")
    for _ in range(3):
        api_client.get(f"/api/v1/ratings/?provider={provider.pk}", REMOTE_ADDR="10.9.9.9")
    key = AnonRateThrottle.cache_format % {"scope": "anon", "ident": "10.9.9.9"}
    # DRF's algorithm would have stored a list of three timestamps.
    assert cache.get(key) == 3


@pytest.mark.django_db
def test_the_window_gets_an_expiry_once_and_a_key_left_without_one_gets_it_back(api_client, provider):
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache
    from rest_framework.throttling import AnonRateThrottle

    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        pytest.skip("the one-round-trip counter runs on Redis only")
    key = backend.make_and_validate_key(AnonRateThrottle.cache_format % {"scope": "anon", "ident": "10.9.9.8"})
    client = backend._cache.get_client(key, write=True)
    api_client.get(f"/api/v1/ratings/?provider={provider.pk}", REMOTE_ADDR="10.9.9.8")
    first_ttl = client.ttl(key)
    assert 0 < first_ttl <= 60
    # A later request in the window does not push the window's end out.
    client.expire(key, 5)
    api_client.get(f"/api/v1/ratings/?provider={provider.pk}", REMOTE_ADDR="10.9.9.8")
    assert 0 < client.ttl(key) <= 5
    assert int(client.get(key)) == 2
    # A counter that lost its expiry (written by hand, or by an older release) gets one again.
    client.persist(key)
    assert client.ttl(key) == -1
    api_client.get(f"/api/v1/ratings/?provider={provider.pk}", REMOTE_ADDR="10.9.9.8")
    assert 0 < client.ttl(key) <= 60
    assert int(client.get(key)) == 3
