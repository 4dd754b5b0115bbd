"""Retention purges (apps/core/retention.py) of core's tables, and the batching they all share."""

import time
from datetime import timedelta

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from prometheus_client import REGISTRY

from apps.core import retention
from apps.core.idempotency import IDEMPOTENCY_KEYS_PURGE
from apps.core.models import IdempotencyKey, OutboxEvent
from apps.core.outbox import OUTBOX_CONFIRMED_PURGE, OUTBOX_DEAD_PURGE, outbox_events_replay
from apps.core.tasks import retention_purge_task
from tests.factories import UserFactory

DAY = timedelta(days=1)


def postgres_only(test):
    skip = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")
    return pytest.mark.postgres(skip(test))


@pytest.fixture(autouse=True)
def _no_pause(settings):
    settings.RETENTION_BATCH_PAUSE_SECONDS = 0


def _event(**fields) -> OutboxEvent:
    now = timezone.now()
    row = {"type": "rating.created", "occurred_at": now, "data": {}, "task_name": "t", "queue": "q"}
    return OutboxEvent.objects.create(**{**row, **fields})


def _ago(days: float):
    return timezone.now() - timedelta(days=days)


def _purged(name: str) -> float:
    return REGISTRY.get_sample_value("retention_purged_total", {"purge": name}) or 0.0


def _ids(queryset) -> set:
    return set(queryset.values_list("pk", flat=True))


# --- outbox ------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_confirmed_events_past_their_age_go_and_everything_still_needed_stays(settings):
    settings.RETENTION_OUTBOX_CONFIRMED_DAYS = 7
    old_confirmed = [_event(dispatched_at=_ago(9), confirmed_at=_ago(8)) for _ in range(3)]
    kept = {
        _event(dispatched_at=_ago(1), confirmed_at=_ago(6)).pk,  # confirmed, not old enough
        _event().pk,  # never dispatched
        _event(dispatched_at=_ago(30), attempts=3).pk,  # dispatched, never confirmed
        _event(dispatched_at=_ago(30), attempts=10, dead_at=_ago(20)).pk,  # dead, awaiting replay
    }
    OutboxEvent.objects.filter(pk__in=kept).update(created_at=_ago(30))
    before = _purged("outbox_confirmed")

    result = retention.purge_run(OUTBOX_CONFIRMED_PURGE)

    assert (result.deleted, result.batches, result.complete) == (3, 1, True)
    assert _ids(OutboxEvent.objects.all()) == kept
    assert not OutboxEvent.objects.filter(pk__in=[e.pk for e in old_confirmed]).exists()
    assert _purged("outbox_confirmed") == before + 3
    # Idempotent: a second run finds nothing.
    assert retention.purge_run(OUTBOX_CONFIRMED_PURGE).deleted == 0
    assert _ids(OutboxEvent.objects.all()) == kept


@pytest.mark.django_db
def test_dead_events_stay_until_replayed_unless_their_own_age_is_set(settings):
    dead = _event(dispatched_at=_ago(40), attempts=10, dead_at=_ago(31))
    recently_dead = _event(dispatched_at=_ago(40), attempts=10, dead_at=_ago(2))
    settings.RETENTION_OUTBOX_DEAD_DAYS = 0  # the default: dead letters wait for a replay
    assert retention.purge_run(OUTBOX_DEAD_PURGE).cutoff is None
    assert OutboxEvent.objects.count() == 2

    # A replayed one is live again: neither purge touches it, however old.
    replayed = _event(dispatched_at=_ago(40), attempts=10, dead_at=_ago(35))
    assert outbox_events_replay(event_ids=[replayed.pk]) == 1

    settings.RETENTION_OUTBOX_DEAD_DAYS = 30
    settings.RETENTION_OUTBOX_CONFIRMED_DAYS = 1
    assert retention.purge_run(OUTBOX_DEAD_PURGE).deleted == 1
    assert retention.purge_run(OUTBOX_CONFIRMED_PURGE).deleted == 0
    assert _ids(OutboxEvent.objects.all()) == {recently_dead.pk, replayed.pk}
    assert not OutboxEvent.objects.filter(pk=dead.pk).exists()


@pytest.mark.django_db
def test_retention_zero_keeps_confirmed_events_forever(settings):
    settings.RETENTION_OUTBOX_CONFIRMED_DAYS = 0
    _event(dispatched_at=_ago(900), confirmed_at=_ago(900))
    result = retention.purge_run(OUTBOX_CONFIRMED_PURGE)
    assert (result.deleted, result.batches, result.cutoff) == (0, 0, None)
    assert OutboxEvent.objects.count() == 1


# --- idempotency keys ----------------------------------------------------------------------------
@pytest.mark.django_db
def test_idempotency_keys_past_their_ttl_go_in_batches(settings):
    settings.RETENTION_BATCH_SIZE = 2
    user = UserFactory()

    def key(name: str, age: timedelta) -> IdempotencyKey:
        record = IdempotencyKey.objects.create(
            user=user,
            key=name,
            method="POST",
            path="/x",
            request_fingerprint="f",
            response_status=201,
            response_body={},
        )
        IdempotencyKey.objects.filter(pk=record.pk).update(created_at=timezone.now() - age)
        return record

    for n in range(5):
        key(f"expired-{n}", settings.IDEMPOTENCY_KEY_TTL + timedelta(minutes=n + 1))
    fresh = key("fresh", settings.IDEMPOTENCY_KEY_TTL - timedelta(minutes=5))

    result = retention.purge_run(IDEMPOTENCY_KEYS_PURGE)

    assert (result.deleted, result.batches) == (5, 3)
    assert _ids(IdempotencyKey.objects.all()) == {fresh.pk}


# --- batching ------------------------------------------------------------------------------------
class _Statements:
    """Counts the statements a purge sends (Django's execute_wrapper hook)."""

    def __init__(self):
        self.selects: list[str] = []
        self.deletes: list[tuple[str, int]] = []

    def __call__(self, execute, sql, params, many, context):
        if sql.startswith("DELETE"):
            self.deletes.append((sql, len(params)))
        elif sql.startswith("SELECT t.id"):
            self.selects.append(sql)
        return execute(sql, params, many, context)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_purge_of_100000_rows_runs_in_short_batches(settings, monkeypatch):
    settings.RETENTION_BATCH_SIZE = 1000
    settings.RETENTION_OUTBOX_CONFIRMED_DAYS = 7
    table = OutboxEvent._meta.db_table
    with connection.cursor() as cursor:
        # Confirmed 8 to 9 days ago, plus ten recent confirmed rows and ten live ones to keep.
        cursor.execute(
            f"INSERT INTO {table} (id, type, version, occurred_at, data, task_name, queue, created_at, attempts,"
            " dispatched_at, confirmed_at, last_error)"
            " SELECT gen_random_uuid(), 'rating.created', 1, now(), '{}', 't', 'q', now() - interval '9 days', 1,"
            " now() - interval '9 days', now() - interval '8 days' - g * interval '1 second', ''"
            " FROM generate_series(1, 100000) AS g"
        )
    kept = {_event(dispatched_at=_ago(1), confirmed_at=_ago(1)).pk for _ in range(10)}
    kept |= {_event(dispatched_at=_ago(30)).pk for _ in range(10)}
    commits = []
    commit = connection.commit
    monkeypatch.setattr(connection, "commit", lambda: (commits.append(1), commit()))
    statements = _Statements()

    with connection.execute_wrapper(statements):
        result = retention.purge_run(OUTBOX_CONFIRMED_PURGE)

    assert result.deleted == 100_000
    assert _ids(OutboxEvent.objects.all()) == kept
    # 100 full batches, each one SELECT of at most 1000 ids and one DELETE of them, in a
    # transaction of its own; then one SELECT (and its transaction) that finds nothing.
    assert result.batches == 100
    assert len(statements.deletes) == 100
    assert {params for _, params in statements.deletes} == {1000}
    assert len(statements.selects) == 101
    assert len(commits) == 101
    # Every SELECT after the first starts where the previous batch ended.
    assert all("(t.confirmed_at, t.id) >" in sql for sql in statements.selects[1:])

    again = retention.purge_run(OUTBOX_CONFIRMED_PURGE)
    assert (again.deleted, again.batches) == (0, 0)
    assert _ids(OutboxEvent.objects.all()) == kept


@pytest.mark.django_db
def test_rows_with_the_same_time_across_a_batch_boundary_all_go(settings):
    # Each batch starts after the last (confirmed_at, id) of the previous one: the id breaks
    # ties, so rows confirmed at the same instant are neither skipped nor read twice.
    settings.RETENTION_BATCH_SIZE = 2
    same = _ago(8)
    for _ in range(5):
        _event(dispatched_at=_ago(9), confirmed_at=same)
    live = _event(dispatched_at=_ago(9))
    result = retention.purge_run(OUTBOX_CONFIRMED_PURGE)
    assert (result.deleted, result.batches) == (5, 3)
    assert _ids(OutboxEvent.objects.all()) == {live.pk}


@pytest.mark.django_db
def test_a_run_stops_at_its_time_budget_and_the_next_goes_on(settings):
    settings.RETENTION_BATCH_SIZE = 2
    for _ in range(5):
        _event(dispatched_at=_ago(9), confirmed_at=_ago(8))
    first = retention.purge_run(OUTBOX_CONFIRMED_PURGE, max_seconds=0)
    assert (first.deleted, first.batches, first.complete) == (2, 1, False)
    second = retention.purge_run(OUTBOX_CONFIRMED_PURGE)
    assert (second.deleted, second.complete) == (3, True)
    assert OutboxEvent.objects.count() == 0


@pytest.mark.django_db
def test_batches_are_spaced_by_the_pause(settings):
    settings.RETENTION_BATCH_SIZE = 1
    settings.RETENTION_BATCH_PAUSE_SECONDS = 0.1
    for _ in range(4):
        _event(dispatched_at=_ago(9), confirmed_at=_ago(8))
    started = time.monotonic()
    result = retention.purge_run(OUTBOX_CONFIRMED_PURGE)
    # Four full batches and a fifth that finds nothing: four pauses.
    assert result.deleted == 4
    assert time.monotonic() - started >= 0.4


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_row_a_worker_holds_is_skipped_not_waited_for(settings):
    settings.RETENTION_BATCH_SIZE = 10
    held, free = (_event(dispatched_at=_ago(9), confirmed_at=_ago(8)) for _ in range(2))
    other = psycopg.connect(**connection.get_connection_params())
    try:
        other.execute(f"SELECT 1 FROM {OutboxEvent._meta.db_table} WHERE id = %s FOR UPDATE", [held.pk])
        started = time.monotonic()
        assert retention.purge_run(OUTBOX_CONFIRMED_PURGE).deleted == 1
        assert time.monotonic() - started < 2
        assert _ids(OutboxEvent.objects.all()) == {held.pk}
    finally:
        other.close()
    assert not OutboxEvent.objects.filter(pk=free.pk).exists()
    assert retention.purge_run(OUTBOX_CONFIRMED_PURGE).deleted == 1


# --- task, schedule, command ---------------------------------------------------------------------
@pytest.mark.django_db
def test_the_beat_task_runs_cores_purges(settings):
    settings.RETENTION_OUTBOX_CONFIRMED_DAYS = 7
    _event(dispatched_at=_ago(9), confirmed_at=_ago(8))
    live = _event()
    assert retention_purge_task() == {
        "outbox_confirmed": 1,
        "outbox_dead": 0,
        "idempotency_keys": 0,
        "account_exports": 0,
    }
    assert _ids(OutboxEvent.objects.all()) == {live.pk}


def test_every_purge_is_scheduled_by_an_app_beat_task(settings):
    schedule = {entry["task"]: entry for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"core.retention_purge", "notifications.retention_purge"} <= set(schedule)
    assert {purge.app_label for purge in retention.registered_purges()} == {"core", "notifications"}
    assert schedule["core.retention_purge"]["schedule"] == settings.RETENTION_INTERVAL
    # A run's budget leaves room under the soft time limit (a stopped run resumes next time).
    assert settings.RETENTION_MAX_SECONDS < settings.CELERY_TASK_SOFT_TIME_LIMIT


@pytest.mark.django_db
def test_the_command_dry_run_counts_and_deletes_nothing(settings):
    settings.RETENTION_OUTBOX_CONFIRMED_DAYS = 7
    settings.RETENTION_OUTBOX_DEAD_DAYS = 0
    for _ in range(3):
        _event(dispatched_at=_ago(9), confirmed_at=_ago(8))
    _event(dispatched_at=_ago(40), attempts=10, dead_at=_ago(31))
    _event()
    out = _call("purge_expired", "--dry-run")
    assert OutboxEvent.objects.count() == 5
    lines = out.splitlines()
    assert any(line.startswith("outbox_confirmed") and "would delete 3 rows" in line for line in lines)
    assert any(line.startswith("outbox_dead") and "kept forever" in line for line in lines)
    assert '  outbox_backlog{state="dead"} 1' in lines
    assert '  outbox_backlog{state="undispatched"} 1' in lines
    assert any(line.startswith('  outbox_oldest_age_seconds{state="dead"} ') for line in lines)


@pytest.mark.django_db
def test_the_command_purges_and_shows_what_is_left(settings):
    settings.RETENTION_OUTBOX_CONFIRMED_DAYS = 7
    for _ in range(3):
        _event(dispatched_at=_ago(9), confirmed_at=_ago(8))
    _event(dispatched_at=_ago(40), attempts=10, dead_at=_ago(31))
    out = _call("purge_expired", "--only", "outbox_confirmed")
    assert out.splitlines()[0].startswith("outbox_confirmed  deleted 3 rows in 1 batches older than ")
    assert '  outbox_backlog{state="dead"} 1' in out.splitlines()
    assert OutboxEvent.objects.count() == 1
    with pytest.raises(CommandError, match="unknown purge nope"):
        _call("purge_expired", "--only", "nope")


def _call(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()
