"""Databases: the default one, and the notifications app's own when it has one."""

from config.env import env

# The embedded settings (local, test) default to SQLite under var/, so `make run` needs no
# server; production refuses to start without it (Django's dummy backend until it does).
DATABASE_URL = env("DATABASE_URL", default="").strip()
DATABASES = {
    "default": env.db_url_config(DATABASE_URL) if DATABASE_URL else {"ENGINE": "django.db.backends.dummy"},
}
# The notifications app can keep its tables in a database of its own (config/routers.py).
NOTIFICATIONS_DATABASE_URL = env("NOTIFICATIONS_DATABASE_URL", default="")
if NOTIFICATIONS_DATABASE_URL:
    DATABASES["notifications"] = env.db_url_config(NOTIFICATIONS_DATABASE_URL)
    DATABASE_ROUTERS = ["config.routers.NotificationsRouter"]
# "pgbouncer" when DATABASE_URL goes through PgBouncer in transaction mode (docs/operations.md
# "Connection pooling"); empty for a direct connection.
DATABASE_POOLER = env("DATABASE_POOLER", default="")
CONN_MAX_AGE = env.int("CONN_MAX_AGE", default=60)
# On: after a PostgreSQL restart (or a failover) every kept connection is broken. Without
# the check each web thread fails one request and each worker thread one task on it (the
# deliveries then wait for their retry: 2 minutes to converge, measured). The check runs
# before the first query of each request or task (close_old_connections arms it:
# config/celery_app.py does that around every task). On PostgreSQL it usually costs no
# round trip (apps/core/db/postgresql); CONN_HEALTH_CHECKS=false turns it off.
CONN_HEALTH_CHECKS = env.bool("CONN_HEALTH_CHECKS", default=True)
# psycopg's pool (Django 5.1+) instead of one persistent connection per process.
DB_POOL = env.bool("DB_POOL", default=False)
DB_POOL_MAX = env.int("DB_POOL_MAX", default=4)
for _db in DATABASES.values():
    _db["CONN_MAX_AGE"] = CONN_MAX_AGE
    _db["CONN_HEALTH_CHECKS"] = CONN_HEALTH_CHECKS
    if _db["ENGINE"] == "django.db.backends.postgresql":
        _db["ENGINE"] = "apps.core.db.postgresql"
    if _db["ENGINE"] == "django.db.backends.sqlite3":
        # Web, worker and beat write the same SQLite file. BEGIN IMMEDIATE takes the write lock
        # up front, so a busy database makes a transaction wait (timeout) instead of failing
        # at once with "database is locked" when a deferred one tries to upgrade; WAL lets
        # readers go on while one process writes.
        _db.setdefault("OPTIONS", {}).update(
            timeout=20, transaction_mode="IMMEDIATE", init_command="PRAGMA journal_mode=WAL;"
        )
    elif DATABASE_POOLER == "pgbouncer":
        # PgBouncer in transaction mode hands each transaction to any server connection: no
        # server-side prepared statements (1.18 cannot route them; psycopg prepares a query
        # after 5 runs unless told not to) and no server-side cursors (Django's .iterator()
        # would open one outside a transaction).
        _db.setdefault("OPTIONS", {})["prepare_threshold"] = None
        _db["DISABLE_SERVER_SIDE_CURSORS"] = True
    elif DB_POOL and _db["ENGINE"] != "django.db.backends.dummy":
        _db.update(CONN_MAX_AGE=0, CONN_HEALTH_CHECKS=False)
        _db.setdefault("OPTIONS", {})["pool"] = {"min_size": 1, "max_size": DB_POOL_MAX}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
