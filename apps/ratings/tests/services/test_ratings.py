import json

import pytest
from django.conf import settings
from django.db.models import Count, Q, Sum

from apps.core.statistics import bayesian_mean_2dp, mean_2dp
from apps.ratings import signals
from apps.ratings.models import Rating, RatingSummary
from apps.ratings.services import AlreadyRated, rating_create, rating_delete, rating_update
from tests.factories import CustomerFactory, ProviderFactory, rating_make

EVENT_KEYS = {
    "rating_id",
    "provider_id",
    "provider_user_id",
    "provider_name",
    "provider_email",
    "provider_user_active",
    "customer_id",
    "customer_email",
    "customer_user_id",
    "customer_name",
    "customer_user_active",
    "score",
    "comment_excerpt",
    "status",
    "verified",
    "occurred_at",
}


def _summary(provider) -> dict:
    s = RatingSummary.objects.get(provider=provider)
    return {"count": s.count, "sum": s.sum, "stars": s.stars, "verified_count": s.verified_count}


def _aggregate(provider) -> dict:
    agg = Rating.objects.filter(provider=provider).aggregate(
        count=Count("pk"), sum=Sum("score"), **{f"s{n}": Count("pk", filter=Q(score=n)) for n in range(1, 6)}
    )
    return {
        "count": agg["count"],
        "sum": agg["sum"] or 0,
        "stars": [agg[f"s{n}"] for n in range(1, 6)],
        "verified_count": 0,
    }


@pytest.mark.django_db
def test_create_update_delete_keep_the_summary_exact():
    provider = ProviderFactory()
    a = rating_make(provider=provider, score=5)
    b = rating_make(provider=provider, score=3)
    c = rating_make(provider=provider, score=3)
    assert _summary(provider) == {"count": 3, "sum": 11, "stars": [0, 0, 2, 0, 1], "verified_count": 0}

    rating_update(rating=b, score=1)
    assert _summary(provider) == {"count": 3, "sum": 9, "stars": [1, 0, 1, 0, 1], "verified_count": 0}

    rating_update(rating=c, comment="only the comment")
    assert _summary(provider) == {"count": 3, "sum": 9, "stars": [1, 0, 1, 0, 1], "verified_count": 0}

    rating_delete(rating=a)
    assert _summary(provider) == {"count": 2, "sum": 4, "stars": [1, 0, 1, 0, 0], "verified_count": 0}
    assert _summary(provider) == _aggregate(provider)

    rating_delete(rating=b)
    rating_delete(rating=c)
    assert _summary(provider) == {"count": 0, "sum": 0, "stars": [0, 0, 0, 0, 0], "verified_count": 0}
    assert RatingSummary.objects.get(provider=provider).average is None


@pytest.mark.django_db
def test_summary_average_column_is_the_exact_mean():
    provider = ProviderFactory()
    for score in (5, 4, 4):
        rating_make(provider=provider, score=score)
    assert RatingSummary.objects.get(provider=provider).average == pytest.approx(13 / 3)


@pytest.mark.django_db
def test_a_second_rating_of_the_same_provider_is_already_rated_and_writes_nothing():
    customer, provider = CustomerFactory(), ProviderFactory()
    rating_create(customer=customer, provider=provider, score=4)
    with pytest.raises(AlreadyRated) as exc:
        rating_create(customer=customer, provider=provider, score=2)
    assert exc.value.status_code == 409
    assert exc.value.get_codes() == "already_rated"
    assert Rating.objects.count() == 1
    assert _summary(provider) == {"count": 1, "sum": 4, "stars": [0, 0, 0, 1, 0], "verified_count": 0}


@pytest.mark.django_db
def test_deleting_a_deleted_rating_is_a_no_op():
    provider = ProviderFactory()
    rating = rating_make(provider=provider, score=2)
    rating_delete(rating=rating)
    rating_delete(rating=rating)
    assert _summary(provider)["count"] == 0


@pytest.mark.parametrize(
    ("total", "count", "mean", "bayes"),
    [
        (0, 0, None, 3.5),  # no ratings: the prior mean
        (5, 1, 5.0, 3.75),  # (5 * 3.5 + 5) / 6
        (13, 3, 4.33, 3.81),  # 30.5 / 8 = 3.8125
        (2, 1, 2.0, 3.25),  # 19.5 / 6
        (107, 40, 2.68, 2.77),  # mean 2.675 rounds half up; 124.5 / 45 = 2.7666…
        (1070, 214, 5.0, 4.97),  # 1087.5 / 219 = 4.9657…
    ],
)
def test_mean_and_bayesian_mean(total, count, mean, bayes):
    assert (settings.RATING_BAYES_PRIOR_WEIGHT, settings.RATING_BAYES_PRIOR_MEAN) == (5, 3.5)
    assert mean_2dp(total=total, count=count) == mean
    assert bayesian_mean_2dp(total=total, count=count, prior_mean=3.5, prior_weight=5) == bayes


class _Recorder:
    def __init__(self):
        self.calls = []

    def __call__(self, sender, **kwargs):
        self.calls.append({"sender": sender, **kwargs})


@pytest.fixture
def recorders():
    recs = {name: _Recorder() for name in ("created", "updated", "deleted")}
    pairs = [
        (signals.rating_created, recs["created"]),
        (signals.rating_updated, recs["updated"]),
        (signals.rating_deleted, recs["deleted"]),
    ]
    for signal, rec in pairs:
        signal.connect(rec, weak=False)
    yield recs
    for signal, rec in pairs:
        signal.disconnect(rec)


def _assert_plain(event: dict, keys: set[str]) -> None:
    assert set(event) == keys
    assert json.loads(json.dumps(event)) == event
    for key, value in event.items():
        if key == "summary":
            assert set(value) == {"count", "sum"} and all(type(v) is int for v in value.values()), value
            continue
        assert value is None or isinstance(value, str | int | float | bool), value


@pytest.mark.django_db
def test_signals_are_sent_once_each_with_plain_payloads(recorders):
    customer = CustomerFactory(user__name="Ann")
    provider = ProviderFactory(name="Pipes Ltd")
    rating = rating_create(customer=customer, provider=provider, score=4, comment="x" * 300)

    assert [len(r.calls) for r in recorders.values()] == [1, 0, 0]
    call = recorders["created"].calls[0]
    assert set(call) == {"sender", "signal", "event", "version"}
    assert call["sender"] is Rating
    event = call["event"]
    _assert_plain(event, EVENT_KEYS | {"summary"})
    assert event | {"occurred_at": None} == {
        "rating_id": str(rating.pk),
        "provider_id": str(provider.pk),
        "provider_user_id": str(provider.user_id),
        "provider_name": "Pipes Ltd",
        "provider_email": provider.user.email,
        "provider_user_active": True,
        "customer_id": str(customer.pk),
        "customer_user_id": str(customer.user_id),
        "customer_name": "Ann",
        "customer_email": customer.user.email,
        "customer_user_active": True,
        "score": 4,
        "comment_excerpt": "x" * 140,
        "status": "published",
        "verified": False,
        "occurred_at": None,
        # The provider's summary after this rating: the JSON object is the one non-scalar value.
        "summary": {"count": 1, "sum": 4},
    }

    rating_update(rating=rating, score=2)
    assert [len(r.calls) for r in recorders.values()] == [1, 1, 0]
    updated = recorders["updated"].calls[0]["event"]
    _assert_plain(updated, EVENT_KEYS | {"previous_score"})
    assert (updated["rating_id"], updated["score"], updated["previous_score"]) == (str(rating.pk), 2, 4)

    rating_update(rating=rating, score=2)  # no change, no event
    assert len(recorders["updated"].calls) == 1

    rating_delete(rating=rating)
    assert [len(r.calls) for r in recorders.values()] == [1, 1, 1]
    deleted = recorders["deleted"].calls[0]["event"]
    _assert_plain(deleted, EVENT_KEYS)
    assert (deleted["rating_id"], deleted["score"]) == (str(rating.pk), 2)


@pytest.mark.django_db
def test_no_signal_when_the_create_fails(recorders):
    customer, provider = CustomerFactory(), ProviderFactory()
    rating_create(customer=customer, provider=provider, score=4)
    with pytest.raises(AlreadyRated):
        rating_create(customer=customer, provider=provider, score=4)
    assert len(recorders["created"].calls) == 1


@pytest.mark.django_db
def test_summary_matches_the_rows_after_many_changes():
    provider = ProviderFactory()
    ratings = [rating_make(provider=provider, score=(i % 5) + 1) for i in range(12)]
    for i, rating in enumerate(ratings[:6]):
        rating_update(rating=rating, score=5 - (i % 5))
    for rating in ratings[6:9]:
        rating_delete(rating=rating)
    assert _summary(provider) == _aggregate(provider)
