"""The provider's rating summary, moved in the rating's own transaction."""

from collections.abc import Iterable

from django.db import connection
from django.utils import timezone

from apps.ratings.models import (
    Rating,
    RatingStatus,
    RatingSummary,
)


def _summary_apply(
    *, provider_id, changes: Iterable[tuple[int, int]], verified_delta: int = 0
) -> dict[str, int] | None:
    """Add ``(score, +1|-1)`` changes to a provider's summary in one ``UPDATE … SET x = x + n``.

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
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        if row is None:
            # First rating of this provider: create the row (racing creators are fine) and retry.
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
