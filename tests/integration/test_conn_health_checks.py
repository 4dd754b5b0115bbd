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
