"""The rating flow through a real PgBouncer in transaction mode (Debian's 1.18).

Web and worker reach PostgreSQL through PgBouncer with ``DATABASE_POOLER=pgbouncer`` (no
server-side prepared statements or cursors); the dispatcher, whose LISTEN needs a session of
its own, connects directly, as the shipped compose file and manifests do.
"""

import shutil

import pytest

from tests.system import harness
from tests.system.harness import post_ratings, scalar, seed, wait_until

pytestmark = [
    pytest.mark.system,
    pytest.mark.skipif(shutil.which("pgbouncer") is None, reason="needs Debian's pgbouncer"),
]

NOTIFICATIONS = "SELECT count(*) FROM notifications_notification"


@pytest.fixture
def pgbouncer():
    bouncer = harness.PrivatePgBouncer()
    bouncer.start()
    yield bouncer
    bouncer.stop()


def test_ratings_through_pgbouncer_are_written_and_notified_once(stack, make_db, smtp, redis_broker, pgbouncer):
    direct = make_db()
    pooled = pgbouncer.url(direct)
    env = stack.env(
        DATABASE_URL=pooled,
        DATABASE_POOLER="pgbouncer",
        CELERY_BROKER_URL=redis_broker.url,
        EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}",
    )
    base = stack.web("web", env, workers=2)
    stack.worker("worker", env)
    stack.dispatcher("dispatcher", {**env, "DATABASE_URL": direct, "DATABASE_POOLER": ""})
    seeded = seed(env, customers=10, providers=4)

    # Enough requests per worker thread that psycopg would have prepared its statements
    # (after 5 runs) and PgBouncer handed them to other server connections.
    results = post_ratings(base, seeded, 40, threads=8)
    assert [status for status, _, _ in results] == [201] * 40
    provider = seeded["providers"][0]
    summary = harness.http("GET", f"{base}/api/v1/providers/{provider['id']}/rating-summary/")
    assert summary[0] == 200 and summary[1]["count"] == 10

    wait_until(lambda: scalar(direct, NOTIFICATIONS) >= 40, timeout=120, what="40 inbox notifications")
    wait_until(lambda: len(smtp.message_ids) >= 40, timeout=120, what="40 emails")
    assert scalar(direct, NOTIFICATIONS) == 40
    assert scalar(direct, "SELECT count(*) FROM ratings_rating") == 40
    assert max(smtp.counts().values()) == 1

    # The web and worker transactions went through PgBouncer, in fewer server connections than
    # its clients.
    stats = {row["database"]: row for row in pgbouncer.show("SHOW STATS")}
    database = direct.rsplit("/", 1)[1]
    assert int(stats[database]["total_xact_count"]) > 40
    pools = {row["database"]: row for row in pgbouncer.show("SHOW POOLS")}
    assert int(pools[database]["sv_active"]) + int(pools[database]["sv_idle"]) <= 4
