"""The provider's rating summary, moved in the rating's own transaction."""

import datetime
from collections.abc import Iterable

from django.db import connection
from django.utils import timezone

from apps.ratings.models import (
    Rating,
    RatingMonth,
    RatingStatus,
    RatingSummary,
)


def rating_month(rated_at: datetime.datetime) -> datetime.date:
    """The calendar month (UTC, as its first day) a rating created at ``rated_at`` counts in."""
    return rated_at.astimezone(datetime.UTC).date().replace(day=1)


def _month_statement(*, provider_id, month: datetime.date, count: int, total: int) -> tuple[str, list] | None:
    """The statement adding ``count`` ratings and ``total`` stars to the provider's row for ``month``.

    An upsert (``INSERT … ON CONFLICT DO UPDATE SET x = x + excluded.x``, PostgreSQL and
    SQLite alike), so the first rating of a month needs no second round trip and concurrent
    writers add up instead of losing an update. A removal never creates a row: a month without
    one is drift the repair command fixes, not a negative count.
    """
    if not count and not total:
        return None
    table = RatingMonth._meta.db_table
    key = [
        RatingMonth._meta.get_field("provider").get_db_prep_value(provider_id, connection),
        connection.ops.adapt_datefield_value(month),
    ]
    if count >= 0 and total >= 0:
        sql = (
            f"INSERT INTO {table} (provider_id, month, count, sum) VALUES (%s, %s, %s, %s) "
            f"ON CONFLICT (provider_id, month) DO UPDATE "
            f"SET count = {table}.count + excluded.count, sum = {table}.sum + excluded.sum"
        )
        return sql, [*key, count, total]
    sql = f"UPDATE {table} SET count = count + %s, sum = sum + %s WHERE provider_id = %s AND month = %s"
    return sql, [count, total, *key]


def _summary_apply(
    *,
    provider_id,
    changes: Iterable[tuple[int, int]],
    rated_at: datetime.datetime,
    verified_delta: int = 0,
    replied_delta: int = 0,
) -> dict[str, int] | None:
    """Add ``(score, +1|-1)`` changes to a provider's summary in one ``UPDATE … SET x = x + n``.

    The same changes move the provider's row for the month of ``rated_at`` (the rating's
    creation), which the monthly trend reads: on PostgreSQL in the same statement (the upsert
    as a ``WITH`` of the summary's ``UPDATE``, so a rating still costs one round trip for
    both), on SQLite in a statement before it. Every writer of a provider's figures takes the
    two row locks in this one statement, so all of them take them in the same order and queue
    rather than deadlock (PostgreSQL runs a ``WITH`` the main query does not read once the
    main query is done, in practice after the summary's row lock).

    Returns the summary after the change (``{count, sum}``: the events carry it) from the same
    statement's ``RETURNING``, or None when there was nothing to change. SQL rather than
    ``update()`` with ``F()``: Django's ``update()`` cannot return the new values, and a second
    query for them would be a round trip more for every rating.
    """
    deltas: dict[str, int] = {}
    for score, delta in changes:
        key = f"stars_{score}"
        deltas[key] = deltas.get(key, 0) + delta
        deltas["count"] = deltas.get("count", 0) + delta
        deltas["sum"] = deltas.get("sum", 0) + score * delta
    if verified_delta:
        deltas["verified_count"] = verified_delta
    if replied_delta:
        deltas["replied_count"] = replied_delta
    if not deltas:
        return None
    table = RatingSummary._meta.db_table
    columns = [(RatingSummary._meta.get_field(name).column, delta) for name, delta in deltas.items()]
    assignments = ", ".join(f"{column} = {column} + %s" for column, _ in columns)
    sql = f"UPDATE {table} SET {assignments}, updated_at = %s WHERE provider_id = %s RETURNING count, sum"
    # Adapted as the ORM would: SQLite (the embedded default) takes neither a UUID nor an aware
    # datetime as they are.
    params = [
        *(delta for _, delta in columns),
        connection.ops.adapt_datetimefield_value(timezone.now()),
        RatingSummary._meta.pk.get_db_prep_value(provider_id, connection),
    ]
    month = _month_statement(
        provider_id=provider_id,
        month=rating_month(rated_at),
        count=deltas.get("count", 0),
        total=deltas.get("sum", 0),
    )
    with connection.cursor() as cursor:
        if month is None:
            cursor.execute(sql, params)
        elif connection.vendor == "postgresql":
            cursor.execute(f"WITH month_row AS ({month[0]}) {sql}", [*month[1], *params])
        else:
            cursor.execute(*month)
            cursor.execute(sql, params)
        row = cursor.fetchone()
        if row is None:
            # First rating of this provider: create the row (racing creators are fine) and retry
            # the summary alone (the month's change is made).
            RatingSummary.objects.bulk_create([RatingSummary(provider_id=provider_id)], ignore_conflicts=True)
            cursor.execute(sql, params)
            row = cursor.fetchone()
    return {"count": row[0], "sum": row[1]}


def _summary_of(provider_id) -> dict:
    """The provider's summary as this transaction sees it (after its own change): ``{count, sum}``."""
    row = RatingSummary.objects.filter(provider_id=provider_id).values("count", "sum").first()
    return row or {"count": 0, "sum": 0}


def _counted(rating: Rating) -> bool:
    return rating.status == RatingStatus.PUBLISHED


def rating_summary_create(*, provider_id) -> None:
    """Give a new provider its (empty) summary row, in the transaction that creates the provider.

    The directory joins providers and summaries with an inner join, which lets the summary's
    indexes serve its orderings by average and count: every provider needs its row from the start.
    """
    RatingSummary.objects.bulk_create([RatingSummary(provider_id=provider_id)], ignore_conflicts=True)
