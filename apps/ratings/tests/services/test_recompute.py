from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from apps.ratings.models import RatingSummary
from tests.factories import ProviderFactory, rating_make


def _corrupt(provider) -> None:
    """Move one 5-star to 4 stars in the summary only; the check constraints stay valid."""
    table = RatingSummary._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET stars_5 = stars_5 - 1, stars_4 = stars_4 + 1, sum = sum - 1 WHERE provider_id = %s",
            [RatingSummary._meta.pk.get_db_prep_value(provider.pk, connection)],
        )
        assert cursor.rowcount == 1


def _stars(provider):
    s = RatingSummary.objects.get(provider=provider)
    return (s.count, s.sum, s.stars)


@pytest.fixture
def rated(db):
    good, bad = ProviderFactory(), ProviderFactory()
    for score in (5, 5, 3):
        rating_make(provider=bad, score=score)
    rating_make(provider=good, score=4)
    unrated = ProviderFactory()
    _corrupt(bad)
    assert _stars(bad) == (3, 12, [0, 0, 1, 1, 1])
    return good, bad, unrated


def test_recompute_reports_and_fixes_drift(rated):
    good, bad, unrated = rated
    out = StringIO()
    call_command("recompute_rating_summaries", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines == [
        f"drift provider={bad.pk} sum: 12→13 stars_4: 1→0 stars_5: 1→2",
        "1 drifted summaries fixed.",
    ]
    assert _stars(bad) == (3, 13, [0, 0, 1, 0, 2])
    assert _stars(good) == (1, 4, [0, 0, 0, 1, 0])
    # An unrated provider has its empty row from its creation on, which is not drift.
    assert _stars(unrated) == (0, 0, [0, 0, 0, 0, 0])

    again = StringIO()
    call_command("recompute_rating_summaries", "--check", stdout=again)
    assert again.getvalue().splitlines() == ["0 drifted summaries found."]


def test_recompute_check_exits_1_and_changes_nothing(rated):
    good, bad, unrated = rated
    rows_before = RatingSummary.objects.count()
    out = StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("recompute_rating_summaries", "--check", stdout=out)
    assert exc.value.code == 1
    assert out.getvalue().splitlines() == [
        f"drift provider={bad.pk} sum: 12→13 stars_4: 1→0 stars_5: 1→2",
        "1 drifted summaries found.",
    ]
    assert _stars(bad) == (3, 12, [0, 0, 1, 1, 1])
    assert _stars(good) == (1, 4, [0, 0, 0, 1, 0])
    assert RatingSummary.objects.count() == rows_before
    assert _stars(unrated) == (0, 0, [0, 0, 0, 0, 0])


def test_a_provider_gets_its_empty_summary_row_when_it_is_created(db):
    provider = ProviderFactory()
    assert _stars(provider) == (0, 0, [0, 0, 0, 0, 0])


def test_a_missing_summary_row_is_drift_reported_by_a_check_and_created_by_a_fix(db):
    provider = ProviderFactory()
    rating_make(provider=provider, score=4)
    RatingSummary.objects.filter(provider=provider).delete()
    out = StringIO()
    with pytest.raises(SystemExit):
        call_command("recompute_rating_summaries", "--check", stdout=out)
    assert out.getvalue().splitlines() == [
        f"drift provider={provider.pk} no summary row count: 0→1 sum: 0→4 stars_4: 0→1",
        "1 drifted summaries found.",
    ]
    assert not RatingSummary.objects.filter(provider=provider).exists()
    call_command("recompute_rating_summaries", stdout=StringIO())
    assert _stars(provider) == (1, 4, [0, 0, 0, 1, 0])
