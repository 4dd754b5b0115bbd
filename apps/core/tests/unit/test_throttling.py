import pytest
from django.core.cache import cache


@pytest.mark.django_db
def test_an_anonymous_request_is_counted_by_the_anon_throttle_only(api_client, provider, settings):
    from rest_framework.throttling import AnonRateThrottle

    from apps.core.throttling import UserRateThrottle

    response = api_client.get(f"/api/v1/providers/{provider.pk}/rating-summary/", REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200
    assert cache.get(AnonRateThrottle.cache_format % {"scope": "anon", "ident": "10.1.2.3"}) is not None
    assert cache.get(UserRateThrottle.cache_format % {"scope": "user", "ident": "10.1.2.3"}) is None


@pytest.mark.django_db
def test_an_authenticated_request_is_counted_per_user(customer, customer_client):
    from apps.core.throttling import UserRateThrottle

    response = customer_client.get("/api/v1/customers/me/")
    assert response.status_code == 200
    assert cache.get(UserRateThrottle.cache_format % {"scope": "user", "ident": customer.user.pk}) is not None
