"""GET ratings/?q=&stars=&verified=&has_comment=: reviews people can search and filter."""

import pytest
from django.db import connection

from apps.ratings.models import SEARCH_INDEX_NAME
from apps.ratings.services import invitation_create, rating_create
from tests.factories import CustomerFactory, ProviderFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/ratings/"


def _rate(provider, score, comment="", *, verified=False):
    customer = CustomerFactory()
    invitation = None
    if verified:
        invitation = invitation_create(customer=customer, provider=provider, external_reference=f"job-{customer.pk}")
    return rating_create(customer=customer, provider=provider, score=score, comment=comment, invitation=invitation)


@pytest.fixture
def reviews(provider):
    """Five published ratings of ``provider`` (oldest first) and one of another provider."""
    rated = {
        "leak": _rate(provider, 5, "Fixed the leak under the sink quickly", verified=True),
        "late": _rate(provider, 2, "Arrived late, but the leaking pipe is fixed"),
        "silent": _rate(provider, 4),
        "tidy": _rate(provider, 4, "Tidy and friendly plumber", verified=True),
        "price": _rate(provider, 1, "Too expensive for a small job"),
    }
    _rate(ProviderFactory(), 5, "Fixed the leak in the roof")
    return rated


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [r["id"] for r in response.json()["results"]]


def _expected(reviews, *names) -> list[str]:
    return [str(reviews[name].pk) for name in names]


def test_stars_keeps_one_or_several_scores(api_client, provider, reviews):
    base = {"provider": str(provider.pk)}

    assert _ids(api_client.get(LIST, {**base, "stars": "4"})) == _expected(reviews, "tidy", "silent")
    assert _ids(api_client.get(LIST, {**base, "stars": "1,5"})) == _expected(reviews, "price", "leak")
    # The parameter repeated is the same as comma-separated.
    assert _ids(api_client.get(f"{LIST}?provider={provider.pk}&stars=1&stars=5")) == _expected(reviews, "price", "leak")


def test_verified_and_has_comment_filter_both_ways(api_client, provider, reviews):
    base = {"provider": str(provider.pk)}

    assert _ids(api_client.get(LIST, {**base, "verified": "true"})) == _expected(reviews, "tidy", "leak")
    assert _ids(api_client.get(LIST, {**base, "verified": "false"})) == _expected(reviews, "price", "silent", "late")
    assert _ids(api_client.get(LIST, {**base, "has_comment": "false"})) == _expected(reviews, "silent")
    assert _ids(api_client.get(LIST, {**base, "has_comment": "true", "stars": "4,5", "verified": "true"})) == (
        _expected(reviews, "tidy", "leak")
    )


def test_a_search_finds_the_words_of_the_comments(api_client, provider, reviews):
    found = api_client.get(LIST, {"provider": str(provider.pk), "q": "leak"})

    assert sorted(_ids(found)) == sorted(_expected(reviews, "leak", "late"))
    body = found.json()["results"][0]
    assert set(body) == {
        "id",
        "provider_id",
        "customer",
        "score",
        "comment",
        "status",
        "verified",
        "reply",
        "helpful_count",
        "edited",
        "edited_at",
        "created_at",
        "updated_at",
    }
    # Filters narrow a search like any list.
    assert _ids(api_client.get(LIST, {"provider": str(provider.pk), "q": "fixed", "stars": "2"})) == _expected(
        reviews, "late"
    )
    assert _ids(api_client.get(LIST, {"provider": str(provider.pk), "q": "nothing-like-this"})) == []


@pytest.mark.postgres
def test_on_postgresql_a_search_is_stemmed_and_most_relevant_first(api_client, provider, reviews):
    # "leaks" finds "leak" and "leaking" (one stem); the comment with it twice ranks first, the two
    # with it once tie and come newest first.
    best = _rate(provider, 3, "Leak found, leak fixed")
    found = api_client.get(LIST, {"provider": str(provider.pk), "q": "leaks"})

    assert _ids(found) == [str(best.pk), *_expected(reviews, "late", "leak")]
    # websearch syntax: a quoted phrase, and an excluded word.
    assert _ids(api_client.get(LIST, {"provider": str(provider.pk), "q": '"leaking pipe"'})) == _expected(
        reviews, "late"
    )
    assert _ids(api_client.get(LIST, {"provider": str(provider.pk), "q": "leak -sink"})) == [
        str(best.pk),
        *_expected(reviews, "late"),
    ]
    # An explicit ordering wins over relevance.
    assert _ids(api_client.get(LIST, {"provider": str(provider.pk), "q": "leaks", "ordering": "-created_at"})) == [
        str(best.pk),
        *_expected(reviews, "late", "leak"),
    ]


def test_a_rating_is_in_its_authors_language(provider):
    german = _rate_as(provider, "de", "Sehr gute Arbeit")

    assert german.language == "de"
    assert _rate(provider, 4, "Good work").language == "en"


def _rate_as(provider, locale, comment):
    customer = CustomerFactory(user__locale=locale)
    return rating_create(customer=customer, provider=provider, score=5, comment=comment)


@pytest.mark.postgres
def test_on_postgresql_each_review_is_searched_in_its_own_language(api_client, provider, reviews):
    # German stemming joins "Handwerker" and "Handwerkern", "Rohr" and "Rohre"; English stemming
    # would not. The reader does not say which language: the query is stemmed both ways.
    plumbers = _rate_as(provider, "de", "Die Handwerkern haben die Rohre schnell repariert")
    english = _rate_as(provider, "en", "The Handwerkern came")  # a German word in an English review
    search = {"provider": str(provider.pk)}

    assert _ids(api_client.get(LIST, {**search, "q": "Handwerker Rohr"})) == [str(plumbers.pk)]
    assert _ids(api_client.get(LIST, {**search, "q": "Handwerkern"})) == [str(english.pk), str(plumbers.pk)]
    # English reviews keep English stemming beside them.
    assert _ids(api_client.get(LIST, {**search, "q": "leaks -sink"})) == _expected(reviews, "late")


@pytest.mark.postgres
def test_a_ranked_search_pages_without_skipping_or_repeating(api_client, provider):
    # Many equal ranks and a few higher ones: the cursor keeps the rank, the time and the id.
    rated = [_rate(provider, 4, "good plumber" if i % 3 else "good good plumber, good work") for i in range(9)]
    seen, url, params = [], LIST, {"provider": str(provider.pk), "q": "good", "page_size": 2}
    for _ in range(10):
        page = api_client.get(url, params).json()
        seen += [r["id"] for r in page["results"]]
        if not page["next"]:
            break
        url, params = page["next"], None

    assert sorted(seen) == sorted(str(r.pk) for r in rated)
    assert len(seen) == len(set(seen)) == 9
    assert seen[:3] == [str(r.pk) for r in reversed(rated[::3])]


@pytest.mark.postgres
def test_relevance_ranks_the_newest_matches_and_an_ordering_lists_them_all(api_client, provider, settings):
    # Ranking costs time linear in the matches, so only the newest RATING_SEARCH_RANKED_MATCHES
    # are ranked: the oldest match, the most relevant of all, is left out of the ranked list.
    settings.RATING_SEARCH_RANKED_MATCHES = 3
    oldest_best = _rate(provider, 5, "leak leak leak, every leak fixed")
    once = _rate(provider, 4, "a leak fixed")
    twice = _rate(provider, 4, "leak found, leak fixed")
    _rate(provider, 3, "nothing to say about pipes")
    newest = _rate(provider, 4, "the leak again")
    params = {"provider": str(provider.pk), "q": "leak"}

    assert _ids(api_client.get(LIST, params)) == [str(twice.pk), str(newest.pk), str(once.pk)]
    assert _ids(api_client.get(LIST, {**params, "ordering": "-created_at"})) == [
        str(r.pk) for r in (newest, twice, once, oldest_best)
    ]


@pytest.mark.postgres
def test_the_ranked_window_is_not_a_subquery_per_row():
    # Django's SearchVector keeps its configuration out of the expressions a subquery renames,
    # so the window's CASE on the language named the outer table: a correlated subquery run
    # once per rating (minutes at a million). The window must read its own rows' language.
    from apps.ratings.selectors import rating_list

    sql = str(rating_list(q="leak").query)

    assert 'U0."language"' in sql
    assert 'WHEN ("ratings_rating"."language"' not in sql.split("IN (SELECT", 1)[1]


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the SQLite fallback")
def test_on_sqlite_a_search_is_a_case_insensitive_substring_newest_first(api_client, provider, reviews):
    found = api_client.get(LIST, {"provider": str(provider.pk), "q": "LEAK"})

    assert _ids(found) == _expected(reviews, "late", "leak")


@pytest.mark.parametrize(
    ("params", "attr", "code", "detail"),
    [
        ({"stars": "6"}, "stars", "invalid", "Give scores from 1 to 5, comma-separated (e.g. 4,5)."),
        ({"stars": "4,"}, "stars", "invalid", "Give scores from 1 to 5, comma-separated (e.g. 4,5)."),
        ({"stars": ""}, "stars", "blank", "This field may not be blank."),
        ({"verified": "maybe"}, "verified", "invalid", "Must be a valid boolean."),
        ({"has_comment": "2"}, "has_comment", "invalid", "Must be a valid boolean."),
        ({"q": "   "}, "q", "blank", "This field may not be blank."),
        ({"q": "x" * 201}, "q", "max_length", "Ensure this field has no more than 200 characters."),
    ],
)
def test_a_bad_filter_is_400_in_the_error_shape(api_client, params, attr, code, detail):
    response = api_client.get(LIST, params)

    assert response.status_code == 400
    assert response.json() == {"type": "validation_error", "errors": [{"code": code, "detail": detail, "attr": attr}]}


@pytest.mark.postgres
def test_a_search_is_served_by_the_gin_index(provider, reviews):
    from apps.accounts.models import User
    from apps.customers.models import Customer
    from apps.ratings.models import Rating
    from apps.ratings.selectors import rating_list

    # Enough ratings without the word, with fresh statistics, for the planner to choose as it
    # would at scale (on a handful of rows any plan is cheap). Written in bulk: the summary is
    # not what this test reads.
    users = User.objects.bulk_create(User(email=f"bulk{i}@example.com", name=f"Bulk {i}") for i in range(3000))
    customers = Customer.objects.bulk_create(Customer(user=user) for user in users)
    Rating.objects.bulk_create(
        Rating(customer=customer, provider=provider, score=4, comment=f"Solid work number {i}")
        for i, customer in enumerate(customers)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE ratings_rating")

    plan = rating_list(q="leak").order_by("-search_rank", "-created_at", "-id")[:21].explain()
    provider_plan = rating_list(provider_id=provider.pk, q="leak").order_by("-search_rank")[:21].explain()

    assert f"Bitmap Index Scan on {SEARCH_INDEX_NAME}" in plan
    assert f"Bitmap Index Scan on {SEARCH_INDEX_NAME}" in provider_plan
    assert "SubPlan" not in plan and "SubPlan" not in provider_plan
