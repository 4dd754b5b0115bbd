"""A Homerun client's whole flow against the partner API, over HTTP, with real processes:
create a customer and a provider, rate, read the average, read the feed twice (the item, then
nothing); then the verified-rating flow: the partner invites a customer, who is notified (inbox
item and email), lists the invitation and rates with it; the partner lists and cannot revoke
it any more. On the monolith, and on the split deployment, where the feed and the notices come
from the notifications deployment (its own database; partner keys read from the main one)."""

import pytest

from tests.system.harness import http, manage, scalar, wait_until

pytestmark = pytest.mark.system

PARTNER_KEY_SCRIPT = """
from apps.ratings.models import PartnerAPIKey
_, key = PartnerAPIKey.objects.create_key(name="Homerun client")
print("KEY" + key)
"""
NOTIFICATIONS = "SELECT count(*) FROM notifications_notification"


def _partner_key(env: dict) -> str:
    return manage(env, "shell", "-c", PARTNER_KEY_SCRIPT).split("KEY", 1)[1].strip()


def _homerun_flow(*, ratings_base: str, feed_base: str, key: str, notifications_db: str) -> dict:
    assert http("GET", ratings_base + "/healthcheck", api_key=key) == (200, "OK 1.0.0")
    assert http("GET", feed_base + "/healthcheck", api_key=key) == (200, "OK 1.0.0")
    assert http("GET", ratings_base + "/healthcheck")[0] == 401
    assert http("GET", feed_base + "/healthcheck")[0] == 401

    status, customer = http(
        "POST", ratings_base + "/v1/customers", api_key=key, body={"name": "Ada", "email": "ada@example.com"}
    )
    assert status == 201, customer
    status, provider = http(
        "POST",
        ratings_base + "/v1/service-providers",
        api_key=key,
        body={"name": "Pipes Ltd", "email": "pipes@example.com"},
    )
    assert status == 201, provider
    assert http("GET", ratings_base + f"/v1/customers/{customer['id']}", api_key=key) == (200, customer)
    assert http("GET", ratings_base + f"/v1/service-providers/{provider['id']}", api_key=key) == (200, provider)

    body = {"customerId": customer["id"], "serviceProviderId": provider["id"], "rating": 4, "comment": "Fixed it fast"}
    status, rating = http("POST", ratings_base + "/v1/ratings", api_key=key, body=body)
    assert status == 201, rating
    assert (rating["customerId"], rating["serviceProviderId"], rating["rating"], rating["comment"]) == (
        customer["id"],
        provider["id"],
        4,
        "Fixed it fast",
    )
    assert http("POST", ratings_base + "/v1/ratings", api_key=key, body=body) == (
        409,
        {"status": 409, "message": "You have already rated this provider."},
    )
    assert http("GET", ratings_base + f"/v1/ratings/{rating['id']}", api_key=key) == (200, rating)
    status, average = http("GET", ratings_base + f"/v1/service-providers/{provider['id']}/average-rating", api_key=key)
    assert status == 200
    assert (average["serviceProviderId"], average["averageRating"], average["totalRatings"]) == (provider["id"], 4.0, 1)

    # The event travels outbox → broker → worker into the inbox; only then is there a feed item.
    wait_until(lambda: scalar(notifications_db, NOTIFICATIONS) == 1, timeout=60, what="the inbox item")
    feed_url = feed_base + f"/api/notifications/{provider['id']}"
    status, first = http("GET", feed_url, api_key=key)
    assert status == 200, first
    assert first["hasMore"] is False
    (item,) = first["notifications"]
    assert item["serviceProviderId"] == provider["id"]
    assert item["ratingId"] == rating["id"]
    assert item["message"] == 'New 4-star rating received from Ada: "Fixed it fast"'
    assert http("GET", feed_url, api_key=key) == (200, {"notifications": [], "hasMore": False})
    # lastChecked reads again without consuming.
    status, since = http("GET", feed_url + "?lastChecked=2000-01-01T00:00:00Z", api_key=key)
    assert (status, [n["id"] for n in since["notifications"]]) == (200, [item["id"]])
    return provider


def _invitation_flow(*, base: str, key: str, provider: dict, main_db: str, notifications_db: str, smtp) -> None:
    api = base + "/api/v1"
    email, password = "alice@example.com", "a-long-enough-secret-2026"
    status, customer = http("POST", api + "/customers/", body={"email": email, "password": password, "name": "Alice"})
    assert status == 201, customer
    token = http("POST", api + "/auth/token/", body={"email": email, "password": password})[1]["access"]

    status, invitation = http(
        "POST",
        api + "/ratings/invitations/",
        api_key=key,
        body={"customer_id": customer["id"], "provider_id": provider["id"], "external_reference": "JOB-1"},
    )
    assert (status, invitation["status"]) == (201, "open"), invitation

    # outbox → broker → the notifications worker: the customer's inbox item and email.
    invited = "SELECT count(*) FROM notifications_notification WHERE type = 'rating.invited'"
    wait_until(lambda: scalar(notifications_db, invited) == 1, timeout=60, what="the invitation's inbox item")
    event_id = scalar(main_db, "SELECT id FROM core_outboxevent WHERE type = 'rating.invited'")
    wait_until(
        lambda: any(m.startswith(f"<{event_id}.") for m in smtp.counts()), timeout=60, what="the invitation email"
    )

    status, mine = http("GET", api + "/customers/me/invitations/", token=token)
    assert status == 200
    assert [(i["id"], i["rating_id"]) for i in mine["results"]] == [(invitation["id"], None)]
    status, rating = http(
        "POST",
        api + "/ratings/",
        token=token,
        body={"provider_id": provider["id"], "score": 5, "invitation_id": invitation["id"]},
    )
    assert (status, rating["verified"]) == (201, True), rating
    assert http("GET", api + "/customers/me/invitations/", token=token)[1]["results"] == []
    summary = http("GET", api + f"/providers/{provider['id']}/rating-summary/")[1]
    assert (summary["count"], summary["verified_count"]) == (2, 1)

    status, listed = http("GET", api + "/ratings/invitations/", api_key=key)
    assert (status, [(i["id"], i["status"]) for i in listed["results"]]) == (200, [(invitation["id"], "used")])
    status, refused = http("POST", api + f"/ratings/invitations/{invitation['id']}/revoke/", api_key=key)
    assert (status, refused["errors"][0]["code"]) == (409, "invitation_used")


def test_homerun_flow_on_the_monolith(stack, make_db, smtp, redis_broker):
    db = make_db()
    env = stack.env(DATABASE_URL=db, CELERY_BROKER_URL=redis_broker.url, EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}")
    base = stack.web("web", env)
    stack.worker("worker", env)
    stack.beat("beat", env)

    key = _partner_key(env)
    provider = _homerun_flow(ratings_base=base, feed_base=base, key=key, notifications_db=db)
    _invitation_flow(base=base, key=key, provider=provider, main_db=db, notifications_db=db, smtp=smtp)


def test_homerun_flow_on_the_split_deployment(stack, make_db, smtp, redis_broker, cache_redis):
    main_db, notifications_db = make_db(), make_db()
    main_env = stack.env(
        DATABASE_URL=main_db, CELERY_BROKER_URL=redis_broker.url, EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}"
    )
    main = stack.web("main-web", main_env)
    stack.worker("main-worker", main_env, queues="default")
    stack.beat("main-beat", main_env)
    notifications_env = stack.env(
        DJANGO_SETTINGS_MODULE="config.settings.notifications",
        DATABASE_URL=notifications_db,
        PARTNER_KEYS_DATABASE_URL=main_db,
        CELERY_BROKER_URL=redis_broker.url,
        REDIS_URL=cache_redis.url,
        METRICS_TOKEN="system-test-metrics-token",
        EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}",
        SECURE_SSL_REDIRECT="false",
    )
    notifications = stack.web("notifications-web", notifications_env)
    stack.worker("notifications-worker", notifications_env, queues="notifications,deliveries")

    key = _partner_key(main_env)
    provider = _homerun_flow(ratings_base=main, feed_base=notifications, key=key, notifications_db=notifications_db)
    _invitation_flow(
        base=main, key=key, provider=provider, main_db=main_db, notifications_db=notifications_db, smtp=smtp
    )
    # The feed's consumption marker lives with the inbox, in the notifications database.
    assert (
        scalar(
            notifications_db, "SELECT count(*) FROM notifications_notification WHERE partner_consumed_at IS NOT NULL"
        )
        == 1
    )
    assert scalar(main_db, NOTIFICATIONS) == 0
    # The notifications deployment serves only the feed and health check of the partner API.
    assert http("GET", notifications + "/v1/customers/00000000-0000-4000-8000-000000000000")[0] == 404
