"""A database connection broken while idle is replaced before a Celery task's first query.

config/celery_app.py runs close_old_connections() before every task; that is what re-arms
Django's CONN_HEALTH_CHECKS for the next query. Each worker thread has its own connection, so
this runs in a thread of its own, like a thread-pool worker's.
"""

import threading
import time

import pytest
from django.db import OperationalError, connection, connections

from config.celery_app import close_old_db_connections

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _task_thread_after_backend_killed(health_checks: bool) -> object:
    result: list[object] = []
    backend: list[int] = []
    killed = threading.Event()

    def run() -> None:
        conn = connections["default"]
        conn.settings_dict = {**conn.settings_dict, "CONN_HEALTH_CHECKS": health_checks, "CONN_MAX_AGE": 60}
        try:
            close_old_db_connections()  # task_prerun of the first task
            with conn.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pid = cursor.fetchone()[0]
            close_old_db_connections()  # task_postrun: the connection is kept (CONN_MAX_AGE)
            backend.append(pid)
            assert killed.wait(timeout=10)
            close_old_db_connections()  # task_prerun of the next task
            with conn.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                result.append(cursor.fetchone()[0] != pid)
        except OperationalError as exc:
            result.append(exc)
        finally:
            conn.close()

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 10
    while not backend and time.monotonic() < deadline:
        time.sleep(0.01)
    with connection.cursor() as cursor:  # the test's own connection: in effect, a database restart
        cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [backend[0]])  # waits for the exit
    killed.set()
    thread.join(timeout=30)
    return result[0]


def test_the_next_task_gets_a_fresh_connection_with_health_checks():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    assert _task_thread_after_backend_killed(True) is True


def test_without_health_checks_the_next_task_fails_on_the_broken_connection():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    assert isinstance(_task_thread_after_backend_killed(False), OperationalError)


def test_health_checks_are_on_by_default():
    from django.conf import settings

    assert all(db["CONN_HEALTH_CHECKS"] for db in settings.DATABASES.values() if "pool" not in db.get("OPTIONS", {}))


def _count_direct_queries(conn) -> list[str]:
    """Record the statements sent on ``conn``'s psycopg connection outside Django's cursors."""
    sent: list[str] = []
    raw = conn.connection
    original = raw.cursor

    def cursor(*args, **kwargs):
        cur = original(*args, **kwargs)
        execute = cur.execute

        def counted(query, *a, **k):
            sent.append(str(query))
            return execute(query, *a, **k)

        cur.execute = counted
        return cur

    raw.cursor = cursor
    return sent


def test_a_healthy_idle_connection_passes_the_check_without_a_query():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    connection.ensure_connection()
    sent = _count_direct_queries(connection)
    assert connection.is_usable() is True
    assert sent == []


def test_a_connection_the_server_ended_fails_the_check():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    other = connections.create_connection("default")
    try:
        other.ensure_connection()
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        assert other.is_usable() is True
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
        # The server's goodbye is on the socket now: the check reads it (SELECT 1 fails).
        assert other.is_usable() is False
    finally:
        other.close()


def test_a_pending_notification_falls_back_to_the_round_trip_and_stays_usable():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    listener = connections.create_connection("default")
    # Outside the test's transaction, so the notification is delivered at once.
    sender = connections.create_connection("default")
    try:
        listener.ensure_connection()
        with listener.cursor() as cursor:
            cursor.execute("LISTEN health_check_probe")
        with sender.cursor() as cursor:
            cursor.execute("SELECT pg_notify('health_check_probe', 'x')")
        deadline = time.monotonic() + 5
        sent = _count_direct_queries(listener)
        while not sent and time.monotonic() < deadline:
            assert listener.is_usable() is True
            time.sleep(0.01)
        assert sent == ["SELECT 1"]
    finally:
        listener.close()
        sender.close()


def test_postgresql_databases_use_the_project_backend():
    from django.conf import settings

    engines = {db["ENGINE"] for db in settings.DATABASES.values()}
    assert "django.db.backends.postgresql" not in engines
