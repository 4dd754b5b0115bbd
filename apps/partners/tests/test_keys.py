"""Partner keys: scopes, revocation, rotation with a grace period, and use as staff see it."""

from datetime import timedelta

import pytest
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.utils import timezone

from apps.accounts.models import User
from apps.partners import keys
from apps.partners.keys import partner_key_revoke, partner_key_rotate, partner_key_usage_flush
from apps.partners.models import PartnerKey, Scope
from apps.partners.tests.conftest import key_client, own_customer, own_provider
from apps.ratings.models import Rating
from tests.factories import partner_key_create

pytestmark = pytest.mark.django_db


def test_a_read_only_key_reads_but_cannot_write(partner_key):
    key, _ = partner_key
    provider = own_provider(key)
    customer = own_customer(key)
    _, secret = partner_key_create(partner=key.partner, name="Dashboard", scopes=[Scope.READ])
    reader = key_client(secret)
    users = User.objects.count()

    assert reader.get(f"/v1/service-providers/{provider.pk}").status_code == 200
    assert reader.get(f"/v1/customers/{customer.pk}").status_code == 200
    writes = [
        ("/v1/customers", {"name": "Eve", "email": "eve@example.com"}),
        ("/v1/service-providers", {"name": "Eve", "email": "eve@example.com"}),
        ("/v1/ratings", {"customerId": str(customer.pk), "serviceProviderId": str(provider.pk), "rating": 5}),
    ]
    for path, body in writes:
        response = reader.post(path, body)
        assert response.status_code == 403, path
        assert response.json() == {"status": 403, "message": response.json()["message"]}
        assert "lacks the scope" in response.json()["message"]
    # Consuming the feed is a scope of its own.
    assert reader.get(f"/api/notifications/{provider.pk}").status_code == 403
    assert User.objects.count() == users
    assert Rating.objects.count() == 0


def test_a_ratings_only_key_rates_but_cannot_create_accounts(partner_key):
    key, _ = partner_key
    provider, customer = own_provider(key), own_customer(key)
    _, secret = partner_key_create(partner=key.partner, name="Jobs", scopes=[Scope.RATINGS_WRITE])
    client = key_client(secret)

    body = {"customerId": str(customer.pk), "serviceProviderId": str(provider.pk), "rating": 5}
    assert client.post("/v1/ratings", body).status_code == 201
    assert client.post("/v1/customers", {"name": "Eve", "email": "eve@example.com"}).status_code == 403
    assert client.get(f"/v1/ratings/{Rating.objects.get().pk}").status_code == 403


def test_a_revoked_key_is_401_on_its_next_call(partner, partner_key):
    assert partner.get("/api/notifications/x").status_code == 200

    partner_key_revoke(key=partner_key[0])

    response = partner.get("/api/notifications/x")
    assert response.status_code == 401
    assert response.json() == {"status": 401, "message": "Invalid API key."}


def test_an_inactive_partners_keys_are_401(partner, partner_key):
    partner_key[0].partner.is_active = False
    partner_key[0].partner.save()

    assert partner.get("/api/notifications/x").status_code == 401


def test_a_rotated_keys_old_secret_works_until_the_grace_period_ends(partner, partner_key):
    old, _ = partner_key
    new, new_secret = partner_key_rotate(key=old, grace=timedelta(hours=1))

    assert (new.partner, new.scopes, new.rotated_from) == (old.partner, old.scopes, old)
    assert new_secret.startswith(new.prefix + ".")
    assert partner.get("/api/notifications/x").status_code == 200
    assert key_client(new_secret).get("/api/notifications/x").status_code == 200

    PartnerKey.objects.filter(pk=old.pk).update(expiry_date=timezone.now() - timedelta(seconds=1))

    response = partner.get("/api/notifications/x")
    assert response.status_code == 401
    assert response.json() == {"status": 401, "message": "This API key has expired."}
    assert key_client(new_secret).get("/api/notifications/x").status_code == 200


def test_the_secret_is_stored_hashed():
    key, secret = partner_key_create()
    stored = PartnerKey.objects.values_list("id", "prefix", "hashed_key").get(pk=key.pk)

    assert secret.split(".", 1)[1] not in "".join(stored)
    assert PartnerKey.objects.get_from_key(secret) == key


@pytest.fixture
def redis_cache():
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        pytest.skip("needs Redis (REDIS_URL)")
    cache._cache.get_client(None, write=True).flushdb()
    return cache


def test_use_is_counted_in_redis_and_flushed_to_the_key_row(
    redis_cache, partner, partner_key, django_assert_num_queries
):
    key, _ = partner_key
    before = timezone.now()
    # One query per request for the key (with its partner); the count costs no database write.
    with django_assert_num_queries(1):
        assert partner.get("/v1/customers/not-a-uuid").status_code == 404
    for _ in range(2):
        partner.get("/v1/customers/not-a-uuid")
    key.refresh_from_db()
    assert (key.request_count, key.last_used_at) == (0, None)

    assert partner_key_usage_flush() == 1

    key.refresh_from_db()
    assert key.request_count == 3
    assert before <= key.last_used_at <= timezone.now()
    # Flushed counts are gone from Redis: a second flush adds nothing.
    assert partner_key_usage_flush() == 0
    partner.get("/v1/customers/not-a-uuid")
    partner_key_usage_flush()
    key.refresh_from_db()
    assert key.request_count == 4


def test_with_redis_down_requests_go_through_uncounted_and_counting_pauses(
    partner, partner_key, redis_down, caplog, monkeypatch
):
    key, _ = partner_key
    # The pause is this process's: monkeypatch puts it back for the tests that follow.
    monkeypatch.setattr(keys, "_paused_until", 0.0)

    # The key is read from the database; its use is not counted while Redis does not answer.
    statuses = [partner.get("/v1/customers/not-a-uuid").status_code for _ in range(3)]

    assert statuses == [404, 404, 404]
    key.refresh_from_db()
    assert key.request_count == 0
    # One warning, then a pause: no further attempt (nor log line) for each request.
    assert len([r for r in caplog.records if "Partner key use not counted" in r.getMessage()]) == 1
