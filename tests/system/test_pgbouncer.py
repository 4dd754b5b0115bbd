"""The rating flow through a real PgBouncer in transaction mode (Debian's 1.18).

Web and worker reach PostgreSQL through PgBouncer with ``DATABASE_POOLER=pgbouncer`` (no
server-side prepared statements or cursors); the dispatcher, whose LISTEN needs a session of
its own, connects directly, as the shipped compose file and manifests do. And bin/probe's
check of a pooler, which must tell a frozen PgBouncer from a live one.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys

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


def _probe(port: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(harness.ROOT / "bin" / "probe"), "pgbouncer", "--port", str(port), "--timeout", "2"],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_the_probe_fails_a_frozen_pgbouncer_that_still_accepts_connections(pgbouncer):
    healthy = _probe(pgbouncer.port)
    assert (healthy.returncode, healthy.stdout.split(":")[0]) == (0, "healthy"), healthy.stdout
    os.kill(pgbouncer.process.pid, signal.SIGSTOP)
    try:
        # The kernel still completes the TCP handshake: only PgBouncer's own answer tells.
        with socket.create_connection(("127.0.0.1", pgbouncer.port), timeout=2):
            pass
        frozen = _probe(pgbouncer.port)
        assert frozen.returncode == 1, frozen.stdout
        assert frozen.stdout.startswith("unhealthy: pgbouncer on 127.0.0.1:"), frozen.stdout
    finally:
        os.kill(pgbouncer.process.pid, signal.SIGCONT)
    assert _probe(pgbouncer.port).returncode == 0
    # With no role given (the image's HEALTHCHECK), the probe finds it off the process's command line.
    auto = subprocess.run(
        [sys.executable, str(harness.ROOT / "bin" / "probe"), "--pid", str(pgbouncer.process.pid)],
        env={**os.environ, "PGBOUNCER_PORT": str(pgbouncer.port)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (auto.returncode, auto.stdout.split(":")[0]) == (0, "healthy"), auto.stdout
    assert "SSLRequest" in auto.stdout
    pgbouncer.stop()
    gone = _probe(pgbouncer.port)
    assert gone.returncode == 1 and "refused" in gone.stdout.lower(), gone.stdout
