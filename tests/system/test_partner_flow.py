"""A Homerun client's whole flow against the partner API, over HTTP, with real processes (web,
worker, beat; PostgreSQL, a Redis broker and cache), run twice in a row as Homerun's
test_full_integration.sh and test_notification_service.sh would be run twice (fixed emails and
ids): creation (the same records the second time), rating, the feed consumed once, the average,
and the internal notification endpoint; a second partner sees none of it; the key's use reaches
its row through the beat flush. Homerun's own two scripts, twice. And the verified-rating flow
on the split deployment (the notifications app in its own deployment and database)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.system.harness import http, manage, scalar, wait_until

pytestmark = pytest.mark.system

PARTNER_KEY_SCRIPT = """
from apps.partners.keys import partner_key_create
from apps.partners.models import Partner
partner = Partner.objects.create(name="{name}")
_, key = partner_key_create(partner=partner, name="Homerun client")
print("KEY" + key)
"""
SP = "550e8400-e29b-41d4-a716-446655440000"


def _partner_key(env: dict, name: str) -> str:
    return manage(env, "shell", "-c", PARTNER_KEY_SCRIPT.format(name=name)).split("KEY", 1)[1].strip()


def _full_integration(base: str, key: str, run: int) -> dict:
    """test_full_integration.sh, with the key on each request."""
    assert http("GET", base + "/healthcheck") == (200, "OK 1.0.0")
    assert http("HEAD", base + "/healthcheck")[0] == 200
    status, customer = http(
        "POST", base + "/v1/customers", api_key=key, body={"name": "Test Customer", "email": "customer@test.com"}
    )
    assert status == 201, customer
    status, provider = http(
        "POST",
        base + "/v1/service-providers",
        api_key=key,
        body={"name": "Test Service Provider", "email": "provider@test.com"},
    )
    assert status == 201, provider
    body = {
        "customerId": customer["id"],
        "serviceProviderId": provider["id"],
        "rating": 5,
        "comment": "Fantastic service! Highly recommended.",
    }
    status, rating = http("POST", base + "/v1/ratings", api_key=key, body=body)
    assert status == 201, rating

    feed_url = base + f"/api/notifications/{provider['id']}"
    status, first = http("GET", feed_url, api_key=key)
    assert status == 200, first
    if run == 1:
        (item,) = first["notifications"]
        assert (item["ratingId"], item["serviceProviderId"]) == (rating["id"], provider["id"])
        assert (
            item["message"] == 'New 5-star rating received from Test Customer: "Fantastic service! Highly recommended."'
        )
    else:
        # The second run's rating is the first one (the same request again): announced, and
        # consumed, once.
        assert first == {"notifications": [], "hasMore": False}
    assert http("GET", feed_url, api_key=key) == (200, {"notifications": [], "hasMore": False})

    status, average = http("GET", base + f"/v1/service-providers/{provider['id']}/average-rating", api_key=key)
    assert status == 200
    assert (average["serviceProviderId"], average["averageRating"], average["totalRatings"]) == (provider["id"], 5.0, 1)
    return {"customer": customer, "provider": provider, "rating": rating}


def _notification_service(base: str, key: str) -> None:
    """test_notification_service.sh, with the key on each request."""
    assert http("GET", base + "/healthcheck")[0] == 200
    notices = [
        ("6ba7b810-9dad-11d1-80b4-00c04fd430c8", 4, "Alice Johnson", "Good service, could be better"),
        ("6ba7b811-9dad-11d1-80b4-00c04fd430c8", 5, "Bob Smith", "Excellent work!"),
    ]
    feed_url = base + f"/api/notifications/{SP}"
    for i, (rating_id, score, name, comment) in enumerate(notices):
        body = {
            "serviceProviderId": SP,
            "ratingId": rating_id,
            "rating": score,
            "customerName": name,
            "comment": comment,
        }
        status, created = http("POST", base + "/api/internal/notifications", api_key=key, body=body)
        assert (status, created["message"]) == (201, "Notification created successfully"), created
        status, got = http("GET", feed_url, api_key=key)
        assert status == 200
        assert [n["message"] for n in got["notifications"]] == [
            f'New {score}-star rating received from {name}: "{comment}"'
        ]
        assert got["notifications"][0]["id"] == created["id"]
        if i == 0:
            assert http("GET", feed_url, api_key=key) == (200, {"notifications": [], "hasMore": False})
    status, _ = http("GET", base + "/api/notifications/not-a-uuid", api_key=key)
    assert status == 200


def test_homerun_flow_twice_with_tenancy(stack, make_db, smtp, redis_broker, cache_redis):
    db = make_db()
    env = stack.env(
        DATABASE_URL=db,
        CELERY_BROKER_URL=redis_broker.url,
        REDIS_URL=cache_redis.url,
        EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}",
        PARTNER_KEY_USAGE_FLUSH_INTERVAL="1",
    )
    base = stack.web("web", env)
    stack.worker("worker", env)
    stack.beat("beat", env)
    key = _partner_key(env, "Homerun")
    other = _partner_key(env, "Another marketplace")

    first = _full_integration(base, key, run=1)
    _notification_service(base, key)
    second = _full_integration(base, key, run=2)
    _notification_service(base, key)

    assert {k: v["id"] for k, v in second.items()} == {k: v["id"] for k, v in first.items()}
    assert scalar(db, "SELECT count(*) FROM ratings_rating") == 1
    assert scalar(db, "SELECT count(*) FROM accounts_user") == 2

    # Another partner: the first one's objects are 404, its feed is its own (empty).
    for path in (
        f"/v1/customers/{first['customer']['id']}",
        f"/v1/service-providers/{first['provider']['id']}",
        f"/v1/service-providers/{first['provider']['id']}/average-rating",
        f"/v1/ratings/{first['rating']['id']}",
    ):
        assert http("GET", base + path, api_key=other) == (
            404,
            {"status": 404, "message": "The requested resource was not found."},
        ), path
    assert http("GET", base + f"/api/notifications/{SP}", api_key=other) == (
        200,
        {"notifications": [], "hasMore": False},
    )

    # The rating's provider notice still went through the normal pipeline: outbox → worker → inbox.
    wait_until(
        lambda: scalar(db, "SELECT count(*) FROM notifications_notification WHERE type = 'rating.created'") == 1,
        timeout=60,
        what="the provider's inbox item",
    )
    # A notice posted for the partner's own provider reaches that provider too, through the
    # same pipeline: its inbox item and its email (a notice for an unknown id, as above, does not).
    body = {"serviceProviderId": first["provider"]["id"], "ratingId": SP, "rating": 3, "customerName": "Eve"}
    assert http("POST", base + "/api/internal/notifications", api_key=key, body=body)[0] == 201
    posted = "SELECT count(*) FROM notifications_notification WHERE type = 'partner.notification'"
    wait_until(lambda: scalar(db, posted) == 1, timeout=60, what="the provider's partner notice")
    event_id = scalar(db, "SELECT id FROM core_outboxevent WHERE type = 'partner.notification'")
    wait_until(
        lambda: any(m.startswith(f"<{event_id}.") for m in smtp.counts()), timeout=60, what="the partner notice email"
    )
    # Each key's use reaches its row (counted in Redis, flushed by beat every second).
    wait_until(
        lambda: (
            scalar(
                db,
                "SELECT request_count FROM partners_partnerkey WHERE name = 'Homerun client' "
                "AND partner_id = (SELECT id FROM partners_partner WHERE name = 'Homerun')",
            )
            >= 20
        ),
        timeout=30,
        what="the key's request count",
    )


HOMERUN = Path(__file__).parent / "homerun"


def _homerun_script(name: str, base: str, key: str) -> subprocess.CompletedProcess:
    """One of Homerun's own scripts, unchanged but for its base URLs and the key on each curl."""
    script = (HOMERUN / name).read_text()
    script = script.replace("http://localhost:8080", base).replace("http://localhost:8081", base)
    script = script.replace("curl -s ", 'curl -s -H "Authorization: Api-Key $PARTNER_KEY" ')
    return subprocess.run(
        ["bash", "-c", script],
        env={**os.environ, "PARTNER_KEY": key},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.skipif(shutil.which("curl") is None, reason="Homerun's scripts call curl")
def test_homeruns_own_scripts_pass_twice(stack, make_db, redis_broker):
    env = stack.env(DATABASE_URL=make_db(), CELERY_BROKER_URL=redis_broker.url)
    base = stack.web("web", env)
    stack.worker("worker", env)
    key = _partner_key(env, "Homerun")

    for run in (1, 2):
        full = _homerun_script("test_full_integration.sh", base, key)
        assert full.returncode == 0, full.stdout + full.stderr
        assert "FULL INTEGRATION TEST COMPLETED" in full.stdout
        if run == 1:
            assert "⚠️" not in full.stdout, full.stdout
            assert "Rating notification found in notification service!" in full.stdout
            assert "One-time delivery confirmed" in full.stdout
        notifications = _homerun_script("test_notification_service.sh", base, key)
        assert notifications.returncode == 0, notifications.stdout + notifications.stderr
        assert "⚠️" not in notifications.stdout, notifications.stdout


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


def test_verified_rating_flow_on_the_split_deployment(stack, make_db, smtp, redis_broker, cache_redis):
    """The partner invites a customer for its provider; the notifications deployment (its own
    database) tells the customer (inbox item and email); the customer rates with it; the partner
    lists it, used, and cannot revoke it; another partner cannot see or revoke it."""
    main_db, notifications_db = make_db(), make_db()
    main_env = stack.env(
        DATABASE_URL=main_db, CELERY_BROKER_URL=redis_broker.url, EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}"
    )
    main = stack.web("main-web", main_env)
    stack.worker("main-worker", main_env, queues="default")
    stack.beat("main-beat", main_env)
    notifications_env = stack.notifications_env(
        database_url=notifications_db, broker_url=redis_broker.url, cache_url=cache_redis.url, smtp_port=smtp.port
    )
    notifications = stack.web("notifications-web", notifications_env)
    stack.worker("notifications-worker", notifications_env, queues="notifications,deliveries")
    key = _partner_key(main_env, "Homerun")
    other = _partner_key(main_env, "Another marketplace")

    status, provider = http(
        "POST", main + "/v1/service-providers", api_key=key, body={"name": "Drains Ltd", "email": "drains@example.com"}
    )
    assert status == 201, provider
    status, customer = http(
        "POST", main + "/v1/customers", api_key=key, body={"name": "Ada", "email": "ada@example.com"}
    )
    body = {"customerId": customer["id"], "serviceProviderId": provider["id"], "rating": 3, "comment": "Ok"}
    assert http("POST", main + "/v1/ratings", api_key=key, body=body)[0] == 201
    _invitation_flow(
        base=main, key=key, provider=provider, main_db=main_db, notifications_db=notifications_db, smtp=smtp
    )

    assert http("GET", main + "/api/v1/ratings/invitations/", api_key=other)[1]["results"] == []
    invitation_id = scalar(main_db, "SELECT id FROM ratings_ratinginvitation")
    assert http("POST", main + f"/api/v1/ratings/invitations/{invitation_id}/revoke/", api_key=other)[0] == 404
    # The notifications deployment serves no partner path: the partner API is the main deployment's.
    assert http("GET", notifications + "/healthcheck")[0] == 404
    # Both ratings reached the provider's inbox through the normal pipeline, in that deployment.
    created = "SELECT count(*) FROM notifications_notification WHERE type = 'rating.created'"
    wait_until(lambda: scalar(notifications_db, created) == 2, timeout=60, what="the provider's inbox items")
