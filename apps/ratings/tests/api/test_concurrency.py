"""Real concurrent writers: on PostgreSQL row locks and unique indexes decide; on the embedded
SQLite (a file, BEGIN IMMEDIATE) the writers queue for the database's one write lock, and the
outcomes must be the same."""

import threading

import pytest
from django.db import connections
from django.db.models import Count, Q, Sum
from django.utils import timezone

from apps.core.exceptions import ApplicationError
from apps.core.models import IdempotencyKey
from apps.ratings.models import Rating, RatingInvitation, RatingSummary
from apps.ratings.services import invitation_create, invitation_revoke, rating_create, rating_verify
from conftest import auth_client
from tests.factories import CustomerFactory, ProviderFactory

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 30


def _run_at_once(n: int, work) -> list:
    """Run ``work(i)`` in ``n`` threads released together; return results (or exceptions)."""
    barrier = threading.Barrier(n, timeout=TIMEOUT)
    results: list = [None] * n

    def target(i):
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a writer hung"
    return results


def test_20_customers_rating_one_provider_at_once_keep_the_summary_exact():
    provider = ProviderFactory()
    customers = CustomerFactory.create_batch(20)

    results = _run_at_once(20, lambda i: rating_create(customer=customers[i], provider=provider, score=(i % 5) + 1))

    assert [r for r in results if not isinstance(r, Rating)] == []
    agg = Rating.objects.filter(provider=provider).aggregate(
        count=Count("pk"), sum=Sum("score"), **{f"stars_{n}": Count("pk", filter=Q(score=n)) for n in range(1, 6)}
    )
    summary = RatingSummary.objects.get(provider=provider)
    assert agg == {"count": 20, "sum": 60, "stars_1": 4, "stars_2": 4, "stars_3": 4, "stars_4": 4, "stars_5": 4}
    assert {k: getattr(summary, k) for k in agg} == agg


def test_8_concurrent_duplicates_give_one_201_and_seven_409():
    customer, provider = CustomerFactory(), ProviderFactory()
    body = {"provider_id": str(provider.pk), "score": 5}

    def post(i):
        response = auth_client(customer.user).post("/api/v1/ratings/", body, format="json")
        return response.status_code, response.json()

    results = _run_at_once(8, post)

    statuses = sorted(r[0] for r in results)
    assert statuses == [201] + [409] * 7, results
    for status, body_json in results:
        if status == 409:
            assert body_json["errors"][0]["code"] == "already_rated"
    assert Rating.objects.count() == 1
    summary = RatingSummary.objects.get(provider=provider)
    assert (summary.count, summary.sum, summary.stars_5) == (1, 5, 1)


def test_concurrent_requests_with_one_idempotency_key_write_one_row():
    customer, provider = CustomerFactory(), ProviderFactory()
    body = {"provider_id": str(provider.pk), "score": 4}

    def post(i):
        response = auth_client(customer.user).post(
            "/api/v1/ratings/", body, format="json", HTTP_IDEMPOTENCY_KEY="same-key"
        )
        return response.status_code, response.json(), response.headers.get("Idempotent-Replayed")

    results = _run_at_once(8, post)

    assert all(not isinstance(r, BaseException) for r in results), results
    # The winner commits the rating and its key together, so every loser replays it.
    assert sorted(r[0] for r in results) == [201] * 8, results
    assert sorted(r[2] or "" for r in results) == [""] + ["true"] * 7
    rating = Rating.objects.get()
    assert {r[1]["id"] for r in results} == {str(rating.pk)}
    assert IdempotencyKey.objects.count() == 1
    assert RatingSummary.objects.get(provider=provider).count == 1


def test_concurrent_helpful_votes_are_counted_exactly():
    from apps.ratings.models import RatingHelpfulVote
    from tests.factories import UserFactory

    rating = rating_create(customer=CustomerFactory(), provider=ProviderFactory(), score=5)
    voters = [UserFactory(email_verified_at=timezone.now()) for _ in range(8)]
    # Every voter twice at once: the unique constraint keeps one vote each, F() loses none.
    clients = [auth_client(voters[i % 8]) for i in range(16)]

    statuses = _run_at_once(16, lambda i: clients[i].post(f"/api/v1/ratings/{rating.pk}/helpful/").status_code)

    assert sorted(statuses) == [200] * 8 + [201] * 8
    assert RatingHelpfulVote.objects.filter(rating=rating).count() == 8
    assert Rating.objects.get(pk=rating.pk).helpful_count == 8


def test_an_invitation_used_and_revoked_at_once_ends_in_exactly_one_of_them():
    rounds = 5
    outcomes = []
    for _ in range(rounds):
        customer, provider = CustomerFactory(), ProviderFactory()
        rating = rating_create(customer=customer, provider=provider, score=3)
        invitation = invitation_create(customer=customer, provider=provider, external_reference="J")

        def work(i, rating=rating, invitation=invitation):
            if i == 0:
                return rating_verify(rating=rating, invitation=invitation)
            return invitation_revoke(invitation=invitation)

        results = _run_at_once(2, work)

        assert not [r for r in results if isinstance(r, BaseException) and not isinstance(r, ApplicationError)]
        invitation = RatingInvitation.objects.get(pk=invitation.pk)
        rating.refresh_from_db()
        summary = RatingSummary.objects.get(provider=provider)
        if invitation.used_at is not None:
            # The use won: the revocation was refused and the rating is verified, counted once.
            assert invitation.revoked_at is None
            assert getattr(results[1], "default_code", None) == "invitation_used"
            assert (rating.verified, summary.verified_count) == (True, 1)
            outcomes.append("used")
        else:
            assert invitation.revoked_at is not None
            assert getattr(results[0], "default_code", None) == "invitation_revoked"
            assert (rating.verified, summary.verified_count) == (False, 0)
            outcomes.append("revoked")
    assert len(outcomes) == rounds
