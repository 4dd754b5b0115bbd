"""A user's data export on the split deployment, with real processes: the main deployment
(web, a worker for the default queue, beat; its own database) builds the archive, and the
notifications deployment (its own database and worker) answers the notifications part through
the broker. The downloaded archive holds the user's inbox item, which only the notifications
database has."""

import pytest

from tests.system.harness import http, query, scalar, wait_until

pytestmark = pytest.mark.system


def test_the_export_holds_the_inbox_of_the_notifications_deployment(stack, make_db, smtp, redis_broker, cache_redis):
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
    stack.worker("notifications-worker", notifications_env, queues="notifications,deliveries")

    api = main + "/api/v1"
    password = "a-long-enough-secret-2026"
    status, provider = http(
        "POST", api + "/providers/", body={"email": "drains@example.com", "password": password, "name": "Drains Ltd"}
    )
    assert status == 201, provider
    status, customer = http(
        "POST", api + "/customers/", body={"email": "ada@example.com", "password": password, "name": "Ada"}
    )
    assert status == 201, customer
    token = {
        email: http("POST", api + "/auth/token/", body={"email": email, "password": password})[1]["access"]
        for email in ("drains@example.com", "ada@example.com")
    }
    status, rating = http(
        "POST", api + "/ratings/", token=token["ada@example.com"], body={"provider_id": provider["id"], "score": 4}
    )
    assert status == 201, rating
    # The provider's inbox items (the rating's, the sign-up's "confirm your email") are made by
    # the notifications deployment, in its own database.
    rated = "SELECT count(*) FROM notifications_notification WHERE type = 'rating.created'"
    wait_until(lambda: scalar(notifications_db, rated) == 1, timeout=60, what="the provider's inbox item")
    inbox = query(
        notifications_db,
        "SELECT id::text, title, type FROM notifications_notification WHERE recipient_id ="
        " (SELECT recipient_id FROM notifications_notification WHERE type = 'rating.created') ORDER BY created_at, id",
    )
    assert "rating.created" in {row[2] for row in inbox}
    assert scalar(main_db, "SELECT count(*) FROM notifications_notification") == 0

    status, export = http("POST", api + "/accounts/me/export/", token=token["drains@example.com"])
    assert (status, export["status"]) == (202, "pending"), export

    ready = "SELECT status FROM accounts_dataexport WHERE id = %s"
    wait_until(
        lambda: scalar(main_db, ready, [export["id"]]) == "ready", timeout=60, what="the export's notifications part"
    )
    [(event_id, link)] = query(
        main_db, "SELECT id, data->'link' FROM core_outboxevent WHERE type = 'account.export_ready'"
    )
    assert link["uid"] == export["id"]
    status, archive = http("GET", api + f"/accounts/exports/{link['uid']}/?token={link['token']}")
    assert status == 200, archive
    assert [(n["id"], n["title"], n["type"]) for n in archive["inbox"]] == inbox
    assert archive["account"]["email"] == "drains@example.com"
    assert archive["provider"]["id"] == provider["id"]
    assert archive["notification_preferences"] == {"switches": [], "schedule": None}
    assert list(archive)[:3] == ["format", "generated_at", "account"]
    assert list(archive)[3:] == sorted(list(archive)[3:])
    # The request was answered once: confirmed, not sent again.
    asked = "SELECT confirmed_at IS NOT NULL FROM core_outboxevent WHERE type = 'account.export_part_requested'"
    assert query(main_db, asked) == [(True,)]
    # And the link went out by email, from the notifications deployment.
    wait_until(lambda: any(m.startswith(f"<{event_id}.") for m in smtp.counts()), timeout=60, what="the export email")
