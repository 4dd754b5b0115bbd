"""Retention: periodic deletes of rows nothing needs any more, in short batches.

A ``Purge`` names a table, the rows of it that may go (an SQL condition on the cutoff, written so
that rows something still needs never match it), the indexed time column the rows age by, and
the rows of other tables that must go first (they reference the purged ones: Django's foreign
keys have no ``ON DELETE CASCADE`` in the database). Apps register their purges
(``register_purge``); the beat tasks and ``manage.py purge_expired`` run them.

``purge_run`` deletes in batches of ``RETENTION_BATCH_SIZE`` rows, each its own transaction:
one SELECT of the batch's ids, oldest first and locked (``SKIP LOCKED`` on PostgreSQL: a purge
never waits for a worker, and a worker waits at most one batch for a purge), the dependants'
DELETEs and one DELETE by id; then a pause of ``RETENTION_BATCH_PAUSE_SECONDS`` so the writers
of these hot tables and autovacuum get their turn. Each SELECT starts after the last row the
previous one returned (keyset on the time column and id, which an index serves), so rows the
condition keeps, and index entries of rows deleted earlier in the run (they stay until vacuum),
are passed over once per run instead of once per batch. Running it again deletes nothing more.
"""

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.utils import timezone
from prometheus_client import Counter

logger = logging.getLogger(__name__)

PURGED = Counter("retention_purged", "Rows deleted by the retention purges, by purge", ["purge"])
# The SQLite build limits the number of parameters of one statement (32766 since 3.32).
MAX_BATCH_SIZE = 10_000


def _default_db() -> str:
    return DEFAULT_DB_ALIAS


@dataclass(frozen=True)
class Purge:
    """Rows of ``model`` matching ``condition`` go; ``retention()`` None keeps them forever.

    ``condition`` is SQL over the table aliased ``t`` with one ``%s``, the cutoff (now minus the
    retention). ``order_column`` is the column the batches walk in order (with ``id``); an index
    on (``order_column``, ``id``), partial if ``condition`` allows, must serve ``condition``.
    ``dependants`` are DELETE statements run before the rows' own, ``{ids}`` standing for the
    batch's ids.
    """

    name: str
    app_label: str
    model: type[models.Model]
    order_column: str
    condition: str
    retention: Callable[[], timedelta | None]
    dependants: Sequence[str] = ()
    database: Callable[[], str] = field(default=_default_db)

    @property
    def table(self) -> str:
        return self.model._meta.db_table


@dataclass(frozen=True)
class PurgeResult:
    name: str
    deleted: int
    batches: int
    # False: the time budget ran out first; the next run goes on where this one stopped.
    complete: bool
    # None: the purge is off (retention 0, keep forever).
    cutoff: datetime | None


_purges: dict[str, Purge] = {}


def register_purge(purge: Purge) -> None:
    _purges[purge.name] = purge


def registered_purges(*, app_label: str | None = None) -> list[Purge]:
    return [purge for purge in _purges.values() if app_label is None or purge.app_label == app_label]


def days(setting: str) -> Callable[[], timedelta | None]:
    """A retention read from a ``RETENTION_*_DAYS`` setting at run time; 0 keeps forever."""

    def retention() -> timedelta | None:
        value = getattr(settings, setting)
        return timedelta(days=value) if value > 0 else None

    return retention


def _placeholders(count: int) -> str:
    return ", ".join(["%s"] * count)


def select_batch_sql(purge: Purge, *, db: str, cutoff, after: tuple | None, size: int) -> tuple[str, list]:
    """The SELECT of one batch: ``after`` is the (time, id) of the last row of the previous one."""
    sql = f"SELECT t.id, t.{purge.order_column} FROM {purge.table} AS t WHERE ({purge.condition})"
    params: list = [cutoff]
    if after is not None:
        sql += f" AND (t.{purge.order_column}, t.id) > (%s, %s)"
        params += list(after)
    sql += f" ORDER BY t.{purge.order_column}, t.id LIMIT %s"
    params.append(size)
    if connections[db].features.has_select_for_update_skip_locked:
        sql += " FOR UPDATE SKIP LOCKED"
    return sql, params


def _select_batch(purge: Purge, *, db: str, cutoff, after: tuple | None, size: int) -> list[tuple]:
    sql, params = select_batch_sql(purge, db=db, cutoff=cutoff, after=after, size=size)
    with connections[db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _delete_batch(purge: Purge, *, db: str, ids: list) -> int:
    marks = _placeholders(len(ids))
    with connections[db].cursor() as cursor:
        for statement in purge.dependants:
            cursor.execute(statement.format(ids=marks), ids)
        cursor.execute(f"DELETE FROM {purge.table} WHERE id IN ({marks})", ids)
        return cursor.rowcount


def purge_count(purge: Purge, *, now: datetime | None = None) -> tuple[int, datetime | None]:
    """How many rows ``purge_run`` would delete now (its own rows, not their dependants)."""
    retention = purge.retention()
    if retention is None:
        return 0, None
    cutoff = (now or timezone.now()) - retention
    db = purge.database()
    with connections[db].cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM {purge.table} AS t WHERE ({purge.condition})",
            [connections[db].ops.adapt_datetimefield_value(cutoff)],
        )
        return cursor.fetchone()[0], cutoff


def purge_run(
    purge: Purge,
    *,
    now: datetime | None = None,
    batch_size: int | None = None,
    pause: float | None = None,
    max_seconds: float | None = None,
) -> PurgeResult:
    """Delete ``purge``'s expired rows in batches; stops early after ``max_seconds``."""
    retention = purge.retention()
    if retention is None:
        return PurgeResult(purge.name, deleted=0, batches=0, complete=True, cutoff=None)
    cutoff = (now or timezone.now()) - retention
    size = min(batch_size or settings.RETENTION_BATCH_SIZE, MAX_BATCH_SIZE)
    pause = settings.RETENTION_BATCH_PAUSE_SECONDS if pause is None else pause
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    db = purge.database()
    ops = connections[db].ops
    adapted_cutoff = ops.adapt_datetimefield_value(cutoff)
    deleted = batches = 0
    after = None
    while True:
        with transaction.atomic(using=db):
            rows = _select_batch(purge, db=db, cutoff=adapted_cutoff, after=after, size=size)
            if rows:
                count = _delete_batch(purge, db=db, ids=[row[0] for row in rows])
        if not rows:
            break
        batches += 1
        deleted += count
        PURGED.labels(purge.name).inc(count)
        last_id, last_time = rows[-1]
        after = (ops.adapt_datetimefield_value(last_time), last_id)
        if len(rows) < size:
            # Nothing more matched when this batch was read.
            break
        if deadline is not None and time.monotonic() >= deadline:
            logger.info("retention: %s stopped after %d rows (time budget); the next run goes on", purge.name, deleted)
            return PurgeResult(purge.name, deleted=deleted, batches=batches, complete=False, cutoff=cutoff)
        if pause > 0:
            time.sleep(pause)
    if deleted:
        logger.info("retention: %s deleted %d rows older than %s", purge.name, deleted, cutoff.isoformat())
    return PurgeResult(purge.name, deleted=deleted, batches=batches, complete=True, cutoff=cutoff)


def purges_run(*, app_label: str | None = None, max_seconds: float | None = None) -> list[PurgeResult]:
    """Run the registered purges (of one app) one after the other within one time budget."""
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    results = []
    for purge in registered_purges(app_label=app_label):
        # Every purge gets at least one batch per run, so a slow first one never starves the rest.
        remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
        results.append(purge_run(purge, max_seconds=remaining))
    return results
